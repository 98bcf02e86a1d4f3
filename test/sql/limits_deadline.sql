-- Deadlines of writes are checked against the clock at the moment of the
-- write (doc/limits-and-cancel.md, Deadlines): a long statement that began
-- before a deadline (here a DO block that sleeps past it) cannot vote,
-- contribute or open a bucket after it.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

SELECT enspiral.create_group('deadlines') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.propose(:g, :ana, 'named', 'consent') AS p \gset
SELECT enspiral.propose(:g, :ana, 'secret', 'consent', NULL, '{"anonymous": true}') AS q \gset

-- a vote written before the deadline, inside the same long statement, counts
DO $$
BEGIN
    PERFORM enspiral.open_proposal(1, clock_timestamp() + interval '0.5 s');
    PERFORM enspiral.vote(1, 1, '"agree"');
END $$;
SELECT count(*) AS counted FROM enspiral.votes WHERE proposal_id = :p AND superseded_at IS NULL;

-- a vote written after the deadline by a statement that began before it: refused
DO $$
BEGIN
    PERFORM pg_sleep(0.6);
    PERFORM enspiral.vote(1, 2, '"agree"');
END $$;
-- the same for an anonymous proposal
DO $$
BEGIN
    PERFORM enspiral.open_proposal(2, clock_timestamp() + interval '0.3 s');
    PERFORM pg_sleep(0.4);
    PERFORM enspiral.vote(2, 2, '"agree"');
END $$;
SELECT enspiral.outcome(:p) -> 'voted' AS voted, enspiral.outcome(:q) -> 'voted' AS voted_anonymous;

-- contributions: the round window ends for a write at its closes_at
SELECT enspiral.create_round(:g, 'r', 100, now() - interval '1 hour', clock_timestamp() + interval '3 s') AS r \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'b', 1, 100) AS b \gset
SELECT enspiral.open_bucket(:b);
SELECT enspiral.contribute(:b, :ana, 10) IS NOT NULL AS contributed_in_time;
\set VERBOSITY terse
DO $$
BEGIN
    PERFORM pg_sleep(3.1);
    PERFORM enspiral.contribute(1, 1, 10);
END $$;
SELECT enspiral.try_contribute(:b, :ana, 10) IS NULL AS refused;
\set VERBOSITY default
SELECT enspiral.bucket_total(:b) AS total;
