#!/usr/bin/env bash
# Vote casting: enspiral.vote() (lock, eligibility, ballot check in C,
# supersede the member's earlier vote, insert) versus a plain INSERT of the
# same row into a table of the same columns with only a primary key, 8
# pgbench clients each, in the same run (alternating 10 s slices).
# Members (1,000,000 in full mode, 100,000 in smoke) vote on one consent
# proposal at random; a vote by a member who already voted supersedes the
# earlier one (an UPDATE more); the share of such votes is printed.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke runs 2 s per phase, full 60 s.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) SECS=2 MEMBERS=100000 ;;
full) SECS=60 MEMBERS=1000000 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
CLIENTS=8
DB=enspiral_bench_decisions_vote
BIN=$(pg_bindir)
WORK=$(mktemp -d /tmp/enspiral-bench-vote.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "decisions_vote: $MEMBERS members, one open consent proposal"
psql_q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('bench');
-- bulk load of members (the same rows add_member writes)
INSERT INTO enspiral.members (group_id, member_key, created_at)
SELECT 1, 'm' || i, now() - interval '1 hour' FROM generate_series(1, $MEMBERS) i;
INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
SELECT 1, member_id, 1, now() - interval '1 hour' FROM enspiral.members;
ANALYZE;
SELECT enspiral.propose(1, 1, 'bench', 'consent');
SELECT enspiral.open_proposal(1, now() + interval '1 day');
CREATE TABLE bench_plain (LIKE enspiral.votes INCLUDING DEFAULTS);
ALTER TABLE bench_plain ALTER vote_id ADD GENERATED ALWAYS AS IDENTITY,
    ADD PRIMARY KEY (group_id, proposal_id, vote_id);
SQL

cat >"$WORK/governed.sql" <<EOF2
\set m random(1, $MEMBERS)
SELECT enspiral.vote(1, :m, '"agree"');
EOF2
cat >"$WORK/plain.sql" <<EOF2
\set m random(1, $MEMBERS)
INSERT INTO bench_plain (group_id, proposal_id, member_id, ballot, cast_at) VALUES (1, 1, :m, '"agree"', now());
EOF2

# run_pgbench FILE SECS: prints the number of transactions processed
run_pgbench() {
	"$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$2" -f "$1" "$DB" >"$WORK/out" 2>&1 ||
		{ cat "$WORK/out" >&2; die "pgbench failed on $(basename "$1")"; }
	sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/out"
}

# The machine may be shared: the two loads alternate in slices so that both
# see the same background load; each gets $SECS seconds in all.
SLICES=$((SECS >= 10 ? SECS / 10 : 1))
SLICE=$((SECS / SLICES))
plain_n=0
governed_n=0
for ((i = 0; i < SLICES; i++)); do
	plain_n=$((plain_n + $(run_pgbench "$WORK/plain.sql" "$SLICE")))
	governed_n=$((governed_n + $(run_pgbench "$WORK/governed.sql" "$SLICE")))
done
plain=$((plain_n / (SLICES * SLICE)))
governed=$((governed_n / (SLICES * SLICE)))

# the governed run must have left exactly one counted vote per voter
psql_q <<'SQL'
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM enspiral.votes WHERE superseded_at IS NULL
                GROUP BY member_id HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'more than one counted vote for a member';
    END IF;
    IF (SELECT (enspiral.tally(1) ->> 'voted')::bigint)
       <> (SELECT count(DISTINCT member_id) FROM enspiral.votes) THEN
        RAISE EXCEPTION 'tally does not match the voters';
    END IF;
END $$;
SQL
psql_q -c "SELECT 'votes cast: ' || count(*) || ', counted: ' || count(*) FILTER (WHERE superseded_at IS NULL) || ', superseding: ' || round(100.0 * count(*) FILTER (WHERE superseded_at IS NOT NULL) / greatest(count(*), 1)) || '%' FROM enspiral.votes"
echo "ratio governed/plain: $(awk -v g="$governed" -v p="$plain" 'BEGIN { printf "%.2f", g / p }')"
echo "RESULT|vote casting, $CLIENTS clients|$governed|$plain|tps"
"$BIN/dropdb" "$DB"
