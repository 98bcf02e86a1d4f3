-- Decision rules (doc/decision-rules.md): hide_results modes, reason rules,
-- retract_vote, voters = invited and remove_voter, pass shares for every
-- method, silence as consent, vote weights and transitive delegation.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

SELECT enspiral.create_group('Rules') AS g \gset
SELECT array_agg(enspiral.add_member(:g, 'm' || i) ORDER BY i) AS m FROM generate_series(1, 8) i \gset
SELECT :'m'::bigint[] = ARRAY[1,2,3,4,5,6,7,8]::bigint[] AS ids_are_1_to_8;
SELECT enspiral.create_group('Other') AS g2 \gset

CREATE FUNCTION pg_temp.open(method text, options text[], settings jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE p bigint;
BEGIN
    p := enspiral.propose(1, 1, method || ' proposal', method, options, settings);
    PERFORM enspiral.open_proposal(p, now() + interval '1 day');
    RETURN p;
END $$;

------------------------------------------------------------------------------
-- Settings: new keys, old values, contradictions
------------------------------------------------------------------------------
SELECT s ->> 'hide_results' AS hide, s ->> 'reason_required' AS reason
  FROM (VALUES ('{"hide_results": true}'::jsonb), ('{"hide_results": false}'),
               ('{"hide_results": "until_vote"}'), ('{"block_needs_reason": false}'),
               ('{"reason_required": "disagree_or_block", "block_needs_reason": true}')) v(x),
       LATERAL enspiral.normalize_proposal_settings('consent', NULL, x) s;
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{}') ->> 'reason_required' AS choice_default;
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"hide_results": "later"}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"reason_required": "block", "block_needs_reason": false}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"block_needs_reason": true}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"pass_share": "3/2"}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"pass_share": 0.5}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"pass_share_of": "everyone"}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"reason_max_length": 0}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"anonymous": true, "weighted": true}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"anonymous": true, "voters": "invited"}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"anonymous": true, "hide_results": "until_vote"}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"silence_is_consent": true, "quorum_pct": 10}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b}', '{"silence_is_consent": true}');
SELECT s ->> 'weighted' AS weighted, s ->> 'delegation' AS delegation
  FROM enspiral.normalize_proposal_settings('choice', '{a,b}', '{"anonymous": true}') s;

------------------------------------------------------------------------------
-- Reasons
------------------------------------------------------------------------------
SELECT enspiral.check_ballot('choice', '{a,b}', '{"reason_required": "always"}', '["a"]');
SELECT enspiral.check_ballot('choice', '{a,b}', '{"reason_required": "always"}', '["a"]', 'because');
SELECT enspiral.check_ballot('consent', NULL, '{"reason_required": "disagree_or_block"}', '"disagree"');
SELECT enspiral.check_ballot('consent', NULL, '{"reason_required": "disagree_or_block"}', '"agree"');
SELECT enspiral.check_ballot('consent', NULL, '{"reason_required": "never"}', '"block"');
SELECT enspiral.check_ballot('consent', NULL, '{"reason_max_length": 5}', '"agree"', 'héllo');
SELECT enspiral.check_ballot('consent', NULL, '{"reason_max_length": 5}', '"agree"', 'héllo!');

