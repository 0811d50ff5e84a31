-- Pending sign-ins in two tiers (see app/src/ssr/store/flows.rs): a browser one of the org's
-- active members signed in with lately is *known*; its sign-ins are never evicted by anonymous
-- ones. Anonymous starts are capped per org by evicting the oldest anonymous one, so a flood of
-- them cannot lock the org's people out; every browser keeps at most a few pending.
ALTER TABLE login_flows ADD COLUMN known BIGINT NOT NULL DEFAULT 0;
CREATE INDEX login_flows_by_org_tier ON login_flows (org_id, known, created_at);
CREATE INDEX login_flows_by_browser ON login_flows (browser_hash, created_at);

-- The browsers (SHA-256 of their `tessera_flow` binding cookie) an org's members signed in with.
CREATE TABLE known_browsers (
    org_id        TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    browser_hash  TEXT NOT NULL,
    member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (org_id, browser_hash)
);
CREATE INDEX known_browsers_by_member ON known_browsers (member_id, seen_at);
CREATE INDEX known_browsers_by_seen ON known_browsers (seen_at);
