-- The citus kind of tools/test.sh runs this in each database where a
-- regression file or isolation spec written for a single server runs
-- sharded: every CREATE EXTENSION enspiral then runs enspiral.distribute()
-- in the same statement, so the file's own
--     CREATE EXTENSION enspiral CASCADE;
-- becomes the documented deployment
--     CREATE EXTENSION enspiral CASCADE; SELECT enspiral.distribute();
-- without a line of the file or of its expected output changing.
-- (Citus runs a distributed extension's commands over one connection per
-- node, so the distribution in the same transaction must be sequential:
-- distribute() sets that itself, but only after its first queries.)
CREATE FUNCTION public.citus_test_distribute() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (a version without distribute(), 0.1.0, stays on the coordinator)
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() c
                WHERE c.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                  AND c.object_identity = 'enspiral')
       AND pg_catalog.to_regprocedure('enspiral.distribute(integer)') IS NOT NULL THEN
        PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
        PERFORM pg_catalog.count(*) FROM enspiral.distribute();
    END IF;
END
$$;
CREATE EVENT TRIGGER citus_test_distribute ON ddl_command_end
    WHEN TAG IN ('CREATE EXTENSION')
    EXECUTE FUNCTION public.citus_test_distribute();

-- DROP EXTENSION enspiral leaves the shards on the workers, in the schema
-- enspiral that the extension no longer owns there (doc/scaling.md), and a
-- CREATE EXTENSION enspiral in the same database then fails on the workers
-- ("schema "enspiral" holds objects that are not part of the extension").
-- Files and specs that drop and create the extension again (every spec, per
-- permutation) get the leftover shards dropped first, where the extension
-- is gone (a worker refuses the DDL unless it is told not to propagate it;
-- the schema stays: Citus still counts it as created on the workers).
CREATE FUNCTION public.citus_test_drop_leftovers() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'enspiral') THEN
        PERFORM pg_catalog.run_command_on_workers($cmd$
            DO $do$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'enspiral') THEN
                    SET LOCAL client_min_messages = warning;
                    SET LOCAL citus.enable_ddl_propagation = off;
                    EXECUTE coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('DROP TABLE %s CASCADE', c.oid::pg_catalog.regclass), '; ')
                               FROM pg_catalog.pg_class c
                              WHERE c.relnamespace = pg_catalog.to_regnamespace('enspiral')
                                AND c.relkind IN ('r', 'p')), 'SELECT 1');
                END IF;
            END
            $do$ $cmd$);
    END IF;
END
$$;
CREATE EVENT TRIGGER citus_test_drop_leftovers ON ddl_command_start
    WHEN TAG IN ('CREATE EXTENSION')
    EXECUTE FUNCTION public.citus_test_drop_leftovers();
