-- Catalyst elections: proposals whose options are candidate members and
-- whose effect appoints the winners (stv for several seats, consent on a
-- slate); candidates who would break a catalyst rule are refused when the
-- election is drafted and again at the close; draft_elections turns the
-- gaps plan_rotation finds into draft elections.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral', '{"min_catalysts": 0, "catalyst_max_months": 12}') AS g \gset
SELECT enspiral.create_group('Other') AS g2 \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cy') AS cy, enspiral.add_member(:g, 'dee') AS dee,
       enspiral.add_member(:g, 'eve') AS eve, enspiral.add_member(:g2, 'zed') AS zed \gset
-- dee has served her 12 months
SELECT enspiral.appoint_catalyst(:g, :dee, '2030-01-01', 6), enspiral.appoint_catalyst(:g, :dee, '2030-07-01', 6);

------------------------------------------------------------------------------
-- Drafting: refusals
------------------------------------------------------------------------------
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[]::bigint[], '2031-01-01');
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, NULL], '2031-01-01');
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, :ana], '2031-01-01');
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, :ben], '2031-01-01', method => 'choice');
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, :ben], '2031-01-01', 1, method => 'consent');
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, :ben], '2031-01-01', 3);
-- candidates the rules refuse: not a member here, over the service limit, a bad term
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, :zed], '2031-01-01');
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, :dee], '2031-01-01', 1, 6);
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, :ben], '2031-01-01', 1, 9);
-- nothing was left behind by the refusals
SELECT count(*) AS proposals FROM enspiral.proposals;

------------------------------------------------------------------------------
-- An stv election for two seats
------------------------------------------------------------------------------
SELECT enspiral.propose_election(:g, :ana, 'Catalysts 2031', ARRAY[:ana, :ben, :cy], '2031-01-01', 2, 6) AS e1 \gset
SELECT method, options, settings -> 'seats' AS seats FROM enspiral.proposals WHERE proposal_id = :e1;
SELECT position, kind, effect FROM enspiral.proposal_effects(:g, :e1);
-- an election has one election effect, and its options are its candidates
SELECT enspiral.add_effect(:g, :e1, format('{"kind": "elect_catalysts", "candidates": [%s, %s, %s], "starts_on": "2032-01-01"}', :ana, :ben, :cy)::jsonb);
SELECT enspiral.propose(:g, :ana, 'Mismatch', 'stv', ARRAY['1', '2'], '{"seats": 1}') AS mism \gset
SELECT enspiral.add_effect(:g, :mism, format('{"kind": "elect_catalysts", "candidates": [%s, %s], "starts_on": "2032-01-01"}', :ben, :ana)::jsonb);
SELECT enspiral.add_effect(:g, :mism, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :ben)::jsonb);
SELECT enspiral.open_proposal(:e1, now() + interval '1 day');
SELECT enspiral.vote(:e1, :ana, format('["%s", "%s"]', :ana, :cy)::jsonb),
       enspiral.vote(:e1, :ben, format('["%s", "%s"]', :ben, :cy)::jsonb),
       enspiral.vote(:e1, :cy, format('["%s"]', :cy)::jsonb),
       enspiral.vote(:e1, :dee, format('["%s", "%s"]', :cy, :ana)::jsonb),
       enspiral.vote(:e1, :eve, format('["%s", "%s"]', :ana, :ben)::jsonb);
SELECT enspiral.close_proposal(:e1);
SELECT outcome -> 'elected' AS elected, outcome #> '{effects,status}' AS status FROM enspiral.outcomes WHERE proposal_id = :e1;
SELECT status, results FROM enspiral.effect_results(:g, :e1);
SELECT member_id, starts_on, months FROM enspiral.catalyst_terms WHERE starts_on = '2031-01-01' ORDER BY member_id;
SELECT kind, actor, member_id, payload -> 'acting_proposal_id' AS acting_proposal
  FROM enspiral.events WHERE (payload ->> 'acting_proposal_id')::bigint = :e1 ORDER BY event_id;

------------------------------------------------------------------------------
-- Consent on a slate
------------------------------------------------------------------------------
SELECT enspiral.propose_election(:g, :eve, 'Slate 2032', ARRAY[:eve, :ben], '2032-01-01', months => 3, method => 'consent') AS e2 \gset
SELECT method, options FROM enspiral.proposals WHERE proposal_id = :e2;
SELECT enspiral.open_proposal(:e2, now() + interval '1 day');
SELECT enspiral.vote(:e2, :ana, '"agree"'), enspiral.vote(:e2, :cy, '"agree"');
SELECT enspiral.close_proposal(:e2);
SELECT status, results FROM enspiral.effect_results(:g, :e2);
SELECT member_id, months FROM enspiral.catalyst_terms WHERE starts_on = '2032-01-01' ORDER BY member_id;

------------------------------------------------------------------------------
-- Refused again at the close: the winner left meanwhile
------------------------------------------------------------------------------
SELECT enspiral.propose_election(:g, :ana, 'One seat 2033', ARRAY[:cy, :eve], '2033-01-01', 1, 6) AS e3 \gset
SELECT enspiral.open_proposal(:e3, now() + interval '1 day');
SELECT enspiral.vote(:e3, :ana, format('["%s"]', :eve)::jsonb), enspiral.vote(:e3, :ben, format('["%s"]', :eve)::jsonb);
SELECT enspiral.remove_member(:g, :eve);
SELECT enspiral.close_proposal(:e3);
SELECT outcome -> 'elected' AS elected FROM enspiral.outcomes WHERE proposal_id = :e3;
SELECT status, position, kind, sqlstate, message FROM enspiral.effect_results(:g, :e3);
SELECT count(*) AS terms_2033 FROM enspiral.catalyst_terms WHERE starts_on = '2033-01-01';

-- an election nobody voted in elects nobody: nothing applies
SELECT enspiral.propose_election(:g, :ana, 'Quiet 2034', ARRAY[:cy, :ben], '2034-01-01', 1, 1) AS e4 \gset
SELECT enspiral.open_proposal(:e4, now() + interval '1 day');
SELECT enspiral.close_proposal(:e4);
SELECT status FROM enspiral.effect_results(:g, :e4);

------------------------------------------------------------------------------
-- Draft elections for the gaps plan_rotation finds
------------------------------------------------------------------------------
SELECT enspiral.create_group('Rotating', '{"min_catalysts": 2, "catalyst_term_months": 3}') AS g4 \gset
SELECT enspiral.add_member(:g4, 'fay') AS fay, enspiral.add_member(:g4, 'gus') AS gus,
       enspiral.add_member(:g4, 'hal') AS hal \gset
SELECT count(*) AS planned FROM enspiral.plan_rotation(:g4, current_date, current_date + 30);
SELECT d.proposal_id, d.starts_on = current_date AS from_today, d.months, d.seats, d.candidates
  FROM enspiral.draft_elections(:g4, :fay, current_date, current_date + 30) d;
SELECT p.title LIKE 'Catalysts from %' AS titled, p.state, p.method, p.options, p.settings -> 'seats' AS seats
  FROM enspiral.proposals p WHERE p.group_id = :g4;
SELECT d.candidates, d.seats
  FROM enspiral.draft_elections(:g4, :fay, current_date, current_date + 30, 'consent') d;
SELECT enspiral.draft_elections(:g4, NULL, current_date, current_date + 30);
SELECT enspiral.draft_elections(999, :fay, current_date, current_date + 30);
