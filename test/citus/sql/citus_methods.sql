-- Every counting method on Citus: one proposal per method (consent, choice,
-- multiple choice, score, dots, ranked/instant runoff, quadratic, stv,
-- schulze, copeland, budget, count, check, time, question) opened, voted by
-- several members, closed, and its tally, outcome and verify_outcome read
-- with the group-first calls on their own (delegated to the group's node);
-- vote weights and a delegation in a second group on the other worker; then
-- one BEGIN ... COMMIT block that writes both groups (two-phase commit).
-- Then the read functions catalyst_service, catalyst_timeline,
-- plan_rotation, effect_results and the *_as_of functions, on their own and
-- in a block.  The results are those of the same statements on a single
-- server (doc/scaling.md, "What runs sharded").
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\set VERBOSITY terse

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'cai') AS cai \gset
SELECT enspiral.add_member(:g, 'dee') AS dee \gset
SELECT enspiral.add_member(:g, 'eve') AS eve \gset
SELECT enspiral.add_member(:h, 'cy') AS cy \gset
SELECT enspiral.add_member(:h, 'di') AS di \gset
SELECT enspiral.add_member(:h, 'ed') AS ed \gset
SELECT enspiral.add_member(:h, 'flo') AS flo \gset
SELECT enspiral.add_member(:h, 'gus') AS gus \gset
-- the outcome without the keys that hold ids or chain stamps
\set strip '- ARRAY[''proposal_id'', ''chain_head'', ''chain_position'']'

