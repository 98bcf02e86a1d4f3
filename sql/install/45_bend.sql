------------------------------------------------------------------------------
-- Rounds that bend (Cobudget-style): top-ups, ADD/SET allocations while the
-- round is open, accepting funding at the minimum goal, withdrawing an
-- unspent contribution, hidden totals.  doc/budgeting.md describes them.
-- Lock order as in 40_cobudget: round -> buckets ascending -> accounts.
------------------------------------------------------------------------------

-- PL/pgSQL, not LANGUAGE sql: Citus cannot plan a LANGUAGE sql body with
-- parameters on distributed tables (doc/scaling.md)
CREATE FUNCTION enspiral.totals_visible(group_id bigint, round_id bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT NOT (r.settings ->> 'hide_totals')::boolean OR r.closed_at IS NOT NULL
              FROM enspiral.rounds r
             WHERE r.group_id = totals_visible.group_id AND r.round_id = totals_visible.round_id);
END
$$;
COMMENT ON FUNCTION enspiral.totals_visible(bigint, bigint) IS
    'Whether applications may see the bucket totals of a round: false while the round hides totals (setting hide_totals) and is not closed; NULL for an unknown round. Every reader that exposes totals calls it';

CREATE FUNCTION enspiral.check_totals_visible(group_id bigint, round_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT enspiral.totals_visible(group_id, round_id) THEN
        RAISE EXCEPTION 'bucket totals are hidden until the round closes'
            USING ERRCODE = 'NS256',
                  DETAIL = pg_catalog.format('Round %s has the setting hide_totals.', round_id),
                  HINT = 'Read the totals after enspiral.close_round().';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.check_totals_visible(bigint, bigint) IS
    'Raises NS256 unless enspiral.totals_visible(group_id, round_id)';

CREATE FUNCTION enspiral.top_up_round(group_id bigint, round_id bigint, amount bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds%ROWTYPE;
    src bigint;
    pool_acct bigint;
    tid bigint;
BEGIN
    IF group_id IS NULL OR round_id IS NULL OR amount IS NULL THEN
        RAISE EXCEPTION 'group_id, round_id and amount must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF amount <= 0 THEN
        RAISE EXCEPTION 'top-up amount must be positive'
            USING ERRCODE = 'NS407', COLUMN = 'amount', DETAIL = format('The amount is %s.', amount);
    END IF;
    -- rank 1: the round row, as allocate and close_round take it
    SELECT * INTO r FROM enspiral.rounds x
     WHERE x.group_id = top_up_round.group_id AND x.round_id = top_up_round.round_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(NULL, 'round', round_id);
    END IF;
    IF r.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'round is closed'
            USING ERRCODE = 'NS203',
                  DETAIL = pg_catalog.format('The pool of round %s can no longer grow.', round_id);
    END IF;
    IF r.pool::numeric + r.topped_up + amount > 9223372036854775807 THEN
        RAISE EXCEPTION 'round pool would overflow'
            USING ERRCODE = 'numeric_value_out_of_range',
                  DETAIL = pg_catalog.format('The pool of round %s would leave the bigint range.', round_id);
    END IF;
    SELECT a.account_id INTO src FROM enspiral.accounts a
     WHERE a.group_id = r.group_id AND a.round_id = r.round_id AND a.kind = 'source';
    SELECT a.account_id INTO pool_acct FROM enspiral.accounts a
     WHERE a.group_id = r.group_id AND a.round_id = r.round_id AND a.kind = 'pool';
    PERFORM 1 FROM enspiral.accounts a
     WHERE a.group_id = r.group_id AND a.account_id IN (src, pool_acct)
     ORDER BY a.account_id FOR NO KEY UPDATE;
    INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
    VALUES (r.group_id, r.round_id, 'fund', src, pool_acct, top_up_round.amount)
    RETURNING transfer_id INTO tid;
    UPDATE enspiral.rounds x SET topped_up = x.topped_up + top_up_round.amount
     WHERE x.group_id = r.group_id AND x.round_id = r.round_id;
    RETURN tid;
END
$$;
COMMENT ON FUNCTION enspiral.top_up_round(bigint, bigint, bigint) IS
    'Grows the pool of an unclosed round by amount: a fund transfer from the round''s source account, counted in rounds.topped_up; returns the transfer id';

CREATE FUNCTION enspiral.allocate_members(group_id bigint, round_id bigint,
                                          member_ids bigint[], amounts bigint[],
                                          mode text DEFAULT 'add')
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds%ROWTYPE;
    pool_acct bigint;
    pool_bal numeric;
    bad bigint; m_id bigint; m_delta numeric;
    accts bigint[];
    deltas numeric[];
    need numeric := 0;
BEGIN
    IF group_id IS NULL OR round_id IS NULL OR member_ids IS NULL OR amounts IS NULL
       OR mode IS NULL THEN
        RAISE EXCEPTION 'group_id, round_id, member_ids, amounts and mode must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  COLUMN = CASE WHEN group_id IS NULL THEN 'group_id' WHEN round_id IS NULL THEN 'round_id'
                                WHEN member_ids IS NULL THEN 'member_ids' WHEN amounts IS NULL THEN 'amounts'
                                ELSE 'mode' END;
    END IF;
    IF mode NOT IN ('add', 'set') THEN
        RAISE EXCEPTION 'unknown allocation mode'
            USING ERRCODE = 'NS414', COLUMN = 'mode',
                  DETAIL = pg_catalog.format('The mode given is "%s".', mode),
                  HINT = 'Use "add" or "set".';
    END IF;
    IF cardinality(member_ids) = 0 OR cardinality(member_ids) <> cardinality(amounts) THEN
        RAISE EXCEPTION 'member_ids and amounts must be non-empty and of the same length'
            USING ERRCODE = 'NS411', COLUMN = CASE WHEN cardinality(member_ids) = 0 THEN 'member_ids' ELSE 'amounts' END,
                  DETAIL = format('The lengths are %s and %s.',
                                  cardinality(member_ids), cardinality(amounts));
    END IF;
    IF array_position(member_ids, NULL) IS NOT NULL OR array_position(amounts, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'member_ids and amounts must not contain NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  COLUMN = CASE WHEN array_position(member_ids, NULL) IS NOT NULL THEN 'member_ids' ELSE 'amounts' END;
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(member_ids) x) <> cardinality(member_ids) THEN
        RAISE EXCEPTION 'member_ids must not repeat a member' USING ERRCODE = 'NS412', COLUMN = 'member_ids';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(amounts) x WHERE x < 0 OR (x = 0 AND mode = 'add')) THEN
        RAISE EXCEPTION 'allocation amounts must be positive (add) or not negative (set)'
            USING ERRCODE = 'NS407', COLUMN = 'amounts';
    END IF;
    -- rank 1: the round row
    SELECT * INTO r FROM enspiral.rounds x
     WHERE x.group_id = allocate_members.group_id AND x.round_id = allocate_members.round_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(NULL, 'round', round_id);
    END IF;
    IF r.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'round is closed'
            USING ERRCODE = 'NS203',
                  DETAIL = pg_catalog.format('The pool of round %s can no longer be allocated.', round_id);
    END IF;
    SELECT u.id INTO bad FROM unnest(member_ids) u(id)
     WHERE NOT enspiral.is_member(r.group_id, u.id) ORDER BY u.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member is not a current member of the group'
            USING ERRCODE = 'NS004',
                  DETAIL = pg_catalog.format('Member %s is not a current member of group %s.',
                                             bad, r.group_id);
    END IF;
    FOR m_id IN SELECT u.id FROM unnest(member_ids) u(id) ORDER BY u.id LOOP  -- row by row: see below
        INSERT INTO enspiral.accounts (group_id, round_id, kind, owner_id) VALUES (r.group_id, r.round_id, 'member', m_id) ON CONFLICT DO NOTHING;
    END LOOP;
    SELECT a.account_id INTO pool_acct FROM enspiral.accounts a
     WHERE a.group_id = r.group_id AND a.round_id = r.round_id AND a.kind = 'pool';
    -- accounts ascending (the pool and the members'), then read balances
    PERFORM 1 FROM enspiral.accounts a
     WHERE a.group_id = r.group_id AND a.round_id = r.round_id
       AND (a.account_id = pool_acct
            OR (a.kind = 'member' AND a.owner_id = ANY (member_ids)))
     ORDER BY a.account_id FOR NO KEY UPDATE;
    SELECT a.balance INTO pool_bal FROM enspiral.accounts a
     WHERE a.group_id = r.group_id AND a.account_id = pool_acct;
    SELECT array_agg(a.account_id ORDER BY a.account_id),
           array_agg(CASE WHEN mode = 'add' THEN u.amount::numeric
                          ELSE u.amount::numeric - a.balance END ORDER BY a.account_id)
      INTO accts, deltas
      FROM unnest(member_ids, amounts) u(id, amount)
      JOIN enspiral.accounts a ON a.group_id = r.group_id AND a.round_id = r.round_id
       AND a.kind = 'member' AND a.owner_id = u.id;
    SELECT COALESCE(sum(d), 0) INTO need FROM unnest(deltas) d;
    IF need > pool_bal THEN
        RAISE EXCEPTION 'round pool has not enough left for this allocation'
            USING ERRCODE = 'NS210',
                  DETAIL = format('The allocation needs %s more; the pool of round %s holds %s.',
                                  need, round_id, pool_bal),
                  HINT = 'Top the round up with enspiral.top_up_round() first.';
    END IF;
    -- give back first (SET below a balance), then give; row by row (INSERT ... VALUES): on Citus an INSERT ... SELECT not delegated reaches the shard as a COPY, which the guards take for the owner's restore
    FOR m_id, m_delta IN SELECT x.acct, x.d FROM unnest(accts, deltas) x(acct, d) WHERE x.d < 0 ORDER BY x.acct LOOP
        INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount) VALUES (r.group_id, r.round_id, 'deallocate', m_id, pool_acct, (-m_delta)::bigint);
    END LOOP;
    FOR m_id, m_delta IN SELECT x.acct, x.d FROM unnest(accts, deltas) x(acct, d) WHERE x.d > 0 ORDER BY x.acct LOOP
        INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount) VALUES (r.group_id, r.round_id, 'allocate', pool_acct, m_id, m_delta::bigint);
    END LOOP;
    RETURN need::bigint;
