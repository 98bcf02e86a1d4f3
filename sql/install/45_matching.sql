------------------------------------------------------------------------------
-- Matching that resists fake accounts (part 45): the recorded parameters of
-- each round's match and enspiral.verify_match(), which recomputes a match
-- from the ledger.  The math (COCM, blend, trust, filters) is in C
-- (src/alloc_cocm.c, src/alloc_options.c, src/cobudget_match.c); see
-- doc/matching.md.
------------------------------------------------------------------------------

-- @triggers (tools/triggers.pl): round_matches_append_only (45_matching),
--   round_matches_no_truncate (45_matching)
CREATE TABLE enspiral.round_matches (
    group_id      bigint NOT NULL,
    round_id      bigint NOT NULL,
    matching_pool bigint NOT NULL CHECK (matching_pool >= 0),
    method        text NOT NULL,
    cap           bigint,
    threshold     numeric,
    options       jsonb,
    ledger_mark   bigint NOT NULL,
    bucket_ids    bigint[] NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, round_id),
    FOREIGN KEY (group_id, round_id) REFERENCES enspiral.rounds (group_id, round_id)
);
COMMENT ON TABLE enspiral.round_matches IS
    'The match of a round as match_round ran it: its parameters and what it counted, so that verify_match can recompute it; written once, never changed';
COMMENT ON COLUMN enspiral.round_matches.options IS
    'The options jsonb of match_round (doc/matching.md), as given';
COMMENT ON COLUMN enspiral.round_matches.ledger_mark IS
    'The round''s last transfer before the match: contributions and reversals after it are not counted';
COMMENT ON COLUMN enspiral.round_matches.bucket_ids IS
    'The buckets that were funded or completed when the match ran, ascending';

CREATE TRIGGER round_matches_append_only BEFORE UPDATE OR DELETE ON enspiral.round_matches
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(
        'A round''s match is recorded once; enspiral.verify_match() recomputes it.');
COMMENT ON TRIGGER round_matches_append_only ON enspiral.round_matches IS
    'Recorded matches are never updated or deleted (NS011)';
CREATE TRIGGER round_matches_no_truncate BEFORE TRUNCATE ON enspiral.round_matches
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(
        'A round''s match is recorded once; enspiral.verify_match() recomputes it.');
COMMENT ON TRIGGER round_matches_no_truncate ON enspiral.round_matches IS
    'Recorded matches are never truncated (NS011)';

CREATE FUNCTION enspiral.recompute_match(group_id bigint, round_id bigint)
    RETURNS TABLE (bucket_id bigint, match bigint)
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_recompute_match';
COMMENT ON FUNCTION enspiral.recompute_match(bigint, bigint) IS
    'Internal (verify_match): the recorded match of a round computed again from the ledger with its recorded parameters, one row per counted bucket';
REVOKE ALL ON FUNCTION enspiral.recompute_match(bigint, bigint) FROM PUBLIC;

CREATE FUNCTION enspiral.verify_match(group_id bigint, round_id bigint)
    RETURNS TABLE (bucket_id bigint, recorded bigint, recomputed bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    gid bigint := verify_match.group_id;
    rid bigint := verify_match.round_id;
    pool bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enspiral.rounds r WHERE r.group_id = gid AND r.round_id = rid) THEN
        RAISE EXCEPTION 'round does not exist'
            USING ERRCODE = 'NS201',
                  DETAIL = pg_catalog.format('There is no round %s in group %s.', rid, gid);
    END IF;
    SELECT m.matching_pool INTO pool FROM enspiral.round_matches m
     WHERE m.group_id = gid AND m.round_id = rid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'round has no recorded match'
            USING ERRCODE = 'NS220',
                  DETAIL = pg_catalog.format('Round %s of group %s was not matched, or was matched before 0.2.0 recorded match parameters.', rid, gid);
    END IF;
    RETURN QUERY
    WITH paid AS (
        SELECT ba.owner_id AS bucket_id, sum(t.amount)::bigint AS amount
          FROM enspiral.transfers t
          JOIN enspiral.accounts ba ON ba.group_id = t.group_id AND ba.account_id = t.to_account
         WHERE t.group_id = gid AND t.round_id = rid AND t.kind = 'match'
         GROUP BY ba.owner_id),
    again AS (SELECT q.bucket_id, q.match FROM enspiral.recompute_match(gid, rid) q),
    funded AS (
        SELECT COALESCE(sum(t.amount), 0)::bigint AS amount FROM enspiral.transfers t
         WHERE t.group_id = gid AND t.round_id = rid AND t.kind = 'match_fund')
    SELECT d.bucket_id, d.recorded, d.recomputed FROM (
        SELECT COALESCE(p.bucket_id, a.bucket_id) AS bucket_id,
               COALESCE(p.amount, 0) AS recorded, COALESCE(a.match, 0) AS recomputed
          FROM paid p FULL JOIN again a ON a.bucket_id = p.bucket_id
         WHERE COALESCE(p.amount, 0) <> COALESCE(a.match, 0)
        UNION ALL
        -- the matching pool (bucket_id NULL): funded from outside vs recorded
        SELECT NULL, f.amount, pool FROM funded f WHERE f.amount <> pool
    ) d
    ORDER BY d.bucket_id NULLS FIRST;
END
$$;
COMMENT ON FUNCTION enspiral.verify_match(bigint, bigint) IS
    'Recomputes the recorded match of a round from the ledger with its recorded parameters and returns the differences: one row per bucket whose paid match differs (and a row with bucket_id NULL when the funded matching pool differs); no rows when the match is sound';

REVOKE ALL ON enspiral.round_matches FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.round_matches', '');
