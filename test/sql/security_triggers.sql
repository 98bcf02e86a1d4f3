-- Security of the trigger functions (issue #19, high): the trigger functions
-- of enspiral's own tables read its columns by type.  Attached to a table
-- with look-alike columns of other types they crashed the server (signal
-- 11), faked catalyst changes (coverage rule off) or held a proposal's lock.
--  * nobody but a superuser may attach them: EXECUTE is revoked from PUBLIC
--    (CREATE TRIGGER checks it), and applications are not granted them;
--  * each checks, by OID, that it fires on its own table, so not even a
--    superuser's mistake reads a foreign row (39P01);
--  * the generic guards users attach to their own tables check the type and
--    position of every column they read.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_nobody') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_nobody'; DROP ROLE regress_enspiral_nobody;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_trig_app') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_trig_app'; DROP ROLE regress_enspiral_trig_app;
    END IF;
END $$;
CREATE ROLE regress_enspiral_nobody;
CREATE ROLE regress_enspiral_trig_app;
SELECT format('GRANT TEMPORARY ON DATABASE %I TO regress_enspiral_nobody, regress_enspiral_trig_app',
              current_database()) \gexec
SELECT count(*) > 0 AS granted FROM enspiral.grant_application('regress_enspiral_trig_app');
RESET client_min_messages;
\set VERBOSITY terse

-- the trigger functions of the extension's tables, and the tables they fire on
SELECT p.oid::regprocedure AS trigger_function, l.lanname AS language,
       string_agg(DISTINCT t.tgrelid::regclass::text, ', ') AS fires_on
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
  LEFT JOIN pg_trigger t ON t.tgfoid = p.oid
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prorettype = 'trigger'::regtype
 GROUP BY 1, 2 ORDER BY 1;

CREATE TEMP TABLE make_pg_temp ();
-- a role with no grants and an application role: a temporary table with
-- look-alike columns of other types, each internal trigger function
-- attached to it, every time refused by CREATE TRIGGER's EXECUTE check
CREATE FUNCTION pg_temp.attach_each(tbl text) RETURNS TABLE (trigger_function text, refused_with text)
    LANGUAGE plpgsql AS $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_proc p
              WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prorettype = 'trigger'::regtype
                AND p.proname NOT IN ('guard_lifecycle', 'guard_deadline', 'guard_append_only')
              ORDER BY p.oid::regprocedure::text LOOP
        trigger_function := f::text;
        BEGIN
            EXECUTE format('CREATE TRIGGER look_alike AFTER INSERT OR UPDATE OR DELETE ON %s '
                           'FOR EACH ROW EXECUTE FUNCTION %s', tbl, f);
            EXECUTE format('DROP TRIGGER look_alike ON %s', tbl);
            refused_with := 'attached';
        EXCEPTION WHEN OTHERS THEN
            refused_with := SQLSTATE;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.attach_each(text) TO PUBLIC;
SET ROLE regress_enspiral_nobody;
CREATE TEMP TABLE catalyst_terms (group_id text, term_id text, member_id text, starts_on text,
                                  months text, days_per_week text, ended_on text,
                                  planned_ends_on text, period text, months_counted text,
                                  proposal_id text, state text, left_at text);
SELECT * FROM pg_temp.attach_each('pg_temp.catalyst_terms');
-- the crash of the report, step by step
CREATE TRIGGER crash AFTER INSERT ON pg_temp.catalyst_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_record();
CREATE TRIGGER lock_holder BEFORE INSERT ON pg_temp.catalyst_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.proposals_guard();
SELECT enspiral.catalyst_terms_record();
RESET ROLE;
SET ROLE regress_enspiral_trig_app;
CREATE TEMP TABLE transfers (group_id text, transfer_id text, round_id text, from_account text,
                             to_account text, amount text, reverses text);
SELECT * FROM pg_temp.attach_each('pg_temp.transfers');
CREATE TRIGGER apply AFTER INSERT ON pg_temp.transfers
    FOR EACH ROW EXECUTE FUNCTION enspiral.ledger_apply();
RESET ROLE;

-- a superuser may attach them (EXECUTE does not bind superusers), but each
-- refuses to fire on any table but its own, before it reads a column
CREATE TEMP TABLE look_alike (group_id text, term_id text, member_id text, starts_on text,
                              months text, days_per_week text, ended_on text,
                              planned_ends_on text, period text, months_counted text,
                              proposal_id text, state text, left_at text, transfer_id text,
                              round_id text, from_account text, to_account text, amount text,
                              reverses text, bucket_id text);
INSERT INTO look_alike (group_id, proposal_id, left_at) VALUES ('1', '1', 'x');
-- every trigger of every enspiral table, re-created as it is on the
-- look-alike table; then an INSERT, UPDATE, DELETE and TRUNCATE, with the
-- deferred ones fired at once
CREATE FUNCTION pg_temp.fire_each() RETURNS TABLE (trg text, insert_err text, update_err text,
                                                   delete_err text, truncate_err text)
    LANGUAGE plpgsql AS $$
DECLARE
    t record;
    def text;
BEGIN
    FOR t IN SELECT g.oid, g.tgname, g.tgrelid::regclass::text AS rel
               FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid
              WHERE g.tgrelid IN (SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'enspiral'::regnamespace)
                AND NOT g.tgisinternal
                AND p.proname NOT IN ('guard_lifecycle', 'guard_deadline', 'guard_append_only')
              ORDER BY 3, 2 LOOP
        trg := t.rel || '.' || t.tgname;
        def := replace(pg_get_triggerdef(t.oid), ' ON ' || t.rel || ' ', ' ON pg_temp.look_alike ');
        BEGIN
            EXECUTE def;
            BEGIN
                INSERT INTO pg_temp.look_alike (group_id) VALUES ('2');
                SET CONSTRAINTS ALL IMMEDIATE;
                insert_err := 'passed';
            EXCEPTION WHEN OTHERS THEN insert_err := SQLSTATE;
            END;
            BEGIN
                UPDATE pg_temp.look_alike SET left_at = 'y';
                SET CONSTRAINTS ALL IMMEDIATE;
                update_err := 'passed';
            EXCEPTION WHEN OTHERS THEN update_err := SQLSTATE;
            END;
            BEGIN
                DELETE FROM pg_temp.look_alike;
                SET CONSTRAINTS ALL IMMEDIATE;
                delete_err := 'passed';
            EXCEPTION WHEN OTHERS THEN delete_err := SQLSTATE;
            END;
            BEGIN
                TRUNCATE pg_temp.look_alike;
                truncate_err := 'passed';
            EXCEPTION WHEN OTHERS THEN truncate_err := SQLSTATE;
            END;
            RAISE EXCEPTION USING ERRCODE = 'P0004';   -- undo the trigger and the rows
        EXCEPTION WHEN assert_failure THEN NULL;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
SELECT * FROM pg_temp.fire_each();
SELECT count(*) AS look_alike_rows FROM pg_temp.look_alike;

-- the report's attack as a superuser would make it: a deferred coverage
-- check and a recorded change for a group that has no terms
CREATE TEMP TABLE fake_terms (LIKE enspiral.catalyst_terms INCLUDING ALL);
CREATE TRIGGER fake AFTER INSERT ON pg_temp.fake_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_record();
INSERT INTO pg_temp.fake_terms (group_id, member_id, starts_on, months, days_per_week)
VALUES (1, 1, current_date, 1, 5);
-- the OIDs are cached per backend and follow renames: a temporary table
-- takes the name of a renamed enspiral table, and is still refused
INSERT INTO enspiral.votes DEFAULT VALUES;
ALTER TABLE enspiral.votes RENAME TO votes_renamed;
CREATE TEMP TABLE votes (LIKE enspiral.votes_renamed);
CREATE TRIGGER g BEFORE INSERT ON pg_temp.votes
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.votes_guard();
INSERT INTO pg_temp.votes DEFAULT VALUES;
INSERT INTO enspiral.votes_renamed DEFAULT VALUES;
ALTER TABLE enspiral.votes_renamed RENAME TO votes;
INSERT INTO enspiral.votes DEFAULT VALUES;
DROP TABLE pg_temp.votes;

-- the generic guards check type and position of the columns they read
CREATE TEMP TABLE polls (id int PRIMARY KEY, state text, closes_at int, real_state enspiral.proposal_state);
INSERT INTO polls VALUES (1, 'open', 1, 'open');
SET ROLE regress_enspiral_nobody;
CREATE TEMP TABLE my_polls (id int PRIMARY KEY, state text, closes_at int,
                            real_state enspiral.proposal_state, deadline timestamptz);
INSERT INTO my_polls VALUES (1, 'open', 1, 'open', now() + interval '1 day');
CREATE TRIGGER l BEFORE UPDATE ON pg_temp.my_polls
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('state');
UPDATE pg_temp.my_polls SET state = 'closed';
DROP TRIGGER l ON pg_temp.my_polls;
CREATE TRIGGER d BEFORE UPDATE ON pg_temp.my_polls
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_deadline('real_state', 'closes_at');
UPDATE pg_temp.my_polls SET id = 2;
DROP TRIGGER d ON pg_temp.my_polls;
CREATE TRIGGER l BEFORE UPDATE ON pg_temp.my_polls
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('ctid');
UPDATE pg_temp.my_polls SET id = 2;
DROP TRIGGER l ON pg_temp.my_polls;
-- after a column is dropped, positions move: the guard finds it by name
ALTER TABLE pg_temp.my_polls DROP COLUMN state;
CREATE TRIGGER l BEFORE UPDATE ON pg_temp.my_polls
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_lifecycle('real_state');
UPDATE pg_temp.my_polls SET real_state = 'draft';
UPDATE pg_temp.my_polls SET real_state = 'closed' RETURNING id, real_state;
RESET ROLE;

-- clean up
SET client_min_messages = warning;
DROP EXTENSION enspiral CASCADE;
SELECT format('REVOKE TEMPORARY ON DATABASE %I FROM regress_enspiral_nobody, regress_enspiral_trig_app',
              current_database()) \gexec
DROP OWNED BY regress_enspiral_nobody, regress_enspiral_trig_app;
DROP ROLE regress_enspiral_nobody, regress_enspiral_trig_app;