END
$$;
COMMENT ON FUNCTION enspiral.allocate_members(bigint, bigint, bigint[], bigint[], text) IS
    'Cobudget''s allocation types while a round is unclosed: add gives each listed member the amount from the pool, set makes each listed member''s balance exactly the amount (a deallocate transfer back to the pool when lower); returns the net amount taken from the pool (negative when set gave back)';

CREATE FUNCTION enspiral.lock_open_bucket(group_id bigint, bucket_id bigint)
    RETURNS enspiral.buckets
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b enspiral.buckets%ROWTYPE;
BEGIN
    -- rank 2: the bucket row (nothing of rank 1 is taken: like contribute)
    SELECT * INTO b FROM enspiral.buckets x
     WHERE x.group_id = lock_open_bucket.group_id AND x.bucket_id = lock_open_bucket.bucket_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(NULL, 'bucket', bucket_id);
    END IF;
    IF b.state::text <> 'open' THEN
        RAISE EXCEPTION 'bucket is not open'
            USING ERRCODE = 'NS204',
                  DETAIL = format('Bucket %s is %s; this needs an open bucket.', bucket_id, b.state);
    END IF;
    PERFORM 1 FROM enspiral.rounds r
     WHERE r.group_id = b.group_id AND r.round_id = b.round_id
       AND (r.closed_at IS NOT NULL OR pg_catalog.now() >= r.closes_at);
    IF FOUND THEN
        RAISE EXCEPTION 'round is not open'
            USING ERRCODE = 'NS203',
                  DETAIL = pg_catalog.format('Round %s is past its closes_at or closed; this needs an open round.',
                                             b.round_id);
    END IF;
    RETURN b;
