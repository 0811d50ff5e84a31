//! The per-org budget of connection tests (table `connection_test_budget`): a fixed window per
//! org, counted in one statement so the limit holds across nodes. The limit and the window are
//! the domain's (`ssr::rate_limit`).

use super::{Store, StoreError};
use crate::model::OrgId;

impl Store {
    /// Counts one connection test of `org_id` at `now`: granted (true) while the org's window
    /// has had fewer than `limit` tests; a window that started at or before
    /// `window_open_before` has ended, and the test starts a new one. Concurrent tests on any
    /// node cannot both take the last slot.
    pub async fn take_org_test(
        &self,
        org_id: &OrgId,
        now: i64,
        window_open_before: i64,
        limit: i64,
    ) -> Result<bool, StoreError> {
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
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// When the org's current connection-test window started (unix ms), if it has one.
    pub async fn org_test_window_start(&self, org_id: &OrgId) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT window_start FROM connection_test_budget WHERE org_id = $1")
                .bind(org_id)
                .fetch_optional(&self.readers)
                .await?,
        )
    }
}
