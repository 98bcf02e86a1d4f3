-- The application surface (doc/application.md): the read API, the edit API,
-- form errors with their own SQLSTATE and the offending argument in the
-- COLUMN field, unknown ids, the repeat rule, and the bugs of issue 13.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- err(sql): what an application sees of an error: SQLSTATE, COLUMN field, message
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    st text;
    col text;
    msg text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME, msg = MESSAGE_TEXT;
    RETURN st || ' | ' || coalesce(nullif(col, ''), '-') || ' | ' || msg;
END
$$;

SELECT enspiral.create_group('Co-op') AS g \gset
SELECT enspiral.create_group('Other') AS g2 \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.add_member(:g, 'dee') AS dee \gset
SELECT enspiral.add_member(:g2, 'zed') AS zed \gset

------------------------------------------------------------------------------
-- members
------------------------------------------------------------------------------
SELECT member_id, member_key, left_at IS NULL AS current FROM enspiral.members(:g);
SELECT now() AS before_leave \gset
SELECT enspiral.remove_member(:g, :cy);
SELECT member_id, member_key FROM enspiral.members(:g);
SELECT member_id, member_key, left_at IS NOT NULL AS has_left
  FROM enspiral.members(:g, :'before_leave');
SELECT member_id, member_key FROM enspiral.members(:g, now() - interval '1 day');
SELECT pg_temp.err('SELECT * FROM enspiral.members(999)');

------------------------------------------------------------------------------
-- propose with details; every 0.1.0 call keeps working
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Old style', 'consent') AS p_old \gset
SELECT enspiral.propose(:g, :ana, 'Old style 6', 'choice', '{a,b}', '{}') AS p_old6 \gset
SELECT enspiral.propose(:g, :ana, 'With details', 'choice', '{a,b,c}', '{"max_choices": 2}',
                        'Longer text') AS p \gset
SELECT enspiral.propose(:g, :ana, 'Named', 'consent', details => 'By name') AS p_named \gset
SELECT proposal_id, title, details, method, state FROM enspiral.proposals(:g) ORDER BY proposal_id;

------------------------------------------------------------------------------
-- form errors: own SQLSTATE, the argument in COLUMN
------------------------------------------------------------------------------
SELECT pg_temp.err(format('SELECT enspiral.propose(%s, %s, %L, %L)', :g, :ana, ' ', 'consent'));
SELECT pg_temp.err(format('SELECT enspiral.propose(%s, %s, %L, %L)', :g, :ana, 'x', 'sociocracy'));
SELECT pg_temp.err(format('SELECT enspiral.propose(%s, %s, %L, %L, %L)', :g, :ana, 'x', 'choice', '{a}'));
SELECT pg_temp.err(format('SELECT enspiral.propose(%s, %s, %L, %L, %L)', :g, :ana, 'x', 'choice', '{a,a}'));
SELECT pg_temp.err(format('SELECT enspiral.propose(%s, %s, %L, %L, %L)', :g, :ana, 'x', 'consent', '{a,b}'));
SELECT pg_temp.err($$SELECT enspiral.create_group('')$$);
SELECT pg_temp.err(format('SELECT enspiral.add_member(%s, %L)', :g, ''));
SELECT pg_temp.err(format('SELECT enspiral.open_proposal(%s, now() - interval %L)', :p_old, '1 hour'));
SELECT pg_temp.err(format('SELECT enspiral.open_proposal(%s, now() + interval %L, now() + interval %L)',
                          :p_old, '1 hour', '2 hours'));
SELECT pg_temp.err(format('SELECT enspiral.create_round(%s, %L, 100, now(), now() + interval %L)', :g, '', '1 day'));
SELECT pg_temp.err(format('SELECT enspiral.create_round(%s, %L, -1, now(), now() + interval %L)', :g, 'R', '1 day'));
SELECT pg_temp.err(format('SELECT enspiral.create_round(%s, %L, 1, now(), now() - interval %L)', :g, 'R', '1 day'));
SELECT pg_temp.err(format('SELECT enspiral.create_round(%s, %L, 1, now(), now() + interval %L, %L)',
                          :g, 'R', '1 day', '{"cap": 5}'));
SELECT pg_temp.err(format('SELECT enspiral.create_round(%s, %L, 1, now(), now() + interval %L, %L)',
                          :g, 'R', '1 day', '{"underfunded": "burn"}'));
