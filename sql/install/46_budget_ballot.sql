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
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_budget_random_pick';
COMMENT ON FUNCTION enspiral.budget_random_pick(bigint, bigint[]) IS
    'The budget a member may vote in under the random workflow (Decidim''s Workflows::Random): of the budget ids (NULLs and repeats ignored), the one with the lowest splitmix64 hash of member and budget (rendezvous hashing; ties: lower id); deterministic on every platform; NULL without budgets';

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
        RAISE EXCEPTION 'budget is not one of the group''s budgets'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Budget %s is not in budget_ids.', budget_id);
    END IF;
    IF workflow NOT IN ('all', 'one', 'random') THEN
        RAISE EXCEPTION 'unknown budget workflow'
            USING ERRCODE = 'NS414', COLUMN = 'workflow',
                  DETAIL = format('The workflow given is "%s".', workflow),
                  HINT = 'Use all, one or random.';
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

------------------------------------------------------------------------------
-- Budget sets: several budget proposals of a group under one of Decidim's
-- workflows (all, one, random), enforced by enspiral.vote().
------------------------------------------------------------------------------

CREATE TABLE enspiral.budget_sets (
    group_id    bigint NOT NULL REFERENCES enspiral.groups,
    set_id      bigint GENERATED ALWAYS AS IDENTITY,
    name        text NOT NULL CHECK (btrim(name) <> ''),
    workflow    text NOT NULL CHECK (workflow IN ('all', 'one', 'random')),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, set_id)
);
COMMENT ON TABLE enspiral.budget_sets IS
    'Sets of budget proposals voted under one of Decidim''s workflows: all (a ballot in every budget), one (a ballot in one budget of the member''s choice), random (a ballot only in the budget enspiral.budget_random_pick gives the member)';

CREATE TABLE enspiral.budget_set_budgets (
    group_id    bigint NOT NULL,
    proposal_id bigint NOT NULL,
    set_id      bigint NOT NULL,
    PRIMARY KEY (group_id, proposal_id),
    FOREIGN KEY (group_id, set_id) REFERENCES enspiral.budget_sets,
    FOREIGN KEY (group_id, proposal_id) REFERENCES enspiral.proposals
);
CREATE INDEX ON enspiral.budget_set_budgets (group_id, set_id);
COMMENT ON TABLE enspiral.budget_set_budgets IS
    'The budget proposals of each budget set; a proposal is in at most one set, and the budgets of a set are fixed once one of them leaves draft';

CREATE TABLE enspiral.budget_set_voters (
    group_id    bigint NOT NULL,
    set_id      bigint NOT NULL,
    member_id   bigint NOT NULL,
    proposal_id bigint NOT NULL,
    PRIMARY KEY (group_id, set_id, member_id),
    FOREIGN KEY (group_id, set_id) REFERENCES enspiral.budget_sets
);
COMMENT ON TABLE enspiral.budget_set_voters IS
    'Internal: under the workflow one, the budget each member last voted in; the row is the member''s lock over the set, so two votes of one member in two budgets serialize (iso_budget_one_workflow.spec)';

