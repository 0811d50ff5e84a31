-- Sign-in: pending authorization-code flows, login attempts and browser sessions.

-- One row per authorization request in flight; consumed (deleted) by the callback.
CREATE TABLE login_flows (
    state          TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    target         TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX login_flows_by_expiry ON login_flows (expires_at);

CREATE TABLE login_attempts (
    id          TEXT PRIMARY KEY,
    org_id      TEXT REFERENCES orgs (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    issuer      TEXT,
    subject     TEXT,
    email       TEXT,
    member_id   TEXT
);
CREATE INDEX login_attempts_by_org_time ON login_attempts (org_id, at);

-- tower-sessions records; member_id lets a deactivation end every session of a member at once.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    data         TEXT NOT NULL,
    expiry_date  BIGINT NOT NULL,
    member_id    TEXT
);
CREATE INDEX sessions_by_member ON sessions (member_id);
CREATE INDEX sessions_by_expiry ON sessions (expiry_date);
