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
-- the two overloads and nothing else
SELECT p.oid::regprocedure AS overload FROM pg_proc p
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.proname IN ('vote', 'check_ballot')
 ORDER BY 1::text;

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
