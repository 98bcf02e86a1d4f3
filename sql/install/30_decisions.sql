-- enspiral install script, part 30: decisions (proposals, votes, outcomes).
-- doc/decisions.md is the reference.  The state machine, ballot checks,
-- vote casting and instant runoff are in C (src/decisions_proposals.c, decisions_ballots.c,
-- decisions_votes.c, decisions_irv.c); outcome arithmetic is SQL over the stored ballots.

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

CREATE FUNCTION enspiral.check_ballot(method text, options text[], settings jsonb,
                                      ballot text, reason text DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_check_ballot_text';
COMMENT ON FUNCTION enspiral.check_ballot(text, text[], jsonb, text, text) IS
    'enspiral.check_ballot() with the ballot as JSON text: a ballot that is not JSON is NS415 with COLUMN ballot';

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

-- @triggers (tools/triggers.pl): proposals_guard (30_decisions),
--   proposals_events (70_events)
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
    PRIMARY KEY (group_id, proposal_id)
);
COMMENT ON TABLE enspiral.proposals IS
    'Proposals: the stored state plus opens_at/closes_at give the effective state; the trigger proposals_guard enforces the lifecycle and freezes method, options and settings once scheduled';
-- part 80_citus: a plain index instead of UNIQUE (id), so the table can be
-- distributed by group_id (doc/scaling.md)
CREATE INDEX proposals_proposal_id_idx ON enspiral.proposals (proposal_id);
COMMENT ON INDEX enspiral.proposals_proposal_id_idx IS
    'Lookups by proposal_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';
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
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_proposals_guard';
COMMENT ON FUNCTION enspiral.proposals_guard() IS
    'Trigger: every INSERT, UPDATE and DELETE of proposals follows the proposal lifecycle (NS010), frozen columns stay (NS105), state changes wait for votes in flight';

CREATE TRIGGER proposals_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.proposals
    FOR EACH ROW EXECUTE FUNCTION enspiral.proposals_guard();

-- Vote tables have no foreign keys on purpose: a foreign key check would
-- lock the proposal row of every vote; vote() checks the same things.
-- @triggers (tools/triggers.pl): votes_guard (30_decisions),
--   vote_counts (60_read_api), votes_events (70_events)
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
    weight         bigint CHECK (weight >= 0),
    cast_by        bigint,
    PRIMARY KEY (group_id, proposal_id, member_id, history_key),
    CONSTRAINT votes_cast_by CHECK (cast_by <> member_id),
    -- counted (key 0, not superseded) or history (superseded, keyed by its
    -- own id); one expression: every INSERT prepares each CHECK anew
    CONSTRAINT votes_history_key CHECK (CASE WHEN history_key = 0 THEN superseded_at IS NULL
                                             ELSE superseded_at IS NOT NULL AND history_key = vote_id END)
) WITH (fillfactor = 75);
COMMENT ON TABLE enspiral.votes IS
    'Votes of named proposals, normalized ballots; a new vote of a member supersedes the previous one, which stays as history and is never counted';
COMMENT ON COLUMN enspiral.votes.weight IS
    'The voter''s vote weight when the proposal opened, stored by vote() on weighted proposals (NULL: weight 1)';
COMMENT ON COLUMN enspiral.votes.cast_by IS
    'The delegate who cast this vote for the member with vote_as_delegate(); NULL when the member voted itself';
COMMENT ON COLUMN enspiral.votes.history_key IS
    '0 for the counted vote of a member, the vote''s own id once superseded: the primary key allows one counted vote per member and proposal';

-- @triggers (tools/triggers.pl): participations_guard (30_decisions),
--   participations_events (70_events)
CREATE TABLE enspiral.participations (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    member_id    bigint NOT NULL,
    PRIMARY KEY (group_id, proposal_id, member_id)
);
COMMENT ON TABLE enspiral.participations IS
    'Who voted on anonymous proposals (no time, no link to the ballot): one ballot per member';

-- @triggers (tools/triggers.pl): anonymous_ballots_guard (30_decisions)
CREATE TABLE enspiral.anonymous_ballots (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    ballot_id    uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    ballot       jsonb NOT NULL,
    reason       text,
    PRIMARY KEY (group_id, proposal_id, ballot_id)
);
COMMENT ON TABLE enspiral.anonymous_ballots IS
    'Ballots of anonymous proposals: no voter, no time, a random key; see doc/decisions.md for what the physical row order and xmin reveal to a superuser';

-- @triggers (tools/triggers.pl): electorate_additions_guard (30_decisions)
CREATE TABLE enspiral.electorate_additions (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    member_id    bigint NOT NULL,
    added_at     timestamptz NOT NULL,
    PRIMARY KEY (group_id, proposal_id, member_id)
);
COMMENT ON TABLE enspiral.electorate_additions IS
    'Members added explicitly to the electorate of a named proposal (later joiners)';

-- @triggers (tools/triggers.pl): electorate_removals_guard (30_decisions)
CREATE TABLE enspiral.electorate_removals (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    member_id    bigint NOT NULL,
    removed_at   timestamptz NOT NULL,
    restored_at  timestamptz,
    PRIMARY KEY (group_id, proposal_id, member_id, removed_at),
    CHECK (restored_at IS NULL OR restored_at >= removed_at)
);
COMMENT ON TABLE enspiral.electorate_removals IS
    'Members removed from the electorate of a named proposal by enspiral.remove_voter() (history: add_voter() sets restored_at)';
CREATE UNIQUE INDEX electorate_removals_current
    ON enspiral.electorate_removals (group_id, proposal_id, member_id) WHERE restored_at IS NULL;
COMMENT ON INDEX enspiral.electorate_removals_current IS
    'At most one removal in effect per member and proposal: what vote() looks up';

