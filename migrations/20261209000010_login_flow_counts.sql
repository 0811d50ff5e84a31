-- How many sign-ins each org has pending, by tier: read by every sign-in started, instead of
-- walking the org's pending flows to find the ones beyond its cap (an index walk as long as the
-- cap, 10,000 entries, on every start during a flood; on PostgreSQL a heap visit per entry).
-- Kept exact by database triggers, which differ by dialect: see migrations/sqlite/ and
-- migrations/postgres/ (20261209000011), applied in the same run right after this one. On
-- PostgreSQL an org has up to 16 rows ("slots", as member_stats), summed when read; on SQLite
-- one (slot 0). Expired flows count until the purge deletes them: they are the oldest, so the
-- first to make room.
CREATE TABLE login_flow_counts (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    slot       INTEGER NOT NULL DEFAULT 0,
    anonymous  BIGINT NOT NULL DEFAULT 0,
    known      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, slot)
);
