-- The electorate is frozen at the opening (doc/limits-and-cancel.md,
-- Electorate): members who leave stay in it, so leaving never makes a
-- quorum easier.  Anonymous ballots of leavers keep counting; named votes
-- of leavers stop counting.  verify_outcome recomputes the same.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

SELECT enspiral.create_group('ten') AS g \gset
SELECT count(enspiral.add_member(:g, 'm' || i)) AS members FROM generate_series(1, 10) i;
SELECT enspiral.propose(:g, 1, 'secret', 'consent', NULL, '{"anonymous": true, "quorum_pct": 60}') AS a \gset
SELECT enspiral.propose(:g, 1, 'named', 'consent', NULL, '{"quorum_pct": 60}') AS n \gset
SELECT enspiral.open_proposal(:a, now() + interval '1 day');
SELECT enspiral.open_proposal(:n, now() + interval '1 day');

-- anonymous: 4 of 10 vote and leave; their ballots count, the electorate stays 10
SELECT count(*) AS anonymous_votes FROM generate_series(1, 4) m, LATERAL (SELECT enspiral.vote(:a, m, '"agree"')) v;
-- named: 6 of 10 vote, then 4 of them leave (their votes stop counting)
SELECT count(enspiral.vote(:n, m, '"agree"')) AS named_votes FROM generate_series(1, 6) m;
SELECT count(*) AS left FROM generate_series(1, 4) m, LATERAL (SELECT enspiral.remove_member(:g, m)) r;

SELECT o -> 'electorate' AS electorate, o -> 'voted' AS voted, o -> 'quorum_met' AS quorum_met
  FROM enspiral.outcome(:a) o;
SELECT o -> 'electorate' AS electorate, o -> 'voted' AS voted, o -> 'quorum_met' AS quorum_met
  FROM enspiral.outcome(:n) o;

-- a member added to a named electorate stays in it after leaving too
SELECT enspiral.add_member(:g, 'late') AS late \gset
SELECT enspiral.add_voter(:n, :late);
SELECT (enspiral.outcome(:n) -> 'electorate')::int AS with_addition;
SELECT enspiral.remove_member(:g, :late);
SELECT (enspiral.outcome(:n) -> 'electorate')::int AS after_the_addition_left;

-- closed: the recorded outcome keeps the frozen electorate and verifies
SELECT enspiral.close_proposal(:a);
SELECT enspiral.close_proposal(:n);
SELECT o -> 'electorate' AS electorate, o -> 'voted' AS voted, o -> 'quorum_met' AS quorum_met,
       o -> 'passed' AS passed
  FROM (VALUES (enspiral.outcome(:a)), (enspiral.outcome(:n))) v(o);
SELECT matches FROM enspiral.verify_outcome(:a);
SELECT matches FROM enspiral.verify_outcome(:n);
