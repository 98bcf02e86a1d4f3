-- Guard triggers: enspiral.guard_lifecycle(), enspiral.guard_deadline() and
-- enspiral.guard_append_only() on an application's own tables, every
-- transition through the trigger, and every misuse.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

------------------------------------------------------------------------------
-- guard_lifecycle: every from x to of both lifecycles, through the trigger
------------------------------------------------------------------------------
CREATE TABLE motions (id int PRIMARY KEY, state enspiral.proposal_state);
CREATE TRIGGER motions_state BEFORE UPDATE ON motions
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
CREATE TABLE projects (id int PRIMARY KEY, phase enspiral.bucket_state);
CREATE TRIGGER projects_phase BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('phase');

-- try every move on a fresh row; record what the trigger said
CREATE TEMP TABLE outcome (lifecycle text, f text, t text, ok boolean, sqlstate text);
DO $$
DECLARE
    f text; t text; n int := 0;
BEGIN
    FOREACH f IN ARRAY '{draft,scheduled,open,closed,withdrawn}'::text[] LOOP
        FOREACH t IN ARRAY '{draft,scheduled,open,closed,withdrawn}'::text[] LOOP
            n := n + 1;
            INSERT INTO motions VALUES (n, f::enspiral.proposal_state);
            BEGIN
                UPDATE motions SET state = t::enspiral.proposal_state WHERE id = n;
                INSERT INTO outcome VALUES ('proposal', f, t, true, NULL);
            EXCEPTION WHEN OTHERS THEN
                INSERT INTO outcome VALUES ('proposal', f, t, false, SQLSTATE);
            END;
        END LOOP;
    END LOOP;
    n := 0;
    FOREACH f IN ARRAY '{idea,open,funded,completed,cancelled}'::text[] LOOP
        FOREACH t IN ARRAY '{idea,open,funded,completed,cancelled}'::text[] LOOP
            n := n + 1;
            INSERT INTO projects VALUES (n, f::enspiral.bucket_state);
            BEGIN
                UPDATE projects SET phase = t::enspiral.bucket_state WHERE id = n;
                INSERT INTO outcome VALUES ('bucket', f, t, true, NULL);
            EXCEPTION WHEN OTHERS THEN
                INSERT INTO outcome VALUES ('bucket', f, t, false, SQLSTATE);
            END;
        END LOOP;
    END LOOP;
END $$;
-- the trigger's verdicts, as a matrix (allowed: target state; refused: -)
SELECT f::enspiral.proposal_state AS "from",
       string_agg(CASE WHEN ok THEN t ELSE '-' END, ' ' ORDER BY t::enspiral.proposal_state) AS "to: draft scheduled open closed withdrawn"
  FROM outcome WHERE lifecycle = 'proposal' GROUP BY 1 ORDER BY 1;
SELECT f::enspiral.bucket_state AS "from",
       string_agg(CASE WHEN ok THEN t ELSE '-' END, ' ' ORDER BY t::enspiral.bucket_state) AS "to: idea open funded completed cancelled"
  FROM outcome WHERE lifecycle = 'bucket' GROUP BY 1 ORDER BY 1;
-- every refusal is NS010, and the trigger agrees with can_transition everywhere
SELECT lifecycle, ok, sqlstate, count(*) FROM outcome GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT count(*) AS disagreements FROM outcome
 WHERE ok <> CASE lifecycle
               WHEN 'proposal' THEN enspiral.can_transition(f::enspiral.proposal_state, t::enspiral.proposal_state)
               ELSE enspiral.can_transition(f::enspiral.bucket_state, t::enspiral.bucket_state) END;
-- rows that were refused kept their state
SELECT count(*) AS moved_rows FROM motions m JOIN outcome o ON o.lifecycle = 'proposal'
 WHERE m.id = (array_position('{draft,scheduled,open,closed,withdrawn}'::text[], o.f) - 1) * 5
              + array_position('{draft,scheduled,open,closed,withdrawn}'::text[], o.t)
   AND m.state::text <> CASE WHEN o.ok THEN o.t ELSE o.f END;

