-- Sign-in hardening.
-- 1. Each pending flow is bound to the browser that started it: the SHA-256 (hex) of that
--    browser's `tessera_flow` cookie. Flows started before this migration have none and are
--    refused by the callback (they expire within 10 minutes anyway).
ALTER TABLE login_flows ADD COLUMN browser_hash TEXT;

-- 2. Issuers are kept as the IdP publishes them (`issuer`, e.g. with a trailing slash) and
--    compared in that form; `issuer_key` is the normalized form (lowercase scheme and host,
--    no default port, no trailing slash) used only to look an org up and to keep one issuer
--    to one org. Existing rows were stored normalized, so their key is their issuer.
ALTER TABLE sso_connections ADD COLUMN issuer_key TEXT;
UPDATE sso_connections SET issuer_key = issuer;
CREATE UNIQUE INDEX sso_connections_unique_issuer_key ON sso_connections (issuer_key);

-- 3. No blank members: those created from an IdP that sent neither email nor name are named by
--    their subject, as new sign-ins now do.
UPDATE members SET name = subject WHERE name = '' AND email = '';
