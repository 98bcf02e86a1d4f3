#!/usr/bin/env bash
# Benchmark: connection-oriented cluster matching (COCM) in
# enspiral.quadratic_match (options pct_cocm), on a Gitcoin-scale synthetic
# round: 1,000 projects, 50,000 contributors, 500,000 contributions,
# project popularity Zipf(1.0), contributors uniform; clusters derived from
# who funds what (one per project).  Figures: COCM time (pct_cocm = 1),
# blend time (pct_cocm = 0.5), the backend's peak memory (VmHWM) and how
# long a statement_timeout takes to stop a COCM run (the worst excess over
# timeouts from 20 ms to 3.2 s, so every phase is hit: sort, aggregation,
# PJP, per-project loop).  Baseline: plain standard QF (quadratic_match
# without options) on the same arrays.  BENCH_MODE=smoke uses small sizes.
# BENCH_PROFILE=1 also samples the COCM backend with perf (root or
# perf_event_paranoid <= 1) and prints where the time goes, by function.
# Prints RESULT|label|value|baseline|unit.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-full}
PGBIN=${PGBIN:-$(pg_bindir)}
DB=alloc_cocm_$$
if [ "$MODE" = smoke ]; then
	N=20000 P=100 C=2000
else
	N=500000 P=1000 C=50000
fi
POOL=1000000000		# saturated

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
-- milliseconds until a query is cancelled by statement_timeout (100 ms)
CREATE FUNCTION cancel_ms(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); n bigint;
BEGIN
    BEGIN
        EXECUTE 'SELECT count(*) FROM (' || q || ') s' INTO n;
    EXCEPTION WHEN query_canceled THEN
        RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
    END;
    RETURN -1;
END \$\$;
SELECT setseed(0.5) \gset
CREATE TABLE zipf AS
SELECT k AS project, round($N * (1.0 / k) / h)::int AS n
  FROM generate_series(1, $P) k,
       (SELECT sum(1.0 / j) AS h FROM generate_series(1, $P) j) hh;
CREATE TABLE cm AS
SELECT z.project::bigint, 1 + floor(random() * $C)::bigint AS contributor,
       100 + floor(random() * random() * 10000)::bigint AS amount
  FROM zipf z, generate_series(1, z.n);
-- stored uncompressed (as in test/sql/limits_cancel.sql): reading the
-- arrays is then not a pglz decompression, PostgreSQL's own code that runs
-- before the function and does not check for interrupts
CREATE TABLE cm_arr (p bigint[], c bigint[], a bigint[]);
ALTER TABLE cm_arr ALTER p SET STORAGE EXTERNAL, ALTER c SET STORAGE EXTERNAL, ALTER a SET STORAGE EXTERNAL;
INSERT INTO cm_arr SELECT array_agg(project), array_agg(contributor), array_agg(amount) FROM cm;
VACUUM ANALYZE;
SQL

echo "diagnostic: $(psql_db -At -c "SELECT count(*) || ' contributions, ' || count(DISTINCT contributor) || ' contributors, ' || count(DISTINCT project) || ' projects, largest project ' || (SELECT max(n) FROM zipf) || ' contributions' FROM cm")"
qf_ms=$(psql_db -At -c "SELECT round(bench_ms(\$q\$SELECT m.* FROM cm_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a) m\$q\$)::numeric, 1)")

