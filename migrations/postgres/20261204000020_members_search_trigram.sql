-- PostgreSQL: substring search on name and email (`LOWER(x) LIKE LOWER('%q%')`, see
-- `dialect::search_condition`) through trigram GIN indexes instead of a scan of the org's
-- members. pg_trgm ships with PostgreSQL and is a trusted extension (PostgreSQL 13+): the
-- database owner may create it. Where it cannot be created (a managed service that forbids it),
-- search keeps working, by a scan, and the migration still succeeds.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available (%): members search scans', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS members_name_trgm ON members USING gin (LOWER(name) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX IF NOT EXISTS members_email_trgm ON members USING gin (LOWER(email) gin_trgm_ops)';
    END IF;
END
$$;
