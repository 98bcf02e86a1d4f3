#!/usr/bin/env bash
# Mixed load: many clients at once voting, contributing, cancelling buckets,
# closing rounds and proposals, rotating catalysts and changing membership
# (full: 32 clients for 60 s over 4 groups of 250 members).  Afterwards every
# verification function and rule check must report nothing, no client may
# have seen an error other than a governance refusal, and the server log must
# show no deadlock, crash or internal error.  Baseline: the same clients
# doing a plain INSERT of one row into a table with only a primary key.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"
source "$TOP/test/proof/load.sh"
trap - EXIT

if [ "${BENCH_MODE:-full}" = smoke ]; then
	clients=4 secs=3 groups=2 members=30 buckets=5
	export PROOF_NO_CHURN=1
else
	clients=${LOAD_CLIENTS:-32} secs=${LOAD_SECONDS:-60} groups=4 members=250 buckets=20
fi
db=proof_mixed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

world_create "$db" "$groups" "$members" "$buckets"
log=$PGHOST/server.log
mark=$(wc -l <"$log" 2>/dev/null || echo 0)

# shellcheck disable=SC2046
"$(pg pgbench)" -n -c "$clients" -j 2 -T "$secs" $(load_scripts "$db" "$work") "$db" >"$work/load.out" 2>&1 ||
	{ cat "$work/load.out"; echo "pgbench failed (a client aborted)"; exit 1; }
grep -E 'aborted|failed' "$work/load.out" | grep -vE ' 0( |$)|failed transactions: 0 ' || true
gov=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/load.out" | head -n 1)
outcome_report "$db"

ok=0
world_problems "$db" || ok=1
[ -f "$log" ] && { log_bad "$log" "$mark" || ok=1; }
n_ok=$(psql_db "$db" -At -c "SELECT count(*) FROM proof.log WHERE outcome = 'ok'")
echo "operations that changed something: $n_ok"
[ "$n_ok" -gt 0 ] || { echo "no operation succeeded"; ok=1; }

# baseline: the same number of clients inserting one row per transaction
psql_db "$db" -c 'CREATE TABLE proof.plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a bigint, b bigint, c bigint)'
echo 'INSERT INTO proof.plain (a, b, c) VALUES (1, 2, 3);' >"$work/plain.sql"
"$(pg pgbench)" -n -c "$clients" -j 2 -T "$secs" -f "$work/plain.sql" "$db" >"$work/plain.out" 2>&1 ||
	{ cat "$work/plain.out"; exit 1; }
base=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/plain.out" | head -n 1)

printf 'RESULT|mixed load, %s clients, %ss|%.0f|%.0f|tps\n' "$clients" "$secs" "$gov" "$base"
"$(pg dropdb)" "$db"
exit $ok
