-- enspiral update script 0.1.0 -> 0.2.0, part 41: decision rules, vote
-- weights and delegation (doc/decision-rules.md).  The same objects as
-- sql/install/30_decisions.sql (tables, electorate and tally functions) and
-- sql/install/31_rules.sql, plus the migration of settings written by 0.1.0.

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

-- @function enspiral.rules_history_guard()
CREATE TRIGGER vote_weights_history BEFORE UPDATE OR DELETE ON enspiral.vote_weights
    FOR EACH ROW EXECUTE FUNCTION enspiral.rules_history_guard();
COMMENT ON TRIGGER vote_weights_history ON enspiral.vote_weights IS
    'Weight periods are history: only the open one is ended';
CREATE TRIGGER delegations_history BEFORE UPDATE OR DELETE ON enspiral.delegations
    FOR EACH ROW EXECUTE FUNCTION enspiral.rules_history_guard();
COMMENT ON TRIGGER delegations_history ON enspiral.delegations IS
    'Delegation periods are history: only the open one is ended';

-- votes carry the voter's weight at the opening (NULL: weight 1, as every
-- vote cast by 0.1.0)
ALTER TABLE enspiral.votes ADD COLUMN weight bigint CHECK (weight >= 0);
COMMENT ON COLUMN enspiral.votes.weight IS
    'The voter''s vote weight when the proposal opened, stored by vote() on weighted proposals (NULL: weight 1)';

CREATE TRIGGER electorate_removals_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON enspiral.electorate_removals
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.votes_guard();
COMMENT ON TRIGGER electorate_removals_guard ON enspiral.electorate_removals IS
    'Only enspiral.remove_voter() and enspiral.add_voter() change removals';

-- @function enspiral.electorate_members(group_id bigint, proposal_id bigint, ref timestamptz, t timestamptz)

-- @function enspiral.electorate_size(p enspiral.proposals, ref timestamptz, t timestamptz)

-- @function enspiral.compute_tally(p enspiral.proposals, t timestamptz)

-- @function enspiral.compute_outcome(proposal_id bigint)

-- @function enspiral.require_results_visible(p enspiral.proposals, st enspiral.proposal_state)

-- @function enspiral.outcome(proposal_id bigint)

-- @function enspiral.tally(proposal_id bigint)

