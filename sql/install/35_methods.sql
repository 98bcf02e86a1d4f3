-- enspiral install script, part 35: counting methods of decisions 2
-- (doc/voting-methods.md): single transferable vote (Scottish and Meek
-- rules), Schulze and Copeland as C aggregates over rankings, and the
-- tallies of the methods stv, schulze, copeland, count, time, question and
-- check.  Ballots are checked in C (src/decisions_ballots.c); counting is in
-- src/decisions_stv.c and src/decisions_condorcet.c.

------------------------------------------------------------------------------
-- Single transferable vote (C aggregate)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.stv_accum(internal, bigint[], integer, text) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_stv_accum';
COMMENT ON FUNCTION enspiral.stv_accum(internal, bigint[], integer, text) IS
    'Transition function of single_transferable_vote: keeps rankings as dense option indexes';

CREATE FUNCTION enspiral.stv_accum(internal, bigint[], integer, text, text[]) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_stv_labeled_accum';
COMMENT ON FUNCTION enspiral.stv_accum(internal, bigint[], integer, text, text[]) IS
    'Transition function of single_transferable_vote with labels: every label is a candidate';

CREATE FUNCTION enspiral.stv_accum(internal, bigint[], bigint, integer, text) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_stv_weighted_accum';
COMMENT ON FUNCTION enspiral.stv_accum(internal, bigint[], bigint, integer, text) IS
    'Transition function of the weighted single_transferable_vote: a ranking counts weight times';

CREATE FUNCTION enspiral.stv_accum(internal, bigint[], bigint, integer, text, text[]) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_stv_weighted_labeled_accum';
COMMENT ON FUNCTION enspiral.stv_accum(internal, bigint[], bigint, integer, text, text[]) IS
    'Transition function of the weighted single_transferable_vote with labels';

CREATE FUNCTION enspiral.stv_final(internal) RETURNS jsonb
    LANGUAGE c PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_stv_final';
COMMENT ON FUNCTION enspiral.stv_final(internal) IS
    'Final function of single_transferable_vote: counts the stages';

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

CREATE FUNCTION enspiral.pairwise_accum(internal, bigint[]) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_pairwise_accum';
COMMENT ON FUNCTION enspiral.pairwise_accum(internal, bigint[]) IS
    'Transition function of schulze and copeland: pairwise counts of rankings';

CREATE FUNCTION enspiral.pairwise_accum(internal, bigint[], text[]) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_pairwise_labeled_accum';
COMMENT ON FUNCTION enspiral.pairwise_accum(internal, bigint[], text[]) IS
    'Transition function of schulze and copeland with labels: every label takes part';

CREATE FUNCTION enspiral.pairwise_accum(internal, bigint[], bigint) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_pairwise_weighted_accum';
COMMENT ON FUNCTION enspiral.pairwise_accum(internal, bigint[], bigint) IS
    'Transition function of the weighted schulze and copeland: a ranking counts weight times';

CREATE FUNCTION enspiral.pairwise_accum(internal, bigint[], bigint, text[]) RETURNS internal
    LANGUAGE c CALLED ON NULL INPUT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_pairwise_weighted_labeled_accum';
COMMENT ON FUNCTION enspiral.pairwise_accum(internal, bigint[], bigint, text[]) IS
    'Transition function of the weighted schulze and copeland with labels';

CREATE FUNCTION enspiral.schulze_final(internal) RETURNS jsonb
    LANGUAGE c PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_schulze_final';
COMMENT ON FUNCTION enspiral.schulze_final(internal) IS
    'Final function of schulze: strongest paths, winners and ranking';

CREATE FUNCTION enspiral.copeland_final(internal) RETURNS jsonb
    LANGUAGE c PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_copeland_final';
