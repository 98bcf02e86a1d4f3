-- enspiral install script, part 00: version, groups and members.
-- The parts in sql/install/ are concatenated in name order into
-- sql/enspiral--<version>.sql by the Makefile.
--
-- Conventions for every part:
--  * every object is schema-qualified; functions pin
--    SET search_path = pg_catalog, pg_temp;
--  * API functions are SECURITY DEFINER: applications get EXECUTE and no
--    write privilege on the tables; triggers enforce the rules for anyone who
--    writes the tables directly (the owner or a superuser);
--  * every table leads with group_id in its primary key;
--  * user data tables are registered with pg_extension_config_dump;
--  * every object has a COMMENT.

\echo Use "CREATE EXTENSION enspiral" to load this file. \quit

------------------------------------------------------------------------------
-- Name resolution and the schema.  CREATE EXTENSION runs this script with
-- search_path = enspiral, public (btree_gist's schema): an exact-match
-- operator or function planted in public, e.g. public.=(oid, regnamespace),
-- would beat pg_catalog's and run as the (bootstrap) superuser, and would be
-- stored in any default, CHECK, index expression or view parsed here.  From
-- here on every name the script does not qualify resolves in pg_catalog
-- only (functions and operators are never looked up in pg_temp); the
-- setting is local to the script (is_local), CREATE EXTENSION restores the
-- caller's search_path afterwards.
------------------------------------------------------------------------------
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
        'application_privileges', 'require_trigger_table',
        -- on Citus, run on each node as the session's user before commit and
        -- for a client's SET CONSTRAINTS (src/core_commit_rules.c): they fire
        -- or set the caller's own deferred rules
        'check_commit_rules', 'set_commit_rules'];
BEGIN
    SELECT e.oid, e.extowner INTO ext, extowner
      FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.name;
    IF ext IS NULL OR NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                             WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
        RAISE EXCEPTION 'permission denied to run secure_installation()'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only the install and update scripts of enspiral run it.';
    END IF;
    owner_name := pg_catalog.pg_get_userbyid(extowner);

    -- 0. a schema made beforehand by another role is refused
    SELECT n.nspowner, r.rolsuper INTO nsp
      FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
     WHERE n.nspname OPERATOR(pg_catalog.=) 'enspiral'::pg_catalog.name;
    IF nsp.nspowner OPERATOR(pg_catalog.<>) extowner AND NOT nsp.rolsuper THEN
        RAISE EXCEPTION 'schema "enspiral" is owned by another role'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Role %s owns it, not the installing role or a superuser.',
                                             pg_catalog.pg_get_userbyid(nsp.nspowner)),
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
        RAISE EXCEPTION 'schema "enspiral" holds objects that are not part of the extension'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('The objects are: %s.', stray),
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

-- The schema must be the extension's alone, and belong to the role running
-- this script before anything is made in it.
SELECT enspiral.secure_installation();

-- is_shard_of(): on Citus (part 80_citus, doc/scaling.md) triggers fire on
-- the shards of a table; require_trigger_table accepts those
CREATE FUNCTION enspiral.is_shard_of(relation oid, of regclass)
    RETURNS boolean
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_is_shard_of_sql';
COMMENT ON FUNCTION enspiral.is_shard_of(oid, regclass) IS
    'True when the relation is a Citus shard of the table: same schema, named <table>_<shard id>, listed for that table in pg_dist_shard';

-- require_trigger_table(): the check every PL/pgSQL trigger function of
-- enspiral's own tables makes first (core_relcheck.c makes it for the C ones):
-- attached to another table, it would act on rows it was not written for
CREATE FUNCTION enspiral.require_trigger_table(fired_on oid, trigger_name name, fname text,
                                               expected regclass)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF fired_on IS DISTINCT FROM expected::pg_catalog.oid
       AND NOT enspiral.is_shard_of(fired_on, expected) THEN
        RAISE EXCEPTION 'trigger function fired on a table it does not guard'
            USING ERRCODE = 'trigger_protocol_violated',
                  DETAIL = pg_catalog.format('Trigger "%s" fired enspiral.%s() on table %s; the function guards %s.',
                                             trigger_name, fname, fired_on::pg_catalog.regclass, expected),
                  HINT = 'Drop the trigger.  Internal trigger functions cannot be attached to other tables.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_trigger_table(oid, name, text, regclass) IS
    'Raises 39P01 unless a trigger fired on the expected enspiral table; the first statement of every PL/pgSQL trigger function of the extension''s tables';

------------------------------------------------------------------------------
-- Version
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.library_version() RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_library_version';
COMMENT ON FUNCTION enspiral.library_version() IS
    'Version compiled into the loaded enspiral library';

