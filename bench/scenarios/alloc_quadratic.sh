#!/usr/bin/env bash
# Benchmark: enspiral.quadratic_match.
#   standard: 1,000,000 contributions, 1,000 projects, 100,000 contributors,
#             end to end from a table with the array_agg idiom; baseline: the hand-written SQL
#             formula in double precision (sqrt/sum/power, pro rata floor).
#   pairwise: a Gitcoin-scale round, 1,000 projects, 50,000 contributors,
#             500,000 contributions, project popularity Zipf(1.0),
#             contributors uniform: time, sum of n_p^2 (pair terms), pair
#             terms per second and the backend's peak memory (VmHWM).
# BENCH_MODE=smoke uses small sizes.  Prints RESULT|label|value|baseline|unit.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-full}
PGBIN=${PGBIN:-$(pg_bindir)}
DB=alloc_quadratic_$$
if [ "$MODE" = smoke ]; then
	S_N=20000 S_P=100 S_C=2000
	P_N=20000 P_P=100 P_C=2000
else
	S_N=1000000 S_P=1000 S_C=100000
	P_N=500000 P_P=1000 P_C=50000
fi
POOL=1000000000		# 1e7 in currency units: saturated in every scenario

psql_db() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
cleanup() { "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$PGBIN/createdb" "$DB"
psql_db <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
-- best of reps wall-clock milliseconds of a query
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
SELECT setseed(0.5) \gset
-- standard round: uniform projects and contributors
CREATE TABLE std AS
SELECT 1 + floor(random() * $S_P)::bigint AS project,
       1 + floor(random() * $S_C)::bigint AS contributor,
       100 + floor(random() * random() * 10000)::bigint AS amount
  FROM generate_series(1, $S_N);
-- pairwise round: Zipf(1.0) project popularity, uniform contributors
CREATE TABLE zipf AS
SELECT k AS project, round($P_N * (1.0 / k) / h)::int AS n
  FROM generate_series(1, $P_P) k,
       (SELECT sum(1.0 / j) AS h FROM generate_series(1, $P_P) j) hh;
CREATE TABLE pw AS
SELECT z.project::bigint, 1 + floor(random() * $P_C)::bigint AS contributor,
       100 + floor(random() * random() * 10000)::bigint AS amount
  FROM zipf z, generate_series(1, z.n);
CREATE TABLE pw_arr AS
SELECT array_agg(project) AS p, array_agg(contributor) AS c, array_agg(amount) AS a FROM pw;
VACUUM ANALYZE;
SQL

# standard: function on prebuilt arrays, end to end, and the SQL baseline
agg_ms=$(psql_db -At -c "SELECT round(bench_ms(\$q\$SELECT array_agg(project) p, array_agg(contributor) c, array_agg(amount) a FROM std\$q\$, 3)::numeric, 1)")
e2e_ms=$(psql_db -At -c "SELECT round(bench_ms(\$q\$SELECT m.* FROM (SELECT array_agg(project) p, array_agg(contributor) c, array_agg(amount) a FROM std) s, enspiral.quadratic_match($POOL, s.p, s.c, s.a) m\$q\$, 3)::numeric, 1)")
base_ms=$(psql_db -At -c "SELECT round(bench_ms(\$q\$SELECT project, floor($POOL * ideal / sum(ideal) OVER ()) FROM (SELECT project, power(sum(sqrt(c)), 2) - sum(c) AS ideal FROM (SELECT project, contributor, sum(amount)::float8 AS c FROM std GROUP BY 1, 2) x GROUP BY project) y\$q\$, 3)::numeric, 1)")
# exactness of the two on this round
psql_db -At -c "SELECT 'diagnostic: standard sum of matches = ' || sum(m.match) || ' (pool $POOL)' FROM (SELECT array_agg(project) p, array_agg(contributor) c, array_agg(amount) a FROM std) s, enspiral.quadratic_match($POOL, s.p, s.c, s.a) m"
psql_db -At -c "SELECT 'diagnostic: SQL baseline pays ' || sum(f)::bigint || ' of the pool (leftover units dropped)' FROM (SELECT floor($POOL * ideal / sum(ideal) OVER ()) f FROM (SELECT project, power(sum(sqrt(c)), 2) - sum(c) AS ideal FROM (SELECT project, contributor, sum(amount)::float8 AS c FROM std GROUP BY 1, 2) x GROUP BY project) y) z"
echo "diagnostic: of which the three array_agg alone take $agg_ms ms"
echo "RESULT|quadratic_match standard, $S_N contributions (array_agg from table)|$e2e_ms|$base_ms|ms"

# pairwise: a fresh backend, so its peak memory is this call's
pairs=$(psql_db -At -c "SELECT sum(n::numeric * n) FROM (SELECT project, count(DISTINCT contributor) n FROM pw GROUP BY 1) s")
out=$(psql_db -At <<SQL
SELECT pg_backend_pid() AS pid \gset
SELECT regexp_replace(pg_read_file('/proc/' || :pid || '/status'), '.*VmHWM:\s*(\d+) kB.*', '\1', 's') AS hwm0 \gset
SELECT (string_to_array(split_part(pg_read_file('/proc/' || :pid || '/stat'), ') ', 2), ' '))[12]::bigint AS ticks0 \gset
SELECT round(bench_ms(\$q\$SELECT m.* FROM pw_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a, method => 'pairwise', threshold => 25000) m\$q\$)::numeric, 1) AS ms \gset
SELECT (string_to_array(split_part(pg_read_file('/proc/' || :pid || '/stat'), ') ', 2), ' '))[12]::bigint AS ticks1 \gset
SELECT regexp_replace(pg_read_file('/proc/' || :pid || '/status'), '.*VmHWM:\s*(\d+) kB.*', '\1', 's') AS hwm1 \gset
SELECT :'ms' || ' ' || :'hwm0' || ' ' || :'hwm1' || ' ' || ((:ticks1 - :ticks0) * 1000 / $(getconf CLK_TCK));
SQL
)
read -r pw_ms hwm0 hwm1 cpu_ms <<<"$out"
rate=$(awk -v p="$pairs" -v ms="$pw_ms" 'BEGIN { printf "%.0f", p / (ms / 1000) }')
psql_db -At -c "SELECT 'diagnostic: pairwise sum of matches = ' || sum(m.match) || ', max match ' || max(m.match) FROM pw_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a, method => 'pairwise', threshold => 25000) m"
echo "diagnostic: pairwise backend VmHWM before ${hwm0} kB, after ${hwm1} kB; backend user CPU ${cpu_ms} ms (wall $pw_ms ms, the machine is shared)"
echo "RESULT|quadratic_match pairwise, $P_N contributions, Zipf(1.0) (time)|$pw_ms|-|ms"
echo "RESULT|quadratic_match pairwise, sum of n_p^2 (pair terms)|$pairs|-|terms"
echo "RESULT|quadratic_match pairwise, pair terms per second|$rate|-|terms/s"
[ "${cpu_ms:-0}" -gt 0 ] &&
	echo "RESULT|quadratic_match pairwise, pair terms per backend CPU second|$(awk -v p="$pairs" -v ms="$cpu_ms" 'BEGIN { printf "%.0f", p / (ms / 1000) }')|-|terms/s"
echo "RESULT|quadratic_match pairwise, peak backend memory (VmHWM)|$((hwm1 / 1024))|-|MB"
