-- The read API on Citus: each read function on its own (delegated to the
-- group's node) and in a transaction block (run on the coordinator).  The
-- statements are those of test/sql/scaling_read.sql, and so are the
-- results: the same as on a single server.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\i test/sql/include/scaling_read.sql
