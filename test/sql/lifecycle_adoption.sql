-- Adoption: an application that already has a polls table (created before
-- enspiral was installed) takes on the proposal lifecycle and a deadline,
-- end to end, with enspiral.adopt_lifecycle().
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS app CASCADE;
DROP EXTENSION IF EXISTS enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- the application as it was: a text status and a closing time
CREATE SCHEMA app;
CREATE TABLE app.polls (
    id        int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question  text NOT NULL,
    status    text NOT NULL DEFAULT 'draft',
    closes_at timestamptz
);
INSERT INTO app.polls (question, status, closes_at) VALUES
    ('Adopt the new logo?',      'Draft',  NULL),
    ('Fund the retreat?',        'open',   now() + interval '7 days'),
    ('Move the meeting day?',    'closed', now() - interval '7 days'),
    ('Rename the channel?',      'archived', now() - interval '30 days');

-- now enspiral arrives in the same database
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- 1. convert the column: values that are not states are refused, naming the accepted ones
ALTER TABLE app.polls ALTER COLUMN status DROP DEFAULT;
ALTER TABLE app.polls ALTER COLUMN status TYPE enspiral.proposal_state
    USING lower(status)::enspiral.proposal_state;
-- so the application maps its own vocabulary first, then converts
UPDATE app.polls SET status = 'withdrawn' WHERE status = 'archived';
ALTER TABLE app.polls ALTER COLUMN status TYPE enspiral.proposal_state
    USING lower(status)::enspiral.proposal_state;
ALTER TABLE app.polls ALTER COLUMN status SET DEFAULT 'draft';
SELECT id, question, status FROM app.polls ORDER BY id;

-- 2. adopt the lifecycle, with closes_at as the deadline
SELECT enspiral.adopt_lifecycle('app.polls', 'status', 'closes_at');
SELECT tgname, pg_get_triggerdef(t.oid) AS definition
  FROM pg_trigger t WHERE tgrelid = 'app.polls'::regclass ORDER BY tgname;
-- adopting again changes nothing
SELECT enspiral.adopt_lifecycle('app.polls', 'status', 'closes_at');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'app.polls'::regclass;

-- 3. the application keeps working with its own SQL (enspiral need not be on its path)
SET search_path = app;
SELECT id, question FROM polls WHERE status = 'open' ORDER BY id;
SELECT status, count(*) FROM polls GROUP BY status ORDER BY status;
-- open a draft poll for a week, then close it
UPDATE polls SET status = 'open', closes_at = now() + interval '7 days' WHERE id = 1;
UPDATE polls SET status = 'closed' WHERE id = 1;
-- refused moves: back to draft, reopening without a future deadline, leaving withdrawn
UPDATE polls SET status = 'draft' WHERE id = 3;
UPDATE polls SET status = 'open' WHERE id = 3;
UPDATE polls SET status = 'open', closes_at = now() + interval '1 day' WHERE id = 4;
-- the reopen is allowed with a later deadline
UPDATE polls SET status = 'open', closes_at = now() + interval '1 day' WHERE id = 3;
-- an open poll cannot have its deadline moved into the past, nor be created already late
UPDATE polls SET closes_at = now() - interval '1 minute' WHERE id = 2;
INSERT INTO polls (question, status, closes_at) VALUES ('Late?', 'open', now() - interval '1 hour');
-- new polls start anywhere (INSERT is not a transition) and then follow the lifecycle
INSERT INTO polls (question) VALUES ('Buy a kettle?') RETURNING id, status;
UPDATE polls SET status = 'scheduled' WHERE question = 'Buy a kettle?';
UPDATE polls SET status = 'closed' WHERE question = 'Buy a kettle?';
-- the refusal carries SQLSTATE NS010 for the application to catch
DO $$
BEGIN
    UPDATE app.polls SET status = 'draft' WHERE id = 4;
EXCEPTION WHEN SQLSTATE 'NS010' THEN
    RAISE NOTICE 'refused with %: %', SQLSTATE, SQLERRM;
END $$;
RESET search_path;
SELECT id, question, status, closes_at > now() AS closes_in_future FROM app.polls ORDER BY id;

