------------------------------------------------------------------------------
-- Part 70: the event feed.  doc/actors-and-events.md is the reference.
-- One append-only row per change, written by AFTER triggers on the governed
-- tables in the transaction of the change (so every writer, API or direct,
-- produces events), announced by NOTIFY enspiral_events on commit, and read
-- in commit-safe order by events_since().  The same triggers check the
-- permissions of part 05.
------------------------------------------------------------------------------

-- The node's event id offset (src/actors_event_ids.c): event ids are
-- (transaction id + offset) * 2^22 + n; 0 until a shard move or a restore
-- brings higher ids (raise_event_ids).  A sequence: each Citus node keeps
-- its own, read without a snapshot; never dumped (it belongs to the node).
CREATE SEQUENCE enspiral.event_id_offset AS bigint MINVALUE 0 START 0 NO CYCLE;
COMMENT ON SEQUENCE enspiral.event_id_offset IS
    'This node''s event id offset: event ids are (transaction id + offset) * 2^22 + n; raised by enspiral.distribute() (enspiral.raise_event_ids()) and, on a single server, by a restore of enspiral.events';

CREATE FUNCTION enspiral.next_event_id() RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'enspiral_next_event_id';
COMMENT ON FUNCTION enspiral.next_event_id() IS
    'Internal: the next event id of this transaction: (its full transaction id + the node''s offset) times 2^22 plus the number of the event in the transaction';

CREATE FUNCTION enspiral.event_horizon() RETURNS bigint
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'enspiral_event_horizon';
COMMENT ON FUNCTION enspiral.event_horizon() IS
    'The lowest event id a running or future transaction may still commit (the oldest transaction of the snapshot still running in this database, or the snapshot''s xmax, plus the node''s offset, as an event id): events below it are final';

CREATE FUNCTION enspiral.raise_event_ids(above bigint) RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_raise_event_ids';
COMMENT ON FUNCTION enspiral.raise_event_ids(bigint) IS
    'Internal (enspiral.distribute() runs it on every node): this node numbers every new event above the given id (raises enspiral.event_id_offset, after the transactions numbering with the old offset end); returns the offset';

CREATE FUNCTION enspiral.restoring(rel regclass) RETURNS boolean
    LANGUAGE c STABLE STRICT
    AS 'MODULE_PATHNAME', 'enspiral_restoring';
COMMENT ON FUNCTION enspiral.restoring(regclass) IS
    'Internal: true while the owner restores the table with a top-level COPY FROM (restored rows bring their events along)';

-- @triggers (tools/triggers.pl): events_id (70_events),
--   events_append_only (70_events), events_no_truncate (70_events)
CREATE TABLE enspiral.events (
    group_id     bigint NOT NULL,
    event_id     bigint NOT NULL,
    at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
    kind         text NOT NULL,
    actor        bigint,
    member_id    bigint,
    proposal_id  bigint,
    round_id     bigint,
    bucket_id    bigint,
    term_id      bigint,
    payload      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (group_id, event_id)
);
COMMENT ON TABLE enspiral.events IS
    'The event feed: one row per change, written in the transaction of the change; append-only; read with enspiral.events_since()';
COMMENT ON COLUMN enspiral.events.event_id IS
    'Increases with the writing transaction''s id (not with commit order): events_since() returns only ids below enspiral.event_horizon()';
COMMENT ON COLUMN enspiral.events.at IS
    'Start of the writing transaction';
COMMENT ON COLUMN enspiral.events.actor IS
    'The acting member; NULL when the application (no enspiral.actor) or the clock acted, and always for votes on anonymous proposals';
COMMENT ON COLUMN enspiral.events.payload IS
    'Details of the change by kind (never a ballot)';

-- events_id: on Citus the id must be numbered on the node of the group's
-- shard, in the transaction that stores it (src/actors_event_ids.c).
-- Disabled on a single server, where every id is numbered in the storing
-- transaction already (the trigger would only cost the hot paths);
-- enspiral.distribute() enables it before it distributes the table.
CREATE FUNCTION enspiral.events_id() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_events_id';
COMMENT ON FUNCTION enspiral.events_id() IS
    'Trigger (on the shards on Citus; disabled on a single server): keeps the event id this session has just numbered in this transaction, and restored ids; numbers every other new event here';
