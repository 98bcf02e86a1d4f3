#!/usr/bin/env bash
# Run every benchmark scenario (bench/scenarios/*.sh) on a throwaway cluster
# and print one table: scenario, governed figure, baseline figure, ratio.
#
#   bash bench/run.sh                 # full run (durable settings: fsync on)
#   BENCH_MODE=smoke bash bench/run.sh  # a few seconds per scenario (bench/smoke.sh)
#   BENCH_ONLY=regex bash bench/run.sh  # only scenarios whose file name matches
#
# Each scenario prints lines "RESULT|label|governed|baseline or -|unit" and
# exits non-zero on failure (see HACKING.md).  The ratio column is
# governed / baseline.  The table is also written, as Markdown, to
# build/bench/results.md, and every scenario's full output to
# build/bench/<scenario>.log.
#
# In smoke mode, when PGHOST already points at a throwaway cluster made by
# tools/common.sh (as inside tools/test.sh), that cluster is reused instead
# of starting another one.  The full run always starts its own cluster,
# with fsync and synchronous_commit on (the durable defaults).
source "$(dirname "${BASH_SOURCE[0]}")/../tools/common.sh"

BENCH_MODE=${BENCH_MODE:-full}
BENCH_ONLY=${BENCH_ONLY:-.}
OUT=$TOP/build/bench
# per-scenario time limit, seconds (a hung scenario fails instead of hanging)
BENCH_TIMEOUT=${BENCH_TIMEOUT:-$([ "$BENCH_MODE" = smoke ] && echo 120 || echo 1800)}
export BENCH_MODE

case $BENCH_MODE in full | smoke) ;; *) die "BENCH_MODE must be full or smoke" ;; esac

# reusable_cluster: true when PGHOST is a live throwaway cluster we may use
reusable_cluster() {
	[ "$BENCH_MODE" = smoke ] || return 1
	[[ ${PGHOST:-} == /tmp/enspiral-cluster.* ]] || return 1
	"$(pg_bindir)/psql" -qXAt -d postgres -c 'SELECT 1' >/dev/null 2>&1
}

# start_cluster: build, install and start a benchmark cluster
start_cluster() {
	ensure_deps
	build_install
	# durable settings on purpose: the figures include the cost of commit
	cluster_start "shared_buffers = 256MB" "max_connections = 120" \
		"checkpoint_timeout = 15min" "max_wal_size = 4GB" \
		"log_lock_waits = on" "deadlock_timeout = 1s"
}

# ratio G B: governed / baseline with two decimals, or - when not numeric
ratio() {
	awk -v g="$1" -v b="$2" 'BEGIN {
		if (g ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ && b ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ && b + 0 != 0)
			printf "%.2f", g / b;
		else
			printf "-";
	}'
}

# run_scenario FILE: run one scenario, append its RESULT lines to $OUT/results
run_scenario() {
	local f=$1 name rc start secs
	name=$(basename "$f" .sh)
	say "bench ($BENCH_MODE): $name"
	start=$(date +%s)
	timeout --kill-after=10 "$BENCH_TIMEOUT" bash "$f" >"$OUT/$name.log" 2>&1 && rc=0 || rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -ne 0 ]; then
		say "$name FAILED (exit $rc after ${secs}s); last lines of $OUT/$name.log:"
		tail -n 30 "$OUT/$name.log" >&2
		failed+=("$name")
		# its figures still go in the table, marked
		grep '^RESULT|' "$OUT/$name.log" | sed "s/^RESULT|\([^|]*\)|/$name|\1 (FAILED)|/" >>"$OUT/results" || true
		return 0
	fi
	if ! grep -q '^RESULT|' "$OUT/$name.log"; then
		say "$name printed no RESULT line"
		tail -n 30 "$OUT/$name.log" >&2
		failed+=("$name")
		return 0
	fi
	grep '^RESULT|' "$OUT/$name.log" | sed "s/^RESULT|/$name|/" >>"$OUT/results"
	say "$name ok (${secs}s)"
}

# print_table: the results as an aligned text table and as Markdown
print_table() {
	local scen label gov base unit r
	{
		echo "| scenario | governed | baseline | unit | ratio |"
		echo "|---|---:|---:|---|---:|"
		while IFS='|' read -r scen label gov base unit; do
			r=$(ratio "$gov" "$base")
			echo "| $label | $gov | $base | $unit | $r |"
		done <"$OUT/results"
	} >"$OUT/results.md"
	echo
	echo "Benchmarks ($BENCH_MODE mode, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, PostgreSQL $("$(pg_bindir)/postgres" --version | awk '{print $NF}'))"
	{
		printf 'scenario\tgoverned\tbaseline\tunit\tratio\n'
		while IFS='|' read -r scen label gov base unit; do
			printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$gov" "$base" "$unit" "$(ratio "$gov" "$base")"
		done <"$OUT/results"
	} | column -t -s $'\t'
}

# check_server_log: fail when a backend crashed during the run
check_server_log() {
	local log=$PGHOST/server.log
	[ -f "$log" ] || return 0
	if grep -aE 'terminated by signal|was terminated by' "$log" >/dev/null; then
		say "the server log shows a crashed backend:"
		grep -aE -B5 'terminated by signal' "$log" >&2 || true
		failed+=("server-crash")
	fi
}

main() {
	local f scenarios=()
	failed=()
	rm -rf "$OUT"
	mkdir -p "$OUT"
	: >"$OUT/results"
	for f in "$TOP"/bench/scenarios/*.sh; do
		[ -e "$f" ] || continue
		[[ $(basename "$f" .sh) =~ $BENCH_ONLY ]] && scenarios+=("$f")
	done
	[ ${#scenarios[@]} -gt 0 ] || die "no scenario in bench/scenarios matches '$BENCH_ONLY'"
	if reusable_cluster; then
		say "reusing the cluster at $PGHOST"
	else
		start_cluster
	fi
	export PGHOST PGPORT PGUSER PGDATABASE
	PATH=$(pg_bindir):$PATH
	export PATH
	for f in "${scenarios[@]}"; do run_scenario "$f"; done
	check_server_log
	print_table
	if [ ${#failed[@]} -gt 0 ]; then
		echo "FAILED: ${failed[*]}"
		return 1
	fi
	echo "${#scenarios[@]} scenarios ok"
}

main "$@"
