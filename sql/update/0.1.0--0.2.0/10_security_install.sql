-- enspiral update 0.1.0 -> 0.2.0, part 10: security of the install (issue #19).
-- doc/security-hardening.md explains each rule.

-- Every name this script does not qualify resolves in pg_catalog only: an
-- exact-match operator or function planted in public (the schema of
-- btree_gist, on the search_path CREATE EXTENSION and ALTER EXTENSION set)
-- would otherwise run as the bootstrap superuser.  Local to the script.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

-- secure_installation(): the ownership and privilege rules of the
-- extension, applied to every member object.  Run by the install and
-- update scripts (as the role that runs them: the bootstrap superuser in a
-- trusted install) after their last object is made; idempotent.
--  1. The schema holds nothing but the extension: an object planted in it
--     could capture a call made by the extension's functions.
--  2. The schema and everything whose code other roles run implicitly
--     belong to the role running the script; only the tables, views,
--     sequences and SECURITY DEFINER functions go to the extension owner,
--     so definer functions never run as the bootstrap superuser, and the
--     extension owner cannot replace an operator's, type's, aggregate's
--     or trigger's function (a schema's owner could drop and re-create it;
--     a function's owner could replace it or change its search_path).
--  3. PUBLIC executes only the functions listed below (types, operators and
--     their support, the pure documented functions, the generic guards that
--     users attach to their own tables); every other function (the API,
--     trigger functions, internal helpers) is revoked from PUBLIC, and the
--     extension owner may execute the internal helpers its API calls.
-- @function enspiral.secure_installation()

-- require_trigger_table(): the check every PL/pgSQL trigger function of
-- enspiral's own tables makes first (core_relcheck.c makes it for the C ones):
-- attached to another table, it would act on rows it was not written for
-- (it accepts Citus shards of the table: part 80_citus, doc/scaling.md)
-- @function enspiral.is_shard_of(relation oid, of regclass)
-- @function enspiral.require_trigger_table(fired_on oid, trigger_name name, fname text, expected regclass)

-- the PL/pgSQL trigger functions of the extension's tables check their table
-- @function enspiral.memberships_guard()
-- @function enspiral.outcomes_guard()
-- @function enspiral.rounds_guard()
-- @function enspiral.catalyst_terms_no_truncate()

-- the C trigger functions that run queries pin their search_path too: a
-- superuser writing the tables directly with public first on the path would
-- otherwise resolve their queries' operators there
ALTER FUNCTION enspiral.proposals_guard() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION enspiral.memberships_outcome_guard() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION enspiral.votes_guard() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION enspiral.accounts_guard() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION enspiral.buckets_guard() SET search_path = pg_catalog, pg_temp;

-- Take the schema and the implicitly run code back from the installing role
-- (a trusted 0.1.0 install gave it everything) before anything is changed;
-- part 99 runs it again over the objects the other parts make.
SELECT enspiral.secure_installation();

-- trigger functions are no longer granted to applications
-- application_privileges(): what grant_application gives, one row per grant
-- @function enspiral.application_privileges()

-- the schema belongs to a superuser now: USAGE, which PUBLIC has, is not granted again
-- grant_application and revoke_application differ only in the verb; one
-- function does the checks and the statements for both.
-- @function enspiral.apply_application_privileges(role regrole, do_grant boolean)

-- an application role granted by 0.1.0 keeps no EXECUTE on trigger functions
DO $$
DECLARE
    obj record;
BEGIN
    FOR obj IN
        SELECT p.oid::pg_catalog.regprocedure AS fn, a.grantee
          FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
         WHERE p.pronamespace OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.regnamespace::pg_catalog.oid
           AND p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.trigger'::pg_catalog.regtype::pg_catalog.oid
           AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
           AND a.grantee OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM %I', obj.fn,
                                  pg_catalog.pg_get_userbyid(obj.grantee));
    END LOOP;
END
$$;
