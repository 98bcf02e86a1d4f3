-- Counting methods of decisions 2 (doc/voting-methods.md): STV under the
-- Scottish and Meek rules, Schulze and Copeland (aggregates and proposals),
-- count, time, question, check and none_of_the_above.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- The STV example of the English Wikipedia ("Single transferable vote",
-- food election): 20 ballots, 3 seats, Droop quota 6.  Published result:
-- Chocolate, Oranges and Strawberries; Chocolate's surplus of 6 moves at
-- 6/12 = 0.5.  Ids: 1 Oranges, 2 Pears, 3 Chocolate, 4 Strawberries, 5 Sweets.
CREATE TEMP TABLE food (ranking bigint[]);
INSERT INTO food
SELECT r FROM (VALUES (4, ARRAY[1]), (2, ARRAY[2, 1]), (8, ARRAY[3, 4]), (4, ARRAY[3, 5]),
                      (1, ARRAY[4]), (1, ARRAY[5])) v(n, r), generate_series(1, v.n);
SELECT jsonb_pretty(enspiral.single_transferable_vote(ranking, 3, 'scottish')) FROM food;
SELECT jsonb_pretty(enspiral.single_transferable_vote(ranking, 3, 'meek',
                    ARRAY['Oranges', 'Pears', 'Chocolate', 'Strawberries', 'Sweets'])) FROM food;

-- Meek, hand-checked: 28 A>B>C, 26 B>A>C, 3 C, 2 D, 1 E, 3 seats.
-- quota 60/4 + 0.000000001; A and B are elected at the first iteration;
-- their surpluses (13 + 11) then reach C, elected at stage 2 with keep
-- values of A and B near 15/39 = 0.384615385.
CREATE TEMP TABLE abc (ranking bigint[]);
INSERT INTO abc
SELECT r FROM (VALUES (28, ARRAY[1, 2, 3]), (26, ARRAY[2, 1, 3]), (3, ARRAY[3]), (2, ARRAY[4]),
                      (1, ARRAY[5])) v(n, r), generate_series(1, v.n);
SELECT s -> 'elected' AS elected, s -> 'quota' AS final_quota,
       jsonb_path_query_array(s, '$.stages[*].action') AS actions,
       s #> '{stages,0,quota}' AS first_quota, s #> '{stages,0,votes}' AS first_votes,
       s #> '{stages,1,keep_values}' AS keep_values_stage_2
  FROM (SELECT enspiral.single_transferable_vote(ranking, 3, 'meek') s FROM abc) x;
SELECT s -> 'elected' AS scottish_elected, s -> 'quota' AS quota,
       jsonb_path_query_array(s, '$.stages[*].action') AS actions,
       jsonb_path_query_array(s, '$.stages[*].transfer_value') AS transfer_values
  FROM (SELECT enspiral.single_transferable_vote(ranking, 3, 'scottish') s FROM abc) x;

-- Truncation to 5 decimal places: 10 ballots, 2 seats, quota 4; 7 papers
-- give a surplus of 3 at 3/7 = 0.42857 (truncated, not 0.42858): 7 x
-- 0.42857 = 2.99999 moves and the 0.00001 lost is reported.
SELECT s #> '{stages,1}' AS surplus_stage
  FROM (SELECT enspiral.single_transferable_vote(r, 2, 'scottish') s
          FROM (SELECT ARRAY[1, 2]::bigint[] r FROM generate_series(1, 7)
                UNION ALL SELECT ARRAY[3]::bigint[] UNION ALL SELECT ARRAY[3]
                UNION ALL SELECT ARRAY[4]::bigint[]) b) x;

-- Ties: two candidates with equal lowest votes and equal at every stage:
-- the lowest id is excluded (instead of a lot), and the stage says so
SELECT s -> 'elected' AS elected, s #> '{stages,1,candidate}' AS excluded,
       s #> '{stages,1,tie_break}' AS tie_break
  FROM (SELECT enspiral.single_transferable_vote(r, 1, 'scottish') s
          FROM (VALUES (ARRAY[3]::bigint[]), (ARRAY[3]), (ARRAY[3]), (ARRAY[1]), (ARRAY[2]),
                       (ARRAY[4]), (ARRAY[4])) b(r)) x;