------------------------------------------------------------------------------
-- hide_results: until_vote and until_closed; results_visible()
------------------------------------------------------------------------------
SELECT pg_temp.open('consent', NULL, '{"hide_results": "until_vote"}') AS hv \gset
SELECT enspiral.outcome(:hv);
SELECT enspiral.outcome(:g, :hv, 2);
SELECT enspiral.vote(:hv, 2, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.outcome(:g, :hv, 2) -> 'totals' AS totals_after_voting;
SELECT enspiral.tally(:g, :hv, 2) -> 'voted' AS tally_after_voting;
SELECT enspiral.results_visible(:g, :hv, 2) AS m2, enspiral.results_visible(:g, :hv, 3) AS m3,
       enspiral.results_visible(:g, :hv, NULL) AS anyone;
SELECT enspiral.results_visible(:g2, :hv, 2);
SELECT pg_temp.open('consent', NULL, '{"hide_results": true}') AS hc \gset
SELECT enspiral.vote(:hc, 2, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.outcome(:g, :hc, 2);
SELECT enspiral.close_proposal(:hc);
SELECT enspiral.results_visible(:g, :hc, NULL) AS visible_once_closed,
       enspiral.outcome(:g, :hc, 3) -> 'passed' AS passed;

------------------------------------------------------------------------------
-- retract_vote
------------------------------------------------------------------------------
SELECT pg_temp.open('choice', '{a,b}') AS r \gset
SELECT enspiral.vote(:r, 1, '["a"]') IS NOT NULL, enspiral.vote(:r, 2, '["b"]') IS NOT NULL;
SELECT enspiral.retract_vote(:g, :r, 1);
SELECT enspiral.outcome(:r) -> 'totals' AS totals, enspiral.outcome(:r) -> 'voted' AS voted;
SELECT count(*) AS rows_kept, count(*) FILTER (WHERE superseded_at IS NULL) AS counted
  FROM enspiral.votes WHERE proposal_id = :r AND member_id = 1;
SELECT enspiral.retract_vote(:g, :r, 1);
SELECT enspiral.retract_vote(:g2, :r, 2);
SELECT enspiral.vote(:r, 1, '["b"]') IS NOT NULL AS votes_again;
SELECT pg_temp.open('choice', '{a,b}', '{"anonymous": true}') AS ra \gset
SELECT enspiral.vote(:ra, 1, '["a"]');
SELECT enspiral.retract_vote(:g, :ra, 1);
SELECT enspiral.close_proposal(:r);
SELECT enspiral.retract_vote(:g, :r, 2);

------------------------------------------------------------------------------
-- voters = invited, add_voter (group-first), remove_voter
------------------------------------------------------------------------------
SELECT pg_temp.open('consent', NULL, '{"voters": "invited"}') AS iv \gset
SELECT enspiral.vote(:iv, 3, '"agree"');
SELECT enspiral.add_voter(:g, :iv, 3), enspiral.add_voter(:g, :iv, 4);
SELECT enspiral.add_voter(:g2, :iv, 5);
SELECT enspiral.vote(:iv, 3, '"agree"') IS NOT NULL AS v3, enspiral.vote(:iv, 4, '"disagree"', 'no') IS NOT NULL AS v4;
SELECT enspiral.outcome(:iv) -> 'electorate' AS electorate, enspiral.outcome(:iv) -> 'totals' AS totals;
SELECT enspiral.remove_voter(:g, :iv, 4);
SELECT enspiral.outcome(:iv) -> 'electorate' AS electorate, enspiral.outcome(:iv) -> 'totals' AS totals;
SELECT enspiral.vote(:iv, 4, '"agree"');
SELECT enspiral.remove_voter(:g, :iv, 4);
SELECT enspiral.remove_voter(:g, :iv, 6);
SELECT enspiral.add_voter(:g, :iv, 4);
SELECT enspiral.vote(:iv, 4, '"agree"') IS NOT NULL AS votes_again;
SELECT member_id, removed_at IS NOT NULL AS removed, restored_at IS NOT NULL AS restored
  FROM enspiral.electorate_removals WHERE proposal_id = :iv;
-- removing from a members electorate
SELECT pg_temp.open('consent', NULL) AS mv \gset
SELECT enspiral.remove_voter(:g, :mv, 8);
SELECT enspiral.outcome(:mv) -> 'electorate' AS electorate_without_8;
SELECT enspiral.remove_voter(:g, :ra, 1);

------------------------------------------------------------------------------
-- Pass shares (exact) and silence as consent
------------------------------------------------------------------------------
-- choice, 2/3 of votes cast: 2 of 3 reaches it (inclusive), not strictly
SELECT pg_temp.open('choice', '{a,b}', '{"pass_share": "2/3"}') AS s1 \gset
SELECT pg_temp.open('choice', '{a,b}', '{"pass_share": "2/3", "pass_share_inclusive": false}') AS s2 \gset
SELECT count(enspiral.vote(p, i, CASE WHEN i < 3 THEN '["a"]' ELSE '["b"]' END::jsonb))
  FROM unnest(ARRAY[:s1, :s2]) p, generate_series(1, 3) i;
SELECT enspiral.outcome(:s1) - 'proposal_id' - 'totals' - 'state' - 'opening' AS inclusive;
SELECT enspiral.outcome(:s2) -> 'passed' AS strictly_passed;
-- of the electorate: 2 of 8 is not 1/2
SELECT pg_temp.open('choice', '{a,b}', '{"pass_share": "1/2", "pass_share_of": "electorate"}') AS s3 \gset
SELECT enspiral.vote(:s3, 1, '["a"]') IS NOT NULL, enspiral.vote(:s3, 2, '["a"]') IS NOT NULL;
SELECT enspiral.outcome(:s3) -> 'support' AS support, enspiral.outcome(:s3) -> 'pass_base' AS base,
       enspiral.outcome(:s3) -> 'passed' AS passed;
-- score: support is the ballots giving the winner a positive score
SELECT pg_temp.open('score', '{a,b}', '{"pass_share": "3/4"}') AS s4 \gset
SELECT enspiral.vote(:s4, 1, '{"a": 5, "b": 0}') IS NOT NULL, enspiral.vote(:s4, 2, '{"a": 4, "b": 1}') IS NOT NULL,
       enspiral.vote(:s4, 3, '{"a": 0, "b": 3}') IS NOT NULL, enspiral.vote(:s4, 4, '{"a": 1, "b": 0}') IS NOT NULL;
SELECT enspiral.outcome(:s4) -> 'winner' AS winner, enspiral.outcome(:s4) -> 'support' AS support,
       enspiral.outcome(:s4) -> 'passed' AS passed;
-- ranked: the winner's last-round count
SELECT pg_temp.open('ranked', '{a,b,c}', '{"pass_share": "3/5"}') AS s5 \gset
SELECT enspiral.vote(:s5, 1, '["a","b"]') IS NOT NULL, enspiral.vote(:s5, 2, '["a"]') IS NOT NULL,
       enspiral.vote(:s5, 3, '["b","a"]') IS NOT NULL, enspiral.vote(:s5, 4, '["c","b"]') IS NOT NULL,
       enspiral.vote(:s5, 5, '["c"]') IS NOT NULL;
SELECT enspiral.outcome(:s5) -> 'winner' AS winner, enspiral.outcome(:s5) -> 'support' AS support,
       enspiral.outcome(:s5) -> 'passed' AS passed;
-- consent with a share of the electorate on top of its threshold
SELECT pg_temp.open('consent', NULL, '{"pass_share": "1/2", "pass_share_of": "electorate"}') AS s6 \gset
SELECT count(enspiral.vote(:s6, i, '"agree"')) FROM generate_series(1, 3) i;
SELECT enspiral.outcome(:s6) -> 'passed' AS three_of_eight;
SELECT enspiral.vote(:s6, 4, '"agree"') IS NOT NULL;
SELECT enspiral.outcome(:s6) -> 'passed' AS four_of_eight;
-- silence is consent: passes with no votes, fails on one objection
SELECT pg_temp.open('consent', NULL, '{"silence_is_consent": true}') AS lz \gset
SELECT enspiral.close_proposal(:lz);
SELECT enspiral.outcome(:lz) -> 'passed' AS passed_in_silence, enspiral.outcome(:lz) -> 'voted' AS voted;
SELECT pg_temp.open('consent', NULL, '{"silence_is_consent": true}') AS lz2 \gset
SELECT enspiral.vote(:lz2, 1, '"agree"') IS NOT NULL, enspiral.vote(:lz2, 2, '"disagree"') IS NOT NULL;
SELECT enspiral.outcome(:lz2) -> 'passed' AS passed_with_objection;

------------------------------------------------------------------------------
-- Vote weights
------------------------------------------------------------------------------
SELECT enspiral.set_vote_weight(:g, 1, -1);
SELECT enspiral.set_vote_weight(:g, 1, NULL);
SELECT enspiral.set_vote_weight(:g, 99, 3);
SELECT enspiral.set_vote_weight(:g2, 1, 3);
SELECT enspiral.set_vote_weight(:g, 1, 5), enspiral.set_vote_weight(:g, 2, 0), enspiral.set_vote_weight(:g, 3, 2);
SELECT enspiral.vote_weight(:g, 1) AS w1, enspiral.vote_weight(:g, 2) AS w2, enspiral.vote_weight(:g, 4) AS w4;
SELECT pg_temp.open('choice', '{a,b}') AS w \gset
SELECT pg_temp.open('choice', '{a,b}', '{"weighted": false}') AS wu \gset
SELECT count(enspiral.vote(p, i, CASE WHEN i = 1 THEN '["a"]' ELSE '["b"]' END::jsonb))
  FROM unnest(ARRAY[:w, :wu]) p, generate_series(1, 4) i;
SELECT enspiral.outcome(:w) -> 'totals' AS weighted, enspiral.outcome(:w) -> 'weights' AS weights,
       enspiral.outcome(:w) -> 'winner' AS winner;
SELECT enspiral.outcome(:wu) -> 'totals' AS unweighted, enspiral.outcome(:wu) ? 'weights' AS has_weights;
-- frozen at opening: a later change does not move an open proposal
SELECT enspiral.set_vote_weight(:g, 1, 1);
SELECT enspiral.vote(:w, 1, '["a"]') IS NOT NULL AS votes_again_after_the_change;
SELECT weight FROM enspiral.votes WHERE proposal_id = :w AND member_id = 1 ORDER BY vote_id;
SELECT enspiral.outcome(:w) -> 'totals' AS still_weighted;
SELECT enspiral.set_vote_weight(:g, 1, 5);
-- quorum by weight: 1 of weight 5 out of an electorate weighing 5+0+2+5 = 12
SELECT pg_temp.open('consent', NULL, '{"quorum_pct": 40}') AS wq \gset
SELECT enspiral.vote(:wq, 1, '"agree"') IS NOT NULL;
SELECT enspiral.outcome(:wq) -> 'quorum_met' AS quorum_met, enspiral.outcome(:wq) #> '{weights,electorate}' AS electorate_weight,
       enspiral.outcome(:wq) -> 'passed' AS passed;
-- score, dots and ranked multiply by the weight
SELECT pg_temp.open('score', '{a,b}') AS ws \gset
SELECT enspiral.vote(:ws, 1, '{"a": 1, "b": 0}') IS NOT NULL, enspiral.vote(:ws, 4, '{"a": 0, "b": 4}') IS NOT NULL;
SELECT enspiral.outcome(:ws) -> 'totals' AS score_totals;
SELECT pg_temp.open('ranked', '{a,b,c}') AS wr \gset
SELECT enspiral.vote(:wr, 1, '["c","a"]') IS NOT NULL, enspiral.vote(:wr, 3, '["a"]') IS NOT NULL,
       enspiral.vote(:wr, 4, '["b"]') IS NOT NULL, enspiral.vote(:wr, 5, '["b"]') IS NOT NULL,
       enspiral.vote(:wr, 6, '["b"]') IS NOT NULL;
SELECT enspiral.outcome(:wr) -> 'winner' AS winner, enspiral.outcome(:wr) -> 'rounds' AS rounds,
       enspiral.outcome(:wr) -> 'borda' AS borda;
SELECT enspiral.instant_runoff_rounds(r, w)
  FROM (VALUES (ARRAY[1, 2]::bigint[], 3::bigint), (ARRAY[2], 2), (ARRAY[3], 4), (ARRAY[]::bigint[], 9)) v(r, w);
SELECT enspiral.instant_runoff(r, w) FROM (VALUES (ARRAY[1]::bigint[], -1::bigint)) v(r, w);
SELECT enspiral.set_vote_weight(:g, 1, 1), enspiral.set_vote_weight(:g, 2, 1), enspiral.set_vote_weight(:g, 3, 1);

------------------------------------------------------------------------------
-- Delegation
------------------------------------------------------------------------------
SELECT enspiral.delegate(:g, 1, 1);
SELECT enspiral.delegate(:g, 1, 99);
SELECT enspiral.undelegate(:g, 1);
-- 4 -> 5 -> 6 (6 votes); 1 -> 2 -> 1 (a cycle); 7 -> 8 (8 votes, then leaves)
SELECT enspiral.delegate(:g, 4, 5), enspiral.delegate(:g, 5, 6), enspiral.delegate(:g, 1, 2),
       enspiral.delegate(:g, 2, 1), enspiral.delegate(:g, 7, 8);
SELECT enspiral.delegation_of(:g, 4) AS d4, enspiral.delegation_of(:g, 3) AS d3;
SELECT pg_temp.open('choice', '{a,b}') AS d \gset
SELECT enspiral.vote(:d, 6, '["a"]') IS NOT NULL, enspiral.vote(:d, 3, '["b"]') IS NOT NULL;
SELECT enspiral.outcome(:d) -> 'totals' AS totals, enspiral.outcome(:d) -> 'weights' AS weights,
       (SELECT jsonb_agg(c) FROM enspiral.carried_weights(:g, :d) c) AS carriers;
-- a delegator who votes overrides its delegation; the cycle breaks when 1 votes
SELECT enspiral.vote(:d, 5, '["b"]') IS NOT NULL, enspiral.vote(:d, 1, '["b"]') IS NOT NULL;
SELECT enspiral.outcome(:d) -> 'totals' AS totals, (SELECT jsonb_agg(c) FROM enspiral.carried_weights(:g, :d) c) AS carriers;
-- 8 carries 7's weight; once 8 leaves, its vote stops counting and 7's weight is lost
SELECT enspiral.vote(:d, 8, '["a"]') IS NOT NULL;
SELECT enspiral.outcome(:d) -> 'totals' AS totals;
SELECT enspiral.remove_member(:g, 8);
SELECT enspiral.outcome(:d) -> 'totals' AS totals;
SELECT enspiral.outcome(:d) #> '{weights,cast}' AS cast_weight;
-- delegations changed after the opening do not apply to it
SELECT enspiral.undelegate(:g, 4), enspiral.delegate(:g, 7, 3);
SELECT enspiral.outcome(:d) -> 'totals' AS unchanged;
SELECT enspiral.undelegate(:g, 4);
-- the proposal's delegation setting turns it off
SELECT pg_temp.open('choice', '{a,b}', '{"delegation": false}') AS dn \gset
SELECT enspiral.vote(:dn, 3, '["a"]') IS NOT NULL;
SELECT enspiral.outcome(:dn) -> 'totals' AS without_delegation;
-- recorded outcomes verify
SELECT enspiral.close_proposal(:d), enspiral.close_proposal(:w), enspiral.close_proposal(:wr);
SELECT bool_and(v.matches) AS all_match
  FROM unnest(ARRAY[:d, :w, :wr, :s1, :lz]) p, LATERAL enspiral.verify_outcome(p) v
 WHERE enspiral.proposal_state(p) = 'closed';
-- history: periods are never rewritten
UPDATE enspiral.delegations SET to_member = 3 WHERE from_member = 1;
DELETE FROM enspiral.vote_weights;
