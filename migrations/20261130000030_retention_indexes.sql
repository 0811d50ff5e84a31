-- Retention (`--attempt-retention`, `--audit-retention`) deletes old rows across all orgs in
-- batches, oldest first: index the time alone.
CREATE INDEX login_attempts_by_time ON login_attempts (at);
CREATE INDEX audit_log_by_time ON audit_log (at);