------------------------------------------------------------------------------
-- consent, with a quorum
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Remote work', 'consent', NULL, '{"quorum_pct": 60}') AS p1 \gset
SELECT enspiral.open_proposal(:g, :p1, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p1, :ana, '"agree"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p1, :ben, '"agree"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p1, :cai, '"abstain"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p1, :dee, '"disagree"', 'too early') AS vote_id \gset
SELECT enspiral.vote(:g, :p1, :eve, '"block"', NULL);              -- refused: a block needs a reason
SELECT enspiral.tally(:g, :p1, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p1);
SELECT enspiral.outcome(:g, :p1, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p1);

------------------------------------------------------------------------------
-- choice: one option
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ben, 'Venue', 'choice', ARRAY['hall', 'park', 'barn']) AS p2 \gset
SELECT enspiral.open_proposal(:g, :p2, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p2, :ana, '["park"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p2, :ben, '["hall"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p2, :cai, '["park"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p2, :dee, '["park", "hall"]', NULL);     -- refused: one choice
SELECT enspiral.tally(:g, :p2, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p2);
SELECT enspiral.outcome(:g, :p2, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p2);

------------------------------------------------------------------------------
-- multiple choice: up to two colours
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ben, 'Logo colour', 'choice', ARRAY['red', 'green', 'blue'],
                        '{"max_choices": 2}') AS p3 \gset
SELECT enspiral.open_proposal(:g, :p3, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p3, :ana, '["red", "green"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p3, :ben, '["green"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p3, :cai, '["blue", "red"]', NULL) AS vote_id \gset
SELECT enspiral.tally(:g, :p3, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p3);
SELECT enspiral.outcome(:g, :p3, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p3);

------------------------------------------------------------------------------
-- score
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :cai, 'Snacks', 'score', ARRAY['a', 'b', 'c']) AS p4 \gset
SELECT enspiral.open_proposal(:g, :p4, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p4, :ana, '{"a": 5, "b": 3, "c": 0}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p4, :ben, '{"a": 1, "b": 4, "c": 5}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p4, :cai, '{"a": 2, "b": 2, "c": 2}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p4, :dee, '{"a": 6, "b": 0, "c": 0}', NULL);  -- refused: above max_score
SELECT enspiral.tally(:g, :p4, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p4);
SELECT enspiral.outcome(:g, :p4, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p4);

------------------------------------------------------------------------------
-- dots
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :cai, 'Priorities', 'dots', ARRAY['x', 'y', 'z']) AS p5 \gset
SELECT enspiral.open_proposal(:g, :p5, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p5, :ana, '{"x": 8}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p5, :ben, '{"y": 4, "z": 4}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p5, :cai, '{"z": 5}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p5, :dee, '{"x": 5, "z": 4}', NULL);          -- refused: 9 dots
SELECT enspiral.tally(:g, :p5, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p5);
SELECT enspiral.outcome(:g, :p5, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p5);

------------------------------------------------------------------------------
-- ranked (instant runoff, Borda points)
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :dee, 'Name', 'ranked', ARRAY['a', 'b', 'c']) AS p6 \gset
SELECT enspiral.open_proposal(:g, :p6, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p6, :ana, '["a", "b", "c"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p6, :ben, '["b", "c"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p6, :cai, '["c", "b", "a"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p6, :dee, '["b"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p6, :eve, '["a", "c"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p6, :eve, '["a", "a"]', NULL);                -- refused: twice
SELECT enspiral.tally(:g, :p6, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p6);
SELECT enspiral.outcome(:g, :p6, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p6);

------------------------------------------------------------------------------
-- quadratic, negative votes allowed
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :dee, 'Tools', 'quadratic', ARRAY['x', 'y'], '{"allow_negative": true}') AS p7 \gset
SELECT enspiral.open_proposal(:g, :p7, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p7, :ana, '{"x": 10}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p7, :ben, '{"x": -6, "y": 8}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p7, :cai, '{"y": -7}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p7, :dee, '{"x": 7, "y": 8}', NULL);          -- refused: 113 credits
SELECT enspiral.tally(:g, :p7, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p7);
SELECT enspiral.outcome(:g, :p7, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p7);

------------------------------------------------------------------------------
-- stv, two seats
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :eve, 'Board', 'stv', ARRAY['Ann', 'Bob', 'Cat', 'Dan'], '{"seats": 2}') AS p8 \gset
SELECT enspiral.open_proposal(:g, :p8, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p8, :ana, '["Ann", "Bob"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p8, :ben, '["Ann", "Cat"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p8, :cai, '["Ann"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p8, :dee, '["Bob", "Dan"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p8, :eve, '["Cat", "Bob"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p8, :eve, '["Eve"]', NULL);                   -- refused: no such option
SELECT enspiral.tally(:g, :p8, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p8);
SELECT enspiral.outcome(:g, :p8, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p8);

------------------------------------------------------------------------------
-- schulze and copeland, the same ballots
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :eve, 'Logo (schulze)', 'schulze', ARRAY['x', 'y', 'z']) AS p9 \gset
SELECT enspiral.propose(:g, :eve, 'Logo (copeland)', 'copeland', ARRAY['x', 'y', 'z']) AS p10 \gset
SELECT enspiral.open_proposal(:g, :p9, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:g, :p10, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p9, :ana, '["y", "x"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p9, :ben, '["y"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p9, :cai, '["x", "z", "y"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p9, :dee, '["z", "x", "y"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p10, :ana, '["y", "x"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p10, :ben, '["y"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p10, :cai, '["x", "z", "y"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p10, :dee, '["z", "x", "y"]', NULL) AS vote_id \gset
SELECT enspiral.tally(:g, :p9, :ana) AS tally;
SELECT enspiral.tally(:g, :p10, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p9);
SELECT enspiral.close_proposal(:g, :p10);
SELECT enspiral.outcome(:g, :p9, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:g, :p10, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p9);
SELECT opening, matches FROM enspiral.verify_outcome(:p10);

------------------------------------------------------------------------------
-- budget (doc/budgeting.md's worked example)
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Neighbourhood budget', 'budget',
         ARRAY['Library', 'Park', 'Bikes', 'Mural', 'Wifi'],
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100]}') AS p11 \gset
SELECT enspiral.open_proposal(:g, :p11, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p11, :ana, '["Park", "Library"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p11, :ben, '["Park", "Bikes", "Mural"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p11, :cai, '["Wifi", "Mural", "Bikes", "Park"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p11, :dee, '["Library", "Park"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p11, :eve, '["Bikes", "Wifi"]', NULL);       -- refused: below the threshold
SELECT enspiral.vote(:g, :p11, :eve, '["Wifi", "Library", "Bikes"]', NULL) AS vote_id \gset
SELECT enspiral.tally(:g, :p11, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p11);
SELECT enspiral.outcome(:g, :p11, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p11);

------------------------------------------------------------------------------
-- count, check, time, question
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Volunteers', 'count', NULL, '{"target": 3}') AS p12 \gset
SELECT enspiral.open_proposal(:g, :p12, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p12, :ana, '"yes"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p12, :ben, '"yes"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p12, :cai, '"no"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p12, :dee, '"maybe"', NULL);                 -- refused
SELECT enspiral.tally(:g, :p12, :ana) AS tally;
SELECT enspiral.vote(:g, :p12, :dee, '"yes"', NULL) AS vote_id \gset
SELECT enspiral.close_proposal(:g, :p12);
SELECT enspiral.outcome(:g, :p12, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p12);

SELECT enspiral.propose(:g, :ben, 'Sanity check', 'check') AS p13 \gset
SELECT enspiral.open_proposal(:g, :p13, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p13, :ana, '"looks_good"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p13, :ben, '"not_sure"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p13, :cai, '"looks_good"', NULL) AS vote_id \gset
SELECT enspiral.tally(:g, :p13, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p13);
SELECT enspiral.outcome(:g, :p13, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p13);

SELECT enspiral.propose(:g, :cai, 'Meeting', 'time',
         ARRAY['[2030-01-01 10:00+00,2030-01-01 11:00+00)', '[2030-01-02 10:00+00,2030-01-02 11:00+00)',
               '[2030-01-03 10:00+00,2030-01-03 11:00+00)']) AS p14 \gset
SELECT enspiral.open_proposal(:g, :p14, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p14, :ana, '{"[2030-01-01 10:00+00,2030-01-01 11:00+00)": "yes", "[2030-01-02 10:00+00,2030-01-02 11:00+00)": "yes"}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p14, :ben, '{"[2030-01-02 10:00+00,2030-01-02 11:00+00)": "maybe", "[2030-01-01 10:00+00,2030-01-01 11:00+00)": "yes"}', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :p14, :cai, '{"[2030-01-02 10:00+00,2030-01-02 11:00+00)": "yes", "[2030-01-03 10:00+00,2030-01-03 11:00+00)": "maybe"}', NULL) AS vote_id \gset
SELECT enspiral.tally(:g, :p14, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p14);
SELECT enspiral.outcome(:g, :p14, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p14);

SELECT enspiral.propose(:g, :dee, 'Ideas', 'question') AS p15 \gset
SELECT enspiral.open_proposal(:g, :p15, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p15, :ana, 'null', 'Thursdays suit me') AS vote_id \gset
SELECT enspiral.vote(:g, :p15, :ben, 'null', 'Fridays') AS vote_id \gset
SELECT enspiral.vote(:g, :p15, :cai, 'null', NULL);                     -- refused: a reason is required
SELECT enspiral.tally(:g, :p15, :ana) AS tally;
SELECT enspiral.close_proposal(:g, :p15);
SELECT enspiral.outcome(:g, :p15, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:p15);
SELECT count(*) AS responses FROM enspiral.stances(:g, :p15);

------------------------------------------------------------------------------
-- vote weights and a delegation in the other group: cy weighs 3, ed
-- delegates to di (who votes), flo to gus (who casts flo's vote too)
------------------------------------------------------------------------------
SELECT enspiral.set_vote_weight(:h, :cy, 3);
SELECT enspiral.delegate(:h, :ed, :di);
SELECT enspiral.delegate(:h, :flo, :gus);
SELECT enspiral.vote_weight(:h, :cy) AS cy_weight, enspiral.vote_weight(:h, :di) AS di_weight;
SELECT enspiral.propose(:h, :cy, 'Hours', 'consent') AS w1 \gset
SELECT enspiral.propose(:h, :cy, 'Cafe', 'choice', ARRAY['tea', 'coffee']) AS w2 \gset
SELECT enspiral.propose(:h, :cy, 'Mascot', 'ranked', ARRAY['owl', 'cat', 'dog']) AS w3 \gset
SELECT enspiral.propose(:h, :cy, 'Chair', 'stv', ARRAY['cy', 'di', 'gus'], '{"seats": 1}') AS w4 \gset
SELECT enspiral.propose(:h, :cy, 'Logo', 'schulze', ARRAY['x', 'y', 'z']) AS w5 \gset
SELECT enspiral.propose(:h, :cy, 'Projects', 'budget', ARRAY['Pool', 'Bench'],
         '{"budget": 500, "costs": [400, 300], "vote_threshold_percent": 50}') AS w6 \gset
SELECT enspiral.propose(:h, :cy, 'Snacks', 'score', ARRAY['a', 'b']) AS w7 \gset
SELECT enspiral.open_proposal(:h, :w1, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :w2, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :w3, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :w4, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :w5, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :w6, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :w7, now() + interval '3 days', NULL);
SELECT enspiral.vote(:h, :w1, :cy, '"disagree"', 'too long') AS vote_id \gset
SELECT enspiral.vote(:h, :w1, :di, '"agree"', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w1, :gus, '"agree"', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w2, :cy, '["tea"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w2, :di, '["coffee"]', NULL) AS vote_id \gset
SELECT enspiral.vote_as_delegate(:h, :w2, :gus, :flo, '["coffee"]', 'for flo') AS vote_id \gset
SELECT enspiral.vote(:h, :w3, :cy, '["owl", "cat"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w3, :di, '["cat", "dog"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w3, :gus, '["dog", "cat"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w4, :cy, '["cy", "gus"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w4, :di, '["di", "gus"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w4, :gus, '["gus", "di"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w5, :cy, '["x", "y", "z"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w5, :di, '["y", "z", "x"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w5, :gus, '["z", "y", "x"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w6, :cy, '["Pool"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w6, :di, '["Bench"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w7, :cy, '{"a": 5, "b": 0}', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :w7, :di, '{"a": 1, "b": 4}', NULL) AS vote_id \gset
SELECT enspiral.tally(:h, :w1, :cy) AS tally;
SELECT enspiral.tally(:h, :w2, :cy) AS tally;
SELECT member_id = :flo AS flo, ballot, cast_by = :gus AS by_gus FROM enspiral.stances(:h, :w2) ORDER BY 1, 2;
-- di carries ed's vote, gus flo's (cast for flo on w2: flo's own vote)
SELECT m.member_key, c.direct, c.delegated
  FROM enspiral.carried_weights(:h, :w1) c JOIN enspiral.members(:h) m USING (member_id) ORDER BY 1;
SELECT m.member_key, c.direct, c.delegated
  FROM enspiral.carried_weights(:h, :w2) c JOIN enspiral.members(:h) m USING (member_id) ORDER BY 1;
SELECT enspiral.close_proposal(:h, :w1);
SELECT enspiral.close_proposal(:h, :w2);
SELECT enspiral.close_proposal(:h, :w3);
SELECT enspiral.close_proposal(:h, :w4);
SELECT enspiral.close_proposal(:h, :w5);
SELECT enspiral.close_proposal(:h, :w6);
SELECT enspiral.close_proposal(:h, :w7);
SELECT enspiral.outcome(:h, :w1, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :w2, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :w3, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :w4, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :w5, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :w6, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :w7, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT opening, matches FROM enspiral.verify_outcome(:w1);
SELECT opening, matches FROM enspiral.verify_outcome(:w2);
SELECT opening, matches FROM enspiral.verify_outcome(:w3);
SELECT opening, matches FROM enspiral.verify_outcome(:w4);
SELECT opening, matches FROM enspiral.verify_outcome(:w5);
SELECT opening, matches FROM enspiral.verify_outcome(:w6);
SELECT opening, matches FROM enspiral.verify_outcome(:w7);

------------------------------------------------------------------------------
-- one block that writes both groups (on two workers: two-phase commit):
-- a proposal of each method proposed, opened, voted, tallied, closed and
-- read in each group
------------------------------------------------------------------------------
BEGIN;
SELECT enspiral.propose(:g, :ana, 'Block consent', 'consent') AS b1 \gset
SELECT enspiral.propose(:g, :ana, 'Block ranked', 'ranked', ARRAY['a', 'b', 'c']) AS b2 \gset
SELECT enspiral.propose(:g, :ana, 'Block stv', 'stv', ARRAY['Ann', 'Bob', 'Cat'], '{"seats": 2}') AS b3 \gset
SELECT enspiral.propose(:g, :ana, 'Block budget', 'budget', ARRAY['Pool', 'Bench', 'Wifi'],
         '{"budget": 600, "costs": [400, 300, 100], "vote_threshold_percent": 50}') AS b4 \gset
SELECT enspiral.propose(:h, :cy, 'Block copeland', 'copeland', ARRAY['x', 'y', 'z']) AS b5 \gset
SELECT enspiral.propose(:h, :cy, 'Block dots', 'dots', ARRAY['x', 'y']) AS b6 \gset
SELECT enspiral.propose(:h, :cy, 'Block quadratic', 'quadratic', ARRAY['x', 'y']) AS b7 \gset
SELECT enspiral.open_proposal(:g, :b1, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:g, :b2, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:g, :b3, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:g, :b4, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :b5, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :b6, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :b7, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :b1, :ana, '"agree"', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :b1, :ben, '"block"', 'no way') AS vote_id \gset
SELECT enspiral.vote(:g, :b2, :ana, '["c", "a"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :b2, :ben, '["a"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :b2, :cai, '["b", "a"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :b3, :ana, '["Ann", "Bob"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :b3, :ben, '["Bob"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :b3, :cai, '["Cat", "Ann"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :b4, :ana, '["Pool"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:g, :b4, :ben, '["Bench", "Wifi"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b5, :cy, '["y", "x"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b5, :di, '["x", "y", "z"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b5, :gus, '["z"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b6, :cy, '{"x": 3, "y": 5}', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b6, :di, '{"x": 8}', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b7, :cy, '{"x": 6, "y": 8}', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b7, :di, '{"y": 9}', NULL) AS vote_id \gset
SELECT enspiral.tally(:g, :b2, :ana) AS tally;
SELECT enspiral.tally(:h, :b5, :cy) AS tally;
SELECT enspiral.close_proposal(:g, :b1);
SELECT enspiral.close_proposal(:g, :b2);
SELECT enspiral.close_proposal(:g, :b3);
SELECT enspiral.close_proposal(:g, :b4);
SELECT enspiral.close_proposal(:h, :b5);
SELECT enspiral.close_proposal(:h, :b6);
SELECT enspiral.close_proposal(:h, :b7);
SELECT enspiral.outcome(:g, :b1, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:g, :b2, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:g, :b3, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:g, :b4, :ana) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :b5, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :b6, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
SELECT enspiral.outcome(:h, :b7, :cy) AS o \gset
SELECT :'o'::jsonb :strip AS outcome;
COMMIT;
SELECT opening, matches FROM enspiral.verify_outcome(:b1);
SELECT opening, matches FROM enspiral.verify_outcome(:b2);
SELECT opening, matches FROM enspiral.verify_outcome(:b3);
SELECT opening, matches FROM enspiral.verify_outcome(:b4);
SELECT opening, matches FROM enspiral.verify_outcome(:b5);
SELECT opening, matches FROM enspiral.verify_outcome(:b6);
SELECT opening, matches FROM enspiral.verify_outcome(:b7);
-- the recorded outcomes of both groups are chained
SELECT enspiral.link_chain(:g) > 0 AS linked_g;
SELECT enspiral.link_chain(:h) > 0 AS linked_h;
SELECT count(*) AS problems_g FROM enspiral.verify_chain(:g);
SELECT count(*) AS problems_h FROM enspiral.verify_chain(:h);

------------------------------------------------------------------------------
-- the read functions: catalysts (a future year, dates printed relative to
-- it), effect results, and history as of a time
------------------------------------------------------------------------------
SELECT extract(year FROM current_date)::int + 2 AS y \gset
SELECT enspiral.create_group('Rotation', '{"min_catalysts": 2, "catalyst_max_months": 12}') AS k \gset
SELECT enspiral.add_member(:k, 'kai') AS kai \gset
SELECT enspiral.add_member(:k, 'lee') AS lee \gset
SELECT enspiral.add_member(:k, 'mo') AS mo \gset
SELECT enspiral.add_member(:k, 'nia') AS nia \gset
SELECT enspiral.appoint_catalyst(:k, :kai, make_date(:y, 1, 1), 6) > 0 AS kai_term;
SELECT enspiral.appoint_catalyst(:k, :lee, make_date(:y, 4, 1), 6) > 0 AS lee_term;
SELECT enspiral.appoint_catalyst(:k, :mo, current_date, 1) > 0 AS mo_now;
SELECT m.member_key, to_char(p.starts_on, 'MM-DD') AS starts,
       extract(year FROM p.starts_on)::int - :y AS year, p.months
  FROM enspiral.plan_rotation(:k, make_date(:y, 1, 1), make_date(:y + 1, 1, 1)) p
  JOIN enspiral.members(:k) m USING (member_id)
 ORDER BY p.starts_on, m.member_key;
SELECT m.member_key, s.months_served, s.months_left, s.serving, s.eligible
  FROM enspiral.catalyst_service(:k, make_date(:y, 5, 1)) s
  JOIN enspiral.members(:k) m USING (member_id)
 ORDER BY m.member_key;
-- the lines of the members (labelled by member id: the label is cut off)
SELECT regexp_replace(line, '^member [0-9]+ +', '') AS line
  FROM enspiral.catalyst_timeline(:k, make_date(:y, 1, 1), make_date(:y + 1, 1, 1), 48)
       WITH ORDINALITY t(line, n) WHERE n > 2;
SELECT count(*) AS lines FROM enspiral.catalyst_timeline(:k, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
-- called on their own (delegated to the group's node; rows not printed:
-- they hold ids and dates of the run's year)
\o /dev/null
SELECT enspiral.plan_rotation(:k, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
SELECT enspiral.catalyst_service(:k, make_date(:y, 5, 1));
SELECT enspiral.catalyst_timeline(:k, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
\o
-- refusals
SELECT * FROM enspiral.catalyst_service(12345, make_date(:y, 1, 1));
SELECT * FROM enspiral.plan_rotation(12345, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
SELECT * FROM enspiral.catalyst_timeline(12345, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));

-- effect results: a passed proposal with an effect, applied at its close
SELECT enspiral.propose(:k, :kai, 'Warn earlier', 'consent') AS e1 \gset
SELECT enspiral.add_effect(:k, :e1, '{"kind": "change_settings", "settings": {"closing_soon_hours": 2}}') > 0 AS effect;
SELECT enspiral.open_proposal(:k, :e1, now() + interval '1 day', NULL);
SELECT enspiral.vote(:k, :e1, :kai, '"agree"', NULL) AS vote_id \gset
SELECT enspiral.close_proposal(:k, :e1);
SELECT opening, status, position, kind, sqlstate, message FROM enspiral.effect_results(:k, :e1);
SELECT enspiral.effect_results(:k, :e1) AS er \gset
SELECT :'er' AS effect_result;
SELECT settings -> 'closing_soon_hours' AS closing_soon_hours FROM enspiral.groups WHERE group_id = :k;
-- one that did not pass
SELECT enspiral.propose(:k, :kai, 'Warn later', 'consent') AS e2 \gset
SELECT enspiral.add_effect(:k, :e2, '{"kind": "change_settings", "settings": {"closing_soon_hours": 48}}') > 0 AS effect;
SELECT enspiral.open_proposal(:k, :e2, now() + interval '1 day', NULL);
SELECT enspiral.vote(:k, :e2, :kai, '"disagree"', NULL) AS vote_id \gset
SELECT enspiral.close_proposal(:k, :e2);
SELECT opening, status, position, kind FROM enspiral.effect_results(:k, :e2);
SELECT * FROM enspiral.effect_results(:h, :e1);                         -- refused: not in h

-- history as of a time: members, a balance, an outcome, the catalysts
SELECT clock_timestamp() AS t0 \gset
SELECT enspiral.create_round(:g, 'Spring', 10000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_bucket(:r, :ana, 'Bikes', 1000, 5000) AS bikes \gset
SELECT enspiral.allocate(:g, :r, NULL, NULL) AS allocated;
SELECT enspiral.open_bucket(:g, :bikes);
SELECT enspiral.contribute(:g, :bikes, :ben, 700, NULL) > 0 AS contributed;
SELECT enspiral.propose(:g, :ana, 'Later', 'consent') AS p16 \gset
SELECT enspiral.open_proposal(:g, :p16, now() + interval '1 day', NULL);
SELECT enspiral.vote(:g, :p16, :ana, '"agree"', NULL) AS vote_id \gset
SELECT clock_timestamp() AS t1 \gset
SELECT enspiral.close_proposal(:g, :p16);
SELECT enspiral.remove_member(:g, :eve);
SELECT clock_timestamp() AS t2 \gset
SELECT array_agg(member_key ORDER BY member_key) AS members_t1 FROM enspiral.members_as_of(:g, :'t1');
SELECT array_agg(member_key ORDER BY member_key) AS members_t2 FROM enspiral.members_as_of(:g, :'t2');
SELECT count(*) AS members_before_any FROM enspiral.members_as_of(:g, '2000-01-01');
SELECT enspiral.balance_as_of(:g, :r, :ben, :'t0') AS ben_t0;
SELECT enspiral.balance_as_of(:g, :r, :ben, :'t1') AS ben_t1;
SELECT enspiral.balance_as_of(:g, :r, :ana, :'t1') AS ana_t1;
SELECT enspiral.balance_as_of(:g, :r, :cy, :'t1') AS no_account;
SELECT enspiral.outcome_as_of(:g, :p16, :'t1') IS NULL AS not_yet;
SELECT enspiral.outcome_as_of(:g, :p16, :'t2') = enspiral.outcome(:g, :p16, :ana) AS recorded;
SELECT enspiral.outcome_as_of(:g, :p1, :'t2') AS o \gset
SELECT :'o'::jsonb :strip AS outcome_p1;
SELECT enspiral.balance_as_of(:g, :r, :ben, :'t2') AS ben_t2;
SELECT m.member_key, c.ends_on > c.starts_on AS ends_later
  FROM enspiral.catalysts_as_of(:k, :'t2') c JOIN enspiral.members(:k) m USING (member_id);
SELECT count(*) AS catalysts_t0 FROM enspiral.catalysts_as_of(:k, :'t0' ::timestamptz - interval '1 hour');
\o /dev/null
SELECT enspiral.catalysts_as_of(:k, :'t2');
SELECT enspiral.members_as_of(:g, :'t2');
\o
-- refusals
SELECT enspiral.outcome_as_of(:h, :p16, now());
SELECT enspiral.balance_as_of(:h, :r, :ana, now());
SELECT * FROM enspiral.members_as_of(12345, now());
SELECT * FROM enspiral.catalysts_as_of(12345, now());

-- the same reads in one block that reads all three groups
BEGIN;
SELECT count(*) AS planned FROM enspiral.plan_rotation(:k, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
SELECT count(*) AS service FROM enspiral.catalyst_service(:k, make_date(:y, 5, 1));
SELECT count(*) AS lines FROM enspiral.catalyst_timeline(:k, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
SELECT status FROM enspiral.effect_results(:k, :e1);
SELECT count(*) AS members FROM enspiral.members_as_of(:g, :'t2');
SELECT count(*) AS members FROM enspiral.members_as_of(:h, :'t2');
SELECT enspiral.balance_as_of(:g, :r, :ben, :'t2') AS ben_t2;
SELECT enspiral.outcome_as_of(:g, :p16, :'t2') ->> 'passed' AS passed;
SELECT enspiral.outcome_as_of(:h, :w1, :'t2') ->> 'passed' AS passed;
SELECT count(*) AS catalysts FROM enspiral.catalysts_as_of(:k, :'t2');
SELECT enspiral.tally(:h, :w2, :cy) AS tally;
SELECT enspiral.outcome(:g, :p8, :ana) -> 'winners' AS winners;
COMMIT;
-- a block that writes g and h (two workers) and reads them
BEGIN;
SELECT enspiral.propose(:g, :ana, 'Last', 'score', ARRAY['a', 'b']) AS b8 \gset
SELECT enspiral.propose(:h, :cy, 'Last', 'stv', ARRAY['x', 'y', 'z'], '{"seats": 2}') AS b9 \gset
SELECT enspiral.open_proposal(:g, :b8, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :b9, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :b8, :ana, '{"a": 4, "b": 1}', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b9, :cy, '["x", "y"]', NULL) AS vote_id \gset
SELECT enspiral.vote(:h, :b9, :gus, '["z", "y"]', NULL) AS vote_id \gset
SELECT enspiral.close_proposal(:g, :b8);
SELECT enspiral.close_proposal(:h, :b9);
-- as of the statement's time: on Citus an outcome recorded in this block
-- is stamped with the transaction time of the group's node, later than the
-- coordinator's now() (doc/scaling.md)
SELECT enspiral.outcome_as_of(:g, :b8, statement_timestamp()) ->> 'winner' AS winner;
SELECT enspiral.outcome_as_of(:h, :b9, statement_timestamp()) -> 'winners' AS winners;
SELECT count(*) AS members FROM enspiral.members_as_of(:h, now());
SELECT enspiral.balance_as_of(:g, :r, :ben, now()) AS ben_now;
SELECT opening, matches FROM enspiral.verify_outcome(:b8);
SELECT opening, matches FROM enspiral.verify_outcome(:b9);
COMMIT;

-- g and h are on different workers: the blocks above that wrote both were
-- committed with two-phase commit
SELECT count(DISTINCT nodeport) AS workers FROM pg_dist_shard_placement
 WHERE shardid IN (get_shard_id_for_distribution_column('enspiral.groups', :g),
                   get_shard_id_for_distribution_column('enspiral.groups', :h));
