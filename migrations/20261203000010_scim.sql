-- SCIM 2.0 provisioning from the org's Okta (RFC 7643, RFC 7644): bearer tokens, the SCIM
-- attributes of members, pushed groups and their members, group-to-role mappings, the
-- provisioning mode, and the provisioning log.
-- Portable across SQLite and PostgreSQL: TEXT ids, BIGINT unix-ms timestamps, BIGINT 0/1 flags.

-- A member's SCIM attributes. `user_name_key` is `user_name` lowercased (by Tessera, the same
-- on both databases) for case-insensitive matching. A member Okta provisioned before they ever
-- signed in is "unlinked": issuer '' (no issuer key is empty) and subject = its own id, until
-- their first sign-in links it by external_id = sub, else by user_name = preferred_username.
ALTER TABLE members ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN user_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN external_id TEXT;
ALTER TABLE members ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN family_name TEXT NOT NULL DEFAULT '';
-- 1 once Okta provisioned or adopted the member over SCIM.
ALTER TABLE members ADD COLUMN scim_managed BIGINT NOT NULL DEFAULT 0;
-- 1 while the member is deactivated because Okta said so (SCIM active:false).
ALTER TABLE members ADD COLUMN deactivated_by_okta BIGINT NOT NULL DEFAULT 0;
-- Last SCIM-visible change (meta.lastModified); 0 = never changed since created_at.
ALTER TABLE members ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

-- Members signed in before SCIM existed: their user name is their email (else their sub).
UPDATE members SET user_name = email, user_name_key = LOWER(email) WHERE email <> '';
UPDATE members SET user_name = subject, user_name_key = LOWER(subject) WHERE email = '';
CREATE INDEX members_by_user_name ON members (org_id, user_name_key);
CREATE INDEX members_by_external_id ON members (org_id, external_id);

-- Who may come in: 'jit' (sign-in admits people as before; SCIM requests are refused),
-- 'scim' (only members Okta provisioned over SCIM, active), 'both'.
ALTER TABLE sso_connections ADD COLUMN provisioning TEXT NOT NULL DEFAULT 'jit'
    CHECK (provisioning IN ('jit', 'scim', 'both'));

-- Bearer tokens for /scim/v2: random (256 bits), stored only as a SHA-256 hash (hex).
CREATE TABLE scim_tokens (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    -- the token's last four characters, to tell tokens apart in lists
    hint          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX scim_tokens_by_org ON scim_tokens (org_id, created_at);

-- Groups Okta pushes (Group Push). display_name_key is display_name lowercased.
CREATE TABLE scim_groups (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    display_name      TEXT NOT NULL,
    display_name_key  TEXT NOT NULL,
    external_id       TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (org_id, display_name_key)
);

CREATE TABLE scim_group_members (
    group_id   TEXT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX scim_group_members_by_member ON scim_group_members (member_id);

-- A pushed group's Tessera role. Stored against the group (it survives a rename).
CREATE TABLE role_mappings (
    group_id    TEXT PRIMARY KEY REFERENCES scim_groups (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at  BIGINT NOT NULL
);
CREATE INDEX role_mappings_by_org ON role_mappings (org_id);

-- The provisioning log: every authenticated SCIM request, kept as long as login attempts.
CREATE TABLE scim_requests (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    status       BIGINT NOT NULL,
    scim_type    TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    member_id    TEXT,
    about        TEXT NOT NULL DEFAULT '',
    duration_ms  BIGINT NOT NULL
);
CREATE INDEX scim_requests_by_org_time ON scim_requests (org_id, at);
CREATE INDEX scim_requests_by_time ON scim_requests (at);
