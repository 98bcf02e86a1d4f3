-- enspiral's own row triggers run inline by the direct writer
-- (src/core_owntriggers.c): only while the trigger set of the table is
-- enspiral's own (and foreign keys); a trigger added by someone else, a
-- disabled own trigger or session_replication_role = replica hand every
-- row back to the trigger manager, with the same rows, counts and events.
-- And the group's notify_votes_and_contributions, remembered per backend
-- (src/actors_events.c), follows a change another session commits.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Owned') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.create_round(:g, 'Spring', 900, now() - interval '1 hour', now() + interval '1 day') AS r \gset
SELECT enspiral.allocate(:r) AS allocated;
SELECT enspiral.create_bucket(:r, :ana, 'Garden', 10, 600) AS b \gset
SELECT enspiral.open_bucket(:b) AS opened;
SELECT enspiral.propose(:g, :ana, 'Paint', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day') AS opened;

-- what the API wrote: counted votes, the proposal's count, events, balances
CREATE FUNCTION pg_temp.state(g bigint, p bigint, r bigint, b bigint)
RETURNS TABLE (counted bigint, vote_count bigint, vote_events bigint,
               contribution_events bigint, bucket_total bigint, ledger_problems bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM enspiral.votes WHERE proposal_id = p AND history_key = 0),
           (SELECT sum(counted)::bigint FROM enspiral.vote_counts WHERE proposal_id = p),
           (SELECT count(*) FROM enspiral.events WHERE group_id = g AND kind = 'vote_cast'),
           (SELECT count(*) FROM enspiral.events WHERE group_id = g AND kind = 'contribution'),
           enspiral.bucket_total(b),
           (SELECT count(*) FROM enspiral.verify_ledger(g))
$$;

-- a member's vote rows: ballot, counted or history (keyed by its own id),
-- the vote_cast events naming it, whether vote() returned its id
CREATE FUNCTION pg_temp.rows(p bigint, m bigint, ids bigint[])
RETURNS TABLE (ballot jsonb, counted boolean, own_key boolean, superseded boolean,
               events bigint, returned boolean) LANGUAGE sql AS
$$
    SELECT v.ballot, v.history_key = 0, v.history_key = v.vote_id, v.superseded_at IS NOT NULL,
           (SELECT count(*) FROM enspiral.events e
             WHERE e.kind = 'vote_cast' AND e.member_id = m AND e.actor = m
               AND (e.payload->>'vote_id')::bigint = v.vote_id),
           v.vote_id = ANY (ids)
      FROM enspiral.votes v WHERE v.proposal_id = p AND v.member_id = m ORDER BY v.vote_id
$$;

-- enspiral's own triggers only: first vote, re-vote, retraction, contribution
SELECT enspiral.vote(:p, :ana, '"agree"') AS ana1 \gset
SELECT enspiral.vote(:p, :ana, '"disagree"') AS ana2 \gset
SELECT enspiral.vote(:p, :ana, '"block"', 'second thoughts') AS ana3 \gset
SELECT :ana1 < :ana2 AND :ana2 < :ana3 AS ids_increase;
-- the re-votes rewrote the counted row in place and kept the former ones
-- as history: the same rows as a supersede and an insert (cy, below)
SELECT * FROM pg_temp.rows(:p, :ana, ARRAY[:ana1, :ana2, :ana3]::bigint[]);
SELECT reason FROM enspiral.votes WHERE vote_id = :ana3 AND history_key = 0;
SELECT enspiral.vote(:p, :ana, '"disagree"') IS NOT NULL AS revoted;
SELECT enspiral.vote(:p, :ben, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.retract_vote(:g, :p, :ben) AS retracted;
SELECT enspiral.try_contribute(:b, :ben, 40) IS NOT NULL AS contributed;
SELECT * FROM pg_temp.state(:g, :p, :r, :b);

-- a trigger of someone else's on votes: fires for each vote row written,
-- and the own triggers still count and record (through the trigger manager)
CREATE TABLE seen (tg text, op text, member_id bigint, superseded boolean);
CREATE FUNCTION seen_vote() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.seen VALUES (TG_NAME, TG_OP, NEW.member_id, NEW.superseded_at IS NOT NULL); RETURN NULL; END$$;
CREATE FUNCTION seen_account() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.seen VALUES (TG_NAME, TG_OP, NEW.owner_id, false); RETURN NULL; END$$;
CREATE TRIGGER zz_seen AFTER INSERT OR UPDATE ON enspiral.votes
    FOR EACH ROW EXECUTE FUNCTION seen_vote();
CREATE TRIGGER zz_seen_accounts AFTER UPDATE ON enspiral.accounts
    FOR EACH ROW EXECUTE FUNCTION seen_account();
SELECT enspiral.vote(:p, :cy, '"agree"') AS cy1 \gset
SELECT enspiral.vote(:p, :cy, '"disagree"') AS cy2 \gset
SELECT * FROM pg_temp.rows(:p, :cy, ARRAY[:cy1, :cy2]::bigint[]);
SELECT enspiral.try_contribute(:b, :cy, 10) IS NOT NULL AS contributed;
SELECT * FROM pg_temp.state(:g, :p, :r, :b);
-- two vote rows inserted, one superseded; the two balances of the transfer
SELECT tg, op, member_id = :cy AS cy, member_id = :ana AS ana_bucket, superseded
  FROM seen ORDER BY tg, op, superseded, member_id;
DROP TRIGGER zz_seen ON enspiral.votes;
DROP TRIGGER zz_seen_accounts ON enspiral.accounts;
TRUNCATE seen;

-- an own trigger disabled: the trigger manager honours it (no event)
ALTER TABLE enspiral.votes DISABLE TRIGGER votes_events;
SELECT enspiral.vote(:p, :ben, '"agree"') IS NOT NULL AS voted;
ALTER TABLE enspiral.votes ENABLE TRIGGER votes_events;
SELECT * FROM pg_temp.state(:g, :p, :r, :b);

-- replica role: triggers that fire on origin do not fire
SET session_replication_role = replica;
SELECT enspiral.vote(:p, :ben, '"disagree"') IS NOT NULL AS revoted;
SELECT enspiral.try_contribute(:b, :cy, 5) IS NOT NULL AS contributed;
RESET session_replication_role;
SELECT * FROM pg_temp.state(:g, :p, :r, :b);

-- a trigger of the own name on another function is not run inline
CREATE FUNCTION enspiral.votes_events_copy() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO public.seen VALUES (TG_NAME, TG_OP, NEW.member_id, false); RETURN NULL; END$$;
ALTER TRIGGER votes_events ON enspiral.votes RENAME TO votes_events_own;
CREATE TRIGGER votes_events AFTER INSERT ON enspiral.votes
    FOR EACH ROW EXECUTE FUNCTION enspiral.votes_events_copy();
SELECT enspiral.vote(:p, :ben, '"agree"') IS NOT NULL AS revoted;
SELECT tg, op, member_id = :ben AS ben FROM seen;
DROP TRIGGER votes_events ON enspiral.votes;
DROP FUNCTION enspiral.votes_events_copy();
ALTER TRIGGER votes_events_own ON enspiral.votes RENAME TO votes_events;
SELECT * FROM pg_temp.state(:g, :p, :r, :b);

-- direct writes are still refused, by the guards the API path leaves out
UPDATE enspiral.accounts SET balance = balance + 1 WHERE round_id = :r;
UPDATE enspiral.votes SET ballot = '"agree"' WHERE proposal_id = :p;
SELECT * FROM pg_temp.state(:g, :p, :r, :b);

------------------------------------------------------------------------------
-- notify_votes_and_contributions remembered per backend, changed elsewhere
------------------------------------------------------------------------------
SELECT format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
              split_part(current_setting('unix_socket_directories'), ',', 1)) AS conn \gset
SELECT dblink_connect('listener', :'conn') AS connected;
SELECT dblink_connect('admin', :'conn') AS connected;
SELECT dblink_exec('listener', 'LISTEN enspiral_events') AS listening;
CREATE FUNCTION pg_temp.heard() RETURNS bigint LANGUAGE sql AS $$
    SELECT x FROM dblink('listener', 'SELECT 1') AS t(x int);  -- let the listener read
    SELECT count(*) FROM dblink_get_notify('listener')
$$;
CREATE FUNCTION pg_temp.set_notify(g bigint, v boolean) RETURNS text LANGUAGE sql AS $$
    SELECT x FROM dblink('admin', format(
        'SELECT enspiral.update_group_settings(%s, %L) ->> %L', g,
        jsonb_build_object('notify_votes_and_contributions', v), 'notify_votes_and_contributions'))
        AS t(x text)
$$;
-- off: remembered by this backend with its first vote
SELECT enspiral.vote(:p, :ana, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.try_contribute(:b, :ana, 1) IS NOT NULL AS contributed;
SELECT pg_temp.heard() AS notified_while_off;
-- switched on by another session: this backend notifies from then on
SELECT pg_temp.set_notify(:g, true) AS notify;
SELECT pg_temp.heard() AS notified_for_settings;
SELECT enspiral.vote(:p, :ana, '"disagree"') IS NOT NULL AS voted;
SELECT enspiral.try_contribute(:b, :ana, 1) IS NOT NULL AS contributed;
SELECT pg_temp.heard() AS notified_while_on;
-- and off again
SELECT pg_temp.set_notify(:g, false) AS notify;
SELECT pg_temp.heard() AS notified_for_settings;
SELECT enspiral.vote(:p, :ana, '"agree"') IS NOT NULL AS voted;
SELECT pg_temp.heard() AS notified_while_off;
-- a change rolled back in this session: the setting in force is read again
BEGIN;
SELECT enspiral.update_group_settings(:g, '{"notify_votes_and_contributions": true}')
       ->> 'notify_votes_and_contributions' AS notify;
SELECT enspiral.vote(:p, :ana, '"disagree"') IS NOT NULL AS voted;
ROLLBACK;
SELECT enspiral.vote(:p, :ana, '"agree"') IS NOT NULL AS voted;
SELECT pg_temp.heard() AS notified_after_rollback;
SELECT dblink_disconnect('listener'), dblink_disconnect('admin');
