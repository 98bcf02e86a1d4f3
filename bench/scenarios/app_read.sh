#!/usr/bin/env bash
# The read API on a group with 10,000 proposals (1,000 open, 9,000 past
# their deadline) at several electorate sizes: 50, 1,000 and 10,000 members
# (smoke: 50 and 1,000), every open proposal (and the 100 latest closed
# ones) voted by 20 members or by 10% of the group, whichever is more.  Measured against the hand-written
# queries over the tables (the same rows, without the counts and the rule
# checks): enspiral.proposals() listing the 20 open proposals with the
# latest deadlines (effective state, counted votes, electorate) and the 20
# latest closed ones (their outcomes computed, as nothing recorded them
# yet; then recorded, as record_due_closings() or a first outcome() does),
# enspiral.ballot() of one member, members(), voters() and stances() of an
# open proposal.  Median of 50 calls each, measured in the server.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke or full; APP_READ_MEMBERS overrides the sizes.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in smoke | full) ;; *) die "BENCH_MODE must be smoke or full" ;; esac
DB=enspiral_bench_app_read
BIN=$(pg_bindir)

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

SIZES=${APP_READ_MEMBERS:-$([ "$MODE" = smoke ] && echo "50 1000" || echo "50 1000 10000")}

# load N: a fresh database with one group of N members and 10,000 proposals
load() {
	local n=$1 votes=$(( $1 / 10 > 20 ? $1 / 10 : 20 ))
	"$BIN/dropdb" --if-exists "$DB"
	"$BIN/createdb" "$DB"
	say "app_read: loading 10,000 proposals, $n members, $votes votes per open proposal"
	psql_q -v n="$n" -v votes="$votes" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('bench');
-- bulk load: the rows add_member(), propose(), open_proposal() and vote()
-- write (the guards are triggers)
SET session_replication_role = replica;
INSERT INTO enspiral.members (group_id, member_key)
SELECT 1, 'm' || i FROM generate_series(1, :n) i;
INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
SELECT 1, m.member_id, 1, now() - interval '60 days' FROM enspiral.members m WHERE m.group_id = 1;
-- every tenth proposal open, the 9,000 others past their deadline: closed,
-- and still stored open because nothing recorded their outcomes yet (no
-- record_due_closings() job, no outcome() call)
INSERT INTO enspiral.proposals (group_id, author_id, title, method, options, settings, state,
                                opens_at, closes_at)
SELECT 1, 1 + i % :n, 'proposal ' || i, 'choice', '{a,b,c}',
       enspiral.normalize_proposal_settings('choice', '{a,b,c}', '{}'),
       'open'::enspiral.proposal_state,
       now() - interval '30 days' + i * interval '1 minute',
       CASE WHEN i % 10 = 0 THEN now() + i * interval '1 minute'
            ELSE now() - interval '20 days' + i * interval '1 minute' END
  FROM generate_series(1, 10000) i;
-- the open proposals and the 100 latest closed ones were voted
INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, cast_at)
SELECT 1, p.proposal_id, m, '["a"]', p.opens_at + interval '1 hour'
  FROM enspiral.proposals p, generate_series(1, :votes) m
 WHERE p.closes_at > now() OR p.proposal_id > 9890;
RESET session_replication_role;
-- what the trigger vote_counts would have counted
INSERT INTO enspiral.vote_counts (group_id, proposal_id, shard, counted)
SELECT group_id, proposal_id, 0, count(*) FROM enspiral.votes
 WHERE history_key = 0 GROUP BY group_id, proposal_id;
VACUUM ANALYZE;
SQL
}

