#!/usr/bin/env bash
# The cost of the hash chain (doc/audit.md) on the write path.  Writers do
# not link: a transfer or an outcome takes a chain key (an event id, the
# column default) and one index entry; an event is chained by its event_id
# and costs nothing more.  The linker links in batches, off the write path.
#
# Loads, alternating in slices so they see the same background load:
#  * try_contribute() (1 minor unit, random member of 1,000, random bucket of
#    100, ONE group) with the chain key on, and with it off (the column's
#    default and its index dropped: what the write path paid before any
#    chaining), 8 clients and 1 client (time per write);
#  * vote() (random member, one open consent proposal of the same group);
#  * a plain INSERT of a ledger row and of a vote row into tables of the
#    same shape with only a primary key (the baselines);
#  * while the 8 clients contribute, a ninth session runs the linker that
#    never waits (link_chain(1, false)) every 0.2 s, as pg_cron would.
# Afterwards the linker links the backlog (rows per second), and
# verify_chain() must report nothing but the rows written with the chain
# key off (unlinked row: no chain key).
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke runs 2 s per phase, full 30 s.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) SECS=2 ;;
full) SECS=30 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
SECS=${BENCH_SECS:-$SECS}
CLIENTS=8
DB=enspiral_bench_audit_chain
BIN=$(pg_bindir)
WORK=$(mktemp -d /tmp/enspiral-bench-chain.XXXXXX)
LINKER_PID=
trap 'if [ -n "$LINKER_PID" ]; then kill "$LINKER_PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "audit_chain: one group of 1,000 members, 100 buckets, one open proposal"
psql_q -o /dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('bench');
SELECT count(enspiral.add_member(1, 'm' || i)) FROM generate_series(1, 1000) i;
SELECT enspiral.create_round(1, 'load', 1000 * 1000000, now() - interval '1 hour', now() + interval '1 day');
SELECT enspiral.allocate(1);
SELECT count(enspiral.create_bucket(1, 1, 'b' || i, 0, 1000000000)) FROM generate_series(1, 100) i;
SELECT count(enspiral.open_bucket(b)) FROM generate_series(1, 100) b;
SELECT enspiral.propose(1, 1, 'bench', 'consent');
SELECT enspiral.open_proposal(1, now() + interval '1 day');
SELECT enspiral.link_chain(1);
CREATE TABLE bench_plain (LIKE enspiral.transfers INCLUDING DEFAULTS);
ALTER TABLE bench_plain DROP COLUMN chain_key,
    ALTER transfer_id ADD GENERATED ALWAYS AS IDENTITY, ADD PRIMARY KEY (group_id, transfer_id);
CREATE TABLE bench_plain_vote (LIKE enspiral.votes INCLUDING DEFAULTS);
ALTER TABLE bench_plain_vote ALTER vote_id ADD GENERATED ALWAYS AS IDENTITY,
    ADD PRIMARY KEY (group_id, proposal_id, vote_id);
SQL

cat >"$WORK/contribute.sql" <<'EOF2'
\set m random(1, 1000)
\set b random(1, 100)
SELECT enspiral.try_contribute(:b, :m, 1);
EOF2
cat >"$WORK/plain.sql" <<'EOF2'
\set m random(1, 1000)
\set b random(1, 100)
INSERT INTO bench_plain (group_id, round_id, kind, from_account, to_account, amount)
VALUES (1, 1, 'contribute', :m, 100000 + :b, 1);
EOF2
cat >"$WORK/vote.sql" <<'EOF2'
\set m random(1, 1000)
SELECT enspiral.vote(1, :m, '"agree"');
EOF2
cat >"$WORK/plain_vote.sql" <<'EOF2'
\set m random(1, 1000)
INSERT INTO bench_plain_vote (group_id, proposal_id, member_id, ballot, cast_at) VALUES (1, 1, :m, '"agree"', now());
EOF2

