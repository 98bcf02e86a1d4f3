-- Demo: decisions.  A consent proposal, a ranked poll and an anonymous vote,
-- with the database alone deciding what counts.
\echo
\echo '--- 3. Decisions: proposals, votes and outcomes ------------------------------'
\echo 'Group used here: "Loomio crew", five members: hana, ike, jo, kai and lee.'
SELECT enspiral.create_group('Loomio crew') AS dg \gset
SELECT k AS member, enspiral.add_member(:dg, k) AS member_id
  FROM unnest(ARRAY['hana', 'ike', 'jo', 'kai', 'lee']) AS k;
SELECT enspiral.member_id(:dg, 'hana') AS hana, enspiral.member_id(:dg, 'ike') AS ike,
       enspiral.member_id(:dg, 'jo') AS jo, enspiral.member_id(:dg, 'kai') AS kai,
       enspiral.member_id(:dg, 'lee') AS lee \gset

\echo 'Hana proposes a policy by consent (proposal 1): any block stops it, a block'
\echo 'needs a reason, and at least 60% of the members must vote (quorum).'
\echo 'A draft takes no votes:'
SELECT enspiral.propose(:dg, :hana, 'Adopt the remote-work policy', 'consent',
                        settings => '{"quorum_pct": 60}') AS p1 \gset
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :ike, '"agree"')) AS "voting on a draft";
SELECT 'opened until ' || to_char(now() + interval '3 days', 'Dy HH24:MI') AS event FROM enspiral.open_proposal(:p1, now() + interval '3 days') AS x;
SELECT enspiral.proposal_state(:p1) AS state;
\echo 'Hana and Ike agree, Jo abstains (each vote gets an id; true = recorded):'
SELECT enspiral.vote(:p1, :hana, '"agree"') IS NOT NULL AS "hana agrees",
       enspiral.vote(:p1, :ike, '"agree"') IS NOT NULL AS "ike agrees",
       enspiral.vote(:p1, :jo, '"abstain"') IS NOT NULL AS "jo abstains";
\echo 'Kai tries to block without a reason, then to vote "maybe":'
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :kai, '"block"')) AS "a block without a reason";
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :kai, '"maybe"')) AS "not a position";
\echo 'Ike changes his mind: his earlier vote is kept as history, only the last counts.'
SELECT enspiral.vote(:p1, :ike, '"disagree"', 'not before the office move') IS NOT NULL AS revoted,
       enspiral.vote(:p1, :kai, '"agree"') IS NOT NULL AS kai_voted;
\echo 'The count so far: 4 of the 5 members voted (80%, above the 60% quorum);'
\echo 'disagreeing is heard but does not stop consent, only a block would, so it'
\echo 'passes:'
SELECT outcome -> 'totals' AS totals, outcome -> 'voted' AS voted, outcome -> 'quorum_met' AS quorum_met,
       outcome -> 'passed' AS passed
  FROM enspiral.outcome(:p1) AS outcome;
\echo 'Mo joins now (member id 13). Late joiners are not in the electorate, which'
\echo 'was frozen when the proposal opened:'
SELECT enspiral.add_member(:dg, 'mo') AS mo \gset
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :mo, '"agree"')) AS "mo votes";
\echo 'Hana closes it; the outcome is recorded once and is final. Lee, who never'
\echo 'voted, is too late:'
SELECT 'closed' AS event FROM enspiral.close_proposal(:p1) AS x;
SELECT outcome -> 'passed' AS passed, outcome -> 'final' AS final FROM enspiral.outcome(:p1) AS outcome;
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p1, :lee, '"agree"')) AS "after close";
\echo 'Recounting the ballots gives the recorded outcome again:'
SELECT matches AS "recorded outcome verified" FROM enspiral.verify_outcome(:p1);

\echo
\echo 'A ranked poll for the retreat venue (proposal 2), decided by instant runoff:'
\echo 'hana Raglan>Wanaka, ike Raglan>Coromandel, jo Wanaka>Coromandel,'
\echo 'kai Coromandel>Wanaka, lee Wanaka>Raglan.'
SELECT enspiral.propose(:dg, :jo, 'Retreat venue', 'ranked', '{Raglan,Wanaka,Coromandel}') AS p2 \gset
SELECT 'opened until ' || to_char(now() + interval '1 day', 'Dy HH24:MI') AS event FROM enspiral.open_proposal(:p2, now() + interval '1 day') AS x;
SELECT count(enspiral.vote(:p2, m, r)) AS ballots
  FROM (VALUES (:hana, '["Raglan","Wanaka"]'::jsonb), (:ike, '["Raglan","Coromandel"]'),
               (:jo, '["Wanaka","Coromandel"]'), (:kai, '["Coromandel","Wanaka"]'),
               (:lee, '["Wanaka","Raglan"]')) v(m, r);
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p2, :kai, '["Raglan","Raglan"]')) AS "duplicate rank";
\echo 'Round 1: nobody has 3 of the 5 first choices; Coromandel has the fewest and'
\echo 'is eliminated, so kai''s ballot moves to Wanaka. Round 2: Wanaka has 3 of 5.'
SELECT r ->> 'round' AS round, r -> 'counts' AS counts, r ->> 'eliminated' AS eliminated
  FROM jsonb_array_elements(enspiral.outcome(:p2) -> 'rounds') r;
\echo 'The winner, and for comparison only the Borda score of the same ballots'
\echo '(points by rank position; it does not decide):'
SELECT enspiral.outcome(:p2) ->> 'winner' AS winner, enspiral.outcome(:p2) -> 'borda' AS borda;

\echo
\echo 'An anonymous choice with hidden results (proposal 3): ballots carry no voter'
\echo '(so vote() returns no id), one ballot each, and nobody sees the count before'
\echo 'the close. Hana and Ike choose Lee:'
SELECT enspiral.propose(:dg, :kai, 'Who hosts the next meetup?', 'choice', '{Kai,Lee}',
                        '{"anonymous": true, "hide_results": true}') AS p3 \gset
SELECT 'opened until ' || to_char(now() + interval '1 day', 'Dy HH24:MI') AS event FROM enspiral.open_proposal(:p3, now() + interval '1 day') AS x;
SELECT enspiral.vote(:p3, :hana, '["Lee"]') IS NULL AS "no vote id", enspiral.vote(:p3, :ike, '["Lee"]') IS NULL AS "none either";
\echo 'Hana (member 8) tries to vote again, and someone asks for the count early:'
SELECT demo.expect_error(format('SELECT enspiral.vote(%s, %s, %L)', :p3, :hana, '["Kai"]')) AS "voting twice";
SELECT demo.expect_error(format('SELECT enspiral.outcome(%s)', :p3)) AS "results before close";
SELECT 'closed' AS event FROM enspiral.close_proposal(:p3) AS x;
\echo 'After the close: 2 ballots for Lee, none for Kai. A closed anonymous poll'
\echo 'cannot be reopened:'
SELECT enspiral.outcome(:p3) -> 'totals' AS totals, enspiral.outcome(:p3) ->> 'winner' AS winner;
SELECT demo.expect_error(format('SELECT enspiral.reopen_proposal(%s, now() + interval %L)', :p3, '1 day')) AS "reopening it";
