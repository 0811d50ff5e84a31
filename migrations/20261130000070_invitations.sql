-- Invitations: an owner or admin pre-approves a person by email with a role; that person's first
-- sign-in through the org's own Okta (with a verified email) creates them with that role, even
-- while just-in-time provisioning is off. Members stay keyed on (issuer, subject): the email only
-- picks the invitation, Okta vouches for the person.
-- Portable across SQLite and PostgreSQL: TEXT ids, BIGINT unix-ms timestamps.

CREATE TABLE invitations (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- the invited address as typed (trimmed), and lowercased for matching
    email               TEXT NOT NULL,
    email_key           TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    -- who invited: a member's id (NULL for the operator) and the audit label
    invited_by_id       TEXT,
    invited_by          TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    accepted_at         BIGINT,
    accepted_member_id  TEXT,
    revoked_at          BIGINT
);

-- One open invitation per person and org (a new one replaces the old).
CREATE UNIQUE INDEX invitations_open_per_email
    ON invitations (org_id, email_key) WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_by_org ON invitations (org_id, created_at);
