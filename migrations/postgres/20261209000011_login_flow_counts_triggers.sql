-- PostgreSQL: keep login_flow_counts exact with statement-level triggers over transition
-- tables, adding to this connection's slot (member_stats_slot(): backend pid modulo 16), so
-- concurrent sign-ins of one org mostly write different counter rows. A slot may go negative
-- (a flow saved through one slot, taken through another); the sums are exact. Orgs being
-- deleted are skipped: their counters go with them.
--
-- Lock order: a statement locks its flow rows first and its counter row at its end. A
-- transaction that saves a flow deletes what it evicts in one statement before it inserts, so
-- it never waits for a flow row while holding its counter row.
CREATE FUNCTION login_flow_counts_add(deltas jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO login_flow_counts AS c (org_id, slot, anonymous, known)
    SELECT d.org_id, member_stats_slot(), d.anonymous, d.known
    FROM jsonb_to_recordset(deltas) AS d(org_id text, anonymous bigint, known bigint)
    WHERE (d.anonymous <> 0 OR d.known <> 0)
      AND EXISTS (SELECT 1 FROM orgs WHERE id = d.org_id)
    ON CONFLICT (org_id, slot) DO UPDATE SET
        anonymous = c.anonymous + EXCLUDED.anonymous,
        known = c.known + EXCLUDED.known;
$$;

CREATE FUNCTION login_flow_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM login_flow_counts_add(COALESCE(jsonb_agg(d), '[]'::jsonb)) FROM (
        SELECT org_id, SUM((known = 0)::int) AS anonymous, SUM((known <> 0)::int) AS known
        FROM new_rows GROUP BY org_id
    ) d;
    RETURN NULL;
END;
$$;

CREATE FUNCTION login_flow_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM login_flow_counts_add(COALESCE(jsonb_agg(d), '[]'::jsonb)) FROM (
        SELECT org_id, -SUM((known = 0)::int) AS anonymous, -SUM((known <> 0)::int) AS known
        FROM old_rows GROUP BY org_id
    ) d;
    RETURN NULL;
END;
$$;

CREATE FUNCTION login_flow_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM login_flow_counts_add(COALESCE(jsonb_agg(d), '[]'::jsonb)) FROM (
        SELECT org_id, SUM(a) AS anonymous, SUM(k) AS known FROM (
            SELECT org_id, (known = 0)::int AS a, (known <> 0)::int AS k FROM new_rows
            UNION ALL
            SELECT org_id, -(known = 0)::int, -(known <> 0)::int FROM old_rows
        ) changes GROUP BY org_id
    ) d;
    RETURN NULL;
END;
$$;

CREATE TRIGGER login_flow_counts_insert AFTER INSERT ON login_flows
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION login_flow_counts_insert();
CREATE TRIGGER login_flow_counts_update AFTER UPDATE ON login_flows
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION login_flow_counts_update();
CREATE TRIGGER login_flow_counts_delete AFTER DELETE ON login_flows
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION login_flow_counts_delete();

-- The flows pending already; CREATE TRIGGER holds off writers until this commits.
INSERT INTO login_flow_counts (org_id, slot, anonymous, known)
SELECT org_id, 0, SUM((known = 0)::int), SUM((known <> 0)::int) FROM login_flows GROUP BY org_id;
