#!/usr/bin/env bash
# Weighted and delegated tallies against the unweighted tally of the same
# ballots (doc/decision-rules.md, Performance).  One group of N members
# (full: 1,000,000; smoke: 50,000) with a vote weight each (1 to 10); 20%
# of the members delegate (chains of up to three, some cycles) and do not
# vote; the other 80% vote the same choice ballots on two proposals:
#   * "weighted": weights and delegation applied (the default settings);
#   * "unweighted": {"weighted": false, "delegation": false}.
# Figures: enspiral.tally() of each, best of 3, for choice and ranked
# ballots.  The governed figure is the weighted tally, the baseline the
# unweighted one (ratio = the cost of weights and delegation).
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke or full.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) N=50000 ;;
full) N=1000000 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
DB=enspiral_bench_weighted_tally
BIN=$(pg_bindir)

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "decisions_weighted_tally: loading $N members, weights, delegations and ballots"
psql_q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('bench');
-- bulk load: the rows add_member(), set_vote_weight(), delegate() and vote()
-- write (the guards are triggers)
SET session_replication_role = replica;
INSERT INTO enspiral.members (group_id, member_key, created_at)
SELECT 1, 'm' || i, now() - interval '1 hour' FROM generate_series(1, $N) i;
INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
SELECT 1, i, 1, now() - interval '1 hour' FROM generate_series(1, $N) i;
INSERT INTO enspiral.vote_weights (group_id, member_id, valid_from, weight)
SELECT 1, i, now() - interval '1 hour', 1 + i % 10 FROM generate_series(1, $N) i;
-- members i % 5 = 0 delegate to i - 1 (a voter), i + 5 (another delegator:
-- chains), or, every 50th, to i - 5 when that delegates back (cycles)
INSERT INTO enspiral.delegations (group_id, from_member, valid_from, to_member)
SELECT 1, i, now() - interval '1 hour',
       CASE WHEN i % 50 = 0 THEN i - 5 WHEN i % 15 = 0 AND i + 5 <= $N THEN i + 5 ELSE i - 1 END
  FROM generate_series(5, $N, 5) i;
RESET session_replication_role;
SELECT enspiral.propose(1, 1, 'weighted', 'choice', ARRAY['a','b','c']);
SELECT enspiral.propose(1, 1, 'unweighted', 'choice', ARRAY['a','b','c'],
                        '{"weighted": false, "delegation": false}');
SELECT enspiral.propose(1, 1, 'weighted ranked', 'ranked', ARRAY['a','b','c']);
SELECT enspiral.propose(1, 1, 'unweighted ranked', 'ranked', ARRAY['a','b','c'],
                        '{"weighted": false, "delegation": false}');
SELECT enspiral.open_proposal(p, now() + interval '1 day') FROM generate_series(1, 4) p;
SET session_replication_role = replica;
INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, cast_at, weight)
SELECT 1, p, i,
       CASE WHEN p <= 2 THEN (ARRAY['["a"]', '["b"]', '["c"]', '["a"]']::jsonb[])[1 + i % 4]
            ELSE (ARRAY['["a","b"]', '["b","c","a"]', '["c"]', '["a","c"]']::jsonb[])[1 + i % 4] END,
       now(), CASE WHEN p % 2 = 1 THEN 1 + i % 10 END
  FROM generate_series(1, $N) i, generate_series(1, 4) p
 WHERE i % 5 <> 0;
RESET session_replication_role;
VACUUM ANALYZE;
SQL

# best_ms QUERY: best of 3 execution times, each in its own transaction (a
# tally keeps its resolved delegations only for the rest of its snapshot)
best_ms() {
	local best= t
	for _ in 1 2 3; do
		t=$(psql_q -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT JSON) $1" |
			sed -n 's/.*"Execution Time": \([0-9.]*\).*/\1/p')
		[ -n "$t" ] || die "no timing for: $1"
		best=$(awk -v a="$t" -v b="$best" 'BEGIN { print (b == "" || a < b) ? a : b }')
	done
	printf '%.1f' "$best"
}

check=$(psql_q -c "SELECT 'weighted: ' || (enspiral.tally(1) -> 'weights')::text || ' / unweighted totals: '
                          || (enspiral.tally(2) -> 'totals')::text") || die "weighted tally benchmark failed"
echo "$check"
case $check in *'"delegated": 0'* | *null*) die "the weighted tally carries no delegated weight" ;; esac
echo "RESULT|weighted+delegated choice tally vs unweighted, $N members|$(best_ms 'SELECT enspiral.tally(1)')|$(best_ms 'SELECT enspiral.tally(2)')|ms"
echo "RESULT|weighted+delegated ranked tally vs unweighted, $N members|$(best_ms 'SELECT enspiral.tally(3)')|$(best_ms 'SELECT enspiral.tally(4)')|ms"
[ -n "${BENCH_KEEP:-}" ] || "$BIN/dropdb" "$DB"