# run_pgbench FILE SECS [CLIENTS]: prints the number of transactions processed
run_pgbench() {
	local c=${3:-$CLIENTS}
	"$BIN/pgbench" -n -M prepared -c "$c" -j "$((c < 2 ? 1 : 2))" -T "$2" -f "$1" "$DB" >"$WORK/out" 2>&1 ||
		{ cat "$WORK/out" >&2; die "pgbench failed on $(basename "$1")"; }
	sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/out"
}
# chain_key on|off: the write path with or without its chain key
chain_key() {
	if [ "$1" = on ]; then
		psql_q -c "ALTER TABLE enspiral.transfers ALTER chain_key SET DEFAULT enspiral.next_event_id();
		           CREATE INDEX transfers_chain_key ON enspiral.transfers (group_id, chain_key);"
	else
		psql_q -c "ALTER TABLE enspiral.transfers ALTER chain_key DROP DEFAULT;
		           DROP INDEX enspiral.transfers_chain_key;"
	fi
}
# the linker pg_cron would run, every 0.2 s, never waiting (bounded loop)
start_linker() {
	(for ((k = 0; k < 5 * SECS * 20; k++)); do
		psql_q -c "SELECT enspiral.link_chain(1, false)" >/dev/null || exit 1
		sleep 0.2
	done) &
	LINKER_PID=$!
}
stop_linker() {
	kill "$LINKER_PID" 2>/dev/null || true
	wait "$LINKER_PID" 2>/dev/null || true
	LINKER_PID=
}

SLICES=$((SECS >= 10 ? SECS / 10 : 1))
SLICE=$((SECS / SLICES))
plain_n=0 on_n=0 off_n=0 vote_n=0 plain_vote_n=0 one_on=0 one_off=0 one_plain=0
for ((i = 0; i < SLICES; i++)); do
	plain_n=$((plain_n + $(run_pgbench "$WORK/plain.sql" "$SLICE")))
	start_linker
	on_n=$((on_n + $(run_pgbench "$WORK/contribute.sql" "$SLICE")))
	stop_linker
	one_on=$((one_on + $(run_pgbench "$WORK/contribute.sql" "$SLICE" 1)))
	one_plain=$((one_plain + $(run_pgbench "$WORK/plain.sql" "$SLICE" 1)))
	vote_n=$((vote_n + $(run_pgbench "$WORK/vote.sql" "$SLICE")))
	plain_vote_n=$((plain_vote_n + $(run_pgbench "$WORK/plain_vote.sql" "$SLICE")))
	chain_key off
	off_n=$((off_n + $(run_pgbench "$WORK/contribute.sql" "$SLICE")))
	one_off=$((one_off + $(run_pgbench "$WORK/contribute.sql" "$SLICE" 1)))
	chain_key on
done
T=$((SLICES * SLICE))

# the backlog: rows written since the linker's last run, linked at once
start_ms=$(date +%s%3N)
backlog=$(psql_q -c "SELECT enspiral.link_chain(1)")
link_ms=$(($(date +%s%3N) - start_ms))

# every link verifies; the only findings are the rows written without a chain key
psql_q <<'SQL'
DO $$
DECLARE
    bad bigint;
BEGIN
    SELECT count(*) INTO bad FROM enspiral.verify_chain(1) v
     WHERE NOT (v.problem = 'unlinked row' AND v.source = 'transfers');
    IF bad > 0 THEN
        RAISE EXCEPTION '% broken links after the load', bad;
    END IF;
    IF EXISTS (SELECT 1 FROM enspiral.chain_links GROUP BY group_id
               HAVING count(*) <> max(position)) THEN
        RAISE EXCEPTION 'a chain has a gap';
    END IF;
END $$;
SQL
psql_q -c "SELECT 'links: ' || count(*) || ', transfers: ' || (SELECT count(*) FROM enspiral.transfers)
                  || ', events: ' || (SELECT count(*) FROM enspiral.events) FROM enspiral.chain_links"
echo "RESULT|try_contribute, one group, $CLIENTS clients, linker every 0.2 s (vs plain INSERT)|$((on_n / T))|$((plain_n / T))|tps"
echo "RESULT|try_contribute, one group, $CLIENTS clients: chain key on vs off|$((on_n / T))|$((off_n / T))|tps"
echo "RESULT|vote, one group, $CLIENTS clients (vs plain INSERT of a vote row)|$((vote_n / T))|$((plain_vote_n / T))|tps"
# one client: the time per write, without waiting for other commits
ms() { awk -v n="$1" -v t="$T" 'BEGIN { printf "%.3f", 1000 * t / n }'; }
echo "RESULT|try_contribute, 1 client, chain key on (vs plain INSERT)|$(ms "$one_on")|$(ms "$one_plain")|ms per write"
echo "RESULT|try_contribute, 1 client, chain key on vs off|$(ms "$one_on")|$(ms "$one_off")|ms per write"
echo "RESULT|linker: backlog of $backlog rows linked at once|$(awk -v n="$backlog" -v ms="$link_ms" 'BEGIN { printf "%d", (ms > 0 ? 1000 * n / ms : n) }')|-|rows/s"
"$BIN/dropdb" "$DB"
