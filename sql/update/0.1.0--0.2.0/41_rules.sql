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

CREATE FUNCTION enspiral.rules_history_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'rules_history_guard',
        CASE TG_TABLE_NAME WHEN 'delegations' THEN 'enspiral.delegations'
                           ELSE 'enspiral.vote_weights' END::regclass);
    IF TG_OP = 'UPDATE' AND OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL
       AND (to_jsonb(NEW) - 'valid_to') = (to_jsonb(OLD) - 'valid_to') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% rows are history: they are never changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'NS011',
              DETAIL = 'Only the end (valid_to) of the period in effect is set, once.',
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

-- votes carry the voter's weight at the opening (NULL: weight 1, as every
-- vote cast by 0.1.0)
ALTER TABLE enspiral.votes ADD COLUMN weight bigint CHECK (weight >= 0);
COMMENT ON COLUMN enspiral.votes.weight IS
    'The voter''s vote weight when the proposal opened, stored by vote() on weighted proposals (NULL: weight 1)';

CREATE TRIGGER electorate_removals_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON enspiral.electorate_removals
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.votes_guard();
COMMENT ON TRIGGER electorate_removals_guard ON enspiral.electorate_removals IS
    'Only enspiral.remove_voter() and enspiral.add_voter() change removals';

CREATE FUNCTION enspiral.electorate_members(group_id bigint, proposal_id bigint,
                                            ref timestamptz, t timestamptz)
    RETURNS SETOF bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH invited AS (SELECT EXISTS (SELECT 1 FROM enspiral.proposals x
                                     WHERE x.group_id = $1 AND x.proposal_id = $2
                                       AND x.settings ->> 'voters' = 'invited') AS yes)
    SELECT e.member_id FROM (
        SELECT m.member_id FROM enspiral.memberships m
         WHERE m.group_id = $1 AND m.joined_at <= $3 AND (m.left_at IS NULL OR m.left_at > $3)
           AND NOT (SELECT yes FROM invited)
           AND m.member_id NOT IN (SELECT d FROM enspiral.departed_members($1, $4) d)
        UNION ALL
        -- additions who are members at t, unless already counted above
        SELECT a.member_id FROM enspiral.electorate_additions a
         WHERE a.group_id = $1 AND a.proposal_id = $2
           AND EXISTS (SELECT 1 FROM enspiral.memberships m
                        WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                          AND m.joined_at <= $4 AND (m.left_at IS NULL OR m.left_at > $4))
           AND ((SELECT yes FROM invited)
                OR NOT EXISTS (SELECT 1 FROM enspiral.memberships m
                                WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                                  AND m.joined_at <= $3 AND (m.left_at IS NULL OR m.left_at > $3)))) e
     WHERE e.member_id NOT IN (SELECT r.member_id FROM enspiral.electorate_removals r
                                WHERE r.group_id = $1 AND r.proposal_id = $2 AND r.removed_at <= $4
                                  AND (r.restored_at IS NULL OR r.restored_at > $4))
$$;
COMMENT ON FUNCTION enspiral.electorate_members(bigint, bigint, timestamptz, timestamptz) IS
    'Internal: the electorate of a proposal counted at t: members at the opening time ref (none with voters = invited) still members at t, plus explicit additions who are members at t, minus removals in effect at t';

CREATE OR REPLACE FUNCTION enspiral.electorate_size(p enspiral.proposals, ref timestamptz, t timestamptz)
    RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*) FROM enspiral.electorate_members(($1).group_id, ($1).proposal_id, $2, $3)
$$;
COMMENT ON FUNCTION enspiral.electorate_size(enspiral.proposals, timestamptz, timestamptz) IS
    'Internal: the size of enspiral.electorate_members() (members at the opening time ref plus explicit additions, counting those still members at t, minus removals)';