CREATE TRIGGER events_id BEFORE INSERT ON enspiral.events
    FOR EACH ROW EXECUTE FUNCTION enspiral.events_id();
ALTER TABLE enspiral.events DISABLE TRIGGER events_id;
COMMENT ON TRIGGER events_id ON enspiral.events IS
    'On Citus (enabled by enspiral.distribute(); disabled on a single server): event ids are numbered on the shard''s node, in the transaction that stores the event';

CREATE INDEX events_reminders ON enspiral.events (group_id, kind, proposal_id, round_id)
    WHERE kind IN ('proposal_closing_soon', 'round_deadline_passed', 'catalyst_gap_ahead');
COMMENT ON INDEX enspiral.events_reminders IS
    'Time-driven events already sent: record_due_closings() emits each once';

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON enspiral.events
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(
        'Events are append-only.');
COMMENT ON TRIGGER events_append_only ON enspiral.events IS
    'Events are never updated or deleted (NS011)';
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON enspiral.events
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(
        'Events are append-only.');
COMMENT ON TRIGGER events_no_truncate ON enspiral.events IS
    'Events are never truncated (NS011)';

-- notify_event(): the one way an event queues NOTIFY enspiral_events
-- (src/core_notify.c): at once on a single server, deferred to commit when
-- enspiral.events is distributed by Citus (a transaction that Citus prepares
-- for two-phase commit cannot have a NOTIFY queued)
CREATE FUNCTION enspiral.notify_event(group_id bigint, event_id bigint) RETURNS void
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_notify_event_sql';
COMMENT ON FUNCTION enspiral.notify_event(bigint, bigint) IS
    'Internal: queues NOTIFY enspiral_events {"group_id", "event_id"} (delivered on commit only; on Citus deferred to the commit, also of a prepared transaction)';
REVOKE ALL ON FUNCTION enspiral.notify_event(bigint, bigint) FROM PUBLIC;

