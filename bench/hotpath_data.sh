#!/usr/bin/env bash
# The data of the hot-path benchmarks (bench/scenarios/hotpath_ratio.sh,
# bench/hotpath_instructions.sh), sourced by both.
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
