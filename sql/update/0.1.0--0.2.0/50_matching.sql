-- Part 50 (matching that resists fake accounts, doc/matching.md):
-- quadratic_match and match_round gain an options jsonb (COCM blend,
-- clusters, trust weights, min_contribution, self-funding exclusion); each
-- match is recorded with its parameters in enspiral.round_matches and
-- enspiral.verify_match() recomputes it.  Rounds matched by 0.1.0 have no
-- recorded parameters (0.1.0 did not keep them): verify_match refuses them
-- with NS220.

DROP FUNCTION enspiral.quadratic_match(bigint, bigint[], bigint[], bigint[], bigint, text, numeric);
-- @function enspiral.quadratic_match(pool bigint, projects bigint[], contributors bigint[], amounts bigint[], cap bigint DEFAULT NULL, method text DEFAULT 'standard', threshold numeric DEFAULT NULL, options jsonb DEFAULT NULL)

-- match_round gets the options argument; the roles that could run it keep
-- their grant.
SELECT pg_catalog.set_config('enspiral.update_match_round_grantees',
    COALESCE((SELECT pg_catalog.string_agg(a.grantee::text, ',')
                FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
               WHERE p.oid = 'enspiral.match_round(bigint, bigint, text, bigint, numeric)'::pg_catalog.regprocedure
                 AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner), ''),
    true);
DROP FUNCTION enspiral.match_round(bigint, bigint, text, bigint, numeric);
-- @function enspiral.match_round(round_id bigint, matching_pool bigint, method text DEFAULT 'standard', cap bigint DEFAULT NULL, threshold numeric DEFAULT NULL, options jsonb DEFAULT NULL)
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

-- @function enspiral.recompute_match(group_id bigint, round_id bigint)
REVOKE ALL ON FUNCTION enspiral.recompute_match(bigint, bigint) FROM PUBLIC;

-- @function enspiral.verify_match(group_id bigint, round_id bigint)

REVOKE ALL ON enspiral.round_matches FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.round_matches', '');
REVOKE EXECUTE ON FUNCTION enspiral.verify_match(bigint, bigint) FROM PUBLIC;
