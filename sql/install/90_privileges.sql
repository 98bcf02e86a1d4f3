------------------------------------------------------------------------------
-- Part 90: ownership and privileges.  Runs last, over every object the
-- parts before it created.  doc/security.md explains the model:
--  * the role that installs the extension (a superuser, or the database
--    owner when the extension is installed as trusted) owns every object and
--    administers the rules;
--  * PUBLIC may use the schema's types and pure functions (lifecycle types,
--    allocation math) but cannot execute the governed API (every SECURITY
--    DEFINER function) nor touch the tables;
--  * enspiral.grant_application(role) gives an application role exactly
--    the API: USAGE on the schema, EXECUTE on the SECURITY DEFINER functions
--    and SELECT on the views that show no hidden data.
------------------------------------------------------------------------------

-- Refuse to install into a schema that somebody else controls: an object
-- planted in the schema by another role could capture a call made by the
-- extension's (definer) functions.  The schema must be owned by the
-- extension's owner or a superuser, and hold nothing but the extension.
DO $$
DECLARE
    ext      oid := (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'enspiral');
    extowner oid := (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'enspiral');
    nspowner oid := (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'enspiral');
    stray    text;
BEGIN
    IF nspowner <> extowner
       AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = nspowner) THEN
        RAISE EXCEPTION 'schema enspiral is owned by role %, not by the installing role or a superuser',
            pg_catalog.pg_get_userbyid(nspowner)
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Drop or rename the existing schema "enspiral" before CREATE EXTENSION.';
    END IF;
    SELECT pg_catalog.string_agg(o.what, ', ') INTO stray FROM (
        SELECT p.oid::pg_catalog.regprocedure::text AS what
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'enspiral'::pg_catalog.regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                              AND d.objid = p.oid AND d.refobjid = ext AND d.deptype = 'e')
        UNION ALL
        SELECT o.oid::pg_catalog.regoperator::text
          FROM pg_catalog.pg_operator o
         WHERE o.oprnamespace = 'enspiral'::pg_catalog.regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass
                              AND d.objid = o.oid AND d.refobjid = ext AND d.deptype = 'e')
        UNION ALL
        SELECT c.oid::pg_catalog.regclass::text
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'enspiral'::pg_catalog.regnamespace
           AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                              AND d.objid = c.oid AND d.refobjid = ext AND d.deptype = 'e')
        UNION ALL
        SELECT t.oid::pg_catalog.regtype::text
          FROM pg_catalog.pg_type t
         WHERE t.typnamespace = 'enspiral'::pg_catalog.regnamespace
           AND t.typrelid = 0 AND t.typcategory <> 'A'
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
                              AND d.objid = t.oid AND d.refobjid = ext AND d.deptype = 'e')
    ) o;
    IF stray IS NOT NULL THEN
        RAISE EXCEPTION 'schema enspiral holds objects that are not part of the extension: %', stray
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Install into a fresh schema.';
    END IF;
END
$$;

-- Nobody but the owner and the roles granted below runs the governed API or
-- touches the tables.  Types and the functions that run with the caller's
-- own rights (type support, lifecycle checks, allocation math, trigger
-- functions that applications attach to their own tables) stay usable by
-- everybody: they can do nothing the caller could not do anyway.
GRANT USAGE ON SCHEMA enspiral TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA enspiral FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA enspiral FROM PUBLIC;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'enspiral'::pg_catalog.regnamespace AND p.prosecdef LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', f);
    END LOOP;
END
$$;