CREATE FUNCTION enspiral.emit_event(group_id bigint, kind text, actor bigint,
                                    member_id bigint DEFAULT NULL, proposal_id bigint DEFAULT NULL,
                                    round_id bigint DEFAULT NULL, bucket_id bigint DEFAULT NULL,
                                    term_id bigint DEFAULT NULL, payload jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    eid bigint := enspiral.next_event_id();
BEGIN
    INSERT INTO enspiral.events (group_id, event_id, kind, actor, member_id, proposal_id,
                                 round_id, bucket_id, term_id, payload)
    VALUES ($1, eid, $2, $3, $4, $5, $6, $7, $8,
            -- a passed proposal's effects: the proposal is the actor
            CASE WHEN enspiral.acting_proposal($1) IS NULL THEN coalesce($9, '{}')
                 ELSE coalesce($9, '{}') || jsonb_build_object('acting_proposal_id', enspiral.acting_proposal($1)) END)
    -- the id stored: on Citus, numbered on the shard's node (events_id)
    RETURNING event_id INTO eid;
    PERFORM enspiral.notify_event($1, eid);
    RETURN eid;
END
$$;
COMMENT ON FUNCTION enspiral.emit_event(bigint, text, bigint, bigint, bigint, bigint, bigint, bigint, jsonb) IS
    'Internal: appends an event and queues NOTIFY enspiral_events {"group_id", "event_id"} (delivered on commit only); while a passed proposal''s effects apply, the payload names it (acting_proposal_id); votes and contributions are recorded in C (src/actors_events.c)';

CREATE FUNCTION enspiral.events_since(group_id bigint, after_event_id bigint,
                                      max_rows integer DEFAULT 1000)
    RETURNS SETOF enspiral.events
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF group_id IS NULL THEN
        RAISE EXCEPTION 'group_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'max_rows must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- one statement: the horizon comes from the snapshot that reads the rows
    -- hide_totals: the amounts of contributions and refunds of a round that
    -- hides its totals are left out until the close (doc/budgeting.md)
    RETURN QUERY
        SELECT (CASE WHEN h.round_id IS NULL OR e.kind NOT IN ('contribution', 'refund') THEN e
                     ELSE jsonb_populate_record(e, jsonb_build_object('payload', e.payload - 'amount'))
                END).*
          FROM enspiral.events e
          LEFT JOIN enspiral.rounds h
            ON h.group_id = e.group_id AND h.round_id = e.round_id
           AND (h.settings ->> 'hide_totals')::boolean AND h.closed_at IS NULL
         WHERE e.group_id = events_since.group_id
           AND e.event_id > coalesce(after_event_id, 0)
           AND e.event_id < enspiral.event_horizon()
         ORDER BY e.event_id
         LIMIT max_rows;
END
$$;
COMMENT ON FUNCTION enspiral.events_since(bigint, bigint, integer) IS
    'The events of a group after after_event_id (0 or NULL: from the start), oldest first, at most max_rows, only those no transaction still running can precede: a consumer that passes the last id it processed never misses an event and never sees one twice; the amounts of contributions and refunds are left out while their round hides totals';

------------------------------------------------------------------------------
-- Triggers: permission checks and events, one function per table
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.group_settings_changed(group_id bigint) RETURNS void
    LANGUAGE c STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_group_settings_changed';
COMMENT ON FUNCTION enspiral.group_settings_changed(bigint) IS
    'Internal: called by groups_events when a group''s settings change; every backend forgets the settings it remembered (notify_votes_and_contributions of the hot paths)';
REVOKE EXECUTE ON FUNCTION enspiral.group_settings_changed(bigint) FROM PUBLIC;

CREATE FUNCTION enspiral.groups_events() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'groups_events', 'enspiral.groups');
    IF NEW.settings IS DISTINCT FROM OLD.settings THEN
        -- settings locked to proposals (may_change_settings = proposal)
        -- change only by a passed proposal's effect
        IF OLD.settings ->> 'may_change_settings' = 'proposal' THEN
            PERFORM enspiral.proposal_required(NEW.group_id, 'change_settings');
        END IF;
        -- checked under the new settings: switching enforcement on with an
        -- actor named needs that actor to be an admin
        PERFORM enspiral.authorize(NEW.group_id, 'change_settings', NULL);
        PERFORM enspiral.group_settings_changed(NEW.group_id);
        PERFORM enspiral.emit_event(NEW.group_id, 'settings_changed', enspiral.actor(),
                                    payload => (SELECT jsonb_object_agg(n.key, n.value)
                                                  FROM jsonb_each(NEW.settings) n
                                                 WHERE OLD.settings -> n.key IS DISTINCT FROM n.value));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION enspiral.groups_events() IS
    'Trigger: changing group settings needs an admin while permissions are enforced (judged under the new settings); records settings_changed with the changed keys';
CREATE TRIGGER groups_events AFTER UPDATE OF settings ON enspiral.groups
    FOR EACH ROW EXECUTE FUNCTION enspiral.groups_events();
COMMENT ON TRIGGER groups_events ON enspiral.groups IS
    'Permission check and event of group settings changes';

CREATE FUNCTION enspiral.memberships_events() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'memberships_events', 'enspiral.memberships');
    IF TG_OP = 'INSERT' THEN
        IF enspiral.restoring(TG_RELID) THEN
            RETURN NULL;
        END IF;
        -- until a group has an admin, members are added freely (bootstrap)
        IF EXISTS (SELECT 1 FROM enspiral.role_grants r
                    WHERE r.group_id = NEW.group_id AND r.role = 'admin' AND r.revoked_at IS NULL) THEN
            PERFORM enspiral.authorize(NEW.group_id, 'add_member', NULL);
        END IF;
        PERFORM enspiral.emit_event(NEW.group_id, 'member_added', enspiral.actor(), NEW.member_id,
                                    payload => jsonb_build_object('period', NEW.period));
    ELSIF OLD.left_at IS NULL AND NEW.left_at IS NOT NULL THEN
        -- a member may always leave; removing another needs the right
        IF enspiral.actor() IS DISTINCT FROM NEW.member_id THEN
            PERFORM enspiral.authorize(NEW.group_id, 'remove_member', NEW.member_id);
        END IF;
        -- a member who leaves holds no role
        UPDATE enspiral.role_grants r SET revoked_at = greatest(NEW.left_at, r.granted_at)
         WHERE r.group_id = NEW.group_id AND r.member_id = NEW.member_id AND r.revoked_at IS NULL;
        PERFORM enspiral.emit_event(NEW.group_id, 'member_removed', enspiral.actor(), NEW.member_id,
                                    payload => jsonb_build_object('period', NEW.period));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION enspiral.memberships_events() IS
    'Trigger: checks may_add_member / may_remove_member and records member_added / member_removed; a member who leaves loses their roles';
