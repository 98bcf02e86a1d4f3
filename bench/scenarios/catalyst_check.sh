#!/usr/bin/env bash
# Benchmark: the cost of checking one catalyst change (row rules in the
# guard trigger + the coverage sweep at commit) in a group with 10,000
# historical terms and 200 members.  Each pgbench transaction appoints a
# member for one month from ten days ahead (8 serve, minimum 5) and cancels
# the term again: two autocommitted changes, each checked at its commit.  Baseline: a plain
# INSERT and DELETE on a table with only a primary key.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster; BENCH_MODE=smoke
# (a few seconds) or full.  Prints RESULT|label|governed|baseline|unit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"
MODE=${BENCH_MODE:-smoke}
BIN=$(pg_bindir)
DB=enspiral_bench_catalyst
if [ "$MODE" = full ]; then TX=3000; else TX=300; fi
TERMS=10000
MEMBERS=200

"$BIN/dropdb" --if-exists "$DB" 2>/dev/null
"$BIN/createdb" "$DB"
trap '"$BIN/dropdb" --if-exists "$DB" >/dev/null 2>&1 || true' EXIT
psql_q() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
# smoke: load the history without the triggers (session_replication_role);
# full: through the triggers, every rule checked for each historical term
if [ "$MODE" = full ]; then ROLE=origin; else ROLE=replica; fi

load_start=$(date +%s.%N)
psql_q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('Bench', '{"min_catalysts": 5, "catalyst_max_months": 1200}') AS g \gset
-- members with a long history (a direct write of the membership history)
INSERT INTO enspiral.members (group_id, member_key)
SELECT 1, 'member ' || i FROM generate_series(1, $MEMBERS) i;
INSERT INTO enspiral.memberships (group_id, member_id, joined_at)
SELECT 1, member_id, now() - interval '100 years' FROM enspiral.members WHERE group_id = 1;
-- $TERMS one-month terms, 12 at a time, all ended years ago
SET session_replication_role = $ROLE;
INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week)
SELECT 1, k % $MEMBERS + 1,
       (date_trunc('month', current_date) - interval '900 months' + (k / 12) * interval '1 month')::date,
       1, 1
  FROM generate_series(0, $TERMS - 1) k;
RESET session_replication_role;
-- 8 catalysts serving now
SELECT count(enspiral.appoint_catalyst(1, i, current_date)) AS serving FROM generate_series(1, 8) i \gset
CREATE TABLE plain (id bigint PRIMARY KEY, v int);
ANALYZE;
SQL
load_end=$(date +%s.%N)
terms=$(psql_q -Atc "SELECT count(*) FROM enspiral.catalyst_terms")
echo "loaded $terms terms of $MEMBERS members (session_replication_role $ROLE) in $(echo "$load_end - $load_start" | bc) s"
[ "$terms" -eq $((TERMS + 8)) ] || { echo "expected $((TERMS + 8)) terms" >&2; exit 1; }

work=$(mktemp -d)
cat >"$work/governed.sql" <<'SQL'
\set m random(9, 200)
SELECT enspiral.appoint_catalyst(1, :m, current_date + 10, 1) AS tid \gset
SELECT enspiral.cancel_catalyst_term(:tid);
SQL
cat >"$work/plain.sql" <<'SQL'
\set id random(1, 1000000000)
INSERT INTO plain (id, v) VALUES (:id, 1);
DELETE FROM plain WHERE id = :id;
SQL

# latency_ms SCRIPT: average pgbench latency of one script run, in ms
latency_ms() {
	"$BIN/pgbench" -n -c 1 -t "$TX" -f "$1" "$DB" >"$work/out" 2>&1 || true
	sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$work/out"
}
governed=$(latency_ms "$work/governed.sql")
[ -n "$governed" ] || { cat "$work/out" >&2; exit 1; }
baseline=$(latency_ms "$work/plain.sql")
[ -n "$baseline" ] || { cat "$work/out" >&2; exit 1; }
left=$(psql_q -Atc "SELECT count(*) FROM enspiral.catalyst_terms WHERE starts_on > current_date")
[ "$left" -eq 0 ] || { echo "appointments were not all cancelled" >&2; exit 1; }
rm -rf "$work"

# two changes (appoint, cancel) per script run
per_change=$(printf '%.3f' "$(echo "scale=4; $governed / 2" | bc)")
per_plain=$(printf '%.3f' "$(echo "scale=4; $baseline / 2" | bc)")
echo "RESULT|catalyst change checked at commit ($TERMS terms, $MEMBERS members), 1 client|$per_change|$per_plain|ms per change"
if [ "$(echo "$per_change < 10" | bc)" -eq 1 ]; then
	echo "check: under 10 ms per checked change"
else
	echo "check: OVER 10 ms per checked change"
	[ "$MODE" != full ] || exit 1
fi
