#!/usr/bin/env bash
# How near a plain INSERT any vote() or try_contribute() can come (issue 12,
# "Hot paths"): the same loads and shapes as hotpath_ratio.sh, measured in
# the same run against the same plain INSERT, next to the least plain SQL
# that does what the rules and the event feed make every call do.  Each
# floor is ONE prepared statement (one round trip, like the API call):
#
#   vote floor, rows    the vote row and its event row (a data-modifying CTE)
#   vote floor, reads   the same two rows, written only after the reads
#                       every vote needs: the proposal by its key, the
#                       member's open membership period, the member's
#                       counted vote (three index lookups)
#   try floor           the transfer row and its event row, written only
#                       after the member account is debited (where its
#                       balance covers the amount) and the bucket account
#                       credited: two balance UPDATEs, as a ledger with
#                       balances must make
#
# The floors leave out everything else the API does (locks that serialize
# a member's votes and a proposal's closing, permission checks, the vote
# counter, superseding a re-vote, ballot validation, the bucket's goals):
# they are lower bounds for the work of a call, written in SQL.  The floor
# tables are plain copies (plain_events like enspiral.events with an
# identity key; plain_accounts, a copy of enspiral.accounts with its keys),
# so no guard trigger runs.  A ratio of a floor below 0.75 says that no
# implementation keeping these writes and reads reaches 0.75 of a plain
# INSERT on this machine.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke runs 1 s per load, low shape only; full 40 s
# (4 slices of 10 s) per load and shape; BENCH_SECS overrides;
# HOTPATH_SHAPES=low|high|"low high".
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../hotpath_data.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) SECS=1 MEMBERS=20000 SHAPES=${HOTPATH_SHAPES:-low} ;;
full) SECS=40 MEMBERS=100000 SHAPES=${HOTPATH_SHAPES:-low high} ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
SECS=${BENCH_SECS:-$SECS}
CLIENTS=${BENCH_CLIENTS:-16}
hotpath_setup enspiral_bench_floor
psql_q <<'SQL'
CREATE TABLE plain_events (LIKE enspiral.events INCLUDING DEFAULTS);
ALTER TABLE plain_events ALTER event_id ADD GENERATED ALWAYS AS IDENTITY;
ALTER TABLE plain_events ADD PRIMARY KEY (group_id, event_id);
CREATE TABLE plain_accounts AS SELECT * FROM enspiral.accounts;
ALTER TABLE plain_accounts ADD PRIMARY KEY (group_id, account_id),
    ADD UNIQUE NULLS NOT DISTINCT (group_id, round_id, kind, owner_id);
VACUUM ANALYZE;
SQL
balance_sum=$(psql_q -c "SELECT sum(balance) FROM plain_accounts")

# scripts for a shape: plain_vote_S, vote_S, vote_rows_S, vote_reads_S,
# plain_try_S, try_S, try_floor_S
write_scripts() {
	local s=$1 g m0 m1 b0 b1 c0 c1
	hotpath_shape "$s"
	local vm="\\set m random($m0, $m1)" tm="\\set b random($b0, $b1)
\\set m random($c0, $c1)"
	local event="INSERT INTO plain_events (group_id, kind, member_id, proposal_id) VALUES ($g, 'vote_cast', :m, $g)"
	local vote="INSERT INTO plain_votes (group_id, proposal_id, member_id, ballot, cast_at)"
	printf '%s\n%s VALUES (%s, %s, :m, %s, now());\n' "$vm" "$vote" "$g" "$g" "'\"agree\"'" >"$WORK/plain_vote_$s.sql"
	printf '%s\nSELECT enspiral.vote(%s, :m, %s);\n' "$vm" "$g" "'\"agree\"'" >"$WORK/vote_$s.sql"
	printf '%s\nWITH e AS (%s)\n%s VALUES (%s, %s, :m, %s, now());\n' \
		"$vm" "$event" "$vote" "$g" "$g" "'\"agree\"'" >"$WORK/vote_rows_$s.sql"
	cat >"$WORK/vote_reads_$s.sql" <<SQL
$vm
WITH p AS (SELECT state FROM enspiral.proposals WHERE group_id = $g AND proposal_id = $g), ms AS (SELECT joined_at FROM enspiral.memberships WHERE group_id = $g AND member_id = :m AND left_at IS NULL), cv AS (SELECT vote_id FROM enspiral.votes WHERE group_id = $g AND proposal_id = $g AND member_id = :m AND history_key = 0), e AS ($event) $vote SELECT $g, $g, :m, '"agree"', now() FROM p, ms LEFT JOIN cv ON true;
SQL
	printf '%s\nINSERT INTO plain_transfers (group_id, round_id, kind, from_account, to_account, amount) VALUES (%s, %s, %s, :m, :b, 1);\n' \
		"$tm" "$g" "$g" "'contribute'" >"$WORK/plain_try_$s.sql"
	printf '%s\nSELECT enspiral.try_contribute(:b, :m, 1);\n' "$tm" >"$WORK/try_$s.sql"
	cat >"$WORK/try_floor_$s.sql" <<SQL
$tm
WITH a AS (UPDATE plain_accounts SET balance = balance - 1 WHERE group_id = $g AND round_id = $g AND kind = 'member' AND owner_id = :m AND balance >= 1 RETURNING account_id), b AS (UPDATE plain_accounts SET balance = balance + 1 WHERE group_id = $g AND round_id = $g AND kind = 'bucket' AND owner_id = :b RETURNING account_id), e AS (INSERT INTO plain_events (group_id, kind, member_id, round_id, bucket_id, payload) VALUES ($g, 'contribution', :m, $g, :b, '{"amount": 1}')) INSERT INTO plain_transfers (group_id, round_id, kind, from_account, to_account, amount) SELECT $g, $g, 'contribute', a.account_id, b.account_id, 1 FROM a, b;
SQL
}


