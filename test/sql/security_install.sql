-- Security of the install (issue #19, critical): a database owner who is not
-- a superuser installs enspiral as a trusted extension, which runs the
-- install and update scripts as the bootstrap superuser.
--  1. Name capture: exact-match operators and functions planted in public
--     (btree_gist's schema, writable by the database owner, or by anyone
--     when public is world-writable) for many operand types must never run
--     during CREATE EXTENSION (default version and VERSION '0.1.0') nor
--     ALTER EXTENSION UPDATE, by the owner or by a superuser.
--  2. Implicitly run code: after a trusted install the owner can neither
--     replace nor alter the functions behind enspiral's operators (placed in
--     pg_catalog), types, casts, operator classes, aggregates and triggers.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
DROP SCHEMA IF EXISTS enspiral CASCADE;
DROP EXTENSION IF EXISTS btree_gist CASCADE;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_owner') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_owner'; DROP ROLE regress_enspiral_owner;
    END IF;
END $$;
CREATE ROLE regress_enspiral_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO regress_enspiral_owner', current_database()) \gexec
-- as the database owner could: public is owned by pg_database_owner
GRANT CREATE ON SCHEMA public TO regress_enspiral_owner;
RESET client_min_messages;
\set VERBOSITY terse

-- The plants.  Every trap records its call (as whom) and tries to make its
-- owner a superuser; it returns NULL.
SET ROLE regress_enspiral_owner;
CREATE TABLE public.trap_log (trap text, run_by name, as_superuser boolean);
GRANT ALL ON public.trap_log TO PUBLIC;
CREATE FUNCTION public.trap_fired(trap text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    su boolean := (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                    WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER);
BEGIN
    INSERT INTO public.trap_log VALUES (trap, CURRENT_USER, su);
    IF su THEN
        BEGIN
            EXECUTE 'ALTER ROLE regress_enspiral_owner SUPERUSER';
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END IF;
END
$$;
-- (this session's own SQL must not reach the plants either)
SET search_path = pg_catalog, pg_temp;
-- exact-match binary operators for every pair of these operand types, in
-- every name the scripts use (and some they might)
DO $$
DECLARE
    types text[] := ARRAY['oid', 'regclass', 'regnamespace', 'regtype', 'regproc', 'regprocedure',
                          'regrole', 'regoperator', 'name', 'text', '"char"', 'character varying',
                          'smallint', 'integer', 'bigint', 'numeric', 'boolean', 'date',
                          'timestamp with time zone', 'interval', 'jsonb', 'json', 'tstzrange',
                          'daterange', 'text[]', 'name[]', 'bigint[]', '"char"[]', 'oid[]', 'aclitem'];
    ops   text[] := ARRAY['=', '<>', '<', '<=', '>', '>=', '~~', '!~~', '~', '@>', '<@', '&&',
                          '?', '||', '+', '-', '->', '->>'];
    l text; r text; op text; f text; n int := 0;
BEGIN
    FOREACH l IN ARRAY types LOOP
        FOREACH r IN ARRAY types LOOP
            n := n + 1;
            f := 'trap_op_' || n;
            EXECUTE format('CREATE FUNCTION public.%I(%s, %s) RETURNS boolean LANGUAGE plpgsql '
                           'SET search_path = pg_catalog, pg_temp '
                           'AS $f$ BEGIN PERFORM public.trap_fired(%L); RETURN NULL; END $f$',
                           f, l, r, format('operator(%s, %s)', l, r));
            FOREACH op IN ARRAY ops LOOP
                EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.%I)',
                               op, l, r, f);
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;
-- exact-match functions of every name the scripts call, with one argument
-- or (text, x) of each of those types
DO $$
DECLARE
    types text[] := ARRAY['oid', 'regclass', 'regnamespace', 'regtype', 'regprocedure', 'regrole',
                          'name', 'text', 'bigint', 'integer', 'numeric', 'jsonb', 'json', 'date',
                          'timestamp with time zone', 'tstzrange', 'daterange', 'text[]', 'bigint[]',
                          'aclitem[]'];
    funcs text[] := ARRAY['format', 'pg_get_userbyid', 'quote_ident', 'quote_literal', 'set_config',
                          'current_setting', 'aclexplode', 'pg_has_role', 'has_function_privilege',
                          'has_schema_privilege', 'pg_extension_config_dump', 'string_agg', 'array_agg',
                          'now', 'statement_timestamp', 'gen_random_uuid', 'upper', 'lower', 'length',
                          'btrim', 'rtrim', 'substr', 'trunc', 'to_char', 'to_jsonb', 'tstzrange',
                          'daterange', 'isempty', 'isfinite', 'cardinality', 'array_position',
                          'array_length', 'jsonb_typeof', 'jsonb_build_object', 'jsonb_array_length',
                          'jsonb_object_keys', 'jsonb_strip_nulls', 'jsonb_each', 'unnest',
                          'generate_series', 'bool_or', 'nextval', 'textin', 'int8', 'text'];
    t text; fn text;
