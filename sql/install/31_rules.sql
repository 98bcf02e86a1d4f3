-- enspiral install script, part 31: decision rules, vote weights and
-- delegation.  doc/decision-rules.md is the reference.  Settings are checked
-- in C (src/decisions_rules.c); weights and delegations are resolved per tally in C
-- (src/decisions_delegation.c); retract_vote, remove_voter and add_voter are in
-- src/decisions_votes.c next to vote().

------------------------------------------------------------------------------
-- Who sees results (one decision for every reader)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.hide_mode(settings jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- settings normalized by 0.1.0 hold a boolean
    SELECT CASE $1 -> 'hide_results' WHEN 'true' THEN 'until_closed' WHEN 'false' THEN 'off'
                ELSE coalesce($1 ->> 'hide_results', 'off') END
$$;
COMMENT ON FUNCTION enspiral.hide_mode(jsonb) IS
    'The hide_results mode of proposal settings: off, until_vote or until_closed (true and false written by 0.1.0 read as until_closed and off)';

CREATE FUNCTION enspiral.results_visible(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
    mode text;
BEGIN
    SELECT * INTO p FROM enspiral.proposals x
     WHERE x.group_id = results_visible.group_id AND x.proposal_id = results_visible.proposal_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'proposal', proposal_id);
    END IF;
    mode := enspiral.hide_mode(p.settings);
    IF mode = 'off' THEN
        RETURN true;
    END IF;
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) = 'closed' THEN
        -- hidden results are shown once the closing is committed
        RETURN NOT enspiral.proposal_written_here(p.group_id, p.proposal_id);
    END IF;
    RETURN mode = 'until_vote' AND results_visible.member_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM enspiral.votes v
                    WHERE v.group_id = p.group_id AND v.proposal_id = p.proposal_id
                      AND v.member_id = results_visible.member_id);
END
$$;
COMMENT ON FUNCTION enspiral.results_visible(bigint, bigint, bigint) IS
    'Whether a member (NULL: anyone) may see the results of a proposal now: hide_results off: yes; once closed: yes (when hidden, once the closing is committed); until_closed: no; until_vote: once the member has voted on it (a retracted vote still counts as having voted)';

CREATE FUNCTION enspiral.require_results_visible(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
BEGIN
    IF enspiral.results_visible(group_id, proposal_id, member_id) THEN
        RETURN;
    END IF;
    SELECT * INTO p FROM enspiral.proposals x
     WHERE x.group_id = require_results_visible.group_id
       AND x.proposal_id = require_results_visible.proposal_id;
    IF member_id IS NOT NULL AND enspiral.hide_mode(p.settings) = 'until_vote'
       AND enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) <> 'closed' THEN
        RAISE EXCEPTION 'results are hidden until the member votes'
            USING ERRCODE = 'NS106',
                  DETAIL = format('Member %s has not voted on proposal %s.', member_id, proposal_id);
    END IF;
    -- the reason without a member: not closed, or a closing not committed
    PERFORM enspiral.require_results_visible(p, enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at));
END
$$;
COMMENT ON FUNCTION enspiral.require_results_visible(bigint, bigint, bigint) IS
    'Internal: raises NS106 unless enspiral.results_visible() allows the member to see the results';

------------------------------------------------------------------------------
-- Weights and delegation in tallies
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.delegated_weights(group_id bigint, proposal_id bigint, ref timestamptz,
                                           t timestamptz, weighted boolean)
    RETURNS TABLE (member_id bigint, delegated bigint)
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_delegated_weights';
COMMENT ON FUNCTION enspiral.delegated_weights(bigint, bigint, timestamptz, timestamptz, boolean) IS
    'Internal: the voters (counted votes at t) who carry delegated weight along the delegations in effect at the opening ref, and how much (doc/decision-rules.md)';

CREATE FUNCTION enspiral.tally_weights(group_id bigint, proposal_id bigint, ref timestamptz,
                                       t timestamptz, weighted boolean, delegation boolean)
    RETURNS jsonb
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_tally_weights';
COMMENT ON FUNCTION enspiral.tally_weights(bigint, bigint, timestamptz, timestamptz, boolean, boolean) IS
    'Internal: {"voted", "weights": {"cast", "direct", "delegated", "carriers"}} of a weighted tally at t, resolved with the ballots'' delegated weights (tally_ballots) in one pass over the votes';

