------------------------------------------------------------------------------
-- Allocation math (part 20): exact apportionment, quadratic funding and
-- quadratic voting costs.  Pure functions in C (src/alloc_apportion.c,
-- src/alloc_quadratic.c); see doc/allocation.md.
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.apportion(total bigint, weights numeric[])
    RETURNS bigint[]
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_apportion_sql';
COMMENT ON FUNCTION enspiral.apportion(bigint, numeric[]) IS
    'Largest-remainder (Hamilton) split of total by weights: each share is floor(total*w/sum) or one more, the leftover units go to the largest exact remainders (ties to the lower index); the shares sum to total exactly';

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

CREATE FUNCTION enspiral.quadratic_vote_cost(votes bigint[])
    RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_quadratic_vote_cost_sql';
COMMENT ON FUNCTION enspiral.quadratic_vote_cost(bigint[]) IS
    'Quadratic voting cost of a ballot: the sum of the squares of its votes; overflow is an error (22003)';

-- The transition function runs once per row and runs no SQL, so it does not
-- pin search_path (that would add a GUC save/restore to every row).
CREATE FUNCTION enspiral.quadratic_vote_cost_step(cost bigint, vote bigint)
    RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_quadratic_vote_cost_step';
COMMENT ON FUNCTION enspiral.quadratic_vote_cost_step(bigint, bigint) IS
    'Transition function of the quadratic_vote_cost_agg(bigint) aggregate: cost + vote^2, overflow is an error';

CREATE AGGREGATE enspiral.quadratic_vote_cost_agg(vote bigint) (
    SFUNC = enspiral.quadratic_vote_cost_step,
    STYPE = bigint,
    INITCOND = '0',
    COMBINEFUNC = pg_catalog.int8pl,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE enspiral.quadratic_vote_cost_agg(bigint) IS
    'Quadratic voting cost over rows of votes: the sum of their squares (NULL votes are skipped, no rows cost 0); overflow is an error';
