-- Votes cast by a delegate (doc/decision-rules.md, "Votes cast by a
-- delegate"): enspiral.vote_as_delegate() along the delegation chain frozen
-- at the opening, cast_by in votes, ballot(), stances() and events, a
-- direct vote always winning, and every refusal.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

SELECT enspiral.create_group('Delegates') AS g \gset
SELECT array_agg(enspiral.add_member(:g, 'm' || i) ORDER BY i) = ARRAY[1,2,3,4,5,6,7,8,9]::bigint[] AS ids_1_to_9
  FROM generate_series(1, 9) i;
SELECT enspiral.create_group('Other') AS g2 \gset

CREATE FUNCTION pg_temp.open(method text, options text[], settings jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE p bigint;
BEGIN
    p := enspiral.propose(1, 1, method || ' proposal', method, options, settings);
    PERFORM enspiral.open_proposal(p, now() + interval '1 day');
    RETURN p;
END $$;

-- 1 -> 2 -> 3 (a chain), 4 -> 5 -> 8 (8 leaves later), 6 <-> 7 (a cycle);
-- 2 weighs 3
SELECT enspiral.delegate(:g, 1, 2), enspiral.delegate(:g, 2, 3), enspiral.delegate(:g, 4, 5),
       enspiral.delegate(:g, 5, 8), enspiral.delegate(:g, 6, 7), enspiral.delegate(:g, 7, 6),
       enspiral.set_vote_weight(:g, 2, 3);
SELECT pg_temp.open('choice', '{a,b}') AS d \gset

------------------------------------------------------------------------------
-- Casting for a delegator, directly and transitively
------------------------------------------------------------------------------
SELECT enspiral.vote_as_delegate(:g, :d, 2, 1, '["a"]', 'for 1') IS NOT NULL AS two_for_one;
SELECT enspiral.ballot(:g, :d, 1) - 'cast_at' AS ballot_of_1;
-- 3 is on 1's chain too (1 -> 2 -> 3): its vote replaces 2's
SELECT enspiral.vote_as_delegate(:g, :d, 3, 1, '["b"]') IS NOT NULL AS three_for_one,
       enspiral.vote_as_delegate(:g, :d, 3, 2, '["b"]') IS NOT NULL AS three_for_two;
-- in a cycle each may cast for the other
SELECT enspiral.vote_as_delegate(:g, :d, 7, 6, '["a"]') IS NOT NULL AS seven_for_six,
       enspiral.vote_as_delegate(:g, :d, 6, 7, '["a"]') IS NOT NULL AS six_for_seven;
SELECT member_id, ballot, reason, cast_by FROM enspiral.stances(:g, :d);
-- the history keeps who cast each vote
SELECT member_id, ballot, cast_by, superseded_at IS NOT NULL AS superseded
  FROM enspiral.votes WHERE proposal_id = :d ORDER BY vote_id;
-- the votes are the members' own: each counts with its member's weight
SELECT enspiral.outcome(:d) -> 'totals' AS totals, enspiral.outcome(:d) -> 'weights' AS weights;
-- the event names the delegate as actor and the member as subject
SELECT actor, member_id, payload ? 'cast_by' AS names_delegate, payload ->> 'cast_by' AS cast_by
  FROM enspiral.events WHERE kind = 'vote_cast' AND proposal_id = :d ORDER BY event_id LIMIT 2;

------------------------------------------------------------------------------
-- A direct vote overrides; a delegate never overrides a direct vote
------------------------------------------------------------------------------
SELECT enspiral.vote(:d, 1, '["a"]') IS NOT NULL AS one_votes_itself;
SELECT enspiral.ballot(:g, :d, 1) ? 'cast_by' AS still_by_delegate;
SELECT enspiral.vote_as_delegate(:g, :d, 2, 1, '["b"]');
-- once 1 retracts, its delegates may cast for it again
SELECT enspiral.retract_vote(:g, :d, 1);
SELECT enspiral.vote_as_delegate(:g, :d, 2, 1, '["b"]') IS NOT NULL AS two_for_one_again;

------------------------------------------------------------------------------
-- The chain frozen at the opening decides who may cast for whom
------------------------------------------------------------------------------
-- 3 is not on 4's chain
SELECT enspiral.vote_as_delegate(:g, :d, 3, 4, '["a"]');
-- a delegator cannot cast for its delegate
SELECT enspiral.vote_as_delegate(:g, :d, 1, 2, '["a"]');
-- changes after the opening do not count: 4 stops delegating, 9 starts
SELECT enspiral.undelegate(:g, 4), enspiral.delegate(:g, 9, 3);
SELECT enspiral.vote_as_delegate(:g, :d, 5, 4, '["a"]') IS NOT NULL AS five_for_four_frozen;
SELECT enspiral.vote_as_delegate(:g, :d, 3, 9, '["a"]');
-- a departed member ends the chain: 8 can no longer cast for 4 or 5
SELECT enspiral.vote_as_delegate(:g, :d, 8, 5, '["a"]') IS NOT NULL AS eight_for_five;
SELECT enspiral.remove_member(:g, 8);
SELECT enspiral.vote_as_delegate(:g, :d, 8, 4, '["a"]');

------------------------------------------------------------------------------
-- Refusals
------------------------------------------------------------------------------
SELECT enspiral.vote_as_delegate(:g, :d, 2, 2, '["a"]');
SELECT enspiral.vote_as_delegate(:g, :d, 2, NULL, '["a"]');
SELECT enspiral.vote_as_delegate(:g2, :d, 2, 1, '["a"]');
SELECT enspiral.vote_as_delegate(:g, 999, 2, 1, '["a"]');
SELECT enspiral.vote_as_delegate(:g, :d, 2, 1, '["c"]');
-- the proposal's delegation setting is off
SELECT pg_temp.open('choice', '{a,b}', '{"delegation": false}') AS dn \gset
SELECT enspiral.vote_as_delegate(:g, :dn, 2, 1, '["a"]');
-- anonymous ballots are not linked to their voter
SELECT pg_temp.open('choice', '{a,b}', '{"anonymous": true}') AS an \gset
SELECT enspiral.vote_as_delegate(:g, :an, 2, 1, '["a"]');
-- the member must be in the electorate (voters = invited: only added members)
SELECT pg_temp.open('choice', '{a,b}', '{"voters": "invited"}') AS inv \gset
SELECT enspiral.vote_as_delegate(:g, :inv, 2, 1, '["a"]');
-- not open yet
SELECT enspiral.propose(:g, 1, 'draft', 'choice', '{a,b}') AS dr \gset
SELECT enspiral.vote_as_delegate(:g, :dr, 2, 1, '["a"]');
-- no direct writes of cast_by
UPDATE enspiral.votes SET cast_by = 9 WHERE proposal_id = :d;

------------------------------------------------------------------------------
-- The recorded outcome verifies
------------------------------------------------------------------------------
SELECT enspiral.close_proposal(:d);
SELECT enspiral.outcome(:d) -> 'totals' AS final_totals, v.matches
  FROM enspiral.verify_outcome(:d) v;
SELECT enspiral.vote_as_delegate(:g, :d, 2, 1, '["a"]');

------------------------------------------------------------------------------
-- Weights in the other methods
------------------------------------------------------------------------------
-- a block blocks and an objection objects whatever its weight (member 4
-- weighs 0 now): max_blocks and silence_is_consent count ballots
SELECT enspiral.set_vote_weight(:g, 4, 0);
SELECT pg_temp.open('consent', NULL, '{"max_blocks": 0}') AS c \gset
SELECT pg_temp.open('consent', NULL, '{"silence_is_consent": true}') AS lz \gset
SELECT enspiral.vote(:c, 1, '"agree"') IS NOT NULL, enspiral.vote(:c, 4, '"block"', 'no') IS NOT NULL,
       enspiral.vote(:lz, 4, '"disagree"') IS NOT NULL;
SELECT o -> 'totals' AS totals, o -> 'ballots' AS ballots, o -> 'passed' AS passed
  FROM (SELECT enspiral.outcome(:c) AS o) x;
SELECT o -> 'totals' AS totals, o -> 'ballots' AS ballots, o -> 'passed' AS passed
  FROM (SELECT enspiral.outcome(:lz) AS o) x;
-- stv, schulze and copeland count weights, and show them like the others
-- (1 -> 2 -> 3: 3 carries 1 and 2, who weigh 1 and 3)
SELECT pg_temp.open('stv', '{a,b,c}', '{"seats": 1}') AS st \gset
SELECT pg_temp.open('schulze', '{a,b,c}') AS sz \gset
SELECT enspiral.vote(p, 3, '["a","b"]') IS NOT NULL, enspiral.vote(p, 5, '["b","a"]') IS NOT NULL,
       enspiral.vote(p, 6, '["b","c"]') IS NOT NULL
  FROM unnest(ARRAY[:st, :sz]) p;
SELECT p, o -> 'winner' AS winner, o -> 'totals' AS first_preferences, o -> 'weights' AS weights,
       o -> 'quorum_met' AS quorum_met
  FROM unnest(ARRAY[:st, :sz]) p, LATERAL (SELECT enspiral.outcome(p) AS o) x;
SELECT enspiral.close_proposal(p) FROM unnest(ARRAY[:c, :lz, :st, :sz]) p;
SELECT bool_and(v.matches) AS all_match
  FROM unnest(ARRAY[:c, :lz, :st, :sz]) p, LATERAL enspiral.verify_outcome(p) v;
