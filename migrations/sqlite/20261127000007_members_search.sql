-- SQLite: substring search on name and email through an FTS5 trigram index instead of a scan.
-- members has no INTEGER PRIMARY KEY, so its rowids may change on VACUUM: the index is keyed by
-- member_search_keys.k, a stable integer per member. Triggers keep both exact.
CREATE TABLE member_search_keys (
    k          INTEGER PRIMARY KEY,
    member_id  TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE members_fts USING fts5(name, email, tokenize = 'trigram');

CREATE TRIGGER members_search_insert AFTER INSERT ON members
BEGIN
    INSERT INTO member_search_keys (member_id) VALUES (NEW.id);
    INSERT INTO members_fts (rowid, name, email)
    VALUES ((SELECT k FROM member_search_keys WHERE member_id = NEW.id), NEW.name, NEW.email);
END;

-- Sign-ins rewrite name and email with what Okta sent: only real changes touch the index.
CREATE TRIGGER members_search_update AFTER UPDATE OF name, email ON members
WHEN OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email
BEGIN
    UPDATE members_fts SET name = NEW.name, email = NEW.email
    WHERE rowid = (SELECT k FROM member_search_keys WHERE member_id = NEW.id);
END;

CREATE TRIGGER members_search_delete AFTER DELETE ON members
BEGIN
    DELETE FROM members_fts WHERE rowid = (SELECT k FROM member_search_keys WHERE member_id = OLD.id);
    DELETE FROM member_search_keys WHERE member_id = OLD.id;
END;

INSERT INTO member_search_keys (member_id) SELECT id FROM members;
INSERT INTO members_fts (rowid, name, email)
SELECT k.k, m.name, m.email FROM members m JOIN member_search_keys k ON k.member_id = m.id;
