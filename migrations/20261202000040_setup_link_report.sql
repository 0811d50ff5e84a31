-- Setup links keep the report of their latest "Test connection" (JSON, as the setup page shows
-- it), so the page can show it again after the test's redirect (post/redirect/get).
-- Portable across SQLite and PostgreSQL.
ALTER TABLE setup_links ADD COLUMN last_report TEXT;
