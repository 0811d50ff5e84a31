-- Setup links: who made them (a link made by a member dies when that member stops being the
-- org's active owner), and bounded audit writes from the (unauthenticated) setup page.
-- Portable across SQLite and PostgreSQL.

-- The member who created the link; NULL for links made by the operator with the CLI.
ALTER TABLE setup_links ADD COLUMN created_by_member_id TEXT;
-- Audit entries written for this link from the setup page (opened, test passed/failed); capped.
ALTER TABLE setup_links ADD COLUMN page_audit_rows BIGINT NOT NULL DEFAULT 0;
-- When "setup_link_opened" was last written (at most once an hour per link).
ALTER TABLE setup_links ADD COLUMN opened_noted_at BIGINT;
-- When "setup_link_expired" was written (once per link).
ALTER TABLE setup_links ADD COLUMN expired_noted_at BIGINT;

-- Links made by owners before this migration: their creator, from the audit entry that
-- recorded the creation. A member-made link whose creator cannot be found gets '' (no member
-- has that id), so it no longer opens: the owner can make a new one.
UPDATE setup_links SET created_by_member_id = (
    SELECT a.actor_id FROM audit_log a
    WHERE a.org_id = setup_links.org_id AND a.action = 'setup_link_created'
      AND a.actor_id IS NOT NULL
      AND a.after LIKE '%"link_id":"' || setup_links.id || '"%'
    ORDER BY a.at LIMIT 1
) WHERE created_by <> 'operator (CLI)';
UPDATE setup_links SET created_by_member_id = ''
WHERE created_by <> 'operator (CLI)' AND created_by_member_id IS NULL;