CREATE FUNCTION enspiral.version() RETURNS text
    LANGUAGE c STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_version';
COMMENT ON FUNCTION enspiral.version() IS
    'Version of enspiral; errors (NS001) when the SQL objects and the loaded library disagree';

------------------------------------------------------------------------------
-- Groups
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.normalize_group_settings(settings jsonb) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_normalize_group_settings';
COMMENT ON FUNCTION enspiral.normalize_group_settings(jsonb) IS
    'Validates group settings (unknown keys, types and ranges are errors naming the key) and returns them with every default filled in';

-- @triggers (tools/triggers.pl): groups_events (70_events)
CREATE TABLE enspiral.groups (
    group_id    bigint GENERATED ALWAYS AS IDENTITY,
    name        text NOT NULL CHECK (btrim(name) <> ''),
    settings    jsonb NOT NULL DEFAULT '{}'
                CHECK (settings = enspiral.normalize_group_settings(settings)),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id)
);
COMMENT ON TABLE enspiral.groups IS
    'Self-managed groups; settings hold the rule parameters of the group (normalized, defaults filled in)';
COMMENT ON COLUMN enspiral.groups.settings IS
    'Rule parameters: min_catalysts, catalyst_term_months, catalyst_max_months, catalyst_min_days_per_week';

