-- Errors an application can use (doc/application.md): every refusal of a
-- form-like input has its own stable SQLSTATE and names the argument or the
-- setting key in the COLUMN field.  This file covers ballots given as text
-- (NS415), the arguments of allocate, allocate_members, apportion and
-- quadratic funding (NS407, NS410-NS414), and every settings refusal (NS006
-- with the key), checked against the settings registry.
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
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'cy') AS cy \gset

------------------------------------------------------------------------------
-- ballots as text: NS415 names the ballot; well-formed calls behave as in 0.1.0
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Lunch', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day');
-- which function each call shape resolves to: untyped literals and unknown
-- parameters go to the text overload, jsonb values to the jsonb one
PREPARE cast_untyped AS SELECT enspiral.vote($1, $2, $3);
PREPARE cast_jsonb(bigint, bigint, jsonb) AS SELECT enspiral.vote($1, $2, $3);
SELECT enspiral.vote(:p, :ana, '"agree"') IS NOT NULL AS untyped_literal;
SELECT enspiral.vote(:p, :ana, '"agree"', 'why not') IS NOT NULL AS untyped_with_reason;
SELECT enspiral.vote(proposal_id => :p, member_id => :ana, ballot => '"abstain"',
                     reason => 'named') IS NOT NULL AS named_arguments;
SELECT enspiral.vote(:p, :ana, '"agree"'::jsonb) IS NOT NULL AS jsonb_literal;
SELECT enspiral.vote(:p, :ana, to_jsonb('agree'::text)) IS NOT NULL AS jsonb_expression;
SELECT enspiral.vote(:p, :ana, '"agree"'::text) IS NOT NULL AS text_value;
EXECUTE cast_untyped(:p, :ben, '"agree"');
EXECUTE cast_jsonb(:p, :ben, '"disagree"');
SELECT member_id, ballot FROM enspiral.stances(:g, :p);
-- not JSON at all: NS415 with COLUMN ballot, whatever the call shape
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L)', :p, :ben, 'agree'));
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L, %L)', :p, :ben, '["agree"', 'x'));
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L::text)', :p, :ben, ''));
SELECT pg_temp.err(format('EXECUTE cast_untyped(%s, %s, %L)', :p, :ben, 'agree'));
-- JSON of the wrong shape stays NS104 with COLUMN ballot
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L)', :p, :ben, '"maybe"'));
-- a jsonb-typed malformed value is refused by jsonb itself, before any call
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L::jsonb)', :p, :ben, 'agree'));
-- NULL ballots: 22004 from either overload
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, NULL)', :p, :ben));
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, NULL::jsonb)', :p, :ben));
-- the order of checks is kept: an unknown proposal with a good ballot is NS101
SELECT pg_temp.err(format('SELECT enspiral.vote(%s, %s, %L)', 999, :ben, '"agree"'));
-- check_ballot has the same two forms
SELECT enspiral.check_ballot('consent', NULL, '{}', '"block"', 'no') AS checked_untyped;
SELECT enspiral.check_ballot('consent', NULL, '{}', '"block"'::jsonb, 'no') AS checked_jsonb;
SELECT pg_temp.err($$SELECT enspiral.check_ballot('consent', NULL, '{}', 'block', 'no')$$);
-- the two overloads and nothing else (and the group-first vote(group_id, ...),
-- doc/scaling.md)
SELECT p.oid::regprocedure AS overload FROM pg_proc p
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.proname IN ('vote', 'check_ballot')
 ORDER BY p.oid::regprocedure::text;

