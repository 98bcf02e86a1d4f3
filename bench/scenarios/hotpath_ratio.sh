#!/usr/bin/env bash
# The hot paths against a plain INSERT (issue 12, "Hot paths"): vote() and
# try_contribute() next to a plain INSERT of a row of the same shape (a
# table with the columns and defaults of enspiral.votes, resp.
# enspiral.transfers, and only a primary key), 16 pgbench clients, the
# loads alternating in slices so that all see the same background load,
# with events and permission checks on (the group enforces permissions),
# in two shapes:
#
#   low   the shape of decisions_vote and cobudget_load: MEMBERS members
#         vote at random on one consent proposal (few re-votes), and 1,000
#         members give 1 to 1,000 open buckets (little lock contention);
#   high  1,000 members, 100 buckets, one proposal: nearly every vote
#         replaces the member's earlier one (a superseding UPDATE each
#         time) and every bucket and member account is given to again and
#         again by 16 clients (row-lock contention on buckets and accounts).
#
# Balances are large enough that no contribution is refused: every call
# measured writes.  Afterwards verify_ledger() must return no rows, every
# voter must have exactly one counted vote, and every vote and
# contribution must have its event.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke runs 2 s per load and shape, full 40 s
# (4 slices of 10 s); BENCH_SECS overrides; HOTPATH_SHAPES=low|high|"low high".
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../hotpath_data.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) SECS=2 MEMBERS=20000 ;;
full) SECS=40 MEMBERS=100000 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
SECS=${BENCH_SECS:-$SECS}
CLIENTS=${BENCH_CLIENTS:-16}
SHAPES=${HOTPATH_SHAPES:-low high}
hotpath_setup enspiral_bench_hotpath

# scripts for a shape: vote_S, try_S, plain_vote_S, plain_try_S
write_scripts() {
	local s=$1 g m0 m1 b0 b1 c0 c1
	hotpath_shape "$s"
	printf '\\set m random(%s, %s)\nSELECT enspiral.vote(%s, :m, %s);\n' \
		"$m0" "$m1" "$g" "'\"agree\"'" >"$WORK/vote_$s.sql"
	printf '\\set b random(%s, %s)\n\\set m random(%s, %s)\nSELECT enspiral.try_contribute(:b, :m, 1);\n' \
		"$b0" "$b1" "$c0" "$c1" >"$WORK/try_$s.sql"
	printf '\\set m random(%s, %s)\nINSERT INTO plain_votes (group_id, proposal_id, member_id, ballot, cast_at) VALUES (%s, %s, :m, %s, now());\n' \
		"$m0" "$m1" "$g" "$g" "'\"agree\"'" >"$WORK/plain_vote_$s.sql"
	printf '\\set b random(%s, %s)\n\\set m random(%s, %s)\nINSERT INTO plain_transfers (group_id, round_id, kind, from_account, to_account, amount) VALUES (%s, %s, %s, :m, :b, 1);\n' \
		"$b0" "$b1" "$c0" "$c1" "$g" "$g" "'contribute'" >"$WORK/plain_try_$s.sql"
}


SLICES=$((SECS >= 10 ? SECS / 10 : 1))
SLICE=$((SECS / SLICES))
declare -A n
for s in $SHAPES; do
	write_scripts "$s"
	for k in plain_vote vote plain_try try; do n[${k}_$s]=0; done
done
for ((i = 0; i < SLICES; i++)); do
	for s in $SHAPES; do
		for k in plain_vote vote plain_try try; do
			n[${k}_$s]=$((n[${k}_$s] + $(hotpath_pgbench "$WORK/${k}_$s.sql" "$SLICE")))
		done
	done
done

# the rules held: one counted vote per voter, a balanced ledger, every
# vote and contribution with its event
psql_q <<'SQL'
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM enspiral.votes WHERE superseded_at IS NULL
                GROUP BY group_id, proposal_id, member_id HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'a member has two counted votes';
    END IF;
    IF EXISTS (SELECT 1 FROM enspiral.verify_ledger(1)) OR EXISTS (SELECT 1 FROM enspiral.verify_ledger(2)) THEN
        RAISE EXCEPTION 'verify_ledger found problems';
    END IF;
    IF (SELECT count(*) FROM enspiral.events WHERE kind = 'vote_cast')
       <> (SELECT count(*) FROM enspiral.votes) THEN
        RAISE EXCEPTION 'vote events do not match the votes';
    END IF;
    IF (SELECT count(*) FROM enspiral.events WHERE kind = 'contribution')
       <> (SELECT count(*) FROM enspiral.transfers WHERE kind = 'contribute') THEN
        RAISE EXCEPTION 'contribution events do not match the contributions';
    END IF;
END $$;
SQL
secs=$((SLICES * SLICE))
for s in $SHAPES; do
	for k in plain_vote vote plain_try try; do n[${k}_$s]=$((n[${k}_$s] / secs)); done
	superseded=$(psql_q -c "SELECT round(100.0 * count(*) FILTER (WHERE superseded_at IS NOT NULL) / greatest(count(*), 1)) FROM enspiral.votes WHERE group_id = $([ "$s" = low ] && echo 1 || echo 2)")
	echo "$s: $superseded% of votes were superseded by a later one"
	echo "RESULT|hotpath $s contention: vote, $CLIENTS clients, events on (vs plain INSERT of a vote row)|${n[vote_$s]}|${n[plain_vote_$s]}|tps"
	echo "RESULT|hotpath $s contention: try_contribute, $CLIENTS clients, events on (vs plain INSERT of a transfer row)|${n[try_$s]}|${n[plain_try_$s]}|tps"
done
"$BIN/dropdb" "$DB"
