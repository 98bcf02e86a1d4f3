-- Security: enspiral is a trusted extension, so a database owner (or any
-- role with CREATE on the database) installs it without being a superuser.
-- The install then hands the tables and the SECURITY DEFINER functions to
-- that role, so definer functions never run as the bootstrap superuser; the
-- schema and all code other roles run implicitly stay with the superuser
-- (security_install.sql attacks it); it refuses a schema "enspiral" that
-- another role controls or that holds planted objects.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
DROP SCHEMA IF EXISTS enspiral CASCADE;
CREATE EXTENSION IF NOT EXISTS btree_gist;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_dbo') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_dbo'; DROP ROLE regress_enspiral_dbo;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_squatter') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_squatter'; DROP ROLE regress_enspiral_squatter;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_app2') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_app2'; DROP ROLE regress_enspiral_app2;
    END IF;
END $$;
CREATE ROLE regress_enspiral_dbo;
CREATE ROLE regress_enspiral_squatter;
CREATE ROLE regress_enspiral_app2;
SELECT format('GRANT CREATE ON DATABASE %I TO regress_enspiral_dbo, regress_enspiral_squatter',
              current_database()) \gexec
RESET client_min_messages;
\set VERBOSITY terse

SELECT DISTINCT name, superuser, trusted FROM pg_available_extension_versions WHERE name = 'enspiral';

-- a non-superuser installs it
SET ROLE regress_enspiral_dbo;
SELECT rolsuper FROM pg_roles WHERE rolname = current_user;
CREATE EXTENSION enspiral;
SELECT pg_get_userbyid(extowner) AS extension_owner FROM pg_extension WHERE extname = 'enspiral';
RESET ROLE;

-- the tables and the SECURITY DEFINER API belong to the installing role:
-- nothing runs as a superuser; everything else to the superuser
SELECT count(*) > 0 AS has_definers,
       bool_and(pg_get_userbyid(proowner) = 'regress_enspiral_dbo') AS definers_owned
  FROM pg_proc WHERE pronamespace = 'enspiral'::regnamespace AND prosecdef;
SELECT p.oid::regprocedure AS invoker_function_not_superuser FROM pg_proc p
 WHERE p.pronamespace = 'enspiral'::regnamespace AND NOT p.prosecdef
   AND NOT (SELECT rolsuper FROM pg_roles WHERE oid = p.proowner);
SELECT c.oid::regclass AS relation_not_owned FROM pg_class c
 WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND pg_get_userbyid(c.relowner) <> 'regress_enspiral_dbo';
SELECT t.oid::regtype AS type_not_superuser FROM pg_type t
 WHERE t.typnamespace = 'enspiral'::regnamespace AND t.typrelid = 0 AND t.typcategory <> 'A'
   AND NOT (SELECT rolsuper FROM pg_roles WHERE oid = t.typowner);
SELECT o.oid::regoperator AS operator_not_superuser FROM pg_operator o
 WHERE (o.oprleft IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype))
   AND NOT (SELECT rolsuper FROM pg_roles WHERE oid = o.oprowner);
SELECT c.opcname AS opclass_not_superuser FROM pg_opclass c
 WHERE c.opcnamespace = 'enspiral'::regnamespace
   AND NOT (SELECT rolsuper FROM pg_roles WHERE oid = c.opcowner);
SELECT (SELECT rolsuper FROM pg_roles WHERE oid = nspowner) AS schema_owner_is_superuser
  FROM pg_namespace WHERE nspname = 'enspiral';

-- the installing role administers it: the API works, it grants an application
SET ROLE regress_enspiral_dbo;
SELECT enspiral.create_group('Trusted co-op') AS g \gset
SELECT enspiral.add_member(:g, 'ana') IS NOT NULL AS added;
SELECT count(*) > 0 AS granted FROM enspiral.grant_application('regress_enspiral_app2');
SET ROLE regress_enspiral_app2;
SELECT enspiral.add_member(:g, 'ben') IS NOT NULL AS app_added;
SELECT enspiral.grant_application('regress_enspiral_app2');
SET ROLE regress_enspiral_dbo;
-- it can remove it again (the schema stays, as after any DROP EXTENSION)
DROP EXTENSION enspiral;
RESET ROLE;
DROP SCHEMA enspiral;

-- a schema "enspiral" made beforehand by another role is refused
SET ROLE regress_enspiral_squatter;
CREATE SCHEMA enspiral;
SET ROLE regress_enspiral_dbo;
CREATE EXTENSION enspiral;
RESET ROLE;
DROP SCHEMA enspiral;

-- so is a schema that holds planted objects
CREATE SCHEMA enspiral;
GRANT CREATE ON SCHEMA enspiral TO regress_enspiral_squatter;
SET ROLE regress_enspiral_squatter;
CREATE FUNCTION enspiral.normalize_group_settings(settings json) RETURNS jsonb
    LANGUAGE sql AS 'SELECT settings::jsonb';
RESET ROLE;
CREATE EXTENSION enspiral;
SET client_min_messages = warning;
DROP SCHEMA enspiral CASCADE;

-- back to the ordinary superuser install for the files that follow
CREATE EXTENSION enspiral;
SELECT pg_get_userbyid(extowner) = current_user AS superuser_owns FROM pg_extension WHERE extname = 'enspiral';
DROP EXTENSION enspiral;
SELECT format('REVOKE CREATE ON DATABASE %I FROM regress_enspiral_dbo, regress_enspiral_squatter',
              current_database()) \gexec
DROP OWNED BY regress_enspiral_dbo, regress_enspiral_squatter, regress_enspiral_app2;
DROP ROLE regress_enspiral_dbo, regress_enspiral_squatter, regress_enspiral_app2;
