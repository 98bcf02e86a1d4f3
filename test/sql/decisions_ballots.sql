-- Methods, settings and ballots: every method's valid and invalid ballots,
-- through enspiral.check_ballot() (what vote() checks) and enspiral.vote().
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- settings: defaults per method
SELECT m, enspiral.normalize_proposal_settings(m, CASE WHEN m = 'consent' THEN NULL ELSE '{a,b,c}'::text[] END, '{}')
  FROM unnest('{consent,choice,score,dots,ranked,quadratic}'::text[]) m;
-- settings and options refused
SELECT enspiral.normalize_proposal_settings('vote', NULL, '{}');
SELECT enspiral.normalize_proposal_settings(NULL, NULL, '{}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, NULL);
SELECT enspiral.normalize_proposal_settings('consent', '{a,b}', '{}');
SELECT enspiral.normalize_proposal_settings('choice', NULL, '{}');
SELECT enspiral.normalize_proposal_settings('choice', '{a}', '{}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,a}', '{}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,NULL}', '{}');
SELECT enspiral.normalize_proposal_settings('choice', '{a," "}', '{}');
SELECT enspiral.normalize_proposal_settings('choice', '{{a,b},{c,d}}', '{}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '[]');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"max_choices": 2}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"anonymous": "yes"}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"quorum_pct": 101}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"quorum_pct": "NaN"}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"max_blocks": 1.5}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"max_blocks": -1}');
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"threshold_pct": 66.67, "threshold_inclusive": true}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b,c}', '{"min_choices": 3, "max_choices": 2}');
SELECT enspiral.normalize_proposal_settings('choice', '{a,b,c}', '{"max_choices": 4}');
SELECT enspiral.normalize_proposal_settings('score', '{a,b}', '{"min_score": 5, "max_score": 5}');
SELECT enspiral.normalize_proposal_settings('ranked', '{a,b}', '{"max_ranks": 3}');
SELECT enspiral.normalize_proposal_settings('ranked', '{a,b,c}', '{"min_ranks": 3, "max_ranks": 2}');
SELECT enspiral.normalize_proposal_settings('dots', '{a,b}', '{"dots_per_member": 0}');
SELECT enspiral.normalize_proposal_settings('quadratic', '{a,b}', '{"credits_per_member": 1e12}');

-- consent
SELECT enspiral.check_ballot('consent', NULL, '{}', b, r)
  FROM (VALUES ('"agree"'::jsonb, NULL), ('"abstain"', NULL), ('"disagree"', NULL),
               ('"block"', 'it breaks our agreements')) v(b, r);
SELECT enspiral.check_ballot('consent', NULL, '{}', '"block"');
SELECT enspiral.check_ballot('consent', NULL, '{}', '"block"', '   ');
SELECT enspiral.check_ballot('consent', NULL, '{"block_needs_reason": false}', '"block"');
SELECT enspiral.check_ballot('consent', NULL, '{}', '"yes"');
SELECT enspiral.check_ballot('consent', NULL, '{}', '["agree"]');
SELECT enspiral.check_ballot('consent', NULL, '{}', '1');

-- choice
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{}', '["coffee"]');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{"max_choices": 2}', '["water","tea"]');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{}', '["coffee","tea"]');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{}', '[]');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{"min_choices": 0}', '[]');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{"max_choices": 3}', '["tea","tea"]');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{}', '["juice"]');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{}', '[1]');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{}', '"tea"');
SELECT enspiral.check_ballot('choice', '{tea,coffee,water}', '{}', '{"tea": 1}');

-- score
SELECT enspiral.check_ballot('score', '{a,b,c}', '{}', '{"a": 5, "b": 0, "c": 2.0}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{}', '{"a": 5, "b": 0}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{"allow_gaps": true}', '{"a": 5}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{}', '{"a": 6, "b": 0, "c": 0}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{}', '{"a": -1, "b": 0, "c": 0}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{"min_score": -2, "max_score": 2}', '{"a": -2, "b": 2, "c": 0}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{}', '{"a": 2.5, "b": 0, "c": 0}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{}', '{"a": "5", "b": 0, "c": 0}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{}', '{"a": 1, "b": 0, "c": 0, "d": 1}');
SELECT enspiral.check_ballot('score', '{a,b,c}', '{}', '[1,2,3]');

-- dots
SELECT enspiral.check_ballot('dots', '{a,b,c}', '{}', '{"a": 5, "c": 3}');
SELECT enspiral.check_ballot('dots', '{a,b,c}', '{}', '{}');
SELECT enspiral.check_ballot('dots', '{a,b,c}', '{}', '{"a": 5, "c": 4}');
SELECT enspiral.check_ballot('dots', '{a,b,c}', '{"dots_per_member": 10}', '{"a": 5, "c": 4}');
SELECT enspiral.check_ballot('dots', '{a,b,c}', '{}', '{"a": -1, "c": 4}');
SELECT enspiral.check_ballot('dots', '{a,b,c}', '{}', '{"a": 1e20}');

-- ranked
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{}', '["c","a"]');
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{}', '["d","c","b","a"]');
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{}', '[]');
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{"min_ranks": 2}', '["a"]');
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{"max_ranks": 2}', '["a","b","c"]');
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{}', '["a","b","a"]');
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{}', '["a","e"]');
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{}', '["a",null]');
SELECT enspiral.check_ballot('ranked', '{a,b,c,d}', '{}', '{"a": 1}');

-- quadratic: the cost is the sum of squares, checked here
SELECT enspiral.check_ballot('quadratic', '{a,b,c}', '{}', '{"a": 6, "b": 8}');
SELECT enspiral.check_ballot('quadratic', '{a,b,c}', '{}', '{"a": 6, "b": 8, "c": 1}');
SELECT enspiral.check_ballot('quadratic', '{a,b,c}', '{}', '{"a": -3}');
SELECT enspiral.check_ballot('quadratic', '{a,b,c}', '{"allow_negative": true}', '{"a": -3, "b": 9}');
SELECT enspiral.check_ballot('quadratic', '{a,b,c}', '{"credits_per_member": 2147483647}',
                             '{"a": 2147483647, "b": 2147483647}');
SELECT enspiral.check_ballot('quadratic', '{a,b,c}', '{"credits_per_member": 2147483647}',
                             '{"a": 46340}');
SELECT enspiral.check_ballot('quadratic', '{a,b,c}', '{}', '{"a": 2147483648}');

-- vote() refuses the same way, naming the proposal
SELECT enspiral.create_group('Ballots') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.propose(:g, :ana, 'Lunch', 'choice', '{tea,coffee}') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day');
SELECT enspiral.vote(:p, :ana, '["juice"]');
SELECT enspiral.vote(:p, :ana, NULL);
SELECT enspiral.vote(:p, :ana, '["tea"]') IS NOT NULL AS voted;
SELECT ballot FROM enspiral.votes WHERE proposal_id = :p;
