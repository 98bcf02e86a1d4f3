-- Part 20: the application surface (doc/application.md): read API, edit
-- API, form errors with their own SQLSTATEs (NS401-NS409), repeat-is-a-no-op,
-- rounds closed by record_due_closings(), verify_outcome over every opening.

-- outcomes remember the close of their opening (rows of 0.1.0 keep NULL)
ALTER TABLE enspiral.outcomes ADD COLUMN closed_at timestamptz;
COMMENT ON COLUMN enspiral.outcomes.closed_at IS
    'The close of the opening, the time its ballots and electorate are evaluated at (set by outcomes_close_time); NULL on rows recorded by 0.1.0';
-- @function enspiral.outcomes_close_time()
-- outcomes of 0.1.0 for the current opening of a closed proposal closed at
-- its closes_at; earlier openings have no known close time and keep NULL
ALTER TABLE enspiral.outcomes DISABLE TRIGGER outcomes_guard;
UPDATE enspiral.outcomes o SET closed_at = p.closes_at
  FROM enspiral.proposals p
 WHERE p.group_id = o.group_id AND p.proposal_id = o.proposal_id
   AND p.reopen_count = o.opening AND p.state = 'closed';
ALTER TABLE enspiral.outcomes ENABLE TRIGGER outcomes_guard;
CREATE TRIGGER outcomes_close_time BEFORE INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_close_time();
COMMENT ON TRIGGER outcomes_close_time ON enspiral.outcomes IS
    'Records the close time of the opening with its outcome';

-- base: NS401 for empty names, NS002 for unknown groups
-- @function enspiral.require_group(group_id bigint)
-- @function enspiral.require_member(group_id bigint, member_id bigint)
-- @function enspiral.create_group(name text, settings jsonb DEFAULT '{}')
-- @function enspiral.add_member(group_id bigint, member_key text)
-- @function enspiral.member_id(group_id bigint, member_key text)

-- decisions
DROP FUNCTION enspiral.propose(bigint, bigint, text, text, text[], jsonb);
-- @function enspiral.propose(group_id bigint, author_id bigint, title text, method text, options text[] DEFAULT NULL, settings jsonb DEFAULT '{}', details text DEFAULT NULL)
-- @function enspiral.open_proposal(proposal_id bigint, closes_at timestamptz, opens_at timestamptz DEFAULT NULL)
-- @function enspiral.withdraw_proposal(proposal_id bigint)
-- @function enspiral.reopen_proposal(proposal_id bigint, closes_at timestamptz)
-- @function enspiral.counted_ballots(p enspiral.proposals, t timestamptz)
-- @function enspiral.compute_tally(p enspiral.proposals, t timestamptz)
-- @function enspiral.compute_outcome(proposal_id bigint)
-- @function enspiral.outcome(proposal_id bigint)
-- @function enspiral.verify_outcome(proposal_id bigint)
-- @function enspiral.record_due_closings()
-- @function enspiral.group_proposal(group_id bigint, proposal_id bigint)
-- @function enspiral.lock_group_proposal(group_id bigint, proposal_id bigint)
-- @function enspiral.extend_proposal(group_id bigint, proposal_id bigint, closes_at timestamptz)
-- @function enspiral.update_proposal(group_id bigint, proposal_id bigint, changes jsonb)
-- @function enspiral.compute_outcome_at(p enspiral.proposals, opening integer, st enspiral.proposal_state, t timestamptz)

-- co-budgeting
-- @function enspiral.normalize_round_settings(settings jsonb)
-- @function enspiral.create_round(group_id bigint, name text, pool bigint, opens_at timestamptz, closes_at timestamptz, settings jsonb DEFAULT '{}')
-- @function enspiral.create_bucket(round_id bigint, author_id bigint, title text, min_goal bigint, max_goal bigint)
-- @function enspiral.balance(round_id bigint, member_id bigint)
-- @function enspiral.verify_ledger(group_id bigint)
-- @function enspiral.catalyst_timeline(group_id bigint, from_date date, to_date date, width integer DEFAULT 72)

-- the read API (install part 60_read_api.sql)
CREATE INDEX proposals_group_closing ON enspiral.proposals
    (group_id, closes_at DESC NULLS LAST, proposal_id DESC);
COMMENT ON INDEX enspiral.proposals_group_closing IS
    'The proposals of a group in the order enspiral.proposals() lists them: open proposals (future deadlines) first';

CREATE INDEX rounds_due ON enspiral.rounds (closes_at) WHERE closed_at IS NULL;
COMMENT ON INDEX enspiral.rounds_due IS
    'Rounds not closed yet by deadline: what record_due_closings() scans';

------------------------------------------------------------------------------
-- Internal helpers
------------------------------------------------------------------------------

-- the time a proposal is evaluated at now: its close once closed, else now
-- @function enspiral.evaluation_time(p enspiral.proposals, st enspiral.proposal_state, now timestamptz)

-- @function enspiral.effective_round_state(opens_at timestamptz, closes_at timestamptz, closed_at timestamptz, at timestamptz DEFAULT NULL)

-- the round of a group; NS002 / NS201 when unknown
-- @function enspiral.group_round(group_id bigint, round_id bigint)

------------------------------------------------------------------------------
-- Members
------------------------------------------------------------------------------

-- @function enspiral.members(group_id bigint, at timestamptz DEFAULT NULL)

------------------------------------------------------------------------------
-- Proposals, ballots, stances, voters
------------------------------------------------------------------------------

-- @function enspiral.proposals(group_id bigint, only_state text DEFAULT NULL, max_rows integer DEFAULT NULL)

-- @function enspiral.ballot(group_id bigint, proposal_id bigint, member_id bigint)

-- @function enspiral.stances(group_id bigint, proposal_id bigint)

-- @function enspiral.voters(group_id bigint, proposal_id bigint)

------------------------------------------------------------------------------
-- Rounds, buckets, contributions, balances
------------------------------------------------------------------------------

-- @function enspiral.round_state(group_id bigint, round_id bigint)

-- @function enspiral.rounds(group_id bigint)

-- @function enspiral.buckets(group_id bigint, round_id bigint)

-- @function enspiral.contributions(group_id bigint, round_id bigint)

-- @function enspiral.balances(group_id bigint, round_id bigint)

------------------------------------------------------------------------------
-- Catalyst terms
------------------------------------------------------------------------------

-- @function enspiral.catalyst_terms(group_id bigint)

REVOKE ALL ON FUNCTION enspiral.evaluation_time(enspiral.proposals, enspiral.proposal_state, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.group_round(bigint, bigint) FROM PUBLIC;

-- privileges as part 90 sets them: internal functions are not for PUBLIC,
-- API functions (SECURITY DEFINER) only for the roles grant_application()
-- is called for (call it again after the update for the new functions)
REVOKE ALL ON FUNCTION enspiral.require_group(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_member(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.compute_outcome_at(enspiral.proposals, integer, enspiral.proposal_state, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.outcomes_close_time() FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.group_proposal(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.lock_group_proposal(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.propose(bigint, bigint, text, text, text[], jsonb, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.extend_proposal(bigint, bigint, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.update_proposal(bigint, bigint, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.members(bigint, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.proposals(bigint, text, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.ballot(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.stances(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.voters(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.round_state(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.rounds(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.buckets(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.contributions(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.balances(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.catalyst_terms(bigint) FROM PUBLIC;