SELECT pg_temp.err(format('SELECT * FROM enspiral.catalyst_coverage(%s, current_date, current_date)', :g));
SELECT pg_temp.err(format('SELECT * FROM enspiral.plan_rotation(%s, current_date, current_date - 1)', :g));

------------------------------------------------------------------------------
-- update_proposal
------------------------------------------------------------------------------
SELECT enspiral.update_proposal(:g, :p, '{"title": "Renamed", "details": null, "options": ["a", "b", "c", "d"]}');
SELECT title, details, options, settings ->> 'max_choices' AS max_choices
  FROM enspiral.proposals(:g) WHERE proposal_id = :p;
SELECT enspiral.update_proposal(:g, :p, '{"method": "consent", "options": null}');
SELECT method, options, settings ->> 'threshold_pct' AS threshold_pct
  FROM enspiral.proposals(:g) WHERE proposal_id = :p;
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g, :p, '[]'));
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g, :p, '{"author_id": 2}'));
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g, :p, '{"title": 5}'));
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g, :p, '{"title": "  "}'));
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g, :p, '{"method": "vibes"}'));
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g, :p, '{"settings": {"quorum_pct": 200}}'));
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g2, :p, '{"title": "x"}'));
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', 999, :p, '{"title": "x"}'));
SELECT enspiral.open_proposal(:p, now() + interval '1 day');
SELECT enspiral.update_proposal(:g, :p, '{"details": "Now open, still editable"}');
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g, :p, '{"settings": {}}'));
SELECT enspiral.withdraw_proposal(:p_named);
SELECT pg_temp.err(format('SELECT enspiral.update_proposal(%s, %s, %L)', :g, :p_named, '{"title": "late"}'));

------------------------------------------------------------------------------
-- extend_proposal, open_proposal on an open proposal
------------------------------------------------------------------------------
SELECT closes_at AS first_deadline FROM enspiral.proposals(:g) WHERE proposal_id = :p \gset
SELECT enspiral.open_proposal(:p, :'first_deadline');   -- a repeat: nothing changes
SELECT closes_at = :'first_deadline' AS unchanged FROM enspiral.proposals(:g) WHERE proposal_id = :p;
SELECT enspiral.open_proposal(:p, now() + interval '2 days');   -- moves the deadline
SELECT closes_at > :'first_deadline' AS moved FROM enspiral.proposals(:g) WHERE proposal_id = :p;
SELECT pg_temp.err(format('SELECT enspiral.open_proposal(%s, now() + interval %L, now() + interval %L)',
                          :p, '3 days', '1 day'));
SELECT enspiral.extend_proposal(:g, :p, now() + interval '3 hours');
SELECT closes_at < :'first_deadline' AS earlier FROM enspiral.proposals(:g) WHERE proposal_id = :p;
SELECT pg_temp.err(format('SELECT enspiral.extend_proposal(%s, %s, now() - interval %L)', :g, :p, '1 minute'));
SELECT pg_temp.err(format('SELECT enspiral.extend_proposal(%s, %s, NULL)', :g, :p));
SELECT pg_temp.err(format('SELECT enspiral.extend_proposal(%s, %s, now() + interval %L)', :g, :p_old6, '1 day'));
SELECT pg_temp.err(format('SELECT enspiral.extend_proposal(%s, %s, now() + interval %L)', :g, :p_named, '1 day'));
SELECT enspiral.open_proposal(:p_old6, now() + interval '2 days', now() + interval '1 day');
SELECT pg_temp.err(format('SELECT enspiral.extend_proposal(%s, %s, now() + interval %L)', :g, :p_old6, '12 hours'));
SELECT enspiral.extend_proposal(:g, :p_old6, now() + interval '3 days');
SELECT state FROM enspiral.proposals(:g) WHERE proposal_id = :p_old6;

------------------------------------------------------------------------------
-- ballots, stances, voters of a named proposal
------------------------------------------------------------------------------
SELECT enspiral.vote(:p, :ana, '"agree"', 'fine by me') IS NOT NULL AS voted;
-- dee votes and leaves: the vote stops counting (the rule of outcome())
SELECT enspiral.vote(:p, :dee, '"disagree"') IS NOT NULL AS voted;
SELECT enspiral.remove_member(:g, :dee);
SELECT enspiral.ballot(:g, :p, :ana) - 'cast_at' AS ana_ballot,
       (enspiral.ballot(:g, :p, :ana) ->> 'cast_at')::timestamptz <= now() AS cast_before_now;
