#!/usr/bin/env bash
# What events and permission checks add to the hot paths (issue 14, "Cost":
# at most 10 %): vote() and try_contribute() in three configurations, in
# the same run and in interleaved slices so that all see the same
# background load:
#
#   on     as shipped: the event triggers enabled, the group enforces
#          permissions, and every session names an acting member (the
#          group's admin, enspiral.actor, as an application would);
#   off    the event triggers of votes and transfers disabled (ALTER TABLE
#          ... DISABLE TRIGGER on this scenario's own throwaway database,
#          as the superuser) and enforce_permissions false;
#   plain  a plain INSERT of a row of the same shape (a table with the
#          columns and defaults of enspiral.votes, resp. enspiral.transfers,
#          and only a primary key).
#
# The overhead is on / off - 1.  Because the machine may be shared and tps
# is noisy, each load also reports the backends' CPU per call: the
# postmaster's cutime + cstime (/proc/<pid>/stat, the CPU of the backends
# it reaped) around each pgbench run, once no other backend of this
# database is left to be reaped, divided by the calls made.  Autovacuum
# is off on this database's tables so that only the measured backends are
# counted.  The on and off slices alternate in order (on first, then off
# first) so that a drift in background load falls on both.
#
# Afterwards every vote and contribution made while the triggers were on
# must have its event (and the ledger must verify).
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed, on this machine (for /proc).  BENCH_MODE=smoke runs 2 s per
# load, full 60 s (slices of 10 s); BENCH_SECS overrides; BENCH_CLIENTS
# (default 8) the pgbench clients.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) SECS=2 MEMBERS=5000 ;;
full) SECS=60 MEMBERS=100000 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
SECS=${BENCH_SECS:-$SECS}
CLIENTS=${BENCH_CLIENTS:-8}
DB=enspiral_bench_events_overhead
BIN=$(pg_bindir)
WORK=$(mktemp -d /tmp/enspiral-bench-evoverhead.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "events_overhead: $MEMBERS members, one open consent proposal, one round of 1,000 buckets"
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
SELECT count(enspiral.create_bucket(1, i, 'b' || i, 10, 1000000000)) FROM generate_series(1, 1000) i;
SELECT count(enspiral.open_bucket(i)) FROM generate_series(1, 1000) i;
CREATE TABLE plain_votes (LIKE enspiral.votes INCLUDING DEFAULTS);
ALTER TABLE plain_votes ALTER vote_id ADD GENERATED ALWAYS AS IDENTITY,
    ADD PRIMARY KEY (group_id, proposal_id, vote_id);
CREATE TABLE plain_transfers (LIKE enspiral.transfers INCLUDING DEFAULTS);
ALTER TABLE plain_transfers ALTER transfer_id ADD GENERATED ALWAYS AS IDENTITY,
    ADD PRIMARY KEY (group_id, transfer_id);
SELECT format('ALTER TABLE %s SET (autovacuum_enabled = false)', c.oid::regclass)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname IN ('enspiral', 'public') \gexec
VACUUM ANALYZE;
SQL
[ "$(psql_q -c "SELECT (enspiral.group_settings(1) ->> 'enforce_permissions')::boolean")" = t ] ||
	die "the benchmark group does not enforce permissions"

cat >"$WORK/vote.sql" <<EOF2
\set m random(1, $MEMBERS)
SELECT enspiral.vote(1, :m, '"agree"');
EOF2
cat >"$WORK/try.sql" <<'EOF2'
\set b random(1, 1000)
\set m random(1, 1000)
SELECT enspiral.try_contribute(:b, :m, 1);
EOF2
cat >"$WORK/plain_vote.sql" <<EOF2
\set m random(1, $MEMBERS)
INSERT INTO plain_votes (group_id, proposal_id, member_id, ballot, cast_at) VALUES (1, 1, :m, '"agree"', now());
EOF2
cat >"$WORK/plain_try.sql" <<'EOF2'
\set b random(1, 1000)
\set m random(1, 1000)
INSERT INTO plain_transfers (group_id, round_id, kind, from_account, to_account, amount) VALUES (1, 1, 'contribute', :m, :b, 1);
EOF2

# the postmaster, whose reaped children's CPU times measure the backends
POSTMASTER=$(head -n 1 "$(psql_q -c 'SHOW data_directory')/postmaster.pid" 2>/dev/null || true)
[[ $POSTMASTER =~ ^[0-9]+$ ]] && [ -r "/proc/$POSTMASTER/stat" ] ||
	die "cannot read the postmaster's /proc stat (the cluster must run on this machine)"
HZ=$(getconf CLK_TCK)

# reaped_ticks: CPU ticks (user + system) of the postmaster's reaped children
reaped_ticks() {
	local t
	t=$(sed 's/^.*) //' "/proc/$POSTMASTER/stat" | awk '{print $14 + $15}')
	[[ $t =~ ^[0-9]+$ ]] || die "cannot read the postmaster's CPU times"
	echo "$t"
}

# config on|off: events and permission checks as shipped, or both off
config() {
	local verb enforce
	if [ "$1" = on ]; then verb=ENABLE enforce=true; else verb=DISABLE enforce=false; fi
	psql_q >/dev/null -c "SET enspiral.actor = '1';
	   ALTER TABLE enspiral.votes $verb TRIGGER votes_events;
	   ALTER TABLE enspiral.participations $verb TRIGGER participations_events;
	   ALTER TABLE enspiral.transfers $verb TRIGGER transfers_events;
	   SELECT enspiral.update_group_settings(1, '{\"enforce_permissions\": $enforce}');"
}

# counts: votes rows, contribute transfers, vote_cast and contribution events
counts() {
	psql_q -F ' ' -c "SELECT (SELECT count(*) FROM enspiral.votes),
	    (SELECT count(*) FROM enspiral.transfers WHERE kind = 'contribute'),
	    (SELECT count(*) FROM enspiral.events WHERE kind = 'vote_cast'),
	    (SELECT count(*) FROM enspiral.events WHERE kind = 'contribution')"
}

# settle: wait until every backend of the benchmark database has exited and
# been reaped, so that a window counts only the backends of its own load
settle() {
	local i
	for ((i = 0; i < 100; i++)); do
		pgrep -P "$POSTMASTER" -f "postgres: .* $DB " >/dev/null || return 0
		sleep 0.05
	done
	die "backends of $DB did not exit"
}

declare -A n cpu
# run LOAD FILE SECS: one pgbench run; adds its calls to n[LOAD] and its
# backends' CPU ticks to cpu[LOAD]
run() {
	local t0 t1 done
	settle
	t0=$(reaped_ticks)
	# every session names an acting member (the group's admin), as an application would
	PGOPTIONS="-c enspiral.actor=1" "$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$3" \
		-f "$2" "$DB" >"$WORK/out" 2>&1 ||
		{ cat "$WORK/out" >&2; die "pgbench failed on $(basename "$2")"; }
	settle
	t1=$(reaped_ticks)
	if grep -qiE 'deadlock|aborted' "$WORK/out"; then
		cat "$WORK/out" >&2
		die "a client failed on $(basename "$2")"
	fi
	done=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/out")
	n[$1]=$((${n[$1]:-0} + done))
	cpu[$1]=$((${cpu[$1]:-0} + t1 - t0))
}

# run_on: the two calls as shipped, checking that each wrote its events
ev_missing=0
run_on() {
	local a b
	config on
	a=($(counts))
	run vote_on "$WORK/vote.sql" "$SLICE"
	run try_on "$WORK/try.sql" "$SLICE"
	b=($(counts))
	# one vote_cast per votes row, one contribution per contribute transfer
	if [ $((b[0] - a[0])) -ne $((b[2] - a[2])) ] || [ $((b[1] - a[1])) -ne $((b[3] - a[3])) ]; then
		echo "events missing: votes ${a[0]}->${b[0]} vote_cast ${a[2]}->${b[2]}," \
			"contributions ${a[1]}->${b[1]} events ${a[3]}->${b[3]}" >&2
		ev_missing=1
	fi
}

# run_off: the two calls without event triggers and permission checks
run_off() {
	config off
	run vote_off "$WORK/vote.sql" "$SLICE"
	run try_off "$WORK/try.sql" "$SLICE"
}

SLICES=$((SECS >= 10 ? SECS / 10 : 1))
SLICE=$((SECS / SLICES))
for ((i = 0; i < SLICES; i++)); do
	run plain_vote "$WORK/plain_vote.sql" "$SLICE"
	if ((i % 2 == 0)); then run_on; run_off; else run_off; run_on; fi
	run plain_try "$WORK/plain_try.sql" "$SLICE"
done
config on
[ "$ev_missing" -eq 0 ] || die "a vote or contribution made with the triggers on has no event"
psql_q <<'SQL'
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM enspiral.votes WHERE superseded_at IS NULL
                GROUP BY group_id, proposal_id, member_id HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'a member has two counted votes';
    END IF;
    IF EXISTS (SELECT 1 FROM enspiral.verify_ledger(1)) THEN
        RAISE EXCEPTION 'verify_ledger found problems';
    END IF;
END $$;
SQL

secs=$((SLICES * SLICE))
# tps L, us_per_call L
tps() { echo $((n[$1] / secs)); }
us() { awk -v t="${cpu[$1]}" -v c="${n[$1]}" -v hz="$HZ" 'BEGIN { printf "%.0f", c ? t * 1e6 / hz / c : 0 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f %%", b ? (a / b - 1) * 100 : 0 }'; }
for k in vote try; do
	echo "$k: on $(tps ${k}_on) tps $(us ${k}_on) us CPU/call; off $(tps ${k}_off) tps $(us ${k}_off) us;" \
		"plain $(tps plain_$k) tps $(us plain_$k) us; on/off - 1: tps $(pct "$(tps ${k}_on)" "$(tps ${k}_off)")," \
		"CPU per call $(pct "$(us ${k}_on)" "$(us ${k}_off)")"
done
echo "RESULT|vote, events and permission checks on vs off, $CLIENTS clients|$(tps vote_on)|$(tps vote_off)|tps"
echo "RESULT|vote, backend CPU per call, on vs off|$(us vote_on)|$(us vote_off)|us"
echo "RESULT|vote vs plain INSERT of a vote row|$(tps vote_on)|$(tps plain_vote)|tps"
echo "RESULT|try_contribute, events and permission checks on vs off, $CLIENTS clients|$(tps try_on)|$(tps try_off)|tps"
echo "RESULT|try_contribute, backend CPU per call, on vs off|$(us try_on)|$(us try_off)|us"
echo "RESULT|try_contribute vs plain INSERT of a transfer row|$(tps try_on)|$(tps plain_try)|tps"
echo "RESULT|plain INSERT, backend CPU per call: vote row vs transfer row|$(us plain_vote)|$(us plain_try)|us"
"$BIN/dropdb" "$DB"