-- the earlier-stage rule: 5 and 6 tie at stage 2; 6 had fewer at stage 1
SELECT s -> 'elected' AS elected,
       jsonb_path_query_array(s, '$.stages[*] ? (@.action == "exclusion")') AS exclusions
  FROM (SELECT enspiral.single_transferable_vote(r, 1, 'scottish') s
          FROM (SELECT ARRAY[5]::bigint[] r FROM generate_series(1, 3)
                UNION ALL SELECT ARRAY[6] FROM generate_series(1, 2)
                UNION ALL SELECT ARRAY[7, 6] FROM generate_series(1, 1)
                UNION ALL SELECT ARRAY[8] FROM generate_series(1, 5)) b) x;

-- Meek ties: 1 and 2 tie with no earlier stage, so the lowest id, 1, is
-- excluded; its ballot is exhausted and the quota falls from 3.000000001
-- to 2.500000001; 2 is excluded next and its ballot elects 4
SELECT jsonb_path_query_array(s, '$.stages[*].action') AS actions,
       jsonb_path_query_array(s, '$.stages[*].candidate') AS excluded,
       jsonb_path_query_array(s, '$.stages[*].tie_break') AS tie_breaks,
       jsonb_path_query_array(s, '$.stages[*].quota') AS quotas,
       s -> 'elected' AS elected
  FROM (SELECT enspiral.single_transferable_vote(r, 1, 'meek') s
          FROM (VALUES (ARRAY[1]::bigint[]), (ARRAY[2, 4]), (ARRAY[3]), (ARRAY[3]), (ARRAY[4]),
                       (ARRAY[4])) b(r)) x;

-- Exhausted ballots count as non-transferable; fewer candidates than seats
SELECT s -> 'elected' AS elected, jsonb_path_query_array(s, '$.stages[*].action') AS actions
  FROM (SELECT enspiral.single_transferable_vote(r, 5, rules) s, rules
          FROM (VALUES (ARRAY[1, 2]::bigint[]), (ARRAY[2]), (ARRAY[3])) b(r),
               (VALUES ('scottish'), ('meek')) k(rules) GROUP BY rules) x ORDER BY rules;
SELECT enspiral.single_transferable_vote(r, 2, 'meek') IS NULL AS no_ballots
  FROM (VALUES (NULL::bigint[]), ('{}')) b(r);

-- Weights: a ranking of weight n counts as n equal rankings, under every
-- rule set and method (NULL and 0 weights are skipped)
CREATE TEMP TABLE food_w AS
SELECT r AS ranking, n::bigint AS weight
  FROM (VALUES (4, ARRAY[1]), (2, ARRAY[2, 1]), (8, ARRAY[3, 4]), (4, ARRAY[3, 5]),
               (1, ARRAY[4]), (1, ARRAY[5]), (0, ARRAY[5, 4]), (NULL, ARRAY[2])) v(n, r);
SELECT (SELECT enspiral.single_transferable_vote(ranking, weight, 3, 'scottish') FROM food_w) - 'total_weight' - 'ballots'
       = (SELECT enspiral.single_transferable_vote(ranking, 3, 'scottish') FROM food) - 'ballots' AS scottish_same,
       (SELECT enspiral.single_transferable_vote(ranking, weight, 3, 'meek') FROM food_w) - 'total_weight' - 'ballots'
       = (SELECT enspiral.single_transferable_vote(ranking, 3, 'meek') FROM food) - 'ballots' AS meek_same,
       (SELECT enspiral.schulze(ranking, weight) FROM food_w) - 'total_weight' - 'ballots'
       = (SELECT enspiral.schulze(ranking) FROM food) - 'ballots' AS schulze_same,
       (SELECT enspiral.copeland(ranking, weight, ARRAY['O', 'P', 'C', 'St', 'Sw']) FROM food_w) - 'total_weight' - 'ballots'
       = (SELECT enspiral.copeland(ranking, ARRAY['O', 'P', 'C', 'St', 'Sw']) FROM food) - 'ballots' AS copeland_same,
       (SELECT enspiral.single_transferable_vote(ranking, weight, 3, 'meek') -> 'total_weight' FROM food_w) AS total_weight;
-- the same with truncation (Scottish) and many iterations (Meek)
SELECT (SELECT enspiral.single_transferable_vote(r, n, 2, 'scottish')
          FROM (VALUES (ARRAY[1, 2]::bigint[], 7::bigint), (ARRAY[3], 2), (ARRAY[4], 1)) b(r, n)) #> '{stages,1}'
       = (SELECT enspiral.single_transferable_vote(r, 2, 'scottish')
            FROM (SELECT ARRAY[1, 2]::bigint[] r FROM generate_series(1, 7)
                  UNION ALL SELECT ARRAY[3]::bigint[] UNION ALL SELECT ARRAY[3]
                  UNION ALL SELECT ARRAY[4]::bigint[]) b) #> '{stages,1}' AS truncation_same,
       (SELECT enspiral.single_transferable_vote(r, n, 3, 'meek') -> 'stages'
          FROM (VALUES (ARRAY[1, 2, 3]::bigint[], 28::bigint), (ARRAY[2, 1, 3], 26), (ARRAY[3], 3),
                       (ARRAY[4], 2), (ARRAY[5], 1)) b(r, n))
       = (SELECT enspiral.single_transferable_vote(ranking, 3, 'meek') -> 'stages' FROM abc) AS meek_iterations_same;