-- @triggers (tools/triggers.pl): vote_weights_history (30_decisions)
CREATE TABLE enspiral.vote_weights (
    group_id    bigint NOT NULL REFERENCES enspiral.groups,
    member_id   bigint NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz,
    weight      bigint NOT NULL CHECK (weight >= 0),
    PRIMARY KEY (group_id, member_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE enspiral.vote_weights IS
    'Vote weights of members (like cooperative shares), as periods: a member without a period in effect weighs 1; tallies read the weights in effect when the proposal opened';
CREATE UNIQUE INDEX vote_weights_current ON enspiral.vote_weights (group_id, member_id)
    WHERE valid_to IS NULL;
COMMENT ON INDEX enspiral.vote_weights_current IS
    'One current weight per member';

-- @triggers (tools/triggers.pl): delegations_history (30_decisions)
CREATE TABLE enspiral.delegations (
    group_id     bigint NOT NULL REFERENCES enspiral.groups,
    from_member  bigint NOT NULL,
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz,
    to_member    bigint NOT NULL,
    PRIMARY KEY (group_id, from_member, valid_from),
    CHECK (to_member <> from_member),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE enspiral.delegations IS
    'Delegations of a member''s vote to another member of the group, as periods; tallies follow the delegations in effect when the proposal opened, transitively';
CREATE UNIQUE INDEX delegations_current ON enspiral.delegations (group_id, from_member)
    WHERE valid_to IS NULL;
COMMENT ON INDEX enspiral.delegations_current IS
    'One current delegation per member';

-- (on Citus the trigger fires on a shard, enspiral.delegations_102040:
-- is_shard_of() tells which table it guards)
CREATE FUNCTION enspiral.rules_history_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'rules_history_guard',
        CASE WHEN TG_TABLE_NAME = 'delegations' OR enspiral.is_shard_of(TG_RELID, 'enspiral.delegations')
             THEN 'enspiral.delegations' ELSE 'enspiral.vote_weights' END::regclass);
    IF TG_OP = 'UPDATE' AND OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL
       AND (to_jsonb(NEW) - 'valid_to') = (to_jsonb(OLD) - 'valid_to') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'history rows cannot be changed or deleted'
        USING ERRCODE = 'NS011',
              DETAIL = pg_catalog.format('Rows of enspiral.%s are history: only the end (valid_to) of the period in effect is set, once.',
                                         TG_TABLE_NAME),
              HINT = 'Use enspiral.set_vote_weight(), enspiral.delegate() and enspiral.undelegate().';
END
$$;
COMMENT ON FUNCTION enspiral.rules_history_guard() IS
    'Trigger: vote weight and delegation periods are append-only; only the open period may be ended (NS011)';
CREATE TRIGGER vote_weights_history BEFORE UPDATE OR DELETE ON enspiral.vote_weights
    FOR EACH ROW EXECUTE FUNCTION enspiral.rules_history_guard();
COMMENT ON TRIGGER vote_weights_history ON enspiral.vote_weights IS
    'Weight periods are history: only the open one is ended';
CREATE TRIGGER delegations_history BEFORE UPDATE OR DELETE ON enspiral.delegations
    FOR EACH ROW EXECUTE FUNCTION enspiral.rules_history_guard();
COMMENT ON TRIGGER delegations_history ON enspiral.delegations IS
    'Delegation periods are history: only the open one is ended';

-- @triggers (tools/triggers.pl): outcomes_guard (30_decisions),
--   outcomes_close_time (30_decisions), outcomes_effects (65_outcomes),
--   outcomes_events (70_events), outcomes_chain_stamp (75_chain)
CREATE TABLE enspiral.outcomes (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    opening      integer NOT NULL,
    outcome      jsonb NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_at    timestamptz,
    PRIMARY KEY (group_id, proposal_id, opening),
    FOREIGN KEY (group_id, proposal_id) REFERENCES enspiral.proposals
);
COMMENT ON TABLE enspiral.outcomes IS
    'The outcome recorded when a proposal closed, one per opening (reopen_count); never changed';
COMMENT ON COLUMN enspiral.outcomes.closed_at IS
    'The close of the opening, the time its ballots and electorate are evaluated at (set by outcomes_close_time); NULL on rows recorded by 0.1.0';

CREATE INDEX memberships_left ON enspiral.memberships (group_id, left_at)
    WHERE left_at IS NOT NULL;
COMMENT ON INDEX enspiral.memberships_left IS
    'Ended membership periods by time: tallies find the voters who left before the evaluation time';

CREATE FUNCTION enspiral.memberships_outcome_guard() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_memberships_outcome_guard';
COMMENT ON FUNCTION enspiral.memberships_outcome_guard() IS
    'Trigger: a membership change waits for outcomes being recorded in its group, never starts or ends a period at or before a recorded opening or close (it moves to now), and never starts a period before the previous one ended';

CREATE TRIGGER memberships_outcome_guard BEFORE INSERT OR UPDATE OF left_at ON enspiral.memberships
    FOR EACH ROW EXECUTE FUNCTION enspiral.memberships_outcome_guard();
COMMENT ON TRIGGER memberships_outcome_guard ON enspiral.memberships IS
    'Recorded outcomes stay reproducible: membership boundaries never move behind a recorded close';

CREATE FUNCTION enspiral.votes_guard() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
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
CREATE TRIGGER electorate_removals_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON enspiral.electorate_removals
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.votes_guard();
COMMENT ON TRIGGER electorate_removals_guard ON enspiral.electorate_removals IS
    'Only enspiral.remove_voter() and enspiral.add_voter() change removals';

CREATE FUNCTION enspiral.outcomes_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'outcomes_guard', 'enspiral.outcomes');
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'recorded outcome cannot be updated'
            USING ERRCODE = 'NS011',
                  DETAIL = pg_catalog.format('The outcome belongs to proposal %s.', OLD.proposal_id),
                  HINT = 'Outcomes are recorded once; enspiral.verify_outcome() recomputes them.';
    END IF;
    RAISE EXCEPTION 'recorded outcome cannot be deleted'
        USING ERRCODE = 'NS011',
              DETAIL = pg_catalog.format('The outcome belongs to proposal %s.', OLD.proposal_id),
              HINT = 'Outcomes are recorded once; enspiral.verify_outcome() recomputes them.';
END
$$;
COMMENT ON FUNCTION enspiral.outcomes_guard() IS
    'Trigger: recorded outcomes are never updated or deleted (NS011)';

CREATE TRIGGER outcomes_guard BEFORE UPDATE OR DELETE ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_guard();

CREATE FUNCTION enspiral.outcomes_close_time() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'outcomes_close_time', 'enspiral.outcomes');
    -- only the current opening closes now; a restored row of an earlier
    -- opening without a close time (recorded by 0.1.0) keeps none
    IF NEW.closed_at IS NULL THEN
        SELECT least(p.closes_at, pg_catalog.statement_timestamp()) INTO NEW.closed_at
          FROM enspiral.proposals p
         WHERE p.group_id = NEW.group_id AND p.proposal_id = NEW.proposal_id
           AND p.reopen_count = NEW.opening;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION enspiral.outcomes_close_time() IS
    'Trigger: stamps a new outcome with the close of its opening (what compute_outcome evaluated), so verify_outcome can recompute every opening after a reopen';
