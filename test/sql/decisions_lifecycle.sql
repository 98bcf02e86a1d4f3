-- The proposal state machine: every transition (allowed and refused), through
-- the API and through direct writes of enspiral.proposals; time as part of
-- the state; frozen fields; the electorate.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

SELECT enspiral.create_group('Loomio') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset

-- propose: drafts only, by current members
SELECT enspiral.propose(:g, :ana, 'Adopt the new policy', 'consent') AS p1 \gset
SELECT enspiral.proposal_state(:p1);
SELECT enspiral.propose(:g, 999, 'x', 'consent');
SELECT enspiral.propose(999, :ana, 'x', 'consent');
SELECT enspiral.propose(:g, :ana, ' ', 'consent');
SELECT enspiral.propose(:g, :ana, 'x', 'poll');
SELECT enspiral.proposal_state(999);
-- voting on a draft
SELECT enspiral.vote(:p1, :ana, '"agree"');
-- draft -> closed and draft -> open via reopen are refused
SELECT enspiral.close_proposal(:p1);
SELECT enspiral.reopen_proposal(:p1, now() + interval '1 day');
-- drafts can be edited and deleted
UPDATE enspiral.proposals SET settings = enspiral.normalize_proposal_settings('consent', NULL, '{"quorum_pct": 50}')
 WHERE proposal_id = :p1;
\set VERBOSITY terse
UPDATE enspiral.proposals SET settings = '{"quorum_pct": 50}' WHERE proposal_id = :p1;
\set VERBOSITY default

-- draft -> scheduled -> draft -> scheduled -> open (by time)
SELECT enspiral.open_proposal(:p1, now() + interval '1 day', now() + interval '1 hour');
SELECT enspiral.proposal_state(:p1);
SELECT enspiral.vote(:p1, :ana, '"agree"');
-- frozen once scheduled
UPDATE enspiral.proposals SET options = '{x,y}' WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET settings = settings || '{"quorum_pct": 10}' WHERE proposal_id = :p1;
SELECT enspiral.close_proposal(:p1);
SELECT enspiral.unschedule_proposal(:p1);
SELECT enspiral.proposal_state(:p1);
SELECT enspiral.open_proposal(:p1, now() + interval '1 day', now() - interval '1 hour');
SELECT enspiral.proposal_state(:p1), opens_at BETWEEN now() - interval '1 minute' AND now() AS opened_now
  FROM enspiral.proposals WHERE proposal_id = :p1;
-- open: frozen fields, refused moves
UPDATE enspiral.proposals SET method = 'choice' WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET opens_at = now() WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET author_id = :ben WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET reopen_count = 3 WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET closes_at = now() - interval '1 minute' WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET closes_at = opens_at + interval '1 microsecond' WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET state = 'draft' WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET state = 'scheduled' WHERE proposal_id = :p1;
SELECT enspiral.unschedule_proposal(:p1);
SELECT enspiral.open_proposal(:p1, now() + interval '2 days');
SELECT enspiral.reopen_proposal(:p1, now() + interval '2 days');
DELETE FROM enspiral.proposals WHERE proposal_id = :p1;
-- the title and the deadline may still change
UPDATE enspiral.proposals SET title = 'Adopt the policy', closes_at = closes_at + interval '1 day'
 WHERE proposal_id = :p1;
SELECT enspiral.vote(:p1, :ana, '"agree"') AS v1;
-- open -> closed
SELECT enspiral.close_proposal(:p1);
SELECT enspiral.proposal_state(:p1), closes_at BETWEEN now() - interval '1 minute' AND now() AS closed_now
  FROM enspiral.proposals WHERE proposal_id = :p1;
SELECT enspiral.vote(:p1, :ben, '"agree"');
-- closing again is harmless; every other move from closed is refused
SELECT enspiral.close_proposal(:p1);
SELECT enspiral.withdraw_proposal(:p1);
UPDATE enspiral.proposals SET state = 'draft' WHERE proposal_id = :p1;
UPDATE enspiral.proposals SET closes_at = now() + interval '1 day' WHERE proposal_id = :p1;
SELECT enspiral.reopen_proposal(:p1, now() - interval '1 day');
-- closed -> open (reopen), then closed again: one outcome per opening
SELECT enspiral.reopen_proposal(:p1, now() + interval '1 day');
SELECT enspiral.proposal_state(:p1), reopen_count FROM enspiral.proposals WHERE proposal_id = :p1;
SELECT enspiral.vote(:p1, :ben, '"disagree"') AS v2 \gset
SELECT enspiral.close_proposal(:p1);
SELECT opening, outcome -> 'totals' AS totals FROM enspiral.outcomes WHERE proposal_id = :p1 ORDER BY opening;
-- recorded outcomes never change
UPDATE enspiral.outcomes SET outcome = '{}' WHERE proposal_id = :p1;
DELETE FROM enspiral.outcomes WHERE proposal_id = :p1;

-- withdrawn from draft, scheduled and open; withdrawn is final
SELECT enspiral.propose(:g, :ana, 'A', 'consent') AS pa \gset
SELECT enspiral.withdraw_proposal(:pa);
SELECT enspiral.propose(:g, :ana, 'B', 'consent') AS pb \gset
SELECT enspiral.open_proposal(:pb, now() + interval '2 days', now() + interval '1 day');
SELECT enspiral.withdraw_proposal(:pb);
SELECT enspiral.propose(:g, :ana, 'C', 'consent') AS pc \gset
SELECT enspiral.open_proposal(:pc, now() + interval '2 days');
SELECT enspiral.withdraw_proposal(:pc);
SELECT enspiral.proposal_state(x) FROM unnest(ARRAY[:pa, :pb, :pc]::bigint[]) x;
SELECT enspiral.open_proposal(:pa, now() + interval '1 day');
SELECT enspiral.close_proposal(:pc);
SELECT enspiral.reopen_proposal(:pc, now() + interval '1 day');
UPDATE enspiral.proposals SET state = 'draft' WHERE proposal_id = :pc;
SELECT enspiral.vote(:pc, :ana, '"agree"');