COMMENT ON FUNCTION enspiral.copeland_final(internal) IS
    'Final function of copeland: pairwise wins and losses, winners and ranking';

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
CREATE FUNCTION enspiral.method_ballots(p enspiral.proposals, t timestamptz)
    RETURNS TABLE (ballot jsonb, weight bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- the weights frozen at the opening ref, as every method counts them
    RETURN QUERY
    SELECT b.ballot, b.weight
      FROM (SELECT least(coalesce(($1).opens_at, $2), $2) AS ref) r,
           enspiral.tally_ballots($1, $2, r.ref,
                                  NOT coalesce((($1).settings ->> 'anonymous')::boolean, false)
                                  AND enspiral.weights_in_effect($1, r.ref)) b;
END
$$;
COMMENT ON FUNCTION enspiral.method_ballots(enspiral.proposals, timestamptz) IS
    'Internal: the counted ballots of a stv, schulze or copeland proposal at time t with the weight each counts for (vote weights and delegation, as tally_ballots gives them)';

CREATE FUNCTION enspiral.method_tally(p enspiral.proposals, t timestamptz) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    voted bigint;
    totals jsonb;
    extra jsonb := '{}';
BEGIN
    SELECT count(*) INTO voted FROM enspiral.counted_ballots(p, t);
    IF p.method IN ('stv', 'schulze', 'copeland') THEN
        -- first preferences (weights), then the count on option positions named by the options
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT b.ballot ->> 0 AS name, sum(b.weight)::bigint AS n
                       FROM enspiral.method_ballots(p, t) b GROUP BY 1) c USING (name);
        -- only the method's aggregate runs (FILTER), over option positions
        SELECT jsonb_strip_nulls(jsonb_build_object(
                   'stv', enspiral.single_transferable_vote(r.ranking, r.weight, (p.settings ->> 'seats')::integer,
                                                            p.settings ->> 'rules', p.options)
                          FILTER (WHERE p.method = 'stv'),
                   'schulze', enspiral.schulze(r.ranking, r.weight, p.options) FILTER (WHERE p.method = 'schulze'),
                   'copeland', enspiral.copeland(r.ranking, r.weight, p.options)
                               FILTER (WHERE p.method = 'copeland')))
          INTO extra
          FROM (SELECT ARRAY(SELECT array_position(p.options, e.name)::bigint
                               FROM jsonb_array_elements_text(b.ballot) WITH ORDINALITY e(name, i)
                              ORDER BY e.i) AS ranking, b.weight
                  FROM enspiral.method_ballots(p, t) b) r;
    ELSIF p.method = 'budget' THEN
        -- votes per project: the weight of the ballots that select it
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e AS name, sum(b.weight)::bigint AS n
                       FROM enspiral.method_ballots(p, t) b, jsonb_array_elements_text(b.ballot) e
                      GROUP BY e) c USING (name);
    ELSIF p.method = 'count' THEN
        SELECT jsonb_build_object('yes', count(*) FILTER (WHERE b = '"yes"'),
                                  'no', count(*) FILTER (WHERE b = '"no"'))
          INTO totals FROM enspiral.counted_ballots(p, t) b;
    ELSIF p.method = 'check' THEN
        SELECT jsonb_build_object('looks_good', count(*) FILTER (WHERE b = '"looks_good"'),
                                  'not_sure', count(*) FILTER (WHERE b = '"not_sure"'),
                                  'concerned', count(*) FILTER (WHERE b = '"concerned"'))
          INTO totals FROM enspiral.counted_ballots(p, t) b;
    ELSIF p.method = 'time' THEN
        -- per slot: yes, maybe, no; slots ordered by yes, then maybe, then option
        -- order (not by parsing the slots: that would depend on the session TimeZone)
        WITH answers AS (
            SELECT o.name, o.i,
                   count(*) FILTER (WHERE b ->> o.name = 'yes') AS yes,
                   count(*) FILTER (WHERE b ->> o.name = 'maybe') AS maybe,
                   count(*) FILTER (WHERE b ->> o.name = 'no') AS no
              FROM unnest(p.options) WITH ORDINALITY o(name, i)
              LEFT JOIN enspiral.counted_ballots(p, t) b ON true
             GROUP BY o.name, o.i)
        SELECT jsonb_object_agg(a.name, jsonb_build_object('yes', a.yes, 'maybe', a.maybe, 'no', a.no)),
               jsonb_build_object('slots', jsonb_agg(a.name ORDER BY a.yes DESC, a.maybe DESC, a.i))
          INTO totals, extra FROM answers a;
    ELSE
        -- question: responses are the reasons; no totals
        totals := '{}';
    END IF;
    RETURN jsonb_build_object('voted', voted, 'totals', coalesce(totals, '{}')) || extra;
END
$$;
COMMENT ON FUNCTION enspiral.method_tally(enspiral.proposals, timestamptz) IS
    'Internal: the tally of a proposal of method stv, schulze, copeland, count, time, question, check or budget at time t';

