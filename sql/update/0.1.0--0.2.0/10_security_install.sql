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
CREATE FUNCTION enspiral.secure_installation() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ext        oid;
    extowner   oid;
    owner_name name;
    stray      text;
    obj        record;
    nsp        record;
    grantee    oid;
    public_ok  constant text[] := ARRAY[
        -- versions
        'library_version', 'version',
        -- lifecycle rules on values
        'can_transition', 'check_transition', 'next_states', 'effective_proposal_state',
        -- generic guards that users attach to their own tables
        'guard_lifecycle', 'guard_deadline', 'guard_append_only',
        'adopt_lifecycle', 'adopt_append_only', 'adoption_table', 'adoption_column_type',
        -- allocation and counting math
        'apportion', 'quadratic_match', 'quadratic_vote_cost', 'quadratic_vote_cost_agg',
        'instant_runoff', 'instant_runoff_rounds',
        'consent_counts', 'consent_counts_accum', 'consent_counts_combine',
        -- settings and ballot validation, catalyst date math
        'normalize_group_settings', 'normalize_proposal_settings', 'normalize_round_settings',
        'check_ballot',
        'check_budget_ballot', 'budget_outcome', 'budget_selection', 'budget_random_pick',
        'budget_vote_allowed',
        'catalyst_term_end', 'catalyst_months_begun',
        -- what grant_application would grant; the table check of trigger functions
        'application_privileges', 'require_trigger_table'];
