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

-- Security fix (patched in place after release, as PostgreSQL patched its
-- contrib scripts for CVE-2020-14350): CREATE EXTENSION runs this script
-- with search_path = enspiral, public, and an exact-match operator or
-- function planted in public (e.g. public.=(oid, regnamespace)) would beat
-- pg_catalog's and run as the bootstrap superuser.  Every name this script
-- does not qualify resolves in pg_catalog only; the setting is local to the
-- script.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);

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
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF settings IS NULL THEN
        RAISE EXCEPTION 'group settings must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
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
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT enspiral.normalize_group_settings(g.settings || update_group_settings.settings)
      INTO merged
      FROM enspiral.groups g
     WHERE g.group_id = update_group_settings.group_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
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
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION enspiral.group_settings(bigint) IS
    'The effective settings of a group (every key, defaults included)';

------------------------------------------------------------------------------
-- Members and membership history
------------------------------------------------------------------------------

CREATE TABLE enspiral.members (
    group_id    bigint NOT NULL REFERENCES enspiral.groups,
    member_id   bigint GENERATED ALWAYS AS IDENTITY,
    member_key  text NOT NULL CHECK (member_key <> ''),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, member_id),
    UNIQUE (group_id, member_key),
    UNIQUE (member_id)
);
COMMENT ON TABLE enspiral.members IS
    'One identity per person and group (member_key is the application''s own id for the person); rows are never updated or deleted';

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
    mid bigint;
BEGIN
    IF group_id IS NULL THEN
        RAISE EXCEPTION 'group_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF member_key IS NULL OR member_key = '' THEN
        RAISE EXCEPTION 'member_key must not be NULL or empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the group row lock orders concurrent joins of the same key
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = add_member.group_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
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
            RAISE EXCEPTION 'member "%" is already a member of group %', member_key, group_id
                USING ERRCODE = 'NS005',
                      DETAIL = format('The member id is %s.', mid);
        END IF;
    END IF;
    -- the member row is locked (new row, or FOR UPDATE above): period is safe
    -- A concurrent removal that started after this transaction may have
    -- closed the last period later than our now(): never start before it.
    INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
    SELECT add_member.group_id, mid, coalesce(max(ms.period), 0) + 1,
           greatest(pg_catalog.now(), max(ms.left_at))
      FROM enspiral.memberships ms
     WHERE ms.group_id = add_member.group_id AND ms.member_id = mid;
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
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    PERFORM 1 FROM enspiral.members m
     WHERE m.group_id = remove_member.group_id AND m.member_id = remove_member.member_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member % does not exist in group %', member_id, group_id
            USING ERRCODE = 'NS003';
    END IF;
    -- a rejoin that started after this transaction may have stamped a later
    -- joined_at than our now(): never end a period before it began
    UPDATE enspiral.memberships ms SET left_at = greatest(pg_catalog.now(), ms.joined_at)
     WHERE ms.group_id = remove_member.group_id AND ms.member_id = remove_member.member_id
       AND ms.left_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member % is not a current member of group %', member_id, group_id
            USING ERRCODE = 'NS004',
                  HINT = 'The member has already left.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.remove_member(bigint, bigint) IS
    'Ends the current membership period of a member; history is kept and the member may rejoin with add_member';

CREATE FUNCTION enspiral.member_id(group_id bigint, member_key text) RETURNS bigint
    LANGUAGE sql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.member_id FROM enspiral.members m
     WHERE m.group_id = $1 AND m.member_key = $2
$$;
COMMENT ON FUNCTION enspiral.member_id(bigint, text) IS
    'The member id of an application member_key in a group, or NULL when unknown';

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
-- enspiral install script, part 10: lifecycle types and guards.
--
-- enspiral.proposal_state and enspiral.bucket_state are C base types of one
-- byte (the position of the state in its lifecycle, which is also the sort
-- order).  The transition table of each lifecycle lives in src/lifecycle.c
-- and nowhere else: enspiral.can_transition(), enspiral.next_states(), the
-- guard trigger enspiral.guard_lifecycle() and the built-in tables all use it.
--
-- The comparison operators are created in pg_catalog (they are members of
-- the extension and dropped with it): operator lookup follows search_path,
-- and functions that pin search_path = pg_catalog, pg_temp, as well as
-- applications that do not put enspiral on their path, must still be able
-- to write "state = 'open'" and "state < 'closed'".  Everything else lives
-- in schema enspiral.

------------------------------------------------------------------------------
-- enspiral.proposal_state
------------------------------------------------------------------------------

CREATE TYPE enspiral.proposal_state;

CREATE FUNCTION enspiral.proposal_state_in(cstring) RETURNS enspiral.proposal_state
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state_in';
COMMENT ON FUNCTION enspiral.proposal_state_in(cstring) IS
    'Text input of enspiral.proposal_state: exactly one of draft, scheduled, open, closed, withdrawn (lower case, no spaces); anything else is an error (22P02)';

CREATE FUNCTION enspiral.proposal_state_out(enspiral.proposal_state) RETURNS cstring
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state_out';
COMMENT ON FUNCTION enspiral.proposal_state_out(enspiral.proposal_state) IS
    'Text output of enspiral.proposal_state: the state name';

CREATE FUNCTION enspiral.proposal_state_recv(internal) RETURNS enspiral.proposal_state
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state_recv';
COMMENT ON FUNCTION enspiral.proposal_state_recv(internal) IS
    'Binary input of enspiral.proposal_state: the state name as text (22P03 for anything else)';

CREATE FUNCTION enspiral.proposal_state_send(enspiral.proposal_state) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state_send';
COMMENT ON FUNCTION enspiral.proposal_state_send(enspiral.proposal_state) IS
    'Binary output of enspiral.proposal_state: the state name as text';

CREATE TYPE enspiral.proposal_state (
    INPUT = enspiral.proposal_state_in,
    OUTPUT = enspiral.proposal_state_out,
    RECEIVE = enspiral.proposal_state_recv,
    SEND = enspiral.proposal_state_send,
    INTERNALLENGTH = 1,
    PASSEDBYVALUE,
    ALIGNMENT = char,
    STORAGE = plain
);
COMMENT ON TYPE enspiral.proposal_state IS
    'Lifecycle state of a proposal: draft, scheduled, open, closed, withdrawn (one byte; sorts in lifecycle order)';

CREATE FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_eq';
COMMENT ON FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the = operator of enspiral.proposal_state (equal to)';

