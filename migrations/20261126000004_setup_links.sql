-- Self-service SSO setup: one-time links that let a customer's Okta administrator connect
-- their Okta org without mailing the Client Secret to anyone.
-- Portable across SQLite and PostgreSQL: TEXT ids, BIGINT unix-ms timestamps.

CREATE TABLE setup_links (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- hex SHA-256 of the token; the token itself is never stored
    token_hash            TEXT NOT NULL UNIQUE,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT,
    revoked_at            BIGINT,
    -- "operator (CLI)" or the creating owner's email
    created_by            TEXT NOT NULL DEFAULT '',
    -- every "Test connection" ever run with this link
    test_attempts         BIGINT NOT NULL DEFAULT 0,
    last_test_ok_at       BIGINT,
    -- rate limit: tests counted in the current fixed window (shared by all nodes)
    test_window_start     BIGINT,
    test_window_attempts  BIGINT NOT NULL DEFAULT 0,
    -- the values of the latest test; the secret sealed with the instance key (associated
    -- data: "setup-link:" || id) so it is never echoed into HTML; cleared when the link closes
    pending_issuer        TEXT,
    pending_client_id     TEXT,
    pending_secret_enc    TEXT,
    -- hex SHA-256 over (link id, issuer, client id, secret) of the latest passing test:
    -- "Save" needs exactly these values
    passed_hash           TEXT
);
CREATE INDEX setup_links_by_org ON setup_links (org_id, created_at);