CREATE TRIGGER memberships_events AFTER INSERT OR UPDATE OF left_at ON enspiral.memberships
    FOR EACH ROW EXECUTE FUNCTION enspiral.memberships_events();
COMMENT ON TRIGGER memberships_events ON enspiral.memberships IS
    'Permission checks and events of membership changes';

CREATE FUNCTION enspiral.role_grants_events() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'role_grants_events', 'enspiral.role_grants');
    DECLARE
        enforce boolean;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF enspiral.restoring(TG_RELID) THEN
                RETURN NULL;
            END IF;
            -- the first admin of a group is granted freely (bootstrap); nobody
            -- grants themselves a role (the new row would count as their right)
            IF EXISTS (SELECT 1 FROM enspiral.role_grants r
                        WHERE r.group_id = NEW.group_id AND r.role = 'admin' AND r.revoked_at IS NULL
                          AND r.member_id <> NEW.member_id) THEN
                PERFORM enspiral.authorize(NEW.group_id, 'grant_role',
                                           NULL, NEW.member_id);
            END IF;
            PERFORM enspiral.emit_event(NEW.group_id, 'role_granted', enspiral.actor(), NEW.member_id,
                                        payload => jsonb_build_object('role', NEW.role, 'period', NEW.period));
        ELSIF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
            -- roles end with the membership without anyone's right
            IF enspiral.is_member(NEW.group_id, NEW.member_id) THEN
                -- an admin may step down; revoking another needs an admin
                IF enspiral.actor() IS DISTINCT FROM NEW.member_id THEN
                    PERFORM enspiral.authorize(NEW.group_id, 'revoke_role', NULL);
                END IF;
                SELECT (g.settings ->> 'enforce_permissions')::boolean INTO enforce
                  FROM enspiral.groups g WHERE g.group_id = NEW.group_id;
                IF enforce AND NEW.role = 'admin'
                   AND NOT EXISTS (SELECT 1 FROM enspiral.role_grants r
                                    WHERE r.group_id = NEW.group_id AND r.role = 'admin'
                                      AND r.revoked_at IS NULL AND r.member_id <> NEW.member_id) THEN
                    RAISE EXCEPTION 'the last admin of a group cannot be revoked'
                        USING ERRCODE = 'NS507',
                              DETAIL = format('Member %s is the only admin of group %s.', NEW.member_id, NEW.group_id),
                              HINT = 'Grant the role to another member first.';
                END IF;
            END IF;
            PERFORM enspiral.emit_event(NEW.group_id, 'role_revoked', enspiral.actor(), NEW.member_id,
                                        payload => jsonb_build_object('role', NEW.role, 'period', NEW.period));
        END IF;
        RETURN NULL;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.role_grants_events() IS
    'Trigger: granting and revoking roles needs an admin (the first admin of a group excepted; the last admin stays while permissions are enforced); records role_granted / role_revoked';
CREATE TRIGGER role_grants_events AFTER INSERT OR UPDATE OF revoked_at ON enspiral.role_grants
    FOR EACH ROW EXECUTE FUNCTION enspiral.role_grants_events();
COMMENT ON TRIGGER role_grants_events ON enspiral.role_grants IS
    'Permission checks and events of role changes';

