-- Orgs, their Okta connections and their members.
-- Portable across SQLite and PostgreSQL: TEXT ids, BIGINT unix-ms timestamps, BIGINT 0/1 flags.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE sso_connections (
    org_id             TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    issuer             TEXT NOT NULL UNIQUE,
    client_id          TEXT NOT NULL,
    -- "v1:" || base64(nonce || XChaCha20-Poly1305 ciphertext), associated data = org id
    client_secret_enc  TEXT NOT NULL,
    enabled            BIGINT NOT NULL DEFAULT 0,
    jit_enabled        BIGINT NOT NULL DEFAULT 1,
    default_role       TEXT NOT NULL DEFAULT 'member' CHECK (default_role IN ('member', 'admin')),
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE members (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    created_at     BIGINT NOT NULL,
    last_login_at  BIGINT,
    UNIQUE (org_id, issuer, subject)
);

-- Exactly one owner per org, enforced by the database (concurrent first logins race on this).
CREATE UNIQUE INDEX members_one_owner ON members (org_id) WHERE role = 'owner';
CREATE INDEX members_by_org_name ON members (org_id, name, id);
