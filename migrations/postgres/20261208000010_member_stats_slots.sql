-- PostgreSQL: an org's member counts in up to 16 rows ("slots"), summed when read
-- (Store::member_stats). A counter row stays locked from the statement that changes it to the
-- end of its transaction, so with one row per org every insert of the org's members (Okta
-- provisioning many people over SCIM, a storm of first sign-ins) waited for the one before it
-- to commit. Each database connection now adds to the slot of its backend (pid modulo 16):
-- concurrent transactions are on different connections and mostly write different rows. A
-- slot may hold negative counts (a member added through one slot, removed through another);
-- the sums are exact. SQLite keeps one row per org (one writer at a time).
ALTER TABLE member_stats ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
ALTER TABLE member_stats DROP CONSTRAINT member_stats_pkey;
ALTER TABLE member_stats ADD PRIMARY KEY (org_id, slot);

-- The slot this connection's transactions add to.
CREATE FUNCTION member_stats_slot() RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT pg_backend_pid() % 16
$$;

-- New members: their org's counts added through member_stats_add (below), like every change.
CREATE OR REPLACE FUNCTION member_stats_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM member_stats_add(COALESCE(jsonb_agg(d), '[]'::jsonb)) FROM (
        SELECT org_id, SUM((role = 'owner')::int) AS o, SUM((role = 'admin')::int) AS a,
               SUM((role = 'member')::int) AS m, SUM((status = 'active')::int) AS act,
               SUM((status = 'deactivated')::int) AS deact
        FROM new_rows GROUP BY org_id
    ) d;
    RETURN NULL;
END;
$$;

-- Adds per-org deltas (rows of org_id and five signed counts) to this connection's slot,
-- skipping orgs whose counts do not change and orgs being deleted (their counters go with them).
CREATE OR REPLACE FUNCTION member_stats_add(deltas jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO member_stats AS s (org_id, slot, owners, admins, members, active, deactivated)
    SELECT d.org_id, member_stats_slot(), d.o, d.a, d.m, d.act, d.deact
    FROM jsonb_to_recordset(deltas) AS d(org_id text, o bigint, a bigint, m bigint, act bigint, deact bigint)
    WHERE (d.o <> 0 OR d.a <> 0 OR d.m <> 0 OR d.act <> 0 OR d.deact <> 0)
      AND EXISTS (SELECT 1 FROM orgs WHERE id = d.org_id)
    ON CONFLICT (org_id, slot) DO UPDATE SET
        owners = s.owners + EXCLUDED.owners,
        admins = s.admins + EXCLUDED.admins,
        members = s.members + EXCLUDED.members,
        active = s.active + EXCLUDED.active,
        deactivated = s.deactivated + EXCLUDED.deactivated;
$$;
