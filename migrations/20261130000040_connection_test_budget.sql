-- One budget of connection tests per org, shared by the SSO page ("Test connection", secret
-- rotation) and every setup link of the org, counted in a fixed window across all nodes.
-- Portable across SQLite and PostgreSQL: TEXT ids, BIGINT unix-ms timestamps.

CREATE TABLE connection_test_budget (
    org_id        TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    -- start of the current window (unix ms)
    window_start  BIGINT NOT NULL,
    -- tests run in the current window
    attempts      BIGINT NOT NULL
);
