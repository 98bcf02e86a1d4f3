#!/usr/bin/env bash
# The data of the hot-path benchmarks (bench/scenarios/hotpath_ratio.sh,
# bench/scenarios/hotpath_floor.sh, bench/hotpath_instructions.sh), sourced
# by all three, and what the two pgbench scenarios share.
#
# hotpath_data MEMBERS: print the SQL that makes it.  Group 1, the
# low-contention shape: MEMBERS members, proposal 1, round 1, buckets
# 1..1000 (1,000 members with an account); group 2, the high-contention
# one: members MEMBERS+1 .. MEMBERS+1000, proposal 2, round 2, buckets
# 1001..1100.  Both groups enforce permissions; plain_votes and
# plain_transfers are the baselines (the columns and defaults of votes,
# resp. transfers, and only a primary key).
hotpath_data() {
	local m=$1
	cat <<SQL
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('low'), enspiral.create_group('high');
INSERT INTO enspiral.members (group_id, member_key, created_at)
SELECT 1, 'm' || i, now() - interval '1 hour' FROM generate_series(1, $m) i;
INSERT INTO enspiral.members (group_id, member_key, created_at)
SELECT 2, 'h' || i, now() - interval '1 hour' FROM generate_series(1, 1000) i;
INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
SELECT group_id, member_id, 1, now() - interval '1 hour' FROM enspiral.members;
SELECT enspiral.grant_role(1, 1, 'admin'), enspiral.grant_role(2, $m + 1, 'admin');
SELECT set_config('enspiral.actor', '1', false);
SELECT enspiral.propose(1, 1, 'low', 'consent');
SELECT enspiral.open_proposal(1, now() + interval '1 day');
SELECT enspiral.create_round(1, 'low', 1000 * 1000000, now() - interval '1 hour', now() + interval '1 day');
SELECT enspiral.allocate(1, array_agg(i::bigint ORDER BY i), array_fill(1::numeric, ARRAY[1000]))
  FROM generate_series(1, 1000) i;
SELECT count(enspiral.create_bucket(1, 1 + i % 1000, 'b' || i, 10, 1000000000)) FROM generate_series(1, 1000) i;
SELECT count(enspiral.open_bucket(i)) FROM generate_series(1, 1000) i;
SELECT set_config('enspiral.actor', '$((m + 1))', false);
SELECT enspiral.propose(2, $m + 1, 'high', 'consent');
SELECT enspiral.open_proposal(2, now() + interval '1 day');
SELECT enspiral.create_round(2, 'high', 1000 * 1000000, now() - interval '1 hour', now() + interval '1 day');
SELECT enspiral.allocate(2, array_agg(m ORDER BY m), array_fill(1::numeric, ARRAY[1000]))
  FROM generate_series($m + 1, $m + 1000) m;
SELECT count(enspiral.create_bucket(2, $m + i, 'h' || i, 10, 1000000000)) FROM generate_series(1, 100) i;
SELECT count(enspiral.open_bucket(i)) FROM generate_series(1001, 1100) i;
CREATE TABLE plain_votes (LIKE enspiral.votes INCLUDING DEFAULTS);
ALTER TABLE plain_votes ALTER vote_id ADD GENERATED ALWAYS AS IDENTITY,
    ADD PRIMARY KEY (group_id, proposal_id, vote_id);
CREATE TABLE plain_transfers (LIKE enspiral.transfers INCLUDING DEFAULTS);
ALTER TABLE plain_transfers ALTER transfer_id ADD GENERATED ALWAYS AS IDENTITY,
    ADD PRIMARY KEY (group_id, transfer_id);
VACUUM ANALYZE;
SQL
}

# The pgbench scenarios (hotpath_ratio.sh, hotpath_floor.sh) below.
psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# hotpath_setup NAME: a fresh database NAME holding the data of MEMBERS
# members; sets DB, BIN and WORK (a scratch folder removed on exit)
hotpath_setup() {
	DB=$1
	BIN=$(pg_bindir)
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	"$BIN/dropdb" --if-exists "$DB"
	"$BIN/createdb" "$DB"
	# group 1: the low-contention shape (proposal 1, round 1, buckets 1..1000);
	# group 2: the high-contention one (proposal 2, round 2, buckets 1001..1100)
	say "$1: $MEMBERS + 1,000 members, two proposals, 1,000 + 100 buckets"
	hotpath_data "$MEMBERS" | psql_q >/dev/null
}

# hotpath_pgbench FILE SECS: CLIENTS clients run FILE for SECS seconds;
# prints the number of transactions processed (a failed client fails it)
hotpath_pgbench() {
	"$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$2" -f "$1" "$DB" >"$WORK/out" 2>&1 ||
		{ cat "$WORK/out" >&2; die "pgbench failed on $(basename "$1")"; }
	if grep -qiE 'deadlock|aborted' "$WORK/out"; then
		cat "$WORK/out" >&2
		die "a client failed on $(basename "$1")"
	fi
	sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/out"
}

# hotpath_shape low|high: the ids of a shape, set in the caller's scope
# (declare them local there): g its group, proposal and round; members
# m0..m1; buckets b0..b1; contributors (the 1,000 members with an account
# in the round) c0..c1
hotpath_shape() {
	if [ "$1" = low ]; then
		g=1 m0=1 m1=$MEMBERS b0=1 b1=1000
	else
		g=2 m0=$((MEMBERS + 1)) m1=$((MEMBERS + 1000)) b0=1001 b1=1100
	fi
	c0=$m0 c1=$((m0 + 999))
}
