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