CREATE OR REPLACE FUNCTION enspiral.compute_tally(p enspiral.proposals, t timestamptz) RETURNS jsonb
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
                   AND v.superseded_at IS NULL
                   AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(p.group_id, t) d)
                UNION ALL
                SELECT b.ballot FROM enspiral.anonymous_ballots b
                 WHERE anon AND b.group_id = p.group_id AND b.proposal_id = p.proposal_id) c) x;
        RETURN jsonb_build_object('voted', voted,
                                  'totals', jsonb_build_object('agree', n_agree, 'abstain', n_abstain,
                                                               'disagree', n_disagree, 'block', n_block));
    END IF;
    IF weighing THEN
        -- direct and delegated weight, and how many votes carry delegated weight
        SELECT count(*), jsonb_build_object(
                   'weights', jsonb_build_object('cast', coalesce(sum(b.weight), 0)::bigint,
                                                 'direct', coalesce(sum(b.direct), 0)::bigint,
                                                 'delegated', coalesce(sum(b.delegated), 0)::bigint,
                                                 'carriers', count(*) FILTER (WHERE b.delegated > 0)))
          INTO voted, weights FROM enspiral.tally_ballots(p, t, ref, weighing) b;
    ELSE
        SELECT count(*) INTO voted FROM enspiral.counted_ballots(p, t);
    END IF;
    IF p.method = 'consent' THEN
        SELECT jsonb_build_object(
                   'agree', coalesce(sum(b.weight) FILTER (WHERE b.ballot = '"agree"'), 0)::bigint,
                   'abstain', coalesce(sum(b.weight) FILTER (WHERE b.ballot = '"abstain"'), 0)::bigint,
                   'disagree', coalesce(sum(b.weight) FILTER (WHERE b.ballot = '"disagree"'), 0)::bigint,
                   'block', coalesce(sum(b.weight) FILTER (WHERE b.ballot = '"block"'), 0)::bigint)
          INTO totals FROM enspiral.tally_ballots(p, t, ref, weighing) b;
    ELSIF p.method = 'choice' THEN
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