SELECT enspiral.single_transferable_vote(ARRAY[1, 2], -1, 2, 'meek');
SELECT enspiral.schulze(ARRAY[1, 2], -3::bigint);
SELECT enspiral.single_transferable_vote(ARRAY[1, 2], 9223372036854775807, 1, 'scottish');

-- Refusals
SELECT enspiral.single_transferable_vote(ARRAY[1, 2], 2, 'irish');
SELECT enspiral.single_transferable_vote(ARRAY[1, 2], 0, 'meek');
SELECT enspiral.single_transferable_vote(ARRAY[1, 1], 2, 'meek');
SELECT enspiral.single_transferable_vote(r, s, 'meek') FROM (VALUES (ARRAY[1]::bigint[], 1), (ARRAY[2], 2)) b(r, s);
SELECT enspiral.single_transferable_vote(ARRAY[3], 1, 'meek', ARRAY['a', 'b']);

-- Schulze: the example of Wikipedia ("Schulze method"), 45 voters, 5
-- candidates A..E; published: d[A,B] = 20, strongest paths, winner E and
-- the ranking E > A > C > B > D.
CREATE TEMP TABLE sch (ranking bigint[]);
INSERT INTO sch
SELECT r FROM (VALUES (5, ARRAY[1, 3, 2, 5, 4]), (5, ARRAY[1, 4, 5, 3, 2]), (8, ARRAY[2, 5, 4, 1, 3]),
                      (3, ARRAY[3, 1, 2, 5, 4]), (7, ARRAY[3, 1, 5, 2, 4]), (2, ARRAY[3, 2, 1, 4, 5]),
                      (7, ARRAY[4, 3, 5, 2, 1]), (8, ARRAY[5, 2, 1, 4, 3])) v(n, r), generate_series(1, v.n);
SELECT jsonb_pretty(enspiral.schulze(ranking, ARRAY['A', 'B', 'C', 'D', 'E'])) FROM sch;
SELECT x -> 'winner' AS winner, x -> 'ranking' AS ranking, x -> 'scores' AS scores
  FROM (SELECT enspiral.copeland(ranking) x FROM sch) s;
-- a Condorcet cycle: 1 > 2 > 3 > 1 with equal margins is a three-way tie
SELECT x ->> 'winner' AS winner, x -> 'winners' AS winners, x -> 'tie' AS tie, x -> 'ranks' AS ranks
  FROM (SELECT enspiral.schulze(r) x FROM (VALUES (ARRAY[1, 2, 3]::bigint[]), (ARRAY[2, 3, 1]), (ARRAY[3, 1, 2])) b(r)) s;
SELECT x -> 'winners' AS winners, x -> 'scores' AS scores
  FROM (SELECT enspiral.copeland(r) x FROM (VALUES (ARRAY[1, 2, 3]::bigint[]), (ARRAY[2, 3, 1]), (ARRAY[3, 1, 2])) b(r)) s;
-- unranked options are below ranked ones; a label nobody ranks still takes part
SELECT x -> 'ranking' AS ranking, x -> 'pairwise' AS pairwise
  FROM (SELECT enspiral.schulze(r, ARRAY['x', 'y', 'z']) x FROM (VALUES (ARRAY[2]::bigint[]), (ARRAY[1, 2])) b(r)) s;
SELECT enspiral.schulze(ARRAY[1, 2, 1]);