BEGIN
    SELECT e.oid, e.extowner INTO ext, extowner
      FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.name;
    IF ext IS NULL OR NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                             WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
        RAISE EXCEPTION 'only the install and update scripts of enspiral run secure_installation()'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    owner_name := pg_catalog.pg_get_userbyid(extowner);

    -- 0. a schema made beforehand by another role is refused
    SELECT n.nspowner, r.rolsuper INTO nsp
      FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
     WHERE n.nspname OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.name;
    IF nsp.nspowner OPERATOR(pg_catalog.<>) extowner AND NOT nsp.rolsuper THEN
        RAISE EXCEPTION 'schema enspiral is owned by role %, not by the installing role or a superuser',
            pg_catalog.pg_get_userbyid(nsp.nspowner)
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Drop or rename the existing schema "enspiral" before CREATE EXTENSION.';
    END IF;

    -- 1. nothing but the extension in the schema
    SELECT pg_catalog.string_agg(o.what, ', ' ORDER BY o.what) INTO stray FROM (
        SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text AS what, 'pg_catalog.pg_proc'::pg_catalog.regclass AS cls, p.oid
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.regnamespace::pg_catalog.oid
        UNION ALL
        SELECT o.oid::pg_catalog.regoperator::pg_catalog.text, 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid
          FROM pg_catalog.pg_operator o
         WHERE o.oprnamespace OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.regnamespace::pg_catalog.oid
        UNION ALL
        SELECT c.oid::pg_catalog.regclass::pg_catalog.text, 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.regnamespace::pg_catalog.oid
           AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'v', 'm', 'f', 'p']::"char"[])
        UNION ALL
        SELECT t.oid::pg_catalog.regtype::pg_catalog.text, 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid
          FROM pg_catalog.pg_type t
         WHERE t.typnamespace OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.regnamespace::pg_catalog.oid
           AND t.typrelid OPERATOR(pg_catalog.=) 0::pg_catalog.oid
           AND t.typcategory OPERATOR(pg_catalog.<>) 'A'::"char"
    ) o
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                        WHERE d.classid OPERATOR(pg_catalog.=) o.cls::pg_catalog.oid
                          AND d.objid OPERATOR(pg_catalog.=) o.oid
                          AND d.refobjid OPERATOR(pg_catalog.=) ext
                          AND d.deptype OPERATOR(pg_catalog.=) 'e'::"char");
    IF stray IS NOT NULL THEN
        RAISE EXCEPTION 'schema enspiral holds objects that are not part of the extension: %', stray
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Install into a fresh schema.';
    END IF;

    -- 2. owners: the schema and implicitly run code to the script's role;
    -- nobody else creates in the schema (CREATE granted before included)
    EXECUTE 'ALTER SCHEMA enspiral OWNER TO CURRENT_USER';
    FOR grantee IN
        SELECT DISTINCT a.grantee
          FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
         WHERE n.nspname OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.name
           AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA enspiral FROM %s',
                                  CASE WHEN grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'
                                       ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(grantee)) END);
    END LOOP;
    EXECUTE 'GRANT USAGE ON SCHEMA enspiral TO PUBLIC';
    FOR obj IN
        SELECT pg_catalog.format('ALTER %s %s OWNER TO %I', pg_catalog.upper(o.type), o.identity,
                                 CASE WHEN o.type OPERATOR(pg_catalog.=) ANY (ARRAY['table', 'view', 'sequence',
                                                                                  'materialized view', 'foreign table'])
                                        OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                                                    WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid
                                                      AND p.oid OPERATOR(pg_catalog.=) d.objid AND p.prosecdef)
                                      THEN owner_name ELSE CURRENT_USER END) AS cmd
          FROM pg_catalog.pg_depend d,
               pg_catalog.pg_identify_object(d.classid, d.objid, 0) o
         WHERE d.refobjid OPERATOR(pg_catalog.=) ext AND d.deptype OPERATOR(pg_catalog.=) 'e'::"char"
           AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass::pg_catalog.oid
           AND o.type OPERATOR(pg_catalog.=) ANY (ARRAY['function', 'procedure', 'aggregate', 'type', 'domain',
                                                        'operator', 'operator class', 'operator family',
                                                        'table', 'view', 'sequence', 'materialized view',
                                                        'foreign table'])
           -- sequences of identity and serial columns follow their table
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend s
                            WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
                              AND s.classid OPERATOR(pg_catalog.=) d.classid
                              AND s.objid OPERATOR(pg_catalog.=) d.objid
                              AND s.deptype OPERATOR(pg_catalog.=) ANY (ARRAY['a', 'i']::"char"[])
                              AND s.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid)
    LOOP
        EXECUTE obj.cmd;   -- a no-op when the owner is already right
    END LOOP;

    -- 3. who executes what
    FOR obj IN
        SELECT p.oid::pg_catalog.regprocedure AS fn, p.prosecdef,
               p.prorettype OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.trigger'::pg_catalog.regtype::pg_catalog.oid,
                                                            'pg_catalog.event_trigger'::pg_catalog.regtype::pg_catalog.oid]) AS is_trigger,
               p.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY (public_ok)
               OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t
                           WHERE p.oid OPERATOR(pg_catalog.=) ANY (ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend,
                                                                           t.typmodin, t.typmodout, t.typanalyze]::pg_catalog.oid[]))
               OR EXISTS (SELECT 1 FROM pg_catalog.pg_operator o WHERE o.oprcode OPERATOR(pg_catalog.=) p.oid)
               OR EXISTS (SELECT 1 FROM pg_catalog.pg_amproc a WHERE a.amproc OPERATOR(pg_catalog.=) p.oid)
               OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c WHERE c.castfunc OPERATOR(pg_catalog.=) p.oid) AS public_ok
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
         WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid
           AND d.refobjid OPERATOR(pg_catalog.=) ext AND d.deptype OPERATOR(pg_catalog.=) 'e'::"char"
    LOOP
        IF obj.public_ok THEN
            EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO PUBLIC', obj.fn);
        ELSE
            EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', obj.fn);
            -- the owner's definer API calls the internal helpers
            IF NOT obj.prosecdef AND NOT obj.is_trigger
               AND obj.fn::pg_catalog.text OPERATOR(pg_catalog.<>) 'enspiral.secure_installation()' THEN
                EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %I', obj.fn, owner_name);
            END IF;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION enspiral.secure_installation() IS
    'Install and update scripts only: refuses objects planted in schema enspiral, gives the schema and all implicitly run code to the role running the script (the tables, views and SECURITY DEFINER API to the extension owner) and revokes EXECUTE from PUBLIC on everything but the types'' support, operators and the pure documented functions';

