-- Security signals from the org's Okta: Universal Logout (global token revocation,
-- draft-parecki-oauth-global-token-revocation) and Shared Signals (SSF 1.0: Security Event
-- Tokens, RFC 8417, pushed per RFC 8935). Portable across SQLite and PostgreSQL: TEXT ids,
-- BIGINT unix-ms timestamps, BIGINT 0/1 flags.

-- Universal Logout JWTs name the org by issuer and Client ID: an org whose sign-in uses a
-- custom authorization server is found by its Client ID (Okta signs them as the org).
CREATE INDEX sso_connections_by_client_id ON sso_connections (client_id);

-- The per-org switches (on by default; they act only while SSO is enabled).
ALTER TABLE sso_connections ADD COLUMN universal_logout BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sso_connections ADD COLUMN shared_signals BIGINT NOT NULL DEFAULT 1;

-- Every verified request or SET: its `jti` (unique per org, so a replay is refused on every
-- node), what it asked, about whom, and what Tessera did. Only tokens signed by the org's
-- Okta reach this table; rows go with the login attempts' retention.
CREATE TABLE security_events (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- 'universal_logout' or 'shared_signals'
    channel         TEXT NOT NULL,
    jti             TEXT NOT NULL,
    -- the SET's event type URI, or 'global-token-revocation'
    event_type      TEXT NOT NULL,
    -- the subject as sent, shortened for display (an email, or iss + sub)
    subject         TEXT NOT NULL,
    member_id       TEXT,
    member_email    TEXT NOT NULL DEFAULT '',
    -- 'signed_out', 'deactivated', 'reactivated', 'unchanged', 'no_member', 'ignored', 'verified'
    outcome         TEXT NOT NULL,
    sessions_ended  BIGINT NOT NULL DEFAULT 0,
    at              BIGINT NOT NULL,
    UNIQUE (org_id, jti)
);
CREATE INDEX security_events_by_org ON security_events (org_id, at);
CREATE INDEX security_events_by_at ON security_events (at);
