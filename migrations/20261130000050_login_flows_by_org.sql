-- Starting a sign-in counts the org's pending flows (at most `MAX_PENDING_FLOWS_PER_ORG`):
-- index them by org and expiry.
CREATE INDEX login_flows_by_org ON login_flows (org_id, expires_at);
