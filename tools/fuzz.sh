#!/usr/bin/env bash
# Fuzz every public function, aggregate, procedure and type input of the
# installed extension (discovered from pg_proc/pg_type) with randomized and
# adversarial arguments (test/fuzz/fuzz.sql), on a populated database (the
# proof world, test/proof/world.sql).  Each case must succeed or fail with a
# clean SQLSTATE (not XX***, not an assert, not "undefined column/table/
# function" from inside the extension); the server must never crash; the
# verification functions must report nothing afterwards.
#
#   bash tools/fuzz.sh                       # 100,000 cases, seed 1
#   FUZZ_CASES=20000 FUZZ_SEED=7 bash tools/fuzz.sh
#   FUZZ_SECONDS=8 bash tools/fuzz.sh        # stop after ~8 s (the smoke run)
#   FUZZ_SHOW='seed batch' bash tools/fuzz.sh  # print the SQL of one batch
#
# Cases are deterministic per (seed, batch) on a given installation.  Cases
# run in batches of FUZZ_BATCH in one backend, each in its own
# subtransaction; when a batch loses its backend (crash) or exceeds
# FUZZ_TIMEOUT (60s), its cases are rerun one per connection to name the
# culprit: a crash or a case that statement_timeout cannot stop fails the
# run; a case stopped cleanly by a FUZZ_CASE_TIMEOUT (20s) statement_timeout
# is listed as slow.  Exit status 0 only when every case was clean.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$TOP/test/proof/load.sh"

FUZZ_CASES=${FUZZ_CASES:-100000}
FUZZ_SEED=${FUZZ_SEED:-1}
FUZZ_BATCH=${FUZZ_BATCH:-500}
FUZZ_SECONDS=${FUZZ_SECONDS:-0}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-60s}
FUZZ_CASE_TIMEOUT=${FUZZ_CASE_TIMEOUT:-20s}
OUT=$TOP/build/fuzz
DB=proof_fuzz

# reusable_cluster: PGHOST is a live throwaway cluster (inside tools/test.sh)
reusable_cluster() {
	[[ ${PGHOST:-} == /tmp/enspiral-cluster.* ]] &&
		"$(pg psql)" -qXAt -d postgres -c 'SELECT 1' >/dev/null 2>&1
}

# wait_server: wait until the server accepts connections again (after a crash)
wait_server() {
	local i
	for i in $(seq 1 120); do
		"$(pg pg_isready)" -q -d postgres && return 0
		sleep 0.5
	done
	die "the server did not come back"
}

# prepare: the fuzz database: extension, populated world, fuzzer
prepare() {
	world_create "$DB" 2 12 3 | sed 's/^/  /' >&2
	psql_db "$DB" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fuzz_app')
		THEN CREATE ROLE fuzz_app; END IF; END \$\$" >/dev/null
	psql_db "$DB" -f "$TOP/test/fuzz/fuzz.sql" >/dev/null
	psql_db "$DB" -At -c "SELECT count(*) || ' targets: ' || string_agg(name, ', ') FROM fuzz.targets()" >"$OUT/targets"
}

# run_batch B: run one batch; append its histogram; 0 when the batch completed
run_batch() {
	PGOPTIONS="-c statement_timeout=$FUZZ_TIMEOUT" "$(pg psql)" -qXAt -F ' ' -v ON_ERROR_STOP=1 -d "$DB" \
		-c "SELECT * FROM fuzz.run($FUZZ_SEED, $1, $FUZZ_BATCH)" >>"$OUT/hist" 2>"$OUT/batch.err"
}

# pinpoint B: rerun the cases of batch B one per connection, naming crashes,
# uncancellable hangs and cases that only a statement timeout stopped
pinpoint() {
	local b=$1 i rc n
	say "batch $b failed ($(head -c 300 "$OUT/batch.err" | tr '\n' ' ')); rerunning its cases one by one"
	wait_server
	"$(pg psql)" -qXAt -v ON_ERROR_STOP=1 -d "$DB" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS fuzz.pending" \
		-c "CREATE TABLE fuzz.pending AS SELECT * FROM fuzz.cases($FUZZ_SEED, $b, $FUZZ_BATCH)"
	n=$("$(pg psql)" -qXAt -d "$DB" -c "SELECT count(*) FROM fuzz.pending")
	for i in $(seq 1 "$n"); do
		rc=0
		PGOPTIONS="-c statement_timeout=${FUZZ_CASE_TIMEOUT}" timeout -k 5 $((${FUZZ_CASE_TIMEOUT%s} * 3)) \
			"$(pg psql)" -qXAt -v ON_ERROR_STOP=1 -d "$DB" \
			-c "SELECT fuzz.run_one($FUZZ_SEED, $b, (SELECT sql FROM fuzz.pending WHERE i = $i)) || ' 1'" \
			>>"$OUT/hist" 2>"$OUT/case.err" || rc=$?
		[ "$rc" -ne 0 ] || continue
		echo "unfinished 1" >>"$OUT/hist"
		sql=$("$(pg psql)" -qXAt -d "$DB" -c "SELECT left(sql, 400) FROM fuzz.pending WHERE i = $i")
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "HANG (not cancellable by statement_timeout) seed $FUZZ_SEED batch $b case $i: $sql" | tee -a "$OUT/findings"
			wait_server
		elif grep -q 'statement timeout' "$OUT/case.err"; then
			echo "SLOW (stopped cleanly by a ${FUZZ_CASE_TIMEOUT} statement_timeout) seed $FUZZ_SEED batch $b case $i: $sql" |
				tee -a "$OUT/slow_cases"
		elif "$(pg pg_isready)" -q -d postgres && ! grep -q 'server closed\|terminated' "$OUT/case.err"; then
			echo "ERROR OUTSIDE THE CASE seed $FUZZ_SEED batch $b case $i: $sql ($(head -c 300 "$OUT/case.err"))" |
				tee -a "$OUT/findings"
		else
			echo "CRASH seed $FUZZ_SEED batch $b case $i: $sql ($(head -c 200 "$OUT/case.err"))" | tee -a "$OUT/findings"
			wait_server
		fi
	done
}