------------------------------------------------------------------------------
-- allocate, allocate_members, apportion, quadratic funding: own codes, argument named
------------------------------------------------------------------------------
SELECT enspiral.create_round(:g, 'Spring', 1000, now(), now() + interval '1 day') AS r \gset
SELECT pg_temp.err(format('SELECT enspiral.allocate(%s, ARRAY[%s, %s, %s])', :r, :ana, :ben, :ana));
SELECT pg_temp.err(format('SELECT enspiral.allocate(%s, ARRAY[%s, %s], ARRAY[1])', :r, :ana, :ben));
SELECT pg_temp.err(format('SELECT enspiral.allocate(%s, NULL, ARRAY[1])', :r));
SELECT pg_temp.err(format('SELECT enspiral.allocate(%s, ARRAY[%s, %s], ARRAY[1, -1])', :r, :ana, :ben));
SELECT pg_temp.err(format('SELECT enspiral.allocate(%s, ARRAY[%s, %s], ARRAY[0, 0])', :r, :ana, :ben));
SELECT pg_temp.err(format('SELECT enspiral.allocate(%s, ARRAY[%s, %s], ARRAY[1, %L]::numeric[])', :r, :ana, :ben, 'NaN'));
SELECT pg_temp.err(format('SELECT enspiral.allocate(%s, ARRAY[NULL, %s]::bigint[])', :r, :ben));
SELECT pg_temp.err('SELECT enspiral.allocate(NULL)');
SELECT pg_temp.err(format('SELECT enspiral.allocate_members(%s, %s, ARRAY[%s], ARRAY[10], %L)', :g, :r, :ana, 'double'));
SELECT pg_temp.err(format('SELECT enspiral.allocate_members(%s, %s, ARRAY[%s, %s], ARRAY[10], %L)', :g, :r, :ana, :ben, 'add'));
SELECT pg_temp.err(format('SELECT enspiral.allocate_members(%s, %s, ARRAY[]::bigint[], ARRAY[]::bigint[], %L)', :g, :r, 'add'));
SELECT pg_temp.err(format('SELECT enspiral.allocate_members(%s, %s, ARRAY[%s, %s], ARRAY[10, 10], %L)', :g, :r, :ana, :ana, 'add'));
SELECT pg_temp.err(format('SELECT enspiral.allocate_members(%s, %s, ARRAY[%s], ARRAY[-1], %L)', :g, :r, :ana, 'set'));
SELECT pg_temp.err(format('SELECT enspiral.allocate_members(%s, %s, ARRAY[%s], ARRAY[NULL]::bigint[], %L)', :g, :r, :ana, 'set'));
SELECT pg_temp.err(format('SELECT enspiral.allocate_members(%s, %s, NULL, ARRAY[1], %L)', :g, :r, 'set'));
SELECT pg_temp.err('SELECT enspiral.apportion(-1, ARRAY[1, 2])');
SELECT pg_temp.err('SELECT enspiral.apportion(10, ARRAY[0, 0])');
SELECT pg_temp.err('SELECT enspiral.apportion(10, ARRAY[1, -2])');
SELECT pg_temp.err($$SELECT enspiral.apportion(10, ARRAY[1, 'Infinity']::numeric[])$$);
SELECT pg_temp.err('SELECT enspiral.apportion(10, ARRAY[1, NULL])');
SELECT pg_temp.err('SELECT enspiral.apportion(10, ARRAY[[1], [2]])');
SELECT pg_temp.err('SELECT enspiral.apportion(NULL, ARRAY[1])');
SELECT pg_temp.err('SELECT enspiral.apportion(10, NULL)');
SELECT pg_temp.err($$SELECT * FROM enspiral.quadratic_match(10, ARRAY[1], ARRAY[1, 2], ARRAY[5], NULL, 'standard')$$);
SELECT pg_temp.err($$SELECT * FROM enspiral.quadratic_match(10, ARRAY[1], ARRAY[1], ARRAY[5], NULL, 'fancy')$$);
SELECT enspiral.allocate(:r) AS allocated;
SELECT enspiral.close_round(:r) AS decided;
SELECT pg_temp.err(format('SELECT enspiral.match_round(%s, 10, %L)', :r, 'fancy'));
-- a group with nobody to allocate to
SELECT enspiral.create_group('Empty') AS e \gset
SELECT enspiral.create_round(:e, 'Nobody', 10, now(), now() + interval '1 day') AS er \gset
SELECT pg_temp.err(format('SELECT enspiral.allocate(%s)', :er));

------------------------------------------------------------------------------
-- settings: every declared key, given a value of no possible type, is NS006
-- with the key in COLUMN (group, every method's proposal and rule settings,
-- round); unknown keys, non-objects and rules between keys name theirs
------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.setting_errors(what text, call text, defaults jsonb)
    RETURNS TABLE (scope text, keys bigint, ns006 bigint, naming_the_key bigint) LANGUAGE plpgsql AS $$
DECLARE
    k text;
    st text;
    col text;
    n bigint := 0;
    good bigint := 0;
    named bigint := 0;
BEGIN
    FOR k IN SELECT jsonb_object_keys(defaults) LOOP
        n := n + 1;
        BEGIN
            EXECUTE format(call, jsonb_build_object(k, '[[]]'::jsonb));
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME;
            good := good + (st = 'NS006')::int;
            named := named + (col = k)::int;
        END;
    END LOOP;
    RETURN QUERY SELECT what, n, good, named;
END
$$;
SELECT * FROM pg_temp.setting_errors('group', 'SELECT enspiral.normalize_group_settings(%L)',
                                     enspiral.normalize_group_settings('{}'))
