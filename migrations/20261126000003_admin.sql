-- The admin domain: the audit log, and indexes for the members directory and login statistics.
-- Portable across SQLite and PostgreSQL: TEXT ids, BIGINT unix-ms timestamps.

-- Every admin action, newest first per org. before/after are short JSON, e.g. {"role":"member"}.
CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    actor_id      TEXT,
    actor_email   TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    target_id     TEXT,
    target_email  TEXT NOT NULL DEFAULT '',
    before        TEXT NOT NULL DEFAULT '',
    after         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_org_time ON audit_log (org_id, at);

-- The members list pages in (name, email, id) order: the index serves ORDER BY ... LIMIT/OFFSET
-- directly (it supersedes members_by_org_name).
DROP INDEX members_by_org_name;
CREATE INDEX members_by_org_name_email ON members (org_id, name, email, id);
-- Counts by role and status without touching the table.
CREATE INDEX members_by_org_role_status ON members (org_id, role, status);

-- Login activity filtered by outcome, and the last success / last failure.
CREATE INDEX login_attempts_by_org_outcome_time ON login_attempts (org_id, outcome, at);
