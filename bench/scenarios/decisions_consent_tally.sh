#!/usr/bin/env bash
# The consent tally of one proposal with 10,000,000 counted votes (full;
# 200,000 in smoke): enspiral.tally() (which also excludes members who
# left and refuses hidden results) against the equivalent hand-written
# count(*) FILTER query over the same current votes.  Best of 3 each.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke or full.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) VOTES=200000 ;;
full) VOTES=10000000 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
DB=enspiral_bench_decisions_tally
BIN=$(pg_bindir)

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "decisions_consent_tally: loading $VOTES votes"
psql_q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('bench');
SELECT enspiral.add_member(1, 'author');
SELECT enspiral.propose(1, 1, 'bench', 'consent');
SELECT enspiral.open_proposal(1, now() + interval '1 day');
-- bulk load: the same rows vote() writes (the write guard is a trigger)
SET session_replication_role = replica;
INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, cast_at)
SELECT 1, 1, i, (ARRAY['"agree"', '"agree"', '"abstain"', '"disagree"', '"block"']::jsonb[])[1 + i % 5],
       now()
  FROM generate_series(1, $VOTES) i;
RESET session_replication_role;
VACUUM ANALYZE enspiral.votes;
SQL

out=$(psql_q <<'SQL'
CREATE FUNCTION pg_temp.best_ms(q text) RETURNS numeric LANGUAGE plpgsql AS $$
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
$$;
-- both give the same counts
SELECT CASE WHEN t -> 'totals' = jsonb_build_object('agree', a, 'abstain', b, 'disagree', c, 'block', d)
             AND (t ->> 'voted')::bigint = n THEN 'same counts: ' || (t -> 'totals')::text
            ELSE 'MISMATCH ' || t::text END
  FROM (SELECT enspiral.tally(1) AS t) x,
       (SELECT count(*) FILTER (WHERE ballot = '"agree"') AS a,
               count(*) FILTER (WHERE ballot = '"abstain"') AS b,
               count(*) FILTER (WHERE ballot = '"disagree"') AS c,
               count(*) FILTER (WHERE ballot = '"block"') AS d, count(*) AS n
          FROM enspiral.votes
         WHERE group_id = 1 AND proposal_id = 1 AND superseded_at IS NULL) y;
SELECT pg_temp.best_ms('SELECT enspiral.tally(1)') || '|' ||
       pg_temp.best_ms($q$SELECT count(*) FILTER (WHERE ballot = '"agree"'),
                                 count(*) FILTER (WHERE ballot = '"abstain"'),
                                 count(*) FILTER (WHERE ballot = '"disagree"'),
                                 count(*) FILTER (WHERE ballot = '"block"'), count(*)
                            FROM enspiral.votes
                           WHERE group_id = 1 AND proposal_id = 1 AND superseded_at IS NULL$q$);
SQL
) || die "consent tally benchmark failed"
echo "$out" | head -1
case $out in *MISMATCH*) die "tally and hand-written query disagree" ;; esac
figures=$(echo "$out" | tail -1)
echo "RESULT|consent tally, $VOTES votes|${figures%%|*}|${figures##*|}|ms"
"$BIN/dropdb" "$DB"