UNION ALL
SELECT * FROM pg_temp.setting_errors('round', 'SELECT enspiral.normalize_round_settings(%L)',
                                     enspiral.normalize_round_settings('{}'))
UNION ALL
SELECT s.* FROM unnest(ARRAY['consent', 'choice', 'score', 'dots', 'ranked', 'quadratic', 'stv',
                             'schulze', 'copeland', 'count', 'time', 'question', 'check']) m,
     LATERAL (SELECT CASE WHEN m IN ('consent', 'count', 'question', 'check') THEN NULL
                          WHEN m = 'time' THEN '{"[2030-01-01 10:00+00,2030-01-01 11:00+00)","[2030-01-02 10:00+00,2030-01-02 11:00+00)"}'
                          ELSE '{a,b,c}' END::text[] AS o) opt,
     LATERAL pg_temp.setting_errors('proposal ' || m,
                                    format('SELECT enspiral.normalize_proposal_settings(%L, %L, %%L)', m, opt.o),
                                    enspiral.normalize_proposal_settings(m, opt.o, '{}')) s;
-- the old key block_needs_reason (read, not stored) names itself too
SELECT pg_temp.err($$SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"block_needs_reason": 1}')$$);
-- unknown keys, non-objects, rules between keys, NULL settings
SELECT pg_temp.err($$SELECT enspiral.create_group('x', '{"colour": "red"}')$$);
SELECT pg_temp.err($$SELECT enspiral.create_group('x', '[1]')$$);
SELECT pg_temp.err($$SELECT enspiral.create_group('x', NULL)$$);
SELECT pg_temp.err($$SELECT enspiral.create_group('x', '{"catalyst_term_months": 30, "catalyst_max_months": 12}')$$);
SELECT pg_temp.err(format($$SELECT enspiral.update_group_settings(%s, '{"min_catalysts": 1.5}')$$, :g));
SELECT pg_temp.err(format($$SELECT enspiral.update_group_settings(%s, '{"may_allocate": "nobody"}')$$, :g));
SELECT pg_temp.err(format($$SELECT enspiral.update_group_settings(%s, '{"catalyst_min_days_per_week": 0}')$$, :g));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'choice', '{a,b}', '{"min_choices": 2, "max_choices": 1}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'choice', '{a,b}', '{"max_choices": 3}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'score', '{a,b}', '{"min_score": 5}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'ranked', '{a,b}', '{"min_ranks": 2, "max_ranks": 1}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'stv', '{a,b}', '{"seats": 3}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'choice', '{a,none_of_the_above}', '{"none_of_the_above": true}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'consent', NULL, '{"anonymous": true, "weighted": true}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'consent', NULL, '{"max_choices": 2}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'consent', NULL, '{"pass_share": "3/2"}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'consent', NULL, '{"reason_max_length": 0}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'consent', NULL, '{"hide_results": "later"}')$$, :g, :ana));
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'consent', NULL, '{"threshold_pct": 100.5}')$$, :g, :ana));
SELECT enspiral.propose(:g, :ana, 'Draft', 'consent') AS d \gset
SELECT pg_temp.err(format($$SELECT enspiral.update_proposal(%s, %s, '{"settings": {"quorum_pct": -1}}')$$, :g, :d));
SELECT pg_temp.err(format($$SELECT enspiral.create_round(%s, 'x', 10, now(), now() + interval '1 day', '{"underfunded": "burn"}')$$, :g));
SELECT pg_temp.err(format($$SELECT enspiral.create_round(%s, 'x', 10, now(), now() + interval '1 day', '{"max_per_member_per_bucket": 0}')$$, :g));
SELECT pg_temp.err(format($$SELECT enspiral.create_round(%s, 'x', 10, now(), now() + interval '1 day', '{"bucket_creation_closes_at": "tomorrow"}')$$, :g));
SELECT pg_temp.err(format($$SELECT enspiral.create_round(%s, 'x', 10, now(), now() + interval '1 day', '{"bucket_creation_closes_at": "2999-01-01T00:00:00Z"}')$$, :g));
SELECT pg_temp.err(format($$SELECT enspiral.create_round(%s, 'x', 10, now(), now() + interval '1 day', NULL)$$, :g));
SELECT pg_temp.err($$SELECT enspiral.check_budget_ballot(ARRAY[10, 20], 30, ARRAY[1], '{"voting_rule": "most"}')$$);
SELECT pg_temp.err($$SELECT enspiral.check_budget_ballot(ARRAY[10, 20], 30, ARRAY[1], '{"vote_threshold_percent": 101}')$$);
SELECT pg_temp.err($$SELECT enspiral.check_budget_ballot(ARRAY[10, 20], 30, ARRAY[1], '{"colour": 1}')$$);
-- the other amounts, weights, modes and options of form-like calls
SELECT pg_temp.err(format('SELECT enspiral.top_up_round(%s, %s, 0)', :g, :r));
SELECT pg_temp.err(format('SELECT enspiral.withdraw_contribution(%s, 1, %s, 0)', :g, :ana));
SELECT pg_temp.err(format('SELECT enspiral.set_vote_weight(%s, %s, -1)', :g, :ana));
SELECT pg_temp.err($$SELECT enspiral.budget_vote_allowed('most', 1, ARRAY[1, 2], ARRAY[]::bigint[], 1)$$);
SELECT pg_temp.err(format($$SELECT enspiral.propose(%s, %s, 'x', 'time', '{"[2030-01-01 10:00+00,)", "[2030-01-02 10:00+00,2030-01-02 11:00+00)"}')$$, :g, :ana));
-- values that pass are stored normalized, the same as before the registry
SELECT enspiral.normalize_group_settings('{"catalyst_term_months": 6.0, "catalyst_min_days_per_week": 2.50}')
         -> 'catalyst_term_months' AS months,
       enspiral.normalize_group_settings('{"catalyst_min_days_per_week": 2.50}') -> 'catalyst_min_days_per_week' AS days;