BEGIN
    FOREACH fn IN ARRAY funcs LOOP
        FOREACH t IN ARRAY types LOOP
            EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS text LANGUAGE plpgsql '
                           'SET search_path = pg_catalog, pg_temp '
                           'AS $f$ BEGIN PERFORM public.trap_fired(%L); RETURN NULL; END $f$',
                           fn, t, format('%s(%s)', fn, t));
            EXECUTE format('CREATE FUNCTION public.%I(text, %s) RETURNS text LANGUAGE plpgsql '
                           'SET search_path = pg_catalog, pg_temp '
                           'AS $f$ BEGIN PERFORM public.trap_fired(%L); RETURN NULL; END $f$',
                           fn, t, format('%s(text, %s)', fn, t));
        END LOOP;
    END LOOP;
END
$$;
SELECT count(*) > 10000 AS operators_planted FROM pg_operator WHERE oprnamespace = 'public'::regnamespace;
SELECT count(*) > 2000 AS functions_planted FROM pg_proc WHERE pronamespace = 'public'::regnamespace
   AND proname NOT LIKE 'gbt%';
-- the traps work: with public on the path, an unqualified comparison
-- reaches one (as CREATE EXTENSION's path, enspiral, public, would)
SET search_path = public;
SELECT 1::oid = 'pg_catalog'::regnamespace AS trap_reached;
SET search_path = pg_catalog, pg_temp;
SELECT trap, run_by, as_superuser FROM public.trap_log;
TRUNCATE public.trap_log;

-- 1a. the owner installs the default version, btree_gist with it (CASCADE)
CREATE EXTENSION enspiral CASCADE;
RESET ROLE;
SELECT extversion, pg_get_userbyid(extowner) AS owner FROM pg_extension WHERE extname = 'enspiral';
SELECT count(*) AS traps_run FROM public.trap_log;
SELECT rolsuper AS owner_became_superuser FROM pg_roles WHERE rolname = 'regress_enspiral_owner';
-- the installer's search_path is back
SET ROLE regress_enspiral_owner;
SHOW search_path;

-- 2. the owner cannot change the code behind the operators (in pg_catalog),
-- types, casts, operator classes, aggregates or trigger functions
CREATE OR REPLACE FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state)
    RETURNS boolean LANGUAGE sql AS 'SELECT true';
ALTER FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state)
    SET search_path = public;
ALTER EXTENSION enspiral DROP FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state);
DROP FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state) CASCADE;
ALTER FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state) OWNER TO regress_enspiral_owner;
ALTER OPERATOR pg_catalog.= (enspiral.proposal_state, enspiral.proposal_state) OWNER TO regress_enspiral_owner;
ALTER OPERATOR pg_catalog.= (enspiral.bucket_state, enspiral.bucket_state) SET (RESTRICT = eqsel);
ALTER OPERATOR CLASS enspiral.proposal_state_ops USING btree RENAME TO x;
ALTER OPERATOR FAMILY enspiral.bucket_state_ops USING hash OWNER TO regress_enspiral_owner;
CREATE OR REPLACE FUNCTION enspiral.proposal_state_out(enspiral.proposal_state)
    RETURNS cstring LANGUAGE internal AS 'textout';
ALTER TYPE enspiral.proposal_state OWNER TO regress_enspiral_owner;
ALTER TYPE enspiral.transfer_kind ADD VALUE 'theft';
DROP CAST (text AS enspiral.proposal_state);
ALTER EXTENSION enspiral DROP CAST (text AS enspiral.proposal_state);
CREATE FUNCTION public.to_state(text) RETURNS enspiral.bucket_state
    LANGUAGE sql AS $$ SELECT public.trap_fired('cast'); SELECT NULL::enspiral.bucket_state $$;
CREATE CAST (text AS enspiral.bucket_state) WITH FUNCTION public.to_state(text);
CREATE OR REPLACE FUNCTION enspiral.instant_runoff_final(internal) RETURNS bigint
    LANGUAGE sql AS 'SELECT 1::bigint';