CREATE FUNCTION enspiral.method_result(p enspiral.proposals, tally jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s jsonb := p.settings;
    tot jsonb := tally -> 'totals';
    detail jsonb;
    best jsonb;
BEGIN
    IF p.method = 'stv' THEN
        detail := tally -> 'stv';
        RETURN jsonb_build_object(
            'seats', s -> 'seats', 'rules', s -> 'rules',
            'elected', coalesce(detail -> 'elected', '[]'),
            'winners', coalesce(detail -> 'elected', '[]'),
            'winner', CASE WHEN (s ->> 'seats')::int = 1 THEN coalesce(detail #> '{elected,0}', 'null')
                           ELSE 'null' END,
            'tie', false);
    ELSIF p.method IN ('schulze', 'copeland') THEN
        detail := tally -> p.method;
        RETURN jsonb_build_object(
            'winner', coalesce(detail -> 'winner', 'null'),
            'winners', coalesce(detail -> 'winners', '[]'),
            'tie', coalesce(detail -> 'tie', 'false'),
            'ranking', coalesce(detail -> 'ranking', '[]'));
    ELSIF p.method = 'budget' THEN
        -- in order of votes (ties: lower cost, then option order) each project
        -- that still fits is selected (C: enspiral.budget_outcome)
        detail := enspiral.budget_outcome(
            ARRAY(SELECT coalesce((tot ->> o.name)::bigint, 0)
                    FROM unnest(p.options) WITH ORDINALITY o(name, i) ORDER BY o.i),
            ARRAY(SELECT c::bigint FROM jsonb_array_elements_text(s -> 'costs') WITH ORDINALITY c(c, i)
                   ORDER BY c.i),
            (s ->> 'budget')::bigint);
        RETURN jsonb_build_object(
            'budget', s -> 'budget', 'voting_rule', s -> 'voting_rule',
            'selected', (SELECT coalesce(jsonb_agg(p.options[k::int] ORDER BY i), '[]')
                           FROM jsonb_array_elements_text(detail -> 'selected') WITH ORDINALITY x(k, i)),
            'skipped', (SELECT coalesce(jsonb_agg(p.options[k::int] ORDER BY i), '[]')
                          FROM jsonb_array_elements_text(detail -> 'skipped') WITH ORDINALITY x(k, i)),
            'spent', detail -> 'spent', 'remaining', detail -> 'remaining');
    ELSIF p.method = 'count' THEN
        RETURN jsonb_build_object('target', s -> 'target',
                                  'passed', (tot ->> 'yes')::bigint >= (s ->> 'target')::bigint);
    ELSIF p.method = 'check' THEN
        RETURN jsonb_build_object('verdict', CASE
            WHEN (tot ->> 'concerned')::bigint > 0 THEN 'concerned'
            WHEN (tot ->> 'not_sure')::bigint > 0 THEN 'not_sure'
            WHEN (tot ->> 'looks_good')::bigint > 0 THEN 'looks_good' END);
    ELSIF p.method = 'time' THEN
        -- the best slots: most yes, then most maybe; several means a tie
        SELECT coalesce(jsonb_agg(x.name ORDER BY x.ord), '[]') INTO best
          FROM (SELECT e.name, e.ord, tot -> e.name AS a
                  FROM jsonb_array_elements_text(tally -> 'slots') WITH ORDINALITY e(name, ord)) x
         WHERE (tally ->> 'voted')::bigint > 0
           AND ((x.a ->> 'yes')::bigint, (x.a ->> 'maybe')::bigint) =
               (SELECT (tot #>> ARRAY[f.name, 'yes'])::bigint, (tot #>> ARRAY[f.name, 'maybe'])::bigint
                  FROM jsonb_array_elements_text(tally -> 'slots') WITH ORDINALITY f(name, ord)
                 WHERE f.ord = 1);
        RETURN jsonb_build_object(
            'winner', CASE WHEN jsonb_array_length(best) = 1 THEN best -> 0 ELSE 'null' END,
            'winners', best, 'tie', jsonb_array_length(best) > 1);
    END IF;
    -- question
    RETURN jsonb_build_object('responses', tally -> 'voted');
END
$$;
COMMENT ON FUNCTION enspiral.method_result(enspiral.proposals, jsonb) IS
    'Internal: the result keys of a proposal of method stv, schulze, copeland, count, time, question, check or budget from its tally (budget: selected and skipped projects, spent and remaining)';

REVOKE ALL ON FUNCTION enspiral.method_ballots(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.method_tally(enspiral.proposals, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.method_result(enspiral.proposals, jsonb) FROM PUBLIC;