LOADS="plain_vote vote vote_rows vote_reads plain_try try try_floor"
SLICES=$((SECS >= 10 ? SECS / 10 : 1))
SLICE=$((SECS / SLICES))
declare -A n
for s in $SHAPES; do
	write_scripts "$s"
	for k in $LOADS; do n[${k}_$s]=0; done
done
for ((i = 0; i < SLICES; i++)); do
	for s in $SHAPES; do
		for k in $LOADS; do
			n[${k}_$s]=$((n[${k}_$s] + $(hotpath_pgbench "$WORK/${k}_$s.sql" "$SLICE")))
		done
	done
done

# every floor call wrote what it stands for: its row and its event, and
# the plain balances moved without changing their sum
want_votes=0 want_vote_events=0 want_transfers=0 want_try_events=0
for s in $SHAPES; do
	want_votes=$((want_votes + n[plain_vote_$s] + n[vote_rows_$s] + n[vote_reads_$s]))
	want_vote_events=$((want_vote_events + n[vote_rows_$s] + n[vote_reads_$s]))
	want_transfers=$((want_transfers + n[plain_try_$s] + n[try_floor_$s]))
	want_try_events=$((want_try_events + n[try_floor_$s]))
done
got=$(psql_q -c "SELECT (SELECT count(*) FROM plain_votes) || ' ' ||
                        (SELECT count(*) FROM plain_events WHERE kind = 'vote_cast') || ' ' ||
                        (SELECT count(*) FROM plain_transfers) || ' ' ||
                        (SELECT count(*) FROM plain_events WHERE kind = 'contribution') || ' ' ||
                        ((SELECT sum(balance) FROM plain_accounts) = $balance_sum)")
[ "$got" = "$want_votes $want_vote_events $want_transfers $want_try_events true" ] ||
	die "the floors wrote '$got' (votes, vote events, transfers, contribution events, sum kept); expected '$want_votes $want_vote_events $want_transfers $want_try_events true'"
secs=$((SLICES * SLICE))
for s in $SHAPES; do
	for k in $LOADS; do n[${k}_$s]=$((n[${k}_$s] / secs)); done
	echo "RESULT|hotpath floor $s: vote, $CLIENTS clients (vs plain INSERT of a vote row)|${n[vote_$s]}|${n[plain_vote_$s]}|tps"
	echo "RESULT|hotpath floor $s: vote row + event row, one statement (vs plain INSERT of a vote row)|${n[vote_rows_$s]}|${n[plain_vote_$s]}|tps"
	echo "RESULT|hotpath floor $s: proposal, membership and counted-vote reads + vote row + event row (vs plain INSERT of a vote row)|${n[vote_reads_$s]}|${n[plain_vote_$s]}|tps"
	echo "RESULT|hotpath floor $s: try_contribute, $CLIENTS clients (vs plain INSERT of a transfer row)|${n[try_$s]}|${n[plain_try_$s]}|tps"
	echo "RESULT|hotpath floor $s: two balance UPDATEs + transfer row + event row (vs plain INSERT of a transfer row)|${n[try_floor_$s]}|${n[plain_try_$s]}|tps"
done
"$BIN/dropdb" "$DB"
