------------------------------------------------------------------------------
-- Part 05: actors, roles and permissions.  doc/actors-and-events.md is the
-- reference.  Who acts: the member argument of vote, propose, contribute,
-- create_bucket ...; for every other change the member named by the
-- transaction-local setting enspiral.actor (SET LOCAL enspiral.actor = '17',
-- as PostgREST and Supabase pass the authenticated user); no actor: the
-- application itself, or the clock (record_due_closings).  Which member may
-- do what is a group setting (may_<action>); the checks run in the triggers
-- of part 70, so they hold for every writer.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- The acting member
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.actor() RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text := pg_catalog.current_setting('enspiral.actor', true);
BEGIN
    -- while a passed proposal's effects apply, the proposal acts, no member
    IF s IS NULL OR s = '' OR enspiral.acting_proposal(NULL) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF s !~ '^[0-9]{1,18}$' THEN
        RAISE EXCEPTION 'setting enspiral.actor must be a member id'
            USING ERRCODE = 'NS503',
                  DETAIL = format('The setting is %L.', s),
                  HINT = 'Use SET LOCAL enspiral.actor = ''<member id>'', or RESET it to act as the application.';
    END IF;
    RETURN s::bigint;
END
$$;
COMMENT ON FUNCTION enspiral.actor() IS
    'The acting member named by the transaction-local setting enspiral.actor, or NULL (the application or the clock acts, or a passed proposal''s effects apply)';

------------------------------------------------------------------------------
-- Roles per group, with history
------------------------------------------------------------------------------

-- @triggers (tools/triggers.pl): role_grants_guard (05_actors),
--   role_grants_no_truncate (05_actors), role_grants_events (70_events)
CREATE TABLE enspiral.role_grants (
    group_id    bigint NOT NULL,
    member_id   bigint NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin')),
    period      integer NOT NULL CHECK (period > 0),
    granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    granted_by  bigint,
    revoked_at  timestamptz,
    revoked_by  bigint,
    PRIMARY KEY (group_id, member_id, role, period),
    FOREIGN KEY (group_id, member_id) REFERENCES enspiral.members,
    CHECK (revoked_at IS NULL OR revoked_at >= granted_at)
);
COMMENT ON TABLE enspiral.role_grants IS
    'Role history: one row per period a member held a role in a group [granted_at, revoked_at); rows are only ever closed, never deleted';
COMMENT ON COLUMN enspiral.role_grants.granted_by IS
    'The acting member who granted the role; NULL when the application or the system did';
COMMENT ON COLUMN enspiral.role_grants.revoked_by IS
    'The acting member who revoked the role; NULL when the application or the system did (a member who leaves loses their roles)';

CREATE UNIQUE INDEX role_grants_current ON enspiral.role_grants (group_id, member_id, role)
    WHERE revoked_at IS NULL;
COMMENT ON INDEX enspiral.role_grants_current IS
    'At most one current period per member and role';

CREATE FUNCTION enspiral.role_grants_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'role_grants_guard', 'enspiral.role_grants');
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'role history cannot be deleted'
            USING ERRCODE = 'NS011', HINT = 'Use enspiral.revoke_role() to end a role.';
    END IF;
    IF OLD.revoked_at IS NOT NULL
       OR (NEW.group_id, NEW.member_id, NEW.role, NEW.period, NEW.granted_at, NEW.granted_by)
          IS DISTINCT FROM
          (OLD.group_id, OLD.member_id, OLD.role, OLD.period, OLD.granted_at, OLD.granted_by) THEN
        RAISE EXCEPTION 'a role period can only be ended, once'
            USING ERRCODE = 'NS007',
                  DETAIL = format('Member %s, role %s, group %s.', OLD.member_id, OLD.role, OLD.group_id),
                  HINT = 'Use enspiral.revoke_role() and enspiral.grant_role().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION enspiral.role_grants_guard() IS
    'Trigger: role periods may only be ended (revoked_at set once) and are never deleted';
CREATE TRIGGER role_grants_guard BEFORE UPDATE OR DELETE ON enspiral.role_grants
    FOR EACH ROW EXECUTE FUNCTION enspiral.role_grants_guard();
