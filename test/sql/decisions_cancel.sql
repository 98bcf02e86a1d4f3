-- Every counting method answers a cancel (statement_timeout) promptly in
-- its own counting, not only between input rows: inputs that are quick to
-- accumulate but long to count, each run under statement_timeout = 100ms
-- and ended by 57014 (query_canceled).  Only booleans are printed:
-- "cancelled" and "prompt" (ended within 2 s of the start: a loose bound
-- for a loaded machine; bench/scenarios/decisions_stv.sh measures the
-- latency itself).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- one ranking of 2,000 options: Schulze's strongest paths are 8e9 steps
CREATE TABLE cancel_wide AS SELECT ARRAY(SELECT g FROM generate_series(1, 2000) g)::bigint[] AS ranking;
-- 100,000 rankings of 60 of 200 candidates: STV counts many stages (at
-- 20,000 an idle machine finished the Scottish count within 100 ms)
CREATE TABLE cancel_stv AS
SELECT ARRAY(SELECT (s + i * 7) % 200 + 1 FROM generate_series(0, 59) i)::bigint[] AS ranking
  FROM (SELECT (g * 7919) % 200 AS s FROM generate_series(1, 100000) g) x;

CREATE FUNCTION pg_temp.try_cancel(q text, OUT cancelled boolean, OUT prompt boolean)
LANGUAGE plpgsql AS $$
BEGIN
    cancelled := false;
    BEGIN
        EXECUTE q;
    EXCEPTION WHEN query_canceled THEN
        cancelled := true;
    END;
    prompt := clock_timestamp() - statement_timestamp() < interval '2 s';
END $$;

SET statement_timeout = '100ms';
SELECT 'schulze' AS method, * FROM pg_temp.try_cancel('SELECT enspiral.schulze(ranking) FROM cancel_wide');
SELECT 'schulze weighted' AS method, * FROM pg_temp.try_cancel('SELECT enspiral.schulze(ranking, 3::bigint) FROM cancel_wide');
SELECT 'stv meek' AS method, * FROM pg_temp.try_cancel('SELECT enspiral.single_transferable_vote(ranking, 100, ''meek'') FROM cancel_stv');
SELECT 'stv scottish' AS method, * FROM pg_temp.try_cancel('SELECT enspiral.single_transferable_vote(ranking, 100, ''scottish'') FROM cancel_stv');
RESET statement_timeout;
