-- Two-phase commit and the calls that run on a worker (src/core_citus_prepare.c,
-- doc/scaling.md "Two-phase commit"). A transaction block that writes on two
-- workers is committed by Citus with PREPARE TRANSACTION on each, then COMMIT
-- PREPARED. A statement that runs on a worker and reaches shards on another
-- node opens remote transactions of that worker, which Citus 13.2.2 does not
-- finish at PREPARE (the worker crashed at the COMMIT PREPARED that follows).
-- The group-first calls keep to their group's node, so such a block commits;
-- a statement that still reaches other nodes from a worker makes the PREPARE
-- fail, and the whole transaction rolls back.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
-- the CONTEXT of an error raised on a worker names its port
\set SHOW_CONTEXT never
SELECT enspiral.create_group('Enspiral', '{"min_catalysts": 0}') AS g \gset
SELECT enspiral.create_group('Loomio', '{"min_catalysts": 0}') AS h \gset
-- the two groups are on different workers
SELECT count(DISTINCT nodeport) AS workers FROM pg_dist_shard_placement
 WHERE shardid IN (get_shard_id_for_distribution_column('enspiral.groups', :g),
                   get_shard_id_for_distribution_column('enspiral.groups', :h));
SELECT enspiral.add_member(:g, 'g1') AS g1 \gset
SELECT enspiral.add_member(:h, 'h1') AS h1 \gset
SELECT enspiral.create_round(:g, 'Spring', 300, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_round(:h, 'Spring', 300, now(), now() + interval '7 days') AS rh \gset
SELECT enspiral.create_bucket(:r, :g1, 'Bikes', 0, 1000) AS b \gset
SELECT enspiral.create_bucket(:rh, :h1, 'Cafe', 0, 1000) AS bh \gset

-- group-first calls that run on each group's worker (forwarded) and call a
-- 0.1.0 form there, which looks the round or bucket up by its id: it finds
-- the group the group-first form checked instead of reading every shard
BEGIN;
SELECT enspiral.allocate(:g, :r, NULL, NULL) AS allocated_g;
SELECT enspiral.allocate(:h, :rh, NULL, NULL) AS allocated_h;
SELECT enspiral.open_bucket(:g, :b);
SELECT enspiral.open_bucket(:h, :bh);
SELECT enspiral.contribute(:g, :b, :g1, 40, NULL) > 0 AS contributed_g;
SELECT enspiral.contribute(:h, :bh, :h1, 60, NULL) > 0 AS contributed_h;
COMMIT;
SELECT b.group_id = :g AS in_g, b.state, a.balance FROM enspiral.buckets b
  JOIN enspiral.accounts a ON a.group_id = b.group_id AND a.kind = 'bucket' AND a.owner_id = b.bucket_id
 WHERE b.group_id IN (:g, :h) ORDER BY 1 DESC;

-- a 0.1.0 form by id, run on group g's worker by a query routed there, in a
-- block that also writes on group h's worker: its lookup by id reads every
-- shard from that worker, so the PREPARE there fails and nothing commits
SELECT enspiral.propose(:g, :g1, 'Remote work', 'consent') AS p \gset
BEGIN;
SELECT enspiral.add_member(:h, 'h2') > 0 AS added_h;
SELECT enspiral.add_member(:g, 'g2') > 0 AS added_g;
SELECT enspiral.open_proposal(x.proposal_id, now() + interval '1 day')
  FROM enspiral.proposals x WHERE x.group_id = :g AND x.proposal_id = :p;
COMMIT;
SELECT state FROM enspiral.proposals WHERE group_id = :g AND proposal_id = :p;
SELECT member_key FROM enspiral.members WHERE group_id IN (:g, :h) ORDER BY 1;
-- the same call outside the block (delegated on its own) commits
SELECT enspiral.open_proposal(:g, :p, now() + interval '1 day', NULL);
SELECT state FROM enspiral.proposals WHERE group_id = :g AND proposal_id = :p;

-- the clock's sweep: record_due_closings() closes due proposals and rounds of
-- groups on both workers in one transaction, prepared on each. Each closing
-- runs on its group's node (the group-first record_outcome() and
-- close_round()), and the count there keeps to the group's shards (the
-- proposal noted by its group, the electorate counted by statements keyed by
-- the group); before, the count read every shard from the worker and the
-- PREPARE failed
SELECT enspiral.propose(:g, :g1, 'Bikes', 'consent') AS p2 \gset
SELECT enspiral.propose(:h, :h1, 'Cafe', 'consent') AS q \gset
SELECT enspiral.open_proposal(:g, :p2, now() + interval '1 second', NULL);
SELECT enspiral.open_proposal(:h, :q, now() + interval '1 second', NULL);
SELECT enspiral.vote(:g, :p2, :g1, '"agree"', NULL) IS NOT NULL AS voted_g;
SELECT enspiral.vote(:h, :q, :h1, '"agree"', NULL) IS NOT NULL AS voted_h;
SELECT enspiral.create_round(:g, 'Summer', 300, now(), now() + interval '1 second') AS rs \gset
SELECT enspiral.create_round(:h, 'Summer', 300, now(), now() + interval '1 second') AS rsh \gset
SELECT pg_sleep(1.2);
SELECT enspiral.record_due_closings() AS closed;
SELECT o.group_id = :g AS in_g, o.outcome ->> 'passed' AS passed, o.outcome ->> 'electorate' AS electorate
  FROM enspiral.outcomes o WHERE o.group_id IN (:g, :h) ORDER BY 1 DESC;
SELECT r.group_id = :g AS in_g, r.closed_at IS NOT NULL AS closed
  FROM enspiral.rounds r WHERE r.group_id IN (:g, :h) AND r.name = 'Summer' ORDER BY 1 DESC;
