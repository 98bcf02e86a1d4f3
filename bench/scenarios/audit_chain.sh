#!/usr/bin/env bash
# The cost of the hash chain (doc/audit.md) on the contribute path: 8
# pgbench clients call try_contribute() (1 minor unit, random member of
# 1,000, random bucket of 100) in ONE group, so every commit takes the same
# chain head; the same load with the chain trigger disabled
# (ALTER TABLE ... DISABLE TRIGGER transfers_chain); and a plain INSERT of
# the same row into a table of the ledger's shape without rules, in the same
# run (alternating slices).  A last pair spreads the same load over 8
# groups (a chain head each).  One client alone gives the time per write
# (chain on, chain off, plain INSERT).  Afterwards verify_chain() must find no
# problem but the rows written while the chain was disabled (unlinked row).
# Votes are not chained: the vote path pays nothing; a close pays one link.
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
CLIENTS=8
DB=enspiral_bench_audit_chain
BIN=$(pg_bindir)
WORK=$(mktemp -d /tmp/enspiral-bench-chain.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "audit_chain: 8 groups of 1,000 members and 100 buckets"
psql_q -o /dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('bench ' || g) FROM generate_series(1, 8) g;
SELECT count(enspiral.add_member(g, 'm' || i)) FROM generate_series(1, 8) g, generate_series(1, 1000) i;
SELECT enspiral.create_round(g, 'load', 1000 * 1000000, now() - interval '1 hour', now() + interval '1 day')
  FROM generate_series(1, 8) g;
SELECT enspiral.allocate(r) FROM generate_series(1, 8) r;
SELECT count(enspiral.create_bucket(r, (r - 1) * 1000 + 1, 'b' || i, 0, 1000000000))
  FROM generate_series(1, 8) r, generate_series(1, 100) i;
SELECT count(enspiral.open_bucket(b)) FROM generate_series(1, 800) b;
CREATE TABLE bench_plain (LIKE enspiral.transfers INCLUDING DEFAULTS INCLUDING INDEXES);
ALTER TABLE bench_plain ALTER transfer_id ADD GENERATED ALWAYS AS IDENTITY;
SQL

# group 1: members 1..1000, buckets 1..100; group g: members and buckets shifted
cat >"$WORK/one.sql" <<'EOF2'
\set m random(1, 1000)
\set b random(1, 100)
SELECT enspiral.try_contribute(:b, :m, 1);
EOF2
cat >"$WORK/spread.sql" <<'EOF2'
\set g random(0, 7)
\set m random(1, 1000)
\set b random(1, 100)
SELECT enspiral.try_contribute(:g * 100 + :b, :g * 1000 + :m, 1);
EOF2
cat >"$WORK/plain.sql" <<'EOF2'
\set m random(1, 1000)
\set b random(1, 100)
INSERT INTO bench_plain (group_id, round_id, kind, from_account, to_account, amount)
VALUES (1, 1, 'contribute', :m, 100000 + :b, 1);
EOF2

# run_pgbench FILE SECS [CLIENTS]: prints the number of transactions processed
run_pgbench() {
	local c=${3:-$CLIENTS}
	"$BIN/pgbench" -n -M prepared -c "$c" -j "$((c < 2 ? 1 : 2))" -T "$2" -f "$1" "$DB" >"$WORK/out" 2>&1 ||
		{ cat "$WORK/out" >&2; die "pgbench failed on $(basename "$1")"; }
	sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/out"
}
chain() { psql_q -c "ALTER TABLE enspiral.transfers $1 TRIGGER transfers_chain"; }

SLICES=$((SECS >= 10 ? SECS / 10 : 1))
SLICE=$((SECS / SLICES))
plain_n=0 chained_n=0 unchained_n=0 spread_n=0 spread_off_n=0 one_on=0 one_off=0 one_plain=0
for ((i = 0; i < SLICES; i++)); do
	plain_n=$((plain_n + $(run_pgbench "$WORK/plain.sql" "$SLICE")))
	chained_n=$((chained_n + $(run_pgbench "$WORK/one.sql" "$SLICE")))
	spread_n=$((spread_n + $(run_pgbench "$WORK/spread.sql" "$SLICE")))
	one_on=$((one_on + $(run_pgbench "$WORK/one.sql" "$SLICE" 1)))
	one_plain=$((one_plain + $(run_pgbench "$WORK/plain.sql" "$SLICE" 1)))
	chain DISABLE
	one_off=$((one_off + $(run_pgbench "$WORK/one.sql" "$SLICE" 1)))
	unchained_n=$((unchained_n + $(run_pgbench "$WORK/one.sql" "$SLICE")))
	spread_off_n=$((spread_off_n + $(run_pgbench "$WORK/spread.sql" "$SLICE")))
	chain ENABLE
done
T=$((SLICES * SLICE))

# every link verifies; the only findings are the rows written unchained
psql_q <<'SQL'
DO $$
DECLARE
    bad bigint;
BEGIN
    SELECT count(*) INTO bad FROM generate_series(1, 8) g, enspiral.verify_chain(g) v
     WHERE v.problem <> 'unlinked row';
    IF bad > 0 THEN
        RAISE EXCEPTION '% broken links after the load', bad;
    END IF;
    IF EXISTS (SELECT 1 FROM enspiral.chain_links GROUP BY group_id
               HAVING count(*) <> max(position)) THEN
        RAISE EXCEPTION 'a chain has a gap';
    END IF;
END $$;
SQL
psql_q -c "SELECT 'links: ' || count(*) || ', transfers: ' || (SELECT count(*) FROM enspiral.transfers) FROM enspiral.chain_links"
echo "RESULT|try_contribute, chain on, one group, $CLIENTS clients|$((chained_n / T))|$((plain_n / T))|tps"
echo "RESULT|try_contribute, chain off, one group, $CLIENTS clients|$((unchained_n / T))|$((plain_n / T))|tps"
echo "RESULT|try_contribute over 8 groups, $CLIENTS clients: chain on vs off|$((spread_n / T))|$((spread_off_n / T))|tps"
# one client: the time per write, without waiting for other commits
ms() { awk -v n="$1" -v t="$T" 'BEGIN { printf "%.3f", 1000 * t / n }'; }
echo "RESULT|try_contribute, 1 client, chain on (vs plain INSERT)|$(ms "$one_on")|$(ms "$one_plain")|ms per write"
echo "RESULT|try_contribute, 1 client, chain on vs off|$(ms "$one_on")|$(ms "$one_off")|ms per write"
"$BIN/dropdb" "$DB"