ALTER AGGREGATE enspiral.instant_runoff(bigint[]) OWNER TO regress_enspiral_owner;
CREATE OR REPLACE FUNCTION enspiral.memberships_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN PERFORM public.trap_fired('trigger'); RETURN NEW; END $$;
ALTER FUNCTION enspiral.memberships_guard() SET search_path = public, pg_catalog;
ALTER FUNCTION enspiral.guard_lifecycle() SECURITY DEFINER;
ALTER FUNCTION enspiral.catalyst_terms_record() RENAME TO catalyst_terms_record2;
CREATE FUNCTION enspiral.add_member(bigint, character varying) RETURNS bigint
    LANGUAGE sql AS 'SELECT 1::bigint';
ALTER SCHEMA enspiral OWNER TO regress_enspiral_owner;
ALTER SCHEMA enspiral RENAME TO enspiral_old;
DROP SCHEMA enspiral CASCADE;
GRANT CREATE ON SCHEMA enspiral TO regress_enspiral_owner;
-- what it owns: the tables, views, sequences and the SECURITY DEFINER API
SELECT count(*) AS invoker_functions_owned FROM pg_proc
 WHERE pronamespace = 'enspiral'::regnamespace AND NOT prosecdef
   AND proowner = 'regress_enspiral_owner'::regrole;
SELECT count(*) > 0 AS definer_functions_owned FROM pg_proc
 WHERE pronamespace = 'enspiral'::regnamespace AND prosecdef
   AND proowner = 'regress_enspiral_owner'::regrole;
-- the API works for it, and a superuser comparing states runs no trap
SELECT enspiral.create_group('Owner co-op') AS g \gset
SELECT enspiral.add_member(:g, 'ana') IS NOT NULL AS added;
RESET ROLE;
SELECT 'open'::enspiral.proposal_state = 'open'::enspiral.proposal_state AS eq,
       'idea'::text::enspiral.bucket_state AS cast_ok,
       enspiral.instant_runoff(r) AS irv
  FROM (VALUES (ARRAY[1, 2]::bigint[])) v(r);
SELECT count(*) AS traps_run FROM public.trap_log;
DROP FUNCTION public.to_state(text);

-- a superuser uses the API with public FIRST on its path: every function
-- runs under its pinned path (SQL and PL/pgSQL bodies are parsed under it,
-- the queries of C functions too), so no plant is reached
SET search_path = public, pg_catalog;
SELECT enspiral.create_group('Path co-op') AS pg \gset
SELECT enspiral.add_member(:pg, 'a') AS ma \gset
SELECT enspiral.add_member(:pg, 'b') AS mb \gset
SELECT enspiral.propose(:pg, :ma, 'Path', 'consent') AS pp \gset
SELECT count(*) AS opened FROM enspiral.open_proposal(:pp,
    pg_catalog.now() OPERATOR(pg_catalog.+) '1 day'::pg_catalog.interval) x;
SELECT count(*) AS voted FROM enspiral.vote(:pp, :ma, '"agree"'::pg_catalog.jsonb) x;
SELECT count(*) AS closed FROM enspiral.close_proposal(:pp) x;
SELECT count(*) AS outcome FROM enspiral.outcome(:pp) x;
SELECT enspiral.create_round(:pg, 'R', 1000, pg_catalog.now(),
    pg_catalog.now() OPERATOR(pg_catalog.+) '1 day'::pg_catalog.interval) AS pr \gset
SELECT enspiral.create_bucket(:pr, :ma, 'B', 10, 100) AS pb \gset
SELECT count(*) AS opened FROM enspiral.open_bucket(:pb) x;
SELECT count(*) AS allocated FROM enspiral.allocate(:pr) x;
SELECT count(*) AS contributed FROM enspiral.contribute(:pb, :mb, 10, 'k') x;
SELECT count(*) AS verified FROM enspiral.verify_ledger(:pg) x;
SELECT count(*) AS appointed FROM enspiral.appoint_catalyst(:pg, :ma, CURRENT_DATE) x;
SELECT count(*) AS removed FROM enspiral.remove_member(:pg, :mb) x;
SET search_path = pg_catalog, pg_temp;
SELECT count(*) AS traps_run FROM public.trap_log;

-- 1b. a superuser installs with the same plants in public (a world-writable
-- public schema lets any role plant them)
DROP EXTENSION enspiral;
CREATE EXTENSION enspiral;
SELECT count(*) AS traps_run FROM public.trap_log;
DROP EXTENSION enspiral;

-- 1c. the owner installs VERSION '0.1.0' (still shipped), then updates
SET ROLE regress_enspiral_owner;
CREATE EXTENSION enspiral VERSION '0.1.0';
RESET ROLE;
SELECT count(*) AS traps_run FROM public.trap_log;
SET ROLE regress_enspiral_owner;
-- 0.1.0, patched: the schema and the operators' code are not its either
CREATE OR REPLACE FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state)
    RETURNS boolean LANGUAGE sql AS 'SELECT true';
