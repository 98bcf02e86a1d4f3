-- The one mechanism that lets guard triggers tell the API's own writes from
-- direct ones (src/core_api_write.c), and the one check of how a trigger
-- function was called (src/core_relcheck.c).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT enspiral.create_group('g') AS g \gset
SELECT enspiral.add_member(:g, 'a') AS a, enspiral.add_member(:g, 'b') AS b \gset
SELECT enspiral.propose(:g, :a, 'p', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '3 days');

-- A vote that fails while the API writes the vote tables: an EXCEPTION
-- block catches the error, and the guard is closed again afterwards.
CREATE FUNCTION fail_after_vote() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'fails inside vote()'; END$$;
CREATE TRIGGER fail_after_vote AFTER INSERT ON enspiral.votes
  FOR EACH ROW EXECUTE FUNCTION fail_after_vote();
CREATE FUNCTION try_vote(p bigint, m bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM enspiral.vote(p, m, '"agree"');
EXCEPTION WHEN raise_exception THEN
  RAISE NOTICE 'caught: %', SQLERRM;
END $$;
BEGIN;
SELECT try_vote(:p, :a);
INSERT INTO enspiral.electorate_additions (group_id, proposal_id, member_id, added_at)
  VALUES (:g, :p, :b, now());
ROLLBACK;
DROP TRIGGER fail_after_vote ON enspiral.votes;

-- The same in one transaction without an EXCEPTION block: the failed
-- transaction closes the write; the next one starts closed.
BEGIN;
CREATE TRIGGER fail_after_vote AFTER INSERT ON enspiral.votes
  FOR EACH ROW EXECUTE FUNCTION fail_after_vote();
SELECT enspiral.vote(:p, :a, '"agree"');
ROLLBACK;
INSERT INTO enspiral.electorate_additions (group_id, proposal_id, member_id, added_at)
  VALUES (:g, :p, :b, now());
-- the API writes as before
SELECT enspiral.vote(:p, :a, '"agree"') > 0 AS voted;

-- A trigger function attached at the wrong time, level or event
CREATE TABLE t (group_id bigint);
SELECT enspiral.create_round(:g, 'r', 100, now(), now() + interval '1 day') AS r \gset
CREATE TRIGGER wrong AFTER INSERT ON enspiral.votes
  FOR EACH ROW EXECUTE FUNCTION enspiral.votes_guard();
SELECT enspiral.vote(:p, :b, '"agree"');
DROP TRIGGER wrong ON enspiral.votes;
CREATE TRIGGER wrong BEFORE INSERT ON enspiral.transfers
  FOR EACH ROW EXECUTE FUNCTION enspiral.ledger_apply();
SELECT enspiral.allocate(:r);
DROP TRIGGER wrong ON enspiral.transfers;
CREATE TRIGGER wrong AFTER UPDATE ON enspiral.accounts
  FOR EACH ROW EXECUTE FUNCTION enspiral.ledger_apply();
SELECT enspiral.allocate(:r);
DROP TRIGGER wrong ON enspiral.accounts;
SELECT enspiral.allocate(:r);
CREATE TRIGGER wrong BEFORE UPDATE ON enspiral.proposals
  FOR EACH STATEMENT EXECUTE FUNCTION enspiral.proposals_guard();
SELECT enspiral.close_proposal(:p);
DROP TRIGGER wrong ON enspiral.proposals;
-- and on a table that is not its own
CREATE TRIGGER wrong BEFORE INSERT ON t
  FOR EACH ROW EXECUTE FUNCTION enspiral.votes_guard();
INSERT INTO t VALUES (1);
