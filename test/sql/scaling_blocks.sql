-- The statements of test/citus/sql/citus_blocks.sql on a single server:
-- writes in transaction blocks, 0.1.0 forms, two groups in one transaction.
-- The Citus run must give the same results.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\i test/sql/include/scaling_blocks.sql