CREATE FUNCTION enspiral.proposals_events() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'proposals_events', 'enspiral.proposals');
    DECLARE
        now timestamptz := pg_catalog.statement_timestamp();
        action text;
        kind text;
        actor bigint;
        by_clock boolean := false;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NOT enspiral.restoring(TG_RELID) THEN
                PERFORM enspiral.emit_event(NEW.group_id, 'proposal_created', NEW.author_id,
                                            proposal_id => NEW.proposal_id,
                                            payload => jsonb_build_object('title', NEW.title, 'method', NEW.method));
            END IF;
            RETURN NULL;
        END IF;
        IF NEW.state <> OLD.state THEN
            IF NEW.state = 'closed' THEN
                action := 'close_proposal';
                kind := 'proposal_closed';
                by_clock := OLD.closes_at IS NOT NULL AND OLD.closes_at <= now;
            ELSIF NEW.state = 'withdrawn' THEN
                action := 'withdraw_proposal';
                kind := 'proposal_withdrawn';
            ELSIF NEW.state = 'open' AND OLD.state = 'closed' THEN
                action := 'reopen_proposal';
                kind := 'proposal_reopened';
            ELSIF NEW.state = 'draft' THEN
                action := 'edit_proposal';
                kind := 'proposal_unscheduled';
            ELSE
                action := 'open_proposal';
                kind := 'proposal_opened';
                by_clock := OLD.state = 'scheduled' AND NEW.opens_at IS NOT DISTINCT FROM OLD.opens_at
                            AND OLD.opens_at <= now;
            END IF;
        ELSIF (NEW.title, NEW.details, NEW.method, NEW.options, NEW.settings)
              IS DISTINCT FROM (OLD.title, OLD.details, OLD.method, OLD.options, OLD.settings) THEN
            action := 'edit_proposal';
            kind := 'proposal_updated';
        ELSIF (NEW.opens_at, NEW.closes_at) IS DISTINCT FROM (OLD.opens_at, OLD.closes_at) THEN
            action := 'edit_proposal';
            kind := 'proposal_extended';
        ELSE
            RETURN NULL;
        END IF;
        IF by_clock THEN
            actor := NULL;
        ELSE
            actor := enspiral.actor();
            PERFORM enspiral.authorize(NEW.group_id, action, NEW.author_id);
        END IF;
        PERFORM enspiral.emit_event(NEW.group_id, kind, actor, proposal_id => NEW.proposal_id,
                                    payload => jsonb_build_object('state', NEW.state::text,
                                                                  'opens_at', NEW.opens_at,
                                                                  'closes_at', NEW.closes_at,
                                                                  'opening', NEW.reopen_count,
                                                                  'by', CASE WHEN by_clock THEN 'deadline' ELSE 'actor' END));
        RETURN NULL;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.proposals_events() IS
    'Trigger: checks the right of the change (may_open/close/withdraw/reopen/edit_proposal; none for what a deadline does) and records proposal_created / opened / updated / extended / unscheduled / closed / withdrawn / reopened';
CREATE TRIGGER proposals_events AFTER INSERT OR UPDATE ON enspiral.proposals
    FOR EACH ROW EXECUTE FUNCTION enspiral.proposals_events();
COMMENT ON TRIGGER proposals_events ON enspiral.proposals IS
    'Permission checks and events of proposal changes';

CREATE FUNCTION enspiral.outcomes_events() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'outcomes_events', 'enspiral.outcomes');
    IF NOT enspiral.restoring(TG_RELID) THEN
        PERFORM enspiral.emit_event(NEW.group_id, 'outcome_recorded', NULL, proposal_id => NEW.proposal_id,
                                    payload => jsonb_build_object('opening', NEW.opening, 'outcome', NEW.outcome));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION enspiral.outcomes_events() IS
    'Trigger: records outcome_recorded with the outcome (totals only; no ballot, no voter)';
CREATE TRIGGER outcomes_events AFTER INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_events();
COMMENT ON TRIGGER outcomes_events ON enspiral.outcomes IS
    'Events of recorded outcomes';

-- Votes: a named vote names its voter; a vote on an anonymous proposal is
-- recorded from the participations row (no ballot table trigger), with no
-- actor and no ballot.  Ballots are never in events.  C: the hot path of
-- vote().
CREATE FUNCTION enspiral.votes_events() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_votes_events';
COMMENT ON FUNCTION enspiral.votes_events() IS
    'Trigger: records vote_cast: the voter for a named proposal, neither voter nor ballot for an anonymous one; NOTIFY only with notify_votes_and_contributions';