CREATE OR REPLACE FUNCTION enspiral.compute_outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
    t timestamptz := CASE WHEN st = 'closed' THEN least(p.closes_at, now) ELSE now END;
    ref timestamptz := least(coalesce(p.opens_at, t), t);
    s jsonb := p.settings;
    tally jsonb := enspiral.compute_tally(p, t);
    electorate bigint := enspiral.electorate_size(p, ref, t);
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
                              'opening', p.reopen_count,
                              'electorate', electorate, 'quorum_pct', s -> 'quorum_pct',
                              'quorum_met', quorum_met) || tally;
    IF weighing THEN
        res := jsonb_set(res, '{weights,electorate}', to_jsonb(electorate_weight));
    END IF;
    IF p.method = 'consent' AND coalesce((s ->> 'silence_is_consent')::boolean, false) THEN
        -- lazy consensus: passes unless someone objects or blocks, even without votes
        res := res || jsonb_build_object(
            'silence_is_consent', true,
            'passed', (tally #>> '{totals,block}')::bigint = 0
                      AND (tally #>> '{totals,disagree}')::bigint = 0);
    ELSIF p.method = 'consent' THEN
        agree := (tally #>> '{totals,agree}')::bigint;
        disagree := (tally #>> '{totals,disagree}')::bigint;
        res := res || jsonb_build_object(
            'threshold_pct', s -> 'threshold_pct',
            'threshold_inclusive', s -> 'threshold_inclusive',
            'max_blocks', s -> 'max_blocks',
            'passed', (tally #>> '{totals,block}')::bigint <= (s ->> 'max_blocks')::bigint
                      AND quorum_met
                      AND agree + disagree > 0
                      AND CASE WHEN (s ->> 'threshold_inclusive')::boolean
                               THEN agree * 100 >= (s ->> 'threshold_pct')::numeric * (agree + disagree)
                               ELSE agree * 100 > (s ->> 'threshold_pct')::numeric * (agree + disagree) END);
    ELSIF p.method <> 'ranked' THEN
        res := res || enspiral.winners_of(tally -> 'totals', voted);
    END IF;
    IF s ->> 'pass_share' IS NOT NULL THEN
        res := enspiral.apply_pass_share(p, res, t, ref, cast_weight, electorate_weight);
    END IF;
    RETURN res;
END
$$;
COMMENT ON FUNCTION enspiral.compute_outcome(bigint) IS
    'Internal: computes the outcome of a proposal from its ballots now (closed: as of closes_at), ignoring hide_results';

CREATE OR REPLACE FUNCTION enspiral.require_results_visible(p enspiral.proposals,
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
        RAISE EXCEPTION 'results of proposal % are hidden until the member votes', p.proposal_id
            USING ERRCODE = 'NS106',
                  HINT = 'Ask with the member: enspiral.outcome(group_id, proposal_id, member_id).';
    END IF;
    IF st <> 'closed' THEN
        RAISE EXCEPTION 'results of proposal % are hidden until it closes', p.proposal_id
            USING ERRCODE = 'NS106';
    END IF;
    IF enspiral.proposal_written_here(p.group_id, p.proposal_id) THEN
        RAISE EXCEPTION 'results of proposal % are hidden until its closing commits', p.proposal_id
            USING ERRCODE = 'NS106',
                  DETAIL = 'This transaction closed the proposal (or changed its deadline) and could still roll the closing back.',
                  HINT = 'Commit the closing, then read the results in a later transaction.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_results_visible(enspiral.proposals, enspiral.proposal_state) IS
    'Internal: NS106 unless the results of a hide_results proposal may be read: closed, by a closing that is committed';

CREATE OR REPLACE FUNCTION enspiral.outcome(proposal_id bigint) RETURNS jsonb
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
        RETURN coalesce(res, enspiral.record_outcome(p.proposal_id));
    END IF;
    RETURN enspiral.compute_outcome(p.proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.outcome(bigint) IS
    'The result: once closed, the outcome recorded at close (recorded now if no one has yet); before, the running tally unless results are hidden (NS106)';

CREATE OR REPLACE FUNCTION enspiral.tally(proposal_id bigint) RETURNS jsonb
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

REVOKE ALL ON enspiral.electorate_removals, enspiral.vote_weights, enspiral.delegations FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.electorate_members(bigint, bigint, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.rules_history_guard() FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.electorate_removals', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.vote_weights', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.delegations', '');

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
        RAISE EXCEPTION 'proposal % does not exist in group %', proposal_id, group_id
            USING ERRCODE = 'NS101';
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
        RAISE EXCEPTION 'results of proposal % are hidden until the member votes', proposal_id
            USING ERRCODE = 'NS106', DETAIL = format('Member %s has not voted on it.', member_id);
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

CREATE FUNCTION enspiral.weights_in_effect(p enspiral.proposals, ref timestamptz) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (coalesce((($1).settings ->> 'weighted')::boolean, false)
            AND EXISTS (SELECT 1 FROM enspiral.vote_weights w
                         WHERE w.group_id = ($1).group_id AND w.weight <> 1
                           AND w.valid_from <= $2 AND (w.valid_to IS NULL OR w.valid_to > $2)))
        OR (coalesce((($1).settings ->> 'delegation')::boolean, false)
            AND EXISTS (SELECT 1 FROM enspiral.delegations d
                         WHERE d.group_id = ($1).group_id
                           AND d.valid_from <= $2 AND (d.valid_to IS NULL OR d.valid_to > $2)))
$$;
COMMENT ON FUNCTION enspiral.weights_in_effect(enspiral.proposals, timestamptz) IS
    'Internal: whether a weight other than 1 or a delegation of the group was in effect at the opening ref and the proposal applies it';

CREATE FUNCTION enspiral.tally_ballots(p enspiral.proposals, t timestamptz, ref timestamptz,
                                       weighing boolean)
    RETURNS TABLE (ballot jsonb, weight bigint, direct bigint, delegated bigint, member_id bigint)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.ballot, coalesce(v.weight, 1) + coalesce(c.delegated, 0), coalesce(v.weight, 1),
           coalesce(c.delegated, 0), v.member_id
      FROM enspiral.votes v
      LEFT JOIN (SELECT d.member_id, d.delegated
                   FROM enspiral.delegated_weights(($1).group_id, ($1).proposal_id, $3, $2,
                                                   coalesce((($1).settings ->> 'weighted')::boolean, false)) d
                  WHERE coalesce((($1).settings ->> 'delegation')::boolean, false)) c
        ON c.member_id = v.member_id
     WHERE $4 AND v.group_id = ($1).group_id AND v.proposal_id = ($1).proposal_id
       AND v.superseded_at IS NULL
       AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(($1).group_id, $2) d)
    UNION ALL
    SELECT b, 1::bigint, 1::bigint, 0::bigint, NULL::bigint
      FROM enspiral.counted_ballots($1, $2) b
     WHERE NOT $4
$$;
COMMENT ON FUNCTION enspiral.tally_ballots(enspiral.proposals, timestamptz, timestamptz, boolean) IS
    'Internal: the ballots a tally counts at t with the weight each carries (weighing: the weight stored with the vote plus the weight delegated to it; otherwise 1 each); what every method sums';

CREATE FUNCTION enspiral.electorate_weight(p enspiral.proposals, ref timestamptz, t timestamptz)
    RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(sum(CASE WHEN coalesce((($1).settings ->> 'weighted')::boolean, false)
                             THEN coalesce(w.weight, 1) ELSE 1 END), 0)::bigint
      FROM enspiral.electorate_members(($1).group_id, ($1).proposal_id, $2, $3) e(member_id)
      LEFT JOIN enspiral.vote_weights w
        ON w.group_id = ($1).group_id AND w.member_id = e.member_id
       AND w.valid_from <= $2 AND (w.valid_to IS NULL OR w.valid_to > $2)
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
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    FOREACH m IN ARRAY members LOOP
        IF NOT enspiral.is_member(require_current_members.group_id, m, pg_catalog.statement_timestamp()) THEN
            RAISE EXCEPTION 'member % is not a current member of group %', m, group_id
                USING ERRCODE = 'NS004';
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
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The weight given is %s.', weight);
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
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT w.weight FROM enspiral.vote_weights w
                      WHERE w.group_id = $1 AND w.member_id = $2
                        AND w.valid_from <= coalesce($3, pg_catalog.statement_timestamp())
                        AND (w.valid_to IS NULL OR w.valid_to > coalesce($3, pg_catalog.statement_timestamp()))),
                    1)
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
        RAISE EXCEPTION 'member % has no delegation in group %', from_member, group_id
            USING ERRCODE = 'NS151';
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
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.to_member FROM enspiral.delegations d
     WHERE d.group_id = $1 AND d.from_member = $2
       AND d.valid_from <= coalesce($3, pg_catalog.statement_timestamp())
       AND (d.valid_to IS NULL OR d.valid_to > coalesce($3, pg_catalog.statement_timestamp()))
$$;
COMMENT ON FUNCTION enspiral.delegation_of(bigint, bigint, timestamptz) IS
    'The member a member delegates to at a time (default: now), NULL when none';

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
    res jsonb;
BEGIN
    PERFORM enspiral.require_results_visible(group_id, proposal_id, member_id);
    IF enspiral.proposal_state(proposal_id) = 'closed' THEN
        SELECT o.outcome INTO res FROM enspiral.outcomes o JOIN enspiral.proposals p USING (group_id, proposal_id)
         WHERE o.group_id = outcome.group_id AND o.proposal_id = outcome.proposal_id
           AND o.opening = p.reopen_count;
        RETURN coalesce(res, enspiral.record_outcome(proposal_id));
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
    p := enspiral.proposal_row(proposal_id);
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
    p := enspiral.proposal_row(carried_weights.proposal_id);
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
