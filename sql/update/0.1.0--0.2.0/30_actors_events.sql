-- enspiral update 0.1.0 -> 0.2.0, part 30: actors, roles and events
-- (issue 14; doc/actors-and-events.md).  The objects of install parts
-- 05_actors.sql and 70_events.sql, the new record_due_closings, and the
-- group settings of 0.1.0 groups completed: enforce_permissions is off for
-- them (an admin switches it on), every other new key takes its default.

-- every group existing now was created under 0.1.0: it does not enforce
-- permissions (part 11 may already have filled in the default, true)
UPDATE enspiral.groups g
   SET settings = enspiral.normalize_group_settings(g.settings || '{"enforce_permissions": false}'::jsonb);

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

-- @function enspiral.actor()

------------------------------------------------------------------------------
-- Roles per group, with history
------------------------------------------------------------------------------

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

-- @function enspiral.role_grants_guard()
CREATE TRIGGER role_grants_guard BEFORE UPDATE OR DELETE ON enspiral.role_grants
    FOR EACH ROW EXECUTE FUNCTION enspiral.role_grants_guard();
COMMENT ON TRIGGER role_grants_guard ON enspiral.role_grants IS
    'Role periods are ended once and never deleted';
CREATE TRIGGER role_grants_no_truncate BEFORE TRUNCATE ON enspiral.role_grants
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.role_grants_guard();
COMMENT ON TRIGGER role_grants_no_truncate ON enspiral.role_grants IS
    'Role history is never truncated (NS011)';

-- @function enspiral.check_role(role text)

-- @function enspiral.grant_role(group_id bigint, member_id bigint, role text)

-- @function enspiral.revoke_role(group_id bigint, member_id bigint, role text)

-- @function enspiral.roles(group_id bigint, include_history boolean DEFAULT false)

------------------------------------------------------------------------------
-- Permission checks (called by the triggers of part 70)
------------------------------------------------------------------------------

-- is_admin(): the member holds admin now; locks the role row FOR SHARE so
-- that a revocation waits for this transaction (or, committed first, is seen)
-- @function enspiral.holds_admin(group_id bigint, member_id bigint)

-- @function enspiral.authorize(group_id bigint, action text, author_id bigint, not_by bigint DEFAULT NULL)