CREATE TRIGGER outcomes_close_time BEFORE INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_close_time();
COMMENT ON TRIGGER outcomes_close_time ON enspiral.outcomes IS
    'Records the close time of the opening with its outcome';

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
                                 options text[] DEFAULT NULL, settings jsonb DEFAULT '{}',
                                 details text DEFAULT NULL)
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
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    IF NOT enspiral.is_member(propose.group_id, propose.author_id, pg_catalog.statement_timestamp()) THEN
        RAISE EXCEPTION 'member is not a current member of the group'
            USING ERRCODE = 'NS004',
                  DETAIL = pg_catalog.format('Member %s is not a current member of group %s.',
                                             author_id, group_id);
    END IF;
    IF title IS NULL OR btrim(title) = '' THEN
        RAISE EXCEPTION 'proposal title must not be empty' USING ERRCODE = 'NS401', COLUMN = 'title';
    END IF;
    IF method IS NULL THEN
        RAISE EXCEPTION 'voting method must not be NULL' USING ERRCODE = 'NS405', COLUMN = 'method';
    END IF;
    INSERT INTO enspiral.proposals (group_id, author_id, title, details, method, options, settings)
    VALUES (propose.group_id, propose.author_id, propose.title, propose.details, propose.method,
            CASE WHEN propose.method = 'consent' AND propose.options = '{}' THEN NULL ELSE propose.options END,
            enspiral.normalize_proposal_settings(propose.method, propose.options, propose.settings))
    RETURNING proposal_id INTO pid;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION enspiral.propose(bigint, bigint, text, text, text[], jsonb, text) IS
    'Creates a draft proposal by a current member and returns its id; method, options and settings are checked and settings completed with defaults; details is free text shown with the title';

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
    -- Citus: the group a group-first caller noted, so that the lookup reads
    -- that group's shard only (doc/scaling.md, "Two-phase commit")
    g bigint := enspiral.noted_group('proposals', proposal_row.proposal_id);
BEGIN
    IF g IS NULL THEN
        SELECT * INTO p FROM enspiral.proposals x WHERE x.proposal_id = proposal_row.proposal_id;
    ELSE
        SELECT * INTO p FROM enspiral.proposals x
         WHERE x.group_id = g AND x.proposal_id = proposal_row.proposal_id;
    END IF;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(NULL, 'proposal', proposal_id);
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
        RAISE EXCEPTION 'closes_at must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', COLUMN = 'closes_at';
    END IF;
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now) = 'open' THEN
        -- already open: a repeat keeps it as it is, a new closes_at moves the
        -- deadline (extend_proposal); it cannot be scheduled again
        IF later THEN
            RAISE EXCEPTION 'open proposal cannot be scheduled'
                USING ERRCODE = 'NS010', COLUMN = 'opens_at',
                      DETAIL = pg_catalog.format('Proposal %s is open.', proposal_id),
                      HINT = 'Call it without opens_at to move the deadline.';
        END IF;
        PERFORM enspiral.extend_proposal(p.group_id, p.proposal_id, open_proposal.closes_at);
        RETURN;
    END IF;
    -- the time order (NS403) is checked by proposals_guard
    IF closes_at <= now THEN
        RAISE EXCEPTION 'deadline must be in the future'
            USING ERRCODE = 'NS402', COLUMN = 'closes_at',
                  DETAIL = pg_catalog.format('The closes_at given for proposal %s is not later than now.',
                                             proposal_id);
    END IF;
    UPDATE enspiral.proposals x
       SET state = CASE WHEN later THEN 'scheduled' ELSE 'open' END::enspiral.proposal_state,
           opens_at = CASE WHEN later THEN open_proposal.opens_at ELSE now END,
           closes_at = open_proposal.closes_at
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.open_proposal(bigint, timestamptz, timestamptz) IS
    'Opens a draft (or scheduled) proposal now, or schedules it when opens_at is in the future; the electorate is the group''s members at the opening time; on an open proposal it moves the deadline like extend_proposal (the same closes_at: no change)';

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
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) <> 'closed' AND NOT enspiral.group_elsewhere(p.group_id) THEN
        UPDATE enspiral.proposals x
           SET state = 'closed',
               closes_at = least(x.closes_at, pg_catalog.statement_timestamp())
         WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
    ELSIF enspiral.group_elsewhere(p.group_id) THEN
        -- Citus: closed on the group's node, where the new closes_at and the
        -- guard's now come from one clock (doc/scaling.md); the group-first
        -- form runs this function there
        PERFORM enspiral.close_proposal(g.group_id, p.proposal_id)
           FROM enspiral.groups g WHERE g.group_id = p.group_id;
        RETURN;
    END IF;
    -- by its group: on Citus the proposal is read on the group's shard only
    PERFORM enspiral.record_outcome(p.group_id, p.proposal_id);
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
    IF p.state = 'withdrawn' THEN
        RETURN;     -- repeating a finished action is a no-op
    END IF;
    UPDATE enspiral.proposals x SET state = 'withdrawn'
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.withdraw_proposal(bigint) IS
    'Withdraws a draft, scheduled or open proposal; it never produces an outcome; on a withdrawn proposal it does nothing';

CREATE FUNCTION enspiral.reopen_proposal(proposal_id bigint, closes_at timestamptz) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
BEGIN
    IF closes_at IS NULL OR closes_at <= pg_catalog.statement_timestamp() THEN
        RAISE EXCEPTION 'deadline must be in the future'
            USING ERRCODE = 'NS402', COLUMN = 'closes_at',
                  DETAIL = pg_catalog.format('Proposal %s can only be reopened with a future closes_at.',
                                             proposal_id);
    END IF;
    IF st <> 'closed' THEN
        RAISE EXCEPTION 'only a closed proposal can be reopened'
            USING ERRCODE = 'NS010',
                  DETAIL = pg_catalog.format('Proposal %s is %s.', proposal_id, st);
    END IF;
    UPDATE enspiral.proposals x SET state = 'open', closes_at = reopen_proposal.closes_at
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.reopen_proposal(bigint, timestamptz) IS
    'Reopens a closed, named proposal until a future closes_at; the outcome of the earlier opening stays recorded';

-- the proposal of a group for the group-first API; NS002 / NS101 when unknown
CREATE FUNCTION enspiral.group_proposal(group_id bigint, proposal_id bigint)
    RETURNS enspiral.proposals
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
BEGIN
    SELECT * INTO p FROM enspiral.proposals x
     WHERE x.group_id = group_proposal.group_id AND x.proposal_id = group_proposal.proposal_id;
    IF NOT FOUND THEN
        PERFORM enspiral.require_group(group_id);
        PERFORM enspiral.raise_not_found(group_id, 'proposal', proposal_id);
    END IF;
    -- Citus: a 0.1.0 form called next looks the proposal up on this node only
    PERFORM enspiral.note_group(group_id, 'proposals', proposal_id);
    RETURN p;
