-- Catalog hygiene over everything the extension installs: every object is
-- documented (COMMENT ON), every function pins its search_path, every table
-- leads its primary key with group_id.  Runs last; each query must return
-- no rows.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

SELECT p.oid::regprocedure AS function_without_comment
  FROM pg_proc p WHERE p.pronamespace = 'enspiral'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL ORDER BY 1;

SELECT c.oid::regclass AS relation_without_comment
  FROM pg_class c WHERE c.relnamespace = 'enspiral'::regnamespace
   AND c.relkind IN ('r', 'v', 'm', 'p') AND obj_description(c.oid, 'pg_class') IS NULL ORDER BY 1;

SELECT t.oid::regtype AS type_without_comment
  FROM pg_type t WHERE t.typnamespace = 'enspiral'::regnamespace
   AND t.typtype IN ('b', 'e', 'd', 'r') AND t.typcategory <> 'A' AND obj_description(t.oid, 'pg_type') IS NULL ORDER BY 1;

-- SQL and PL/pgSQL functions pin search_path (C functions that run SQL do too)
SELECT p.oid::regprocedure AS function_without_search_path
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'enspiral'::regnamespace
   AND l.lanname IN ('sql', 'plpgsql')
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
 ORDER BY 1;

-- trigger functions pin search_path, whatever their language: they run for
-- whoever writes the table, with that role's path
SELECT p.oid::regprocedure AS trigger_function_without_search_path
  FROM pg_proc p WHERE p.pronamespace = 'enspiral'::regnamespace
   AND p.prorettype = 'trigger'::regtype
   AND p.proname NOT IN ('guard_lifecycle', 'guard_deadline', 'guard_append_only')
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
 ORDER BY 1;

-- SECURITY DEFINER functions always pin search_path
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
 ORDER BY 1;

-- tables lead their primary key with group_id (shardable by group)
SELECT c.oid::regclass AS table_not_led_by_group_id
  FROM pg_class c
  JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
 WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind = 'r'
   AND a.attname <> 'group_id' AND c.relname <> 'groups'
 ORDER BY 1;

-- every table has a primary key
SELECT c.oid::regclass AS table_without_primary_key
  FROM pg_class c WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind = 'r'
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
 ORDER BY 1;

-- user data tables are dumped by pg_dump
SELECT c.oid::regclass AS table_not_dumped
  FROM pg_class c WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind = 'r'
   AND c.oid <> ALL (SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'enspiral')
 ORDER BY 1;

-- every member object of the extension (functions, tables, views, types,
-- operators, operator classes and families, casts, ...) has a comment
SELECT pg_describe_object(dep.classid, dep.objid, 0) AS extension_object_without_comment
  FROM pg_depend dep
 WHERE dep.refclassid = 'pg_extension'::regclass
   AND dep.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'enspiral')
   AND dep.deptype = 'e'
   AND NOT EXISTS (SELECT 1 FROM pg_description d
                    WHERE d.classoid = dep.classid AND d.objoid = dep.objid AND d.objsubid = 0)
 ORDER BY 1;

-- every trigger on the extension's tables has a comment
SELECT t.tgname || ' on ' || t.tgrelid::regclass AS trigger_without_comment
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'enspiral'::regnamespace AND NOT t.tgisinternal
   AND obj_description(t.oid, 'pg_trigger') IS NULL
 ORDER BY 1;

