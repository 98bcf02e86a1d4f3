-- Demo 6: an application that already has its own polls table adopts the
-- proposal lifecycle, a deadline, and append-only votes.
\echo
\echo '--- 6. An existing application adopts the rules -----------------------------'
\echo 'No enspiral group here: the co-op''s own "Loomio-like" app has had its own'
\echo 'tables (schema pollapp) for years, and adopts enspiral''s rules on them:'
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS pollapp CASCADE;
RESET client_min_messages;
CREATE SCHEMA pollapp;
CREATE TABLE pollapp.polls (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                            question text NOT NULL, status text NOT NULL, closes_at timestamptz);
CREATE TABLE pollapp.votes (poll_id int REFERENCES pollapp.polls, voter text,
                            agree boolean NOT NULL, PRIMARY KEY (poll_id, voter));
INSERT INTO pollapp.polls (question, status, closes_at) VALUES
    ('Adopt a four-day week?', 'Open',   now() + interval '5 days'),
    ('Buy the van?',           'closed', now() - interval '2 days'),
    ('Host the hui in May?',   'draft',  NULL);
SELECT id, question, status FROM pollapp.polls ORDER BY id;

\echo 'Step 1: its status column becomes an enspiral.proposal_state (one byte, strict):'
ALTER TABLE pollapp.polls ALTER COLUMN status TYPE enspiral.proposal_state
    USING lower(status)::enspiral.proposal_state;
SELECT demo.expect_error($$SELECT 'Opened'::enspiral.proposal_state$$) AS "a status that is no state";

\echo 'Step 2: one call attaches the lifecycle guard and the deadline check:'
SELECT enspiral.adopt_lifecycle('pollapp.polls', 'status', 'closes_at') AS triggers;
SELECT enspiral.adopt_append_only('pollapp.votes', 'Votes are final.') AS triggers;

\echo 'Where can each poll go next? (one transition table in C, also used by enspiral''s own proposals)'
SELECT id, question, status, enspiral.next_states(status) AS "may move to"
  FROM pollapp.polls ORDER BY id;

\echo 'The app goes on with its own SQL. Allowed: open the draft, vote, close the poll.'
UPDATE pollapp.polls SET status = 'open', closes_at = now() + interval '7 days' WHERE id = 3;
INSERT INTO pollapp.votes VALUES (1, 'aroha', true), (1, 'ben', false);
UPDATE pollapp.polls SET status = 'closed' WHERE id = 1;

\echo 'Refused, whoever writes the table (the app, an admin in psql, a script):'
SELECT demo.expect_error($$UPDATE pollapp.polls SET status = 'draft' WHERE id = 2$$) AS "closed back to draft";
SELECT demo.expect_error($$UPDATE pollapp.polls SET status = 'open' WHERE id = 2$$) AS "reopen, deadline passed";
SELECT demo.expect_error($$UPDATE pollapp.polls SET closes_at = now() - interval '1 hour' WHERE id = 3$$) AS "open poll, deadline moved into the past";
SELECT demo.expect_error($$UPDATE pollapp.votes SET agree = true WHERE voter = 'ben'$$) AS "changing a vote";
SELECT demo.expect_error($$TRUNCATE pollapp.votes$$) AS "wiping the votes";

\echo 'A reopen with a new deadline is a real move of the lifecycle, so it is allowed:'
UPDATE pollapp.polls SET status = 'open', closes_at = now() + interval '3 days' WHERE id = 2;
SELECT id, question, status, closes_at > now() AS "deadline ahead" FROM pollapp.polls ORDER BY id;

\echo 'States sort by lifecycle position, not alphabetically (btree and hash opclasses in C):'
SELECT string_agg(s::text, ' < ' ORDER BY s) AS "proposal lifecycle order"
  FROM unnest('{withdrawn,closed,open,scheduled,draft}'::enspiral.proposal_state[]) s;
