-- Outcomes: every method's result rules, quorum and thresholds, ties,
-- anonymous ballots, hidden results (enforced for an application role),
-- recording at close and verification.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
DROP ROLE IF EXISTS decisions_app;
RESET client_min_messages;
\set VERBOSITY default

SELECT enspiral.create_group('Outcomes') AS g \gset
SELECT array_agg(enspiral.add_member(:g, 'm' || i) ORDER BY i) AS m FROM generate_series(1, 6) i \gset
SELECT :'m'::bigint[] = ARRAY[1,2,3,4,5,6]::bigint[] AS ids_are_1_to_6;

-- helper: a proposal opened now, closing in a day
CREATE FUNCTION pg_temp.open(method text, options text[], settings jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE p bigint;
BEGIN
    p := enspiral.propose(1, 1, method || ' proposal', method, options, settings);
    PERFORM enspiral.open_proposal(p, now() + interval '1 day');
    RETURN p;
END $$;

-- consent: passes with more agree than disagree and no block
SELECT pg_temp.open('consent', NULL) AS c1 \gset
SELECT enspiral.vote(:c1, 1, '"agree"'), enspiral.vote(:c1, 2, '"agree"'),
       enspiral.vote(:c1, 3, '"disagree"'), enspiral.vote(:c1, 4, '"abstain"') \gset
SELECT enspiral.outcome(:c1);
-- one block fails it; a block needs a reason
SELECT enspiral.vote(:c1, 5, '"block"');
SELECT enspiral.vote(:c1, 5, '"block"', 'we agreed not to') IS NOT NULL AS voted;
SELECT enspiral.outcome(:c1) -> 'passed' AS passed;
-- exactly 50% agree is not more than 50%
SELECT pg_temp.open('consent', NULL) AS c2 \gset
SELECT enspiral.vote(:c2, 1, '"agree"'), enspiral.vote(:c2, 2, '"disagree"') \gset
SELECT enspiral.outcome(:c2) -> 'passed' AS passed_at_half;
-- inclusive supermajority 66.67: 2 of 3 = 66.666..% fails, 66.66 passes
SELECT pg_temp.open('consent', NULL, '{"threshold_pct": 66.67, "threshold_inclusive": true}') AS c3 \gset
SELECT enspiral.vote(:c3, 1, '"agree"'), enspiral.vote(:c3, 2, '"agree"'), enspiral.vote(:c3, 3, '"disagree"') \gset
SELECT enspiral.outcome(:c3) -> 'passed' AS passed_6667;
SELECT pg_temp.open('consent', NULL, '{"threshold_pct": 66.66, "threshold_inclusive": true}') AS c4 \gset
SELECT enspiral.vote(:c4, 1, '"agree"'), enspiral.vote(:c4, 2, '"agree"'), enspiral.vote(:c4, 3, '"disagree"') \gset
SELECT enspiral.outcome(:c4) -> 'passed' AS passed_6666;
-- quorum: 3 of 6 voted; 50% is met, 51% is not
SELECT pg_temp.open('consent', NULL, '{"quorum_pct": 50}') AS c5 \gset
SELECT pg_temp.open('consent', NULL, '{"quorum_pct": 51}') AS c6 \gset
SELECT count(enspiral.vote(p, i, '"agree"')) AS votes FROM unnest(ARRAY[:c5, :c6]) p, generate_series(1, 3) i;
SELECT enspiral.outcome(:c5) -> 'quorum_met' AS q50, enspiral.outcome(:c5) -> 'passed' AS p50,
       enspiral.outcome(:c6) -> 'quorum_met' AS q51, enspiral.outcome(:c6) -> 'passed' AS p51;
-- max_blocks allows some blocks; block_needs_reason can be relaxed
SELECT pg_temp.open('consent', NULL, '{"max_blocks": 1, "block_needs_reason": false}') AS c7 \gset
SELECT enspiral.vote(:c7, 1, '"agree"'), enspiral.vote(:c7, 2, '"block"') \gset
SELECT enspiral.outcome(:c7) -> 'passed' AS one_block_allowed;
SELECT enspiral.vote(:c7, 3, '"block"') \gset
SELECT enspiral.outcome(:c7) -> 'passed' AS two_blocks;
-- no agree and no disagree: not passed
SELECT pg_temp.open('consent', NULL, '{"threshold_inclusive": true}') AS c8 \gset
SELECT enspiral.vote(:c8, 1, '"abstain"') \gset
SELECT enspiral.outcome(:c8) -> 'passed' AS only_abstain;

-- choice: winner by total; ties reported
SELECT pg_temp.open('choice', '{red,green,blue}', '{"max_choices": 2}') AS ch \gset
SELECT enspiral.vote(:ch, 1, '["red","green"]'), enspiral.vote(:ch, 2, '["green"]'),
       enspiral.vote(:ch, 3, '["blue","red"]') \gset
SELECT enspiral.outcome(:ch);
SELECT enspiral.vote(:ch, 2, '["blue"]') \gset
SELECT enspiral.outcome(:ch) - '{proposal_id,electorate,quorum_pct,quorum_met,opening,state,final,method}'::text[];
-- no votes: no winner
SELECT pg_temp.open('choice', '{red,green}') AS ch0 \gset
SELECT enspiral.outcome(:ch0) -> 'winner' AS winner, enspiral.outcome(:ch0) -> 'winners' AS winners,
       enspiral.outcome(:ch0) -> 'totals' AS totals;

-- score
SELECT pg_temp.open('score', '{a,b,c}') AS sc \gset
SELECT enspiral.vote(:sc, 1, '{"a": 5, "b": 3, "c": 0}'), enspiral.vote(:sc, 2, '{"a": 1, "b": 4, "c": 5}') \gset
SELECT enspiral.outcome(:sc) -> 'totals' AS totals, enspiral.outcome(:sc) -> 'winner' AS winner;

-- dots
SELECT pg_temp.open('dots', '{x,y,z}') AS d \gset
SELECT enspiral.vote(:d, 1, '{"x": 8}'), enspiral.vote(:d, 2, '{"y": 4, "z": 4}'), enspiral.vote(:d, 3, '{"z": 5}') \gset
SELECT enspiral.outcome(:d) -> 'totals' AS totals, enspiral.outcome(:d) -> 'winner' AS winner;

-- quadratic: totals are votes; negative votes when allowed
SELECT pg_temp.open('quadratic', '{x,y}', '{"allow_negative": true}') AS q \gset
SELECT enspiral.vote(:q, 1, '{"x": 10}'), enspiral.vote(:q, 2, '{"x": -6, "y": 8}'), enspiral.vote(:q, 3, '{"y": -7}') \gset
SELECT enspiral.outcome(:q) -> 'totals' AS totals, enspiral.outcome(:q) -> 'winner' AS winner;
SELECT enspiral.vote(:q, 4, '{"x": 7, "y": 8}');

-- ranked: instant runoff with rounds, first preferences and Borda points
SELECT pg_temp.open('ranked', '{alpha,beta,gamma,delta}') AS r \gset
SELECT enspiral.vote(:r, 1, '["alpha","beta"]'), enspiral.vote(:r, 2, '["alpha","gamma"]'),
       enspiral.vote(:r, 3, '["beta","gamma"]'), enspiral.vote(:r, 4, '["gamma","beta"]'),
       enspiral.vote(:r, 5, '["delta","beta"]') \gset
SELECT jsonb_pretty(enspiral.outcome(:r));

-- anonymous: no voter on ballots, one ballot per member, not changeable,
-- no explicit additions, never reopened
SELECT pg_temp.open('choice', '{yes,no}', '{"anonymous": true}') AS an \gset
SELECT enspiral.vote(:an, 1, '["yes"]') IS NULL AS no_id, enspiral.vote(:an, 2, '["no"]') IS NULL AS no_id2;
SELECT enspiral.vote(:an, 1, '["no"]');
SELECT count(*) AS ballots FROM enspiral.anonymous_ballots WHERE proposal_id = :an;
SELECT member_id FROM enspiral.participations WHERE proposal_id = :an ORDER BY 1;
SELECT count(*) AS named_votes FROM enspiral.votes WHERE proposal_id = :an;
SELECT enspiral.add_voter(:an, 3);
SELECT enspiral.outcome(:an) -> 'totals' AS totals, enspiral.outcome(:an) -> 'voted' AS voted;
SELECT enspiral.close_proposal(:an);
SELECT enspiral.reopen_proposal(:an, now() + interval '1 day');

-- hidden results: no tally before close, for anyone; an application role
-- (given the API by grant_application) cannot read the tables either
SELECT pg_temp.open('consent', NULL, '{"hide_results": true}') AS h \gset
SELECT enspiral.vote(:h, 1, '"agree"') \gset
SELECT enspiral.outcome(:h);
SELECT enspiral.tally(:h);
CREATE ROLE decisions_app;
SELECT count(*) > 0 AS granted FROM enspiral.grant_application('decisions_app');
SET ROLE decisions_app;
SELECT enspiral.vote(:h, 2, '"agree"') IS NOT NULL AS app_can_vote;
SELECT enspiral.outcome(:h);
SELECT count(*) FROM enspiral.votes;
SELECT count(*) FROM enspiral.anonymous_ballots;
SELECT enspiral.compute_outcome(:h);
SELECT enspiral.compute_tally(p, now()) FROM enspiral.proposals p;
RESET ROLE;
SELECT enspiral.close_proposal(:h);
SET ROLE decisions_app;
SELECT enspiral.outcome(:h) -> 'totals' AS totals, enspiral.outcome(:h) -> 'passed' AS passed;
SELECT enspiral.tally(:h);
RESET ROLE;

-- the recorded outcome is what verify_outcome recomputes
SELECT enspiral.close_proposal(:r);
SELECT recorded = enspiral.outcome(:r) AS same, matches FROM enspiral.verify_outcome(:r);
SELECT enspiral.verify_outcome(:d);
-- a tampered record is reported (as the owner, with the guard disabled)
SET session_replication_role = replica;
UPDATE enspiral.outcomes SET outcome = jsonb_set(outcome, '{winner}', '"alpha"') WHERE proposal_id = :r;
RESET session_replication_role;
SELECT matches, recorded -> 'winner' AS recorded_winner, recomputed -> 'winner' AS winner
  FROM enspiral.verify_outcome(:r);
-- outcome after close ignores later membership changes
SELECT enspiral.close_proposal(:sc);
SELECT enspiral.remove_member(:g, 2);
SELECT (SELECT matches FROM enspiral.verify_outcome(:sc)) AS still_matches,
       enspiral.outcome(:sc) -> 'totals' AS totals;
-- but an open proposal stops counting the removed member
SELECT enspiral.outcome(:d) -> 'totals' AS totals, enspiral.outcome(:d) -> 'electorate' AS electorate;

DROP OWNED BY decisions_app;
DROP ROLE decisions_app;
