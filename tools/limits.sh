#!/usr/bin/env bash
# Measure the limits of the long computations on a throwaway cluster:
#   * apportion over 3,000,000 weights (integer and numeric path): time, and
#     the peak memory of the backend (VmHWM) minus the peak of building the
#     same input array alone, per weight;
#   * instant_runoff over 6,000 singly-voted options: time;
#   * cancel latency: each long computation runs under
#     statement_timeout = 100ms; the figure is the time from the timeout to
#     the error reaching the client (elapsed - 100 ms); the worst is printed.
# Prints "LIMIT|label|figure|unit" lines.  Not part of tools/test.sh (it
# takes about a minute); see doc/limits-and-cancel.md.
#
#   ENSPIRAL_PGROOT=/tmp/pgroot-x bash tools/limits.sh
#   LIMITS_ONLY=cancel bash tools/limits.sh     # only the cancel latencies
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LIMITS_ONLY=${LIMITS_ONLY:-.}

# q SQL...: run SQL in a fresh session, print unaligned tuples only
q() { "$(pg_bindir)/psql" -qXAt -v ON_ERROR_STOP=1 -d limits "$@"; }

# hwm_kb SQL: peak resident memory (kB) of a fresh backend after SQL
hwm_kb() {
	q -c "$1" -c "SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1]" | tail -1
}

# setup: a database with the extension and the inputs of the cancel cases
# (test/sql/limits_cancel.sql makes them and runs the cases once)
setup() {
	"$(pg_bindir)/psql" -qX -d postgres -c 'CREATE DATABASE limits' >/dev/null
	"$(pg_bindir)/psql" -qXAt -d limits -f "$TOP/test/sql/limits_cancel.sql" >/dev/null 2>&1
}

W3M_INT="SELECT array_agg((g::bigint * 7919) % 1000003 + 1)::numeric[] AS a FROM generate_series(1, 3000000) g"
W3M_NUM="SELECT array_agg(((g::bigint * 7919) % 1000003 + 1)::numeric / 7) AS a FROM generate_series(1, 3000000) g"

# apportion_figures: time and bytes per weight of apportion over 3M weights
apportion_figures() {
	local kind sql base with t
	for kind in int num; do
		[ $kind = int ] && sql=$W3M_INT || sql=$W3M_NUM
		base=$(hwm_kb "SELECT cardinality(a) FROM ($sql) s")
		with=$(hwm_kb "SELECT cardinality(enspiral.apportion(1000000007, a)) FROM ($sql) s")
		echo "LIMIT|apportion 3M $kind: bytes per weight over the input|$(((with - base) * 1024 / 3000000))|B"
		t=$(q -c "CREATE TABLE w_$kind AS $sql" -c '\timing on' \
			-c "SELECT cardinality(enspiral.apportion(1000000007, a)) FROM w_$kind" |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
		echo "LIMIT|apportion 3M $kind: time|$t|ms"
	done
}

# irv_figures: time of instant_runoff over 6,000 singly-voted options
irv_figures() {
	local t
	t=$(q -c '\timing on' -c "SELECT enspiral.instant_runoff(ARRAY[g, g % 6000 + 1]) FROM generate_series(1, 6000) g" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	echo "LIMIT|instant_runoff 6,000 options, 2 ranks: time|$t|ms"
	t=$(q -c '\timing on' -c "SELECT enspiral.instant_runoff(ARRAY[g]) FROM generate_series(1, 6000) g" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	echo "LIMIT|instant_runoff 6,000 options, 1 rank: time|$t|ms"
}

# psql_ms SQL TIMEOUT: the time psql reports for SQL run under TIMEOUT
# (client side, connection set-up excluded; printed for errors too)
psql_ms() {
	{ q -v ON_ERROR_STOP=0 -c "SET statement_timeout = '$2'" -c '\timing on' -c "$1" 2>/dev/null || true; } |
		sed -n 's/^Time: \([0-9]*\)\.[0-9]* ms.*/\1/p' | tail -1
}

# cancel_figures: per case of test/sql/limits_cancel.sql, its run time
# without a timeout (cut at 30 s) and the latency from a 100 ms
# statement_timeout to the error reaching the client (reported time - 100)
cancel_figures() {
	local name sql worst=0 ms lat
	while IFS='|' read -r name sql; do
		[ -n "$name" ] || continue
		ms=$(psql_ms "$sql" 30s)
		echo "LIMIT|uncancelled run time: $name|$ms|ms"
		ms=$(psql_ms "$sql" 100ms)
		lat=$((ms - 100))
		echo "LIMIT|cancel latency: $name|$lat|ms"
		[ $lat -gt $worst ] && worst=$lat
	done < <(q -F '|' -c 'SELECT name, sql FROM limit_cases ORDER BY name')
	echo "LIMIT|cancel latency: worst|$worst|ms"
}

ensure_deps
build_install
cluster_start
setup
[[ apportion =~ $LIMITS_ONLY ]] && apportion_figures
[[ irv =~ $LIMITS_ONLY ]] && irv_figures
[[ cancel =~ $LIMITS_ONLY ]] && cancel_figures
exit 0