-- 4. the guards fire after the application's own BEFORE triggers, so they judge the final row
CREATE FUNCTION app.reset_on_edit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.question <> OLD.question THEN NEW.status := 'draft'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER reset_on_edit BEFORE UPDATE ON app.polls
    FOR EACH ROW EXECUTE FUNCTION app.reset_on_edit();
UPDATE app.polls SET question = 'Fund the big retreat?' WHERE id = 2;
DROP TRIGGER reset_on_edit ON app.polls;

-- 5. the votes of the polls become append-only
CREATE TABLE app.poll_votes (poll_id int REFERENCES app.polls, voter text, choice boolean,
                             PRIMARY KEY (poll_id, voter));
SELECT enspiral.adopt_append_only('app.poll_votes', 'Votes are final; cast a new poll instead.');
INSERT INTO app.poll_votes VALUES (2, 'ana', true), (2, 'ben', false);
UPDATE app.poll_votes SET choice = true WHERE voter = 'ben';
DELETE FROM app.poll_votes;
TRUNCATE app.poll_votes;
SELECT count(*) AS votes FROM app.poll_votes;

-- 6. names are quoted (%I), so unusual names work and cannot inject SQL
CREATE TABLE app."Poll ""Results""" ("Status; DROP TABLE app.polls; --" enspiral.bucket_state,
                                     "Ends At" timestamptz);
SELECT enspiral.adopt_lifecycle('app."Poll ""Results"""', 'Status; DROP TABLE app.polls; --', 'Ends At');
INSERT INTO app."Poll ""Results""" VALUES ('funded', now() + interval '1 day');
UPDATE app."Poll ""Results""" SET "Status; DROP TABLE app.polls; --" = 'idea';
SELECT to_regclass('app.polls') IS NOT NULL AS polls_still_there;
-- a column name so long that the trigger name is clipped: the returned names are the real ones
CREATE TABLE app.long_names (id int PRIMARY KEY,
    state_of_this_particular_poll_as_seen_by_the_whole_coop_today enspiral.proposal_state,
    deadline timestamptz);
SELECT enspiral.adopt_lifecycle('app.long_names',
       'state_of_this_particular_poll_as_seen_by_the_whole_coop_today', 'deadline') AS made \gset
SELECT n, length(n) AS len,
       EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'app.long_names'::regclass AND tgname = n) AS exists
  FROM unnest(:'made'::text[]) n;

-- 7. adoption refuses what it cannot guard, before creating anything
\set SHOW_CONTEXT never
SELECT enspiral.adopt_lifecycle('app.polls', 'question');
SELECT enspiral.adopt_lifecycle('app.polls', 'no_such_column');
SELECT enspiral.adopt_lifecycle('app.polls', 'status', 'question');
SELECT enspiral.adopt_lifecycle('app.polls', 'status', 'no_such_column');
SELECT enspiral.adopt_lifecycle('app.polls', NULL);
SELECT enspiral.adopt_lifecycle(NULL, 'status');
SELECT enspiral.adopt_lifecycle('app.no_such_table', 'status');
CREATE VIEW app.open_polls AS SELECT * FROM app.polls WHERE status = 'open';
SELECT enspiral.adopt_lifecycle('app.open_polls', 'status');
SELECT enspiral.adopt_append_only('app.open_polls');
SELECT enspiral.adopt_append_only(NULL);
\set SHOW_CONTEXT errors
SELECT tgname FROM pg_trigger WHERE tgrelid = 'app.polls'::regclass AND NOT tgisinternal ORDER BY 1;

-- 8. a domain over the type, and a partitioned table, adopt the same way
CREATE DOMAIN app.poll_status AS enspiral.proposal_state;
CREATE TABLE app.archive (id int, year int, status app.poll_status, PRIMARY KEY (id, year))
    PARTITION BY LIST (year);
CREATE TABLE app.archive_2026 PARTITION OF app.archive FOR VALUES IN (2026);
SELECT enspiral.adopt_lifecycle('app.archive', 'status');
INSERT INTO app.archive VALUES (1, 2026, 'closed');
UPDATE app.archive SET status = 'withdrawn';

SET client_min_messages = warning;
DROP SCHEMA app CASCADE;
RESET client_min_messages;
