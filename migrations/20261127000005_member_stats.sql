-- Per-org member counts by role and status, read by every members-list request instead of
-- counting the org's members (100,000 of them take milliseconds; one row takes microseconds).
-- Kept exact by database triggers, which differ by dialect: see migrations/sqlite/ and
-- migrations/postgres/ (20261127000006), applied in the same run right after this one.
CREATE TABLE member_stats (
    org_id       TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    owners       BIGINT NOT NULL DEFAULT 0,
    admins       BIGINT NOT NULL DEFAULT 0,
    members      BIGINT NOT NULL DEFAULT 0,
    active       BIGINT NOT NULL DEFAULT 0,
    deactivated  BIGINT NOT NULL DEFAULT 0
);