END
$$;
COMMENT ON FUNCTION enspiral.group_proposal(bigint, bigint) IS
    'Internal: the proposals row of a group and id, NS002 for an unknown group, NS101 for an unknown proposal';

-- the same, locked for the edit functions
CREATE FUNCTION enspiral.lock_group_proposal(group_id bigint, proposal_id bigint)
    RETURNS enspiral.proposals
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
BEGIN
    SELECT * INTO p FROM enspiral.proposals x
     WHERE x.group_id = lock_group_proposal.group_id AND x.proposal_id = lock_group_proposal.proposal_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN enspiral.group_proposal(group_id, proposal_id);  -- raises
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION enspiral.lock_group_proposal(bigint, bigint) IS
    'Internal: group_proposal() with the row locked FOR NO KEY UPDATE until the transaction ends';

CREATE FUNCTION enspiral.extend_proposal(group_id bigint, proposal_id bigint, closes_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.lock_group_proposal(group_id, proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
BEGIN
    IF closes_at IS NULL THEN
        RAISE EXCEPTION 'closes_at must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', COLUMN = 'closes_at';
    END IF;
    IF st NOT IN ('open', 'scheduled') THEN
        RAISE EXCEPTION 'deadline of a proposal that is not open or scheduled cannot move'
            USING ERRCODE = 'NS010',
                  DETAIL = pg_catalog.format('Proposal %s is %s.', proposal_id, st),
                  HINT = CASE WHEN st = 'closed' THEN 'Use enspiral.reopen_proposal() with a future closes_at.'
                              ELSE 'Open it with enspiral.open_proposal().' END;
    END IF;
    IF closes_at <= now THEN
        RAISE EXCEPTION 'deadline must be in the future'
            USING ERRCODE = 'NS402', COLUMN = 'closes_at',
                  DETAIL = pg_catalog.format('The closes_at given for proposal %s is not later than now.',
                                             proposal_id);
    END IF;
    -- the time order (NS403) is checked by proposals_guard
    IF closes_at IS DISTINCT FROM p.closes_at THEN
        UPDATE enspiral.proposals x SET closes_at = extend_proposal.closes_at
         WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.extend_proposal(bigint, bigint, timestamptz) IS
    'Moves the deadline of an open or scheduled proposal, later or earlier but never into the past (NS402); votes already cast stay';

CREATE FUNCTION enspiral.update_proposal(group_id bigint, proposal_id bigint, changes jsonb)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.lock_group_proposal(group_id, proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
    k text;
    v jsonb;
BEGIN
    IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'proposal changes must be a JSON object'
            USING ERRCODE = 'NS409', COLUMN = 'changes';
    END IF;
    FOR k, v IN SELECT e.key, e.value FROM jsonb_each(changes) e ORDER BY e.key LOOP
        IF k NOT IN ('title', 'details', 'method', 'options', 'settings') THEN
            RAISE EXCEPTION 'unknown proposal change'
                USING ERRCODE = 'NS409', COLUMN = k,
                      DETAIL = pg_catalog.format('The change given is "%s".', k),
                      HINT = 'Changes may set title, details, method, options and settings.';
        END IF;
        IF (jsonb_typeof(v) <> (CASE k WHEN 'options' THEN 'array' WHEN 'settings' THEN 'object' ELSE 'string' END)
            AND NOT (k IN ('details', 'options') AND v = 'null')) THEN
            RAISE EXCEPTION 'proposal change has the wrong JSON type'
                USING ERRCODE = 'NS409', COLUMN = k,
                      DETAIL = format('Change "%s" must be %s.', k, CASE k WHEN 'options' THEN 'an array of option names or null'
                                                              WHEN 'settings' THEN 'an object'
                                                              WHEN 'details' THEN 'a string or null'
                                                              ELSE 'a string' END);
        END IF;
        IF k IN ('title', 'details') AND st IN ('closed', 'withdrawn') THEN
            RAISE EXCEPTION 'proposal can no longer change'
                USING ERRCODE = 'NS105', COLUMN = k,
                      DETAIL = pg_catalog.format('Proposal %s is %s; title and details can change until the proposal is closed or withdrawn.',
                                                 proposal_id, st);
        END IF;
        IF k IN ('method', 'options', 'settings') AND st <> 'draft' THEN
            RAISE EXCEPTION 'proposal can no longer change'
                USING ERRCODE = 'NS105', COLUMN = k,
                      DETAIL = pg_catalog.format('Proposal %s is %s; method, options and settings can change only in draft.',
                                                 proposal_id, st),
                      HINT = CASE WHEN st = 'scheduled' THEN 'Move it back to draft with enspiral.unschedule_proposal().'
                                  ELSE 'Withdraw it and propose it again.' END;
        END IF;
    END LOOP;
    IF changes ? 'title' AND btrim(changes ->> 'title') = '' THEN
        RAISE EXCEPTION 'proposal title must not be empty' USING ERRCODE = 'NS401', COLUMN = 'title';
    END IF;
    p.title := coalesce(changes ->> 'title', p.title);
    IF changes ? 'details' THEN
        p.details := changes ->> 'details';
    END IF;
    p.method := coalesce(changes ->> 'method', p.method);
    IF changes ? 'options' THEN
        p.options := CASE WHEN changes -> 'options' <> 'null'
                          THEN ARRAY(SELECT jsonb_array_elements_text(changes -> 'options')) END;
    END IF;
    IF changes ?| ARRAY['method', 'options', 'settings'] THEN
        -- settings given replace the old ones; otherwise the old ones are
        -- checked again against the new method and options
        p.settings := enspiral.normalize_proposal_settings(
            p.method, CASE WHEN p.method = 'consent' AND p.options = '{}' THEN NULL ELSE p.options END,
            coalesce(changes -> 'settings',
                     CASE WHEN changes ? 'method' THEN '{}'::jsonb ELSE p.settings END));
        p.options := CASE WHEN p.method = 'consent' AND p.options = '{}' THEN NULL ELSE p.options END;
    END IF;
    UPDATE enspiral.proposals x
       SET title = p.title, details = p.details, method = p.method, options = p.options,
           settings = p.settings
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.update_proposal(bigint, bigint, jsonb) IS
    'Edits a proposal: title and details until it is closed or withdrawn, method, options and settings (replaced and checked, defaults filled in) only in draft; NS409 for an unknown key or type, NS105 naming the key that may not change now';

CREATE FUNCTION enspiral.vote(proposal_id bigint, member_id bigint, ballot jsonb,
                              reason text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_vote';
COMMENT ON FUNCTION enspiral.vote(bigint, bigint, jsonb, text) IS
    'Casts a member''s vote on an open proposal (it replaces the member''s earlier vote, kept as history); returns the vote id, NULL for anonymous ballots';

CREATE FUNCTION enspiral.vote(proposal_id bigint, member_id bigint, ballot text,
                              reason text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_vote_text';
COMMENT ON FUNCTION enspiral.vote(bigint, bigint, text, text) IS
    'enspiral.vote() with the ballot as JSON text (what an untyped literal or a client parameter resolves to): a ballot that is not JSON is NS415 with COLUMN ballot';

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
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT m.member_id FROM enspiral.memberships m
     WHERE m.group_id = $1 AND m.left_at IS NOT NULL AND m.left_at <= $2
       AND NOT EXISTS (SELECT 1 FROM enspiral.memberships c
                        WHERE c.group_id = m.group_id AND c.member_id = m.member_id
                          AND c.joined_at <= $2 AND (c.left_at IS NULL OR c.left_at > $2));
END
$$;
COMMENT ON FUNCTION enspiral.departed_members(bigint, timestamptz) IS
    'Internal: members who left a group at or before t and are not members at t';

CREATE FUNCTION enspiral.counted_ballots(p enspiral.proposals, t timestamptz)
    RETURNS SETOF jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT v.ballot FROM enspiral.votes v
     WHERE NOT (p.settings ->> 'anonymous')::boolean
       AND v.group_id = p.group_id AND v.proposal_id = p.proposal_id
       AND (v.superseded_at IS NULL OR v.superseded_at > $2) AND v.cast_at <= $2
       AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(p.group_id, $2) d)
    UNION ALL
    SELECT b.ballot FROM enspiral.anonymous_ballots b
     WHERE (p.settings ->> 'anonymous')::boolean
       AND b.group_id = p.group_id AND b.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.counted_ballots(enspiral.proposals, timestamptz) IS
    'Internal: the ballots that count at time t: the votes in force at t of members still in the group, or every anonymous ballot';

CREATE FUNCTION enspiral.electorate_members(group_id bigint, proposal_id bigint,
                                            ref timestamptz, t timestamptz)
    RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- frozen at the opening ref: the members then (none with voters =
    -- invited) plus explicit additions; nobody leaves it by leaving the
    -- group, so leaving never makes a quorum easier; remove_voter removals
    -- in effect at t are left out.  A member has at most one period at ref
    -- (memberships exclude overlaps) and additions who were members at ref
    -- are left out of the second branch, so no row comes twice without a
    -- deduplication pass; the removals are read once, hashed (bench
    -- app_read: voters() at 10,000 members)
    RETURN QUERY
    SELECT e.member_id FROM (
        SELECT m.member_id FROM enspiral.memberships m
         WHERE m.group_id = $1 AND m.joined_at <= $3 AND (m.left_at IS NULL OR m.left_at > $3)
           AND NOT EXISTS (SELECT 1 FROM enspiral.proposals x
                            WHERE x.group_id = $1 AND x.proposal_id = $2
                              AND x.settings ->> 'voters' = 'invited')
        UNION ALL
        SELECT a.member_id FROM enspiral.electorate_additions a
         WHERE a.group_id = $1 AND a.proposal_id = $2
           AND NOT (EXISTS (SELECT 1 FROM enspiral.memberships c
                             WHERE c.group_id = $1 AND c.member_id = a.member_id
                               AND c.joined_at <= $3 AND (c.left_at IS NULL OR c.left_at > $3))
                    AND NOT EXISTS (SELECT 1 FROM enspiral.proposals x
                                     WHERE x.group_id = $1 AND x.proposal_id = $2
                                       AND x.settings ->> 'voters' = 'invited'))) e
     WHERE e.member_id NOT IN (SELECT r.member_id FROM enspiral.electorate_removals r
                                WHERE r.group_id = $1 AND r.proposal_id = $2
                                  AND r.removed_at <= $4 AND (r.restored_at IS NULL OR r.restored_at > $4));
END
$$;
COMMENT ON FUNCTION enspiral.electorate_members(bigint, bigint, timestamptz, timestamptz) IS
    'Internal: the electorate of a proposal, frozen at its opening time ref: the members then (none with voters = invited) plus explicit additions, whether or not they are still members, minus remove_voter removals in effect at t';

CREATE FUNCTION enspiral.electorate_size(p enspiral.proposals, ref timestamptz, t timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    members boolean := p.settings ->> 'voters' IS DISTINCT FROM 'invited';
    g bigint := p.group_id;
    pid bigint := p.proposal_id;
    n bigint := 0;
    k bigint;
BEGIN
    -- the size of electorate_members(), counted without listing it:
    -- |members at ref (unless invited)| + |additions who were not| -
    -- |removals in effect at t of either| (a member has at most one
    -- period at ref); test/sql/app_api.sql checks that both agree.  Three
    -- statements, every table in them keyed by the group itself: Citus
    -- routes each to the group's shard, and read every shard for one
    -- statement with three subqueries, or for a subquery keyed only through
    -- the outer row (doc/scaling.md, "Two-phase commit")
    IF members THEN
        SELECT count(*) INTO n FROM enspiral.memberships m
         WHERE m.group_id = g AND m.joined_at <= ref AND (m.left_at IS NULL OR m.left_at > ref);
    END IF;
    SELECT count(*) INTO k FROM enspiral.electorate_additions a
     WHERE a.group_id = g AND a.proposal_id = pid
       AND NOT (members AND EXISTS (SELECT 1 FROM enspiral.memberships c
                                     WHERE c.group_id = g AND c.member_id = a.member_id
                                       AND c.joined_at <= ref AND (c.left_at IS NULL OR c.left_at > ref)));
    n := n + k;
    SELECT count(DISTINCT r.member_id) INTO k FROM enspiral.electorate_removals r
     WHERE r.group_id = g AND r.proposal_id = pid
       AND r.removed_at <= t AND (r.restored_at IS NULL OR r.restored_at > t)
       AND ((members AND EXISTS (SELECT 1 FROM enspiral.memberships c
                                  WHERE c.group_id = g AND c.member_id = r.member_id
                                    AND c.joined_at <= ref AND (c.left_at IS NULL OR c.left_at > ref)))
            OR EXISTS (SELECT 1 FROM enspiral.electorate_additions a
                        WHERE a.group_id = g AND a.proposal_id = pid
                          AND a.member_id = r.member_id));
    RETURN n - k;
END
$$;
COMMENT ON FUNCTION enspiral.electorate_size(enspiral.proposals, timestamptz, timestamptz) IS
    'Internal: the size of enspiral.electorate_members(), counted without listing it: the electorate frozen at the opening time ref';

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
    ref timestamptz := least(coalesce(p.opens_at, t), t);
    -- weights or delegations change a count only when some are in effect
    weighing boolean := NOT anon AND enspiral.weights_in_effect(p, ref);
    n_agree bigint;
    n_abstain bigint;
    n_disagree bigint;
    n_block bigint;
    voted bigint;
    totals jsonb;
    extra jsonb := '{}';
    weights jsonb;
    irv jsonb;
BEGIN
    IF p.method = 'consent' AND NOT weighing THEN
        -- one pass, counting positions in C
        SELECT n[1], n[2], n[3], n[4], n[5]
          INTO n_agree, n_abstain, n_disagree, n_block, voted
          FROM (SELECT enspiral.consent_counts(c.ballot) AS n FROM (SELECT v.ballot FROM enspiral.votes v
                 WHERE NOT anon AND v.group_id = p.group_id AND v.proposal_id = p.proposal_id
                   AND (v.superseded_at IS NULL OR v.superseded_at > t) AND v.cast_at <= t
                   AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(p.group_id, t) d)
                UNION ALL
                SELECT b.ballot FROM enspiral.anonymous_ballots b
                 WHERE anon AND b.group_id = p.group_id AND b.proposal_id = p.proposal_id) c) x;
        RETURN jsonb_build_object('voted', voted,
                                  'totals', jsonb_build_object('agree', n_agree, 'abstain', n_abstain,
                                                               'disagree', n_disagree, 'block', n_block));
    END IF;
    IF p.method IN ('stv', 'schulze', 'copeland', 'count', 'time', 'question', 'check', 'budget') THEN
        -- stv, schulze and copeland count weights: their outcome shows the
        -- direct and delegated weight as the other weighted methods do
        RETURN enspiral.method_tally(p, t)
               || CASE WHEN weighing AND p.method IN ('stv', 'schulze', 'copeland')
                       THEN enspiral.tally_weights(p.group_id, p.proposal_id, ref, t,
                                                   coalesce((p.settings ->> 'weighted')::boolean, false),
                                                   coalesce((p.settings ->> 'delegation')::boolean, false))
                            - 'voted'
                       ELSE '{}' END;
    END IF;
    IF (p.settings ->> 'none_of_the_above')::boolean THEN
        -- the implicit option is counted like the others
        p.options := p.options || 'none_of_the_above'::text;
    END IF;
    IF weighing AND p.method = 'consent' THEN
        -- one pass over the votes counts them and resolves the delegations:
        -- weights by position (a block blocks and an objection objects
        -- whatever its weight, so ballots are counted too), and the direct
        -- and delegated weight
        RETURN enspiral.consent_tally(p.group_id, p.proposal_id, ref, t,
                                      coalesce((p.settings ->> 'weighted')::boolean, false),
                                      coalesce((p.settings ->> 'delegation')::boolean, false));
    END IF;
    IF weighing THEN
        -- direct and delegated weight, and how many votes carry delegated
        -- weight: the sums of tally_ballots(), from the same resolution
        weights := enspiral.tally_weights(p.group_id, p.proposal_id, ref, t,
                                          coalesce((p.settings ->> 'weighted')::boolean, false),
                                          coalesce((p.settings ->> 'delegation')::boolean, false));
        voted := (weights ->> 'voted')::bigint;
        weights := weights - 'voted';
    ELSE
        SELECT count(*) INTO voted FROM enspiral.counted_ballots(p, t);
    END IF;
    IF p.method = 'choice' THEN
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e AS name, sum(b.weight)::bigint AS n
                       FROM enspiral.tally_ballots(p, t, ref, weighing) b, jsonb_array_elements_text(b.ballot) e
                      GROUP BY e) c USING (name);
    ELSIF p.method IN ('score', 'dots', 'quadratic') THEN
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e.key AS name, sum(e.value::bigint * b.weight)::bigint AS n
                       FROM enspiral.tally_ballots(p, t, ref, weighing) b, jsonb_each(b.ballot) e
                      GROUP BY e.key) c USING (name);
    ELSE
        -- ranked: first preferences, Borda points, instant runoff on option positions
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT b.ballot ->> 0 AS name, sum(b.weight)::bigint AS n
                       FROM enspiral.tally_ballots(p, t, ref, weighing) b GROUP BY 1) c USING (name);
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO extra
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e.name, sum((cardinality(p.options) - e.i) * b.weight)::bigint AS n
                       FROM enspiral.tally_ballots(p, t, ref, weighing) b,
                            jsonb_array_elements_text(b.ballot) WITH ORDINALITY e(name, i)
                      GROUP BY e.name) c USING (name);
        extra := jsonb_build_object('borda', extra);
        IF weighing THEN
            SELECT enspiral.instant_runoff_rounds(
                       ARRAY(SELECT array_position(p.options, e.name)::bigint
                               FROM jsonb_array_elements_text(b.ballot) WITH ORDINALITY e(name, i)
                              ORDER BY e.i), b.weight) - 'weight'
              INTO irv
              FROM enspiral.tally_ballots(p, t, ref, weighing) b;
        ELSE
            SELECT enspiral.instant_runoff_rounds(
                       ARRAY(SELECT array_position(p.options, e.name)::bigint
                               FROM jsonb_array_elements_text(b.ballot) WITH ORDINALITY e(name, i)
                              ORDER BY e.i))
              INTO irv
              FROM enspiral.tally_ballots(p, t, ref, weighing) b;
        END IF;
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
    RETURN jsonb_build_object('voted', voted, 'totals', coalesce(totals, '{}')) || extra
           || coalesce(weights, '{}');
