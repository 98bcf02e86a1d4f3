#!/usr/bin/env bash
# Cost of actors, permissions and events (doc/actors-and-events.md, Cost):
# vote() and try_contribute() with the event triggers (which also run the
# permission checks) enabled, against the same calls with those triggers
# disabled, and a plain INSERT of the same row as in decisions_vote and
# cobudget_load; the three loads alternate in slices, 8 clients each, so
# they see the same background load.  The group enforces permissions.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke runs 2 s per load, full 60 s.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) SECS=2 MEMBERS=5000 ;;
full) SECS=60 MEMBERS=100000 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
SECS=${BENCH_SECS:-$SECS}	# a shorter full run while iterating
CLIENTS=${BENCH_CLIENTS:-8}	# one client shows the cost without lock waits
DB=enspiral_bench_events_cost
BIN=$(pg_bindir)
WORK=$(mktemp -d /tmp/enspiral-bench-events.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "events_cost: $MEMBERS members, one open consent proposal, one round of 100 buckets"
psql_q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('bench');
INSERT INTO enspiral.members (group_id, member_key, created_at)
SELECT 1, 'm' || i, now() - interval '1 hour' FROM generate_series(1, $MEMBERS) i;
INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
SELECT 1, member_id, 1, now() - interval '1 hour' FROM enspiral.members;
SELECT enspiral.grant_role(1, 1, 'admin');
SELECT set_config('enspiral.actor', '1', false);
SELECT enspiral.propose(1, 1, 'bench', 'consent');
SELECT enspiral.open_proposal(1, now() + interval '1 day');
SELECT enspiral.create_round(1, 'load', 1000 * 1000000, now() - interval '1 hour', now() + interval '1 day');
SELECT enspiral.allocate(1, array_agg(i::bigint ORDER BY i), array_fill(1::numeric, ARRAY[1000]))
  FROM generate_series(1, 1000) i;
SELECT count(enspiral.create_bucket(1, i, 'b' || i, 10, 1000000000)) FROM generate_series(1, 100) i;
SELECT count(enspiral.open_bucket(i)) FROM generate_series(1, 100) i;
CREATE TABLE bench_plain (LIKE enspiral.votes INCLUDING DEFAULTS);
ALTER TABLE bench_plain ALTER vote_id ADD GENERATED ALWAYS AS IDENTITY,
    ADD PRIMARY KEY (group_id, proposal_id, vote_id);
VACUUM ANALYZE;
SQL

cat >"$WORK/vote.sql" <<EOF2
\set m random(1, $MEMBERS)
SELECT enspiral.vote(1, :m, '"agree"');
EOF2
cat >"$WORK/try.sql" <<'EOF2'
\set b random(1, 100)
\set m random(1, 1000)
SELECT enspiral.try_contribute(:b, :m, 1);
EOF2
cat >"$WORK/plain.sql" <<EOF2
\set m random(1, $MEMBERS)
INSERT INTO bench_plain (group_id, proposal_id, member_id, ballot, cast_at) VALUES (1, 1, :m, '"agree"', now());
EOF2

# triggers ON|OFF: the event (and permission) triggers of the benchmarked tables
triggers() {
	local verb=$([ "$1" = on ] && echo ENABLE || echo DISABLE)
	psql_q -c "ALTER TABLE enspiral.votes $verb TRIGGER votes_events;
	           ALTER TABLE enspiral.transfers $verb TRIGGER transfers_events;"
}

# run_pgbench FILE SECS: prints the number of transactions processed
run_pgbench() {
	"$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$2" -f "$1" "$DB" >"$WORK/out" 2>&1 ||
		{ cat "$WORK/out" >&2; die "pgbench failed on $(basename "$1")"; }
	sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/out"
}

SLICES=$((SECS >= 10 ? SECS / 10 : 1))
SLICE=$((SECS / SLICES))
declare -A n=([plain]=0 [vote_on]=0 [vote_off]=0 [try_on]=0 [try_off]=0)
for ((i = 0; i < SLICES; i++)); do
	n[plain]=$((n[plain] + $(run_pgbench "$WORK/plain.sql" "$SLICE")))
	triggers on
	n[vote_on]=$((n[vote_on] + $(run_pgbench "$WORK/vote.sql" "$SLICE")))
	n[try_on]=$((n[try_on] + $(run_pgbench "$WORK/try.sql" "$SLICE")))
	triggers off
	n[vote_off]=$((n[vote_off] + $(run_pgbench "$WORK/vote.sql" "$SLICE")))
	n[try_off]=$((n[try_off] + $(run_pgbench "$WORK/try.sql" "$SLICE")))
done
triggers on
for k in "${!n[@]}"; do n[$k]=$((n[$k] / (SLICES * SLICE))); done

# the events were written: one vote_cast per vote, one contribution per accepted contribution
psql_q <<'SQL'
DO $$
BEGIN
    IF (SELECT count(*) FROM enspiral.events WHERE kind = 'contribution')
       <> (SELECT count(*) FROM enspiral.transfers t WHERE t.kind = 'contribute'
             AND EXISTS (SELECT 1 FROM enspiral.events e WHERE e.kind = 'contribution'
                          AND (e.payload ->> 'transfer_id')::bigint = t.transfer_id)) THEN
        RAISE EXCEPTION 'contribution events do not match the transfers';
    END IF;
END $$;
SQL
for k in vote try; do
	echo "$k: events on ${n[${k}_on]} tps, off ${n[${k}_off]} tps, on/off $(awk -v a="${n[${k}_on]}" -v b="${n[${k}_off]}" 'BEGIN { printf "%.3f", a / b }')"
done
echo "RESULT|vote with events and permission checks, $CLIENTS clients (vs plain INSERT)|${n[vote_on]}|${n[plain]}|tps"
echo "RESULT|vote without the event triggers, $CLIENTS clients (vs plain INSERT)|${n[vote_off]}|${n[plain]}|tps"
echo "RESULT|try_contribute with events and permission checks, $CLIENTS clients (vs plain INSERT)|${n[try_on]}|${n[plain]}|tps"
echo "RESULT|try_contribute without the event triggers, $CLIENTS clients (vs plain INSERT)|${n[try_off]}|${n[plain]}|tps"
"$BIN/dropdb" "$DB"
