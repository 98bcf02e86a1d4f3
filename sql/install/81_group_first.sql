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
