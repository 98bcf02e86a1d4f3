------------------------------------------------------------------------------
-- Part 90: ownership and privileges.  Runs last, over every object the
-- parts before it created.  doc/security.md explains the model:
--  * the role that installs the extension (a superuser, or the database
--    owner when the extension is installed as trusted) owns the tables, the
--    views and the SECURITY DEFINER API and administers the rules; the
--    schema and every object whose code other roles run implicitly (types
--    and their support, operators, operator classes, casts, aggregates,
--    trigger functions, internal helpers) belong to the role that ran the
--    script (the bootstrap superuser in a trusted install), so only a
--    superuser can change that code (doc/security-hardening.md);
--  * PUBLIC may use the schema's types and pure functions (lifecycle types,
--    allocation math) but cannot execute the governed API (every SECURITY
--    DEFINER function) nor touch the tables;
--  * enspiral.grant_application(role) gives an application role exactly
--    the API: USAGE on the schema, EXECUTE on the SECURITY DEFINER functions
--    and SELECT on the views that show no hidden data.
------------------------------------------------------------------------------

-- Nobody but the owner and the roles granted below runs the governed API or
-- touches the tables.  Types and the functions that run with the caller's
-- own rights (type support, lifecycle checks, allocation math, trigger
-- functions that applications attach to their own tables) stay usable by
-- everybody: they can do nothing the caller could not do anyway.
GRANT USAGE ON SCHEMA enspiral TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA enspiral FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA enspiral FROM PUBLIC;
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
       -- trigger functions run from their triggers, never called
       AND p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype
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
        RAISE EXCEPTION 'permission denied to change the privileges of extension "enspiral"'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Only its owner, role %s, may change them.',
                                             pg_catalog.pg_get_userbyid(owner));
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
        RAISE EXCEPTION 'role does not exist'
            USING ERRCODE = 'undefined_object',
                  DETAIL = pg_catalog.format('No role has OID %s.', role::oid);
    END IF;
    PERFORM enspiral.require_admin();
    -- schema USAGE is not taken back: PUBLIC has it anyway
    FOR p IN SELECT * FROM enspiral.application_privileges()
              WHERE do_grant OR object_type <> 'SCHEMA' LOOP
        IF do_grant AND p.object_type = 'SCHEMA'
           AND pg_catalog.has_schema_privilege(role, p.object, p.privilege) THEN
            NULL;   -- PUBLIC has it; only the schema's owner (a superuser) could grant it
        ELSIF do_grant THEN
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

-- The ownership and privilege rules, now over every object (see
-- enspiral.secure_installation() in part 00).
SELECT enspiral.secure_installation();