CREATE TRIGGER votes_events AFTER INSERT ON enspiral.votes
    FOR EACH ROW EXECUTE FUNCTION enspiral.votes_events();
COMMENT ON TRIGGER votes_events ON enspiral.votes IS
    'Events of named votes (a superseded vote is history, not an event)';
CREATE TRIGGER participations_events AFTER INSERT ON enspiral.participations
    FOR EACH ROW EXECUTE FUNCTION enspiral.votes_events();
COMMENT ON TRIGGER participations_events ON enspiral.participations IS
    'Events of anonymous votes: no voter, no ballot';

CREATE FUNCTION enspiral.rounds_events() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'rounds_events', 'enspiral.rounds');
    DECLARE
        by_clock boolean;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NOT enspiral.restoring(TG_RELID) THEN
                PERFORM enspiral.authorize(NEW.group_id, 'create_round', NULL);
                PERFORM enspiral.emit_event(NEW.group_id, 'round_created', enspiral.actor(), round_id => NEW.round_id,
                                            payload => jsonb_build_object('name', NEW.name, 'pool', NEW.pool,
                                                                          'opens_at', NEW.opens_at,
                                                                          'closes_at', NEW.closes_at));
            END IF;
            RETURN NULL;
        END IF;
        IF OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL THEN
            -- a round past its closes_at is closed by the clock: no right needed
            by_clock := OLD.closes_at <= pg_catalog.statement_timestamp();
            IF NOT by_clock THEN
                PERFORM enspiral.authorize(NEW.group_id, 'close_round', NULL);
            END IF;
            PERFORM enspiral.emit_event(NEW.group_id, 'round_closed', CASE WHEN NOT by_clock THEN enspiral.actor() END,
                                        round_id => NEW.round_id,
                                        payload => jsonb_build_object('by', CASE WHEN by_clock THEN 'deadline' ELSE 'actor' END));
        END IF;
        IF OLD.matched_at IS NULL AND NEW.matched_at IS NOT NULL THEN
            PERFORM enspiral.authorize(NEW.group_id, 'match_round', NULL);
            PERFORM enspiral.emit_event(NEW.group_id, 'round_matched', enspiral.actor(), round_id => NEW.round_id,
                                        payload => jsonb_build_object('matching_pool', NEW.matching_pool));
        END IF;
        RETURN NULL;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.rounds_events() IS
    'Trigger: checks may_create_round / may_close_round (not after closes_at) / may_match_round and records round_created / round_closed / round_matched';
CREATE TRIGGER rounds_events AFTER INSERT OR UPDATE ON enspiral.rounds
    FOR EACH ROW EXECUTE FUNCTION enspiral.rounds_events();
COMMENT ON TRIGGER rounds_events ON enspiral.rounds IS
    'Permission checks and events of round changes';

CREATE FUNCTION enspiral.buckets_events() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'buckets_events', 'enspiral.buckets');
    DECLARE
        closed boolean;
        action text;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NOT enspiral.restoring(TG_RELID) THEN
                PERFORM enspiral.emit_event(NEW.group_id, 'bucket_created', NEW.author_id, round_id => NEW.round_id,
                                            bucket_id => NEW.bucket_id,
                                            payload => jsonb_build_object('title', NEW.title, 'min_goal', NEW.min_goal,
                                                                          'max_goal', NEW.max_goal));
            END IF;
            RETURN NULL;
        END IF;
        IF NEW.state = OLD.state THEN
            RETURN NULL;
        END IF;
        -- close_round decides the open buckets of the round it closes
        SELECT r.closed_at IS NOT NULL INTO closed FROM enspiral.rounds r
         WHERE r.group_id = NEW.group_id AND r.round_id = NEW.round_id;
        action := CASE NEW.state::text WHEN 'open' THEN 'open_bucket' WHEN 'completed' THEN 'complete_bucket'
                                       WHEN 'cancelled' THEN 'cancel_bucket' END;
        IF action IS NOT NULL AND NOT (closed AND OLD.state::text = 'open') THEN
            PERFORM enspiral.authorize(NEW.group_id, action, NEW.author_id);
        END IF;
        PERFORM enspiral.emit_event(NEW.group_id,
                                    CASE NEW.state::text WHEN 'open' THEN 'bucket_opened'
                                                         ELSE 'bucket_' || NEW.state::text END,
                                    enspiral.actor(),
                                    round_id => NEW.round_id, bucket_id => NEW.bucket_id,
                                    payload => jsonb_build_object('from', OLD.state::text));
        RETURN NULL;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.buckets_events() IS
    'Trigger: checks may_open_bucket / may_cancel_bucket / may_complete_bucket (not for what close_round decides) and records bucket_created / opened / funded / cancelled / completed';
