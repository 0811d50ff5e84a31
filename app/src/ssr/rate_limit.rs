//! The per-org budget of connection tests. Every "Test connection" makes Tessera send requests
//! to an address someone typed in, so the SSO page (test and secret rotation) and all of an
//! org's setup links draw on one budget: [`ORG_TEST_LIMIT`] tests per [`ORG_TEST_WINDOW_MS`],
//! counted in the database (table `connection_test_budget`) so it holds across nodes. Each
//! setup link also keeps its own, smaller budget (see [`super::setup_links::TEST_LIMIT`]).

use super::store::{Store, StoreError, now_ms};

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
    pub async fn take_connection_test(&self, org_id: &str) -> Result<Budget, StoreError> {
        let now = now_ms();
        let window_open_before = now - ORG_TEST_WINDOW_MS;
        // One statement: concurrent tests on any node cannot both take the last slot.
        let done = sqlx::query(
            "INSERT INTO connection_test_budget (org_id, window_start, attempts) VALUES ($1, $2, 1)
             ON CONFLICT (org_id) DO UPDATE SET
                attempts = CASE WHEN connection_test_budget.window_start <= $3 THEN 1
                                ELSE connection_test_budget.attempts + 1 END,
                window_start = CASE WHEN connection_test_budget.window_start <= $3 THEN $2
                                    ELSE connection_test_budget.window_start END
             WHERE connection_test_budget.window_start <= $3
                OR connection_test_budget.attempts < $4",
        )
        .bind(org_id)
        .bind(now)
        .bind(window_open_before)
        .bind(ORG_TEST_LIMIT)
        .execute(self.pool())
        .await?;
        if done.rows_affected() > 0 {
            return Ok(Budget::Granted);
        }
        let start: Option<i64> =
            sqlx::query_scalar("SELECT window_start FROM connection_test_budget WHERE org_id = $1")
                .bind(org_id)
                .fetch_optional(self.pool())
                .await?;
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