REVOKE ALL ON enspiral.electorate_removals, enspiral.vote_weights, enspiral.delegations FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.electorate_members(bigint, bigint, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.rules_history_guard() FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.electorate_removals', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.vote_weights', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.delegations', '');

------------------------------------------------------------------------------
-- Who sees results (one decision for every reader)
------------------------------------------------------------------------------

-- @function enspiral.hide_mode(settings jsonb)

-- @function enspiral.results_visible(group_id bigint, proposal_id bigint, member_id bigint)

-- @function enspiral.require_results_visible(group_id bigint, proposal_id bigint, member_id bigint)

------------------------------------------------------------------------------
-- Weights and delegation in tallies
------------------------------------------------------------------------------

-- @function enspiral.delegated_weights(group_id bigint, proposal_id bigint, ref timestamptz, t timestamptz, weighted boolean)

-- @function enspiral.weights_in_effect(p enspiral.proposals, ref timestamptz)

-- @function enspiral.tally_ballots(p enspiral.proposals, t timestamptz, ref timestamptz, weighing boolean)

-- @function enspiral.electorate_weight(p enspiral.proposals, ref timestamptz, t timestamptz)

-- @function enspiral.apply_pass_share(p enspiral.proposals, res jsonb, t timestamptz, ref timestamptz, cast_weight bigint, electorate_weight bigint)

------------------------------------------------------------------------------
-- Weighted instant runoff (C aggregates)
------------------------------------------------------------------------------

-- @function enspiral.instant_runoff_accum(internal, bigint[], bigint)

CREATE AGGREGATE enspiral.instant_runoff(ranking bigint[], weight bigint) (
    SFUNC = enspiral.instant_runoff_accum,
    STYPE = internal,
    FINALFUNC = enspiral.instant_runoff_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.instant_runoff(bigint[], bigint) IS
    'Instant-runoff winner of weighted rankings (a ranking counts weight times; weights >= 0); NULL without a non-empty ranking';

CREATE AGGREGATE enspiral.instant_runoff_rounds(ranking bigint[], weight bigint) (
    SFUNC = enspiral.instant_runoff_accum,
    STYPE = internal,
    FINALFUNC = enspiral.instant_runoff_rounds_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.instant_runoff_rounds(bigint[], bigint) IS
    'Weighted instant runoff with details: {"winner", "ballots", "weight", "rounds": [{"round", "counts", "exhausted", "eliminated"}]}, counts in weight';

------------------------------------------------------------------------------
-- Weight and delegation API
------------------------------------------------------------------------------

-- @function enspiral.lock_group_rules(group_id bigint)

-- refuse NULLs, an unknown group and members who are not current members
-- @function enspiral.require_current_members(group_id bigint, VARIADIC members bigint[])

-- @function enspiral.set_vote_weight(group_id bigint, member_id bigint, weight bigint)

-- @function enspiral.vote_weight(group_id bigint, member_id bigint, at timestamptz DEFAULT NULL)

-- @function enspiral.delegate(group_id bigint, from_member bigint, to_member bigint)

-- @function enspiral.undelegate(group_id bigint, from_member bigint)

-- @function enspiral.delegation_of(group_id bigint, member_id bigint, at timestamptz DEFAULT NULL)

------------------------------------------------------------------------------
-- Votes and electorates: retract, remove, add (group-first)
------------------------------------------------------------------------------

-- @function enspiral.retract_vote(group_id bigint, proposal_id bigint, member_id bigint)

-- @function enspiral.remove_voter(group_id bigint, proposal_id bigint, member_id bigint)

-- @function enspiral.add_voter(group_id bigint, proposal_id bigint, member_id bigint)

------------------------------------------------------------------------------
-- Results for a member (hide_results = until_vote)
------------------------------------------------------------------------------

-- @function enspiral.outcome(group_id bigint, proposal_id bigint, member_id bigint)

-- @function enspiral.tally(group_id bigint, proposal_id bigint, member_id bigint)

-- @function enspiral.carried_weights(group_id bigint, proposal_id bigint)

REVOKE ALL ON FUNCTION enspiral.require_results_visible(bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.hide_mode(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.delegated_weights(bigint, bigint, timestamptz, timestamptz, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.weights_in_effect(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.tally_ballots(enspiral.proposals, timestamptz, timestamptz, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.electorate_weight(enspiral.proposals, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.apply_pass_share(enspiral.proposals, jsonb, timestamptz, timestamptz, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.lock_group_rules(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_current_members(bigint, bigint[]) FROM PUBLIC;

-- the API functions above are SECURITY DEFINER: PUBLIC does not run them
-- (part 90 of the install script does this for every such function)
REVOKE EXECUTE ON FUNCTION enspiral.results_visible(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.set_vote_weight(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.vote_weight(bigint, bigint, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.delegate(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.undelegate(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.delegation_of(bigint, bigint, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.retract_vote(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.remove_voter(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.add_voter(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.outcome(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.tally(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.carried_weights(bigint, bigint) FROM PUBLIC;

-- Settings written by 0.1.0 take the normalized 0.2.0 form (hide_results
-- true/false become "until_closed"/"off", block_needs_reason becomes
-- reason_required, the new keys get their defaults).  The lifecycle guard
-- freezes settings of opened proposals; this one rewrite keeps their
-- meaning, so it runs with the guard off.
ALTER TABLE enspiral.proposals DISABLE TRIGGER proposals_guard;
UPDATE enspiral.proposals p
   SET settings = enspiral.normalize_proposal_settings(p.method, p.options, p.settings)
 WHERE p.settings IS DISTINCT FROM enspiral.normalize_proposal_settings(p.method, p.options, p.settings);
ALTER TABLE enspiral.proposals ENABLE TRIGGER proposals_guard;