CREATE TRIGGER buckets_events AFTER INSERT OR UPDATE OF state ON enspiral.buckets
    FOR EACH ROW EXECUTE FUNCTION enspiral.buckets_events();
COMMENT ON TRIGGER buckets_events ON enspiral.buckets IS
    'Permission checks and events of bucket changes';

-- Transfers: one event per contribution, refund and member share of an
-- allocation.  C: the hot path of contribute().
CREATE FUNCTION enspiral.transfers_events() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_transfers_events';
COMMENT ON FUNCTION enspiral.transfers_events() IS
    'Trigger: checks may_allocate and records round_allocated (one per member share), contribution and refund; NOTIFY for contributions only with notify_votes_and_contributions';
CREATE TRIGGER transfers_events AFTER INSERT ON enspiral.transfers
    FOR EACH ROW EXECUTE FUNCTION enspiral.transfers_events();
COMMENT ON TRIGGER transfers_events ON enspiral.transfers IS
    'Permission checks and events of ledger transfers';

CREATE FUNCTION enspiral.catalyst_terms_events() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'catalyst_terms_events', 'enspiral.catalyst_terms');
    DECLARE
        r enspiral.catalyst_terms;
        -- a member who left has their terms ended by the system
        left_group boolean;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NOT enspiral.restoring(TG_RELID) THEN
                PERFORM enspiral.authorize(NEW.group_id, 'appoint_catalyst', NULL);
                PERFORM enspiral.emit_event(NEW.group_id, 'catalyst_term_appointed', enspiral.actor(), NEW.member_id,
                                            term_id => NEW.term_id,
                                            payload => jsonb_build_object('starts_on', NEW.starts_on, 'months', NEW.months,
                                                                          'days_per_week', NEW.days_per_week));
            END IF;
            RETURN NULL;
        END IF;
        r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        IF TG_OP = 'UPDATE' AND NEW.ended_on IS NOT DISTINCT FROM OLD.ended_on THEN
            RETURN NULL;
        END IF;
        left_group := NOT enspiral.is_member(r.group_id, r.member_id);
        IF NOT left_group THEN
            PERFORM enspiral.authorize(r.group_id, CASE TG_OP WHEN 'DELETE' THEN 'cancel_catalyst_term'
                                                              ELSE 'end_catalyst_term' END, NULL);
        END IF;
        PERFORM enspiral.emit_event(r.group_id, CASE TG_OP WHEN 'DELETE' THEN 'catalyst_term_cancelled'
                                                           ELSE 'catalyst_term_ended' END,
                                    CASE WHEN NOT left_group THEN enspiral.actor() END, r.member_id, term_id => r.term_id,
                                    payload => jsonb_build_object('starts_on', r.starts_on, 'ended_on', r.ended_on,
                                                                  'member_left', left_group));
        RETURN NULL;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_terms_events() IS
    'Trigger: checks may_appoint_catalyst / may_end_catalyst_term / may_cancel_catalyst_term (not when the member left) and records catalyst_term_appointed / ended / cancelled';
CREATE TRIGGER catalyst_terms_events AFTER INSERT OR UPDATE OR DELETE ON enspiral.catalyst_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_events();
COMMENT ON TRIGGER catalyst_terms_events ON enspiral.catalyst_terms IS
    'Permission checks and events of catalyst terms';

------------------------------------------------------------------------------
-- Time-driven events (called by record_due_closings)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.record_due_events() RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now timestamptz := pg_catalog.statement_timestamp();
    x record;
    n integer := 0;