SELECT enspiral.ballot(:g, :p, :ben) AS ben_ballot;
SELECT member_id, ballot, reason FROM enspiral.stances(:g, :p);
SELECT * FROM enspiral.voters(:g, :p);
SELECT voted, electorate, outcome FROM enspiral.proposals(:g) WHERE proposal_id = :p;
SELECT pg_temp.err(format('SELECT enspiral.ballot(%s, %s, %s)', :g, :p, 999));
SELECT pg_temp.err(format('SELECT enspiral.ballot(%s, %s, %s)', :g, :p, :zed));
SELECT pg_temp.err(format('SELECT enspiral.ballot(%s, %s, %s)', :g2, :p, :zed));
SELECT pg_temp.err(format('SELECT * FROM enspiral.stances(%s, %s)', 999, :p));
SELECT pg_temp.err(format('SELECT * FROM enspiral.voters(%s, %s)', :g, 999));
-- a malformed ballot names the argument
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L)', :p, :ben, '"maybe"'));
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L)', :p, :ben, '["agree"]'));
-- a single choice: "exactly 1"
SELECT enspiral.propose(:g, :ana, 'Pick one', 'choice', '{x,y}') AS one \gset
SELECT enspiral.open_proposal(:one, now() + interval '1 day');
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L)', :one, :ben, '["x", "y"]'));

------------------------------------------------------------------------------
-- proposals(): effective state with time, filters, agreement with outcome()
------------------------------------------------------------------------------
SELECT proposal_id, title, state FROM enspiral.proposals(:g);
SELECT proposal_id, state FROM enspiral.proposals(:g, 'open');
SELECT proposal_id FROM enspiral.proposals(:g, 'open', 1);
SELECT count(*) AS drafts FROM enspiral.proposals(:g, 'draft');
SELECT pg_temp.err(format('SELECT * FROM enspiral.proposals(%s, %L)', :g, 'finished'));
SELECT pg_temp.err('SELECT * FROM enspiral.proposals(999)');
SELECT enspiral.close_proposal(:p);
SELECT state, voted, electorate, outcome ->> 'passed' AS passed,
       outcome = enspiral.outcome(:p) AS same_as_outcome
  FROM enspiral.proposals(:g) WHERE proposal_id = :p;
-- voted and electorate agree with compute_outcome for every proposal
SELECT count(*) AS disagreements
  FROM enspiral.proposals(:g) x
 WHERE x.state NOT IN ('draft', 'withdrawn')
   AND (x.voted, x.electorate) IS DISTINCT FROM
       (SELECT ((o ->> 'voted')::bigint, (o ->> 'electorate')::bigint)
          FROM enspiral.compute_outcome(x.proposal_id) o);
SELECT x.electorate = (SELECT count(*) FROM enspiral.voters(:g, x.proposal_id)) AS voters_are_the_electorate
  FROM enspiral.proposals(:g) x WHERE x.proposal_id IN (:p, :one) ORDER BY x.proposal_id;

------------------------------------------------------------------------------
-- the repeat rule: a finished action repeated is a no-op
------------------------------------------------------------------------------
SELECT enspiral.close_proposal(:p);
SELECT enspiral.withdraw_proposal(:p_named);
SELECT pg_temp.err(format('SELECT enspiral.withdraw_proposal(%s)', :p));

------------------------------------------------------------------------------
-- outcome() after the deadline in a read-only transaction
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Deadline', 'consent') AS dl \gset
SELECT enspiral.open_proposal(:dl, now() + interval '1 day');
SELECT enspiral.vote(:dl, :ben, '"agree"') IS NOT NULL AS voted;
-- the deadline passes (moved by the owner with the guards off)
SET session_replication_role = replica;
UPDATE enspiral.proposals SET opens_at = opens_at - interval '2 days', closes_at = now() - interval '1 hour'
 WHERE proposal_id = :dl;
UPDATE enspiral.votes SET cast_at = cast_at - interval '2 days' WHERE proposal_id = :dl;
RESET session_replication_role;
BEGIN TRANSACTION READ ONLY;
SELECT enspiral.outcome(:dl) ->> 'final' AS final, enspiral.outcome(:dl) -> 'totals' AS totals;
SELECT state, outcome ->> 'voted' AS voted FROM enspiral.proposals(:g) WHERE proposal_id = :dl;
COMMIT;
SELECT count(*) AS recorded_yet FROM enspiral.outcomes WHERE proposal_id = :dl;
SELECT enspiral.outcome(:dl) ->> 'final' AS final;
SELECT count(*) AS recorded_now FROM enspiral.outcomes WHERE proposal_id = :dl;