CREATE FUNCTION enspiral.consent_tally(group_id bigint, proposal_id bigint, ref timestamptz,
                                       t timestamptz, weighted boolean, delegation boolean)
    RETURNS jsonb
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_consent_tally';
COMMENT ON FUNCTION enspiral.consent_tally(bigint, bigint, timestamptz, timestamptz, boolean, boolean) IS
    'Internal: the weighted consent tally at t, {"voted", "totals", "ballots", "weights"}: weights (own plus delegated along the delegations in effect at the opening ref) and ballots by position, counted in the same pass over the votes that resolves the delegations';

CREATE FUNCTION enspiral.weights_in_effect(p enspiral.proposals, ref timestamptz) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (
    SELECT (coalesce((p.settings ->> 'weighted')::boolean, false)
            AND EXISTS (SELECT 1 FROM enspiral.vote_weights w
                         WHERE w.group_id = p.group_id AND w.weight <> 1
                           AND w.valid_from <= $2 AND (w.valid_to IS NULL OR w.valid_to > $2)))
        OR (coalesce((p.settings ->> 'delegation')::boolean, false)
            AND EXISTS (SELECT 1 FROM enspiral.delegations d
                         WHERE d.group_id = p.group_id
                           AND d.valid_from <= $2 AND (d.valid_to IS NULL OR d.valid_to > $2))));
END
$$;
COMMENT ON FUNCTION enspiral.weights_in_effect(enspiral.proposals, timestamptz) IS
    'Internal: whether a weight other than 1 or a delegation of the group was in effect at the opening ref and the proposal applies it';

CREATE FUNCTION enspiral.tally_ballots(p enspiral.proposals, t timestamptz, ref timestamptz,
                                       weighing boolean)
    RETURNS TABLE (ballot jsonb, weight bigint, direct bigint, delegated bigint, member_id bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT v.ballot, coalesce(v.weight, 1) + coalesce(c.delegated, 0), coalesce(v.weight, 1),
           coalesce(c.delegated, 0), v.member_id
      FROM enspiral.votes v
      LEFT JOIN (SELECT d.member_id, d.delegated
                   FROM enspiral.delegated_weights(p.group_id, p.proposal_id, $3, $2,
                                                   coalesce((p.settings ->> 'weighted')::boolean, false)) d
                  WHERE coalesce((p.settings ->> 'delegation')::boolean, false)) c
        ON c.member_id = v.member_id
     WHERE $4 AND v.group_id = p.group_id AND v.proposal_id = p.proposal_id
       AND (v.superseded_at IS NULL OR v.superseded_at > $2) AND v.cast_at <= $2
       AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(p.group_id, $2) d)
    UNION ALL
    SELECT b, 1::bigint, 1::bigint, 0::bigint, NULL::bigint
      FROM enspiral.counted_ballots($1, $2) b
     WHERE NOT $4;
END
$$;
COMMENT ON FUNCTION enspiral.tally_ballots(enspiral.proposals, timestamptz, timestamptz, boolean) IS
    'Internal: the ballots a tally counts at t with the weight each carries (weighing: the weight stored with the vote plus the weight delegated to it; otherwise 1 each); what every method sums';