-- direct inserts are drafts
INSERT INTO enspiral.proposals (group_id, author_id, title, method, settings, state, opens_at, closes_at)
VALUES (:g, :ana, 'sneaky', 'consent', enspiral.normalize_proposal_settings('consent', NULL, '{}'),
        'open', now(), now() + interval '1 day');
-- bad dates
SELECT enspiral.propose(:g, :ana, 'D', 'consent') AS pd \gset
SELECT enspiral.open_proposal(:pd, now() - interval '1 day');
SELECT enspiral.open_proposal(:pd, NULL);
SELECT enspiral.open_proposal(:pd, now() + interval '1 day', now() + interval '2 days');
UPDATE enspiral.proposals SET state = 'open' WHERE proposal_id = :pd;
UPDATE enspiral.proposals SET state = 'scheduled', opens_at = now() - interval '1 hour',
       closes_at = now() + interval '1 day' WHERE proposal_id = :pd;

-- time is part of the state: scheduled opens at opens_at, open closes at
-- closes_at, with no job
SELECT enspiral.open_proposal(:pd, clock_timestamp() + interval '2.5 s', clock_timestamp() + interval '1 s');
SELECT enspiral.proposal_state(:pd);
SELECT enspiral.vote(:pd, :ana, '"agree"');
SELECT pg_sleep(1.1);
SELECT enspiral.proposal_state(:pd), state AS stored FROM enspiral.proposals WHERE proposal_id = :pd;
SELECT enspiral.vote(:pd, :ana, '"agree"') IS NOT NULL AS voted;
-- scheduled -> draft is no longer possible: it is open
SELECT enspiral.unschedule_proposal(:pd);
SELECT pg_sleep(1.5);
SELECT enspiral.proposal_state(:pd), state AS stored FROM enspiral.proposals WHERE proposal_id = :pd;
SELECT enspiral.vote(:pd, :ben, '"agree"');
SELECT enspiral.withdraw_proposal(:pd);
-- the outcome is final; the first reader records it
SELECT outcome -> 'final' AS final, outcome -> 'voted' AS voted FROM enspiral.outcomes WHERE proposal_id = :pd;
SELECT enspiral.outcome(:pd) -> 'passed' AS passed;
SELECT state AS stored, (SELECT count(*) FROM enspiral.outcomes o WHERE o.proposal_id = :pd) AS recorded
  FROM enspiral.proposals WHERE proposal_id = :pd;
SELECT matches FROM enspiral.verify_outcome(:pd);

-- record_due_closings: marks and records what passed its deadline
SELECT enspiral.propose(:g, :ana, 'E', 'consent') AS pe \gset
SELECT enspiral.open_proposal(:pe, clock_timestamp() + interval '1 s');
SELECT enspiral.record_due_closings();
SELECT pg_sleep(1.1);
SELECT enspiral.record_due_closings();
SELECT enspiral.record_due_closings();
SELECT state FROM enspiral.proposals WHERE proposal_id = :pe;

-- the electorate is frozen at opening
SELECT enspiral.propose(:g, :ana, 'F', 'consent') AS pf \gset
SELECT enspiral.open_proposal(:pf, now() + interval '1 day');
SELECT enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.vote(:pf, :cy, '"agree"');
SELECT enspiral.add_voter(:pf, :cy);
SELECT enspiral.vote(:pf, :cy, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.add_voter(:pf, 999);
SELECT enspiral.add_voter(999, :cy);
-- removed members cannot vote and their votes stop counting
SELECT enspiral.vote(:pf, :ben, '"disagree"') IS NOT NULL AS voted;
SELECT enspiral.outcome(:pf) -> 'totals' AS totals, enspiral.outcome(:pf) -> 'electorate' AS electorate;
SELECT enspiral.remove_member(:g, :ben);
SELECT enspiral.vote(:pf, :ben, '"agree"');
SELECT enspiral.outcome(:pf) -> 'totals' AS totals, enspiral.outcome(:pf) -> 'electorate' AS electorate;
-- a member who rejoins counts again
SELECT enspiral.add_member(:g, 'ben') = :ben AS same_id;
SELECT enspiral.outcome(:pf) -> 'totals' AS totals, enspiral.outcome(:pf) -> 'electorate' AS electorate;

-- one counted vote per member; earlier votes stay as history
SELECT enspiral.vote(:pf, :ana, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.vote(:pf, :ana, '"abstain"') IS NOT NULL AS voted;
SELECT enspiral.vote(:pf, :ana, '"disagree"') IS NOT NULL AS voted;
SELECT ballot, superseded_at IS NOT NULL AS superseded FROM enspiral.votes
 WHERE proposal_id = :pf AND member_id = :ana ORDER BY vote_id;
SELECT enspiral.outcome(:pf) -> 'totals' AS totals;

-- vote tables are written by vote() only
INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, cast_at)
VALUES (:g, :pf, :ana, '"agree"', now());
UPDATE enspiral.votes SET ballot = '"block"';
DELETE FROM enspiral.votes;
TRUNCATE enspiral.anonymous_ballots;
INSERT INTO enspiral.electorate_additions VALUES (:g, :pf, :ana, now());