------------------------------------------------------------------------------
-- verify_outcome: every opening, no error before the close
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Reopened', 'choice', '{a,b}') AS ro \gset
SELECT * FROM enspiral.verify_outcome(:ro);
SELECT enspiral.open_proposal(:ro, now() + interval '1 day');
SELECT enspiral.vote(:ro, :ana, '["a"]') IS NOT NULL AS voted;
SELECT * FROM enspiral.verify_outcome(:ro);
SELECT enspiral.close_proposal(:ro);
SELECT enspiral.reopen_proposal(:ro, now() + interval '1 day');
SELECT enspiral.vote(:ro, :ana, '["b"]') IS NOT NULL AS changed_vote;
SELECT enspiral.vote(:ro, :ben, '["b"]') IS NOT NULL AS voted;
SELECT opening, matches, recomputed -> 'totals' AS totals FROM enspiral.verify_outcome(:ro);
SELECT enspiral.close_proposal(:ro);
SELECT opening, matches, recomputed -> 'totals' AS totals FROM enspiral.verify_outcome(:ro);
SELECT pg_temp.err('SELECT * FROM enspiral.verify_outcome(999)');

------------------------------------------------------------------------------
-- unknown ids: NS002 / NS003 everywhere
------------------------------------------------------------------------------
SELECT pg_temp.err(format('SELECT enspiral.is_member(%s, %s)', 999, :ana));
SELECT pg_temp.err(format('SELECT enspiral.is_member(%s, %s)', :g, 999));
SELECT pg_temp.err(format('SELECT enspiral.member_id(%s, %L)', 999, 'ana'));
SELECT enspiral.member_id(:g, 'nobody') IS NULL AS unknown_key_is_null;
SELECT pg_temp.err('SELECT * FROM enspiral.verify_ledger(999)');
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L)', :one, 999, '["x"]'));
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L)', :one, :cy, '["x"]'));
SELECT pg_temp.err(format('SELECT enspiral.add_voter(%s, %s)', :one, 999));
SELECT enspiral.is_member(:g, :cy) AS cy_is_member;

------------------------------------------------------------------------------
-- rounds, buckets, contributions, balances, round_state, due closings
------------------------------------------------------------------------------
SELECT enspiral.create_round(:g, 'Spring', 1000, now(), now() + interval '1 day') AS r \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'Garden', 100, 600) AS b1 \gset
SELECT enspiral.create_bucket(:r, :ben, 'Tools', 50, 300) AS b2 \gset
SELECT pg_temp.err(format('SELECT enspiral.create_bucket(%s, %s, %L, 500, 100)', :r, :ana, 'Bad'));
SELECT pg_temp.err(format('SELECT enspiral.create_bucket(%s, %s, %L, 0, 0)', :r, :ana, 'Bad'));
SELECT pg_temp.err(format('SELECT enspiral.create_bucket(%s, %s, %L, 0, 10)', :r, :ana, ''));
SELECT enspiral.open_bucket(:b1);
SELECT enspiral.open_bucket(:b1);   -- a repeat
SELECT enspiral.open_bucket(:b2);
SELECT enspiral.contribute(:b1, :ana, 200) IS NOT NULL AS given;
SELECT enspiral.contribute(:b1, :ben, 150) IS NOT NULL AS given;
SELECT enspiral.contribute(:b2, :ben, 100) IS NOT NULL AS given;
SELECT pg_temp.err(format('SELECT enspiral.contribute(%s, %s, 0)', :b1, :ana));
SELECT pg_temp.err(format('SELECT enspiral.contribute(%s, %s, 5)', :b1, 999));
SELECT pg_temp.err(format('SELECT enspiral.try_contribute(%s, %s, 5)', :b1, 999));
SELECT enspiral.try_contribute(:b1, :cy, 5) IS NULL AS former_member_refused_as_null;
SELECT pg_temp.err(format('SELECT enspiral.contribute(%s, %s, 5, %L)', :b1, :ana, ''));
SELECT enspiral.cancel_bucket(:b2) AS refunds;
SELECT enspiral.cancel_bucket(:b2) AS refunds_again;
SELECT round_id, name, state, pool, closed_at IS NULL AS unsettled FROM enspiral.rounds(:g);
SELECT enspiral.round_state(:g, :r);
SELECT bucket_id, author_id, title, state, min_goal, max_goal, total, funders FROM enspiral.buckets(:g, :r);
SELECT bucket_id, member_id, amount, refunded FROM enspiral.contributions(:g, :r);
SELECT * FROM enspiral.balances(:g, :r);
-- a SET allocation below the balance moves money back to the pool (a
-- deallocate transfer): allocated counts it, so allocated - spent = balance
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ana]::bigint[], ARRAY[100]::bigint[], 'set') AS net_from_pool;
SELECT * FROM enspiral.balances(:g, :r);
SELECT count(*) AS rows, count(*) FILTER (WHERE b.allocated - b.spent = b.balance
                                           AND b.balance = enspiral.balance(:r, b.member_id)) AS agreeing
  FROM enspiral.balances(:g, :r) b;
