-- SQLite: keep login_flow_counts exact (one row per org; one writer at a time). A comparison
-- is 0 or 1 in SQLite.
CREATE TRIGGER login_flow_counts_insert AFTER INSERT ON login_flows
BEGIN
    INSERT INTO login_flow_counts (org_id, slot, anonymous, known)
    VALUES (NEW.org_id, 0, (NEW.known = 0), (NEW.known <> 0))
    ON CONFLICT (org_id, slot) DO UPDATE SET
        anonymous = anonymous + excluded.anonymous,
        known = known + excluded.known;
END;

CREATE TRIGGER login_flow_counts_update AFTER UPDATE OF org_id, known ON login_flows
BEGIN
    UPDATE login_flow_counts SET
        anonymous = anonymous - (OLD.known = 0),
        known = known - (OLD.known <> 0)
    WHERE org_id = OLD.org_id AND slot = 0;
    INSERT INTO login_flow_counts (org_id, slot, anonymous, known)
    VALUES (NEW.org_id, 0, (NEW.known = 0), (NEW.known <> 0))
    ON CONFLICT (org_id, slot) DO UPDATE SET
        anonymous = anonymous + excluded.anonymous,
        known = known + excluded.known;
END;

CREATE TRIGGER login_flow_counts_delete AFTER DELETE ON login_flows
BEGIN
    UPDATE login_flow_counts SET
        anonymous = anonymous - (OLD.known = 0),
        known = known - (OLD.known <> 0)
    WHERE org_id = OLD.org_id AND slot = 0;
END;

-- The flows pending already.
INSERT INTO login_flow_counts (org_id, slot, anonymous, known)
SELECT org_id, 0, SUM(known = 0), SUM(known <> 0) FROM login_flows GROUP BY org_id;