COMMENT ON TRIGGER role_grants_guard ON enspiral.role_grants IS
    'Role periods are ended once and never deleted';
CREATE TRIGGER role_grants_no_truncate BEFORE TRUNCATE ON enspiral.role_grants
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.role_grants_guard();
COMMENT ON TRIGGER role_grants_no_truncate ON enspiral.role_grants IS
    'Role history is never truncated (NS011)';

CREATE FUNCTION enspiral.check_role(role text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF role IS NULL OR role NOT IN ('admin') THEN
        RAISE EXCEPTION 'unknown role'
            USING ERRCODE = 'NS504',
                  DETAIL = format('The role %s is not a role of enspiral.', coalesce(quote_literal(role), 'NULL')),
                  HINT = 'Roles are: admin.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.check_role(text) IS
    'Internal: raises NS504 unless role is a known role (admin)';

CREATE FUNCTION enspiral.grant_role(group_id bigint, member_id bigint, role text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    next_period integer;
BEGIN
    IF grant_role.group_id IS NULL OR grant_role.member_id IS NULL THEN
        RAISE EXCEPTION 'group_id and member_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM enspiral.check_role(grant_role.role);
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = grant_role.group_id FOR KEY SHARE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(grant_role.group_id, 'group');
    END IF;
    -- the member row lock orders grants and removals of the same member
    PERFORM 1 FROM enspiral.members m
     WHERE m.group_id = grant_role.group_id AND m.member_id = grant_role.member_id FOR UPDATE;
    IF NOT enspiral.is_member(grant_role.group_id, grant_role.member_id) THEN
        RAISE EXCEPTION 'member is not a current member of the group'
            USING ERRCODE = 'NS004',
                  DETAIL = pg_catalog.format('Member %s is not a current member of group %s.',
                                             grant_role.member_id, grant_role.group_id);
    END IF;
    -- VALUES, not INSERT ... SELECT: Citus would send the row as a COPY,
    -- taken on the shard for the owner's restore (add_member, doc/scaling.md)
    SELECT coalesce(max(x.period), 0) + 1 INTO next_period
      FROM enspiral.role_grants x
     WHERE x.group_id = grant_role.group_id AND x.member_id = grant_role.member_id
       AND x.role = grant_role.role;
    INSERT INTO enspiral.role_grants AS r (group_id, member_id, role, period, granted_by)
    VALUES (grant_role.group_id, grant_role.member_id, grant_role.role, next_period, enspiral.actor())
    ON CONFLICT (group_id, member_id, role) WHERE revoked_at IS NULL DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member already holds the role'
            USING ERRCODE = 'NS505',
                  DETAIL = format('Member %s is %s of group %s already.',
                                  grant_role.member_id, grant_role.role, grant_role.group_id);
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.grant_role(bigint, bigint, text) IS
    'Gives a current member a role in the group (a new period of the role history); needs an admin acting once the group has an admin';

CREATE FUNCTION enspiral.revoke_role(group_id bigint, member_id bigint, role text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF group_id IS NULL OR member_id IS NULL THEN
        RAISE EXCEPTION 'group_id and member_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM enspiral.check_role(role);
    UPDATE enspiral.role_grants r
       SET revoked_at = greatest(pg_catalog.now(), r.granted_at), revoked_by = enspiral.actor()
     WHERE r.group_id = revoke_role.group_id AND r.member_id = revoke_role.member_id
       AND r.role = revoke_role.role AND r.revoked_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member does not hold the role'
            USING ERRCODE = 'NS506',
                  DETAIL = format('Member %s is not %s of group %s.', member_id, role, group_id);
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.revoke_role(bigint, bigint, text) IS
    'Ends a member''s current period of a role; needs an admin acting; the last admin of a group that enforces permissions cannot be revoked';

CREATE FUNCTION enspiral.roles(group_id bigint, include_history boolean DEFAULT false)
    RETURNS TABLE (member_id bigint, role text, period integer, granted_at timestamptz,
                   granted_by bigint, revoked_at timestamptz, revoked_by bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.member_id, r.role, r.period, r.granted_at, r.granted_by, r.revoked_at, r.revoked_by
      FROM enspiral.role_grants r
     WHERE r.group_id = $1 AND ($2 OR r.revoked_at IS NULL)
     ORDER BY r.member_id, r.role, r.period
$$;
COMMENT ON FUNCTION enspiral.roles(bigint, boolean) IS
    'The roles held in a group now (with include_history, every period ever held)';

------------------------------------------------------------------------------
-- Permission checks (called by the triggers of part 70)
------------------------------------------------------------------------------

-- holds_admin(): the member holds admin now; locks the role row FOR SHARE so
-- that a revocation waits for this transaction (or, committed first, is
-- seen).  PL/pgSQL, not LANGUAGE sql: Citus cannot plan a LANGUAGE sql
-- body with parameters on distributed tables (doc/scaling.md)
CREATE FUNCTION enspiral.holds_admin(group_id bigint, member_id bigint) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM enspiral.role_grants r
                    WHERE r.group_id = holds_admin.group_id
                      AND r.member_id = holds_admin.member_id AND r.role = 'admin'
                      AND r.revoked_at IS NULL
                      FOR SHARE);
END
$$;
COMMENT ON FUNCTION enspiral.holds_admin(bigint, bigint) IS
    'Internal: whether the member is an admin of the group now (locks the role period FOR SHARE, so a concurrent revocation is ordered with the action)';

CREATE FUNCTION enspiral.authorize(group_id bigint, action text, author_id bigint,
                                   not_by bigint DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s jsonb;
    actor bigint;
    right_needed text;
BEGIN
    -- a passed proposal may take every action it declared (checked then)
    IF enspiral.acting_proposal(authorize.group_id) IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT g.settings INTO s FROM enspiral.groups g WHERE g.group_id = authorize.group_id;
    right_needed := coalesce(s ->> ('may_' || action), 'admin');
    IF right_needed = 'proposal' THEN
        -- settings changes are judged under the settings before them too
        -- (groups_events): the change that locks them needs an admin
        IF action <> 'change_settings' THEN
            PERFORM enspiral.proposal_required(authorize.group_id, action);
        END IF;
        right_needed := 'admin';
    END IF;
    IF NOT coalesce((s ->> 'enforce_permissions')::boolean, false) THEN
        RETURN;
    END IF;
    actor := enspiral.actor();
    IF actor IS NULL THEN
        IF (s ->> 'require_actor')::boolean THEN
            RAISE EXCEPTION 'an acting member is required'
                USING ERRCODE = 'NS502',
                      DETAIL = format('Group %s requires an acting member for %s.', group_id, action),
                      HINT = 'SET LOCAL enspiral.actor = ''<member id>'' in the transaction.';
        END IF;
        RETURN;
    END IF;
    IF right_needed = 'anyone' THEN
        RETURN;
    END IF;
    IF NOT enspiral.is_member(authorize.group_id, actor) THEN
        RAISE EXCEPTION 'permission denied'
            USING ERRCODE = 'NS501',
                  DETAIL = format('Action %s needs the right %s; member %s is not a current member of group %s.',
                                  action, right_needed, actor, group_id);
    END IF;
    IF actor IS DISTINCT FROM not_by AND (right_needed = 'member'
       OR (right_needed IN ('author', 'author_or_admin') AND actor = author_id)
       OR (right_needed IN ('admin', 'author_or_admin') AND enspiral.holds_admin(authorize.group_id, actor))) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'permission denied'
        USING ERRCODE = 'NS501',
              DETAIL = format('Action %s needs the right %s in group %s; member %s does not have it.',
                              action, right_needed, group_id, actor),
              HINT = CASE WHEN right_needed IN ('admin', 'author_or_admin')
                          THEN 'An admin of the group can act, or grant the role with enspiral.grant_role().' END;
END
$$;
COMMENT ON FUNCTION enspiral.authorize(bigint, text, bigint, bigint) IS
    'Internal: raises NS501 (NS502) unless the acting member (never not_by) has the right the group settings give the action (may_<action>); a no-op while enforce_permissions is off or when no actor is named (unless require_actor); an action whose right is proposal is refused (NS620) unless a passed proposal''s effects apply, whatever the actor and enforce_permissions';

REVOKE ALL ON enspiral.role_grants FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.role_grants_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.holds_admin(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.authorize(bigint, text, bigint, bigint) FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.role_grants', '');
