//! The per-org budget of connection tests. Every "Test connection" makes Tessera send requests
//! to an address someone typed in, so the SSO page (test and secret rotation) and all of an
//! org's setup links draw on one budget: [`ORG_TEST_LIMIT`] tests per [`ORG_TEST_WINDOW_MS`],
//! counted in the database (table `connection_test_budget`) so it holds across nodes. Each
//! setup link also keeps its own, smaller budget (see [`super::setup_links::TEST_LIMIT`]).

use super::store::{Store, StoreError};
use crate::model::OrgId;

/// Connection tests an org may run per window, SSO page and setup links together.
pub const ORG_TEST_LIMIT: i64 = 20;
/// The window of [`ORG_TEST_LIMIT`] (10 minutes), in milliseconds.
pub const ORG_TEST_WINDOW_MS: i64 = 10 * 60 * 1000;

/// May another connection test of the org run now?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Yes; the test is counted.
    Granted,
    /// No: the window's tests are used up; the next is possible in this many milliseconds.
    Limited { retry_after_ms: i64 },
}

/// Whole minutes until `retry_after_ms` has passed (at least 1).
pub fn minutes(retry_after_ms: i64) -> i64 {
    ((retry_after_ms + 59_999) / 60_000).max(1)
}

/// The one sentence for an exhausted budget: "Too many connection tests ...: try again in N
/// minutes."
pub fn limited_message(retry_after_ms: i64) -> String {
    let n = minutes(retry_after_ms);
    format!(
        "Too many connection tests for this organization ({ORG_TEST_LIMIT} per {} minutes, from the SSO page and setup links together): try again in {n} minute{}. Nothing was tested or changed.",
        ORG_TEST_WINDOW_MS / 60_000,
        if n == 1 { "" } else { "s" }
    )
}

impl Store {
    /// Counts one connection test of `org_id` against its budget, atomically across nodes:
    /// a fixed window that starts with the first test after the previous one ended.
    pub async fn take_connection_test(&self, org_id: &OrgId) -> Result<Budget, StoreError> {
        let now = self.now_ms();
        let window_open_before = now - ORG_TEST_WINDOW_MS;
        if self
            .take_org_test(org_id, now, window_open_before, ORG_TEST_LIMIT)
            .await?
        {
            return Ok(Budget::Granted);
        }
        let start = self.org_test_window_start(org_id).await?;
        Ok(Budget::Limited {
            retry_after_ms: (start.unwrap_or(now) + ORG_TEST_WINDOW_MS - now).max(1000),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_up() {
        assert_eq!(minutes(1), 1);
        assert_eq!(minutes(60_000), 1);
        assert_eq!(minutes(60_001), 2);
        assert_eq!(minutes(ORG_TEST_WINDOW_MS), 10);
        let m = limited_message(90_000);
        assert!(
            m.starts_with("Too many connection tests") && m.contains("try again in 2 minutes"),
            "{m}"
        );
        assert!(limited_message(30_000).contains("in 1 minute."));
    }
}
