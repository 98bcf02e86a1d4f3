-- Which nodes the coordinator asks to check the commit-time rules before
-- Citus commits (src/core_commit_rules.c; doc/scaling.md, "What the client
-- sees when a rule refuses"), and a client's SET CONSTRAINTS sent to the
-- nodes.  Citus's log of the commands it sends, filtered to enspiral's two
-- functions, shows each query and the shard it reaches:
--   - a transaction that wrote only through forwarded calls asks the
--     shards of those calls' groups, once per shard;
--   - a transaction that ran a statement that writes on the coordinator
--     asks every shard on another node;
--   - a transaction that wrote nothing asks nothing;
--   - SET CONSTRAINTS ... IMMEDIATE or DEFERRED reaches every shard on
--     another node right away.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\set VERBOSITY terse
SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha \gset
SELECT enspiral.add_member(:h, 'cy') AS cy \gset
SELECT enspiral.propose(:g, :aroha, 'Remote work', 'consent') AS p \gset
SELECT enspiral.open_proposal(:g, :p, now() + interval '3 days', NULL);
-- the two groups are on different workers
SELECT count(DISTINCT nodeport) AS workers FROM pg_dist_shard_placement
 WHERE shardid IN (get_shard_id_for_distribution_column('enspiral.groups', :g),
                   get_shard_id_for_distribution_column('enspiral.groups', :h));
SET citus.log_remote_commands = on;
SET citus.grep_remote_commands = '%enspiral.%\_commit\_rules%';
-- a vote in a block is forwarded to the group's node: only that shard checks
BEGIN;
SELECT enspiral.vote(:g, :p, :aroha, '"agree"', NULL) > 0 AS voted;
COMMIT;
-- the 0.1.0 form, twice: the group's shard is asked once
BEGIN;
SELECT enspiral.vote(:p, :aroha, '"abstain"') > 0 AS voted;
SELECT enspiral.vote(:p, :aroha, '"agree"') > 0 AS voted;
COMMIT;
-- a block that only reads asks no node
BEGIN;
SELECT enspiral.proposal_state(:p);
SELECT count(*) AS members FROM enspiral.members(:h);
COMMIT;
-- a statement that writes, run on the coordinator: its rows may be on any
-- node, so every shard on another node checks
BEGIN;
SELECT enspiral.vote(:g, :p, :aroha, '"disagree"', NULL) > 0 AS voted;
DELETE FROM enspiral.outcomes WHERE group_id = :h AND proposal_id = 0;
COMMIT;
-- a client's SET CONSTRAINTS reaches every shard on another node
BEGIN;
SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
ROLLBACK;
-- a constraint that is not enspiral's is not sent
BEGIN;
CREATE TEMPORARY TABLE t (a int UNIQUE DEFERRABLE);
SET CONSTRAINTS t_a_key IMMEDIATE;
ROLLBACK;
RESET citus.grep_remote_commands;
RESET citus.log_remote_commands;
