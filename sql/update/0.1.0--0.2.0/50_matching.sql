-- Part 50 (matching that resists fake accounts, doc/matching.md):
-- quadratic_match and match_round gain an options jsonb (COCM blend,
-- clusters, trust weights, min_contribution, self-funding exclusion); each
-- match is recorded with its parameters in enspiral.round_matches and
-- enspiral.verify_match() recomputes it.  Rounds matched by 0.1.0 have no
-- recorded parameters (0.1.0 did not keep them): verify_match refuses them
-- with NS220.

DROP FUNCTION enspiral.quadratic_match(bigint, bigint[], bigint[], bigint[], bigint, text, numeric);
CREATE FUNCTION enspiral.quadratic_match(
        pool bigint, projects bigint[], contributors bigint[], amounts bigint[],
        cap bigint DEFAULT NULL, method text DEFAULT 'standard',
        threshold numeric DEFAULT NULL, options jsonb DEFAULT NULL)
    RETURNS TABLE (project bigint, match bigint)
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    ROWS 100
    AS 'MODULE_PATHNAME', 'enspiral_quadratic_match_sql';
COMMENT ON FUNCTION enspiral.quadratic_match(bigint, bigint[], bigint[], bigint[], bigint, text, numeric, jsonb) IS
    'Quadratic funding match per project (standard, or pairwise-bounded with threshold M), capped per project; when the capped ideals exceed the pool the whole pool is paid exactly (water-filling of the cap, then largest remainder), otherwise each project gets the floor of its capped ideal; options (doc/matching.md) blend in connection-oriented cluster matching (pct_cocm, clusters), weight contributors by trust scores, drop totals below min_contribution and authors'' own contributions';

-- match_round gets the options argument; the roles that could run it keep
-- their grant.
SELECT pg_catalog.set_config('enspiral.update_match_round_grantees',
    COALESCE((SELECT pg_catalog.string_agg(a.grantee::text, ',')
                FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
               WHERE p.oid = 'enspiral.match_round(bigint, bigint, text, bigint, numeric)'::pg_catalog.regprocedure
                 AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner), ''),
    true);
DROP FUNCTION enspiral.match_round(bigint, bigint, text, bigint, numeric);
CREATE FUNCTION enspiral.match_round(round_id bigint, matching_pool bigint,
                                     method text DEFAULT 'standard', cap bigint DEFAULT NULL,
                                     threshold numeric DEFAULT NULL, options jsonb DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_match_round';
COMMENT ON FUNCTION enspiral.match_round(bigint, bigint, text, bigint, numeric, jsonb) IS
    'After close, once per round: funds the matching account and pays enspiral.quadratic_match (with the options of doc/matching.md) over the counted contributions into the funded buckets; records the parameters for verify_match; returns the amount paid';
REVOKE EXECUTE ON FUNCTION enspiral.match_round(bigint, bigint, text, bigint, numeric, jsonb) FROM PUBLIC;
DO $$
DECLARE
    r oid;
BEGIN
    FOR r IN SELECT g::oid FROM pg_catalog.unnest(pg_catalog.string_to_array(
                 pg_catalog.current_setting('enspiral.update_match_round_grantees'), ',')) g LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION enspiral.match_round(bigint, bigint, text, bigint, numeric, jsonb) TO %I',
                                  pg_catalog.pg_get_userbyid(r));
    END LOOP;
END
$$;

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
REVOKE EXECUTE ON FUNCTION enspiral.verify_match(bigint, bigint) FROM PUBLIC;
