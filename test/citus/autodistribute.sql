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
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() c
                WHERE c.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                  AND c.object_identity = 'enspiral') THEN
        PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
        PERFORM pg_catalog.count(*) FROM enspiral.distribute();
    END IF;
END
$$;
CREATE EVENT TRIGGER citus_test_distribute ON ddl_command_end
    WHEN TAG IN ('CREATE EXTENSION')
    EXECUTE FUNCTION public.citus_test_distribute();
