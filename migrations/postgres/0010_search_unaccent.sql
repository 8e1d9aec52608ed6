-- Accent-insensitive search, as on SQLite (FTS5 unicode61 remove_diacritics 2):
-- "cafe" finds "Cafe" with an acute e, and the accented query finds the plain word. The search vector and the query text
-- (store_pg_tasks.c) both go through tock_fold(). It uses the `unaccent`
-- extension (in Debian's postgresql package; a trusted extension, so a database
-- owner may create it); where it cannot be created, tock_fold() is the identity
-- and search stays accent-sensitive rather than the migration failing.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS unaccent;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'tock: the unaccent extension is not available (%); search stays accent-sensitive', SQLERRM;
    END;
END $$;

DO $$
DECLARE
    ns text;
BEGIN
    SELECT n.nspname INTO ns FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'unaccent';
    IF ns IS NOT NULL THEN
        -- unaccent() is STABLE (its dictionary could change); a generated column needs
        -- IMMUTABLE: pin the dictionary by name, schema-qualified.
        EXECUTE format('CREATE FUNCTION tock_fold(text) RETURNS text LANGUAGE sql IMMUTABLE '
                       'PARALLEL SAFE STRICT AS $f$ SELECT %I.unaccent(%L::regdictionary, $1) $f$',
                       ns, ns || '.unaccent');
    ELSE
        CREATE FUNCTION tock_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            AS $f$ SELECT $1 $f$;
    END IF;
END $$;

ALTER TABLE tasks DROP COLUMN search; -- drops tasks_search with it
ALTER TABLE tasks ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', tock_fold(title)), 'A') ||
    setweight(to_tsvector('simple', tock_fold(replace(tags_text, ',', ' '))), 'B') ||
    setweight(to_tsvector('simple', tock_fold(description)), 'C')) STORED;
CREATE INDEX tasks_search ON tasks USING gin (search);