REVOKE ALL ON enspiral.role_grants FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.role_grants_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.holds_admin(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.authorize(bigint, text, bigint, bigint) FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.role_grants', '');

------------------------------------------------------------------------------
-- Part 70: the event feed.  doc/actors-and-events.md is the reference.
-- One append-only row per change, written by AFTER triggers on the governed
-- tables in the transaction of the change (so every writer, API or direct,
-- produces events), announced by NOTIFY enspiral_events on commit, and read
-- in commit-safe order by events_since().  The same triggers check the
-- permissions of part 05.
------------------------------------------------------------------------------

-- @function enspiral.next_event_id()

-- @function enspiral.event_horizon()

-- @function enspiral.restoring(rel regclass)

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

-- @function enspiral.emit_event(group_id bigint, kind text, actor bigint, member_id bigint DEFAULT NULL, proposal_id bigint DEFAULT NULL, round_id bigint DEFAULT NULL, bucket_id bigint DEFAULT NULL, term_id bigint DEFAULT NULL, payload jsonb DEFAULT '{}')

-- @function enspiral.events_since(group_id bigint, after_event_id bigint, max_rows integer DEFAULT 1000)

------------------------------------------------------------------------------
-- Triggers: permission checks and events, one function per table
------------------------------------------------------------------------------

-- @function enspiral.groups_events()
CREATE TRIGGER groups_events AFTER UPDATE OF settings ON enspiral.groups
    FOR EACH ROW EXECUTE FUNCTION enspiral.groups_events();
COMMENT ON TRIGGER groups_events ON enspiral.groups IS
    'Permission check and event of group settings changes';

-- @function enspiral.memberships_events()
CREATE TRIGGER memberships_events AFTER INSERT OR UPDATE OF left_at ON enspiral.memberships
    FOR EACH ROW EXECUTE FUNCTION enspiral.memberships_events();
COMMENT ON TRIGGER memberships_events ON enspiral.memberships IS
    'Permission checks and events of membership changes';

-- @function enspiral.role_grants_events()
CREATE TRIGGER role_grants_events AFTER INSERT OR UPDATE OF revoked_at ON enspiral.role_grants
    FOR EACH ROW EXECUTE FUNCTION enspiral.role_grants_events();
COMMENT ON TRIGGER role_grants_events ON enspiral.role_grants IS
    'Permission checks and events of role changes';

-- @function enspiral.proposals_events()
CREATE TRIGGER proposals_events AFTER INSERT OR UPDATE ON enspiral.proposals
    FOR EACH ROW EXECUTE FUNCTION enspiral.proposals_events();
COMMENT ON TRIGGER proposals_events ON enspiral.proposals IS
    'Permission checks and events of proposal changes';

-- @function enspiral.outcomes_events()
CREATE TRIGGER outcomes_events AFTER INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_events();
COMMENT ON TRIGGER outcomes_events ON enspiral.outcomes IS
    'Events of recorded outcomes';

-- Votes: a named vote names its voter; a vote on an anonymous proposal is
-- recorded from the participations row (no ballot table trigger), with no
-- actor and no ballot.  Ballots are never in events.  C: the hot path of
-- vote().
-- @function enspiral.votes_events()
CREATE TRIGGER votes_events AFTER INSERT ON enspiral.votes
    FOR EACH ROW EXECUTE FUNCTION enspiral.votes_events();
COMMENT ON TRIGGER votes_events ON enspiral.votes IS
    'Events of named votes (a superseded vote is history, not an event)';
CREATE TRIGGER participations_events AFTER INSERT ON enspiral.participations
    FOR EACH ROW EXECUTE FUNCTION enspiral.votes_events();
COMMENT ON TRIGGER participations_events ON enspiral.participations IS
    'Events of anonymous votes: no voter, no ballot';

-- @function enspiral.rounds_events()
CREATE TRIGGER rounds_events AFTER INSERT OR UPDATE ON enspiral.rounds
    FOR EACH ROW EXECUTE FUNCTION enspiral.rounds_events();
COMMENT ON TRIGGER rounds_events ON enspiral.rounds IS
    'Permission checks and events of round changes';

-- @function enspiral.buckets_events()
CREATE TRIGGER buckets_events AFTER INSERT OR UPDATE OF state ON enspiral.buckets
    FOR EACH ROW EXECUTE FUNCTION enspiral.buckets_events();
COMMENT ON TRIGGER buckets_events ON enspiral.buckets IS
    'Permission checks and events of bucket changes';

-- Transfers: one event per contribution, refund and member share of an
-- allocation.  C: the hot path of contribute().
-- @function enspiral.transfers_events()
CREATE TRIGGER transfers_events AFTER INSERT ON enspiral.transfers
    FOR EACH ROW EXECUTE FUNCTION enspiral.transfers_events();
COMMENT ON TRIGGER transfers_events ON enspiral.transfers IS
    'Permission checks and events of ledger transfers';

-- @function enspiral.catalyst_terms_events()
CREATE TRIGGER catalyst_terms_events AFTER INSERT OR UPDATE OR DELETE ON enspiral.catalyst_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_events();
COMMENT ON TRIGGER catalyst_terms_events ON enspiral.catalyst_terms IS
    'Permission checks and events of catalyst terms';

------------------------------------------------------------------------------
-- Time-driven events (called by record_due_closings)
------------------------------------------------------------------------------

-- @function enspiral.record_due_events()

REVOKE ALL ON enspiral.events FROM PUBLIC;
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['enspiral.next_event_id()', 'enspiral.restoring(regclass)',
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

-- @function enspiral.record_due_closings()

-- the new API is not for PUBLIC (part 90 does this at install)
REVOKE EXECUTE ON FUNCTION enspiral.grant_role(bigint, bigint, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.revoke_role(bigint, bigint, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.roles(bigint, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.events_since(bigint, bigint, integer) FROM PUBLIC;