END
$$;
COMMENT ON FUNCTION enspiral.compute_tally(enspiral.proposals, timestamptz) IS
    'Internal: totals by option name and the number of counted ballots at time t (ranked: first preferences, Borda points, instant-runoff rounds); with weights or delegations in effect at the opening, totals are weights and "weights" shows direct and delegated weight';

CREATE FUNCTION enspiral.compute_outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
BEGIN
    RETURN enspiral.compute_outcome_at(p, p.reopen_count, st,
                                       CASE WHEN st = 'closed' THEN least(p.closes_at, now) ELSE now END);
END
$$;
COMMENT ON FUNCTION enspiral.compute_outcome(bigint) IS
    'Internal: computes the outcome of a proposal from its ballots now (closed: as of closes_at), ignoring hide_results';

CREATE FUNCTION enspiral.compute_outcome_at(p enspiral.proposals, opening integer,
                                            st enspiral.proposal_state, t timestamptz)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN enspiral.compute_outcome_at(p, opening, st, t,
                                       enspiral.electorate_size(p, least(coalesce(p.opens_at, t), t), t));
END
$$;
COMMENT ON FUNCTION enspiral.compute_outcome_at(enspiral.proposals, integer, enspiral.proposal_state, timestamptz) IS
    'Internal: the outcome of an opening of a proposal in state st, from the ballots in force and the electorate at time t';

