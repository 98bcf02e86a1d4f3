-- enspiral update script 0.1.0 -> 0.2.0, part 11: runtime security fixes
-- (issue #19): results of hide_results proposals stay hidden until the
-- closing commits, verify_ledger reports transfers whose kind does not match
-- its accounts, settings are stored normalized (whole numbers as integers).
-- The C side (restore detection by relation OID, the ledger kind check, the
-- catalyst departure exemption, bounded retries) comes with the library.

CREATE OR REPLACE FUNCTION enspiral.normalize_round_settings(settings jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    cap jsonb;
    under jsonb;
    cur jsonb;
BEGIN
    IF jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION 'round settings must be a JSON object' USING ERRCODE = 'NS006';
    END IF;
    FOR k IN SELECT jsonb_object_keys(settings) LOOP
        IF k NOT IN ('max_per_member_per_bucket', 'currency', 'underfunded') THEN
            RAISE EXCEPTION 'unknown round setting "%"', k
                USING ERRCODE = 'NS006',
                      HINT = 'Known settings are: max_per_member_per_bucket, currency, underfunded.';
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
    RETURN jsonb_build_object('max_per_member_per_bucket', cap, 'currency', cur,
                              'underfunded', under);
END
$$;
COMMENT ON FUNCTION enspiral.normalize_round_settings(jsonb) IS
    'Validates round settings (max_per_member_per_bucket, currency, underfunded = refund|keep) and returns them with defaults filled in';

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
    SELECT format('round %s: %s entered from outside but pool + matching pool is %s',
                  r.round_id, -COALESCE(a.balance, 0)::numeric,
                  r.pool::numeric + COALESCE(r.matching_pool, 0))
      FROM enspiral.rounds r CROSS JOIN g
      LEFT JOIN acc a ON a.round_id = r.round_id AND a.kind = 'source'
     WHERE r.group_id = g.gid
       AND -COALESCE(a.balance, 0)::numeric <> r.pool::numeric + COALESCE(r.matching_pool, 0)
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
               ('match', 'matching', 'bucket'))
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
    SELECT format('bucket %s is %s in an unclosed round below its max_goal (%s < %s)',
                  c.bucket_id, c.state, sum(c.kept), max(c.max_goal))
      FROM contrib c JOIN enspiral.rounds r ON r.round_id = c.round_id
     WHERE c.state IN ('funded', 'completed') AND r.closed_at IS NULL
     GROUP BY c.bucket_id, c.state HAVING COALESCE(sum(c.kept), 0) < max(c.max_goal)
$$;
COMMENT ON FUNCTION enspiral.verify_ledger(bigint) IS
    'Recomputes every balance and invariant of a group''s co-budgeting ledger from the transfers; one row per problem, no rows when sound';

CREATE FUNCTION enspiral.proposal_written_here(group_id bigint, proposal_id bigint)
    RETURNS boolean
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_proposal_written_here';
COMMENT ON FUNCTION enspiral.proposal_written_here(bigint, bigint) IS
    'Internal: true when this transaction (or a subtransaction) wrote the proposal''s visible row, e.g. a closing not yet committed';

CREATE FUNCTION enspiral.require_results_visible(p enspiral.proposals,
                                                 st enspiral.proposal_state)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT (p.settings ->> 'hide_results')::boolean THEN
        RETURN;
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

CREATE OR REPLACE FUNCTION enspiral.verify_outcome(proposal_id bigint)
    RETURNS TABLE (opening integer, matches boolean, recorded jsonb, recomputed jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
BEGIN
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) <> 'closed' THEN
        RAISE EXCEPTION 'proposal % is not closed', proposal_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM enspiral.require_results_visible(p, 'closed');
    opening := p.reopen_count;
    SELECT o.outcome INTO recorded FROM enspiral.outcomes o
     WHERE o.group_id = p.group_id AND o.proposal_id = p.proposal_id AND o.opening = p.reopen_count;
    recomputed := enspiral.compute_outcome(p.proposal_id);
    matches := recorded IS NOT DISTINCT FROM recomputed;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION enspiral.verify_outcome(bigint) IS
    'Recomputes the outcome of a closed proposal from its ballots and compares it with the recorded one (matches is false on any difference or when nothing was recorded)';

CREATE FUNCTION enspiral.catalyst_member_rejoined() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_member_rejoined';
COMMENT ON FUNCTION enspiral.catalyst_member_rejoined() IS
    'Trigger on memberships: a member who rejoins in the transaction that removed them undoes the departure, so its term changes are checked by the coverage rule';
REVOKE ALL ON FUNCTION enspiral.catalyst_member_rejoined() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER catalyst_member_rejoined
    AFTER INSERT ON enspiral.memberships
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_member_rejoined();
COMMENT ON TRIGGER catalyst_member_rejoined ON enspiral.memberships IS
    'A departure undone in the same transaction is not exempt from the coverage rule (checked at commit)';

REVOKE ALL ON FUNCTION enspiral.proposal_written_here(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_results_visible(enspiral.proposals, enspiral.proposal_state) FROM PUBLIC;

-- 0.1.0 stored whole-number group settings as given ({"catalyst_term_months": 6.0}),
-- which the catalyst functions cannot read as integers: store them normalized.
UPDATE enspiral.groups g
   SET settings = enspiral.normalize_group_settings(g.settings)
 WHERE g.settings::text OPERATOR(pg_catalog.<>) enspiral.normalize_group_settings(g.settings)::text;
