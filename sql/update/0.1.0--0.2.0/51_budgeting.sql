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

CREATE OR REPLACE FUNCTION enspiral.normalize_round_settings(settings jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    cap jsonb;
    under jsonb;
    cur jsonb;
    closes jsonb;
    flag text;
BEGIN
    IF jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION 'round settings must be a JSON object' USING ERRCODE = 'NS006';
    END IF;
    FOR k IN SELECT jsonb_object_keys(settings) LOOP
        IF k NOT IN ('max_per_member_per_bucket', 'currency', 'underfunded',
                     'bucket_creation_closes_at', 'accept_funding_at_min',
                     'allow_withdraw', 'hide_totals') THEN
            RAISE EXCEPTION 'unknown round setting "%"', k
                USING ERRCODE = 'NS006',
                      HINT = 'Known settings are: max_per_member_per_bucket, currency, underfunded, bucket_creation_closes_at, accept_funding_at_min, allow_withdraw, hide_totals.';
        END IF;
    END LOOP;
    cap := COALESCE(settings -> 'max_per_member_per_bucket', 'null');
    IF cap <> 'null' AND (jsonb_typeof(cap) <> 'number'
                          OR cap::text::numeric <> trunc(cap::text::numeric)
                          OR cap::text::numeric <= 0
                          OR cap::text::numeric > 9223372036854775807) THEN
        RAISE EXCEPTION 'round setting "max_per_member_per_bucket" must be a positive whole amount (or null)'
            USING ERRCODE = 'NS006';
    END IF;
    IF cap <> 'null' THEN
        -- stored as an integer (100.0 becomes 100), so it reads back as bigint
        cap := to_jsonb(cap::text::numeric::bigint);
    END IF;
    cur := COALESCE(settings -> 'currency', 'null');
    IF cur <> 'null' AND jsonb_typeof(cur) <> 'string' THEN
        RAISE EXCEPTION 'round setting "currency" must be a text label' USING ERRCODE = 'NS006';
    END IF;
    under := COALESCE(settings -> 'underfunded', '"refund"');
    IF under NOT IN ('"refund"', '"keep"') THEN
        RAISE EXCEPTION 'round setting "underfunded" must be "refund" or "keep"'
            USING ERRCODE = 'NS006';
    END IF;
    -- bucket_creation_closes_at: a timestamp with an explicit UTC offset
    -- (so it means the same instant in every session), kept as written
    closes := COALESCE(settings -> 'bucket_creation_closes_at', 'null');
    IF closes <> 'null' AND (jsonb_typeof(closes) <> 'string'
                             OR closes #>> '{}' !~ '^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)$') THEN
        RAISE EXCEPTION 'round setting "bucket_creation_closes_at" must be a timestamp with a UTC offset (or null)'
            USING ERRCODE = 'NS006',
                  HINT = 'Write it like "2027-03-01T12:00:00Z" or "2027-03-01 12:00:00+02".';
    END IF;
    FOREACH flag IN ARRAY ARRAY['accept_funding_at_min', 'allow_withdraw', 'hide_totals'] LOOP
        IF COALESCE(jsonb_typeof(settings -> flag), 'boolean') <> 'boolean' THEN
            RAISE EXCEPTION 'round setting "%" must be true or false', flag
                USING ERRCODE = 'NS006';
        END IF;
    END LOOP;
    RETURN jsonb_build_object('max_per_member_per_bucket', cap, 'currency', cur,
                              'underfunded', under,
                              'bucket_creation_closes_at', closes,
                              'accept_funding_at_min', COALESCE(settings -> 'accept_funding_at_min', 'false'),
                              'allow_withdraw', COALESCE(settings -> 'allow_withdraw', 'false'),
                              'hide_totals', COALESCE(settings -> 'hide_totals', 'false'));
END
$$;
COMMENT ON FUNCTION enspiral.normalize_round_settings(jsonb) IS
    'Validates round settings (max_per_member_per_bucket, currency, underfunded = refund|keep, bucket_creation_closes_at, accept_funding_at_min, allow_withdraw, hide_totals) and returns them with defaults filled in';

CREATE OR REPLACE FUNCTION enspiral.rounds_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'rounds_guard', 'enspiral.rounds');
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'rounds cannot be deleted' USING ERRCODE = 'NS011';
    END IF;
    IF (NEW.group_id, NEW.round_id, NEW.name, NEW.pool, NEW.opens_at, NEW.closes_at,
        NEW.settings, NEW.created_at)
       IS DISTINCT FROM
       (OLD.group_id, OLD.round_id, OLD.name, OLD.pool, OLD.opens_at, OLD.closes_at,
        OLD.settings, OLD.created_at)
       OR (OLD.closed_at IS NOT NULL AND NEW.closed_at IS DISTINCT FROM OLD.closed_at)
       OR NEW.topped_up < OLD.topped_up
       OR (OLD.closed_at IS NOT NULL AND NEW.topped_up <> OLD.topped_up)
       OR (OLD.matched_at IS NOT NULL
           AND (NEW.matched_at, NEW.matching_pool) IS DISTINCT FROM (OLD.matched_at, OLD.matching_pool)) THEN
        RAISE EXCEPTION 'round % can only be closed once and matched once', OLD.round_id
            USING ERRCODE = 'NS007',
                  HINT = 'Use enspiral.close_round(), enspiral.match_round() and enspiral.top_up_round().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION enspiral.rounds_guard() IS
    'Trigger: a round''s terms never change; it is closed once and matched once; topped_up only grows before the close; never deleted';

CREATE OR REPLACE FUNCTION enspiral.create_round(group_id bigint, name text, pool bigint,
                                      opens_at timestamptz, closes_at timestamptz,
                                      settings jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid bigint;
    src bigint;
    pool_acct bigint;
BEGIN
    IF group_id IS NULL OR pool IS NULL OR opens_at IS NULL OR closes_at IS NULL
       OR settings IS NULL THEN
        RAISE EXCEPTION 'group_id, pool, opens_at, closes_at and settings must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'round name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pool < 0 THEN
        RAISE EXCEPTION 'round pool must not be negative: %', pool
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF opens_at >= closes_at THEN
        RAISE EXCEPTION 'round must open before it closes'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (enspiral.normalize_round_settings(settings) ->> 'bucket_creation_closes_at')::timestamptz > closes_at THEN
        RAISE EXCEPTION 'bucket creation must close no later than the round'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The setting bucket_creation_closes_at is after closes_at.';
    END IF;
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = create_round.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    INSERT INTO enspiral.rounds (group_id, name, pool, opens_at, closes_at, settings)
    VALUES (create_round.group_id, create_round.name, create_round.pool,
            create_round.opens_at, create_round.closes_at,
            enspiral.normalize_round_settings(create_round.settings))
    RETURNING round_id INTO rid;
    INSERT INTO enspiral.accounts (group_id, round_id, kind)
    VALUES (create_round.group_id, rid, 'source') RETURNING account_id INTO src;
    INSERT INTO enspiral.accounts (group_id, round_id, kind)
    VALUES (create_round.group_id, rid, 'pool') RETURNING account_id INTO pool_acct;
    IF pool > 0 THEN
        INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
        VALUES (create_round.group_id, rid, 'fund', src, pool_acct, create_round.pool);
    END IF;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION enspiral.create_round(bigint, text, bigint, timestamptz, timestamptz, jsonb) IS
    'Creates a round whose pool is funded from the round''s source account; contributions are accepted in [opens_at, closes_at) until close_round';

CREATE OR REPLACE FUNCTION enspiral.create_bucket(round_id bigint, author_id bigint, title text,
                                       min_goal bigint, max_goal bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds%ROWTYPE;
    bid bigint;
BEGIN
    IF round_id IS NULL OR author_id IS NULL OR min_goal IS NULL OR max_goal IS NULL THEN
        RAISE EXCEPTION 'round_id, author_id, min_goal and max_goal must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF title IS NULL OR btrim(title) = '' THEN
        RAISE EXCEPTION 'bucket title must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF min_goal < 0 OR max_goal <= 0 OR min_goal > max_goal THEN
        RAISE EXCEPTION 'bucket goals must satisfy 0 <= min_goal <= max_goal and max_goal > 0: min_goal %, max_goal %',
            min_goal, max_goal USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- no round lock: a bucket created while the round closes stays an idea
    -- that can no longer be opened
    SELECT * INTO r FROM enspiral.rounds x WHERE x.round_id = create_bucket.round_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'round % does not exist', round_id USING ERRCODE = 'NS201';
    END IF;
    IF r.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'round % is closed; no new buckets', round_id USING ERRCODE = 'NS203';
    END IF;
    IF pg_catalog.now() >= (r.settings ->> 'bucket_creation_closes_at')::timestamptz THEN
        RAISE EXCEPTION 'bucket creation in round % has closed', round_id
            USING ERRCODE = 'NS255',
                  DETAIL = 'The round''s setting bucket_creation_closes_at has passed.',
                  HINT = 'Existing buckets can still be opened and funded until the round closes.';
    END IF;
    IF NOT enspiral.is_member(r.group_id, author_id) THEN
        RAISE EXCEPTION 'member % is not a current member of group %', author_id, r.group_id
            USING ERRCODE = 'NS004';
    END IF;
    INSERT INTO enspiral.buckets (group_id, round_id, author_id, title, min_goal, max_goal)
    VALUES (r.group_id, r.round_id, create_bucket.author_id, create_bucket.title,
            create_bucket.min_goal, create_bucket.max_goal)
    RETURNING bucket_id INTO bid;
    INSERT INTO enspiral.accounts (group_id, round_id, kind, owner_id)
    VALUES (r.group_id, r.round_id, 'bucket', bid);
    RETURN bid;
END
$$;
COMMENT ON FUNCTION enspiral.create_bucket(bigint, bigint, text, bigint, bigint) IS
    'Proposes a bucket (state idea) in an unclosed round, with its ledger account; the author must be a current member';

CREATE OR REPLACE FUNCTION enspiral.bucket_total(bucket_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t bigint;
BEGIN
    SELECT a.balance INTO t FROM enspiral.buckets b
      JOIN enspiral.accounts a ON a.group_id = b.group_id AND a.round_id = b.round_id
       AND a.kind = 'bucket' AND a.owner_id = b.bucket_id
     WHERE b.bucket_id = bucket_total.bucket_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'bucket % does not exist', bucket_id USING ERRCODE = 'NS202';
    END IF;
    PERFORM enspiral.check_totals_visible(b.group_id, b.round_id)
       FROM enspiral.buckets b WHERE b.bucket_id = bucket_total.bucket_id;
    RETURN t;
END
$$;
COMMENT ON FUNCTION enspiral.bucket_total(bigint) IS
    'What the bucket holds now (contributions and matches, 0 after a refund); NS256 while its round hides totals';

CREATE OR REPLACE FUNCTION enspiral.verify_ledger(group_id bigint) RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH g AS (SELECT $1 AS gid),
    moves AS (
        SELECT t.from_account AS account_id, -t.amount::numeric AS delta
          FROM enspiral.transfers t, g WHERE t.group_id = g.gid
        UNION ALL
        SELECT t.to_account, t.amount::numeric
          FROM enspiral.transfers t, g WHERE t.group_id = g.gid),
    sums AS (SELECT account_id, sum(delta) AS s FROM moves GROUP BY account_id),
    acc AS (
        SELECT a.*, COALESCE(s.s, 0) AS ledger_sum
          FROM enspiral.accounts a CROSS JOIN g
          LEFT JOIN sums s USING (account_id)
         WHERE a.group_id = g.gid),
    contrib AS (
        SELECT b.bucket_id, b.round_id, b.state::text AS state, b.max_goal, ba.balance,
               fa.owner_id AS member_id,
               sum(t.amount) FILTER (WHERE t.kind = 'contribute') AS given,
               sum(t.amount) FILTER (WHERE t.kind = 'contribute'
                   AND NOT EXISTS (SELECT 1 FROM enspiral.transfers x
                                    WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id)) AS kept
          FROM g
          JOIN enspiral.buckets b ON b.group_id = g.gid
          JOIN enspiral.accounts ba ON ba.group_id = b.group_id AND ba.round_id = b.round_id
           AND ba.kind = 'bucket' AND ba.owner_id = b.bucket_id
          LEFT JOIN enspiral.transfers t ON t.group_id = b.group_id AND t.to_account = ba.account_id
          LEFT JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account
         GROUP BY 1, 2, 3, 4, 5, 6)
    -- every balance equals the sum of its entries
    SELECT format('account %s (%s%s) of round %s: balance %s but its transfers sum to %s',
                  account_id, kind, COALESCE(' ' || owner_id, ''), round_id, balance, ledger_sum)
      FROM acc WHERE balance <> ledger_sum
    UNION ALL
    -- no account but the source is negative, the source never positive
    SELECT format('account %s (%s) of round %s has balance %s', account_id, kind, round_id, balance)
      FROM acc WHERE (kind <> 'source' AND balance < 0) OR (kind = 'source' AND balance > 0)
    UNION ALL
    -- conservation: the accounts of a round sum to zero, and what came from
    -- outside is exactly the pool plus the matching pool
    SELECT format('round %s: its accounts sum to %s instead of 0', round_id, sum(balance))
      FROM acc GROUP BY round_id HAVING sum(balance) <> 0
    UNION ALL
    SELECT format('round %s: %s entered from outside but pool + top-ups + matching pool is %s',
                  r.round_id, -COALESCE(a.balance, 0)::numeric,
                  r.pool::numeric + r.topped_up + COALESCE(r.matching_pool, 0))
      FROM enspiral.rounds r CROSS JOIN g
      LEFT JOIN acc a ON a.round_id = r.round_id AND a.kind = 'source'
     WHERE r.group_id = g.gid
       AND -COALESCE(a.balance, 0)::numeric
           <> r.pool::numeric + r.topped_up + COALESCE(r.matching_pool, 0)
    UNION ALL
    -- every transfer stays within one round of the group
    SELECT format('transfer %s of round %s touches account %s, which is not an account of that round',
                  t.transfer_id, t.round_id, x.account_id)
      FROM g JOIN enspiral.transfers t ON t.group_id = g.gid
      CROSS JOIN LATERAL (VALUES (t.from_account), (t.to_account)) x(account_id)
     WHERE NOT EXISTS (SELECT 1 FROM enspiral.accounts a
                        WHERE a.group_id = t.group_id AND a.account_id = x.account_id
                          AND a.round_id = t.round_id)
    UNION ALL
    -- every transfer moves between the account kinds of its kind
    SELECT format('transfer %s of kind %s moves from a %s account to a %s account',
                  t.transfer_id, t.kind, fa.kind, ta.kind)
      FROM g JOIN enspiral.transfers t ON t.group_id = g.gid
      JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account
      JOIN enspiral.accounts ta ON ta.group_id = t.group_id AND ta.account_id = t.to_account
     WHERE (t.kind::text, fa.kind::text, ta.kind::text) NOT IN (
               ('fund', 'source', 'pool'), ('allocate', 'pool', 'member'),
               ('contribute', 'member', 'bucket'), ('refund', 'bucket', 'member'),
               ('refund', 'bucket', 'matching'), ('match_fund', 'source', 'matching'),
               ('match', 'matching', 'bucket'), ('deallocate', 'member', 'pool'))
    UNION ALL
    -- a refund mirrors what it reverses
    SELECT format('refund %s does not mirror transfer %s', r.transfer_id, r.reverses)
      FROM g JOIN enspiral.transfers r ON r.group_id = g.gid AND r.reverses IS NOT NULL
      LEFT JOIN enspiral.transfers o ON o.group_id = r.group_id AND o.transfer_id = r.reverses
     WHERE o.transfer_id IS NULL OR o.from_account <> r.to_account
        OR o.to_account <> r.from_account OR o.amount <> r.amount OR o.round_id <> r.round_id
    UNION ALL
    -- contributions never exceed max_goal nor the per-member cap
    SELECT format('bucket %s holds %s in contributions, above its max_goal %s',
                  bucket_id, sum(kept), max(max_goal))
      FROM contrib GROUP BY bucket_id HAVING sum(kept) > max(max_goal)
    UNION ALL
    SELECT format('member %s gave %s to bucket %s, above max_per_member_per_bucket %s',
                  c.member_id, c.kept, c.bucket_id, r.max_per_member_per_bucket)
      FROM contrib c JOIN enspiral.rounds r ON r.round_id = c.round_id
     WHERE c.kept > r.max_per_member_per_bucket
    UNION ALL
    -- a cancelled bucket holds nothing; a funded bucket reached its goal
    -- (or was decided at close)
    SELECT format('bucket %s is cancelled but holds %s', bucket_id, max(balance))
      FROM contrib WHERE state = 'cancelled' GROUP BY bucket_id HAVING max(balance) <> 0
    UNION ALL
    -- (a bucket that accepted its funding at the minimum, where the round
    -- allows it, needs only its min_goal)
    SELECT format('bucket %s is %s in an unclosed round below its max_goal (%s < %s)',
                  c.bucket_id, c.state, sum(c.kept), max(c.max_goal))
      FROM contrib c JOIN enspiral.rounds r ON r.round_id = c.round_id
      JOIN enspiral.buckets b ON b.group_id = r.group_id AND b.bucket_id = c.bucket_id
     WHERE c.state IN ('funded', 'completed') AND r.closed_at IS NULL
     GROUP BY c.bucket_id, c.state
    HAVING COALESCE(sum(c.kept), 0) < max(c.max_goal)
       AND NOT (bool_and((r.settings ->> 'accept_funding_at_min')::boolean)
                AND COALESCE(sum(c.kept), 0) >= max(b.min_goal))
$$;
COMMENT ON FUNCTION enspiral.verify_ledger(bigint) IS
    'Recomputes every balance and invariant of a group''s co-budgeting ledger from the transfers; one row per problem, no rows when sound';

-- rounds written by 0.1.0 get the new settings' defaults (the guard that
-- freezes settings is off for this one normalization only)
ALTER TABLE enspiral.rounds DISABLE TRIGGER rounds_guard;
UPDATE enspiral.rounds r SET settings = enspiral.normalize_round_settings(r.settings)
 WHERE r.settings IS DISTINCT FROM enspiral.normalize_round_settings(r.settings);
ALTER TABLE enspiral.rounds ENABLE TRIGGER rounds_guard;

CREATE FUNCTION enspiral.totals_visible(group_id bigint, round_id bigint) RETURNS boolean
    LANGUAGE sql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT (r.settings ->> 'hide_totals')::boolean OR r.closed_at IS NOT NULL
      FROM enspiral.rounds r
     WHERE r.group_id = $1 AND r.round_id = $2
$$;
COMMENT ON FUNCTION enspiral.totals_visible(bigint, bigint) IS
    'Whether applications may see the bucket totals of a round: false while the round hides totals (setting hide_totals) and is not closed; NULL for an unknown round. Every reader that exposes totals calls it';

CREATE FUNCTION enspiral.check_totals_visible(group_id bigint, round_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT enspiral.totals_visible(group_id, round_id) THEN
        RAISE EXCEPTION 'bucket totals of round % are hidden until it closes', round_id
            USING ERRCODE = 'NS256',
                  DETAIL = 'The round has the setting hide_totals.',
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
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The amount is %s.', amount);
    END IF;
    -- rank 1: the round row, as allocate and close_round take it
    SELECT * INTO r FROM enspiral.rounds x
     WHERE x.group_id = top_up_round.group_id AND x.round_id = top_up_round.round_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'round % does not exist', round_id USING ERRCODE = 'NS201';
    END IF;
    IF r.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'round % is closed; its pool can no longer grow', round_id
            USING ERRCODE = 'NS203';
    END IF;
    IF r.pool::numeric + r.topped_up + amount > 9223372036854775807 THEN
        RAISE EXCEPTION 'the pool of round % would overflow', round_id
            USING ERRCODE = 'numeric_value_out_of_range';
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
    bad bigint;
    accts bigint[];
    deltas numeric[];
    need numeric := 0;
BEGIN
    IF group_id IS NULL OR round_id IS NULL OR member_ids IS NULL OR amounts IS NULL
       OR mode IS NULL THEN
        RAISE EXCEPTION 'group_id, round_id, member_ids, amounts and mode must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF mode NOT IN ('add', 'set') THEN
        RAISE EXCEPTION 'unknown allocation mode "%"', mode
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use add or set.';
    END IF;
    IF cardinality(member_ids) = 0 OR cardinality(member_ids) <> cardinality(amounts) THEN
        RAISE EXCEPTION 'member_ids and amounts must be non-empty and of the same length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF array_position(member_ids, NULL) IS NOT NULL OR array_position(amounts, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'member_ids and amounts must not contain NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(member_ids) x) <> cardinality(member_ids) THEN
        RAISE EXCEPTION 'member_ids must not repeat a member' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(amounts) x WHERE x < 0 OR (x = 0 AND mode = 'add')) THEN
        RAISE EXCEPTION 'allocation amounts must be positive (add) or not negative (set)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- rank 1: the round row
    SELECT * INTO r FROM enspiral.rounds x
     WHERE x.group_id = allocate_members.group_id AND x.round_id = allocate_members.round_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'round % does not exist', round_id USING ERRCODE = 'NS201';
    END IF;
    IF r.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'round % is closed; its pool can no longer be allocated', round_id
            USING ERRCODE = 'NS203';
    END IF;
    SELECT u.id INTO bad FROM unnest(member_ids) u(id)
     WHERE NOT enspiral.is_member(r.group_id, u.id) ORDER BY u.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member % is not a current member of group %', bad, r.group_id
            USING ERRCODE = 'NS004';
    END IF;
    INSERT INTO enspiral.accounts (group_id, round_id, kind, owner_id)
    SELECT r.group_id, r.round_id, 'member', u.id FROM unnest(member_ids) u(id) ORDER BY u.id
        ON CONFLICT DO NOTHING;
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
        RAISE EXCEPTION 'round % has not enough left in its pool for this allocation', round_id
            USING ERRCODE = 'NS210',
                  DETAIL = format('The allocation needs %s more; the pool holds %s.', need, pool_bal),
                  HINT = 'Top the round up with enspiral.top_up_round() first.';
    END IF;
    -- give back first (SET below a balance), then give
    INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
    SELECT r.group_id, r.round_id, 'deallocate', x.acct, pool_acct, (-x.d)::bigint
      FROM unnest(accts, deltas) x(acct, d) WHERE x.d < 0 ORDER BY x.acct;
    INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
    SELECT r.group_id, r.round_id, 'allocate', pool_acct, x.acct, x.d::bigint
      FROM unnest(accts, deltas) x(acct, d) WHERE x.d > 0 ORDER BY x.acct;
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
        RAISE EXCEPTION 'bucket % does not exist', bucket_id USING ERRCODE = 'NS202';
    END IF;
    IF b.state::text <> 'open' THEN
        RAISE EXCEPTION 'bucket % is not open', bucket_id
            USING ERRCODE = 'NS204',
                  DETAIL = format('Its state is %s; this needs an open bucket.', b.state);
    END IF;
    PERFORM 1 FROM enspiral.rounds r
     WHERE r.group_id = b.group_id AND r.round_id = b.round_id
       AND (r.closed_at IS NOT NULL OR pg_catalog.now() >= r.closes_at);
    IF FOUND THEN
        RAISE EXCEPTION 'round % is not open', b.round_id
            USING ERRCODE = 'NS203',
                  DETAIL = 'This needs a round before its closes_at and not closed.';
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
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The amount is %s.', amount);
    END IF;
    b := enspiral.lock_open_bucket(group_id, bucket_id);
    SELECT * INTO r FROM enspiral.rounds x WHERE x.group_id = b.group_id AND x.round_id = b.round_id;
    IF NOT (r.settings ->> 'allow_withdraw')::boolean THEN
        RAISE EXCEPTION 'round % does not allow withdrawing contributions', r.round_id
            USING ERRCODE = 'NS250',
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
        RAISE EXCEPTION 'member % cannot withdraw more than they gave to bucket %', member_id, bucket_id
            USING ERRCODE = 'NS251',
                  DETAIL = format('The member''s contributions to the bucket total %s; the withdrawal asks %s.',
                                  unspent, amount);
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
        RAISE EXCEPTION 'round % does not let buckets accept funding at the minimum goal', r.round_id
            USING ERRCODE = 'NS252',
                  HINT = 'Create the round with the setting accept_funding_at_min.';
    END IF;
    SELECT a.balance INTO total FROM enspiral.accounts a
     WHERE a.group_id = b.group_id AND a.round_id = b.round_id AND a.kind = 'bucket'
       AND a.owner_id = b.bucket_id;
    IF total < b.min_goal THEN
        RAISE EXCEPTION 'bucket % has not reached its minimum goal', bucket_id
            USING ERRCODE = 'NS253',
                  DETAIL = format('It holds %s of its min_goal %s.', total, b.min_goal);
    END IF;
    UPDATE enspiral.buckets x SET state = 'funded', state_changed_at = pg_catalog.now()
     WHERE x.group_id = b.group_id AND x.bucket_id = b.bucket_id;
    RETURN total;
END
$$;
COMMENT ON FUNCTION enspiral.accept_funding(bigint, bigint) IS
    'Where the round allows it (accept_funding_at_min), an open bucket that holds at least its min_goal becomes funded before the close (no more contributions); returns what it holds';

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
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use all, one or random.';
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