BEGIN
    -- proposals closing within the group's closing_soon_hours, once per opening
    FOR x IN SELECT p.group_id, p.proposal_id, p.closes_at, p.reopen_count
               FROM enspiral.proposals p JOIN enspiral.groups g USING (group_id)
              WHERE p.state IN ('scheduled', 'open') AND p.closes_at > now
                AND (g.settings ->> 'closing_soon_hours')::integer > 0
                AND p.closes_at - pg_catalog.make_interval(hours => (g.settings ->> 'closing_soon_hours')::integer) <= now
                AND enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now) = 'open'
                AND NOT EXISTS (SELECT 1 FROM enspiral.events e
                                 WHERE e.group_id = p.group_id AND e.kind = 'proposal_closing_soon'
                                   AND e.proposal_id = p.proposal_id
                                   AND (e.payload ->> 'opening')::integer = p.reopen_count)
              ORDER BY p.closes_at, p.proposal_id LOOP
        PERFORM enspiral.emit_event(x.group_id, 'proposal_closing_soon', NULL, proposal_id => x.proposal_id,
                                    payload => jsonb_build_object('closes_at', x.closes_at, 'opening', x.reopen_count));
        n := n + 1;
    END LOOP;
    -- rounds past their deadline and not closed yet, once
    FOR x IN SELECT r.group_id, r.round_id, r.closes_at FROM enspiral.rounds r
              WHERE r.closed_at IS NULL AND r.closes_at <= now
                AND NOT EXISTS (SELECT 1 FROM enspiral.events e
                                 WHERE e.group_id = r.group_id AND e.kind = 'round_deadline_passed'
                                   AND e.round_id = r.round_id)
              ORDER BY r.closes_at, r.round_id LOOP
        PERFORM enspiral.emit_event(x.group_id, 'round_deadline_passed', NULL, round_id => x.round_id,
                                    payload => jsonb_build_object('closes_at', x.closes_at));
        n := n + 1;
    END LOOP;
    -- catalyst coverage gaps starting within catalyst_notice_days, once per gap start
    FOR x IN SELECT g.group_id, gap.period, gap.catalysts
               FROM enspiral.groups g,
                    enspiral.catalyst_gaps(g.group_id, CURRENT_DATE,
                                           CURRENT_DATE + (g.settings ->> 'catalyst_notice_days')::integer) gap
              WHERE (g.settings ->> 'catalyst_notice_days')::integer > 0
                AND (g.settings ->> 'min_catalysts')::integer > 0
                AND EXISTS (SELECT 1 FROM enspiral.catalyst_terms t WHERE t.group_id = g.group_id)
                AND NOT EXISTS (SELECT 1 FROM enspiral.events e
                                 WHERE e.group_id = g.group_id AND e.kind = 'catalyst_gap_ahead'
                                   AND (e.payload ->> 'starts_on')::date = lower(gap.period))
              ORDER BY g.group_id, gap.period LOOP
        PERFORM enspiral.emit_event(x.group_id, 'catalyst_gap_ahead', NULL,
                                    payload => jsonb_build_object('starts_on', lower(x.period),
                                                                  'ends_on', upper(x.period),
                                                                  'catalysts', x.catalysts));
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION enspiral.record_due_events() IS
    'Internal: emits the time-driven events due now, each once: proposal_closing_soon, round_deadline_passed, catalyst_gap_ahead; returns how many';

REVOKE ALL ON enspiral.events FROM PUBLIC;
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['enspiral.next_event_id()', 'enspiral.restoring(regclass)',
                             'enspiral.raise_event_ids(bigint)', 'enspiral.events_id()',
                             'enspiral.emit_event(bigint,text,bigint,bigint,bigint,bigint,bigint,bigint,jsonb)',
                             'enspiral.groups_events()',
                             'enspiral.memberships_events()',
                             'enspiral.role_grants_events()', 'enspiral.proposals_events()',
                             'enspiral.outcomes_events()', 'enspiral.votes_events()',
                             'enspiral.rounds_events()', 'enspiral.buckets_events()',
                             'enspiral.transfers_events()', 'enspiral.catalyst_terms_events()',
                             'enspiral.record_due_events()'] LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
SELECT pg_catalog.pg_extension_config_dump('enspiral.events', '');
