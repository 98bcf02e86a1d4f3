-- The hot paths' shortcuts (issue 12, "Hot paths"): vote_counts stays equal
-- to the count of current votes when a vote replaces a counted one (the
-- pair is not counted), when a backend's counter row is updated directly,
-- and through retract_vote and remove_voter; the CHECK constraints and
-- partial-index predicates compiled once per backend (src/core_exprcache.c)
-- follow a constraint added or dropped, and a CHECK that calls a function
-- that is not built in is still applied.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Counts') AS g \gset
SELECT array_agg(enspiral.add_member(:g, 'm' || i) ORDER BY i) = ARRAY[1,2,3,4]::bigint[] AS ids_1_to_4
  FROM generate_series(1, 4) i;
SELECT enspiral.grant_role(:g, 1, 'admin') AS granted;
SET enspiral.actor = 1;
SELECT enspiral.propose(:g, 1, 'Paint', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day') AS opened;
RESET enspiral.actor;

-- counted: the sum of the counter rows; current: the votes that count
CREATE VIEW counts AS
SELECT (SELECT coalesce(sum(counted), 0) FROM enspiral.vote_counts WHERE proposal_id = :p) AS counted,
       (SELECT count(*) FROM enspiral.votes WHERE proposal_id = :p AND history_key = 0) AS current;

-- first votes: the first creates this backend's counter row, the next update it
SELECT enspiral.vote(:p, 1, '"agree"') IS NOT NULL AS v1,
       enspiral.vote(:p, 2, '"agree"') IS NOT NULL AS v2;
SELECT * FROM counts;
-- replacing a counted vote: history grows, the count does not
SELECT enspiral.vote(:p, 1, '"disagree"') IS NOT NULL AS v1_again;
SELECT * FROM counts;
SELECT count(*) AS votes_rows FROM enspiral.votes WHERE proposal_id = :p;
-- several changes in one transaction, one of them a first vote
BEGIN;
SELECT enspiral.vote(:p, 2, '"disagree"') IS NOT NULL AS v2_again,
       enspiral.vote(:p, 3, '"agree"') IS NOT NULL AS v3,
       enspiral.vote(:p, 3, '"abstain"') IS NOT NULL AS v3_again;
SELECT * FROM counts;
COMMIT;
SELECT * FROM counts;
-- a rolled-back vote leaves no count
BEGIN;
SELECT enspiral.vote(:p, 4, '"agree"') IS NOT NULL AS v4;
SELECT * FROM counts;
ROLLBACK;
SELECT * FROM counts;
-- retracting and removing end a counted vote
SELECT enspiral.retract_vote(:g, :p, 1) AS retracted;
SELECT * FROM counts;
SELECT enspiral.remove_voter(:g, :p, 2) AS removed;
SELECT * FROM counts;
-- and voting again after a retraction counts again
SELECT enspiral.vote(:p, 1, '"agree"') IS NOT NULL AS v1_back;
SELECT * FROM counts;

------------------------------------------------------------------------------
-- Compiled CHECKs follow the table's constraints
------------------------------------------------------------------------------
-- a CHECK added to events applies to the next vote's event at once
ALTER TABLE enspiral.events ADD CONSTRAINT no_vote_events CHECK (kind <> 'vote_cast') NOT VALID;
\set VERBOSITY terse
SELECT enspiral.vote(:p, 3, '"agree"');
\set VERBOSITY default
ALTER TABLE enspiral.events DROP CONSTRAINT no_vote_events;
SELECT enspiral.vote(:p, 3, '"agree"') IS NOT NULL AS voted_again;
-- a CHECK calling a function that is not built in is applied (not cached)
CREATE FUNCTION public.no_reason_x(r text) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT r IS DISTINCT FROM 'x' $$;
ALTER TABLE enspiral.votes ADD CONSTRAINT reason_not_x CHECK (public.no_reason_x(reason));
\set VERBOSITY terse
SELECT enspiral.vote(:p, 3, '"agree"', 'x');
\set VERBOSITY default
SELECT enspiral.vote(:p, 3, '"agree"', 'y') IS NOT NULL AS voted_with_y;
ALTER TABLE enspiral.votes DROP CONSTRAINT reason_not_x;
SELECT enspiral.vote(:p, 3, '"agree"', 'x') IS NOT NULL AS voted_with_x;
SELECT * FROM counts;
DROP FUNCTION public.no_reason_x(text);
DROP VIEW counts;
