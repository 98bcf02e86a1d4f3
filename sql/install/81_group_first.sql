------------------------------------------------------------------------------
-- Part 81: group-first forms of the last 0.1.0 writes that name no group
-- (doc/scaling.md, "Calling the API").  Same rules and messages as the
-- 0.1.0 forms, plus "does not exist" (NS101, NS201, NS202) with the detail
-- "Group N has no ... with id M." when the object is in another group.  On
-- Citus enspiral.distribute() delegates them to the node of the group.  No
-- argument has a default, so a 0.1.0 call still resolves to the 0.1.0 form.
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.cancel_bucket(group_id bigint, bucket_id bigint) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_bucket_exists(cancel_bucket.group_id, cancel_bucket.bucket_id);
    RETURN enspiral.cancel_bucket(cancel_bucket.bucket_id);
END
$$;
COMMENT ON FUNCTION enspiral.cancel_bucket(bigint, bigint) IS
    'Group-first cancel_bucket(): idea/open/funded -> cancelled for a bucket of the group, every contribution returned; returns the number of refunds';

CREATE FUNCTION enspiral.complete_bucket(group_id bigint, bucket_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_bucket_exists(complete_bucket.group_id, complete_bucket.bucket_id);
    PERFORM enspiral.complete_bucket(complete_bucket.bucket_id);
END
$$;
COMMENT ON FUNCTION enspiral.complete_bucket(bigint, bigint) IS
    'Group-first complete_bucket(): funded -> completed (final) for a bucket of the group';

CREATE FUNCTION enspiral.match_round(group_id bigint, round_id bigint, matching_pool bigint,
                                     method text, cap bigint, threshold numeric, options jsonb)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_round(match_round.group_id, match_round.round_id);
    RETURN enspiral.match_round(match_round.round_id, match_round.matching_pool,
                                coalesce(match_round.method, 'standard'), match_round.cap,
                                match_round.threshold, match_round.options);
END
$$;
COMMENT ON FUNCTION enspiral.match_round(bigint, bigint, bigint, text, bigint, numeric, jsonb) IS
    'Group-first match_round(): after close, once per round of the group, pays quadratic matching from matching_pool (method NULL: standard; cap, threshold, options may be NULL); returns the amount paid';

CREATE FUNCTION enspiral.withdraw_proposal(group_id bigint, proposal_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_proposal(withdraw_proposal.group_id, withdraw_proposal.proposal_id);
    PERFORM enspiral.withdraw_proposal(withdraw_proposal.proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.withdraw_proposal(bigint, bigint) IS
    'Group-first withdraw_proposal(): withdraws a draft, scheduled or open proposal of the group; on a withdrawn proposal it does nothing';

CREATE FUNCTION enspiral.reopen_proposal(group_id bigint, proposal_id bigint, closes_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_proposal(reopen_proposal.group_id, reopen_proposal.proposal_id);
    PERFORM enspiral.reopen_proposal(reopen_proposal.proposal_id, reopen_proposal.closes_at);
END
$$;
COMMENT ON FUNCTION enspiral.reopen_proposal(bigint, bigint, timestamptz) IS
    'Group-first reopen_proposal(): reopens a closed, named proposal of the group until a future closes_at';

------------------------------------------------------------------------------
-- Group-first forms of the last 0.1.0 calls that named no group: a bucket's
-- creation, a proposal's state, unscheduling and verification, and the
-- co-budgeting reads.  Each checks that the object is the group's (NS002,
-- NS101, NS201, NS202), notes the group (so a 0.1.0 form's lookup by id stays
-- on the group's node on Citus), and keys every read by the group.
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.create_bucket(group_id bigint, round_id bigint, author_id bigint,
                                       title text, min_goal bigint, max_goal bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds;
BEGIN
    PERFORM enspiral.check_bucket_args(create_bucket.round_id, create_bucket.author_id,
                                       create_bucket.title, create_bucket.min_goal,
                                       create_bucket.max_goal);
    r := enspiral.group_round(create_bucket.group_id, create_bucket.round_id);
    RETURN enspiral.insert_bucket(r, create_bucket.author_id, create_bucket.title,
                                  create_bucket.min_goal, create_bucket.max_goal);
END
$$;
COMMENT ON FUNCTION enspiral.create_bucket(bigint, bigint, bigint, text, bigint, bigint) IS
    'Group-first create_bucket(): proposes a bucket (state idea) in an unclosed round of the group, with its ledger account; the author must be a current member';

CREATE FUNCTION enspiral.proposal_state(group_id bigint, proposal_id bigint) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.group_proposal(proposal_state.group_id, proposal_state.proposal_id);
BEGIN
    RETURN enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at,
                                             pg_catalog.statement_timestamp())::text;
END
$$;
COMMENT ON FUNCTION enspiral.proposal_state(bigint, bigint) IS
    'Group-first proposal_state(): the state of a proposal of the group now (a scheduled proposal past opens_at is open, an open one past closes_at is closed)';

CREATE FUNCTION enspiral.unschedule_proposal(group_id bigint, proposal_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_proposal(unschedule_proposal.group_id, unschedule_proposal.proposal_id);
    PERFORM enspiral.unschedule_proposal(unschedule_proposal.proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.unschedule_proposal(bigint, bigint) IS
    'Group-first unschedule_proposal(): moves a scheduled proposal of the group back to draft (before it opens)';

CREATE FUNCTION enspiral.verify_outcome(group_id bigint, proposal_id bigint)
    RETURNS TABLE (opening integer, matches boolean, recorded jsonb, recomputed jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_proposal(verify_outcome.group_id, verify_outcome.proposal_id);
    RETURN QUERY SELECT v.opening, v.matches, v.recorded, v.recomputed
                   FROM enspiral.verify_outcome(verify_outcome.proposal_id) v;
END
$$;
COMMENT ON FUNCTION enspiral.verify_outcome(bigint, bigint) IS
    'Group-first verify_outcome(): each recorded outcome of a proposal of the group, recomputed from the ballots and compared';

CREATE FUNCTION enspiral.balance(group_id bigint, round_id bigint, member_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b bigint;
BEGIN
    PERFORM enspiral.group_round(balance.group_id, balance.round_id);
    SELECT a.balance INTO b FROM enspiral.accounts a
     WHERE a.group_id = balance.group_id AND a.round_id = balance.round_id
       AND a.kind = 'member' AND a.owner_id = balance.member_id;
    IF NOT FOUND THEN
        PERFORM enspiral.require_member(balance.group_id, balance.member_id);
    END IF;
    RETURN coalesce(b, 0);
END
$$;
COMMENT ON FUNCTION enspiral.balance(bigint, bigint, bigint) IS
    'Group-first balance(): what the member can still give in a round of the group (0 when nothing was allocated to them; NS003 for a member unknown in the group)';

CREATE FUNCTION enspiral.bucket_total(group_id bigint, bucket_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid bigint;
    t bigint;
BEGIN
    SELECT b.round_id, a.balance INTO rid, t FROM enspiral.buckets b
      JOIN enspiral.accounts a ON a.group_id = b.group_id AND a.round_id = b.round_id
       AND a.kind = 'bucket' AND a.owner_id = b.bucket_id
     WHERE b.group_id = bucket_total.group_id AND b.bucket_id = bucket_total.bucket_id;
    IF NOT FOUND THEN
        PERFORM enspiral.group_bucket_exists(bucket_total.group_id, bucket_total.bucket_id);
    END IF;
    PERFORM enspiral.check_totals_visible(bucket_total.group_id, rid);
    RETURN t;
END
$$;
COMMENT ON FUNCTION enspiral.bucket_total(bigint, bigint) IS
    'Group-first bucket_total(): what a bucket of the group holds now (contributions and matches, 0 after a refund); NS256 while its round hides totals';

CREATE FUNCTION enspiral.bucket_state(group_id bigint, bucket_id bigint) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text;
BEGIN
    SELECT b.state::text INTO s FROM enspiral.buckets b
     WHERE b.group_id = bucket_state.group_id AND b.bucket_id = bucket_state.bucket_id;
    IF NOT FOUND THEN
        PERFORM enspiral.group_bucket_exists(bucket_state.group_id, bucket_state.bucket_id);
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION enspiral.bucket_state(bigint, bigint) IS
    'Group-first bucket_state(): the state of a bucket of the group: idea, open, funded, completed or cancelled';