-- Proposals of the new methods
SELECT enspiral.create_group('Methods') AS g \gset
SELECT array_agg(enspiral.add_member(:g, 'm' || i) ORDER BY i) AS m FROM generate_series(1, 6) i \gset
CREATE FUNCTION pg_temp.open(method text, options text[], settings jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE p bigint;
BEGIN
    p := enspiral.propose(1, 1, method || ' proposal', method, options, settings);
    PERFORM enspiral.open_proposal(p, now() + interval '1 day');
    RETURN p;
END $$;

-- stv settings: seats and rules are checked
SELECT enspiral.normalize_proposal_settings('stv', ARRAY['a', 'b', 'c'], '{"seats": 2, "rules": "meek"}');
SELECT enspiral.normalize_proposal_settings('stv', ARRAY['a', 'b', 'c'], '{"rules": "irish"}');
SELECT enspiral.normalize_proposal_settings('stv', ARRAY['a', 'b'], '{"seats": 3}');
SELECT pg_temp.open('stv', ARRAY['Ann', 'Bob', 'Cat', 'Dan'], '{"seats": 2}') AS p1 \gset
SELECT enspiral.vote(:p1, 1, '["Ann", "Bob"]'), enspiral.vote(:p1, 2, '["Ann", "Cat"]'),
       enspiral.vote(:p1, 3, '["Ann"]'), enspiral.vote(:p1, 4, '["Bob", "Dan"]'),
       enspiral.vote(:p1, 5, '["Cat", "Bob"]') \gset
SELECT enspiral.vote(:p1, 6, '["Ann", "Ann"]');
SELECT enspiral.vote(:p1, 6, '["Eve"]');
SELECT enspiral.close_proposal(:p1);
SELECT o - ARRAY['stv', 'chain_head'] AS outcome, o #> '{stv,stages}' AS stages
  FROM (SELECT enspiral.outcome(:p1) o) x;
SELECT matches FROM enspiral.verify_outcome(:p1);

-- schulze and copeland proposals
SELECT pg_temp.open('schulze', ARRAY['x', 'y', 'z']) AS p2 \gset
SELECT pg_temp.open('copeland', ARRAY['x', 'y', 'z']) AS p3 \gset
SELECT enspiral.vote(p, 1, '["y", "x"]'), enspiral.vote(p, 2, '["y"]'), enspiral.vote(p, 3, '["x", "z", "y"]')
  FROM (VALUES (:p2), (:p3)) v(p);
SELECT enspiral.close_proposal(:p2), enspiral.close_proposal(:p3);
SELECT o ->> 'method' AS method, o -> 'winner' AS winner, o -> 'ranking' AS ranking,
       o -> 'totals' AS first_preferences, o #> ARRAY[o ->> 'method', 'pairwise'] AS pairwise
  FROM (SELECT enspiral.outcome(p) o FROM (VALUES (:p2), (:p3)) v(p)) x;
SELECT bool_and(matches) AS verified FROM (VALUES (:p2), (:p3)) v(p), enspiral.verify_outcome(p);

-- count: passes when at least target say yes
SELECT enspiral.propose(1, 1, 'count', 'count', ARRAY['a']);
SELECT pg_temp.open('count', NULL, '{"target": 3}') AS p4 \gset
SELECT enspiral.vote(:p4, 1, '"yes"'), enspiral.vote(:p4, 2, '"yes"'), enspiral.vote(:p4, 3, '"no"') \gset
SELECT enspiral.vote(:p4, 4, '"maybe"');
SELECT enspiral.outcome(:p4) -> 'totals' AS totals, enspiral.outcome(:p4) -> 'passed' AS passed;
SELECT enspiral.vote(:p4, 4, '"yes"') IS NOT NULL AS voted;
SELECT enspiral.close_proposal(:p4);
SELECT enspiral.outcome(:p4) -> 'passed' AS passed, enspiral.outcome(:p4) -> 'target' AS target;

-- time: slots are bounded tstzranges; ordered by yes, then maybe
SELECT enspiral.propose(1, 1, 'meet', 'time', ARRAY['[2030-01-01 10:00+00,2030-01-01 11:00+00)', 'tomorrow']);
SELECT enspiral.propose(1, 1, 'meet', 'time', ARRAY['[2030-01-01 10:00+00,)', '[2030-01-02 10:00+00,2030-01-02 11:00+00)']);
SELECT pg_temp.open('time', ARRAY['[2030-01-01 10:00+00,2030-01-01 11:00+00)',
                                  '[2030-01-02 10:00+00,2030-01-02 11:00+00)',
                                  '[2030-01-03 10:00+00,2030-01-03 11:00+00)']) AS p5 \gset
SELECT enspiral.vote(:p5, 1, '{"[2030-01-01 10:00+00,2030-01-01 11:00+00)": "yes", "[2030-01-02 10:00+00,2030-01-02 11:00+00)": "yes"}'),
       enspiral.vote(:p5, 2, '{"[2030-01-02 10:00+00,2030-01-02 11:00+00)": "maybe", "[2030-01-01 10:00+00,2030-01-01 11:00+00)": "yes"}'),
       enspiral.vote(:p5, 3, '{"[2030-01-02 10:00+00,2030-01-02 11:00+00)": "yes", "[2030-01-03 10:00+00,2030-01-03 11:00+00)": "maybe"}') \gset
SELECT enspiral.vote(:p5, 4, '{"[2030-01-02 10:00+00,2030-01-02 11:00+00)": "perhaps"}');
SELECT ballot FROM enspiral.votes WHERE proposal_id = :p5 AND member_id = 1;
SELECT o -> 'slots' AS slots, o -> 'winners' AS best, o -> 'tie' AS tie FROM (SELECT enspiral.outcome(:p5) o) x;
SELECT pg_temp.open('time', ARRAY['[2030-01-01 10:00+00,2030-01-01 11:00+00)',
                                  '[2030-01-02 10:00+00,2030-01-02 11:00+00)'], '{"allow_maybe": false}') AS p6 \gset
SELECT enspiral.vote(:p6, 1, '{"[2030-01-01 10:00+00,2030-01-01 11:00+00)": "maybe"}');

-- question: no ballot, a reason is required
SELECT pg_temp.open('question', NULL) AS p7 \gset
SELECT enspiral.vote(:p7, 1, 'null');
SELECT enspiral.vote(:p7, 1, '"yes"', 'because');
SELECT enspiral.vote(:p7, 1, 'null', 'Thursdays suit me') IS NOT NULL AS voted;
SELECT enspiral.outcome(:p7) - 'proposal_id' AS outcome;

-- check: looks good / not sure / concerned
SELECT pg_temp.open('check', NULL) AS p8 \gset
SELECT enspiral.vote(:p8, 1, '"looks_good"'), enspiral.vote(:p8, 2, '"looks_good"') \gset
SELECT enspiral.outcome(:p8) -> 'verdict' AS verdict;
SELECT enspiral.vote(:p8, 3, '"not_sure"') IS NOT NULL AS voted;
SELECT enspiral.outcome(:p8) -> 'verdict' AS verdict;
SELECT enspiral.vote(:p8, 4, '"concerned"', 'budget') IS NOT NULL AS voted;
SELECT enspiral.outcome(:p8) -> 'totals' AS totals, enspiral.outcome(:p8) -> 'verdict' AS verdict;
SELECT enspiral.vote(:p8, 5, '"agree"');

-- none_of_the_above: an implicit option of choice, ranked and score
SELECT enspiral.normalize_proposal_settings('ranked', ARRAY['a', 'b'], '{"none_of_the_above": true}');
SELECT enspiral.normalize_proposal_settings('choice', ARRAY['a', 'none_of_the_above'], '{"none_of_the_above": true}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"none_of_the_above": true}');
SELECT pg_temp.open('choice', ARRAY['a', 'b'], '{"none_of_the_above": true}') AS p9 \gset
SELECT enspiral.vote(:p9, 1, '["none_of_the_above"]'), enspiral.vote(:p9, 2, '["none_of_the_above"]'),
       enspiral.vote(:p9, 3, '["a"]') \gset
SELECT enspiral.vote(:p9, 4, '["a", "none_of_the_above"]');
SELECT o -> 'totals' AS totals, o -> 'winner' AS winner FROM (SELECT enspiral.outcome(:p9) o) x;
SELECT pg_temp.open('ranked', ARRAY['a', 'b'], '{"none_of_the_above": true}') AS p10 \gset
SELECT enspiral.vote(:p10, 1, '["a", "none_of_the_above", "b"]'), enspiral.vote(:p10, 2, '["none_of_the_above"]') \gset
SELECT o -> 'totals' AS totals, o -> 'winner' AS irv_winner FROM (SELECT enspiral.outcome(:p10) o) x;
SELECT pg_temp.open('score', ARRAY['a', 'b'], '{"none_of_the_above": true}') AS p11 \gset
SELECT enspiral.vote(:p11, 1, '{"a": 1, "b": 2}'), enspiral.vote(:p11, 2, '{"a": 0, "b": 1, "none_of_the_above": 5}') \gset
SELECT o -> 'totals' AS totals, o -> 'winner' AS winner FROM (SELECT enspiral.outcome(:p11) o) x;
-- check_ballot knows the new methods
SELECT enspiral.check_ballot('check', NULL, '{}', '"concerned"');
SELECT enspiral.check_ballot('schulze', ARRAY['a', 'b', 'c'], '{"min_ranks": 2}', '["c"]');
