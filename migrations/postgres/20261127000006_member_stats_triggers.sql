-- PostgreSQL: keep member_stats exact with statement-level triggers over transition tables, so a
-- statement touching many members (an import, a cascade) updates each org's counter row once.
-- A statement that changes no role or status (e.g. the last-login time) leaves the row alone.
-- Lock order: a statement locks its member rows first and the counter row at its end;
-- transactions touching several members lock them all up front (see transfer_ownership).
CREATE FUNCTION member_stats_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO member_stats AS s (org_id, owners, admins, members, active, deactivated)
    SELECT org_id,
           SUM((role = 'owner')::int), SUM((role = 'admin')::int), SUM((role = 'member')::int),
           SUM((status = 'active')::int), SUM((status = 'deactivated')::int)
    FROM new_rows GROUP BY org_id
    ON CONFLICT (org_id) DO UPDATE SET
        owners = s.owners + EXCLUDED.owners,
        admins = s.admins + EXCLUDED.admins,
        members = s.members + EXCLUDED.members,
        active = s.active + EXCLUDED.active,
        deactivated = s.deactivated + EXCLUDED.deactivated;
    RETURN NULL;
END;
$$;

-- Adds per-org deltas (rows of org_id and five signed counts) to the counter rows, skipping
-- orgs whose counts do not change.
CREATE FUNCTION member_stats_add(deltas jsonb) RETURNS void LANGUAGE sql AS $$
    UPDATE member_stats s SET
        owners = s.owners + d.o,
        admins = s.admins + d.a,
        members = s.members + d.m,
        active = s.active + d.act,
        deactivated = s.deactivated + d.deact
    FROM jsonb_to_recordset(deltas) AS d(org_id text, o bigint, a bigint, m bigint, act bigint, deact bigint)
    WHERE s.org_id = d.org_id
      AND (d.o <> 0 OR d.a <> 0 OR d.m <> 0 OR d.act <> 0 OR d.deact <> 0);
$$;

CREATE FUNCTION member_stats_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_stats_add(COALESCE(jsonb_agg(d), '[]'::jsonb)) FROM (
        SELECT org_id, SUM(o) AS o, SUM(a) AS a, SUM(m) AS m, SUM(act) AS act, SUM(deact) AS deact
        FROM (
            SELECT org_id, (role = 'owner')::int AS o, (role = 'admin')::int AS a,
                   (role = 'member')::int AS m, (status = 'active')::int AS act,
                   (status = 'deactivated')::int AS deact
            FROM new_rows
            UNION ALL
            SELECT org_id, -(role = 'owner')::int, -(role = 'admin')::int, -(role = 'member')::int,
                   -(status = 'active')::int, -(status = 'deactivated')::int
            FROM old_rows
        ) changes GROUP BY org_id
    ) d;
    RETURN NULL;
END;
$$;

CREATE FUNCTION member_stats_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_stats_add(COALESCE(jsonb_agg(d), '[]'::jsonb)) FROM (
        SELECT org_id, -SUM((role = 'owner')::int) AS o, -SUM((role = 'admin')::int) AS a,
               -SUM((role = 'member')::int) AS m, -SUM((status = 'active')::int) AS act,
               -SUM((status = 'deactivated')::int) AS deact
        FROM old_rows GROUP BY org_id
    ) d;
    RETURN NULL;
END;
$$;

CREATE TRIGGER member_stats_insert AFTER INSERT ON members
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION member_stats_insert();
CREATE TRIGGER member_stats_update AFTER UPDATE ON members
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION member_stats_update();
CREATE TRIGGER member_stats_delete AFTER DELETE ON members
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION member_stats_delete();

-- The members that exist already; CREATE TRIGGER holds off writers until this commits.
INSERT INTO member_stats (org_id, owners, admins, members, active, deactivated)
SELECT org_id,
       SUM((role = 'owner')::int), SUM((role = 'admin')::int), SUM((role = 'member')::int),
       SUM((status = 'active')::int), SUM((status = 'deactivated')::int)
FROM members GROUP BY org_id;

-- Search: substring matches on name and email use trigram indexes instead of a scan.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX members_name_trgm ON members USING gin (LOWER(name) gin_trgm_ops);
CREATE INDEX members_email_trgm ON members USING gin (LOWER(email) gin_trgm_ops);
