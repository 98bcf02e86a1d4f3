-- Scale-out (doc/scaling.md) on a single server: nothing is distributed
-- and enspiral.distribute() refuses to run without Citus.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

\set VERBOSITY default
SELECT * FROM enspiral.distribute();
\set VERBOSITY terse
-- the order distribute() follows: groups first, every table after the
-- tables its foreign keys reference
SELECT table_name, depth FROM enspiral.distribution_order() WHERE depth = 0 LIMIT 1;
SELECT count(*) AS referenced_later
  FROM pg_constraint f
  JOIN enspiral.distribution_order() a ON a.table_name = f.conrelid
  JOIN enspiral.distribution_order() b ON b.table_name = f.confrelid
 WHERE f.contype = 'f' AND f.conrelid <> f.confrelid AND b.depth >= a.depth;
SELECT count(*) = (SELECT count(*) FROM pg_class c JOIN pg_depend d ON d.objid = c.oid
                    AND d.classid = 'pg_class'::regclass AND d.deptype = 'e'
                    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'enspiral')
                    WHERE c.relkind = 'r') AS every_table
  FROM enspiral.distribution_order();
-- no table is a shard of another here
SELECT enspiral.is_shard_of('enspiral.votes'::regclass, 'enspiral.votes');
SELECT enspiral.is_shard_of('enspiral.proposals'::regclass, 'enspiral.votes');
-- ids are unique through their sequences; lookups by id use a plain index
SELECT indexrelid::regclass, indisunique FROM pg_index
 WHERE indexrelid::regclass::text IN ('enspiral.members_member_id_idx', 'enspiral.proposals_proposal_id_idx',
       'enspiral.rounds_round_id_idx', 'enspiral.buckets_bucket_id_idx', 'enspiral.catalyst_terms_term_id_idx')
 ORDER BY indexrelid::text;
