-- Demo: decisions.  A consent proposal, a ranked poll and an anonymous vote,
-- with the database alone deciding what counts.
\echo
\echo '--- 3. Decisions: proposals, votes and outcomes ------------------------------'
SELECT enspiral.create_group('Loomio crew') AS dg \gset
SELECT k AS member, enspiral.add_member(:dg, k) AS member_id
  FROM unnest(ARRAY['hana', 'ike', 'jo', 'kai', 'lee']) AS k;
SELECT enspiral.member_id(:dg, 'hana') AS hana, enspiral.member_id(:dg, 'ike') AS ike,
       enspiral.member_id(:dg, 'jo') AS jo, enspiral.member_id(:dg, 'kai') AS kai,
       enspiral.member_id(:dg, 'lee') AS lee \gset

\echo 'Hana proposes a policy by consent: a block needs a reason, quorum 60%.'
SELECT enspiral.propose(:dg, :hana, 'Adopt the remote-work policy', 'consent',
                        settings => '{"quorum_pct": 60}') AS p1 \gset
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :ike, '"agree"')) AS "voting on a draft";
SELECT 'opened until ' || to_char(now() + interval '3 days', 'Dy HH24:MI') AS event FROM enspiral.open_proposal(:p1, now() + interval '3 days') AS x;
SELECT enspiral.proposal_state(:p1) AS state;
SELECT enspiral.vote(:p1, :hana, '"agree"') AS vote_id,
       enspiral.vote(:p1, :ike, '"agree"') AS vote_id2,
       enspiral.vote(:p1, :jo, '"abstain"') AS vote_id3;
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :kai, '"block"')) AS "a block without a reason";
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :kai, '"maybe"')) AS "not a position";
\echo 'Ike changes his mind: his earlier vote is kept as history, only the last counts.'
SELECT enspiral.vote(:p1, :ike, '"disagree"', 'not before the office move') IS NOT NULL AS revoted,
       enspiral.vote(:p1, :kai, '"agree"') IS NOT NULL AS kai_voted;
SELECT outcome -> 'totals' AS totals, outcome -> 'voted' AS voted, outcome -> 'quorum_met' AS quorum_met,
       outcome -> 'passed' AS passed
  FROM enspiral.outcome(:p1) AS outcome;
\echo 'Late joiners are not in the electorate (frozen when the proposal opened).'
SELECT enspiral.add_member(:dg, 'mo') AS mo \gset
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :mo, '"agree"')) AS "mo votes";
SELECT 'closed' AS event FROM enspiral.close_proposal(:p1) AS x;
SELECT outcome -> 'passed' AS passed, outcome -> 'final' AS final FROM enspiral.outcome(:p1) AS outcome;
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :lee, '"agree"')) AS "after close";
SELECT matches AS "recorded outcome verified" FROM enspiral.verify_outcome(:p1);

\echo
\echo 'A ranked poll for the retreat venue, decided by instant runoff.'
SELECT enspiral.propose(:dg, :jo, 'Retreat venue', 'ranked', '{Raglan,Wanaka,Coromandel}') AS p2 \gset
SELECT 'opened until ' || to_char(now() + interval '1 day', 'Dy HH24:MI') AS event FROM enspiral.open_proposal(:p2, now() + interval '1 day') AS x;
SELECT count(enspiral.vote(:p2, m, r)) AS ballots
  FROM (VALUES (:hana, '["Raglan","Wanaka"]'::jsonb), (:ike, '["Raglan","Coromandel"]'),
               (:jo, '["Wanaka","Coromandel"]'), (:kai, '["Coromandel","Wanaka"]'),
               (:lee, '["Wanaka","Raglan"]')) v(m, r);
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p2, :kai, '["Raglan","Raglan"]')) AS "duplicate rank";
SELECT r ->> 'round' AS round, r -> 'counts' AS counts, r ->> 'eliminated' AS eliminated
  FROM jsonb_array_elements(enspiral.outcome(:p2) -> 'rounds') r;
SELECT enspiral.outcome(:p2) ->> 'winner' AS winner, enspiral.outcome(:p2) -> 'borda' AS borda;

\echo
\echo 'An anonymous, hidden-results choice: ballots carry no voter; one each, final.'
SELECT enspiral.propose(:dg, :kai, 'Who hosts the next meetup?', 'choice', '{Kai,Lee}',
                        '{"anonymous": true, "hide_results": true}') AS p3 \gset
SELECT 'opened until ' || to_char(now() + interval '1 day', 'Dy HH24:MI') AS event FROM enspiral.open_proposal(:p3, now() + interval '1 day') AS x;
SELECT enspiral.vote(:p3, :hana, '["Lee"]') IS NULL AS "no vote id", enspiral.vote(:p3, :ike, '["Lee"]') IS NULL AS "none either";
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p3, :hana, '["Kai"]')) AS "voting twice";
SELECT demo.expect_error(format('SELECT enspiral.outcome(%s)', :p3)) AS "results before close";
SELECT 'closed' AS event FROM enspiral.close_proposal(:p3) AS x;
SELECT enspiral.outcome(:p3) -> 'totals' AS totals, enspiral.outcome(:p3) ->> 'winner' AS winner;
SELECT demo.expect_error(format('SELECT enspiral.reopen_proposal(%s, now() + interval %L)', :p3, '1 day')) AS "reopening it";