CREATE FUNCTION enspiral.create_budget_set(group_id bigint, name text, workflow text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sid bigint;
BEGIN
    IF group_id IS NULL OR workflow IS NULL THEN
        RAISE EXCEPTION 'group_id and workflow must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'budget set name must not be empty' USING ERRCODE = 'NS401', COLUMN = 'name';
    END IF;
    IF workflow NOT IN ('all', 'one', 'random') THEN
        RAISE EXCEPTION 'unknown budget workflow'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The workflow given is "%s".', workflow),
                  HINT = 'Use all, one or random.';
    END IF;
    PERFORM enspiral.require_group(create_budget_set.group_id);
    INSERT INTO enspiral.budget_sets (group_id, name, workflow)
    VALUES (create_budget_set.group_id, create_budget_set.name, create_budget_set.workflow)
    RETURNING set_id INTO sid;
    RETURN sid;
END
$$;
COMMENT ON FUNCTION enspiral.create_budget_set(bigint, text, text) IS
    'Creates a set of budgets voted under a Decidim workflow (all, one or random) and returns its id; add budget proposals with enspiral.add_budget_to_set';

CREATE FUNCTION enspiral.add_budget_to_set(group_id bigint, set_id bigint, proposal_id bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals%ROWTYPE;
    busy bigint;
BEGIN
    IF group_id IS NULL OR set_id IS NULL OR proposal_id IS NULL THEN
        RAISE EXCEPTION 'group_id, set_id and proposal_id must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- the set row first: two additions to one set serialize
    PERFORM 1 FROM enspiral.budget_sets s
     WHERE s.group_id = add_budget_to_set.group_id AND s.set_id = add_budget_to_set.set_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'budget set does not exist'
            USING ERRCODE = 'NS260',
                  DETAIL = format('Group %s has no budget set with id %s.', group_id, set_id);
    END IF;
    -- the proposals FOR SHARE: scheduling or opening one waits, or is waited for
    SELECT * INTO p FROM enspiral.proposals x
     WHERE x.group_id = add_budget_to_set.group_id AND x.proposal_id = add_budget_to_set.proposal_id
       FOR SHARE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'proposal', proposal_id);
    END IF;
    IF p.method <> 'budget' THEN
        RAISE EXCEPTION 'proposal is not a budget'
            USING ERRCODE = 'NS261',
                  DETAIL = format('Proposal %s has method %s; a budget set holds proposals of method budget.',
                                  proposal_id, p.method);
    END IF;
    SELECT m.set_id INTO busy FROM enspiral.budget_set_budgets m
     WHERE m.group_id = add_budget_to_set.group_id AND m.proposal_id = add_budget_to_set.proposal_id;
    IF FOUND THEN
        RAISE EXCEPTION 'proposal is already in a budget set'
            USING ERRCODE = 'NS261',
                  DETAIL = format('Proposal %s is in budget set %s.', proposal_id, busy);
    END IF;
    SELECT x.proposal_id INTO busy FROM enspiral.proposals x
     WHERE x.group_id = add_budget_to_set.group_id
       AND (x.proposal_id = add_budget_to_set.proposal_id
            OR x.proposal_id IN (SELECT m.proposal_id FROM enspiral.budget_set_budgets m
                                  WHERE m.group_id = add_budget_to_set.group_id
                                    AND m.set_id = add_budget_to_set.set_id))
       AND x.state::text <> 'draft'
     ORDER BY x.proposal_id LIMIT 1
       FOR SHARE OF x;
    IF FOUND THEN
        RAISE EXCEPTION 'budget set can no longer change'
            USING ERRCODE = 'NS262',
                  DETAIL = format('Proposal %s of budget set %s is no longer a draft.', busy, set_id),
                  HINT = 'The budgets of a set are fixed once one of them is scheduled or opened, so every member''s workflow stays the same.';
    END IF;
    INSERT INTO enspiral.budget_set_budgets (group_id, proposal_id, set_id)
    VALUES (add_budget_to_set.group_id, add_budget_to_set.proposal_id, add_budget_to_set.set_id);
END
$$;
COMMENT ON FUNCTION enspiral.add_budget_to_set(bigint, bigint, bigint) IS
    'Adds a draft budget proposal to a budget set while every budget of the set is still a draft (NS262 after; NS261 for a proposal that is not a budget or already in a set)';

CREATE FUNCTION enspiral.budget_set_pick(group_id bigint, set_id bigint, member_id bigint)
    RETURNS bigint
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL, not LANGUAGE sql: Citus cannot plan the subquery over a
    -- distributed table with the parameters of a SQL function
    RETURN enspiral.budget_random_pick(budget_set_pick.member_id,
               ARRAY(SELECT m.proposal_id FROM enspiral.budget_set_budgets m
                      WHERE m.group_id = budget_set_pick.group_id
                        AND m.set_id = budget_set_pick.set_id));
END
$$;
COMMENT ON FUNCTION enspiral.budget_set_pick(bigint, bigint, bigint) IS
    'The budget of a set that the random workflow gives a member (enspiral.budget_random_pick over the set''s budgets); NULL for a set without budgets';

CREATE FUNCTION enspiral.budget_workflow_check(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s enspiral.budget_sets%ROWTYPE;
    pick bigint;
    held bigint;
BEGIN
    SELECT bs.* INTO s FROM enspiral.budget_set_budgets m
      JOIN enspiral.budget_sets bs ON bs.group_id = m.group_id AND bs.set_id = m.set_id
     WHERE m.group_id = budget_workflow_check.group_id AND m.proposal_id = budget_workflow_check.proposal_id;
    IF NOT FOUND OR s.workflow = 'all' THEN
        RETURN;
    END IF;
    IF s.workflow = 'random' THEN
        pick := enspiral.budget_set_pick(s.group_id, s.set_id, member_id);
        IF pick <> proposal_id THEN
            RAISE EXCEPTION 'member may not vote in this budget'
                USING ERRCODE = 'NS263',
                      DETAIL = format('Budget set %s uses the random workflow; the budget of member %s is %s, not %s.',
                                      s.set_id, member_id, pick, proposal_id);
        END IF;
        RETURN;
    END IF;
    -- one: the member's row in the set is their lock; a concurrent vote in
    -- another budget waits here and then sees this one
    INSERT INTO enspiral.budget_set_voters AS v (group_id, set_id, member_id, proposal_id)
    VALUES (s.group_id, s.set_id, budget_workflow_check.member_id, budget_workflow_check.proposal_id)
    ON CONFLICT ON CONSTRAINT budget_set_voters_pkey DO NOTHING;
    SELECT v.proposal_id INTO held FROM enspiral.budget_set_voters v
     WHERE v.group_id = s.group_id AND v.set_id = s.set_id AND v.member_id = budget_workflow_check.member_id
       FOR UPDATE;
    IF held = proposal_id THEN
        RETURN;
    END IF;
    -- moving to another budget: only without a counted ballot in the first
    -- (a retracted vote frees the member; an anonymous ballot never does)
    IF EXISTS (SELECT 1 FROM enspiral.votes x
                WHERE x.group_id = s.group_id AND x.proposal_id = held
                  AND x.member_id = budget_workflow_check.member_id AND x.superseded_at IS NULL) THEN
        RAISE EXCEPTION 'member has already voted in another budget of the budget set'
            USING ERRCODE = 'NS263',
                  DETAIL = format('Budget set %s uses the workflow one; member %s voted in budget %s.',
                                  s.set_id, member_id, held),
                  HINT = 'Retract that vote first (enspiral.retract_vote) to vote in this budget instead.';
    END IF;
    IF EXISTS (SELECT 1 FROM enspiral.participations x
                WHERE x.group_id = s.group_id AND x.proposal_id = held
                  AND x.member_id = budget_workflow_check.member_id) THEN
        RAISE EXCEPTION 'member has already voted in another budget of the budget set'
            USING ERRCODE = 'NS263',
                  DETAIL = format('Budget set %s uses the workflow one; member %s cast an anonymous ballot in budget %s, which cannot be retracted.',
                                  s.set_id, member_id, held);
    END IF;
    UPDATE enspiral.budget_set_voters v SET proposal_id = budget_workflow_check.proposal_id
     WHERE v.group_id = s.group_id AND v.set_id = s.set_id AND v.member_id = budget_workflow_check.member_id;
END
$$;
COMMENT ON FUNCTION enspiral.budget_workflow_check(bigint, bigint, bigint) IS
    'Internal (called by enspiral.vote on a budget proposal): NS263 when the workflow of the proposal''s budget set forbids the member''s vote (one: a counted ballot in another budget of the set; random: not the member''s budget)';
REVOKE ALL ON FUNCTION enspiral.budget_workflow_check(bigint, bigint, bigint) FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('enspiral.budget_sets', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.budget_set_budgets', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.budget_set_voters', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.budget_sets_set_id_seq', '');
COMMENT ON SEQUENCE enspiral.budget_sets_set_id_seq IS 'Identity of enspiral.budget_sets.set_id';
