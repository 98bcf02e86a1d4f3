-- Demo setup: the extension, and a helper that shows a refusal instead of
-- stopping the demo.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS enspiral CASCADE;
CREATE SCHEMA IF NOT EXISTS demo;
RESET client_min_messages;

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
