-- SQLite: keep member_stats exact. SQLite has one writer at a time, so the counter row needs no
-- further care. A comparison is 0 or 1 in SQLite.
CREATE TRIGGER member_stats_insert AFTER INSERT ON members
BEGIN
    INSERT INTO member_stats (org_id) VALUES (NEW.org_id) ON CONFLICT (org_id) DO NOTHING;
    UPDATE member_stats SET
        owners = owners + (NEW.role = 'owner'),
        admins = admins + (NEW.role = 'admin'),
        members = members + (NEW.role = 'member'),
        active = active + (NEW.status = 'active'),
        deactivated = deactivated + (NEW.status = 'deactivated')
    WHERE org_id = NEW.org_id;
END;

CREATE TRIGGER member_stats_update AFTER UPDATE OF role, status ON members
BEGIN
    UPDATE member_stats SET
        owners = owners - (OLD.role = 'owner') + (NEW.role = 'owner'),
        admins = admins - (OLD.role = 'admin') + (NEW.role = 'admin'),
        members = members - (OLD.role = 'member') + (NEW.role = 'member'),
        active = active - (OLD.status = 'active') + (NEW.status = 'active'),
        deactivated = deactivated - (OLD.status = 'deactivated') + (NEW.status = 'deactivated')
    WHERE org_id = NEW.org_id;
END;

CREATE TRIGGER member_stats_delete AFTER DELETE ON members
BEGIN
    UPDATE member_stats SET
        owners = owners - (OLD.role = 'owner'),
        admins = admins - (OLD.role = 'admin'),
        members = members - (OLD.role = 'member'),
        active = active - (OLD.status = 'active'),
        deactivated = deactivated - (OLD.status = 'deactivated')
    WHERE org_id = OLD.org_id;
END;

-- The members that exist already (this migration's transaction holds the write lock).
INSERT INTO member_stats (org_id, owners, admins, members, active, deactivated)
SELECT org_id,
       SUM(role = 'owner'), SUM(role = 'admin'), SUM(role = 'member'),
       SUM(status = 'active'), SUM(status = 'deactivated')
FROM members GROUP BY org_id;