CREATE FUNCTION enspiral.electorate_weight(p enspiral.proposals, ref timestamptz, t timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (
    SELECT coalesce(sum(CASE WHEN coalesce((p.settings ->> 'weighted')::boolean, false)
                             THEN coalesce(w.weight, 1) ELSE 1 END), 0)::bigint
      FROM enspiral.electorate_members(p.group_id, p.proposal_id, $2, $3) e(member_id)
      LEFT JOIN enspiral.vote_weights w
        ON w.group_id = p.group_id AND w.member_id = e.member_id
       AND w.valid_from <= $2 AND (w.valid_to IS NULL OR w.valid_to > $2));
END
$$;
COMMENT ON FUNCTION enspiral.electorate_weight(enspiral.proposals, timestamptz, timestamptz) IS
    'Internal: the total weight at the opening ref of the electorate counted at t';

CREATE FUNCTION enspiral.apply_pass_share(p enspiral.proposals, res jsonb, t timestamptz,
                                          ref timestamptz, cast_weight bigint,
                                          electorate_weight bigint)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s jsonb := p.settings;
    num bigint := split_part(s ->> 'pass_share', '/', 1)::bigint;
    den bigint := split_part(s ->> 'pass_share', '/', 2)::bigint;
    of_electorate boolean := s ->> 'pass_share_of' = 'electorate';
    base bigint := CASE WHEN of_electorate THEN electorate_weight ELSE cast_weight END;
    winner text;
    support bigint;
    reached boolean;
BEGIN
    IF p.method = 'consent' THEN
        winner := 'agree';
        support := (res #>> '{totals,agree}')::bigint;
    ELSIF p.method = 'ranked' THEN
        -- the winner's count in the last instant-runoff round
        winner := res ->> 'winner';
        support := (res -> 'rounds' -> -1 -> 'counts' ->> winner)::bigint;
    ELSIF p.method IN ('score', 'dots', 'quadratic') THEN
        -- the weight of the ballots that give the winner a positive value
        winner := res ->> 'winner';
        SELECT coalesce(sum(b.weight), 0)::bigint INTO support
          FROM enspiral.tally_ballots(p, t, ref, res ? 'weights') b
         WHERE (b.ballot ->> winner)::bigint > 0;
    ELSE
        -- choice, and any method whose totals are the weight of its supporters
        winner := res ->> 'winner';
        support := coalesce((res -> 'support' ->> winner)::bigint, (res -> 'totals' ->> winner)::bigint);
    END IF;
    -- exact: integers compared by cross-multiplication (numeric never rounds here)
    reached := winner IS NOT NULL AND base > 0
               AND CASE WHEN (s ->> 'pass_share_inclusive')::boolean
                        THEN support::numeric * den >= num::numeric * base
                        ELSE support::numeric * den > num::numeric * base END;
    RETURN res || jsonb_build_object(
        'pass_share', s -> 'pass_share', 'pass_share_of', s -> 'pass_share_of',
        'pass_share_inclusive', s -> 'pass_share_inclusive',
        'support', coalesce(support, 0), 'pass_base', base,
        'passed', reached AND (res ->> 'quorum_met')::boolean
                  AND coalesce((res ->> 'passed')::boolean, true));
END
$$;
COMMENT ON FUNCTION enspiral.apply_pass_share(enspiral.proposals, jsonb, timestamptz, timestamptz, bigint, bigint) IS
    'Internal: adds the pass share of a proposal to its outcome: the winner''s support (per method) must reach pass_share of the votes cast or of the electorate (weights when weighing), exactly; "passed" also needs the quorum and the method''s own rule';

------------------------------------------------------------------------------
-- Weighted consent counts (C aggregate)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.consent_counts_accum(bigint[], jsonb, bigint) RETURNS bigint[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_consent_accum';
COMMENT ON FUNCTION enspiral.consent_counts_accum(bigint[], jsonb, bigint) IS
    'Transition function of the weighted consent_counts: adds a ballot''s weight to its position';

CREATE AGGREGATE enspiral.consent_counts(ballot jsonb, weight bigint) (
    SFUNC = enspiral.consent_counts_accum,
    STYPE = bigint[],
    INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = enspiral.consent_counts_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE enspiral.consent_counts(jsonb, bigint) IS
    'Weighted consent counts in one pass: {agree, abstain, disagree, block, all} weights (weights >= 0)';

------------------------------------------------------------------------------
-- Weighted instant runoff (C aggregates)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.instant_runoff_accum(internal, bigint[], bigint) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_irv_accum_weighted';
COMMENT ON FUNCTION enspiral.instant_runoff_accum(internal, bigint[], bigint) IS
    'Transition function of the weighted instant_runoff: keeps rankings with their weights';

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

CREATE FUNCTION enspiral.lock_group_rules(group_id bigint) RETURNS timestamptz
    LANGUAGE c STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'enspiral_lock_group_rules';
COMMENT ON FUNCTION enspiral.lock_group_rules(bigint) IS
    'Internal: waits for openings and outcome recordings in flight in the group, holds them off until commit, and returns the time a weight or delegation change takes effect';
CREATE FUNCTION enspiral.lock_group_rules(group_id bigint, at timestamptz) RETURNS timestamptz
    LANGUAGE c STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'enspiral_lock_group_rules_at';
COMMENT ON FUNCTION enspiral.lock_group_rules(bigint, timestamptz) IS
    'Internal: lock_group_rules(group_id) for a change whose statement started at "at"; on Citus, run on the group''s node for a change made elsewhere';

-- refuse NULLs, an unknown group and members who are not current members
CREATE FUNCTION enspiral.require_current_members(group_id bigint, VARIADIC members bigint[])
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m bigint;
BEGIN
    IF group_id IS NULL OR array_position(members, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'group_id and member ids must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = require_current_members.group_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    FOREACH m IN ARRAY members LOOP
        IF NOT enspiral.is_member(require_current_members.group_id, m, pg_catalog.statement_timestamp()) THEN
            RAISE EXCEPTION 'member is not a current member of the group'
                USING ERRCODE = 'NS004',
                      DETAIL = pg_catalog.format('Member %s is not a current member of group %s.',
                                                 m, group_id);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION enspiral.require_current_members(bigint, bigint[]) IS
    'Internal: raises 22004 for NULLs, NS002 for an unknown group, NS004 for a member who is not a current member';

CREATE FUNCTION enspiral.set_vote_weight(group_id bigint, member_id bigint, weight bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur enspiral.vote_weights;
    stamp timestamptz;
BEGIN
    PERFORM enspiral.require_current_members(group_id, member_id);
    IF weight IS NULL THEN
        RAISE EXCEPTION 'weight must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF weight < 0 THEN
        RAISE EXCEPTION 'a vote weight cannot be negative'
            USING ERRCODE = 'NS410', COLUMN = 'weight', DETAIL = format('The weight given is %s.', weight);
    END IF;
    stamp := enspiral.lock_group_rules(group_id);
    SELECT * INTO cur FROM enspiral.vote_weights w
     WHERE w.group_id = set_vote_weight.group_id AND w.member_id = set_vote_weight.member_id
       AND w.valid_to IS NULL;
    IF FOUND THEN
        IF cur.weight = weight THEN
            RETURN;
        END IF;
        stamp := greatest(stamp, cur.valid_from + interval '1 microsecond');
        UPDATE enspiral.vote_weights w SET valid_to = stamp
         WHERE w.group_id = cur.group_id AND w.member_id = cur.member_id
           AND w.valid_from = cur.valid_from;
    END IF;
    INSERT INTO enspiral.vote_weights (group_id, member_id, valid_from, weight)
    VALUES (set_vote_weight.group_id, set_vote_weight.member_id, stamp, set_vote_weight.weight);
END
$$;
COMMENT ON FUNCTION enspiral.set_vote_weight(bigint, bigint, bigint) IS
    'Sets the vote weight of a current member (a non-negative integer; 1 without one) from now on; proposals use the weights in effect when they opened';

CREATE FUNCTION enspiral.vote_weight(group_id bigint, member_id bigint, at timestamptz DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL, not LANGUAGE sql: Citus plans the query with the values
    -- (doc/scaling.md)
    RETURN coalesce((SELECT w.weight FROM enspiral.vote_weights w
                      WHERE w.group_id = $1 AND w.member_id = $2
                        AND w.valid_from <= coalesce($3, pg_catalog.statement_timestamp())
                        AND (w.valid_to IS NULL OR w.valid_to > coalesce($3, pg_catalog.statement_timestamp()))),
                    1);
END
$$;
COMMENT ON FUNCTION enspiral.vote_weight(bigint, bigint, timestamptz) IS
    'The vote weight of a member at a time (default: now); 1 when none was set';

CREATE FUNCTION enspiral.delegate(group_id bigint, from_member bigint, to_member bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur enspiral.delegations;
    stamp timestamptz;
BEGIN
    PERFORM enspiral.require_current_members(group_id, from_member, to_member);
    IF from_member = to_member THEN
        RAISE EXCEPTION 'a member cannot delegate to themselves'
            USING ERRCODE = 'NS150', DETAIL = format('Member %s named itself.', from_member);
    END IF;
    stamp := enspiral.lock_group_rules(group_id);
    SELECT * INTO cur FROM enspiral.delegations d
     WHERE d.group_id = delegate.group_id AND d.from_member = delegate.from_member
       AND d.valid_to IS NULL;
    IF FOUND THEN
        IF cur.to_member = delegate.to_member THEN
            RETURN;
        END IF;
        stamp := greatest(stamp, cur.valid_from + interval '1 microsecond');
        UPDATE enspiral.delegations d SET valid_to = stamp
         WHERE d.group_id = cur.group_id AND d.from_member = cur.from_member
           AND d.valid_from = cur.valid_from;
    END IF;
    INSERT INTO enspiral.delegations (group_id, from_member, valid_from, to_member)
    VALUES (delegate.group_id, delegate.from_member, stamp, delegate.to_member);
END
$$;
COMMENT ON FUNCTION enspiral.delegate(bigint, bigint, bigint) IS
    'Delegates a member''s vote to another current member from now on (replacing an earlier delegation); transitive, followed by proposals that open later unless the member votes';

CREATE FUNCTION enspiral.undelegate(group_id bigint, from_member bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur enspiral.delegations;
    stamp timestamptz;
BEGIN
    IF group_id IS NULL OR from_member IS NULL THEN
        RAISE EXCEPTION 'group_id and from_member must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    stamp := enspiral.lock_group_rules(group_id);
    SELECT * INTO cur FROM enspiral.delegations d
     WHERE d.group_id = undelegate.group_id AND d.from_member = undelegate.from_member
       AND d.valid_to IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member has no delegation'
            USING ERRCODE = 'NS151',
                  DETAIL = pg_catalog.format('Member %s has no delegation in effect in group %s.',
                                             from_member, group_id);
    END IF;
    UPDATE enspiral.delegations d SET valid_to = greatest(stamp, cur.valid_from)
     WHERE d.group_id = cur.group_id AND d.from_member = cur.from_member
       AND d.valid_from = cur.valid_from;
END
$$;
COMMENT ON FUNCTION enspiral.undelegate(bigint, bigint) IS
    'Ends a member''s delegation from now on (NS151 when there is none); proposals already open keep the delegations of their opening';

CREATE FUNCTION enspiral.delegation_of(group_id bigint, member_id bigint, at timestamptz DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL, not LANGUAGE sql: Citus plans the query with the values
    RETURN (SELECT d.to_member FROM enspiral.delegations d
             WHERE d.group_id = $1 AND d.from_member = $2
               AND d.valid_from <= coalesce($3, pg_catalog.statement_timestamp())
               AND (d.valid_to IS NULL OR d.valid_to > coalesce($3, pg_catalog.statement_timestamp())));
END
$$;
COMMENT ON FUNCTION enspiral.delegation_of(bigint, bigint, timestamptz) IS
    'The member a member delegates to at a time (default: now), NULL when none';

CREATE FUNCTION enspiral.vote_as_delegate(group_id bigint, proposal_id bigint, delegate_id bigint,
                                          member_id bigint, ballot jsonb, reason text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_vote_as_delegate';
COMMENT ON FUNCTION enspiral.vote_as_delegate(bigint, bigint, bigint, bigint, jsonb, text) IS
    'A delegate casts the vote of a member whose delegation chain at the opening reaches it (NS161 otherwise); the vote is the member''s, recorded with cast_by; never replaces a vote the member cast itself (NS162); named proposals with delegation only (NS154, NS160); returns the vote id';

------------------------------------------------------------------------------
-- Votes and electorates: retract, remove, add (group-first)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.retract_vote(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS void
    LANGUAGE c STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_retract_vote';
COMMENT ON FUNCTION enspiral.retract_vote(bigint, bigint, bigint) IS
    'Withdraws a member''s counted vote on an open named proposal (kept as history, like a superseded vote); NS152 when there is none';

CREATE FUNCTION enspiral.remove_voter(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS void
    LANGUAGE c STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_remove_voter';
COMMENT ON FUNCTION enspiral.remove_voter(bigint, bigint, bigint) IS
    'Removes a member from the electorate of a named proposal that is not closed; the removal and the member''s vote stay as history; add_voter() adds the member again';

CREATE FUNCTION enspiral.add_voter(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS void
    LANGUAGE c STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_add_voter_in_group';
COMMENT ON FUNCTION enspiral.add_voter(bigint, bigint, bigint) IS
    'Adds a current member to the electorate of a named proposal that is not closed (with voters = invited, only added members vote); ends a removal';

------------------------------------------------------------------------------
-- Results for a member (hide_results = until_vote)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.outcome(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
BEGIN
    PERFORM enspiral.require_results_visible(group_id, proposal_id, member_id);
    -- looked up by the group and noted (group_proposal()), so that on Citus
    -- every read below stays on the group's node (doc/scaling.md)
    p := enspiral.group_proposal(group_id, proposal_id);
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) = 'closed' THEN
        RETURN coalesce((SELECT o.outcome FROM enspiral.outcomes o JOIN enspiral.proposals x USING (group_id, proposal_id)
                          WHERE o.group_id = outcome.group_id AND o.proposal_id = outcome.proposal_id
                            AND o.opening = x.reopen_count),
                        enspiral.record_outcome(group_id, proposal_id));
    END IF;
    RETURN enspiral.compute_outcome(proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.outcome(bigint, bigint, bigint) IS
    'The result as a member sees it: like enspiral.outcome(proposal_id), with hide_results applied to that member (until_vote: once the member has voted)';

CREATE FUNCTION enspiral.tally(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state;
BEGIN
    PERFORM enspiral.require_results_visible(group_id, proposal_id, member_id);
    -- by the group: on Citus the lookup stays on the group's node
    p := enspiral.group_proposal(group_id, proposal_id);
    st := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
    RETURN enspiral.compute_tally(p, CASE WHEN st = 'closed' THEN least(p.closes_at, now) ELSE now END);
END
$$;
COMMENT ON FUNCTION enspiral.tally(bigint, bigint, bigint) IS
    'Totals as a member sees them: like enspiral.tally(proposal_id), with hide_results applied to that member';

CREATE FUNCTION enspiral.carried_weights(group_id bigint, proposal_id bigint)
    RETURNS TABLE (member_id bigint, direct bigint, delegated bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
    now timestamptz := pg_catalog.statement_timestamp();
    t timestamptz;
    ref timestamptz;
BEGIN
    PERFORM enspiral.require_results_visible(carried_weights.group_id, carried_weights.proposal_id, NULL);
    p := enspiral.group_proposal(carried_weights.group_id, carried_weights.proposal_id);
    t := CASE WHEN enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now) = 'closed'
              THEN least(p.closes_at, now) ELSE now END;
    ref := least(coalesce(p.opens_at, t), t);
    RETURN QUERY
        SELECT b.member_id, b.direct, b.delegated
          FROM enspiral.tally_ballots(p, t, ref, NOT (p.settings ->> 'anonymous')::boolean) b
         WHERE b.delegated > 0
         ORDER BY b.member_id;
END
$$;
COMMENT ON FUNCTION enspiral.carried_weights(bigint, bigint) IS
    'The votes of a proposal that carry delegated weight: the voter, its own weight and the weight delegated to it (results must be visible, NS106)';

REVOKE ALL ON FUNCTION enspiral.require_results_visible(bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.hide_mode(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.delegated_weights(bigint, bigint, timestamptz, timestamptz, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.tally_weights(bigint, bigint, timestamptz, timestamptz, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.consent_tally(bigint, bigint, timestamptz, timestamptz, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.weights_in_effect(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.tally_ballots(enspiral.proposals, timestamptz, timestamptz, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.electorate_weight(enspiral.proposals, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.apply_pass_share(enspiral.proposals, jsonb, timestamptz, timestamptz, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.lock_group_rules(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.lock_group_rules(bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_current_members(bigint, bigint[]) FROM PUBLIC;