SELECT pg_temp.err(format('SELECT enspiral.balance(%s, %s)', :r, :zed));
SELECT enspiral.balance(:r, :cy) AS never_allocated;
SELECT pg_temp.err(format('SELECT * FROM enspiral.buckets(%s, %s)', :g2, :r));
SELECT pg_temp.err(format('SELECT enspiral.round_state(%s, %s)', 999, :r));
-- a round past its closes_at is closed by time, and settled by the job
SELECT enspiral.create_round(:g, 'Past', 10, now() - interval '2 days', now() - interval '1 day') AS rp \gset
SELECT enspiral.create_round(:g, 'Later', 10, now() + interval '1 day', now() + interval '2 days') AS rl \gset
SELECT round_id, state, closed_at IS NULL AS unsettled FROM enspiral.rounds(:g) ORDER BY round_id;
SELECT enspiral.record_due_closings() AS closed;
SELECT round_id, state, closed_at IS NULL AS unsettled FROM enspiral.rounds(:g) ORDER BY round_id;
SELECT enspiral.record_due_closings() AS closed_again;
SELECT enspiral.close_round(:r) AS decided;
SELECT enspiral.close_round(:r) AS decided_again;
SELECT bucket_id, state, total FROM enspiral.buckets(:g, :r);

------------------------------------------------------------------------------
-- NS203: the detail shows three different times (it printed one three times)
------------------------------------------------------------------------------
SELECT enspiral.create_bucket(:rl, :ana, 'Early', 1, 5) AS be \gset
-- window_times(bucket): the times the detail of a refused contribution shows
CREATE FUNCTION pg_temp.window_times(bucket bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
    t text[];
BEGIN
    PERFORM enspiral.contribute(bucket, 1, 1);
    RETURN 'accepted';
EXCEPTION WHEN SQLSTATE 'NS203' OR SQLSTATE 'NS204' THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    t := regexp_match(d, '^The window of round [0-9]+ is \[(.*), (.*)\); now is (.*)\.$');
    RETURN SQLSTATE || ': ' || coalesce(cardinality(t), 0) || ' times, all different: '
           || coalesce(t[1] <> t[2] AND t[2] <> t[3] AND t[1] <> t[3], false);
END
$$;
SELECT enspiral.open_bucket(:be);
SELECT pg_temp.window_times(:be);
------------------------------------------------------------------------------
-- money overflow: an NS error with the numbers
------------------------------------------------------------------------------
SELECT enspiral.create_round(:g, 'Huge', 9223372036854775807, now(), now() + interval '1 day') AS rh \gset
SELECT enspiral.close_round(:rh);
SELECT enspiral.match_round(:rh, 2);
SELECT pg_temp.err(format('SELECT enspiral.match_round(%s, -1)', :r));

------------------------------------------------------------------------------
-- catalyst terms
------------------------------------------------------------------------------
SELECT enspiral.update_group_settings(:g, '{"min_catalysts": 0}') ->> 'min_catalysts' AS min_catalysts;
SELECT enspiral.appoint_catalyst(:g, :ana, current_date, 2, 2) AS t1 \gset
SELECT enspiral.appoint_catalyst(:g, :ben, current_date + 1, 1, 1) AS t2 \gset
SELECT enspiral.end_catalyst_term(:t1, current_date + 10);
SELECT term_id = :t1 AS first, member_key, starts_on = current_date AS from_today,
       ends_on = CASE WHEN term_id = :t1 THEN current_date + 10 ELSE current_date + 1 + interval '1 month' END AS ends,
       days_per_week, ended_early
  FROM enspiral.catalyst_terms(:g);
SELECT pg_temp.err('SELECT * FROM enspiral.catalyst_terms(999)');
SELECT count(*) AS other_group_terms FROM enspiral.catalyst_terms(:g2);