END
$$;
COMMENT ON FUNCTION enspiral.lock_open_bucket(bigint, bigint) IS
    'Internal: locks a bucket row FOR NO KEY UPDATE and returns it, refusing an unknown bucket (NS202), one that is not open (NS204) or one whose round is past closes_at or closed (NS203)';

CREATE FUNCTION enspiral.withdraw_contribution(group_id bigint, bucket_id bigint,
                                               member_id bigint, amount bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b enspiral.buckets%ROWTYPE;
    r enspiral.rounds%ROWTYPE;
    bucket_acct bigint;
    member_acct bigint;
    unspent numeric := 0;
    back bigint := 0;
    c record;
BEGIN
    IF group_id IS NULL OR bucket_id IS NULL OR member_id IS NULL OR amount IS NULL THEN
        RAISE EXCEPTION 'group_id, bucket_id, member_id and amount must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF amount <= 0 THEN
        RAISE EXCEPTION 'withdrawal amount must be positive'
            USING ERRCODE = 'NS407', COLUMN = 'amount', DETAIL = format('The amount is %s.', amount);
    END IF;
    b := enspiral.lock_open_bucket(group_id, bucket_id);
    SELECT * INTO r FROM enspiral.rounds x WHERE x.group_id = b.group_id AND x.round_id = b.round_id;
    IF NOT (r.settings ->> 'allow_withdraw')::boolean THEN
        RAISE EXCEPTION 'round does not allow withdrawing contributions'
            USING ERRCODE = 'NS250',
                  DETAIL = pg_catalog.format('Round %s does not have the setting allow_withdraw.', r.round_id),
                  HINT = 'Create the round with the setting allow_withdraw.';
    END IF;
    -- the bucket's account, then the member's: contribute's order
    SELECT a.account_id INTO bucket_acct FROM enspiral.accounts a
     WHERE a.group_id = b.group_id AND a.round_id = b.round_id AND a.kind = 'bucket'
       AND a.owner_id = b.bucket_id FOR NO KEY UPDATE;
    SELECT a.account_id INTO member_acct FROM enspiral.accounts a
     WHERE a.group_id = b.group_id AND a.round_id = b.round_id AND a.kind = 'member'
       AND a.owner_id = withdraw_contribution.member_id FOR NO KEY UPDATE;
    -- reverse whole contributions, newest first; give back the excess of
    -- the last one as a new contribution, so every reversal mirrors its
    -- transfer exactly and cancel_bucket() still refunds what is left
    FOR c IN SELECT t.transfer_id, t.amount, sum(t.amount) OVER () AS unspent
               FROM enspiral.transfers t
              WHERE t.group_id = b.group_id AND t.to_account = bucket_acct
                AND t.from_account = member_acct AND t.kind = 'contribute'
                AND NOT EXISTS (SELECT 1 FROM enspiral.transfers x
                                 WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id)
              ORDER BY t.transfer_id DESC LOOP
        unspent := c.unspent;
        EXIT WHEN back >= amount OR unspent < amount;
        INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount, reverses)
        VALUES (b.group_id, b.round_id, 'refund', bucket_acct, member_acct, c.amount, c.transfer_id);
        back := back + c.amount;
    END LOOP;
    IF unspent < amount THEN
        RAISE EXCEPTION 'cannot withdraw more than was given'
            USING ERRCODE = 'NS251',
                  DETAIL = format('The contributions of member %s to bucket %s total %s; the withdrawal asks %s.',
                                  member_id, bucket_id, unspent, amount);
    END IF;
    IF back > amount THEN
        INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
        VALUES (b.group_id, b.round_id, 'contribute', member_acct, bucket_acct, back - amount);
    END IF;
    RETURN amount;