-- application_privileges(): what grant_application gives, one row per grant
CREATE FUNCTION enspiral.application_privileges()
    RETURNS TABLE (privilege text, object_type text, object text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'USAGE', 'SCHEMA', 'enspiral'
    UNION ALL
    SELECT 'EXECUTE', 'ROUTINE', p.oid::pg_catalog.regprocedure::text
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'enspiral'::pg_catalog.regnamespace AND p.prosecdef
       AND p.proname NOT IN ('grant_application', 'revoke_application')
    UNION ALL
    -- views that show nothing an application may not see
    SELECT 'SELECT', 'TABLE', c.oid::pg_catalog.regclass::text
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'enspiral'::pg_catalog.regnamespace AND c.relkind = 'v'
       AND c.relname = ANY (ARRAY['current_members'])
     ORDER BY 1, 2, 3
$$;
COMMENT ON FUNCTION enspiral.application_privileges() IS
    'The privileges enspiral.grant_application() gives an application role: USAGE on the schema, EXECUTE on every SECURITY DEFINER API function, SELECT on the views without hidden data';

-- require_admin(): the caller administers the extension (owns it, or is a member of its owner)
CREATE FUNCTION enspiral.require_admin() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner oid := (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'enspiral');
BEGIN
    IF NOT pg_catalog.pg_has_role(SESSION_USER, owner, 'MEMBER')
       OR NOT pg_catalog.pg_has_role(CURRENT_USER, owner, 'MEMBER') THEN
        RAISE EXCEPTION 'only the owner of the extension enspiral (%) may change its privileges',
            pg_catalog.pg_get_userbyid(owner)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_admin() IS
    'Raises 42501 unless the caller (session and current user) is the owner of the extension or a member of that role';

-- grant_application and revoke_application differ only in the verb; one
-- function does the checks and the statements for both.
CREATE FUNCTION enspiral.apply_application_privileges(role regrole, do_grant boolean)
    RETURNS SETOF text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = role) THEN
        RAISE EXCEPTION 'role % does not exist', role::oid USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM enspiral.require_admin();
    -- schema USAGE is not taken back: PUBLIC has it anyway
    FOR p IN SELECT * FROM enspiral.application_privileges()
              WHERE do_grant OR object_type <> 'SCHEMA' LOOP
        IF do_grant THEN
            EXECUTE pg_catalog.format('GRANT %s ON %s %s TO %s', p.privilege, p.object_type,
                                      p.object, role);
        ELSE
            EXECUTE pg_catalog.format('REVOKE %s ON %s %s FROM %s', p.privilege, p.object_type,
                                      p.object, role);
        END IF;
        RETURN NEXT pg_catalog.format('%s ON %s %s', p.privilege, p.object_type, p.object);
    END LOOP;
END
$$;
COMMENT ON FUNCTION enspiral.apply_application_privileges(regrole, boolean) IS
    'Grants (do_grant) or revokes the application privileges of enspiral.application_privileges() for a role and lists them; only the extension owner may call it';

CREATE FUNCTION enspiral.grant_application(role regrole) RETURNS SETOF text
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT enspiral.apply_application_privileges($1, true) $$;
COMMENT ON FUNCTION enspiral.grant_application(regrole) IS
    'Gives an application role exactly what it needs to use enspiral (see enspiral.application_privileges()) and lists the grants; only the extension owner may call it';

CREATE FUNCTION enspiral.revoke_application(role regrole) RETURNS SETOF text
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT enspiral.apply_application_privileges($1, false) $$;
COMMENT ON FUNCTION enspiral.revoke_application(regrole) IS
    'Takes back from a role what enspiral.grant_application() gave (schema USAGE stays, as for PUBLIC); only the extension owner may call it';

REVOKE EXECUTE ON FUNCTION enspiral.apply_application_privileges(regrole, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.grant_application(regrole) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.revoke_application(regrole) FROM PUBLIC;

-- A trusted install runs this script as the bootstrap superuser, which would
-- own every object: SECURITY DEFINER functions would then run as a superuser
-- although a database owner installed them.  Hand every member object to
-- the role that installed the extension, so definer functions never have
-- more rights than that role.  (A superuser install changes nothing.)
DO $$
DECLARE
    ext   oid := (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'enspiral');
    owner name := (SELECT r.rolname FROM pg_catalog.pg_extension e
                     JOIN pg_catalog.pg_roles r ON r.oid = e.extowner WHERE e.extname = 'enspiral');
    obj   record;
BEGIN
    IF owner = CURRENT_USER THEN
        RETURN;
    END IF;
    FOR obj IN
        SELECT pg_catalog.format('ALTER ROUTINE %s OWNER TO %I', p.oid::pg_catalog.regprocedure, owner) AS cmd
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
        UNION ALL
        SELECT pg_catalog.format('ALTER %s %s OWNER TO %I',
                                 CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                                WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                                 c.oid::pg_catalog.regclass, owner)
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
           -- sequences of identity and serial columns follow their table
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend o
                            WHERE o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                              AND o.objid = c.oid AND o.deptype IN ('a', 'i')
                              AND o.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass)
        UNION ALL
        SELECT pg_catalog.format('ALTER TYPE %s OWNER TO %I', t.oid::pg_catalog.regtype, owner)
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_type t ON t.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
        UNION ALL
        SELECT pg_catalog.format('ALTER OPERATOR %s OWNER TO %I', o.oid::pg_catalog.regoperator, owner)
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_operator o ON o.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
        UNION ALL
        SELECT pg_catalog.format('ALTER OPERATOR FAMILY %I.%I USING %I OWNER TO %I',
                                 n.nspname, f.opfname, a.amname, owner)
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_opfamily f ON f.oid = d.objid
          JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace
          JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod
         WHERE d.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
        UNION ALL
        SELECT pg_catalog.format('ALTER OPERATOR CLASS %I.%I USING %I OWNER TO %I',
                                 n.nspname, c.opcname, a.amname, owner)
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_opclass c ON c.oid = d.objid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace
          JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod
         WHERE d.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
    LOOP
        EXECUTE obj.cmd;
    END LOOP;
END
$$;
