-- The statements of test/citus/sql/citus_read.sql on a single server: the
-- read API.  The Citus run must give the same results.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\i test/sql/include/scaling_read.sql
