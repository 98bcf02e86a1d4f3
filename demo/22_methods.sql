-- Demo: counting methods of decisions 2 (doc/voting-methods.md): an
-- election of two stewards by single transferable vote, a Condorcet vote,
-- a meeting poll and a sense check.
\echo
\echo '--- 3b. Decisions: STV, Condorcet, time polls, sense checks ------------------'
SELECT enspiral.create_group('Stewards') AS sg \gset
SELECT k AS member, enspiral.add_member(:sg, k) AS member_id
  FROM unnest(ARRAY['ana', 'ben', 'cy', 'dee', 'eli', 'fay']) AS k;
SELECT enspiral.member_id(:sg, 'ana') AS ana, enspiral.member_id(:sg, 'ben') AS ben,
       enspiral.member_id(:sg, 'cy') AS cy, enspiral.member_id(:sg, 'dee') AS dee,
       enspiral.member_id(:sg, 'eli') AS eli, enspiral.member_id(:sg, 'fay') AS fay \gset

\echo 'Two stewards by STV under the Scottish rules: quota floor(5 / 3) + 1 = 2.'
SELECT enspiral.propose(:sg, :ana, 'Two stewards for 2027', 'stv', '{Ann,Bob,Cat,Dan}',
                        '{"seats": 2, "rules": "scottish"}') AS s1 \gset
SELECT 'opened for a day' AS event FROM enspiral.open_proposal(:s1, now() + interval '1 day') AS x;
SELECT enspiral.vote(:s1, :ana, '["Ann", "Bob"]') IS NOT NULL AS v1, enspiral.vote(:s1, :ben, '["Ann", "Cat"]') IS NOT NULL AS v2,
       enspiral.vote(:s1, :cy, '["Ann"]') IS NOT NULL AS v3, enspiral.vote(:s1, :dee, '["Bob", "Dan"]') IS NOT NULL AS v4,
       enspiral.vote(:s1, :eli, '["Cat", "Bob"]') IS NOT NULL AS v5;
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :s1, :fay, '["Ann", "Ann"]')) AS "a candidate ranked twice";
SELECT 'closed' AS event FROM enspiral.close_proposal(:s1) AS x;
\echo 'Every stage can be audited: who moved, at what transfer value, who was excluded and why.'
SELECT (st ->> 'stage')::int AS stage, st ->> 'action' AS action, st ->> 'candidate' AS candidate,
       st ->> 'transfer_value' AS transfer_value, st -> 'votes' AS votes, st -> 'elected' AS elected,
       st ->> 'tie_break' AS tie_break
  FROM jsonb_array_elements(enspiral.outcome(:s1) #> '{stv,stages}') st;
SELECT enspiral.outcome(:s1) -> 'elected' AS elected, v.matches AS verified
  FROM enspiral.verify_outcome(:s1) v;

\echo 'The same ballots by Meek''s method (9 decimal places, keep values):'
SELECT enspiral.single_transferable_vote(r, 2, 'meek', '{Ann,Bob,Cat,Dan}') -> 'elected' AS meek_elected
  FROM (VALUES ('{1,2}'::bigint[]), ('{1,3}'), ('{1}'), ('{2,4}'), ('{3,2}')) b(r);

\echo 'A Condorcet vote: Schulze ranking with its pairwise matrix.'
SELECT enspiral.propose(:sg, :ana, 'Meeting format', 'schulze', '{online,office,park}') AS s2 \gset
SELECT 'opened for a day' AS event FROM enspiral.open_proposal(:s2, now() + interval '1 day') AS x;
SELECT enspiral.vote(:s2, :ana, '["office", "online"]') IS NOT NULL AS v1,
       enspiral.vote(:s2, :ben, '["office"]') IS NOT NULL AS v2,
       enspiral.vote(:s2, :cy, '["online", "park", "office"]') IS NOT NULL AS v3;
SELECT o -> 'winner' AS winner, o -> 'ranking' AS ranking, o #> '{schulze,pairwise}' AS pairwise
  FROM enspiral.outcome(:s2) o;

\echo 'A meeting poll: slots by yes, then maybe.'
SELECT enspiral.propose(:sg, :ana, 'Retro', 'time',
                        ARRAY['[2030-01-07 10:00+00,2030-01-07 11:00+00)',
                              '[2030-01-08 10:00+00,2030-01-08 11:00+00)']) AS s3 \gset
SELECT 'opened for a day' AS event FROM enspiral.open_proposal(:s3, now() + interval '1 day') AS x;
SELECT enspiral.vote(:s3, :ana, '{"[2030-01-07 10:00+00,2030-01-07 11:00+00)": "yes", "[2030-01-08 10:00+00,2030-01-08 11:00+00)": "maybe"}') IS NOT NULL AS v1,
       enspiral.vote(:s3, :ben, '{"[2030-01-08 10:00+00,2030-01-08 11:00+00)": "yes"}') IS NOT NULL AS v2,
       enspiral.vote(:s3, :cy, '{"[2030-01-07 10:00+00,2030-01-07 11:00+00)": "maybe", "[2030-01-08 10:00+00,2030-01-08 11:00+00)": "yes"}') IS NOT NULL AS v3;
SELECT o -> 'winner' AS best_slot, o -> 'totals' AS answers FROM enspiral.outcome(:s3) o;

\echo 'A sense check: one concern decides the verdict.'
SELECT enspiral.propose(:sg, :ana, 'New onboarding doc', 'check') AS s4 \gset
SELECT 'opened for a day' AS event FROM enspiral.open_proposal(:s4, now() + interval '1 day') AS x;
SELECT enspiral.vote(:s4, :ana, '"looks_good"') IS NOT NULL AS v1,
       enspiral.vote(:s4, :ben, '"concerned"', 'the tax section is out of date') IS NOT NULL AS v2;
SELECT o -> 'totals' AS totals, o -> 'verdict' AS verdict FROM enspiral.outcome(:s4) o;