-- Who may execute what (issue #19).  PUBLIC executes only the functions in
-- this list: type input/output and the functions behind operators, operator
-- classes and casts (run implicitly by everybody), the pure documented
-- functions, and the generic guards users attach to their own tables.  A new
-- function executable by PUBLIC fails here until it is reviewed and listed;
-- everything internal (trigger functions, helpers, the API) is revoked.
SELECT p.oid::regprocedure AS public_function_not_allowed
  FROM pg_proc p
 WHERE p.pronamespace = 'enspiral'::regnamespace
   AND has_function_privilege('public', p.oid, 'EXECUTE')
   AND p.proname NOT IN (
        'library_version', 'version',
        'can_transition', 'check_transition', 'next_states', 'effective_proposal_state',
        'guard_lifecycle', 'guard_deadline', 'guard_append_only',
        'adopt_lifecycle', 'adopt_append_only', 'adoption_table', 'adoption_column_type',
        'apportion', 'quadratic_match', 'quadratic_vote_cost', 'quadratic_vote_cost_agg',
        'instant_runoff', 'instant_runoff_rounds',
        'consent_counts', 'consent_counts_accum', 'consent_counts_combine',
        'normalize_group_settings', 'normalize_proposal_settings', 'normalize_round_settings',
        'check_ballot', 'catalyst_term_end', 'catalyst_months_begun',
        'check_budget_ballot', 'budget_outcome', 'budget_selection', 'budget_random_pick',
        'budget_vote_allowed',
        'application_privileges', 'require_trigger_table',
        -- Citus: run on each node as the session's user (commit, SET CONSTRAINTS)
        'check_commit_rules', 'set_commit_rules')
   AND NOT EXISTS (SELECT 1 FROM pg_type t
                    WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend))
   AND NOT EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprcode = p.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_amproc a WHERE a.amproc = p.oid)
 ORDER BY 1;

-- no trigger function of the extension is executable by PUBLIC (CREATE
-- TRIGGER checks EXECUTE), except the generic guards for users' own tables,
-- which check the columns they read
SELECT p.oid::regprocedure AS public_trigger_function
  FROM pg_proc p
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prorettype = 'trigger'::regtype
   AND has_function_privilege('public', p.oid, 'EXECUTE')
   AND p.proname NOT IN ('guard_lifecycle', 'guard_deadline', 'guard_append_only')
 ORDER BY 1;

-- PL/pgSQL trigger functions check their table first (the C ones call
-- enspiral_require_trigger_table(), src/core_relcheck.c)
SELECT p.oid::regprocedure AS plpgsql_trigger_without_table_check
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prorettype = 'trigger'::regtype
   AND l.lanname = 'plpgsql'
   AND p.prosrc !~ '^\s*BEGIN\s+PERFORM enspiral\.require_trigger_table\(TG_RELID, TG_NAME, '
 ORDER BY 1;

-- nor is any granted to another role but the owner (grant_application)
SELECT p.oid::regprocedure AS granted_trigger_function, a.grantee::regrole AS grantee
  FROM pg_proc p, aclexplode(p.proacl) a
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prorettype = 'trigger'::regtype
   AND a.grantee <> 0 AND a.grantee <> p.proowner
 ORDER BY 1;

-- implicitly run code belongs to a superuser: everything but the SECURITY
-- DEFINER API, the tables, views and sequences (the extension owner's)
SELECT pg_describe_object(d.classid, d.objid, 0) AS implicit_code_not_owned_by_superuser
  FROM pg_depend d
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'enspiral') AND d.deptype = 'e'
   AND COALESCE(
        (SELECT NOT p.prosecdef AND NOT r.rolsuper FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
          WHERE d.classid = 'pg_proc'::regclass AND p.oid = d.objid),
        (SELECT NOT r.rolsuper FROM pg_type t JOIN pg_roles r ON r.oid = t.typowner
          WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid),
        (SELECT NOT r.rolsuper FROM pg_operator o JOIN pg_roles r ON r.oid = o.oprowner
          WHERE d.classid = 'pg_operator'::regclass AND o.oid = d.objid),
        (SELECT NOT r.rolsuper FROM pg_opclass c JOIN pg_roles r ON r.oid = c.opcowner
          WHERE d.classid = 'pg_opclass'::regclass AND c.oid = d.objid),
        (SELECT NOT r.rolsuper FROM pg_opfamily f JOIN pg_roles r ON r.oid = f.opfowner
          WHERE d.classid = 'pg_opfamily'::regclass AND f.oid = d.objid),
        false)
 ORDER BY 1;
SELECT n.nspname AS schema_not_owned_by_superuser
  FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
 WHERE n.nspname = 'enspiral' AND NOT r.rolsuper;
SELECT a.grantee::regrole AS creates_in_schema
  FROM pg_namespace n, aclexplode(n.nspacl) a
 WHERE n.nspname = 'enspiral' AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner;
