#!/usr/bin/env bash
# Weighted and delegated tallies against the unweighted tally of the same
# ballots (doc/decision-rules.md, Performance).  One group of N members
# (full: 1,000,000; smoke: 10,000; BENCH_MEMBERS sets it) with a vote weight each (1 to 10); 20%
# of the members delegate (chains of up to three, some cycles) and do not
# vote; the other 80% vote the same ballots on two proposals of each method
# that applies weights (consent, choice, score, ranked, stv, schulze,
# copeland):
#   * "weighted": weights and delegation applied (the default settings);
#   * "unweighted": {"weighted": false, "delegation": false}.
# Figures: enspiral.tally() of each, best of 3, each in its own connection
# and transaction.  The governed figure is the weighted tally, the baseline
# the unweighted one (ratio = the cost of weights and delegation).
# BENCH_METHODS (a regex) limits the methods measured.  The figures of
# doc/decision-rules.md are with BENCH_MEMBERS=50000.  BENCH_CPU=1 adds,
# per method, the backend's CPU time per tally (utime + stime of
# /proc/<pid>/stat, which needs the server on this machine): 5 tallies of
# each proposal, each in its own transaction, in one session, alternating
# weighted and unweighted, best of 3 rounds; steadier than wall-clock time
# on a loaded machine.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke or full.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) N=${BENCH_MEMBERS:-10000} ;;
full) N=${BENCH_MEMBERS:-1000000} ;;
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
-- one weighted (odd id) and one unweighted (even id) proposal per method
SELECT enspiral.propose(1, 1, x.kind || ' ' || m.method, m.method, m.options,
                        m.settings || CASE WHEN x.kind = 'unweighted'
                                           THEN '{"weighted": false, "delegation": false}'::jsonb
                                           ELSE '{}' END)
  FROM (VALUES (1, 'choice', ARRAY['a','b','c'], '{}'::jsonb),
               (2, 'ranked', ARRAY['a','b','c'], '{}'),
               (3, 'consent', NULL, '{}'),
               (4, 'score', ARRAY['a','b','c'], '{"max_score": 5}'),
               (5, 'stv', ARRAY['a','b','c','d','e'], '{"seats": 2}'),
               (6, 'schulze', ARRAY['a','b','c','d','e'], '{}'),
               (7, 'copeland', ARRAY['a','b','c','d','e'], '{}')) m(i, method, options, settings),
       (VALUES (1, 'weighted'), (2, 'unweighted')) x(j, kind)
 ORDER BY m.i, x.j;
SELECT enspiral.open_proposal(p, now() + interval '1 day') FROM generate_series(1, 14) p;
SET session_replication_role = replica;
INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, cast_at, weight)
SELECT 1, p.proposal_id, i,
       ((CASE p.method
          WHEN 'choice' THEN ARRAY['["a"]', '["b"]', '["c"]', '["a"]']
          WHEN 'ranked' THEN ARRAY['["a","b"]', '["b","c","a"]', '["c"]', '["a","c"]']
          WHEN 'consent' THEN ARRAY['"agree"', '"agree"', '"disagree"', '"abstain"']
          WHEN 'score' THEN ARRAY['{"a":5,"b":0,"c":1}', '{"a":1,"b":4,"c":3}', '{"a":0,"b":2,"c":5}', '{"a":3,"b":3,"c":3}']
          ELSE ARRAY['["a","b","c","d","e"]', '["b","c","a","e","d"]', '["c","a"]', '["e","d","c","b","a"]'] END
       )::jsonb[])[1 + i % 4],
       now(), CASE WHEN p.proposal_id % 2 = 1 THEN 1 + i % 10 END
  FROM generate_series(1, $N) i, enspiral.proposals p
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
for m in choice ranked consent score stv schulze copeland; do
	[[ $m =~ ${BENCH_METHODS:-.} ]] || continue
	w=$(psql_q -c "SELECT proposal_id FROM enspiral.proposals WHERE title = 'weighted $m'")
	u=$(psql_q -c "SELECT proposal_id FROM enspiral.proposals WHERE title = 'unweighted $m'")
	echo "RESULT|weighted+delegated $m tally vs unweighted, $N members|$(best_ms "SELECT enspiral.tally($w)")|$(best_ms "SELECT enspiral.tally($u)")|ms"
done

# cpu_ms W U: backend CPU ms per tally of proposals W and U (BENCH_CPU)
cpu_ms() {
	local pid line w u best_w= best_u= tck
	tck=$(getconf CLK_TCK)
	coproc PSQL { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" 2>&1; }
	echo "SELECT pg_backend_pid();" >&"${PSQL[1]}"
	read -r pid <&"${PSQL[0]}"
	# run QUERY 5 times in its own transactions; print the CPU ticks used
	ticks() {
		local before after
		before=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
		for _ in 1 2 3 4 5; do
			echo "BEGIN; SELECT length(enspiral.tally($1)::text) >= 0; COMMIT;" >&"${PSQL[1]}"
		done
		echo "SELECT 'done';" >&"${PSQL[1]}"
		while read -r line <&"${PSQL[0]}"; do
			case $line in done) break ;; t) ;; *) die "tally $1 failed: $line" ;; esac
		done
		after=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
		echo $((after - before))
	}
	ticks "$1" >/dev/null
	ticks "$2" >/dev/null
	for _ in 1 2 3; do
		w=$(ticks "$1")
		u=$(ticks "$2")
		[ -z "$best_w" ] || [ "$w" -lt "$best_w" ] && best_w=$w
		[ -z "$best_u" ] || [ "$u" -lt "$best_u" ] && best_u=$u
	done
	echo "\\q" >&"${PSQL[1]}"
	wait "$PSQL_PID" 2>/dev/null || true
	awk -v w="$best_w" -v u="$best_u" -v t="$tck" 'BEGIN { printf "%.1f|%.1f", w * 1000 / t / 5, u * 1000 / t / 5 }'
}
if [ -n "${BENCH_CPU:-}" ]; then
	for m in choice ranked consent score stv schulze copeland; do
		[[ $m =~ ${BENCH_METHODS:-.} ]] || continue
		w=$(psql_q -c "SELECT proposal_id FROM enspiral.proposals WHERE title = 'weighted $m'")
		u=$(psql_q -c "SELECT proposal_id FROM enspiral.proposals WHERE title = 'unweighted $m'")
		echo "RESULT|backend CPU per tally, weighted+delegated $m vs unweighted, $N members|$(cpu_ms "$w" "$u")|ms"
	done
fi
[ -n "${BENCH_KEEP:-}" ] || "$BIN/dropdb" "$DB"