ALTER FUNCTION enspiral.bucket_state_eq(enspiral.bucket_state, enspiral.bucket_state) SET search_path = public;
SELECT enspiral.create_group('Old co-op') AS g \gset
ALTER EXTENSION enspiral UPDATE;
RESET ROLE;
SELECT extversion FROM pg_extension WHERE extname = 'enspiral';
SELECT count(*) AS traps_run FROM public.trap_log;
SELECT rolsuper AS owner_became_superuser FROM pg_roles WHERE rolname = 'regress_enspiral_owner';
-- after the update, ownership is that of a fresh install
SELECT count(*) AS invoker_functions_owned FROM pg_proc
 WHERE pronamespace = 'enspiral'::regnamespace AND NOT prosecdef
   AND proowner = 'regress_enspiral_owner'::regrole;
SELECT p.oid::regprocedure AS definer_not_owned FROM pg_proc p
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prosecdef
   AND p.proowner <> 'regress_enspiral_owner'::regrole;
SELECT (SELECT rolsuper FROM pg_roles WHERE oid = nspowner) AS schema_owner_is_superuser
  FROM pg_namespace WHERE nspname = 'enspiral';
SET ROLE regress_enspiral_owner;
SELECT enspiral.add_member(:g, 'ben') IS NOT NULL AS added_after_update;
DROP EXTENSION enspiral;
RESET ROLE;

-- 1d. a 0.1.0 installed by the owner before the fix (it owned everything,
-- the schema included) is taken back by the update
SET ROLE regress_enspiral_owner;
CREATE EXTENSION enspiral VERSION '0.1.0';
RESET ROLE;
SET client_min_messages = warning;
DO $$
DECLARE
    cmd text;
BEGIN
    FOR cmd IN
        SELECT 'SCHEMA enspiral'
        UNION ALL SELECT 'ROUTINE ' || p.oid::regprocedure FROM pg_proc p
         WHERE p.pronamespace = 'enspiral'::regnamespace
        UNION ALL SELECT 'TYPE ' || t.oid::regtype FROM pg_type t
         WHERE t.typnamespace = 'enspiral'::regnamespace AND t.typrelid = 0 AND t.typcategory <> 'A'
        UNION ALL SELECT 'OPERATOR ' || o.oid::regoperator FROM pg_operator o
         WHERE o.oprleft IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype)
    LOOP
        EXECUTE format('ALTER %s OWNER TO regress_enspiral_owner', cmd);
    END LOOP;
END
$$;
SELECT count(*) AS invoker_functions_owned_before FROM pg_proc
 WHERE pronamespace = 'enspiral'::regnamespace AND NOT prosecdef
   AND proowner = 'regress_enspiral_owner'::regrole;
RESET client_min_messages;
SET ROLE regress_enspiral_owner;
ALTER EXTENSION enspiral UPDATE;
RESET ROLE;
SELECT count(*) AS traps_run FROM public.trap_log;
SELECT count(*) AS invoker_functions_owned FROM pg_proc
 WHERE pronamespace = 'enspiral'::regnamespace AND NOT prosecdef
   AND proowner = 'regress_enspiral_owner'::regrole;
SELECT count(*) AS types_owned FROM pg_type
 WHERE typnamespace = 'enspiral'::regnamespace AND typrelid = 0 AND typcategory <> 'A'
   AND typowner = 'regress_enspiral_owner'::regrole;
SELECT count(*) AS operators_owned FROM pg_operator
 WHERE oprleft IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype)
   AND oprowner = 'regress_enspiral_owner'::regrole;
SELECT (SELECT rolsuper FROM pg_roles WHERE oid = nspowner) AS schema_owner_is_superuser
  FROM pg_namespace WHERE nspname = 'enspiral';
SET ROLE regress_enspiral_owner;
CREATE OR REPLACE FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state)
    RETURNS boolean LANGUAGE sql AS 'SELECT true';
RESET ROLE;

-- clean up: back to an ordinary superuser install for the files that follow
SET client_min_messages = warning;
DROP EXTENSION enspiral CASCADE;
DROP SCHEMA enspiral CASCADE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM regress_enspiral_owner', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM regress_enspiral_owner;
-- one transaction per trap function: dropping them all at once needs more locks
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
                AND p.proowner = 'regress_enspiral_owner'::regrole LOOP
        EXECUTE format('DROP FUNCTION %s CASCADE', f);
        COMMIT;
    END LOOP;
END
$$;
DROP OWNED BY regress_enspiral_owner;
DROP ROLE regress_enspiral_owner;
CREATE EXTENSION btree_gist;
RESET client_min_messages;
SELECT count(*) AS public_functions_left FROM pg_proc
 WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'trap%';
