-- Security: a non-superuser application role, given exactly what
-- enspiral.grant_application() grants, can use the whole API and nothing
-- more: no direct table access (no rewriting the ledger or the membership
-- history, no reading hidden data), no disabling of rules, no privilege
-- changes.  Tables and functions are discovered from the catalog, so parts
-- added later are covered without editing this file.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_app') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_app';
        DROP ROLE regress_enspiral_app;
    END IF;
END $$;
CREATE ROLE regress_enspiral_app;
RESET client_min_messages;
\set VERBOSITY terse

-- what an application gets: schema usage, every SECURITY DEFINER function
-- (each pins search_path), the views without hidden data
SELECT privilege, object_type, count(*) > 0 AS some
  FROM enspiral.application_privileges() GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) = (SELECT count(*) FROM enspiral.application_privileges()) AS all_granted
  FROM enspiral.grant_application('regress_enspiral_app');
SELECT p.oid::regprocedure AS granted_but_not_definer_or_unpinned
  FROM pg_proc p
 WHERE has_function_privilege('regress_enspiral_app', p.oid, 'EXECUTE')
   AND p.pronamespace = 'enspiral'::regnamespace
   AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c = 'search_path=pg_catalog, pg_temp');
-- PUBLIC runs no definer function; the application runs all but the admin ones
SELECT p.oid::regprocedure AS definer_open_to_public
  FROM pg_proc p WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prosecdef
   AND has_function_privilege('public', p.oid, 'EXECUTE');
SELECT p.oid::regprocedure AS definer_not_granted
  FROM pg_proc p WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prosecdef
   AND p.prorettype <> 'trigger'::regtype
   AND NOT has_function_privilege('regress_enspiral_app', p.oid, 'EXECUTE');

-- no definer function acts on an object the caller names (a table, role,
-- function or identifier): it would do so with the owner's rights
SELECT p.oid::regprocedure AS definer_taking_object_names
  FROM pg_proc p WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prosecdef
   AND EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) a
                WHERE a IN ('regclass'::regtype, 'regproc'::regtype, 'regprocedure'::regtype,
                            'regrole'::regtype, 'regnamespace'::regtype, 'regtype'::regtype,
                            'name'::regtype, 'oid'::regtype));
-- no definer function builds SQL from text (dynamic SQL runs only with
-- format's %I/%L, and only in invoker functions)
SELECT p.oid::regprocedure AS definer_with_dynamic_sql
  FROM pg_proc p WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prosecdef
   AND p.prosrc ~* '\mEXECUTE\M';

SET ROLE regress_enspiral_app;

-- the API works for the application
SELECT enspiral.create_group('App co-op') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.member_id(:g, 'ben') = :ben AS found,
       enspiral.is_member(:g, :ana) AS ana_is_member,
       enspiral.group_settings(:g) ->> 'min_catalysts' AS min_catalysts;
SELECT enspiral.update_group_settings(:g, '{"min_catalysts": 2}') ->> 'min_catalysts' AS updated;
SELECT enspiral.remove_member(:g, :ben);
SELECT count(*) AS current_members FROM enspiral.current_members WHERE group_id = :g;
-- pure functions and types are usable by anybody (they run with the caller's rights)
SELECT has_function_privilege('public', 'enspiral.library_version()', 'EXECUTE') AS public_math;

-- no direct access to any table: every read and write is refused (42501)
CREATE TEMP TABLE attempts (rel text, op text, sqlstate text);
DO $$
DECLARE
    t   regclass;
    op  text;
    st  text;
    col name;
BEGIN
    FOR t IN SELECT c.oid FROM pg_class c
              WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind IN ('r', 'p')
              ORDER BY c.relname LOOP
        SELECT a.attname INTO col FROM pg_attribute a
         WHERE a.attrelid = t AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attidentity = '' AND a.attgenerated = '' ORDER BY a.attnum LIMIT 1;
        FOREACH op IN ARRAY ARRAY[
            'SELECT * FROM %s LIMIT 1',
            'INSERT INTO %s DEFAULT VALUES',
            'UPDATE %s SET ' || format('%I = %I', col, col),
            'DELETE FROM %s',
            'TRUNCATE %s',
            'LOCK TABLE %s IN ACCESS EXCLUSIVE MODE',
            'ALTER TABLE %s DISABLE TRIGGER ALL',
            'ALTER TABLE %s DROP CONSTRAINT IF EXISTS x',
            'CREATE TRIGGER x BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()',
            'COPY %s FROM PROGRAM ''true''',
            'CREATE RULE x AS ON INSERT TO %s DO INSTEAD NOTHING'] LOOP
            BEGIN
                EXECUTE format(op, t);
                st := '00000';
            EXCEPTION WHEN OTHERS THEN
                st := SQLSTATE;
            END;
            INSERT INTO attempts VALUES (t::text, split_part(op, ' ', 1) || ' ' || split_part(op, ' ', 2), st);
        END LOOP;
    END LOOP;
END
$$;
SELECT count(DISTINCT rel) > 0 AS tables_checked FROM attempts;
SELECT rel, op, sqlstate AS not_refused FROM attempts WHERE sqlstate <> '42501' ORDER BY 1, 2;
-- sequences cannot be advanced or reset either
SELECT c.oid::regclass AS usable_sequence FROM pg_class c
 WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind = 'S'
   AND (has_sequence_privilege(c.oid, 'USAGE') OR has_sequence_privilege(c.oid, 'UPDATE'));

-- no rule can be switched off
SET session_replication_role = replica;
ALTER EXTENSION enspiral UPDATE;
DROP EXTENSION enspiral;
CREATE FUNCTION enspiral.planted() RETURNS int LANGUAGE sql AS 'SELECT 1';
ALTER FUNCTION enspiral.add_member(bigint, text) SECURITY INVOKER;
SELECT enspiral.memberships_guard();
-- no privilege changes
SELECT enspiral.grant_application('regress_enspiral_app');
SELECT enspiral.revoke_application('regress_enspiral_app');
SELECT enspiral.require_admin();
GRANT SELECT ON enspiral.members TO regress_enspiral_app;
RESET ROLE;

-- revoke takes it all back
SELECT count(*) > 0 AS revoked FROM enspiral.revoke_application('regress_enspiral_app');
SELECT count(*) AS still_executable FROM pg_proc p
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prosecdef
   AND has_function_privilege('regress_enspiral_app', p.oid, 'EXECUTE');
SET ROLE regress_enspiral_app;
SELECT enspiral.create_group('after revoke');
RESET ROLE;
SELECT enspiral.grant_application(NULL);

SET client_min_messages = warning;
DROP OWNED BY regress_enspiral_app;
DROP ROLE regress_enspiral_app;
