#!/usr/bin/env bash
# Crash and restore: run the mixed load (test/proof/world.sql) with clients
# that append the key of every transaction to a file after its COMMIT
# returned, kill the postmaster and its backends with SIGKILL in the middle,
# restart (crash recovery), then check that
#   * every recorded key is in the database (proof.check_log: a committed
#     contribution replays to the same transfer and moves nothing),
#   * every verification function and rule check reports nothing (no
#     half-applied transfer, conservation holds),
#   * the server recovered (the log shows redo) and takes new work.
# The cluster is durable (fsync and synchronous_commit on).
#
#   bash tools/crash.sh                  # 16 clients, kill after 20 s
#   CRASH_MODE=smoke bash tools/crash.sh # 4 clients, kill after 3 s
#   CRASH_ROUNDS=3 bash tools/crash.sh   # crash, recover and check 3 times
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$TOP/test/proof/load.sh"

CRASH_MODE=${CRASH_MODE:-full}
CRASH_ROUNDS=${CRASH_ROUNDS:-1}
if [ "$CRASH_MODE" = smoke ]; then
	clients=4 secs=3 groups=2 members=30 buckets=5
	export PROOF_NO_CHURN=1
else
	clients=${CRASH_CLIENTS:-16} secs=${CRASH_AFTER:-20} groups=4 members=100 buckets=10
fi
DB=proof_crash

# kill_server: SIGKILL the postmaster and then every backend it had started
kill_server() {
	local pm kids
	pm=$(head -n 1 "$CLUSTER_DIR/data/postmaster.pid")
	kids=$(pgrep -P "$pm" || true)
	kill -9 "$pm"
	# shellcheck disable=SC2086
	[ -z "$kids" ] || kill -9 $kids 2>/dev/null || true
	while kill -0 "$pm" 2>/dev/null; do sleep 0.1; done
}

# restart_server: start the killed cluster again (crash recovery)
restart_server() {
	as_pg "$(pg_bindir)/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" -w -t 120 start >/dev/null ||
		{ tail -n 30 "$CLUSTER_DIR/server.log"; die "the server did not restart"; }
}

main() {
	local work rec n_rec missing status=0 round load_pid
	ensure_deps
	build_install
	cluster_start "log_min_messages = log"
	work=$(mktemp -d)
	chmod 777 "$work"
	rec=$work/committed
	: >"$rec"
	chmod 666 "$rec"
	world_create "$DB" "$groups" "$members" "$buckets"
	for round in $(seq 1 "$CRASH_ROUNDS"); do
		say "crash round $round: $clients clients, SIGKILL after ${secs}s"
		# shellcheck disable=SC2046
		"$(pg pgbench)" -n -c "$clients" -j 2 -T $((secs * 10)) $(load_scripts "$DB" "$work/scripts" "$rec") \
			"$DB" >"$work/load.out" 2>&1 &
		load_pid=$!
		# the clock starts at the first recorded commit: on a loaded
		# machine the clients may need seconds to connect, and a kill
		# before any commit proves nothing
		n_rec=$(wc -l <"$rec")
		for _ in $(seq 1 600); do
			[ "$(wc -l <"$rec")" -gt "$n_rec" ] && break
			kill -0 "$load_pid" 2>/dev/null || break
			sleep 0.1
		done
		sleep "$secs"
		n_rec=$(wc -l <"$rec")
		kill_server
		wait "$load_pid" || true
		say "killed the server with $n_rec commits recorded so far"
		restart_server
		grep -aq 'redo done\|redo starts\|database system was not properly shut down' "$CLUSTER_DIR/server.log" ||
			{ echo "no crash recovery in the server log"; status=1; }
		n_rec=$(wc -l <"$rec")
		missing=$(psql_db "$DB" -At -c "CREATE TEMP TABLE k (key text);" \
			-c "\\copy k FROM '$rec'" \
			-c "SELECT * FROM proof.check_log((SELECT coalesce(array_agg('k' || key), '{}') FROM k))")
		echo "round $round: $n_rec transactions recorded as committed by clients"
		if [ -n "$missing" ]; then
			echo "$missing" | head -n 20 | sed 's/^/LOST: /'
			status=1
		else
			echo "round $round: every recorded commit is present after recovery"
		fi
		world_problems "$DB" || status=1
		outcome_report "$DB" | tail -n 12
		psql_db "$DB" -At -c "SELECT 'new work after recovery: ' || proof.op_contribute('after-crash-$round')" || status=1
	done
	[ "$(wc -l <"$rec")" -gt 0 ] || { echo "no transaction was recorded: the load did not run"; status=1; }
	rm -rf "$work"
	if [ "$status" -eq 0 ]; then
		echo "crash: PASSED ($CRASH_ROUNDS rounds)"
	else
		echo "crash: FAILED"
	fi
	return "$status"
}

main "$@"