-- require_trigger_table(): the check every PL/pgSQL trigger function of
-- enspiral's own tables makes first (relcheck.c makes it for the C ones):
-- attached to another table, it would act on rows it was not written for
CREATE FUNCTION enspiral.require_trigger_table(fired_on oid, trigger_name name, fname text,
                                               expected regclass)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF fired_on IS DISTINCT FROM expected::pg_catalog.oid THEN
        RAISE EXCEPTION 'trigger function enspiral.%() may only fire on its own enspiral table', fname
            USING ERRCODE = 'trigger_protocol_violated',
                  DETAIL = pg_catalog.format('Trigger "%s" fired it on table %s; it guards %s.',
                                             trigger_name, fired_on::pg_catalog.regclass, expected),
                  HINT = 'Drop the trigger.  Internal trigger functions cannot be attached to other tables.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_trigger_table(oid, name, text, regclass) IS
    'Raises 39P01 unless a trigger fired on the expected enspiral table; the first statement of every PL/pgSQL trigger function of the extension''s tables';

-- the PL/pgSQL trigger functions of the extension's tables check their table
CREATE OR REPLACE FUNCTION enspiral.memberships_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'memberships_guard', 'enspiral.memberships');
    IF TG_OP = 'INSERT' THEN
        -- direct inserts (backfills) may leave the period number to us
        IF NEW.period IS NULL THEN
            SELECT coalesce(max(ms.period), 0) + 1 INTO NEW.period
              FROM enspiral.memberships ms
             WHERE ms.group_id = NEW.group_id AND ms.member_id = NEW.member_id;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'membership history of member % in group % cannot be deleted',
            OLD.member_id, OLD.group_id
            USING ERRCODE = 'NS007', HINT = 'Use enspiral.remove_member() to end a membership.';
    END IF;
    IF OLD.left_at IS NOT NULL
       OR NEW.group_id <> OLD.group_id OR NEW.member_id <> OLD.member_id
       OR NEW.period <> OLD.period OR NEW.joined_at <> OLD.joined_at THEN
        RAISE EXCEPTION 'membership period of member % in group % can only be closed, once',
            OLD.member_id, OLD.group_id
            USING ERRCODE = 'NS007', HINT = 'Use enspiral.remove_member() and enspiral.add_member().';
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION enspiral.outcomes_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'outcomes_guard', 'enspiral.outcomes');
    RAISE EXCEPTION 'the recorded outcome of proposal % cannot be %d', OLD.proposal_id, lower(TG_OP)
        USING ERRCODE = 'NS011',
              HINT = 'Outcomes are recorded once; enspiral.verify_outcome() recomputes them.';
END
$$;
CREATE OR REPLACE FUNCTION enspiral.rounds_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'rounds_guard', 'enspiral.rounds');
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'rounds cannot be deleted' USING ERRCODE = 'NS011';
    END IF;
    IF (NEW.group_id, NEW.round_id, NEW.name, NEW.pool, NEW.opens_at, NEW.closes_at,
        NEW.settings, NEW.created_at)
       IS DISTINCT FROM
       (OLD.group_id, OLD.round_id, OLD.name, OLD.pool, OLD.opens_at, OLD.closes_at,
        OLD.settings, OLD.created_at)
       OR (OLD.closed_at IS NOT NULL AND NEW.closed_at IS DISTINCT FROM OLD.closed_at)
       OR (OLD.matched_at IS NOT NULL
           AND (NEW.matched_at, NEW.matching_pool) IS DISTINCT FROM (OLD.matched_at, OLD.matching_pool)) THEN
        RAISE EXCEPTION 'round % can only be closed once and matched once', OLD.round_id
            USING ERRCODE = 'NS007',
                  HINT = 'Use enspiral.close_round() and enspiral.match_round().';
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION enspiral.catalyst_terms_no_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'catalyst_terms_no_truncate', 'enspiral.catalyst_terms');
    RAISE EXCEPTION 'catalyst terms cannot be truncated'
        USING ERRCODE = 'NS007',
              HINT = 'End terms with enspiral.end_catalyst_term(); cancel unbegun ones with enspiral.cancel_catalyst_term().';
END
$$;

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
CREATE OR REPLACE FUNCTION enspiral.application_privileges()
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

-- the schema belongs to a superuser now: USAGE, which PUBLIC has, is not granted again
-- grant_application and revoke_application differ only in the verb; one
-- function does the checks and the statements for both.
CREATE OR REPLACE FUNCTION enspiral.apply_application_privileges(role regrole, do_grant boolean)
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