# COCM in a fresh backend, so its peak memory is this call's
out=$(psql_db -At <<SQL
SELECT pg_backend_pid() AS pid \gset
SELECT regexp_replace(pg_read_file('/proc/' || :pid || '/status'), '.*VmHWM:\s*(\d+) kB.*', '\1', 's') AS hwm0 \gset
SELECT (string_to_array(split_part(pg_read_file('/proc/' || :pid || '/stat'), ') ', 2), ' '))[12]::bigint AS ticks0 \gset
SELECT round(bench_ms(\$q\$SELECT m.* FROM cm_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a, options => '{"pct_cocm": 1}') m\$q\$)::numeric, 1) AS ms \gset
SELECT (string_to_array(split_part(pg_read_file('/proc/' || :pid || '/stat'), ') ', 2), ' '))[12]::bigint AS ticks1 \gset
SELECT regexp_replace(pg_read_file('/proc/' || :pid || '/status'), '.*VmHWM:\s*(\d+) kB.*', '\1', 's') AS hwm1 \gset
SELECT :'ms' || ' ' || :'hwm0' || ' ' || :'hwm1' || ' ' || ((:ticks1 - :ticks0) * 1000 / $(getconf CLK_TCK));
SQL
)
read -r cocm_ms hwm0 hwm1 cpu_ms <<<"$out"
blend_ms=$(psql_db -At -c "SELECT round(bench_ms(\$q\$SELECT m.* FROM cm_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a, options => '{\"pct_cocm\": 0.5}') m\$q\$)::numeric, 1)")
cancel_ms=$(psql_db -At -c "SET statement_timeout = '100ms'" -c "SELECT round(cancel_ms(\$q\$SELECT m.* FROM cm_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a, options => '{\"pct_cocm\": 1}') m\$q\$)::numeric, 1)")
# a sweep of timeouts, so that every phase is interrupted; three tries per
# timeout: the least late of the three is the code's latency (the others
# add the wait for a CPU on a shared machine); the worst of those minima is
# the figure, and the worst single try is printed too
worst_late=0
worst_any=0
for t in 20 50 100 200 400 800 1600 3200; do
	best=
	for _ in 1 2 3; do
		ms=$(psql_db -At -c "SET statement_timeout = '${t}ms'" -c "SELECT round(cancel_ms(\$q\$SELECT m.* FROM cm_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a, options => '{\"pct_cocm\": 1}') m\$q\$)::numeric)" 2>/dev/null) ||
			continue			# cancelled before the measuring function started
		[ "$ms" = -1 ] && continue		# finished before the timeout
		late=$((ms - t))
		[ -z "$best" ] || [ $late -lt $best ] && best=$late
		[ $late -gt $worst_any ] && worst_any=$late
	done
	[ -n "$best" ] || continue
	echo "diagnostic: statement_timeout ${t} ms: cancelled at best ${best} ms late (3 tries)"
	[ $best -gt $worst_late ] && worst_late=$best
done
echo "diagnostic: worst single try of the sweep: ${worst_any} ms late"
if [ "${BENCH_PROFILE:-0}" = 1 ] && command -v perf >/dev/null; then
	prof=$(mktemp -d)
	psql_db -At >/dev/null <<SQL &
SELECT pg_backend_pid() \\g $prof/pid
SELECT pg_sleep(1);
SELECT count(*) FROM cm_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a, options => '{"pct_cocm": 1}') m;
SQL
	psql_job=$!
	for _ in $(seq 100); do [ -s "$prof/pid" ] && break; sleep 0.1; done
	perf record -q -F 499 -p "$(cat "$prof/pid")" -o "$prof/perf.data" >/dev/null 2>&1 &
	perf_job=$!
	wait "$psql_job"
	kill -INT "$perf_job"
	wait "$perf_job" || true
	perf report -q -i "$prof/perf.data" --stdio --no-children --sort symbol 2>/dev/null |
		awk 'NF && $1 ~ /%$/ && n++ < 12 {print "diagnostic: profile " $0}' || true
	rm -rf "$prof"
fi
psql_db -At -c "SELECT 'diagnostic: COCM sum of matches = ' || sum(m.match) || ' (pool $POOL), max match ' || max(m.match) FROM cm_arr s, enspiral.quadratic_match($POOL, s.p, s.c, s.a, options => '{\"pct_cocm\": 1}') m"
echo "diagnostic: COCM backend VmHWM before ${hwm0} kB, after ${hwm1} kB; backend user CPU ${cpu_ms} ms (wall $cocm_ms ms, the machine is shared)"
echo "RESULT|quadratic_match COCM (pct_cocm 1), $N contributions, Zipf(1.0)|$cocm_ms|$qf_ms|ms"
echo "RESULT|quadratic_match blend (pct_cocm 0.5), $N contributions|$blend_ms|$qf_ms|ms"
echo "RESULT|quadratic_match COCM, peak backend memory (VmHWM)|$((hwm1 / 1024))|-|MB"
echo "RESULT|quadratic_match COCM, cancelled by statement_timeout 100 ms after|$cancel_ms|100|ms"
echo "RESULT|quadratic_match COCM, worst cancel latency over timeouts 20 ms to 3.2 s|$worst_late|-|ms"
