-- The audit log's action filter (`/audit?action=…`, the export): an org's entries of one
-- action, newest first, without walking the org's whole log. The org-and-time index
-- (audit_log_by_org_time) serves the other filters and the unfiltered log.
CREATE INDEX audit_log_by_org_action_time ON audit_log (org_id, action, at);