CREATE FUNCTION enspiral.proposal_state_ne(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_ne';
COMMENT ON FUNCTION enspiral.proposal_state_ne(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the <> operator of enspiral.proposal_state (not equal to)';

CREATE FUNCTION enspiral.proposal_state_lt(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_lt';
COMMENT ON FUNCTION enspiral.proposal_state_lt(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the < operator of enspiral.proposal_state (earlier in the lifecycle than)';

CREATE FUNCTION enspiral.proposal_state_le(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_le';
COMMENT ON FUNCTION enspiral.proposal_state_le(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the <= operator of enspiral.proposal_state (earlier than or equal to)';

CREATE FUNCTION enspiral.proposal_state_gt(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_gt';
COMMENT ON FUNCTION enspiral.proposal_state_gt(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the > operator of enspiral.proposal_state (later in the lifecycle than)';

CREATE FUNCTION enspiral.proposal_state_ge(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_ge';
COMMENT ON FUNCTION enspiral.proposal_state_ge(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the >= operator of enspiral.proposal_state (later than or equal to)';

CREATE FUNCTION enspiral.proposal_state_cmp(enspiral.proposal_state, enspiral.proposal_state) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_cmp';
COMMENT ON FUNCTION enspiral.proposal_state_cmp(enspiral.proposal_state, enspiral.proposal_state) IS
    'B-tree support of enspiral.proposal_state: -1, 0 or 1 by lifecycle position';

CREATE FUNCTION enspiral.proposal_state_hash(enspiral.proposal_state) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_hash';
COMMENT ON FUNCTION enspiral.proposal_state_hash(enspiral.proposal_state) IS
    'Hash support of enspiral.proposal_state';

CREATE FUNCTION enspiral.proposal_state_hash_extended(enspiral.proposal_state, bigint) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_hash_extended';
COMMENT ON FUNCTION enspiral.proposal_state_hash_extended(enspiral.proposal_state, bigint) IS
    'Seeded hash support of enspiral.proposal_state (hash partitioning)';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state equal to';

CREATE OPERATOR pg_catalog.<> (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state not equal to';

CREATE OPERATOR pg_catalog.< (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state earlier in the lifecycle than';

CREATE OPERATOR pg_catalog.<= (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state earlier than or equal to';

CREATE OPERATOR pg_catalog.> (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state later in the lifecycle than';

CREATE OPERATOR pg_catalog.>= (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state later than or equal to';

CREATE OPERATOR CLASS enspiral.proposal_state_ops
    DEFAULT FOR TYPE enspiral.proposal_state USING btree AS
        OPERATOR 1 pg_catalog.< ,
        OPERATOR 2 pg_catalog.<= ,
        OPERATOR 3 pg_catalog.= ,
        OPERATOR 4 pg_catalog.>= ,
        OPERATOR 5 pg_catalog.> ,
        FUNCTION 1 enspiral.proposal_state_cmp(enspiral.proposal_state, enspiral.proposal_state);
COMMENT ON OPERATOR CLASS enspiral.proposal_state_ops USING btree IS
    'Orders enspiral.proposal_state by lifecycle position';
COMMENT ON OPERATOR FAMILY enspiral.proposal_state_ops USING btree IS
    'Orders enspiral.proposal_state by lifecycle position';

CREATE OPERATOR CLASS enspiral.proposal_state_ops
    DEFAULT FOR TYPE enspiral.proposal_state USING hash AS
        OPERATOR 1 pg_catalog.= ,
        FUNCTION 1 enspiral.proposal_state_hash(enspiral.proposal_state),
        FUNCTION 2 enspiral.proposal_state_hash_extended(enspiral.proposal_state, bigint);
COMMENT ON OPERATOR CLASS enspiral.proposal_state_ops USING hash IS
    'Hashes enspiral.proposal_state (hash joins, hash aggregation, hash indexes and partitions)';
COMMENT ON OPERATOR FAMILY enspiral.proposal_state_ops USING hash IS
    'Hashes enspiral.proposal_state';

CREATE CAST (enspiral.proposal_state AS text) WITH INOUT AS ASSIGNMENT;
COMMENT ON CAST (enspiral.proposal_state AS text) IS
    'The state name (assignment cast)';
CREATE CAST (text AS enspiral.proposal_state) WITH INOUT;
COMMENT ON CAST (text AS enspiral.proposal_state) IS
    'Parses a state name strictly (explicit cast; 22P02 on anything else)';

CREATE FUNCTION enspiral.can_transition("from" enspiral.proposal_state, "to" enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_can_transition';
COMMENT ON FUNCTION enspiral.can_transition(enspiral.proposal_state, enspiral.proposal_state) IS
    'Whether the proposal lifecycle allows moving from one state to another (the same state is no change: true)';

CREATE FUNCTION enspiral.check_transition("from" enspiral.proposal_state, "to" enspiral.proposal_state, what text DEFAULT NULL)
    RETURNS void
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_check_transition';
COMMENT ON FUNCTION enspiral.check_transition(enspiral.proposal_state, enspiral.proposal_state, text) IS
    'Raises NS010 (invalid transition, message "<what> cannot move from <from> to <to>") unless the proposal lifecycle allows the move; NULL states are an error (22004)';

CREATE FUNCTION enspiral.next_states(state enspiral.proposal_state) RETURNS enspiral.proposal_state[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_next_states';
COMMENT ON FUNCTION enspiral.next_states(enspiral.proposal_state) IS
    'The states the proposal lifecycle allows moving to from a state, in lifecycle order (empty for a final state)';

------------------------------------------------------------------------------
-- enspiral.bucket_state
------------------------------------------------------------------------------

CREATE TYPE enspiral.bucket_state;

CREATE FUNCTION enspiral.bucket_state_in(cstring) RETURNS enspiral.bucket_state
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_state_in';
COMMENT ON FUNCTION enspiral.bucket_state_in(cstring) IS
    'Text input of enspiral.bucket_state: exactly one of idea, open, funded, completed, cancelled (lower case, no spaces); anything else is an error (22P02)';

CREATE FUNCTION enspiral.bucket_state_out(enspiral.bucket_state) RETURNS cstring
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_state_out';
COMMENT ON FUNCTION enspiral.bucket_state_out(enspiral.bucket_state) IS
    'Text output of enspiral.bucket_state: the state name';

CREATE FUNCTION enspiral.bucket_state_recv(internal) RETURNS enspiral.bucket_state
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_state_recv';
COMMENT ON FUNCTION enspiral.bucket_state_recv(internal) IS
    'Binary input of enspiral.bucket_state: the state name as text (22P03 for anything else)';

CREATE FUNCTION enspiral.bucket_state_send(enspiral.bucket_state) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_state_send';
COMMENT ON FUNCTION enspiral.bucket_state_send(enspiral.bucket_state) IS
    'Binary output of enspiral.bucket_state: the state name as text';

CREATE TYPE enspiral.bucket_state (
    INPUT = enspiral.bucket_state_in,
    OUTPUT = enspiral.bucket_state_out,
    RECEIVE = enspiral.bucket_state_recv,
    SEND = enspiral.bucket_state_send,
    INTERNALLENGTH = 1,
    PASSEDBYVALUE,
    ALIGNMENT = char,
    STORAGE = plain
);
COMMENT ON TYPE enspiral.bucket_state IS
    'Lifecycle state of a co-budgeting bucket: idea, open, funded, completed, cancelled (one byte; sorts in lifecycle order)';

CREATE FUNCTION enspiral.bucket_state_eq(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_eq';
COMMENT ON FUNCTION enspiral.bucket_state_eq(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the = operator of enspiral.bucket_state (equal to)';

CREATE FUNCTION enspiral.bucket_state_ne(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_ne';
COMMENT ON FUNCTION enspiral.bucket_state_ne(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the <> operator of enspiral.bucket_state (not equal to)';

CREATE FUNCTION enspiral.bucket_state_lt(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_lt';
COMMENT ON FUNCTION enspiral.bucket_state_lt(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the < operator of enspiral.bucket_state (earlier in the lifecycle than)';

CREATE FUNCTION enspiral.bucket_state_le(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_le';
COMMENT ON FUNCTION enspiral.bucket_state_le(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the <= operator of enspiral.bucket_state (earlier than or equal to)';

CREATE FUNCTION enspiral.bucket_state_gt(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_gt';
COMMENT ON FUNCTION enspiral.bucket_state_gt(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the > operator of enspiral.bucket_state (later in the lifecycle than)';

CREATE FUNCTION enspiral.bucket_state_ge(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_ge';
COMMENT ON FUNCTION enspiral.bucket_state_ge(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the >= operator of enspiral.bucket_state (later than or equal to)';

CREATE FUNCTION enspiral.bucket_state_cmp(enspiral.bucket_state, enspiral.bucket_state) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_cmp';
COMMENT ON FUNCTION enspiral.bucket_state_cmp(enspiral.bucket_state, enspiral.bucket_state) IS
    'B-tree support of enspiral.bucket_state: -1, 0 or 1 by lifecycle position';

CREATE FUNCTION enspiral.bucket_state_hash(enspiral.bucket_state) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_hash';
COMMENT ON FUNCTION enspiral.bucket_state_hash(enspiral.bucket_state) IS
    'Hash support of enspiral.bucket_state';

CREATE FUNCTION enspiral.bucket_state_hash_extended(enspiral.bucket_state, bigint) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_hash_extended';
COMMENT ON FUNCTION enspiral.bucket_state_hash_extended(enspiral.bucket_state, bigint) IS
    'Seeded hash support of enspiral.bucket_state (hash partitioning)';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state equal to';

CREATE OPERATOR pg_catalog.<> (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state not equal to';

CREATE OPERATOR pg_catalog.< (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state earlier in the lifecycle than';

CREATE OPERATOR pg_catalog.<= (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state earlier than or equal to';

CREATE OPERATOR pg_catalog.> (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state later in the lifecycle than';

CREATE OPERATOR pg_catalog.>= (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state later than or equal to';

CREATE OPERATOR CLASS enspiral.bucket_state_ops
    DEFAULT FOR TYPE enspiral.bucket_state USING btree AS
        OPERATOR 1 pg_catalog.< ,
        OPERATOR 2 pg_catalog.<= ,
        OPERATOR 3 pg_catalog.= ,
        OPERATOR 4 pg_catalog.>= ,
        OPERATOR 5 pg_catalog.> ,
        FUNCTION 1 enspiral.bucket_state_cmp(enspiral.bucket_state, enspiral.bucket_state);
COMMENT ON OPERATOR CLASS enspiral.bucket_state_ops USING btree IS
    'Orders enspiral.bucket_state by lifecycle position';
COMMENT ON OPERATOR FAMILY enspiral.bucket_state_ops USING btree IS
    'Orders enspiral.bucket_state by lifecycle position';

CREATE OPERATOR CLASS enspiral.bucket_state_ops
    DEFAULT FOR TYPE enspiral.bucket_state USING hash AS
        OPERATOR 1 pg_catalog.= ,
        FUNCTION 1 enspiral.bucket_state_hash(enspiral.bucket_state),
        FUNCTION 2 enspiral.bucket_state_hash_extended(enspiral.bucket_state, bigint);
COMMENT ON OPERATOR CLASS enspiral.bucket_state_ops USING hash IS
    'Hashes enspiral.bucket_state (hash joins, hash aggregation, hash indexes and partitions)';
COMMENT ON OPERATOR FAMILY enspiral.bucket_state_ops USING hash IS
    'Hashes enspiral.bucket_state';

CREATE CAST (enspiral.bucket_state AS text) WITH INOUT AS ASSIGNMENT;
COMMENT ON CAST (enspiral.bucket_state AS text) IS
    'The state name (assignment cast)';
CREATE CAST (text AS enspiral.bucket_state) WITH INOUT;
COMMENT ON CAST (text AS enspiral.bucket_state) IS
    'Parses a state name strictly (explicit cast; 22P02 on anything else)';

CREATE FUNCTION enspiral.can_transition("from" enspiral.bucket_state, "to" enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_can_transition';
COMMENT ON FUNCTION enspiral.can_transition(enspiral.bucket_state, enspiral.bucket_state) IS
    'Whether the bucket lifecycle allows moving from one state to another (the same state is no change: true)';

CREATE FUNCTION enspiral.check_transition("from" enspiral.bucket_state, "to" enspiral.bucket_state, what text DEFAULT NULL)
    RETURNS void
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_check_transition';
COMMENT ON FUNCTION enspiral.check_transition(enspiral.bucket_state, enspiral.bucket_state, text) IS
    'Raises NS010 (invalid transition, message "<what> cannot move from <from> to <to>") unless the bucket lifecycle allows the move; NULL states are an error (22004)';

CREATE FUNCTION enspiral.next_states(state enspiral.bucket_state) RETURNS enspiral.bucket_state[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_next_states';
COMMENT ON FUNCTION enspiral.next_states(enspiral.bucket_state) IS
    'The states the bucket lifecycle allows moving to from a state, in lifecycle order (empty for a final state)';
------------------------------------------------------------------------------
-- Guards: trigger functions that attach the rules to any table
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.guard_lifecycle() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_guard_lifecycle';
COMMENT ON FUNCTION enspiral.guard_lifecycle() IS
    'Trigger (BEFORE UPDATE FOR EACH ROW, argument: the state column): refuses a change of a proposal_state or bucket_state column that its lifecycle does not allow (NS010)';

CREATE FUNCTION enspiral.guard_deadline() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_guard_deadline';
COMMENT ON FUNCTION enspiral.guard_deadline() IS
    'Trigger (BEFORE INSERT OR UPDATE FOR EACH ROW, arguments: state column, timestamptz deadline column): a row may be open only while its deadline is later than the transaction time (NS012)';

CREATE FUNCTION enspiral.guard_append_only() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_guard_append_only';
COMMENT ON FUNCTION enspiral.guard_append_only() IS
    'Trigger (BEFORE UPDATE OR DELETE FOR EACH ROW, and BEFORE TRUNCATE FOR EACH STATEMENT; optional argument: a hint): makes a table append-only (NS011)';

-- Member identities are permanent (replaces the PL/pgSQL guard of part 00).
CREATE TRIGGER members_append_only BEFORE UPDATE OR DELETE ON enspiral.members
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(
        'Member identities are permanent; use enspiral.remove_member() to end a membership.');
COMMENT ON TRIGGER members_append_only ON enspiral.members IS
    'Member identities are never updated or deleted (NS011)';
CREATE TRIGGER members_no_truncate BEFORE TRUNCATE ON enspiral.members
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(
        'Member identities are permanent; use enspiral.remove_member() to end a membership.');
COMMENT ON TRIGGER members_no_truncate ON enspiral.members IS
    'enspiral.members is never truncated (NS011)';

------------------------------------------------------------------------------
-- Adoption: an application's existing table takes on a lifecycle
------------------------------------------------------------------------------

-- The user column "col" of table "tbl" and its base type (domains resolved);
-- errors name the table and column.
CREATE FUNCTION enspiral.adoption_column_type(tbl regclass, col name) RETURNS regtype
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    typ oid;
    kind "char";
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION 'column name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.atttypid INTO typ FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of table % does not exist', col, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    LOOP
        SELECT t.typtype INTO kind FROM pg_catalog.pg_type t WHERE t.oid = typ;
        EXIT WHEN kind <> 'd';
        SELECT t.typbasetype INTO typ FROM pg_catalog.pg_type t WHERE t.oid = typ;
    END LOOP;
    RETURN typ;
END
$$;
COMMENT ON FUNCTION enspiral.adoption_column_type(regclass, name) IS
    'Base type of a user column of a table (domains resolved); errors (42703) when the column does not exist';

-- The schema and name of a table that may take guard triggers
CREATE FUNCTION enspiral.adoption_table(tbl regclass, OUT nsp name, OUT rel name)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT n.nspname, c.relname, c.relkind INTO nsp, rel, kind
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', tbl
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Guards attach to ordinary and partitioned tables.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.adoption_table(regclass) IS
    'Schema and name of a table that guard triggers can be attached to; errors (42809) for views and other relations';

CREATE FUNCTION enspiral.adopt_lifecycle(tbl regclass, state_column name,
                                         deadline_column name DEFAULT NULL)
    RETURNS text[]
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    typ regtype;
    trg text;
    made text[] := '{}';
BEGIN
    t := enspiral.adoption_table(tbl);
    typ := enspiral.adoption_column_type(tbl, state_column);
    IF typ NOT IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype) THEN
        RAISE EXCEPTION 'column "%" of table % is of type %, not a lifecycle type', state_column, tbl, typ
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Convert it first, e.g. ALTER TABLE ... ALTER COLUMN ... TYPE enspiral.proposal_state USING ...::text::enspiral.proposal_state.';
    END IF;
    IF deadline_column IS NOT NULL THEN
        typ := enspiral.adoption_column_type(tbl, deadline_column);
        IF typ <> 'timestamptz'::regtype THEN
            RAISE EXCEPTION 'deadline column "%" of table % is of type %, not timestamp with time zone',
                deadline_column, tbl, typ
                USING ERRCODE = 'datatype_mismatch';
        END IF;
    END IF;
    -- "zz_" makes the guards fire after the table's own BEFORE triggers
    -- (triggers of one event fire in name order), so they judge the final row;
    -- the cast to name clips long names the way CREATE TRIGGER would
    trg := ('zz_enspiral_lifecycle_' || state_column)::name;
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE TRIGGER %I BEFORE UPDATE ON %I.%I FOR EACH ROW '
        'EXECUTE FUNCTION enspiral.guard_lifecycle(%L)', trg, t.nsp, t.rel, state_column);
    made := made || trg;
    IF deadline_column IS NOT NULL THEN
        trg := ('zz_enspiral_deadline_' || state_column)::name;
        EXECUTE pg_catalog.format(
            'CREATE OR REPLACE TRIGGER %I BEFORE INSERT OR UPDATE ON %I.%I FOR EACH ROW '
            'EXECUTE FUNCTION enspiral.guard_deadline(%L, %L)',
            trg, t.nsp, t.rel, state_column, deadline_column);
        made := made || trg;
    END IF;
    RETURN made;
END
$$;
COMMENT ON FUNCTION enspiral.adopt_lifecycle(regclass, name, name) IS
    'Attaches enspiral.guard_lifecycle() to a table''s proposal_state/bucket_state column and, with a deadline column, enspiral.guard_deadline(); returns the trigger names; idempotent';

CREATE FUNCTION enspiral.adopt_append_only(tbl regclass, hint text DEFAULT NULL)
    RETURNS text[]
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    args text := '';
BEGIN
    t := enspiral.adoption_table(tbl);
    IF hint IS NOT NULL THEN
        args := pg_catalog.format('%L', hint);
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE TRIGGER zz_enspiral_append_only BEFORE UPDATE OR DELETE ON %I.%I '
        'FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(%s)', t.nsp, t.rel, args);
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE TRIGGER zz_enspiral_no_truncate BEFORE TRUNCATE ON %I.%I '
        'FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(%s)', t.nsp, t.rel, args);
    RETURN ARRAY['zz_enspiral_append_only', 'zz_enspiral_no_truncate'];
END
$$;
COMMENT ON FUNCTION enspiral.adopt_append_only(regclass, text) IS
    'Makes a table append-only with enspiral.guard_append_only() (rows never updated or deleted, table never truncated); the hint is shown with every refusal; returns the trigger names; idempotent';
------------------------------------------------------------------------------
-- Allocation math (part 20): exact apportionment, quadratic funding and
-- quadratic voting costs.  Pure functions in C (src/apportion.c,
-- src/quadratic.c); see README.md (Allocation math).
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.apportion(total bigint, weights numeric[])
    RETURNS bigint[]
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_apportion_sql';
COMMENT ON FUNCTION enspiral.apportion(bigint, numeric[]) IS
    'Largest-remainder (Hamilton) split of total by weights: each share is floor(total*w/sum) or one more, the leftover units go to the largest exact remainders (ties to the lower index); the shares sum to total exactly';

CREATE FUNCTION enspiral.quadratic_match(
        pool bigint, projects bigint[], contributors bigint[], amounts bigint[],
        cap bigint DEFAULT NULL, method text DEFAULT 'standard',
        threshold numeric DEFAULT NULL)
    RETURNS TABLE (project bigint, match bigint)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    ROWS 100
    AS 'MODULE_PATHNAME', 'enspiral_quadratic_match_sql';
COMMENT ON FUNCTION enspiral.quadratic_match(bigint, bigint[], bigint[], bigint[], bigint, text, numeric) IS
    'Quadratic funding match per project (standard, or pairwise-bounded with threshold M), capped per project; when the capped ideals exceed the pool the whole pool is paid exactly (water-filling of the cap, then largest remainder), otherwise each project gets the floor of its capped ideal';

CREATE FUNCTION enspiral.quadratic_vote_cost(votes bigint[])
    RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_quadratic_vote_cost_sql';
COMMENT ON FUNCTION enspiral.quadratic_vote_cost(bigint[]) IS
    'Quadratic voting cost of a ballot: the sum of the squares of its votes; overflow is an error (22003)';

-- The transition function runs once per row and runs no SQL, so it does not
-- pin search_path (that would add a GUC save/restore to every row).
CREATE FUNCTION enspiral.quadratic_vote_cost_step(cost bigint, vote bigint)
    RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_quadratic_vote_cost_step';
COMMENT ON FUNCTION enspiral.quadratic_vote_cost_step(bigint, bigint) IS
    'Transition function of the quadratic_vote_cost_agg(bigint) aggregate: cost + vote^2, overflow is an error';

CREATE AGGREGATE enspiral.quadratic_vote_cost_agg(vote bigint) (
    SFUNC = enspiral.quadratic_vote_cost_step,
    STYPE = bigint,
    INITCOND = '0',
    COMBINEFUNC = pg_catalog.int8pl,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE enspiral.quadratic_vote_cost_agg(bigint) IS
    'Quadratic voting cost over rows of votes: the sum of their squares (NULL votes are skipped, no rows cost 0); overflow is an error';
-- enspiral install script, part 30: decisions (proposals, votes, outcomes).
-- README.md (Decisions: proposals, votes and outcomes) is the reference.  The state machine, ballot checks,
-- vote casting and instant runoff are in C (src/proposals.c, ballots.c,
-- votes.c, irv.c); outcome arithmetic is SQL over the stored ballots.

------------------------------------------------------------------------------
-- Settings, ballots and effective state (C)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.normalize_proposal_settings(method text, options text[], settings jsonb)
    RETURNS jsonb
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_normalize_proposal_settings';
COMMENT ON FUNCTION enspiral.normalize_proposal_settings(text, text[], jsonb) IS
    'Checks a voting method, its options and settings (unknown keys, types, ranges, contradictions are errors naming the key) and returns the settings with every default of the method filled in';

CREATE FUNCTION enspiral.check_ballot(method text, options text[], settings jsonb,
                                      ballot jsonb, reason text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_check_ballot';
COMMENT ON FUNCTION enspiral.check_ballot(text, text[], jsonb, jsonb, text) IS
    'The normalized form of a ballot under a method, options and settings, or an NS104 error naming the broken rule (what enspiral.vote() checks)';

CREATE FUNCTION enspiral.effective_proposal_state(state enspiral.proposal_state,
                                                  opens_at timestamptz, closes_at timestamptz,
                                                  at timestamptz DEFAULT NULL)
    RETURNS enspiral.proposal_state
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_effective_proposal_state';
COMMENT ON FUNCTION enspiral.effective_proposal_state(enspiral.proposal_state, timestamptz, timestamptz, timestamptz) IS
    'The state in effect at a time (default: the statement start): scheduled is open from opens_at, open is closed from closes_at';

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE enspiral.proposals (
    group_id      bigint NOT NULL REFERENCES enspiral.groups,
    proposal_id   bigint GENERATED ALWAYS AS IDENTITY,
    author_id     bigint NOT NULL,
    title         text NOT NULL CHECK (btrim(title) <> ''),
    details       text,
    method        text NOT NULL,
    options       text[],
    settings      jsonb NOT NULL
                  CHECK (settings = enspiral.normalize_proposal_settings(method, options, settings)),
    state         enspiral.proposal_state NOT NULL DEFAULT 'draft',
    opens_at      timestamptz,
    closes_at     timestamptz,
    reopen_count  integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, proposal_id),
    UNIQUE (proposal_id)
);
COMMENT ON TABLE enspiral.proposals IS
    'Proposals: the stored state plus opens_at/closes_at give the effective state; the trigger proposals_guard enforces the lifecycle and freezes method, options and settings once scheduled';
COMMENT ON COLUMN enspiral.proposals.settings IS
    'Normalized settings of the method (anonymous, hide_results, quorum and thresholds, ballot limits), defaults filled in';
COMMENT ON COLUMN enspiral.proposals.author_id IS
    'The member who proposed it (checked by propose(): a current member of the group)';
COMMENT ON COLUMN enspiral.proposals.reopen_count IS
    'How many times the proposal was reopened; outcomes are recorded per opening';

CREATE INDEX proposals_due ON enspiral.proposals (closes_at)
    WHERE state IN ('scheduled', 'open');
COMMENT ON INDEX enspiral.proposals_due IS
    'Proposals whose deadline may pass: what record_due_closings() scans';

CREATE FUNCTION enspiral.proposals_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_proposals_guard';
COMMENT ON FUNCTION enspiral.proposals_guard() IS
    'Trigger: every INSERT, UPDATE and DELETE of proposals follows the proposal lifecycle (NS010), frozen columns stay (NS105), state changes wait for votes in flight';

CREATE TRIGGER proposals_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.proposals
    FOR EACH ROW EXECUTE FUNCTION enspiral.proposals_guard();

-- Vote tables have no foreign keys on purpose: a foreign key check would
-- lock the proposal row of every vote; vote() checks the same things.
CREATE TABLE enspiral.votes (
    group_id       bigint NOT NULL,
    proposal_id    bigint NOT NULL,
    vote_id        bigint GENERATED ALWAYS AS IDENTITY,
    member_id      bigint NOT NULL,
    ballot         jsonb NOT NULL,
    reason         text,
    cast_at        timestamptz NOT NULL,
    superseded_at  timestamptz,
    history_key    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, proposal_id, member_id, history_key),
    -- counted (key 0, not superseded) or history (superseded, keyed by its
    -- own id); one expression: every INSERT prepares each CHECK anew
    CONSTRAINT votes_history_key CHECK (CASE WHEN history_key = 0 THEN superseded_at IS NULL
                                             ELSE superseded_at IS NOT NULL AND history_key = vote_id END)
);
COMMENT ON TABLE enspiral.votes IS
    'Votes of named proposals, normalized ballots; a new vote of a member supersedes the previous one, which stays as history and is never counted';
COMMENT ON COLUMN enspiral.votes.history_key IS
    '0 for the counted vote of a member, the vote''s own id once superseded: the primary key allows one counted vote per member and proposal';

CREATE TABLE enspiral.participations (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    member_id    bigint NOT NULL,
    PRIMARY KEY (group_id, proposal_id, member_id)
);
COMMENT ON TABLE enspiral.participations IS
    'Who voted on anonymous proposals (no time, no link to the ballot): one ballot per member';

CREATE TABLE enspiral.anonymous_ballots (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    ballot_id    uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    ballot       jsonb NOT NULL,
    reason       text,
    PRIMARY KEY (group_id, proposal_id, ballot_id)
);
COMMENT ON TABLE enspiral.anonymous_ballots IS
    'Ballots of anonymous proposals: no voter, no time, a random key; see README.md (Decisions: proposals, votes and outcomes) for what the physical row order and xmin reveal to a superuser';

CREATE TABLE enspiral.electorate_additions (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    member_id    bigint NOT NULL,
    added_at     timestamptz NOT NULL,
    PRIMARY KEY (group_id, proposal_id, member_id)
);
COMMENT ON TABLE enspiral.electorate_additions IS
    'Members added explicitly to the electorate of a named proposal (later joiners)';

CREATE TABLE enspiral.outcomes (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    opening      integer NOT NULL,
    outcome      jsonb NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, proposal_id, opening),
    FOREIGN KEY (group_id, proposal_id) REFERENCES enspiral.proposals
);
COMMENT ON TABLE enspiral.outcomes IS
    'The outcome recorded when a proposal closed, one per opening (reopen_count); never changed';

CREATE INDEX memberships_left ON enspiral.memberships (group_id, left_at)
    WHERE left_at IS NOT NULL;
COMMENT ON INDEX enspiral.memberships_left IS
    'Ended membership periods by time: tallies find the voters who left before the evaluation time';

CREATE FUNCTION enspiral.memberships_outcome_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_memberships_outcome_guard';
COMMENT ON FUNCTION enspiral.memberships_outcome_guard() IS
    'Trigger: a membership change waits for outcomes being recorded in its group, never starts or ends a period at or before a recorded opening or close (it moves to now), and never starts a period before the previous one ended';

CREATE TRIGGER memberships_outcome_guard BEFORE INSERT OR UPDATE OF left_at ON enspiral.memberships
    FOR EACH ROW EXECUTE FUNCTION enspiral.memberships_outcome_guard();
COMMENT ON TRIGGER memberships_outcome_guard ON enspiral.memberships IS
    'Recorded outcomes stay reproducible: membership boundaries never move behind a recorded close';

CREATE FUNCTION enspiral.votes_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_votes_guard';
COMMENT ON FUNCTION enspiral.votes_guard() IS
    'Trigger: vote tables are written only by enspiral.vote() and enspiral.add_voter() (NS007)';

CREATE TRIGGER votes_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON enspiral.votes
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.votes_guard();
CREATE TRIGGER participations_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON enspiral.participations
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.votes_guard();
CREATE TRIGGER anonymous_ballots_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON enspiral.anonymous_ballots
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.votes_guard();
CREATE TRIGGER electorate_additions_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON enspiral.electorate_additions
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.votes_guard();

CREATE FUNCTION enspiral.outcomes_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'the recorded outcome of proposal % cannot be %d', OLD.proposal_id, lower(TG_OP)
        USING ERRCODE = 'NS011',
              HINT = 'Outcomes are recorded once; enspiral.verify_outcome() recomputes them.';
END
$$;
COMMENT ON FUNCTION enspiral.outcomes_guard() IS
    'Trigger: recorded outcomes are never updated or deleted (NS011)';

CREATE TRIGGER outcomes_guard BEFORE UPDATE OR DELETE ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_guard();

------------------------------------------------------------------------------
-- Instant runoff (C aggregates)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.instant_runoff_accum(internal, bigint[]) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_irv_accum';
COMMENT ON FUNCTION enspiral.instant_runoff_accum(internal, bigint[]) IS
    'Transition function of instant_runoff: keeps rankings as dense option indexes';

CREATE FUNCTION enspiral.instant_runoff_final(internal) RETURNS bigint
    LANGUAGE c PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_irv_final';
COMMENT ON FUNCTION enspiral.instant_runoff_final(internal) IS
    'Final function of instant_runoff: counts the rounds and returns the winner';

CREATE FUNCTION enspiral.instant_runoff_rounds_final(internal) RETURNS jsonb
    LANGUAGE c PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_irv_rounds_final';
COMMENT ON FUNCTION enspiral.instant_runoff_rounds_final(internal) IS
    'Final function of instant_runoff_rounds: the winner with round-by-round counts';

CREATE AGGREGATE enspiral.instant_runoff(ranking bigint[]) (
    SFUNC = enspiral.instant_runoff_accum,
    STYPE = internal,
    FINALFUNC = enspiral.instant_runoff_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.instant_runoff(bigint[]) IS
    'Instant-runoff winner of rankings (arrays of option ids, most preferred first); NULL without a non-empty ranking';

CREATE AGGREGATE enspiral.instant_runoff_rounds(ranking bigint[]) (
    SFUNC = enspiral.instant_runoff_accum,
    STYPE = internal,
    FINALFUNC = enspiral.instant_runoff_rounds_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.instant_runoff_rounds(bigint[]) IS
    'Instant runoff with details: {"winner", "ballots", "rounds": [{"round", "counts", "exhausted", "eliminated"}]}';

------------------------------------------------------------------------------
-- Consent counting (C aggregate)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.consent_counts_accum(bigint[], jsonb) RETURNS bigint[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_consent_accum';
COMMENT ON FUNCTION enspiral.consent_counts_accum(bigint[], jsonb) IS
    'Transition function of consent_counts: counts one ballot by position';

CREATE FUNCTION enspiral.consent_counts_combine(bigint[], bigint[]) RETURNS bigint[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_consent_combine';
COMMENT ON FUNCTION enspiral.consent_counts_combine(bigint[], bigint[]) IS
    'Combine function of consent_counts: adds partial counts';

CREATE AGGREGATE enspiral.consent_counts(ballot jsonb) (
    SFUNC = enspiral.consent_counts_accum,
    STYPE = bigint[],
    INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = enspiral.consent_counts_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE enspiral.consent_counts(jsonb) IS
    'Counts consent ballots in one pass: {agree, abstain, disagree, block, all ballots}';

------------------------------------------------------------------------------
-- Proposal API
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.propose(group_id bigint, author_id bigint, title text, method text,
                                 options text[] DEFAULT NULL, settings jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid bigint;
BEGIN
    IF group_id IS NULL OR author_id IS NULL THEN
        RAISE EXCEPTION 'group_id and author_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = propose.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    IF NOT enspiral.is_member(propose.group_id, propose.author_id, pg_catalog.statement_timestamp()) THEN
        RAISE EXCEPTION 'member % is not a current member of group %', author_id, group_id
            USING ERRCODE = 'NS004';
    END IF;
    IF title IS NULL OR btrim(title) = '' THEN
        RAISE EXCEPTION 'proposal title must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO enspiral.proposals (group_id, author_id, title, method, options, settings)
    VALUES (propose.group_id, propose.author_id, propose.title, propose.method,
            CASE WHEN propose.method = 'consent' AND propose.options = '{}' THEN NULL ELSE propose.options END,
            enspiral.normalize_proposal_settings(propose.method, propose.options, propose.settings))
    RETURNING proposal_id INTO pid;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION enspiral.propose(bigint, bigint, text, text, text[], jsonb) IS
    'Creates a draft proposal by a current member and returns its id; method, options and settings are checked and settings completed with defaults';

CREATE FUNCTION enspiral.proposal_state(proposal_id bigint) RETURNS text
    LANGUAGE c STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state';
COMMENT ON FUNCTION enspiral.proposal_state(bigint) IS
    'The effective state now: draft, scheduled, open, closed or withdrawn (deadlines apply whether or not a job ran)';

-- effective state of a proposal for the API functions below; NS101 when unknown
CREATE FUNCTION enspiral.proposal_row(proposal_id bigint) RETURNS enspiral.proposals
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
BEGIN
    SELECT * INTO p FROM enspiral.proposals x WHERE x.proposal_id = proposal_row.proposal_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'proposal % does not exist', proposal_id USING ERRCODE = 'NS101';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION enspiral.proposal_row(bigint) IS
    'Internal: the proposals row of an id, NS101 when unknown';

CREATE FUNCTION enspiral.open_proposal(proposal_id bigint, closes_at timestamptz,
                                       opens_at timestamptz DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    later boolean := opens_at IS NOT NULL AND opens_at > now;
BEGIN
    IF closes_at IS NULL THEN
        RAISE EXCEPTION 'closes_at must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF closes_at <= coalesce(CASE WHEN later THEN opens_at END, now) THEN
        RAISE EXCEPTION 'proposal % must close after it opens', proposal_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE enspiral.proposals x
       SET state = CASE WHEN later THEN 'scheduled' ELSE 'open' END::enspiral.proposal_state,
           opens_at = CASE WHEN later THEN open_proposal.opens_at ELSE now END,
           closes_at = open_proposal.closes_at
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.open_proposal(bigint, timestamptz, timestamptz) IS
    'Opens a draft (or scheduled) proposal now, or schedules it when opens_at is in the future; the electorate is the group''s members at the opening time';

CREATE FUNCTION enspiral.unschedule_proposal(proposal_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
BEGIN
    UPDATE enspiral.proposals x SET state = 'draft', opens_at = NULL
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.unschedule_proposal(bigint) IS
    'Moves a scheduled proposal back to draft (before it opens), so it can be edited';

CREATE FUNCTION enspiral.close_proposal(proposal_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
BEGIN
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) <> 'closed' THEN
        UPDATE enspiral.proposals x
           SET state = 'closed',
               closes_at = least(x.closes_at, pg_catalog.statement_timestamp())
         WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
    END IF;
    PERFORM enspiral.record_outcome(p.proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.close_proposal(bigint) IS
    'Closes an open proposal now (its closes_at becomes now) and records its outcome; on a proposal already closed by its deadline it records the outcome if needed';

CREATE FUNCTION enspiral.withdraw_proposal(proposal_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
BEGIN
    UPDATE enspiral.proposals x SET state = 'withdrawn'
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.withdraw_proposal(bigint) IS
    'Withdraws a draft, scheduled or open proposal; it never produces an outcome';

CREATE FUNCTION enspiral.reopen_proposal(proposal_id bigint, closes_at timestamptz) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
BEGIN
    IF closes_at IS NULL OR closes_at <= pg_catalog.statement_timestamp() THEN
        RAISE EXCEPTION 'proposal % can only be reopened with a future closes_at', proposal_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF st <> 'closed' THEN
        RAISE EXCEPTION 'proposal % cannot be reopened: it is %', proposal_id, st
            USING ERRCODE = 'NS010', DETAIL = 'Only a closed proposal can be reopened.';
    END IF;
    UPDATE enspiral.proposals x SET state = 'open', closes_at = reopen_proposal.closes_at
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.reopen_proposal(bigint, timestamptz) IS
    'Reopens a closed, named proposal until a future closes_at; the outcome of the earlier opening stays recorded';

CREATE FUNCTION enspiral.vote(proposal_id bigint, member_id bigint, ballot jsonb,
                              reason text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_vote';
COMMENT ON FUNCTION enspiral.vote(bigint, bigint, jsonb, text) IS
    'Casts a member''s vote on an open proposal (it replaces the member''s earlier vote, kept as history); returns the vote id, NULL for anonymous ballots';

CREATE FUNCTION enspiral.add_voter(proposal_id bigint, member_id bigint) RETURNS void
    LANGUAGE c STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_add_voter';
COMMENT ON FUNCTION enspiral.add_voter(bigint, bigint) IS
    'Adds a current member (e.g. a later joiner) to the electorate of a named proposal that is not closed';

------------------------------------------------------------------------------
-- Tallies and outcomes
------------------------------------------------------------------------------

-- Members of a group who left at or before t and are not members at t:
-- their current votes stop counting.
CREATE FUNCTION enspiral.departed_members(group_id bigint, t timestamptz)
    RETURNS SETOF bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.member_id FROM enspiral.memberships m
     WHERE m.group_id = $1 AND m.left_at IS NOT NULL AND m.left_at <= $2
       AND NOT EXISTS (SELECT 1 FROM enspiral.memberships c
                        WHERE c.group_id = m.group_id AND c.member_id = m.member_id
                          AND c.joined_at <= $2 AND (c.left_at IS NULL OR c.left_at > $2))
$$;
COMMENT ON FUNCTION enspiral.departed_members(bigint, timestamptz) IS
    'Internal: members who left a group at or before t and are not members at t';

CREATE FUNCTION enspiral.counted_ballots(p enspiral.proposals, t timestamptz)
    RETURNS SETOF jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.ballot FROM enspiral.votes v
     WHERE NOT (($1).settings ->> 'anonymous')::boolean
       AND v.group_id = ($1).group_id AND v.proposal_id = ($1).proposal_id
       AND v.superseded_at IS NULL
       AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(($1).group_id, $2) d)
    UNION ALL
    SELECT b.ballot FROM enspiral.anonymous_ballots b
     WHERE (($1).settings ->> 'anonymous')::boolean
       AND b.group_id = ($1).group_id AND b.proposal_id = ($1).proposal_id
$$;
COMMENT ON FUNCTION enspiral.counted_ballots(enspiral.proposals, timestamptz) IS
    'Internal: the ballots that count at time t: current votes of members still in the group, or every anonymous ballot';

CREATE FUNCTION enspiral.electorate_size(p enspiral.proposals, ref timestamptz, t timestamptz)
    RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT count(*) FROM enspiral.memberships m
             WHERE m.group_id = ($1).group_id AND m.joined_at <= $2
               AND (m.left_at IS NULL OR m.left_at > $2)
               AND m.member_id NOT IN (SELECT d FROM enspiral.departed_members(($1).group_id, $3) d))
         + (SELECT count(*) FROM enspiral.electorate_additions a
             WHERE a.group_id = ($1).group_id AND a.proposal_id = ($1).proposal_id
               AND NOT EXISTS (SELECT 1 FROM enspiral.memberships m
                                WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                                  AND m.joined_at <= $2 AND (m.left_at IS NULL OR m.left_at > $2))
               AND EXISTS (SELECT 1 FROM enspiral.memberships m
                            WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                              AND m.joined_at <= $3 AND (m.left_at IS NULL OR m.left_at > $3)))
$$;
COMMENT ON FUNCTION enspiral.electorate_size(enspiral.proposals, timestamptz, timestamptz) IS
    'Internal: members at the opening time ref plus explicit additions, counting those still members at t';

-- winner(s) of a totals object: {"winner", "winners", "tie"}
CREATE FUNCTION enspiral.winners_of(totals jsonb, voted bigint) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH t AS (SELECT e.key, e.value::bigint AS v FROM jsonb_each($1) e),
         w AS (SELECT coalesce(jsonb_agg(t.key ORDER BY t.key), '[]') AS names
                 FROM t WHERE $2 > 0 AND t.v = (SELECT max(v) FROM t))
    SELECT jsonb_build_object(
               'winner', CASE WHEN jsonb_array_length(w.names) = 1 THEN w.names -> 0 ELSE 'null'::jsonb END,
               'winners', w.names,
               'tie', jsonb_array_length(w.names) > 1)
      FROM w
$$;
COMMENT ON FUNCTION enspiral.winners_of(jsonb, bigint) IS
    'Internal: the option(s) with the highest total; several means a tie; none without votes';

-- totals, participation and method details over the counted ballots at time t
CREATE FUNCTION enspiral.compute_tally(p enspiral.proposals, t timestamptz) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    anon boolean := (p.settings ->> 'anonymous')::boolean;
    n_agree bigint;
    n_abstain bigint;
    n_disagree bigint;
    n_block bigint;
    voted bigint;
    totals jsonb;
    extra jsonb := '{}';
    irv jsonb;
BEGIN
    IF p.method = 'consent' THEN
        -- one pass, counting positions in C
        SELECT n[1], n[2], n[3], n[4], n[5]
          INTO n_agree, n_abstain, n_disagree, n_block, voted
          FROM (SELECT enspiral.consent_counts(c.ballot) AS n FROM (SELECT v.ballot FROM enspiral.votes v
                 WHERE NOT anon AND v.group_id = p.group_id AND v.proposal_id = p.proposal_id
                   AND v.superseded_at IS NULL
                   AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(p.group_id, t) d)
                UNION ALL
                SELECT b.ballot FROM enspiral.anonymous_ballots b
                 WHERE anon AND b.group_id = p.group_id AND b.proposal_id = p.proposal_id) c) x;
        RETURN jsonb_build_object('voted', voted,
                                  'totals', jsonb_build_object('agree', n_agree, 'abstain', n_abstain,
                                                               'disagree', n_disagree, 'block', n_block));
    END IF;
    SELECT count(*) INTO voted FROM enspiral.counted_ballots(p, t);
    IF p.method = 'choice' THEN
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e AS name, count(*) AS n
                       FROM enspiral.counted_ballots(p, t) b, jsonb_array_elements_text(b) e
                      GROUP BY e) c USING (name);
    ELSIF p.method IN ('score', 'dots', 'quadratic') THEN
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e.key AS name, sum(e.value::bigint) AS n
                       FROM enspiral.counted_ballots(p, t) b, jsonb_each(b) e
                      GROUP BY e.key) c USING (name);
    ELSE
        -- ranked: first preferences, Borda points, instant runoff on option positions
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT b ->> 0 AS name, count(*) AS n
                       FROM enspiral.counted_ballots(p, t) b GROUP BY 1) c USING (name);
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO extra
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e.name, sum(cardinality(p.options) - e.i) AS n
                       FROM enspiral.counted_ballots(p, t) b,
                            jsonb_array_elements_text(b) WITH ORDINALITY e(name, i)
                      GROUP BY e.name) c USING (name);
        extra := jsonb_build_object('borda', extra);
        SELECT enspiral.instant_runoff_rounds(
                   ARRAY(SELECT array_position(p.options, e.name)::bigint
                           FROM jsonb_array_elements_text(b) WITH ORDINALITY e(name, i)
                          ORDER BY e.i))
          INTO irv
          FROM enspiral.counted_ballots(p, t) b;
        extra := extra || jsonb_build_object(
            'winner', CASE WHEN irv IS NULL THEN 'null'::jsonb
                           ELSE to_jsonb(p.options[(irv ->> 'winner')::int]) END,
            'rounds', coalesce((
                SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                           'round', r -> 'round',
                           'counts', (SELECT jsonb_object_agg(p.options[x.k::int], x.v)
                                        FROM jsonb_each(r -> 'counts') x(k, v)),
                           'exhausted', r -> 'exhausted',
                           'eliminated', p.options[(r ->> 'eliminated')::int]))
                         ORDER BY (r ->> 'round')::int)
                  FROM jsonb_array_elements(irv -> 'rounds') r), '[]'));
    END IF;
    RETURN jsonb_build_object('voted', voted, 'totals', coalesce(totals, '{}')) || extra;
END
$$;
COMMENT ON FUNCTION enspiral.compute_tally(enspiral.proposals, timestamptz) IS
    'Internal: totals by option name and the number of counted ballots at time t (ranked: first preferences, Borda points, instant-runoff rounds)';

CREATE FUNCTION enspiral.compute_outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
    t timestamptz := CASE WHEN st = 'closed' THEN least(p.closes_at, now) ELSE now END;
    ref timestamptz := least(coalesce(p.opens_at, t), t);
    s jsonb := p.settings;
    tally jsonb := enspiral.compute_tally(p, t);
    electorate bigint := enspiral.electorate_size(p, ref, t);
    voted bigint := (tally ->> 'voted')::bigint;
    quorum_met boolean := voted * 100 >= (s ->> 'quorum_pct')::numeric * electorate;
    res jsonb;
    agree bigint;
    disagree bigint;
BEGIN
    res := jsonb_build_object('proposal_id', p.proposal_id, 'method', p.method,
                              'state', st::text, 'final', st = 'closed',
                              'opening', p.reopen_count,
                              'electorate', electorate, 'quorum_pct', s -> 'quorum_pct',
                              'quorum_met', quorum_met) || tally;
    IF p.method = 'consent' THEN
        agree := (tally #>> '{totals,agree}')::bigint;
        disagree := (tally #>> '{totals,disagree}')::bigint;
        res := res || jsonb_build_object(
            'threshold_pct', s -> 'threshold_pct',
            'threshold_inclusive', s -> 'threshold_inclusive',
            'max_blocks', s -> 'max_blocks',
            'passed', (tally #>> '{totals,block}')::bigint <= (s ->> 'max_blocks')::bigint
                      AND quorum_met
                      AND agree + disagree > 0
                      AND CASE WHEN (s ->> 'threshold_inclusive')::boolean
                               THEN agree * 100 >= (s ->> 'threshold_pct')::numeric * (agree + disagree)
                               ELSE agree * 100 > (s ->> 'threshold_pct')::numeric * (agree + disagree) END);
    ELSIF p.method <> 'ranked' THEN
        res := res || enspiral.winners_of(tally -> 'totals', voted);
    END IF;
    RETURN res;
END
$$;
COMMENT ON FUNCTION enspiral.compute_outcome(bigint) IS
    'Internal: computes the outcome of a proposal from its ballots now (closed: as of closes_at), ignoring hide_results';

CREATE FUNCTION enspiral.record_outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE c STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_record_outcome';
COMMENT ON FUNCTION enspiral.record_outcome(bigint) IS
    'Internal: records the outcome of a closed proposal once (waits for votes in flight, counts every committed ballot) and returns it; NULL when not closed';

CREATE FUNCTION enspiral.outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
    res jsonb;
BEGIN
    IF st = 'closed' THEN
        SELECT o.outcome INTO res FROM enspiral.outcomes o
         WHERE o.group_id = p.group_id AND o.proposal_id = p.proposal_id
           AND o.opening = p.reopen_count;
        RETURN coalesce(res, enspiral.record_outcome(p.proposal_id));
    END IF;
    IF (p.settings ->> 'hide_results')::boolean THEN
        RAISE EXCEPTION 'results of proposal % are hidden until it closes', proposal_id
            USING ERRCODE = 'NS106';
    END IF;
    RETURN enspiral.compute_outcome(p.proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.outcome(bigint) IS
    'The result: once closed, the outcome recorded at close (recorded now if no one has yet); before, the running tally unless results are hidden (NS106)';

CREATE FUNCTION enspiral.tally(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
BEGIN
    IF st <> 'closed' AND (p.settings ->> 'hide_results')::boolean THEN
        RAISE EXCEPTION 'results of proposal % are hidden until it closes', proposal_id
            USING ERRCODE = 'NS106';
    END IF;
    RETURN enspiral.compute_tally(p, CASE WHEN st = 'closed' THEN least(p.closes_at, now) ELSE now END);
END
$$;
COMMENT ON FUNCTION enspiral.tally(bigint) IS
    'Totals by option and the number of counted ballots, now (closed: as of closes_at); refused (NS106) before close when results are hidden';

CREATE FUNCTION enspiral.verify_outcome(proposal_id bigint)
    RETURNS TABLE (opening integer, matches boolean, recorded jsonb, recomputed jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
BEGIN
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) <> 'closed' THEN
        RAISE EXCEPTION 'proposal % is not closed', proposal_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    opening := p.reopen_count;
    SELECT o.outcome INTO recorded FROM enspiral.outcomes o
     WHERE o.group_id = p.group_id AND o.proposal_id = p.proposal_id AND o.opening = p.reopen_count;
    recomputed := enspiral.compute_outcome(p.proposal_id);
    matches := recorded IS NOT DISTINCT FROM recomputed;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION enspiral.verify_outcome(bigint) IS
    'Recomputes the outcome of a closed proposal from its ballots and compares it with the recorded one (matches is false on any difference or when nothing was recorded)';

CREATE FUNCTION enspiral.record_due_closings() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid bigint;
    n integer := 0;
BEGIN
    FOR pid IN SELECT x.proposal_id FROM enspiral.proposals x
                WHERE x.state IN ('scheduled', 'open')
                  AND x.closes_at <= pg_catalog.statement_timestamp()
                ORDER BY x.closes_at, x.proposal_id
    LOOP
        IF enspiral.record_outcome(pid) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION enspiral.record_due_closings() IS
    'Marks proposals past their deadline closed and records their outcomes; returns how many; for pg_cron (correctness never depends on it)';

REVOKE ALL ON FUNCTION enspiral.compute_outcome(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.compute_tally(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.counted_ballots(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.record_outcome(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.proposal_row(bigint) FROM PUBLIC;
REVOKE ALL ON enspiral.proposals, enspiral.votes, enspiral.participations,
              enspiral.anonymous_ballots, enspiral.electorate_additions, enspiral.outcomes
    FROM PUBLIC;

COMMENT ON SEQUENCE enspiral.proposals_proposal_id_seq IS 'Proposal ids';
COMMENT ON SEQUENCE enspiral.votes_vote_id_seq IS 'Vote ids (named proposals only; anonymous ballots have random keys)';
COMMENT ON TRIGGER proposals_guard ON enspiral.proposals IS
    'The proposal lifecycle, frozen columns and deadline rules for every write';
COMMENT ON TRIGGER votes_guard ON enspiral.votes IS
    'Only enspiral.vote() writes votes';
COMMENT ON TRIGGER participations_guard ON enspiral.participations IS
    'Only enspiral.vote() writes participations';
COMMENT ON TRIGGER anonymous_ballots_guard ON enspiral.anonymous_ballots IS
    'Only enspiral.vote() writes anonymous ballots';
COMMENT ON TRIGGER electorate_additions_guard ON enspiral.electorate_additions IS
    'Only enspiral.add_voter() extends an electorate';
COMMENT ON TRIGGER outcomes_guard ON enspiral.outcomes IS
    'Recorded outcomes never change';

SELECT pg_catalog.pg_extension_config_dump('enspiral.proposals', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.votes', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.participations', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.anonymous_ballots', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.electorate_additions', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.outcomes', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.proposals_proposal_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.votes_vote_id_seq', '');
------------------------------------------------------------------------------
-- Co-budgeting: rounds, accounts, an append-only double-entry ledger,
-- buckets and contributions.  README.md (Co-budgeting: rounds, buckets and an append-only ledger) describes the model, a worked
-- round and the lock order (round -> buckets ascending -> accounts ascending).
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.normalize_round_settings(settings jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    cap jsonb;
    under jsonb;
    cur jsonb;
BEGIN
    IF jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION 'round settings must be a JSON object' USING ERRCODE = 'NS006';
    END IF;
    FOR k IN SELECT jsonb_object_keys(settings) LOOP
        IF k NOT IN ('max_per_member_per_bucket', 'currency', 'underfunded') THEN
            RAISE EXCEPTION 'unknown round setting "%"', k
                USING ERRCODE = 'NS006',
                      HINT = 'Known settings are: max_per_member_per_bucket, currency, underfunded.';
        END IF;
    END LOOP;
    cap := COALESCE(settings -> 'max_per_member_per_bucket', 'null');
    IF cap <> 'null' AND (jsonb_typeof(cap) <> 'number'
                          OR cap::text::numeric <> trunc(cap::text::numeric)
                          OR cap::text::numeric <= 0
                          OR cap::text::numeric > 9223372036854775807) THEN
        RAISE EXCEPTION 'round setting "max_per_member_per_bucket" must be a positive whole amount (or null)'
            USING ERRCODE = 'NS006';
    END IF;
    cur := COALESCE(settings -> 'currency', 'null');
    IF cur <> 'null' AND jsonb_typeof(cur) <> 'string' THEN
        RAISE EXCEPTION 'round setting "currency" must be a text label' USING ERRCODE = 'NS006';
    END IF;
    under := COALESCE(settings -> 'underfunded', '"refund"');
    IF under NOT IN ('"refund"', '"keep"') THEN
        RAISE EXCEPTION 'round setting "underfunded" must be "refund" or "keep"'
            USING ERRCODE = 'NS006';
    END IF;
    RETURN jsonb_build_object('max_per_member_per_bucket', cap, 'currency', cur,
                              'underfunded', under);
END
$$;
COMMENT ON FUNCTION enspiral.normalize_round_settings(jsonb) IS
    'Validates round settings (max_per_member_per_bucket, currency, underfunded = refund|keep) and returns them with defaults filled in';

CREATE TABLE enspiral.rounds (
    group_id      bigint NOT NULL REFERENCES enspiral.groups,
    round_id      bigint GENERATED ALWAYS AS IDENTITY,
    name          text NOT NULL CHECK (btrim(name) <> ''),
    pool          bigint NOT NULL CHECK (pool >= 0),
    opens_at      timestamptz NOT NULL,
    closes_at     timestamptz NOT NULL,
    settings      jsonb NOT NULL CHECK (settings = enspiral.normalize_round_settings(settings)),
    max_per_member_per_bucket bigint
                  GENERATED ALWAYS AS ((settings ->> 'max_per_member_per_bucket')::bigint) STORED,
    underfunded   text GENERATED ALWAYS AS (settings ->> 'underfunded') STORED,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_at     timestamptz,
    matched_at    timestamptz,
    matching_pool bigint CHECK (matching_pool >= 0),
    PRIMARY KEY (group_id, round_id),
    UNIQUE (round_id),
    CHECK (opens_at < closes_at),
    CHECK ((matched_at IS NULL) = (matching_pool IS NULL)),
    CHECK (matched_at IS NULL OR closed_at IS NOT NULL)
);
COMMENT ON TABLE enspiral.rounds IS
    'Co-budgeting rounds: a pool of money (minor units) split among members and given to buckets between opens_at and closes_at';
COMMENT ON COLUMN enspiral.rounds.pool IS
    'The pool funded into the round at creation (a transfer from the round''s source account)';
COMMENT ON COLUMN enspiral.rounds.settings IS
    'Normalized settings: max_per_member_per_bucket (amount or null), currency (label or null), underfunded (refund|keep)';
COMMENT ON COLUMN enspiral.rounds.closed_at IS 'When close_round ran; NULL while the round is not closed';
COMMENT ON COLUMN enspiral.rounds.matched_at IS 'When match_round paid the matches; NULL until then';

CREATE TYPE enspiral.account_kind AS ENUM ('source', 'pool', 'member', 'bucket', 'matching');
COMMENT ON TYPE enspiral.account_kind IS
    'Kinds of ledger accounts of a round: source (outside money), pool, member, bucket, matching';
CREATE TYPE enspiral.transfer_kind AS ENUM ('fund', 'allocate', 'contribute', 'refund', 'match_fund', 'match');
COMMENT ON TYPE enspiral.transfer_kind IS
    'Kinds of ledger transfers: fund (source->pool), allocate (pool->member), contribute (member->bucket), refund (a reversal), match_fund (source->matching), match (matching->bucket)';

CREATE TABLE enspiral.accounts (
    group_id    bigint NOT NULL,
    account_id  bigint GENERATED ALWAYS AS IDENTITY,
    round_id    bigint NOT NULL,
    kind        enspiral.account_kind NOT NULL,
    owner_id    bigint,
    balance     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, account_id),
    UNIQUE NULLS NOT DISTINCT (group_id, round_id, kind, owner_id),
    FOREIGN KEY (group_id, round_id) REFERENCES enspiral.rounds (group_id, round_id),
    CHECK ((kind IN ('member', 'bucket')) = (owner_id IS NOT NULL)),
    CONSTRAINT accounts_no_overdraft
        CHECK (CASE WHEN kind = 'source' THEN balance <= 0 ELSE balance >= 0 END)
);
COMMENT ON TABLE enspiral.accounts IS
    'Ledger accounts of a round: source (outside money, balance <= 0), pool, member, bucket, matching; no balance but the source''s is negative (accounts_no_overdraft); balance is maintained by the ledger trigger and always equals the sum of the account''s transfers';
COMMENT ON COLUMN enspiral.accounts.owner_id IS 'member_id of a member account, bucket_id of a bucket account, NULL otherwise';

CREATE TABLE enspiral.transfers (
    group_id        bigint NOT NULL,
    transfer_id     bigint GENERATED ALWAYS AS IDENTITY,
    round_id        bigint NOT NULL,
    kind            enspiral.transfer_kind NOT NULL,
    from_account    bigint NOT NULL,
    to_account      bigint NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    idempotency_key text CHECK (idempotency_key <> ''),
    reverses        bigint,
    PRIMARY KEY (group_id, transfer_id),
    CHECK (from_account <> to_account),
    CHECK ((kind = 'refund') = (reverses IS NOT NULL))
);
COMMENT ON TABLE enspiral.transfers IS
    'The append-only double-entry ledger: each row moves amount from one account to another of the same round; never updated or deleted (corrections are reversing transfers)';
COMMENT ON COLUMN enspiral.transfers.reverses IS
    'For a refund: the transfer it reverses (same accounts swapped, same amount); each transfer is reversed at most once';
COMMENT ON COLUMN enspiral.transfers.idempotency_key IS
    'Optional client key, unique per group: a repeated contribute with the same key returns this transfer';

CREATE UNIQUE INDEX transfers_idempotency ON enspiral.transfers (group_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
COMMENT ON INDEX enspiral.transfers_idempotency IS 'Idempotency keys are unique per group';
CREATE UNIQUE INDEX transfers_reversal ON enspiral.transfers (group_id, reverses)
    WHERE reverses IS NOT NULL;
COMMENT ON INDEX enspiral.transfers_reversal IS 'A transfer is reversed (refunded) at most once';
CREATE INDEX transfers_to_from ON enspiral.transfers (group_id, to_account, from_account);
COMMENT ON INDEX enspiral.transfers_to_from IS 'What entered an account, by origin (bucket totals per member, refunds)';

CREATE TABLE enspiral.buckets (
    group_id    bigint NOT NULL,
    bucket_id   bigint GENERATED ALWAYS AS IDENTITY,
    round_id    bigint NOT NULL,
    author_id   bigint NOT NULL,
    title       text NOT NULL CHECK (btrim(title) <> ''),
    min_goal    bigint NOT NULL CHECK (min_goal >= 0),
    max_goal    bigint NOT NULL CHECK (max_goal > 0),
    state       enspiral.bucket_state NOT NULL DEFAULT 'idea',
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    state_changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, bucket_id),
    UNIQUE (bucket_id),
    FOREIGN KEY (group_id, round_id) REFERENCES enspiral.rounds (group_id, round_id),
    CHECK (min_goal <= max_goal)
);
COMMENT ON TABLE enspiral.buckets IS
    'Buckets (projects) of a round with a minimum and maximum goal; their money is the balance of their ledger account';
COMMENT ON COLUMN enspiral.buckets.author_id IS
    'The member who proposed the bucket (checked to be a current member by create_bucket; members are never deleted)';
COMMENT ON COLUMN enspiral.buckets.state IS
    'idea -> open -> funded -> completed; idea/open/funded -> cancelled (checked by the shared bucket lifecycle)';
CREATE INDEX buckets_round ON enspiral.buckets (group_id, round_id, bucket_id);
COMMENT ON INDEX enspiral.buckets_round IS 'The buckets of a round, in lock order';

------------------------------------------------------------------------------
-- Guards: balances change only through transfers; nothing is deleted
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.ledger_apply() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_ledger_apply';
COMMENT ON FUNCTION enspiral.ledger_apply() IS
    'Trigger: applies an inserted transfer to the balances of its two accounts (same round), checking reversals mirror what they reverse';
CREATE TRIGGER ledger_apply AFTER INSERT ON enspiral.transfers
    FOR EACH ROW EXECUTE FUNCTION enspiral.ledger_apply();
COMMENT ON TRIGGER ledger_apply ON enspiral.transfers IS
    'Applies each inserted transfer to the two account balances';

CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON enspiral.transfers
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(
        'The ledger is append-only; correct a transfer with a reversing transfer.');
COMMENT ON TRIGGER transfers_append_only ON enspiral.transfers IS
    'Transfers are never updated or deleted (NS011)';
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON enspiral.transfers
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(
        'The ledger is append-only; correct a transfer with a reversing transfer.');
COMMENT ON TRIGGER transfers_no_truncate ON enspiral.transfers IS
    'The ledger is never truncated (NS011)';

CREATE FUNCTION enspiral.accounts_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_accounts_guard';
COMMENT ON FUNCTION enspiral.accounts_guard() IS
    'Trigger: accounts open at 0, change only through transfers and are never deleted';
CREATE TRIGGER accounts_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.accounts
    FOR EACH ROW EXECUTE FUNCTION enspiral.accounts_guard();
COMMENT ON TRIGGER accounts_guard ON enspiral.accounts IS
    'Accounts open at 0, change only through transfers, are never deleted';
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON enspiral.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.accounts_guard();
COMMENT ON TRIGGER accounts_no_truncate ON enspiral.accounts IS
    'Ledger accounts are never truncated (NS011)';

CREATE FUNCTION enspiral.buckets_guard() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_buckets_guard';
COMMENT ON FUNCTION enspiral.buckets_guard() IS
    'Trigger: buckets start as ideas, change state only along the bucket lifecycle, keep their identity and goals, and are never deleted';
CREATE TRIGGER buckets_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.buckets
    FOR EACH ROW EXECUTE FUNCTION enspiral.buckets_guard();
COMMENT ON TRIGGER buckets_guard ON enspiral.buckets IS
    'Bucket lifecycle, fixed terms, no deletion';
CREATE TRIGGER buckets_no_truncate BEFORE TRUNCATE ON enspiral.buckets
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.buckets_guard();
COMMENT ON TRIGGER buckets_no_truncate ON enspiral.buckets IS
    'Buckets are never truncated (NS011)';

CREATE FUNCTION enspiral.rounds_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
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
COMMENT ON FUNCTION enspiral.rounds_guard() IS
    'Trigger: a round''s terms never change; it is closed once and matched once; never deleted';
CREATE TRIGGER rounds_guard BEFORE UPDATE OR DELETE ON enspiral.rounds
    FOR EACH ROW EXECUTE FUNCTION enspiral.rounds_guard();
COMMENT ON TRIGGER rounds_guard ON enspiral.rounds IS
    'Round terms are fixed; closed once, matched once; never deleted';
CREATE TRIGGER rounds_no_truncate BEFORE TRUNCATE ON enspiral.rounds
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.rounds_guard();
COMMENT ON TRIGGER rounds_no_truncate ON enspiral.rounds IS
    'Rounds are never truncated (NS011)';

------------------------------------------------------------------------------
-- API
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.create_round(group_id bigint, name text, pool bigint,
                                      opens_at timestamptz, closes_at timestamptz,
                                      settings jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid bigint;
    src bigint;
    pool_acct bigint;
BEGIN
    IF group_id IS NULL OR pool IS NULL OR opens_at IS NULL OR closes_at IS NULL
       OR settings IS NULL THEN
        RAISE EXCEPTION 'group_id, pool, opens_at, closes_at and settings must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'round name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pool < 0 THEN
        RAISE EXCEPTION 'round pool must not be negative: %', pool
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF opens_at >= closes_at THEN
        RAISE EXCEPTION 'round must open before it closes'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = create_round.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    INSERT INTO enspiral.rounds (group_id, name, pool, opens_at, closes_at, settings)
    VALUES (create_round.group_id, create_round.name, create_round.pool,
            create_round.opens_at, create_round.closes_at,
            enspiral.normalize_round_settings(create_round.settings))
    RETURNING round_id INTO rid;
    INSERT INTO enspiral.accounts (group_id, round_id, kind)
    VALUES (create_round.group_id, rid, 'source') RETURNING account_id INTO src;
    INSERT INTO enspiral.accounts (group_id, round_id, kind)
    VALUES (create_round.group_id, rid, 'pool') RETURNING account_id INTO pool_acct;
    IF pool > 0 THEN
        INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
        VALUES (create_round.group_id, rid, 'fund', src, pool_acct, create_round.pool);
    END IF;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION enspiral.create_round(bigint, text, bigint, timestamptz, timestamptz, jsonb) IS
    'Creates a round whose pool is funded from the round''s source account; contributions are accepted in [opens_at, closes_at) until close_round';

CREATE FUNCTION enspiral.allocate(round_id bigint, member_ids bigint[] DEFAULT NULL,
                                  weights numeric[] DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_allocate';
COMMENT ON FUNCTION enspiral.allocate(bigint, bigint[], numeric[]) IS
    'Moves the whole undistributed pool to members (all current members equally, or the given members by weight), split exactly by enspiral.apportion; returns the amount moved';

CREATE FUNCTION enspiral.create_bucket(round_id bigint, author_id bigint, title text,
                                       min_goal bigint, max_goal bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds%ROWTYPE;
    bid bigint;
BEGIN
    IF round_id IS NULL OR author_id IS NULL OR min_goal IS NULL OR max_goal IS NULL THEN
        RAISE EXCEPTION 'round_id, author_id, min_goal and max_goal must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF title IS NULL OR btrim(title) = '' THEN
        RAISE EXCEPTION 'bucket title must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF min_goal < 0 OR max_goal <= 0 OR min_goal > max_goal THEN
        RAISE EXCEPTION 'bucket goals must satisfy 0 <= min_goal <= max_goal and max_goal > 0: min_goal %, max_goal %',
            min_goal, max_goal USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- no round lock: a bucket created while the round closes stays an idea
    -- that can no longer be opened
    SELECT * INTO r FROM enspiral.rounds x WHERE x.round_id = create_bucket.round_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'round % does not exist', round_id USING ERRCODE = 'NS201';
    END IF;
    IF r.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'round % is closed; no new buckets', round_id USING ERRCODE = 'NS203';
    END IF;
    IF NOT enspiral.is_member(r.group_id, author_id) THEN
        RAISE EXCEPTION 'member % is not a current member of group %', author_id, r.group_id
            USING ERRCODE = 'NS004';
    END IF;
    INSERT INTO enspiral.buckets (group_id, round_id, author_id, title, min_goal, max_goal)
    VALUES (r.group_id, r.round_id, create_bucket.author_id, create_bucket.title,
            create_bucket.min_goal, create_bucket.max_goal)
    RETURNING bucket_id INTO bid;
    INSERT INTO enspiral.accounts (group_id, round_id, kind, owner_id)
    VALUES (r.group_id, r.round_id, 'bucket', bid);
    RETURN bid;
END
$$;
COMMENT ON FUNCTION enspiral.create_bucket(bigint, bigint, text, bigint, bigint) IS
    'Proposes a bucket (state idea) in an unclosed round, with its ledger account; the author must be a current member';

CREATE FUNCTION enspiral.open_bucket(bucket_id bigint) RETURNS void
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_open_bucket';
COMMENT ON FUNCTION enspiral.open_bucket(bigint) IS
    'idea -> open: the bucket accepts contributions (while its round is open)';

CREATE FUNCTION enspiral.cancel_bucket(bucket_id bigint) RETURNS integer
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_cancel_bucket';
COMMENT ON FUNCTION enspiral.cancel_bucket(bigint) IS
    'idea/open/funded -> cancelled: every contribution (and match) is returned by a reversing transfer, once; returns the number of refunds';

CREATE FUNCTION enspiral.complete_bucket(bucket_id bigint) RETURNS void
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_complete_bucket';
COMMENT ON FUNCTION enspiral.complete_bucket(bigint) IS 'funded -> completed (final)';

CREATE FUNCTION enspiral.contribute(bucket_id bigint, member_id bigint, amount bigint,
                                    idempotency_key text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_contribute';
COMMENT ON FUNCTION enspiral.contribute(bigint, bigint, bigint, text) IS
    'Gives amount from a member''s round balance to an open bucket after checking every rule; returns the transfer id (the original one on an idempotent replay)';

CREATE FUNCTION enspiral.try_contribute(bucket_id bigint, member_id bigint, amount bigint,
                                        idempotency_key text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_try_contribute';
COMMENT ON FUNCTION enspiral.try_contribute(bigint, bigint, bigint, text) IS
    'Like contribute, but a refusal by a contribution rule (round window, bucket state, membership, balance, max_goal, member cap) returns NULL instead of raising, so no savepoint is needed; bad arguments, an unknown bucket and a reused idempotency key still raise';

CREATE FUNCTION enspiral.close_round(round_id bigint) RETURNS integer
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_close_round';
COMMENT ON FUNCTION enspiral.close_round(bigint) IS
    'Closes a round: open buckets at or above min_goal become funded, the others are refunded and cancelled (or kept as funded with underfunded = keep); returns the number of buckets decided';

CREATE FUNCTION enspiral.match_round(round_id bigint, matching_pool bigint,
                                     method text DEFAULT 'standard', cap bigint DEFAULT NULL,
                                     threshold numeric DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_match_round';
COMMENT ON FUNCTION enspiral.match_round(bigint, bigint, text, bigint, numeric) IS
    'After close, once per round: funds the matching account and pays enspiral.quadratic_match over the counted contributions into the funded buckets; returns the amount paid';

CREATE FUNCTION enspiral.balance(round_id bigint, member_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint;
    b bigint;
BEGIN
    SELECT r.group_id INTO gid FROM enspiral.rounds r WHERE r.round_id = balance.round_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'round % does not exist', round_id USING ERRCODE = 'NS201';
    END IF;
    SELECT a.balance INTO b FROM enspiral.accounts a
     WHERE a.group_id = gid AND a.round_id = balance.round_id
       AND a.kind = 'member' AND a.owner_id = balance.member_id;
    RETURN COALESCE(b, 0);
END
$$;
COMMENT ON FUNCTION enspiral.balance(bigint, bigint) IS
    'What the member can still give in the round (0 when nothing was allocated to them)';

CREATE FUNCTION enspiral.bucket_total(bucket_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint;
BEGIN
    SELECT a.balance INTO t FROM enspiral.buckets b
      JOIN enspiral.accounts a ON a.group_id = b.group_id AND a.round_id = b.round_id
       AND a.kind = 'bucket' AND a.owner_id = b.bucket_id
     WHERE b.bucket_id = bucket_total.bucket_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'bucket % does not exist', bucket_id USING ERRCODE = 'NS202';
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION enspiral.bucket_total(bigint) IS
    'What the bucket holds now (contributions and matches, 0 after a refund)';

CREATE FUNCTION enspiral.bucket_state(bucket_id bigint) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text;
BEGIN
    SELECT b.state::text INTO s FROM enspiral.buckets b WHERE b.bucket_id = bucket_state.bucket_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'bucket % does not exist', bucket_id USING ERRCODE = 'NS202';
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION enspiral.bucket_state(bigint) IS
    'State of a bucket: idea, open, funded, completed or cancelled (refunded at close = cancelled)';

CREATE VIEW enspiral.ledger AS
    SELECT t.group_id, t.round_id, t.transfer_id, t.kind,
           fa.kind AS from_kind, fa.owner_id AS from_owner,
           ta.kind AS to_kind, ta.owner_id AS to_owner,
           t.amount, t.reverses, t.idempotency_key, t.created_at
      FROM enspiral.transfers t
      JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account
      JOIN enspiral.accounts ta ON ta.group_id = t.group_id AND ta.account_id = t.to_account;
COMMENT ON VIEW enspiral.ledger IS
    'The transfers with the kind and owner (member or bucket id) of both accounts, for reading';

CREATE FUNCTION enspiral.verify_ledger(group_id bigint) RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH g AS (SELECT $1 AS gid),
    moves AS (
        SELECT t.from_account AS account_id, -t.amount::numeric AS delta
          FROM enspiral.transfers t, g WHERE t.group_id = g.gid
        UNION ALL
        SELECT t.to_account, t.amount::numeric
          FROM enspiral.transfers t, g WHERE t.group_id = g.gid),
    sums AS (SELECT account_id, sum(delta) AS s FROM moves GROUP BY account_id),
    acc AS (
        SELECT a.*, COALESCE(s.s, 0) AS ledger_sum
          FROM enspiral.accounts a CROSS JOIN g
          LEFT JOIN sums s USING (account_id)
         WHERE a.group_id = g.gid),
    contrib AS (
        SELECT b.bucket_id, b.round_id, b.state::text AS state, b.max_goal, ba.balance,
               fa.owner_id AS member_id,
               sum(t.amount) FILTER (WHERE t.kind = 'contribute') AS given,
               sum(t.amount) FILTER (WHERE t.kind = 'contribute'
                   AND NOT EXISTS (SELECT 1 FROM enspiral.transfers x
                                    WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id)) AS kept
          FROM g
          JOIN enspiral.buckets b ON b.group_id = g.gid
          JOIN enspiral.accounts ba ON ba.group_id = b.group_id AND ba.round_id = b.round_id
           AND ba.kind = 'bucket' AND ba.owner_id = b.bucket_id
          LEFT JOIN enspiral.transfers t ON t.group_id = b.group_id AND t.to_account = ba.account_id
          LEFT JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account
         GROUP BY 1, 2, 3, 4, 5, 6)
    -- every balance equals the sum of its entries
    SELECT format('account %s (%s%s) of round %s: balance %s but its transfers sum to %s',
                  account_id, kind, COALESCE(' ' || owner_id, ''), round_id, balance, ledger_sum)
      FROM acc WHERE balance <> ledger_sum
    UNION ALL
    -- no account but the source is negative, the source never positive
    SELECT format('account %s (%s) of round %s has balance %s', account_id, kind, round_id, balance)
      FROM acc WHERE (kind <> 'source' AND balance < 0) OR (kind = 'source' AND balance > 0)
    UNION ALL
    -- conservation: the accounts of a round sum to zero, and what came from
    -- outside is exactly the pool plus the matching pool
    SELECT format('round %s: its accounts sum to %s instead of 0', round_id, sum(balance))
      FROM acc GROUP BY round_id HAVING sum(balance) <> 0
    UNION ALL
    SELECT format('round %s: %s entered from outside but pool + matching pool is %s',
                  r.round_id, -COALESCE(a.balance, 0)::numeric,
                  r.pool::numeric + COALESCE(r.matching_pool, 0))
      FROM enspiral.rounds r CROSS JOIN g
      LEFT JOIN acc a ON a.round_id = r.round_id AND a.kind = 'source'
     WHERE r.group_id = g.gid
       AND -COALESCE(a.balance, 0)::numeric <> r.pool::numeric + COALESCE(r.matching_pool, 0)
    UNION ALL
    -- every transfer stays within one round of the group
    SELECT format('transfer %s of round %s touches account %s, which is not an account of that round',
                  t.transfer_id, t.round_id, x.account_id)
      FROM g JOIN enspiral.transfers t ON t.group_id = g.gid
      CROSS JOIN LATERAL (VALUES (t.from_account), (t.to_account)) x(account_id)
     WHERE NOT EXISTS (SELECT 1 FROM enspiral.accounts a
                        WHERE a.group_id = t.group_id AND a.account_id = x.account_id
                          AND a.round_id = t.round_id)
    UNION ALL
    -- a refund mirrors what it reverses
    SELECT format('refund %s does not mirror transfer %s', r.transfer_id, r.reverses)
      FROM g JOIN enspiral.transfers r ON r.group_id = g.gid AND r.reverses IS NOT NULL
      LEFT JOIN enspiral.transfers o ON o.group_id = r.group_id AND o.transfer_id = r.reverses
     WHERE o.transfer_id IS NULL OR o.from_account <> r.to_account
        OR o.to_account <> r.from_account OR o.amount <> r.amount OR o.round_id <> r.round_id
    UNION ALL
    -- contributions never exceed max_goal nor the per-member cap
    SELECT format('bucket %s holds %s in contributions, above its max_goal %s',
                  bucket_id, sum(kept), max(max_goal))
      FROM contrib GROUP BY bucket_id HAVING sum(kept) > max(max_goal)
    UNION ALL
    SELECT format('member %s gave %s to bucket %s, above max_per_member_per_bucket %s',
                  c.member_id, c.kept, c.bucket_id, r.max_per_member_per_bucket)
      FROM contrib c JOIN enspiral.rounds r ON r.round_id = c.round_id
     WHERE c.kept > r.max_per_member_per_bucket
    UNION ALL
    -- a cancelled bucket holds nothing; a funded bucket reached its goal
    -- (or was decided at close)
    SELECT format('bucket %s is cancelled but holds %s', bucket_id, max(balance))
      FROM contrib WHERE state = 'cancelled' GROUP BY bucket_id HAVING max(balance) <> 0
    UNION ALL
    SELECT format('bucket %s is %s in an unclosed round below its max_goal (%s < %s)',
                  c.bucket_id, c.state, sum(c.kept), max(c.max_goal))
      FROM contrib c JOIN enspiral.rounds r ON r.round_id = c.round_id
     WHERE c.state IN ('funded', 'completed') AND r.closed_at IS NULL
     GROUP BY c.bucket_id, c.state HAVING COALESCE(sum(c.kept), 0) < max(c.max_goal)
$$;
COMMENT ON FUNCTION enspiral.verify_ledger(bigint) IS
    'Recomputes every balance and invariant of a group''s co-budgeting ledger from the transfers; one row per problem, no rows when sound';

SELECT pg_catalog.pg_extension_config_dump('enspiral.rounds', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.transfers', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.buckets', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.rounds_round_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.accounts_account_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.transfers_transfer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.buckets_bucket_id_seq', '');
COMMENT ON SEQUENCE enspiral.rounds_round_id_seq IS 'Identity of enspiral.rounds.round_id';
COMMENT ON SEQUENCE enspiral.accounts_account_id_seq IS 'Identity of enspiral.accounts.account_id (ascending: the lock order of accounts)';
COMMENT ON SEQUENCE enspiral.transfers_transfer_id_seq IS 'Identity of enspiral.transfers.transfer_id';
COMMENT ON SEQUENCE enspiral.buckets_bucket_id_seq IS 'Identity of enspiral.buckets.bucket_id (ascending: the lock order of buckets)';
------------------------------------------------------------------------------
-- Catalyst rotation (README.md (Catalyst rotation)): terms, service limits and coverage
-- enforced by triggers in C, and a planner for the next rotation.
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.catalyst_term_end(starts_on date, months integer) RETURNS date
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_term_end';
COMMENT ON FUNCTION enspiral.catalyst_term_end(date, integer) IS
    'Planned end (exclusive) of a catalyst term of the given whole months: starts_on + months, as date + interval computes it (Jan 31 + 1 month = Feb 28 or 29)';

CREATE FUNCTION enspiral.catalyst_months_begun(starts_on date, ends_on date) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_months_begun';
COMMENT ON FUNCTION enspiral.catalyst_months_begun(date, date) IS
    'Whole months begun in [starts_on, ends_on): the least k with starts_on + k months >= ends_on (what a term counts toward the service limit)';

CREATE TABLE enspiral.catalyst_groups (
    group_id    bigint NOT NULL REFERENCES enspiral.groups,
    changes     bigint NOT NULL DEFAULT 0 CHECK (changes >= 0),
    changed_at  timestamptz,
    PRIMARY KEY (group_id)
);
COMMENT ON TABLE enspiral.catalyst_groups IS
    'One row per group whose catalyst terms changed: every transaction that changes the terms upserts it first, which serializes the rule checks of a group (changes counts those transactions)';

CREATE TABLE enspiral.catalyst_terms (
    group_id        bigint NOT NULL,
    term_id         bigint GENERATED ALWAYS AS IDENTITY,
    member_id       bigint NOT NULL,
    starts_on       date NOT NULL,
    months          integer NOT NULL CHECK (months >= 1),
    days_per_week   numeric NOT NULL CHECK (days_per_week > 0 AND days_per_week <= 7),
    ended_on        date,
    planned_ends_on date NOT NULL
                    GENERATED ALWAYS AS (enspiral.catalyst_term_end(starts_on, months)) STORED,
    period          daterange NOT NULL
                    GENERATED ALWAYS AS (pg_catalog.daterange(starts_on,
                        COALESCE(ended_on, enspiral.catalyst_term_end(starts_on, months)))) STORED,
    months_counted  integer NOT NULL
                    GENERATED ALWAYS AS (enspiral.catalyst_months_begun(starts_on,
                        COALESCE(ended_on, enspiral.catalyst_term_end(starts_on, months)))) STORED,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, term_id),
    UNIQUE (term_id),
    FOREIGN KEY (group_id, member_id) REFERENCES enspiral.members,
    CHECK (ended_on IS NULL OR ended_on > starts_on),
    CHECK (ended_on IS NULL OR ended_on < enspiral.catalyst_term_end(starts_on, months)),
    EXCLUDE USING gist (group_id WITH OPERATOR(pg_catalog.=),
                        member_id WITH OPERATOR(pg_catalog.=),
                        period WITH OPERATOR(pg_catalog.&&))
);
COMMENT ON TABLE enspiral.catalyst_terms IS
    'Catalyst terms: member_id serves from starts_on for months whole months, or until ended_on when ended early; period is the coverage [starts_on, ended_on or planned_ends_on)';
COMMENT ON COLUMN enspiral.catalyst_terms.months IS
    'Planned length in whole months (1 .. catalyst_term_months)';
COMMENT ON COLUMN enspiral.catalyst_terms.ended_on IS
    'First day no longer served when the term was ended early; NULL when it runs to planned_ends_on';
COMMENT ON COLUMN enspiral.catalyst_terms.period IS
    'Days actually covered: [starts_on, COALESCE(ended_on, planned_ends_on))';
COMMENT ON COLUMN enspiral.catalyst_terms.months_counted IS
    'Months counted toward the service limit: whole months begun in period';

CREATE INDEX catalyst_terms_ends ON enspiral.catalyst_terms
    (group_id, (pg_catalog.upper(period)));
COMMENT ON INDEX enspiral.catalyst_terms_ends IS
    'Finds the terms of a group that run past a day (coverage from today on) without reading its history';

CREATE INDEX catalyst_terms_member ON enspiral.catalyst_terms (group_id, member_id, starts_on);
COMMENT ON INDEX enspiral.catalyst_terms_member IS
    'A member''s terms in a group (service limit, planner)';

CREATE FUNCTION enspiral.catalyst_terms_guard() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_terms_guard';
COMMENT ON FUNCTION enspiral.catalyst_terms_guard() IS
    'Trigger: takes the group''s catalyst lock and enforces the row rules (length, days a week, current member, no overlap, service limit, only an early end may change, only unbegun terms are cancelled)';

CREATE FUNCTION enspiral.catalyst_terms_record() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_terms_record';
COMMENT ON FUNCTION enspiral.catalyst_terms_record() IS
    'Trigger: remembers, in backend memory for the transaction, the periods each change removed and added (the coverage check rebuilds the state before the transaction from them)';

-- SECURITY DEFINER: a deferred trigger fires at COMMIT with the rights of
-- the role committing (an application role that may not read the tables),
-- not those of the API function that made the change.
CREATE FUNCTION enspiral.catalyst_terms_check() RETURNS trigger
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_terms_check';
COMMENT ON FUNCTION enspiral.catalyst_terms_check() IS
    'Deferred constraint trigger: the coverage rule, once per changed group at commit';

CREATE FUNCTION enspiral.catalyst_terms_no_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'catalyst terms cannot be truncated'
        USING ERRCODE = 'NS007',
              HINT = 'End terms with enspiral.end_catalyst_term(); cancel unbegun ones with enspiral.cancel_catalyst_term().';
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_terms_no_truncate() IS
    'Trigger: TRUNCATE would bypass the catalyst rules';

CREATE TRIGGER catalyst_terms_guard
    BEFORE INSERT OR UPDATE OR DELETE ON enspiral.catalyst_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_guard();
-- AFTER row triggers of one row fire in name order: catalyst_terms_changes
-- must record a change before catalyst_terms_coverage checks it (which
-- matters under SET CONSTRAINTS ... IMMEDIATE)
CREATE TRIGGER catalyst_terms_changes
    AFTER INSERT OR UPDATE OR DELETE ON enspiral.catalyst_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_record();
CREATE CONSTRAINT TRIGGER catalyst_terms_coverage
    AFTER INSERT OR UPDATE OR DELETE ON enspiral.catalyst_terms
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_check();
CREATE TRIGGER catalyst_terms_no_truncate
    BEFORE TRUNCATE ON enspiral.catalyst_terms
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.catalyst_terms_no_truncate();
COMMENT ON TRIGGER catalyst_terms_guard ON enspiral.catalyst_terms IS
    'Row rules of catalyst terms, checked under the group''s catalyst lock';
COMMENT ON TRIGGER catalyst_terms_changes ON enspiral.catalyst_terms IS
    'Remembers each change''s periods for the commit-time coverage check';
COMMENT ON TRIGGER catalyst_terms_coverage ON enspiral.catalyst_terms IS
    'The coverage rule, deferred to commit (SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE checks earlier)';
COMMENT ON TRIGGER catalyst_terms_no_truncate ON enspiral.catalyst_terms IS
    'TRUNCATE would bypass the catalyst rules';
COMMENT ON SEQUENCE enspiral.catalyst_terms_term_id_seq IS 'Identity of enspiral.catalyst_terms.term_id';

CREATE FUNCTION enspiral.catalyst_member_left() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_member_left';
COMMENT ON FUNCTION enspiral.catalyst_member_left() IS
    'Trigger on memberships: a member who leaves has their terms ended on the day they left (unbegun terms cancelled); exempt from the coverage rule';

CREATE TRIGGER catalyst_member_left
    AFTER UPDATE OF left_at ON enspiral.memberships
    FOR EACH ROW WHEN (OLD.left_at IS NULL AND NEW.left_at IS NOT NULL)
    EXECUTE FUNCTION enspiral.catalyst_member_left();
COMMENT ON TRIGGER catalyst_member_left ON enspiral.memberships IS
    'A member who leaves has their catalyst terms ended (unbegun ones cancelled)';

------------------------------------------------------------------------------
-- API
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.appoint_catalyst(group_id bigint, member_id bigint, starts_on date,
                                          months integer DEFAULT NULL,
                                          days_per_week numeric DEFAULT 1)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint;
BEGIN
    IF group_id IS NULL OR member_id IS NULL OR starts_on IS NULL OR days_per_week IS NULL THEN
        RAISE EXCEPTION 'group_id, member_id, starts_on and days_per_week must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF months IS NULL THEN
        SELECT (g.settings ->> 'catalyst_term_months')::integer INTO months
          FROM enspiral.groups g WHERE g.group_id = appoint_catalyst.group_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
        END IF;
    END IF;
    INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week)
    VALUES (appoint_catalyst.group_id, appoint_catalyst.member_id, appoint_catalyst.starts_on,
            appoint_catalyst.months, appoint_catalyst.days_per_week)
    RETURNING term_id INTO tid;
    RETURN tid;
END
$$;
COMMENT ON FUNCTION enspiral.appoint_catalyst(bigint, bigint, date, integer, numeric) IS
    'Appoints a member catalyst for months whole months (default: the group''s term length) from starts_on and returns the term id; coverage is checked at commit';

-- the term row, locked, or NS301
CREATE FUNCTION enspiral.catalyst_term_for_update(term_id bigint)
    RETURNS enspiral.catalyst_terms
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t enspiral.catalyst_terms;
BEGIN
    IF term_id IS NULL THEN
        RAISE EXCEPTION 'term_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO t FROM enspiral.catalyst_terms c
     WHERE c.term_id = catalyst_term_for_update.term_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'catalyst term % does not exist', term_id USING ERRCODE = 'NS301';
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_term_for_update(bigint) IS
    'Internal: the catalyst term row locked FOR UPDATE, or NS301 when it does not exist';

CREATE FUNCTION enspiral.end_catalyst_term(term_id bigint, ends_on date)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t enspiral.catalyst_terms;
BEGIN
    IF ends_on IS NULL THEN
        RAISE EXCEPTION 'ends_on must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    t := enspiral.catalyst_term_for_update(term_id);
    UPDATE enspiral.catalyst_terms c SET ended_on = end_catalyst_term.ends_on
     WHERE c.group_id = t.group_id AND c.term_id = t.term_id;
END
$$;
COMMENT ON FUNCTION enspiral.end_catalyst_term(bigint, date) IS
    'Ends a catalyst term early: it then covers [starts_on, ends_on); ends_on is today or later and before the current end; coverage is checked at commit';

CREATE FUNCTION enspiral.cancel_catalyst_term(term_id bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t enspiral.catalyst_terms;
BEGIN
    t := enspiral.catalyst_term_for_update(term_id);
    DELETE FROM enspiral.catalyst_terms c
     WHERE c.group_id = t.group_id AND c.term_id = t.term_id;
END
$$;
COMMENT ON FUNCTION enspiral.cancel_catalyst_term(bigint) IS
    'Cancels a catalyst term that has not begun (starts after today); coverage is checked at commit';

CREATE FUNCTION enspiral.catalyst_coverage(group_id bigint, from_date date, to_date date)
    RETURNS TABLE (period daterange, catalysts integer)
    LANGUAGE c STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_coverage';
COMMENT ON FUNCTION enspiral.catalyst_coverage(bigint, date, date) IS
    'Consecutive periods tiling [from_date, to_date), each with its number of serving catalysts (a sweep over term boundaries)';

CREATE FUNCTION enspiral.catalyst_gaps(group_id bigint, from_date date, to_date date)
    RETURNS TABLE (period daterange, catalysts integer)
    LANGUAGE sql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.period, c.catalysts
      FROM enspiral.catalyst_coverage($1, $2, $3) c
     WHERE c.catalysts < (SELECT (g.settings ->> 'min_catalysts')::integer
                            FROM enspiral.groups g WHERE g.group_id = $1)
     ORDER BY c.period
$$;
COMMENT ON FUNCTION enspiral.catalyst_gaps(bigint, date, date) IS
    'The periods of [from_date, to_date) with fewer than min_catalysts serving catalysts';

CREATE FUNCTION enspiral.catalyst_service(group_id bigint, as_of date DEFAULT CURRENT_DATE)
    RETURNS TABLE (member_id bigint, months_served integer, months_left integer,
                   serving boolean, eligible boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_months integer;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT (g.settings ->> 'catalyst_max_months')::integer INTO max_months
      FROM enspiral.groups g WHERE g.group_id = catalyst_service.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    RETURN QUERY
    WITH people AS (
        SELECT ms.member_id FROM enspiral.memberships ms
         WHERE ms.group_id = catalyst_service.group_id AND ms.left_at IS NULL
        UNION
        SELECT t.member_id FROM enspiral.catalyst_terms t
         WHERE t.group_id = catalyst_service.group_id
    ), totals AS (
        SELECT p.member_id,
               COALESCE(sum(CASE WHEN t.starts_on <= as_of
                                 THEN enspiral.catalyst_months_begun(t.starts_on,
                                          LEAST(upper(t.period), as_of + 1)) END), 0)::integer AS served,
               COALESCE(sum(t.months_counted), 0)::integer AS counted,
               COALESCE(bool_or(t.period @> as_of), false) AS serving
          FROM people p
          LEFT JOIN enspiral.catalyst_terms t
            ON t.group_id = catalyst_service.group_id AND t.member_id = p.member_id
         GROUP BY p.member_id
    )
    SELECT s.member_id, s.served, GREATEST(max_months - s.counted, 0), s.serving,
           max_months > s.counted AND EXISTS (
               SELECT 1 FROM enspiral.memberships ms
                WHERE ms.group_id = catalyst_service.group_id
                  AND ms.member_id = s.member_id AND ms.left_at IS NULL)
      FROM totals s
     ORDER BY s.member_id;
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_service(bigint, date) IS
    'Per member (current members and anyone who served): months begun by as_of, months left under the limit (planned terms counted), serving on as_of, eligible for a new term (current member with months left)';

CREATE FUNCTION enspiral.plan_rotation(group_id bigint, from_date date, to_date date)
    RETURNS TABLE (member_id bigint, starts_on date, months integer)
    LANGUAGE c STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_plan_rotation';
COMMENT ON FUNCTION enspiral.plan_rotation(bigint, date, date) IS
    'Proposed appointments that close every gap of [greatest(from_date, today), to_date): each gap filled greedily by eligible members with the fewest counted months, then longest since their last term, then lowest id';

CREATE FUNCTION enspiral.catalyst_timeline(group_id bigint, from_date date, to_date date,
                                           width integer DEFAULT 72)
    RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ndays integer;
    step integer;
    ncols integer;
    min_cat integer;
    line text;
    gapline text;
    m record;
BEGIN
    IF group_id IS NULL OR from_date IS NULL OR to_date IS NULL OR width IS NULL THEN
        RAISE EXCEPTION 'arguments must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT isfinite(from_date) OR NOT isfinite(to_date) THEN
        RAISE EXCEPTION 'from_date and to_date must be finite' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    ndays := to_date - from_date;
    IF width < 1 OR width > 1000 THEN
        RAISE EXCEPTION 'width must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT (g.settings ->> 'min_catalysts')::integer INTO min_cat
      FROM enspiral.groups g WHERE g.group_id = catalyst_timeline.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    IF ndays IS NULL OR ndays <= 0 THEN
        RAISE EXCEPTION 'from_date must be before to_date' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    step := (ndays + width - 1) / width;
    ncols := (ndays + step - 1) / step;
    RETURN NEXT format('%-12s %s .. %s, one column = %s day%s', 'timeline', from_date,
                       to_date - 1, step, CASE WHEN step = 1 THEN '' ELSE 's' END);
    -- month ruler: the first letter of a month in the column where it starts
    SELECT string_agg(COALESCE((SELECT substr(to_char(d, 'FMMonth'), 1, 1)
                                  FROM generate_series(from_date + c * step,
                                                       LEAST(from_date + (c + 1) * step, to_date) - 1,
                                                       interval '1 day') d
                                 WHERE extract(day FROM d) = 1 LIMIT 1), ' '), '' ORDER BY c)
      INTO line FROM generate_series(0, ncols - 1) c;
    RETURN NEXT format('%-12s %s', 'month', line);
    -- one line per member: # serves the whole column, + part of it
    FOR m IN SELECT t.member_id FROM enspiral.catalyst_terms t
              WHERE t.group_id = catalyst_timeline.group_id
                AND t.period && daterange(from_date, to_date)
              GROUP BY t.member_id ORDER BY min(lower(t.period)), t.member_id LOOP
        SELECT string_agg(CASE WHEN covered = cdays THEN '#' WHEN covered > 0 THEN '+' ELSE '.' END,
                          '' ORDER BY c)
          INTO line
          FROM (SELECT c, LEAST(from_date + (c + 1) * step, to_date) - (from_date + c * step) AS cdays,
                       COALESCE((SELECT sum(upper(r) - lower(r))
                                   FROM (SELECT t.period * daterange(from_date + c * step,
                                                    LEAST(from_date + (c + 1) * step, to_date)) AS r
                                           FROM enspiral.catalyst_terms t
                                          WHERE t.group_id = catalyst_timeline.group_id
                                            AND t.member_id = m.member_id) x
                                  WHERE NOT isempty(r)), 0) AS covered
                  FROM generate_series(0, ncols - 1) c) cols;
        RETURN NEXT format('%-12s %s', 'member ' || m.member_id, line);
    END LOOP;
    -- the fewest catalysts on any day of each column, and where that is a gap
    WITH cov AS MATERIALIZED (
        SELECT v.period, v.catalysts
          FROM enspiral.catalyst_coverage(catalyst_timeline.group_id, from_date, to_date) v
    ), cols AS (
        SELECT c, (SELECT min(cov.catalysts) FROM cov
                    WHERE cov.period && daterange(from_date + c * step,
                                                  LEAST(from_date + (c + 1) * step, to_date))) AS n
          FROM generate_series(0, ncols - 1) c
    )
    SELECT string_agg(CASE WHEN n > 9 THEN '*' ELSE n::text END, '' ORDER BY c),
           string_agg(CASE WHEN n < min_cat THEN '!' ELSE ' ' END, '' ORDER BY c)
      INTO line, gapline
      FROM cols;
    RETURN NEXT format('%-12s %s', 'catalysts', line);
    RETURN NEXT rtrim(format('%-12s %s', 'gaps (<' || min_cat || ')', gapline));
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_timeline(bigint, date, date, integer) IS
    'Text drawing of catalyst_coverage over [from_date, to_date): a line per member (# serving the whole column, + part of it), the fewest catalysts per column and the gaps';

-- catalyst_groups holds locks and a counter, no data to keep: dumped empty
-- (so a restore, even a parallel one, never collides with the rows the
-- triggers create while terms are restored)
SELECT pg_catalog.pg_extension_config_dump('enspiral.catalyst_groups', 'WHERE false');
SELECT pg_catalog.pg_extension_config_dump('enspiral.catalyst_terms', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.catalyst_terms_term_id_seq', '');
------------------------------------------------------------------------------
-- Part 90: ownership and privileges.  Runs last, over every object the
-- parts before it created.  README.md (Proof: load, faults, bad input and attack) explains the model:
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
-- although a database owner installed them.  Hand the SECURITY DEFINER
-- functions and the tables, views and sequences to the role that installed
-- the extension, so definer functions never have more rights than that
-- role.  (A superuser install changes nothing.)  Security fix (patched in
-- place): the schema, the types, operators, operator classes and every other
-- function stay with the role running this script, so the installing role
-- can neither replace nor alter code that other roles run implicitly.
DO $$
DECLARE
    ext   oid := (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'enspiral');
    owner name := (SELECT r.rolname FROM pg_catalog.pg_extension e
                     JOIN pg_catalog.pg_roles r ON r.oid = e.extowner WHERE e.extname = 'enspiral');
    obj   record;
BEGIN
    EXECUTE 'ALTER SCHEMA enspiral OWNER TO CURRENT_USER';
    FOR obj IN
        SELECT a.grantee FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
         WHERE n.nspname = 'enspiral' AND a.grantee <> n.nspowner AND a.grantee <> 0
    LOOP
        EXECUTE pg_catalog.format('REVOKE CREATE ON SCHEMA enspiral FROM %I',
                                  pg_catalog.pg_get_userbyid(obj.grantee));
    END LOOP;
    REVOKE CREATE ON SCHEMA enspiral FROM PUBLIC;
    -- Security fix (patched in place): the trigger functions of the
    -- extension's own tables cannot be attached to other tables
    FOR obj IN
        SELECT p.oid::pg_catalog.regprocedure AS fn FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'enspiral'::pg_catalog.regnamespace
           AND p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype
           AND p.proname NOT IN ('guard_lifecycle', 'guard_deadline', 'guard_append_only')
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON ROUTINE %s FROM PUBLIC', obj.fn);
    END LOOP;
    IF owner = CURRENT_USER THEN
        RETURN;
    END IF;
    FOR obj IN
        SELECT pg_catalog.format('ALTER ROUTINE %s OWNER TO %I', p.oid::pg_catalog.regprocedure, owner) AS cmd
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
           AND p.prosecdef
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
    LOOP
        EXECUTE obj.cmd;
    END LOOP;
    -- the definer API calls these internal helpers, which it no longer owns
    FOR obj IN
        SELECT p.oid::pg_catalog.regprocedure AS fn
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refobjid = ext AND d.deptype = 'e'
           AND NOT p.prosecdef AND p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype
           AND NOT pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %I', obj.fn, owner);
    END LOOP;
END
$$;
