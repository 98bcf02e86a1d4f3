-- Calls that Citus does not delegate (doc/scaling.md, "Transaction blocks
-- and calls that are not delegated"): group-first writes inside BEGIN ...
-- COMMIT, the 0.1.0 forms that name no group, and transactions that write
-- groups on both workers (two-phase commit, with events that NOTIFY).  The
-- statements are those of test/sql/scaling_blocks.sql, and so are the
-- results: the same as on a single server.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\i test/sql/include/scaling_blocks.sql
-- the two groups are on different workers: the blocks above that wrote both
-- were committed with two-phase commit
SELECT count(DISTINCT nodeport) AS workers FROM pg_dist_shard_placement
 WHERE shardid IN (get_shard_id_for_distribution_column('enspiral.groups', :g),
                   get_shard_id_for_distribution_column('enspiral.groups', :h));