main() {
	local b=0 done_cases=0 start elapsed bad problems status=0 mark log
	if [ -n "${FUZZ_SHOW:-}" ]; then
		reusable_cluster || die "FUZZ_SHOW needs PGHOST set to a cluster with $DB prepared"
		read -r s b <<<"$FUZZ_SHOW"
		"$(pg psql)" -qXAt -d "$DB" -c "SELECT sql FROM fuzz.cases($s, $b, $FUZZ_BATCH)"
		return 0
	fi
	rm -rf "$OUT"
	mkdir -p "$OUT"
	: >"$OUT/hist"
	: >"$OUT/findings"
	: >"$OUT/slow_cases"
	if reusable_cluster; then
		say "fuzz: reusing the cluster at $PGHOST"
	else
		ensure_deps
		build_install
		cluster_start "fsync = off" "synchronous_commit = off" "full_page_writes = off"
	fi
	log=$PGHOST/server.log
	mark=$(wc -l <"$log" 2>/dev/null || echo 0)
	prepare
	say "fuzz: $(cut -d: -f1 "$OUT/targets"), seed $FUZZ_SEED, up to $FUZZ_CASES cases$([ "$FUZZ_SECONDS" -eq 0 ] || echo " or $FUZZ_SECONDS s")"
	start=$(date +%s)
	while [ "$done_cases" -lt "$FUZZ_CASES" ]; do
		if ! run_batch "$b"; then
			pinpoint "$b"
		fi
		done_cases=$((done_cases + FUZZ_BATCH))
		b=$((b + 1))
		elapsed=$(($(date +%s) - start))
		[ "$FUZZ_SECONDS" -eq 0 ] || [ "$elapsed" -lt "$FUZZ_SECONDS" ] || break
		[ $((b % 20)) -ne 0 ] || say "fuzz: $done_cases cases, ${elapsed}s"
	done
	elapsed=$(($(date +%s) - start))
	wait_server

	echo "fuzz: $done_cases cases in $b batches of $FUZZ_BATCH, seed $FUZZ_SEED, ${elapsed}s"
	echo "targets: $(cat "$OUT/targets")"
	echo "outcomes by SQLSTATE:"
	awk '{n[$1] += $2} END {for (s in n) printf "  %s %d\n", s, n[s]}' "$OUT/hist" | sort -k2,2nr | head -n 40
	bad=$("$(pg psql)" -qXAt -d "$DB" -c "SELECT count(*) FROM fuzz.bad")
	if [ "$bad" -gt 0 ]; then
		echo "UNCLEAN errors: $bad (first ones):"
		"$(pg psql)" -qXAt -d "$DB" -c "SELECT format('  %s %s | %s', sqlstate, message, left(sql, 400))
			FROM (SELECT DISTINCT ON (sqlstate, message) * FROM fuzz.bad) b LIMIT 20"
		status=1
	fi
	"$(pg psql)" -qXAt -d "$DB" -c "SELECT format('SLOW %s ms: %s', ms, left(sql, 300)) FROM fuzz.slow ORDER BY ms DESC LIMIT 5"
	"$(pg psql)" -qXAt -d "$DB" -c "SELECT format('%s %s | %s | %s', sqlstate, left(message, 150), left(sql, 250), left(replace(context, E'\n', ' / '), 150))
		FROM fuzz.sample ORDER BY sqlstate" >"$OUT/samples"
	echo "samples of every outcome: build/fuzz/samples"
	if [ -s "$OUT/slow_cases" ]; then
		echo "slow cases (stopped cleanly by statement_timeout; not failures, but worth a look):"
		cut -c1-300 "$OUT/slow_cases"
	fi
	if [ -s "$OUT/findings" ]; then
		echo "crashes or hangs:"
		cat "$OUT/findings"
		status=1
	fi
	if [ -f "$log" ] && ! log_bad "$log" "$mark"; then
		status=1
	fi
	if ! problems=$(world_problems "$DB" false); then
		echo "$problems"
		status=1
	else
		echo "$problems"
	fi
	[ "$status" -eq 0 ] && echo "fuzz: every case clean" || echo "fuzz: FAILED"
	"$(pg dropdb)" "$DB" >/dev/null 2>&1 || true
	return "$status"
}

main "$@"
