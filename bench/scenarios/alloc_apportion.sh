#!/usr/bin/env bash
# Benchmark: enspiral.apportion of 1e15 over 100,000 weights (integer
# weights: the int128 path; and the same weights / 1000: the numeric path).
# Baseline: the plain SQL floor split (floor(total * w / sum(w)), which
# drops the leftover units).  BENCH_MODE=smoke uses 1,000 weights.
# Prints RESULT|label|value|baseline|unit.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-full}
PGBIN=${PGBIN:-$(pg_bindir)}
DB=alloc_apportion_$$
N=100000
[ "$MODE" = smoke ] && N=1000
TOTAL=1000000000000000

psql_db() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
cleanup() { "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$PGBIN/createdb" "$DB"
psql_db <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
CREATE FUNCTION bench_ms(q text, reps int DEFAULT 1) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; best float8 := 'Infinity'; i int; n bigint;
BEGIN
    FOR i IN 1..reps LOOP
        t0 := clock_timestamp();
        EXECUTE 'SELECT count(*) FROM (' || q || ') s WHERE s IS NOT NULL' INTO n;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN best;
END \$\$;
SELECT setseed(0.25) \gset
CREATE TABLE w AS SELECT i, (1 + floor(random() * 1000000))::numeric AS w FROM generate_series(1, $N) i;
CREATE TABLE arr AS SELECT array_agg(w ORDER BY i) AS ints, array_agg(w / 1000 ORDER BY i) AS decimals FROM w;
VACUUM ANALYZE;
SQL
int_ms=$(psql_db -At -c "SELECT round(bench_ms('SELECT enspiral.apportion($TOTAL, ints) FROM arr', 5)::numeric, 1)")
num_ms=$(psql_db -At -c "SELECT round(bench_ms('SELECT enspiral.apportion($TOTAL, decimals) FROM arr', 3)::numeric, 1)")
base_ms=$(psql_db -At -c "SELECT round(bench_ms('SELECT floor($TOTAL * x / sum(x) OVER ()) FROM arr, unnest(ints) x', 5)::numeric, 1)")
psql_db -At -c "SELECT 'diagnostic: apportion pays ' || (SELECT sum(s) FROM unnest(enspiral.apportion($TOTAL, ints)) s) || ', the SQL floor split ' || (SELECT sum(floor($TOTAL * x / t)) FROM (SELECT x, sum(x) OVER () AS t FROM arr a2, unnest(a2.ints) x) y) || ' of $TOTAL; paths agree: ' || (enspiral.apportion($TOTAL, ints) = enspiral.apportion($TOTAL, decimals)) FROM arr"
echo "RESULT|apportion 1e15 over $N integer weights|$int_ms|$base_ms|ms"
echo "RESULT|apportion 1e15 over $N decimal weights (numeric path)|$num_ms|$base_ms|ms"
