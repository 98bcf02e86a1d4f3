------------------------------------------------------------------------------
-- Decidim-style budget ballots: check a ballot, the outcome from votes, the
-- budget_selection aggregate over any table, and Decidim's workflows for
-- several budgets.  doc/budgeting.md describes the rules and their sources.
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.check_budget_ballot(costs bigint[], budget bigint,
                                             selection integer[], settings jsonb DEFAULT '{}')
    RETURNS integer[]
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_check_budget_ballot';
COMMENT ON FUNCTION enspiral.check_budget_ballot(bigint[], bigint, integer[], jsonb) IS
    'A budget ballot (1-based project numbers) sorted, or an NS104 error naming the broken rule: within the budget and at least vote_threshold_percent of it (voting_rule threshold_percent, default 70), within the budget and at least vote_minimum_budget_projects_number projects (minimum_projects), or between vote_selected_projects_minimum and _maximum projects (selected_projects)';

CREATE FUNCTION enspiral.budget_outcome(votes bigint[], costs bigint[], budget bigint)
    RETURNS jsonb
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_budget_outcome';
COMMENT ON FUNCTION enspiral.budget_outcome(bigint[], bigint[], bigint) IS
    'The outcome of a budget vote: {votes, selected, skipped, spent, remaining}; in order of votes (ties: lower cost, then lower project number) each project that still fits in the budget is selected, the others skipped';

CREATE FUNCTION enspiral.budget_selection_step(state internal, selection integer[],
                                               costs bigint[], budget bigint)
    RETURNS internal
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_budget_selection_step';
COMMENT ON FUNCTION enspiral.budget_selection_step(internal, integer[], bigint[], bigint) IS
    'Transition of enspiral.budget_selection: counts one ballot';

CREATE FUNCTION enspiral.budget_selection_final(state internal)
    RETURNS jsonb
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_budget_selection_final';
COMMENT ON FUNCTION enspiral.budget_selection_final(internal) IS
    'Final function of enspiral.budget_selection: enspiral.budget_outcome of the counted ballots, with their number';

CREATE AGGREGATE enspiral.budget_selection(selection integer[], costs bigint[], budget bigint) (
    SFUNC = enspiral.budget_selection_step,
    STYPE = internal,
    FINALFUNC = enspiral.budget_selection_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.budget_selection(integer[], bigint[], bigint) IS
    'Counts budget ballots (1-based project numbers; NULL ballots skipped) of one budget over any table and returns enspiral.budget_outcome plus the number of ballots';

CREATE FUNCTION enspiral.budget_random_pick(member_id bigint, budget_ids bigint[]) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.ids[1 + (($1 % cardinality(s.ids)) + cardinality(s.ids)) % cardinality(s.ids)]
      FROM (SELECT ARRAY(SELECT DISTINCT b FROM unnest($2) b WHERE b IS NOT NULL ORDER BY b) AS ids) s
     WHERE cardinality(s.ids) > 0
$$;
COMMENT ON FUNCTION enspiral.budget_random_pick(bigint, bigint[]) IS
    'The budget a member may vote in under the random workflow: the budgets in ascending id order, the one at member_id modulo their number (Decidim''s Workflows::Random); deterministic';

CREATE FUNCTION enspiral.budget_vote_allowed(workflow text, member_id bigint, budget_ids bigint[],
                                             voted_ids bigint[], budget_id bigint)
    RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF workflow IS NULL OR member_id IS NULL OR budget_ids IS NULL OR voted_ids IS NULL
       OR budget_id IS NULL THEN
        RAISE EXCEPTION 'workflow, member_id, budget_ids, voted_ids and budget_id must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF budget_id <> ALL (budget_ids) THEN
        RAISE EXCEPTION 'budget % is not one of the group''s budgets', budget_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF workflow NOT IN ('all', 'one', 'random') THEN
        RAISE EXCEPTION 'unknown budget workflow "%"', workflow
            USING ERRCODE = 'NS414', COLUMN = 'workflow', HINT = 'Use all, one or random.';
    END IF;
    RETURN CASE workflow
        WHEN 'all' THEN budget_id <> ALL (voted_ids)
        WHEN 'one' THEN cardinality(voted_ids) = 0
        WHEN 'random' THEN cardinality(voted_ids) = 0
                           AND budget_id = enspiral.budget_random_pick(member_id, budget_ids)
        END;
END
$$;
COMMENT ON FUNCTION enspiral.budget_vote_allowed(text, bigint, bigint[], bigint[], bigint) IS
    'Decidim''s budget workflows over several budgets: all (vote in each budget once), one (vote in any one budget, then no other), random (vote only in enspiral.budget_random_pick, and only once)';
