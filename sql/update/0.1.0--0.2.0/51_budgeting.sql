-- enspiral update script 0.1.0 -> 0.2.0, part 51: participatory budgeting 2
-- (issue #16): rounds that bend (top-ups, ADD/SET allocations, early
-- funding at the minimum, withdrawals, hidden totals, a bucket creation
-- deadline) and Decidim-style budget ballots.  doc/budgeting.md describes
-- them.  Part 99 applies the ownership and privilege rules afterwards.

ALTER TYPE enspiral.transfer_kind ADD VALUE 'deallocate';
COMMENT ON TYPE enspiral.transfer_kind IS
    'Kinds of ledger transfers: fund (source->pool), allocate (pool->member), contribute (member->bucket), refund (a reversal), match_fund (source->matching), match (matching->bucket), deallocate (member->pool, a SET allocation below the balance)';

ALTER TABLE enspiral.rounds ADD COLUMN topped_up bigint NOT NULL DEFAULT 0 CHECK (topped_up >= 0);
COMMENT ON COLUMN enspiral.rounds.topped_up IS
    'What enspiral.top_up_round() added to the pool after creation (fund transfers from the source account); only grows, only before the close';

-- @function enspiral.normalize_round_settings(settings jsonb)

-- @function enspiral.rounds_guard()

-- @function enspiral.create_round(group_id bigint, name text, pool bigint, opens_at timestamptz, closes_at timestamptz, settings jsonb DEFAULT '{}')

-- @function enspiral.create_bucket(round_id bigint, author_id bigint, title text, min_goal bigint, max_goal bigint)

-- @function enspiral.bucket_total(bucket_id bigint)

-- @function enspiral.verify_ledger(group_id bigint)

-- rounds written by 0.1.0 get the new settings' defaults (the guard that
-- freezes settings is off for this one normalization only)
ALTER TABLE enspiral.rounds DISABLE TRIGGER rounds_guard;
UPDATE enspiral.rounds r SET settings = enspiral.normalize_round_settings(r.settings)
 WHERE r.settings IS DISTINCT FROM enspiral.normalize_round_settings(r.settings);
ALTER TABLE enspiral.rounds ENABLE TRIGGER rounds_guard;

-- @function enspiral.totals_visible(group_id bigint, round_id bigint)

-- @function enspiral.check_totals_visible(group_id bigint, round_id bigint)

-- @function enspiral.top_up_round(group_id bigint, round_id bigint, amount bigint)

-- @function enspiral.allocate_members(group_id bigint, round_id bigint, member_ids bigint[], amounts bigint[], mode text DEFAULT 'add')

-- @function enspiral.lock_open_bucket(group_id bigint, bucket_id bigint)

-- @function enspiral.withdraw_contribution(group_id bigint, bucket_id bigint, member_id bigint, amount bigint)

-- @function enspiral.accept_funding(group_id bigint, bucket_id bigint)

-- @function enspiral.check_budget_ballot(costs bigint[], budget bigint, selection integer[], settings jsonb DEFAULT '{}')

-- @function enspiral.budget_outcome(votes bigint[], costs bigint[], budget bigint)

-- @function enspiral.budget_selection_step(state internal, selection integer[], costs bigint[], budget bigint)

-- @function enspiral.budget_selection_final(state internal)

CREATE AGGREGATE enspiral.budget_selection(selection integer[], costs bigint[], budget bigint) (
    SFUNC = enspiral.budget_selection_step,
    STYPE = internal,
    FINALFUNC = enspiral.budget_selection_final,
    FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE enspiral.budget_selection(integer[], bigint[], bigint) IS
    'Counts budget ballots (1-based project numbers; NULL ballots skipped) of one budget over any table and returns enspiral.budget_outcome plus the number of ballots';

-- @function enspiral.budget_random_pick(member_id bigint, budget_ids bigint[])

-- @function enspiral.budget_vote_allowed(workflow text, member_id bigint, budget_ids bigint[], voted_ids bigint[], budget_id bigint)
