-- The bounds on pending sign-ins (`Store::save_login_flow`) walk an org's newest anonymous
-- flows, and a browser's, newest first by (created_at, state). With `state` in the index that
-- walk is the index's own order, read from the index alone; without it both databases read
-- every pending flow of the org and sorted them, on every sign-in started.
DROP INDEX IF EXISTS login_flows_by_org_tier;
DROP INDEX IF EXISTS login_flows_by_browser;
CREATE INDEX login_flows_by_org_tier ON login_flows (org_id, known, created_at, state);
CREATE INDEX login_flows_by_browser ON login_flows (browser_hash, created_at, state);
