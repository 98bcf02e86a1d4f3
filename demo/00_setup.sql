-- Demo setup: the extension, and a helper that shows a refusal instead of
-- stopping the demo.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS enspiral CASCADE;
CREATE SCHEMA IF NOT EXISTS demo;
RESET client_min_messages;

-- demo.name(group_id, member_id): the person's key, so that the demo shows
-- names where a person is meant
CREATE OR REPLACE FUNCTION demo.name(group_id bigint, member_id bigint) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT m.member_key FROM enspiral.members m
     WHERE m.group_id = name.group_id AND m.member_id = name.member_id
$$;

CREATE OR REPLACE FUNCTION demo.expect_error(sql text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    state text;
    msg text;
BEGIN
    EXECUTE sql;
    RAISE EXCEPTION 'demo: expected a refusal, but this succeeded: %', sql;
EXCEPTION
    WHEN raise_exception THEN
        IF SQLERRM LIKE 'demo: expected a refusal%' THEN RAISE; END IF;
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        RETURN format('refused (%s): %s', state, msg);
    WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        RETURN format('refused (%s): %s', state, msg);
END
$$;

\echo
\echo '=== enspiral demo ==========================================================='
SELECT enspiral.version() AS "enspiral version";
\echo 'A walk through the rules that enspiral keeps inside PostgreSQL, in six parts.'
\echo 'Each part creates its own group (named at the start of the part), so parts'
\echo 'read on their own. People are shown by name; the numbers the database'
\echo 'hands out (member, proposal, bucket and transfer ids) are explained where'
\echo 'they appear. A line "refused (CODE): ..." is the database saying no: CODE is'
\echo 'the SQLSTATE an application would catch (doc/errors.md lists them all).'

