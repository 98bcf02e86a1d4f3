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
            USING ERRCODE = 'NS401', COLUMN = 'name';
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

CREATE FUNCTION enspiral.require_group(group_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = require_group.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
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
        RAISE EXCEPTION 'member % does not exist in group %', member_id, group_id
            USING ERRCODE = 'NS003';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_member(bigint, bigint) IS
    'Internal: raises NS002 unless the group exists, NS003 unless the member belongs to it (now or in the past)';
REVOKE ALL ON FUNCTION enspiral.require_group(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_member(bigint, bigint) FROM PUBLIC;

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
            USING ERRCODE = 'NS401', COLUMN = 'member_key';
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
