-- Every started sign-in inserts a login flow and every callback deletes one: each index costs
-- both. `login_flows_by_org (org_id, expires_at)` served a count the flow tiers replaced;
-- `login_flows_by_org_tier (org_id, known, created_at)` serves what still looks flows up by org.
DROP INDEX IF EXISTS login_flows_by_org;