-- the messages: the row (by primary key) and the allowed moves
UPDATE motions SET state = 'draft' WHERE id = 16;
UPDATE motions SET state = 'open' WHERE id = 21;
UPDATE projects SET phase = 'idea' WHERE id = 11;
-- the error carries the schema, table and column for clients (PG_DIAG_* fields)
DO $$
DECLARE s text; t text; c text;
BEGIN
    UPDATE motions SET state = 'draft' WHERE id = 16;
EXCEPTION WHEN SQLSTATE 'NS010' THEN
    GET STACKED DIAGNOSTICS s = SCHEMA_NAME, t = TABLE_NAME, c = COLUMN_NAME;
    RAISE NOTICE 'NS010 on %.%.%', s, t, c;
END $$;
-- several rows: one refused row stops the whole statement (row 3 stays open)
UPDATE motions SET state = 'closed' WHERE id IN (3, 4);
SELECT id, state FROM motions WHERE id IN (3, 4) ORDER BY id;
-- other columns may change freely; an unchanged state is no transition
ALTER TABLE motions ADD COLUMN title text;
UPDATE motions SET title = 'renamed' WHERE state = 'withdrawn';
UPDATE motions SET state = state WHERE id = 25;
-- NULL: entering the lifecycle is allowed, leaving it is not
INSERT INTO motions (id, state) VALUES (100, NULL);
UPDATE motions SET state = 'open' WHERE id = 100;
UPDATE motions SET state = NULL WHERE id = 100;
INSERT INTO motions (id, state) VALUES (101, NULL);
UPDATE motions SET title = 'still no state' WHERE id = 101;
-- a composite key is shown whole; a table without a primary key shows no key
CREATE TABLE ballots (round int, n int, state enspiral.proposal_state, PRIMARY KEY (round, n));
CREATE TRIGGER ballots_state BEFORE UPDATE ON ballots
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
INSERT INTO ballots VALUES (3, 7, 'closed');
UPDATE ballots SET state = 'withdrawn';
CREATE TABLE loose (state enspiral.bucket_state);
CREATE TRIGGER loose_state BEFORE UPDATE ON loose
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
INSERT INTO loose VALUES ('completed');
UPDATE loose SET state = 'open';
-- a user who cannot read the table is not shown the key values
CREATE ROLE regress_enspiral_writer;
GRANT USAGE ON SCHEMA enspiral TO regress_enspiral_writer;
CREATE TABLE secret (id int PRIMARY KEY, state enspiral.proposal_state);
CREATE TRIGGER secret_state BEFORE UPDATE ON secret
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
INSERT INTO secret VALUES (42, 'closed');
GRANT UPDATE ON secret TO regress_enspiral_writer;
SET ROLE regress_enspiral_writer;
UPDATE secret SET state = 'draft';
RESET ROLE;
DROP OWNED BY regress_enspiral_writer;
DROP ROLE regress_enspiral_writer;
-- a domain over a lifecycle type is guarded like the type
CREATE DOMAIN poll_state AS enspiral.proposal_state CHECK (VALUE <> 'scheduled');
CREATE TABLE domained (id int PRIMARY KEY, state poll_state);
CREATE TRIGGER domained_state BEFORE UPDATE ON domained
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
INSERT INTO domained VALUES (1, 'open');
UPDATE domained SET state = 'closed';
UPDATE domained SET state = 'draft';
-- partitioned tables: the trigger is cloned to every partition
CREATE TABLE parted (id int, state enspiral.bucket_state, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TRIGGER parted_state BEFORE UPDATE ON parted
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
INSERT INTO parted VALUES (5, 'funded');
UPDATE parted SET state = 'completed';
UPDATE parted SET state = 'idea';

------------------------------------------------------------------------------
-- guard_lifecycle: misuse fails when the trigger fires
------------------------------------------------------------------------------
CREATE TABLE misuse (id int PRIMARY KEY, state enspiral.proposal_state, other text,
                     closes_at timestamptz, closes_on date);
INSERT INTO misuse VALUES (1, 'draft', 'x', now() + interval '1 day', current_date);
-- called directly
SELECT enspiral.guard_lifecycle();
-- wrong timing, level and event
CREATE TRIGGER m1 AFTER UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
UPDATE misuse SET state = 'open';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_lifecycle('state');
UPDATE misuse SET state = 'open';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE INSERT ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
INSERT INTO misuse VALUES (2, 'draft');
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE DELETE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
DELETE FROM misuse;
DROP TRIGGER m1 ON misuse;
-- missing, extra, unknown, system and wrong-type column arguments
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle();
UPDATE misuse SET state = 'open';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state', 'other');
UPDATE misuse SET state = 'open';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('status');
UPDATE misuse SET state = 'open';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('State');
UPDATE misuse SET state = 'open';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('ctid');
UPDATE misuse SET state = 'open';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('other');
UPDATE misuse SET state = 'open';
DROP TRIGGER m1 ON misuse;
-- a column whose type changed after the trigger was made
CREATE TABLE drifted (id int PRIMARY KEY, state enspiral.proposal_state);
CREATE TRIGGER drifted_state BEFORE UPDATE ON drifted
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
INSERT INTO drifted VALUES (1, 'open');
ALTER TABLE drifted ALTER COLUMN state TYPE text;
UPDATE drifted SET state = 'whatever';
-- a dropped column
ALTER TABLE drifted DROP COLUMN state;
UPDATE drifted SET id = 2;

------------------------------------------------------------------------------
-- guard_deadline
------------------------------------------------------------------------------
CREATE TABLE timed (id int PRIMARY KEY, state enspiral.proposal_state, closes_at timestamptz, note text);
CREATE TRIGGER timed_deadline BEFORE INSERT OR UPDATE ON timed
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('state', 'closes_at');
-- open with a future deadline, or none: fine
INSERT INTO timed VALUES (1, 'open', now() + interval '1 day');
INSERT INTO timed VALUES (2, 'open', NULL);
UPDATE timed SET note = 'edited while open' WHERE id = 1;
-- not open: the deadline does not matter
INSERT INTO timed VALUES (3, 'draft', now() - interval '1 day');
INSERT INTO timed VALUES (4, 'closed', now() - interval '1 day');
DO $$
DECLARE s text; t text; c text;
BEGIN
    INSERT INTO timed VALUES (9, 'open', now() - interval '1 day');
EXCEPTION WHEN SQLSTATE 'NS012' THEN
    GET STACKED DIAGNOSTICS s = SCHEMA_NAME, t = TABLE_NAME, c = COLUMN_NAME;
    RAISE NOTICE 'NS012 on %.%.%', s, t, c;
END $$;
-- open with a past deadline (or now: the deadline must be later than now)
INSERT INTO timed VALUES (5, 'open', now() - interval '1 second');
INSERT INTO timed VALUES (5, 'open', now());
UPDATE timed SET state = 'open' WHERE id = 3;
UPDATE timed SET state = 'open' WHERE id = 4;
-- moving the deadline of an open row into the past
UPDATE timed SET closes_at = now() - interval '1 hour' WHERE id = 1;
-- reopening with a later deadline works
UPDATE timed SET state = 'open', closes_at = now() + interval '1 hour' WHERE id = 4;
-- a row whose deadline passed while it was open: frozen until it leaves "open"
BEGIN;
ALTER TABLE timed DISABLE TRIGGER timed_deadline;
UPDATE timed SET closes_at = now() - interval '1 minute' WHERE id = 1;
ALTER TABLE timed ENABLE TRIGGER timed_deadline;
COMMIT;
UPDATE timed SET note = 'late edit' WHERE id = 1;
UPDATE timed SET state = 'closed' WHERE id = 1;
SELECT id, state, note, closes_at > now() AS future FROM timed ORDER BY id;
-- the same for buckets ("open" is a bucket state too)
CREATE TABLE crowd (id int PRIMARY KEY, phase enspiral.bucket_state, funding_ends timestamptz);
CREATE TRIGGER crowd_deadline BEFORE INSERT OR UPDATE ON crowd
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('phase', 'funding_ends');
INSERT INTO crowd VALUES (1, 'idea', now() - interval '1 day');
UPDATE crowd SET phase = 'open' WHERE id = 1;
UPDATE crowd SET phase = 'cancelled' WHERE id = 1;
-- misuse
CREATE TRIGGER m1 AFTER INSERT ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('state', 'closes_at');
INSERT INTO misuse VALUES (3, 'draft');
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE DELETE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('state', 'closes_at');
DELETE FROM misuse;
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('state');
UPDATE misuse SET other = 'y';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('other', 'closes_at');
UPDATE misuse SET other = 'y';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('state', 'closes_on');
UPDATE misuse SET other = 'y';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('state', 'closes');
UPDATE misuse SET other = 'y';
DROP TRIGGER m1 ON misuse;
SELECT enspiral.guard_deadline();

------------------------------------------------------------------------------
-- guard_append_only
------------------------------------------------------------------------------
CREATE TABLE journal (id int PRIMARY KEY, entry text);
CREATE TRIGGER journal_rows BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only();
CREATE TRIGGER journal_truncate BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only('Write a correcting entry instead.');
INSERT INTO journal VALUES (1, 'first'), (2, 'second');
UPDATE journal SET entry = 'changed' WHERE id = 2;
DELETE FROM journal WHERE id = 1;
TRUNCATE journal;
DO $$
DECLARE s text; t text;
BEGIN
    DELETE FROM journal;
EXCEPTION WHEN SQLSTATE 'NS011' THEN
    GET STACKED DIAGNOSTICS s = SCHEMA_NAME, t = TABLE_NAME;
    RAISE NOTICE 'NS011 on %.%', s, t;
END $$;
-- statements that touch no row are not refused; nothing changed
UPDATE journal SET entry = 'nothing' WHERE id = 99;
SELECT * FROM journal ORDER BY id;
-- the built-in members table is append-only through the same function
SELECT enspiral.create_group('Guards') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
UPDATE enspiral.members SET member_key = 'eve' WHERE member_id = :ana;
DELETE FROM enspiral.members WHERE member_id = :ana;
-- (the NOTICE listing cascaded tables depends on which parts are installed)
SET client_min_messages = warning;
TRUNCATE enspiral.members CASCADE;
RESET client_min_messages;
DO $$
BEGIN
    DELETE FROM enspiral.members;
EXCEPTION WHEN SQLSTATE 'NS011' THEN
    RAISE NOTICE 'caught %', SQLSTATE;
END $$;
SELECT count(*) AS members FROM enspiral.members;
-- misuse
SELECT enspiral.guard_append_only();
CREATE TRIGGER m1 BEFORE INSERT ON journal FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only();
INSERT INTO journal VALUES (3, 'third');
DROP TRIGGER m1 ON journal;
CREATE TRIGGER m1 AFTER DELETE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only();
DELETE FROM misuse;
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE UPDATE ON misuse FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only();
UPDATE misuse SET other = 'z';
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 AFTER TRUNCATE ON misuse FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only();
TRUNCATE misuse;
DROP TRIGGER m1 ON misuse;
CREATE TRIGGER m1 BEFORE DELETE ON misuse FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only('a', 'b');
DELETE FROM misuse;
DROP TRIGGER m1 ON misuse;
CREATE VIEW misuse_v AS SELECT * FROM misuse;
CREATE TRIGGER m1 INSTEAD OF DELETE ON misuse_v FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only();
DELETE FROM misuse_v;
SELECT count(*) AS misuse_rows FROM misuse;

DROP VIEW misuse_v;
DROP TABLE motions, projects, ballots, loose, secret, domained, parted, misuse, drifted, timed, crowd, journal;
DROP DOMAIN poll_state;
