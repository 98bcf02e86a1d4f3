#!/usr/bin/env bash
# single_transferable_vote over 100,000 ballots (10,000 in smoke) ranking
# 1 to 10 of 10 candidates, 3 seats, under both rule sets: the best of 3
# runs of the aggregate (target: under 1 s for 100,000 ballots).  Then the
# time a cancel takes to be answered: a count of 10 times as many ballots
# (Meek and Scottish STV, Schulze, Copeland, weighted instant runoff) under
# a statement_timeout that falls in the count itself (1 s; 100 ms in
# smoke), less the timeout.  The weighted counts (weights 1 to
# 5) are compared with the unweighted ones (issue bound: 1.5x).
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke or full.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) BALLOTS=10000 TIMEOUT=100 ;;
full) BALLOTS=100000 TIMEOUT=1000 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
DB=enspiral_bench_decisions_stv
BIN=$(pg_bindir)

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "decisions_stv: $BALLOTS ballots ranking 1 to 10 of 10 candidates, 3 seats"
# a ranking: a skewed start s and a step k coprime with 10 give distinct
# candidates (s + i k) mod 10 + 1; its length is 1 to 10
out=$(psql_q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
CREATE TABLE ballots AS
SELECT ARRAY(SELECT (s + i * k) % 10 + 1 FROM generate_series(0, len - 1) i)::bigint[] AS ranking,
       (1 + floor(random() * 5))::bigint AS weight
  FROM (SELECT (floor(10 * power(random(), 1.5)))::int AS s,
               (ARRAY[1, 3, 7, 9])[1 + floor(random() * 4)::int] AS k,
               1 + floor(random() * 10)::int AS len
          FROM generate_series(1, $BALLOTS)) g;
CREATE TABLE big AS SELECT b.ranking FROM ballots b, generate_series(1, 10);
VACUUM ANALYZE ballots;
VACUUM ANALYZE big;
SET max_parallel_workers_per_gather = 0;
CREATE FUNCTION pg_temp.best_ms(q text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE
    t0 timestamptz;
    best numeric;
BEGIN
    FOR i IN 1..3 LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN round(best, 1);
END
\$\$;
SELECT 'scottish elected ' || (s -> 'elected')::text || ' in ' || jsonb_array_length(s -> 'stages') || ' stages'
  FROM (SELECT enspiral.single_transferable_vote(ranking, 3, 'scottish') s FROM ballots) x;
SELECT 'meek elected ' || (s -> 'elected')::text || ' in ' || jsonb_array_length(s -> 'stages') || ' stages, '
       || (SELECT sum((e ->> 'iterations')::int) FROM jsonb_array_elements(s -> 'stages') e) || ' iterations'
  FROM (SELECT enspiral.single_transferable_vote(ranking, 3, 'meek') s FROM ballots) x;
SELECT 'weighted meek elected ' || (s -> 'elected')::text || ' in ' || jsonb_array_length(s -> 'stages') || ' stages, '
       || (SELECT sum((e ->> 'iterations')::int) FROM jsonb_array_elements(s -> 'stages') e) || ' iterations'
  FROM (SELECT enspiral.single_transferable_vote(ranking, weight, 3, 'meek') s FROM ballots) x;
SELECT pg_temp.best_ms('SELECT enspiral.single_transferable_vote(ranking, 3, ''scottish'') FROM ballots')
       || '|' || pg_temp.best_ms('SELECT enspiral.single_transferable_vote(ranking, 3, ''meek'') FROM ballots')
       || '|' || pg_temp.best_ms('SELECT sum(cardinality(ranking)) FROM ballots')
       || '|' || pg_temp.best_ms('SELECT enspiral.single_transferable_vote(ranking, weight, 3, ''scottish'') FROM ballots')
       || '|' || pg_temp.best_ms('SELECT enspiral.single_transferable_vote(ranking, weight, 3, ''meek'') FROM ballots');
SQL
) || die "single_transferable_vote benchmark failed"
echo "$out" | head -3
figures=$(echo "$out" | tail -1)
IFS='|' read -r scottish meek scan wscottish wmeek <<<"$figures"
echo "plain scan of the same ballots: $scan ms"
# psql times the statement from the client: the time past the timeout is
# how long the count took to notice the cancel.  Every counting method
# that runs over many ballots, on 10 times as many ballots.
cancel_ms() {
	local timing t
	timing=$("$BIN/psql" -qXAt -d "$DB" 2>&1 <<SQL
SET statement_timeout = '${TIMEOUT}ms';
SET max_parallel_workers_per_gather = 0;
\timing on
SELECT $1 IS NULL FROM big;
SQL
	) || true
	if echo "$timing" | grep -q 'canceling statement due to statement timeout'; then
		t=$(echo "$timing" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
		awk -v t="$t" -v o="$TIMEOUT" 'BEGIN { printf "%.1f", t - o }'
	fi
}
cancels=()
for c in "meek|enspiral.single_transferable_vote(ranking, 3, 'meek')" \
	"scottish|enspiral.single_transferable_vote(ranking, 3, 'scottish')" \
	"schulze|enspiral.schulze(ranking)" "copeland|enspiral.copeland(ranking)" \
	"instant_runoff_rounds weighted|enspiral.instant_runoff_rounds(ranking, 2::bigint)"; do
	name=${c%%|*}
	cancel=$(cancel_ms "${c#*|}")
	if [ -n "$cancel" ]; then
		echo "cancel of $name over $((BALLOTS * 10)) ballots under statement_timeout $TIMEOUT ms: answered $cancel ms after the timeout"
		cancels+=("RESULT|$name, cancel answered after statement_timeout|$cancel|-|ms")
	else
		echo "$name over $((BALLOTS * 10)) ballots ended before statement_timeout $TIMEOUT ms: no cancel figure"
	fi
done
echo "RESULT|single_transferable_vote scottish, $BALLOTS ballots x 10 candidates, 3 seats|$scottish|-|ms"
echo "RESULT|single_transferable_vote meek, $BALLOTS ballots x 10 candidates, 3 seats|$meek|-|ms"
echo "RESULT|single_transferable_vote scottish weighted (1-5) vs unweighted|$wscottish|$scottish|ms"
echo "RESULT|single_transferable_vote meek weighted (1-5) vs unweighted|$wmeek|$meek|ms"
for r in "${cancels[@]}"; do echo "$r"; done
"$BIN/dropdb" "$DB"