-- the same with the size of the electorate counted by the caller
-- (enspiral.proposals() counts it for a page of proposals at once)
CREATE FUNCTION enspiral.compute_outcome_at(p enspiral.proposals, opening integer,
                                            st enspiral.proposal_state, t timestamptz,
                                            electorate bigint)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ref timestamptz := least(coalesce(p.opens_at, t), t);
    s jsonb := p.settings;
    tally jsonb := enspiral.compute_tally(p, t);
    voted bigint := (tally ->> 'voted')::bigint;
    -- with weights in effect, participation and shares are weights
    weighing boolean := tally ? 'weights';
    cast_weight bigint := coalesce((tally #>> '{weights,cast}')::bigint, voted);
    electorate_weight bigint := CASE WHEN weighing THEN enspiral.electorate_weight(p, ref, t)
                                     ELSE electorate END;
    quorum_met boolean := cast_weight * 100 >= (s ->> 'quorum_pct')::numeric * electorate_weight;
    res jsonb;
    agree bigint;
    disagree bigint;
BEGIN
    res := jsonb_build_object('proposal_id', p.proposal_id, 'method', p.method,
                              'state', st::text, 'final', st = 'closed',
                              'opening', opening,
                              'electorate', electorate, 'quorum_pct', s -> 'quorum_pct',
                              'quorum_met', quorum_met) || tally;
    IF weighing THEN
        res := jsonb_set(res, '{weights,electorate}', to_jsonb(electorate_weight));
    END IF;
    IF p.method = 'consent' AND coalesce((s ->> 'silence_is_consent')::boolean, false) THEN
        -- lazy consensus: passes unless someone objects or blocks, even without votes
        res := res || jsonb_build_object(
            'silence_is_consent', true,
            'passed', coalesce(tally #>> '{ballots,block}', tally #>> '{totals,block}')::bigint = 0
                      AND coalesce(tally #>> '{ballots,disagree}', tally #>> '{totals,disagree}')::bigint = 0);
    ELSIF p.method = 'consent' THEN
        agree := (tally #>> '{totals,agree}')::bigint;
        disagree := (tally #>> '{totals,disagree}')::bigint;
        res := res || jsonb_build_object(
            'threshold_pct', s -> 'threshold_pct',
            'threshold_inclusive', s -> 'threshold_inclusive',
            'max_blocks', s -> 'max_blocks',
            'passed', coalesce(tally #>> '{ballots,block}', tally #>> '{totals,block}')::bigint
                      <= (s ->> 'max_blocks')::bigint
                      AND quorum_met
                      AND agree + disagree > 0
                      AND CASE WHEN (s ->> 'threshold_inclusive')::boolean
                               THEN agree * 100 >= (s ->> 'threshold_pct')::numeric * (agree + disagree)
                               ELSE agree * 100 > (s ->> 'threshold_pct')::numeric * (agree + disagree) END);
    ELSIF p.method IN ('stv', 'schulze', 'copeland', 'count', 'time', 'question', 'check', 'budget') THEN
        res := res || enspiral.method_result(p, tally);
    ELSIF p.method <> 'ranked' THEN
        res := res || enspiral.winners_of(tally -> 'totals', voted);
    END IF;
    IF s ->> 'pass_share' IS NOT NULL THEN
        res := enspiral.apply_pass_share(p, res, t, ref, cast_weight, electorate_weight);
    END IF;
    RETURN res;
END
$$;
COMMENT ON FUNCTION enspiral.compute_outcome_at(enspiral.proposals, integer, enspiral.proposal_state, timestamptz, bigint) IS
    'Internal: the outcome of an opening of a proposal in state st, from the ballots in force at time t and the size of the electorate at t (electorate_size() of the opening)';

CREATE FUNCTION enspiral.record_outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE c STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_record_outcome';
COMMENT ON FUNCTION enspiral.record_outcome(bigint) IS
    'Internal: records the outcome of a closed proposal once (waits for votes in flight, counts every committed ballot) and returns it; NULL when not closed';

CREATE FUNCTION enspiral.record_outcome(group_id bigint, proposal_id bigint) RETURNS jsonb
    LANGUAGE c STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_record_group_outcome';
COMMENT ON FUNCTION enspiral.record_outcome(bigint, bigint) IS
    'Internal: record_outcome(proposal_id) for the group''s proposal (NS101 for another group''s); on Citus it runs on the group''s node, where the votes in flight hold their locks';

CREATE FUNCTION enspiral.proposal_written_here(group_id bigint, proposal_id bigint)
    RETURNS boolean
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_proposal_written_here';
COMMENT ON FUNCTION enspiral.proposal_written_here(bigint, bigint) IS
    'Internal: true when this transaction (or a subtransaction) wrote the proposal''s visible row, e.g. a closing not yet committed';

CREATE FUNCTION enspiral.require_results_visible(p enspiral.proposals,
                                                 st enspiral.proposal_state)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- hide_results: doc/decision-rules.md; a member who voted is let in by
    -- enspiral.require_results_visible(group_id, proposal_id, member_id)
    IF enspiral.hide_mode(p.settings) = 'off' THEN
        RETURN;
    END IF;
    IF st <> 'closed' AND enspiral.hide_mode(p.settings) = 'until_vote' THEN
        RAISE EXCEPTION 'results are hidden until the member votes'
            USING ERRCODE = 'NS106',
                  DETAIL = pg_catalog.format('The results of proposal %s are shown to members who voted.',
                                             p.proposal_id),
                  HINT = 'Ask with the member: enspiral.outcome(group_id, proposal_id, member_id).';
    END IF;
    IF st <> 'closed' THEN
        RAISE EXCEPTION 'results are hidden until the proposal closes'
            USING ERRCODE = 'NS106',
                  DETAIL = pg_catalog.format('Proposal %s is not closed.', p.proposal_id);
    END IF;
    IF enspiral.proposal_written_here(p.group_id, p.proposal_id) THEN
        RAISE EXCEPTION 'results are hidden until the closing commits'
            USING ERRCODE = 'NS106',
                  DETAIL = pg_catalog.format('This transaction closed proposal %s (or changed its deadline) and could still roll the closing back.',
                                             p.proposal_id),
                  HINT = 'Commit the closing, then read the results in a later transaction.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_results_visible(enspiral.proposals, enspiral.proposal_state) IS
    'Internal: NS106 unless the results of a hide_results proposal may be read: closed, by a closing that is committed';

CREATE FUNCTION enspiral.outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
    res jsonb;
BEGIN
    PERFORM enspiral.require_results_visible(p, st);
    IF st = 'closed' THEN
        SELECT o.outcome INTO res FROM enspiral.outcomes o
         WHERE o.group_id = p.group_id AND o.proposal_id = p.proposal_id
           AND o.opening = p.reopen_count;
        IF res IS NULL AND pg_catalog.current_setting('transaction_read_only')::boolean THEN
            -- a read-only transaction cannot record it: what would be recorded
            RETURN enspiral.compute_outcome(p.proposal_id);
        END IF;
        RETURN coalesce(res, enspiral.record_outcome(p.proposal_id));
    END IF;
    RETURN enspiral.compute_outcome(p.proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.outcome(bigint) IS
    'The result: once closed, the outcome recorded at close (recorded now if no one has yet; computed without recording in a read-only transaction); before, the running tally unless results are hidden (NS106)';

CREATE FUNCTION enspiral.tally(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
BEGIN
    PERFORM enspiral.require_results_visible(p, st);
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
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
    o record;
BEGIN
    -- a hidden proposal's outcomes only once its closing is committed
    PERFORM enspiral.require_results_visible(p, 'closed');
    FOR o IN SELECT x.opening, x.outcome, x.closed_at FROM enspiral.outcomes x
              WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id
              ORDER BY x.opening LOOP
        opening := o.opening;
        recorded := o.outcome;
        IF o.opening = p.reopen_count THEN
            recomputed := enspiral.compute_outcome(p.proposal_id);
        ELSIF o.closed_at IS NOT NULL THEN
            recomputed := enspiral.compute_outcome_at(p, o.opening, 'closed', o.closed_at);
        ELSE
            recomputed := NULL;     -- recorded by 0.1.0 without its close time
        END IF;
        -- the chain head stamped on the recorded outcome is no part of the count
        matches := CASE WHEN recomputed IS NOT NULL
                        THEN (recorded - '{chain_head,chain_position,effects}'::text[]) = recomputed END;
        RETURN NEXT;
    END LOOP;
    IF st = 'closed' AND NOT EXISTS (SELECT 1 FROM enspiral.outcomes x
                                      WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id
                                        AND x.opening = p.reopen_count) THEN
        opening := p.reopen_count;
        recorded := NULL;
        recomputed := enspiral.compute_outcome(p.proposal_id);
        matches := false;
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.verify_outcome(bigint) IS
    'Recomputes every recorded outcome of a proposal (one row per opening) from its ballots and compares it with the recorded one; a closed opening with nothing recorded gives matches false; matches is NULL for an earlier opening recorded by 0.1.0 (no close time); no rows before the first close; the chain head stamped on a recorded outcome and what its effects did are left out of the comparison';

CREATE FUNCTION enspiral.record_due_closings() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint;
    pid bigint;
    n integer := 0;
BEGIN
    -- the group-first forms: on Citus each runs on its group's node
    FOR gid, pid IN SELECT x.group_id, x.proposal_id FROM enspiral.proposals x
                     WHERE x.state IN ('scheduled', 'open')
                       AND x.closes_at <= pg_catalog.statement_timestamp()
                     ORDER BY x.closes_at, x.proposal_id
    LOOP
        IF enspiral.record_outcome(gid, pid) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    -- rounds past closes_at are settled as close_round() would (a round
    -- closed meanwhile counts nothing: close_round() on it is a no-op)
    FOR gid, pid IN SELECT r.group_id, r.round_id FROM enspiral.rounds r
                     WHERE r.closed_at IS NULL AND r.closes_at <= pg_catalog.statement_timestamp()
                     ORDER BY r.closes_at, r.round_id
    LOOP
        PERFORM enspiral.close_round(gid, pid);
        n := n + 1;
    END LOOP;
    PERFORM enspiral.record_due_events();
    -- the hash chains of the 50 groups linked longest ago, without waiting
    PERFORM enspiral.chain_link_pending(x.group_id, false)
       FROM (SELECT g.group_id FROM enspiral.groups g
               LEFT JOIN enspiral.chain_state s ON s.group_id = g.group_id
              ORDER BY s.linked_below NULLS FIRST, g.group_id LIMIT 50) x;
    RETURN n;
END
$$;
COMMENT ON FUNCTION enspiral.record_due_closings() IS
    'Marks proposals past their deadline closed and records their outcomes, closes rounds past closes_at (close_round), emits the time-driven events due (closing soon, round deadlines, catalyst gaps ahead), then links the hash chains of the 50 groups linked longest ago (never waiting); returns how many proposals and rounds it closed; for pg_cron (correctness never depends on it)';

REVOKE ALL ON FUNCTION enspiral.compute_outcome(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.compute_outcome_at(enspiral.proposals, integer, enspiral.proposal_state, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.compute_outcome_at(enspiral.proposals, integer, enspiral.proposal_state, timestamptz, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.outcomes_close_time() FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.compute_tally(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.counted_ballots(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.record_outcome(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.record_outcome(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.proposal_written_here(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_results_visible(enspiral.proposals, enspiral.proposal_state) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.proposal_row(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.group_proposal(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.lock_group_proposal(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON enspiral.proposals, enspiral.votes, enspiral.participations,
              enspiral.anonymous_ballots, enspiral.electorate_additions, enspiral.outcomes
    FROM PUBLIC;
REVOKE ALL ON enspiral.electorate_removals, enspiral.vote_weights, enspiral.delegations FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.electorate_members(bigint, bigint, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.rules_history_guard() FROM PUBLIC;

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
SELECT pg_catalog.pg_extension_config_dump('enspiral.electorate_removals', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.vote_weights', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.delegations', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.outcomes', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.proposals_proposal_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.votes_vote_id_seq', '');