# measure N: the figures of one size, as RESULT lines
measure() {
	local n=$1 out list ballot
	out=$(psql_q <<'SQL'
CREATE FUNCTION pg_temp.median_ms(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    ms numeric[] := '{}';
BEGIN
    FOR i IN 1..50 LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        ms := ms || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    RETURN round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(ms) x)::numeric, 3);
END
$$;
-- both list the same proposals
SELECT CASE WHEN a = b THEN 'same 20 proposals, ' || (SELECT min(voted) || '..' || max(voted) || ' votes, electorate '
                                                       || min(electorate)
                                                  FROM enspiral.proposals(1, 'open', 20))
            ELSE 'MISMATCH ' || a::text || ' / ' || b::text END
  FROM (SELECT array_agg(proposal_id) AS a FROM enspiral.proposals(1, 'open', 20)) x,
       (SELECT array_agg(proposal_id ORDER BY closes_at DESC) AS b
          FROM (SELECT proposal_id, closes_at FROM enspiral.proposals
                 WHERE group_id = 1 AND state = 'open' AND closes_at > now()
                 ORDER BY closes_at DESC LIMIT 20) s) y;
SELECT pg_temp.median_ms($q$SELECT * FROM enspiral.proposals(1, 'open', 20)$q$) || '|' ||
       pg_temp.median_ms($q$SELECT * FROM enspiral.proposals
                            WHERE group_id = 1 AND state = 'open' AND closes_at > now()
                            ORDER BY closes_at DESC LIMIT 20$q$);
SELECT pg_temp.median_ms($q$SELECT enspiral.ballot(1, 10000, 7)$q$) || '|' ||
       pg_temp.median_ms($q$SELECT ballot, reason, cast_at FROM enspiral.votes
                            WHERE group_id = 1 AND proposal_id = 10000 AND member_id = 7
                              AND history_key = 0$q$);
-- the functions whose answers grow with the group (a row per member or per
-- vote), each against the hand-written query of the same rows (voters():
-- the members at the opening, and whether each has a current vote)
SELECT 'members(1): every member|' || pg_temp.median_ms($q$SELECT * FROM enspiral.members(1)$q$) || '|' ||
       pg_temp.median_ms($q$SELECT m.member_id, m.member_key, ms.joined_at, ms.left_at
                            FROM enspiral.memberships ms
                            JOIN enspiral.members m ON m.group_id = ms.group_id AND m.member_id = ms.member_id
                           WHERE ms.group_id = 1 AND ms.left_at IS NULL ORDER BY ms.member_id$q$);
SELECT 'voters(1, p): electorate of an open proposal|' || pg_temp.median_ms($q$SELECT * FROM enspiral.voters(1, 10000)$q$) || '|' ||
       pg_temp.median_ms($q$SELECT ms.member_id,
                                   ms.member_id IN (SELECT v.member_id FROM enspiral.votes v
                                                     WHERE v.group_id = 1 AND v.proposal_id = 10000
                                                       AND v.history_key = 0)
                              FROM enspiral.memberships ms, enspiral.proposals p
                             WHERE p.group_id = 1 AND p.proposal_id = 10000
                               AND ms.group_id = 1 AND ms.joined_at <= p.opens_at
                               AND (ms.left_at IS NULL OR ms.left_at > p.opens_at)
                             ORDER BY ms.member_id$q$);
SELECT 'stances(1, p): votes of an open proposal|' || pg_temp.median_ms($q$SELECT * FROM enspiral.stances(1, 10000)$q$) || '|' ||
       pg_temp.median_ms($q$SELECT member_id, ballot, reason, cast_at, cast_by FROM enspiral.votes
                            WHERE group_id = 1 AND proposal_id = 10000 AND history_key = 0
                            ORDER BY member_id$q$);
-- the 20 latest closed proposals: outcomes computed (nothing recorded them)
SELECT 'proposals(1, ''closed'', 20): outcomes not recorded|' ||
       pg_temp.median_ms($q$SELECT * FROM enspiral.proposals(1, 'closed', 20)$q$) || '|' ||
       pg_temp.median_ms($q$SELECT * FROM enspiral.proposals
                            WHERE group_id = 1 AND closes_at <= now()
                            ORDER BY closes_at DESC NULLS LAST, proposal_id DESC LIMIT 20$q$);
-- then recorded, as record_due_closings() or a first outcome() does
SELECT count(enspiral.record_outcome(proposal_id)) AS recorded FROM enspiral.proposals(1, 'closed', 20) \gset
SELECT 'proposals(1, ''closed'', 20): outcomes recorded|' ||
       pg_temp.median_ms($q$SELECT * FROM enspiral.proposals(1, 'closed', 20)$q$) || '|' ||
       pg_temp.median_ms($q$SELECT p.*, o.outcome FROM enspiral.proposals p
                             LEFT JOIN enspiral.outcomes o ON o.group_id = p.group_id
                              AND o.proposal_id = p.proposal_id AND o.opening = p.reopen_count
                            WHERE p.group_id = 1 AND p.closes_at <= now()
                            ORDER BY p.closes_at DESC NULLS LAST, p.proposal_id DESC LIMIT 20$q$);
SQL
) || die "app_read benchmark failed"
	echo "$out" | head -1
	case $out in *MISMATCH*) die "proposals() and the hand-written query disagree" ;; esac
	list=$(echo "$out" | sed -n 2p)
	ballot=$(echo "$out" | sed -n 3p)
	echo "RESULT|proposals(): 20 open of 10,000, $n members, median|${list%%|*}|${list##*|}|ms"
	echo "RESULT|ballot(): one member's vote, $n members, median|${ballot%%|*}|${ballot##*|}|ms"
	echo "$out" | sed -n '4,$p' | while IFS='|' read -r label ms base; do
		echo "RESULT|$label, $n members, median|$ms|${base:--}|ms"
	done
}

for n in $SIZES; do
	load "$n"
	measure "$n"
done
[ -n "${APP_READ_KEEP:-}" ] || "$BIN/dropdb" "$DB"