CREATE FUNCTION enspiral.create_group(name text, settings jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint;
BEGIN
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'group name must not be empty'
            USING ERRCODE = 'NS401', COLUMN = 'name';
    END IF;
    IF settings IS NULL THEN
        RAISE EXCEPTION 'group settings must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', COLUMN = 'settings',
                  HINT = 'Pass ''{}'' for the defaults.';
    END IF;
    INSERT INTO enspiral.groups (name, settings)
    VALUES (create_group.name, enspiral.normalize_group_settings(create_group.settings))
    RETURNING group_id INTO gid;
    RETURN gid;
END
$$;
COMMENT ON FUNCTION enspiral.create_group(text, jsonb) IS
    'Creates a group and returns its id; settings are validated and completed with defaults';

CREATE FUNCTION enspiral.update_group_settings(group_id bigint, settings jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    merged jsonb;
BEGIN
    IF settings IS NULL THEN
        RAISE EXCEPTION 'group settings must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', COLUMN = 'settings';
    END IF;
    SELECT enspiral.normalize_group_settings(g.settings || update_group_settings.settings)
      INTO merged
      FROM enspiral.groups g
     WHERE g.group_id = update_group_settings.group_id
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    UPDATE enspiral.groups g SET settings = merged
     WHERE g.group_id = update_group_settings.group_id;
    RETURN merged;
END
$$;
COMMENT ON FUNCTION enspiral.update_group_settings(bigint, jsonb) IS
    'Merges the given keys into the group settings (validated) and returns the new settings; rules apply to changes made after it';

CREATE FUNCTION enspiral.group_settings(group_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s jsonb;
BEGIN
    SELECT g.settings INTO s FROM enspiral.groups g
     WHERE g.group_id = group_settings.group_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION enspiral.group_settings(bigint) IS
    'The effective settings of a group (every key, defaults included)';

CREATE FUNCTION enspiral.raise_not_found(group_id bigint, object text, id bigint DEFAULT NULL)
    RETURNS void
    LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'enspiral_raise_not_found';
COMMENT ON FUNCTION enspiral.raise_not_found(bigint, text, bigint) IS
    'Internal: raises the one "does not exist" error of an object (group NS002, member NS003, proposal NS101, round NS201, bucket NS202), the same words as from C (src/core_errors.c)';

CREATE FUNCTION enspiral.require_group(group_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = require_group.group_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_group(bigint) IS
    'Internal: raises NS002 unless the group exists';

CREATE FUNCTION enspiral.require_member(group_id bigint, member_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM enspiral.members m
     WHERE m.group_id = require_member.group_id AND m.member_id = require_member.member_id;
    IF NOT FOUND THEN
        PERFORM enspiral.require_group(group_id);
        PERFORM enspiral.raise_not_found(group_id, 'member', member_id);
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_member(bigint, bigint) IS
    'Internal: raises NS002 unless the group exists, NS003 unless the member belongs to it (now or in the past)';
REVOKE ALL ON FUNCTION enspiral.raise_not_found(bigint, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_group(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_member(bigint, bigint) FROM PUBLIC;

------------------------------------------------------------------------------
-- Members and membership history
------------------------------------------------------------------------------

-- @triggers (tools/triggers.pl): members_append_only (10_lifecycle),
--   members_no_truncate (10_lifecycle)
CREATE TABLE enspiral.members (
    group_id    bigint NOT NULL REFERENCES enspiral.groups,
    member_id   bigint GENERATED ALWAYS AS IDENTITY,
    member_key  text NOT NULL CHECK (member_key <> ''),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, member_id),
    UNIQUE (group_id, member_key)
);
COMMENT ON TABLE enspiral.members IS
    'One identity per person and group (member_key is the application''s own id for the person); rows are never updated or deleted';
-- part 80_citus: a plain index instead of UNIQUE (id), so the table can be
-- distributed by group_id (doc/scaling.md)
CREATE INDEX members_member_id_idx ON enspiral.members (member_id);
COMMENT ON INDEX enspiral.members_member_id_idx IS
    'Lookups by member_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';

-- @triggers (tools/triggers.pl): memberships_guard (00_base),
--   memberships_outcome_guard (30_decisions),
--   catalyst_member_left (50_catalyst),
--   catalyst_member_rejoined (50_catalyst), memberships_events (70_events)
CREATE TABLE enspiral.memberships (
    group_id    bigint NOT NULL,
    member_id   bigint NOT NULL,
    period      integer NOT NULL CHECK (period > 0),
    joined_at   timestamptz NOT NULL,
    left_at     timestamptz,
    PRIMARY KEY (group_id, member_id, period),
    FOREIGN KEY (group_id, member_id) REFERENCES enspiral.members,
    CHECK (left_at IS NULL OR left_at >= joined_at),
    EXCLUDE USING gist (group_id WITH OPERATOR(pg_catalog.=),
                        member_id WITH OPERATOR(pg_catalog.=),
                        pg_catalog.tstzrange(joined_at, left_at) WITH OPERATOR(pg_catalog.&&))
);
COMMENT ON TABLE enspiral.memberships IS
    'Membership history: one row per period [joined_at, left_at); periods of a member never overlap; rows are never deleted';
COMMENT ON COLUMN enspiral.memberships.period IS
    'Number of the period for this member: 1 for the first join, 2 after the first rejoin, ...';

CREATE UNIQUE INDEX memberships_current ON enspiral.memberships (group_id, member_id)
    WHERE left_at IS NULL;
COMMENT ON INDEX enspiral.memberships_current IS
    'At most one open membership period per member';

CREATE VIEW enspiral.current_members AS
    SELECT m.group_id, m.member_id, m.member_key, ms.joined_at
      FROM enspiral.members m
      JOIN enspiral.memberships ms USING (group_id, member_id)
     WHERE ms.left_at IS NULL;
COMMENT ON VIEW enspiral.current_members IS
    'Members of each group now, with the start of their current period';

CREATE FUNCTION enspiral.add_member(group_id bigint, member_key text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mid bigint; next_period integer; joins timestamptz;  -- one line: error CONTEXT line numbers as in 0.1.0
BEGIN
    IF group_id IS NULL THEN
        RAISE EXCEPTION 'group_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF member_key IS NULL OR member_key = '' THEN
        RAISE EXCEPTION 'member_key must not be NULL or empty'
            USING ERRCODE = 'NS401', COLUMN = 'member_key';
    END IF;
    -- the group row lock orders concurrent joins of the same key
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = add_member.group_id FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    INSERT INTO enspiral.members AS m (group_id, member_key)
    VALUES (add_member.group_id, add_member.member_key)
    ON CONFLICT ON CONSTRAINT members_group_id_member_key_key DO NOTHING
    RETURNING m.member_id INTO mid;
    IF mid IS NULL THEN
        -- a known person: rejoin with the same identity
        SELECT m.member_id INTO mid FROM enspiral.members m
         WHERE m.group_id = add_member.group_id AND m.member_key = add_member.member_key
           FOR UPDATE;
        IF EXISTS (SELECT 1 FROM enspiral.memberships ms
                    WHERE ms.group_id = add_member.group_id AND ms.member_id = mid
                      AND ms.left_at IS NULL) THEN
            RAISE EXCEPTION 'member is already a member of the group'
                USING ERRCODE = 'NS005',
                      DETAIL = pg_catalog.format('Member "%s" (id %s) is a current member of group %s.',
                                                 member_key, mid, group_id);
        END IF;
    END IF;
    -- the member row is locked (new row, or FOR UPDATE above): period is safe
    -- A concurrent removal that started after this transaction may have
    -- closed the last period later than our now(): never start before it.
    -- INSERT ... VALUES, not INSERT ... SELECT: run on a Citus coordinator
    -- (a transaction block), Citus sends the rows of an INSERT ... SELECT as
    -- a COPY, which the shard's triggers take for the owner's restore (no
    -- event, doc/scaling.md)
    -- (now() of the node running this function, not of the node holding
    -- the group's shard: on Citus a call that is not delegated checks
    -- membership against the coordinator's now())
    SELECT coalesce(max(ms.period), 0) + 1, max(ms.left_at)
      INTO next_period, joins
      FROM enspiral.memberships ms
     WHERE ms.group_id = add_member.group_id AND ms.member_id = mid;
    joins := greatest(pg_catalog.now(), joins);
    INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
    VALUES (add_member.group_id, mid, next_period, joins);
    RETURN mid;
END
$$;
COMMENT ON FUNCTION enspiral.add_member(bigint, text) IS
    'Adds a person (the application''s member_key) to a group and returns the member id; a person who left and rejoins keeps the same id';

CREATE FUNCTION enspiral.remove_member(group_id bigint, member_id bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF group_id IS NULL OR member_id IS NULL THEN
        RAISE EXCEPTION 'group_id and member_id must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = remove_member.group_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    PERFORM 1 FROM enspiral.members m
     WHERE m.group_id = remove_member.group_id AND m.member_id = remove_member.member_id
       FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'member', member_id);
    END IF;
    -- a rejoin that started after this transaction may have stamped a later
    -- joined_at than our now(): never end a period before it began
    UPDATE enspiral.memberships ms SET left_at = greatest(pg_catalog.now(), ms.joined_at)
     WHERE ms.group_id = remove_member.group_id AND ms.member_id = remove_member.member_id
       AND ms.left_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member is not a current member of the group'
            USING ERRCODE = 'NS004',
                  DETAIL = pg_catalog.format('Member %s has already left group %s.', member_id, group_id);
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.remove_member(bigint, bigint) IS
    'Ends the current membership period of a member; history is kept and the member may rejoin with add_member';

CREATE FUNCTION enspiral.member_id(group_id bigint, member_key text) RETURNS bigint
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mid bigint;
BEGIN
    SELECT m.member_id INTO mid FROM enspiral.members m
     WHERE m.group_id = member_id.group_id AND m.member_key = member_id.member_key;
    IF NOT FOUND THEN
        PERFORM enspiral.require_group(group_id);
    END IF;
    RETURN mid;
END
$$;
COMMENT ON FUNCTION enspiral.member_id(bigint, text) IS
    'The member id of an application member_key in a group, or NULL when the key is unknown; NS002 for an unknown group';

CREATE FUNCTION enspiral.is_member(group_id bigint, member_id bigint,
                                   at timestamptz DEFAULT pg_catalog.now())
    RETURNS boolean
    LANGUAGE c STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_is_member';
COMMENT ON FUNCTION enspiral.is_member(bigint, bigint, timestamptz) IS
    'Whether the member belonged to the group at the given time (an index lookup on the membership history)';

-- Direct writes: members are immutable; membership periods can only be
-- closed, once; nothing is deleted.
CREATE FUNCTION enspiral.memberships_guard() RETURNS trigger
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
        RAISE EXCEPTION 'membership history cannot be deleted'
            USING ERRCODE = 'NS007',
                  DETAIL = pg_catalog.format('The row belongs to member %s of group %s.',
                                             OLD.member_id, OLD.group_id),
                  HINT = 'Use enspiral.remove_member() to end a membership.';
    END IF;
    IF OLD.left_at IS NOT NULL
       OR NEW.group_id <> OLD.group_id OR NEW.member_id <> OLD.member_id
       OR NEW.period <> OLD.period OR NEW.joined_at <> OLD.joined_at THEN
        RAISE EXCEPTION 'membership period can only be closed, once'
            USING ERRCODE = 'NS007',
                  DETAIL = pg_catalog.format('The period belongs to member %s of group %s.',
                                             OLD.member_id, OLD.group_id),
                  HINT = 'Use enspiral.remove_member() and enspiral.add_member().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION enspiral.memberships_guard() IS
    'Trigger: numbers new periods when a direct insert leaves period NULL; periods may only be closed (left_at set once) and are never deleted';

CREATE TRIGGER memberships_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.memberships
    FOR EACH ROW EXECUTE FUNCTION enspiral.memberships_guard();
COMMENT ON TRIGGER memberships_guard ON enspiral.memberships IS
    'Numbers directly inserted periods; periods may only be closed, once, and are never deleted';

SELECT pg_catalog.pg_extension_config_dump('enspiral.groups', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.members', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.memberships', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.groups_group_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.members_member_id_seq', '');
COMMENT ON SEQUENCE enspiral.groups_group_id_seq IS 'Identity of enspiral.groups.group_id';
COMMENT ON SEQUENCE enspiral.members_member_id_seq IS 'Identity of enspiral.members.member_id';
