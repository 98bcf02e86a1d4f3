-- enspiral update script 0.1.0 -> 0.2.0, part 40: counting methods of
-- decisions 2 (doc/voting-methods.md).  The same objects as
-- sql/install/35_methods.sql, the tallies of 30_decisions.sql that call
-- them, and the settings of 0.1.0 proposals completed with the new key
-- none_of_the_above (choice, ranked and score) so that they stay equal to
-- their normalized form (the CHECK of enspiral.proposals).

------------------------------------------------------------------------------
-- Single transferable vote (C aggregate)
------------------------------------------------------------------------------

-- @function enspiral.stv_accum(internal, bigint[], integer, text)

-- @function enspiral.stv_accum(internal, bigint[], integer, text, text[])

-- @function enspiral.stv_accum(internal, bigint[], bigint, integer, text)

-- @function enspiral.stv_accum(internal, bigint[], bigint, integer, text, text[])

-- @function enspiral.stv_final(internal)

CREATE AGGREGATE enspiral.single_transferable_vote(ranking bigint[], seats integer, rules text) (
    SFUNC = enspiral.stv_accum,
    STYPE = internal,
    FINALFUNC = enspiral.stv_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.single_transferable_vote(bigint[], integer, text) IS
    'Single transferable vote for seats winners under rules ''scottish'' or ''meek'': {"rules", "seats", "ballots", "quota", "elected", "stages"}; NULL without a non-empty ranking';

CREATE AGGREGATE enspiral.single_transferable_vote(ranking bigint[], seats integer, rules text, labels text[]) (
    SFUNC = enspiral.stv_accum,
    STYPE = internal,
    FINALFUNC = enspiral.stv_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.single_transferable_vote(bigint[], integer, text, text[]) IS
    'Single transferable vote where option ids are positions in labels: every label is a candidate, results name labels';

CREATE AGGREGATE enspiral.single_transferable_vote(ranking bigint[], weight bigint, seats integer, rules text) (
    SFUNC = enspiral.stv_accum,
    STYPE = internal,
    FINALFUNC = enspiral.stv_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.single_transferable_vote(bigint[], bigint, integer, text) IS
    'Weighted single transferable vote: each ranking counts weight times (NULL or 0: skipped; negative: an error); the result adds total_weight';

CREATE AGGREGATE enspiral.single_transferable_vote(ranking bigint[], weight bigint, seats integer, rules text, labels text[]) (
    SFUNC = enspiral.stv_accum,
    STYPE = internal,
    FINALFUNC = enspiral.stv_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.single_transferable_vote(bigint[], bigint, integer, text, text[]) IS
    'Weighted single transferable vote where option ids are positions in labels';

------------------------------------------------------------------------------
-- Condorcet methods (C aggregates)
------------------------------------------------------------------------------

-- @function enspiral.pairwise_accum(internal, bigint[])

-- @function enspiral.pairwise_accum(internal, bigint[], text[])

-- @function enspiral.pairwise_accum(internal, bigint[], bigint)

-- @function enspiral.pairwise_accum(internal, bigint[], bigint, text[])

-- @function enspiral.schulze_final(internal)

-- @function enspiral.copeland_final(internal)

CREATE AGGREGATE enspiral.schulze(ranking bigint[]) (
    SFUNC = enspiral.pairwise_accum,
    STYPE = internal,
    FINALFUNC = enspiral.schulze_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.schulze(bigint[]) IS
    'Schulze method over rankings: {"ballots", "winner", "winners", "tie", "ranking", "ranks", "pairwise", "strongest_paths"}; NULL without a non-empty ranking';

CREATE AGGREGATE enspiral.schulze(ranking bigint[], labels text[]) (
    SFUNC = enspiral.pairwise_accum,
    STYPE = internal,
    FINALFUNC = enspiral.schulze_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.schulze(bigint[], text[]) IS
    'Schulze method where option ids are positions in labels: every label takes part, results name labels';

CREATE AGGREGATE enspiral.copeland(ranking bigint[]) (
    SFUNC = enspiral.pairwise_accum,
    STYPE = internal,
    FINALFUNC = enspiral.copeland_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.copeland(bigint[]) IS
    'Copeland method over rankings: {"ballots", "winner", "winners", "tie", "ranking", "ranks", "scores", "pairwise"}; NULL without a non-empty ranking';

CREATE AGGREGATE enspiral.copeland(ranking bigint[], labels text[]) (
    SFUNC = enspiral.pairwise_accum,
    STYPE = internal,
    FINALFUNC = enspiral.copeland_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.copeland(bigint[], text[]) IS
    'Copeland method where option ids are positions in labels: every label takes part, results name labels';

CREATE AGGREGATE enspiral.schulze(ranking bigint[], weight bigint) (
    SFUNC = enspiral.pairwise_accum,
    STYPE = internal,
    FINALFUNC = enspiral.schulze_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.schulze(bigint[], bigint) IS
    'Weighted Schulze method: each ranking counts weight times (NULL or 0: skipped; negative: an error); the result adds total_weight';

CREATE AGGREGATE enspiral.schulze(ranking bigint[], weight bigint, labels text[]) (
    SFUNC = enspiral.pairwise_accum,
    STYPE = internal,
    FINALFUNC = enspiral.schulze_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.schulze(bigint[], bigint, text[]) IS
    'Weighted Schulze method where option ids are positions in labels';

CREATE AGGREGATE enspiral.copeland(ranking bigint[], weight bigint) (
    SFUNC = enspiral.pairwise_accum,
    STYPE = internal,
    FINALFUNC = enspiral.copeland_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.copeland(bigint[], bigint) IS
    'Weighted Copeland method: each ranking counts weight times (NULL or 0: skipped; negative: an error); the result adds total_weight';

CREATE AGGREGATE enspiral.copeland(ranking bigint[], weight bigint, labels text[]) (
    SFUNC = enspiral.pairwise_accum,
    STYPE = internal,
    FINALFUNC = enspiral.copeland_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.copeland(bigint[], bigint, text[]) IS
    'Weighted Copeland method where option ids are positions in labels';

------------------------------------------------------------------------------
-- Tallies and results of the methods
------------------------------------------------------------------------------

-- The ballots that count at time t with their weights: the one place where
-- the ranked methods read ballots (every weight is 1 until vote weights
-- are in effect for the proposal).
-- @function enspiral.method_ballots(p enspiral.proposals, t timestamptz)

-- @function enspiral.method_tally(p enspiral.proposals, t timestamptz)

-- @function enspiral.method_result(p enspiral.proposals, tally jsonb)

REVOKE ALL ON FUNCTION enspiral.method_ballots(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.method_tally(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.method_result(enspiral.proposals, jsonb) FROM PUBLIC;

------------------------------------------------------------------------------
-- Tallies of 30_decisions.sql: the new methods and none_of_the_above
------------------------------------------------------------------------------

-- @function enspiral.compute_tally(p enspiral.proposals, t timestamptz)

-- @function enspiral.compute_outcome(proposal_id bigint)

------------------------------------------------------------------------------
-- Settings written by 0.1.0: every default of 0.2.0 filled in
------------------------------------------------------------------------------

-- Frozen settings of scheduled, open and closed proposals change only by
-- the keys 0.2.0 added (their defaults keep the 0.1.0 behaviour), so the
-- lifecycle trigger is off for this one statement.
ALTER TABLE enspiral.proposals DISABLE TRIGGER proposals_guard;
UPDATE enspiral.proposals p
   SET settings = enspiral.normalize_proposal_settings(p.method, p.options, p.settings)
 WHERE p.settings IS DISTINCT FROM enspiral.normalize_proposal_settings(p.method, p.options, p.settings);
ALTER TABLE enspiral.proposals ENABLE TRIGGER proposals_guard;