END
$$;
COMMENT ON FUNCTION enspiral.withdraw_contribution(bigint, bigint, bigint, bigint) IS
    'Where the round allows it (allow_withdraw), takes amount of a member''s contributions back from an open bucket before the close: reversing transfers of whole contributions, newest first, and a new contribution of any excess; nothing is deleted; returns amount';

CREATE FUNCTION enspiral.accept_funding(group_id bigint, bucket_id bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b enspiral.buckets%ROWTYPE;
    r enspiral.rounds%ROWTYPE;
    total bigint;
BEGIN
    IF group_id IS NULL OR bucket_id IS NULL THEN
        RAISE EXCEPTION 'group_id and bucket_id must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    b := enspiral.lock_open_bucket(group_id, bucket_id);
    SELECT * INTO r FROM enspiral.rounds x WHERE x.group_id = b.group_id AND x.round_id = b.round_id;
    IF NOT (r.settings ->> 'accept_funding_at_min')::boolean THEN
        RAISE EXCEPTION 'round does not let buckets accept funding at the minimum goal'
            USING ERRCODE = 'NS252',
                  DETAIL = pg_catalog.format('Round %s does not have the setting accept_funding_at_min.', r.round_id),
                  HINT = 'Create the round with the setting accept_funding_at_min.';
    END IF;
    SELECT a.balance INTO total FROM enspiral.accounts a
     WHERE a.group_id = b.group_id AND a.round_id = b.round_id AND a.kind = 'bucket'
       AND a.owner_id = b.bucket_id;
    IF total < b.min_goal THEN
        RAISE EXCEPTION 'bucket has not reached its minimum goal'
            USING ERRCODE = 'NS253',
                  DETAIL = format('Bucket %s holds %s of its min_goal %s.', bucket_id, total, b.min_goal);
    END IF;
    UPDATE enspiral.buckets x SET state = 'funded', state_changed_at = pg_catalog.now()
     WHERE x.group_id = b.group_id AND x.bucket_id = b.bucket_id;
    RETURN total;
END
$$;
COMMENT ON FUNCTION enspiral.accept_funding(bigint, bigint) IS
    'Where the round allows it (accept_funding_at_min), an open bucket that holds at least its min_goal becomes funded before the close (no more contributions); returns what it holds';

CREATE FUNCTION enspiral.bucket_reopen(group_id bigint, bucket_id bigint) RETURNS void
    LANGUAGE c STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_bucket_reopen';
COMMENT ON FUNCTION enspiral.bucket_reopen(bigint, bigint) IS
    'Internal: moves a funded bucket back to open, the one move outside the bucket lifecycle; only enspiral.reopen_funding() calls it, after its checks';
REVOKE ALL ON FUNCTION enspiral.bucket_reopen(bigint, bigint) FROM PUBLIC;

CREATE FUNCTION enspiral.reopen_funding(group_id bigint, bucket_id bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b enspiral.buckets%ROWTYPE;
    r enspiral.rounds%ROWTYPE;
    total bigint;
BEGIN
    IF group_id IS NULL OR bucket_id IS NULL THEN
        RAISE EXCEPTION 'group_id and bucket_id must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- rank 2: the bucket row, as accept_funding and contribute take it
    SELECT * INTO b FROM enspiral.buckets x
     WHERE x.group_id = reopen_funding.group_id AND x.bucket_id = reopen_funding.bucket_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'bucket', bucket_id);
    END IF;
    -- the round afresh, FOR SHARE without waiting (as open_bucket does): a
    -- close in progress holds it, and this refuses (retry); a later close
    -- waits for this transaction and decides the bucket as an open one
    SELECT * INTO r FROM enspiral.rounds x
     WHERE x.group_id = b.group_id AND x.round_id = b.round_id
       FOR SHARE SKIP LOCKED;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'buckets cannot be reopened while their round is being closed, allocated or matched'
            USING ERRCODE = 'NS203',
                  DETAIL = format('Round %s is being closed, allocated or matched by another transaction.', b.round_id),
                  HINT = 'Retry when that transaction has finished.';
    END IF;
    IF NOT (r.settings ->> 'allow_reopen_funding')::boolean THEN
        RAISE EXCEPTION 'round does not let funded buckets reopen for funding'
            USING ERRCODE = 'NS264',
                  DETAIL = format('Round %s has the setting allow_reopen_funding false.', r.round_id),
                  HINT = 'Create the round with the setting allow_reopen_funding.';
    END IF;
    IF r.closed_at IS NOT NULL OR pg_catalog.now() >= r.closes_at THEN
        RAISE EXCEPTION 'round is not open'
            USING ERRCODE = 'NS203',
                  DETAIL = format('Round %s is closed; a bucket reopens for funding only before its round closes.', r.round_id);
    END IF;
    SELECT a.balance INTO total FROM enspiral.accounts a
     WHERE a.group_id = b.group_id AND a.round_id = b.round_id AND a.kind = 'bucket'
       AND a.owner_id = b.bucket_id;
    IF b.state::text <> 'funded' OR total >= b.max_goal THEN
        RAISE EXCEPTION 'bucket was not funded early'
            USING ERRCODE = 'NS265',
                  DETAIL = format('Bucket %s is %s and holds %s of its max_goal %s; only a funded bucket below its max_goal reopens.',
                                  bucket_id, b.state, total, b.max_goal);
    END IF;
    PERFORM enspiral.bucket_reopen(b.group_id, b.bucket_id);
    RETURN total;
END
$$;
COMMENT ON FUNCTION enspiral.reopen_funding(bigint, bigint) IS
    'Where the round allows it (allow_reopen_funding), a bucket funded early (enspiral.accept_funding, below its max_goal) opens again for contributions before the close; returns what it holds';