SELECT enspiral.normalize_round_settings('{"max_per_member_per_bucket": 100.0, "currency": "EUR"}') AS round_settings;
SELECT enspiral.normalize_proposal_settings('consent', NULL, '{"threshold_pct": 66.50, "hide_results": true}') AS proposal_settings;

------------------------------------------------------------------------------
-- proposals(): voted and electorate are counted from what changed since the
-- opening (bench app_read); they agree with compute_outcome() whatever
-- happened: leavers who voted or not, joiners added with add_voter, voters
-- removed and added again, invited electorates, anonymous ballots, closes
------------------------------------------------------------------------------
SELECT enspiral.create_group('Counts') AS c \gset
SELECT count(enspiral.add_member(:c, 'm' || i)) AS added FROM generate_series(1, 8) i;
SELECT min(member_id) AS m1 FROM enspiral.members WHERE group_id = :c \gset
SELECT enspiral.propose(:c, :m1, 'Named', 'consent') AS n1 \gset
SELECT enspiral.propose(:c, :m1, 'Invited', 'consent', NULL, '{"voters": "invited"}') AS n2 \gset
SELECT enspiral.propose(:c, :m1, 'Anonymous', 'consent', NULL, '{"anonymous": true}') AS n3 \gset
SELECT enspiral.propose(:c, :m1, 'Closed early', 'consent') AS n4 \gset
SELECT enspiral.open_proposal(x, now() + interval '1 day') FROM unnest(ARRAY[:n1, :n2, :n3, :n4]) x;
SELECT enspiral.add_voter(:n2, :m1 + i) FROM generate_series(0, 2) i;
SELECT count(enspiral.vote(x, :m1 + i, '"agree"')) AS votes
  FROM unnest(ARRAY[:n1, :n3, :n4]) x, generate_series(0, 4) i;
SELECT count(enspiral.vote(:n2, :m1 + i, '"agree"')) AS invited_votes FROM generate_series(0, 1) i;
-- m1+3 voted and leaves, m1+6 did not vote and leaves; a newcomer is added
-- to n1; m1+5 is removed from n1, m1+7 removed and added again
SELECT enspiral.remove_member(:c, :m1 + 3), enspiral.remove_member(:c, :m1 + 6);
SELECT enspiral.add_member(:c, 'newcomer') AS newcomer \gset
SELECT enspiral.add_voter(:n1, :newcomer);
SELECT enspiral.remove_voter(:c, :n1, :m1 + 5), enspiral.remove_voter(:c, :n1, :m1 + 7);
SELECT enspiral.add_voter(:n1, :m1 + 7);
SELECT enspiral.remove_voter(:c, :n2, :m1 + 2);
SELECT enspiral.close_proposal(:n4);
SELECT x.proposal_id, x.state, x.voted, x.electorate,
       (x.voted, x.electorate) IS NOT DISTINCT FROM
       (SELECT ((o ->> 'voted')::bigint, (o ->> 'electorate')::bigint)
          FROM enspiral.compute_outcome(x.proposal_id) o) AS agrees_with_compute_outcome
  FROM enspiral.proposals(:c) x ORDER BY x.proposal_id;
