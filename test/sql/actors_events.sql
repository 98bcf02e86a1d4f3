-- Actors, roles, permissions and the event feed (doc/actors-and-events.md)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- the events of a group in feed order, without ids or times
CREATE FUNCTION pg_temp.feed(g bigint)
    RETURNS TABLE (kind text, actor bigint, member_id bigint, proposal_id bigint,
                   round_id bigint, bucket_id bigint, term_id bigint, payload jsonb)
    LANGUAGE sql AS $$
    SELECT e.kind, e.actor, e.member_id, e.proposal_id, e.round_id, e.bucket_id, e.term_id,
           -- (the chain head in a recorded outcome is a hash over times)
           e.payload - ARRAY['opens_at', 'closes_at', 'starts_on', 'ended_on'] #- '{outcome,chain_head}'
      FROM enspiral.events_since(g, 0, 100000) e ORDER BY e.event_id
$$;
-- how many events a group has now (ids are transaction-based, never printed)
CREATE FUNCTION pg_temp.mark(g bigint) RETURNS bigint LANGUAGE sql
    AS $$ SELECT coalesce(max(event_id), 0) FROM enspiral.events WHERE group_id = g $$;
CREATE FUNCTION pg_temp.since(g bigint, m bigint)
    RETURNS TABLE (kind text, actor bigint, member_id bigint, proposal_id bigint,
                   round_id bigint, bucket_id bigint, term_id bigint, payload jsonb)
    LANGUAGE sql AS $$
    SELECT f.kind, f.actor, f.member_id, f.proposal_id, f.round_id, f.bucket_id, f.term_id,
           f.payload - ARRAY['opens_at', 'closes_at', 'starts_on', 'ended_on', 'ends_on', 'outcome']
      FROM enspiral.events_since(g, m, 100000) f ORDER BY f.event_id
$$;

------------------------------------------------------------------------------
-- Settings: new groups enforce permissions; defaults after Loomio/Cobudget
------------------------------------------------------------------------------
SELECT enspiral.create_group('Coop') AS g \gset
SELECT key, value FROM jsonb_each(enspiral.group_settings(:g))
 WHERE key LIKE 'may\_%' OR key IN ('enforce_permissions', 'require_actor', 'closing_soon_hours',
                                    'catalyst_notice_days')
 ORDER BY key;
SELECT enspiral.create_group('bad', '{"enforce_permissions": "yes"}');
SELECT enspiral.create_group('bad', '{"may_close_round": "everybody"}');
SELECT enspiral.create_group('bad', '{"closing_soon_hours": -1}');

------------------------------------------------------------------------------
-- Roles: the first admin is granted freely, then only admins grant
------------------------------------------------------------------------------
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.grant_role(:g, :ana, 'admin');
SELECT member_id = :ana AS is_ana, role, period, granted_by FROM enspiral.roles(:g);

BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.grant_role(:g, :ben, 'admin');
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = 'ben';
SELECT enspiral.grant_role(:g, :ben, 'admin');
ROLLBACK;
SELECT enspiral.grant_role(:g, :ben, 'owner');
SELECT enspiral.grant_role(:g, :ana, 'admin');
SELECT enspiral.revoke_role(:g, :cy, 'admin');
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.revoke_role(:g, :ana, 'admin');
ROLLBACK;
-- adding members needs an admin once there is one
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.add_member(:g, 'dee');
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.add_member(:g, 'dee') AS dee \gset
SELECT enspiral.grant_role(:g, :ben, 'admin');
COMMIT;
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.revoke_role(:g, :ben, 'admin');
COMMIT;
SELECT member_id = :ana AS is_ana, role, period, granted_by = :ana AS by_ana,
       revoked_at IS NOT NULL AS revoked, revoked_by = :ben AS by_ben
  FROM enspiral.roles(:g, include_history => true);
-- role history is append-only
UPDATE enspiral.role_grants SET granted_by = NULL;
DELETE FROM enspiral.role_grants;

------------------------------------------------------------------------------
-- Proposals: close, withdraw, edit by the author or an admin
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ben, 'Buy a van', 'consent') AS p \gset
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.open_proposal(:p, now() + interval '2 days');
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.open_proposal(:p, now() + interval '2 days');
COMMIT;
SELECT enspiral.vote(:p, :cy, '"agree"') IS NOT NULL AS voted;
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.close_proposal(:p);
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'dee';
SELECT enspiral.withdraw_proposal(:p);
ROLLBACK;
-- a member who is not in the group is refused too
SELECT enspiral.create_group('Elsewhere', '{"enforce_permissions": false}') AS g2 \gset
SELECT enspiral.add_member(:g2, 'eve') AS eve \gset
BEGIN;
SET LOCAL enspiral.actor = :'eve';
SELECT enspiral.close_proposal(:p);
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.close_proposal(:p);
COMMIT;
SELECT enspiral.proposal_state(:p);
-- an application that names no actor acts as itself, unless the group requires one
SELECT enspiral.propose(:g, :cy, 'Paint the door', 'consent') AS p2 \gset
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.update_group_settings(:g, '{"require_actor": true}') ->> 'require_actor' AS require_actor;
COMMIT;
SELECT enspiral.withdraw_proposal(:p2);
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.withdraw_proposal(:p2);
COMMIT;
-- direct writes are checked and recorded like API calls
SELECT enspiral.propose(:g, :ana, 'Fix the roof', 'consent') AS p3 \gset
BEGIN;
SET LOCAL enspiral.actor = :'cy';
UPDATE enspiral.proposals SET title = 'Fix the whole roof' WHERE proposal_id = :p3;
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ana';
UPDATE enspiral.proposals SET title = 'Fix the whole roof' WHERE proposal_id = :p3;
COMMIT;
-- settings are changed by admins once permissions are enforced
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.update_group_settings(:g, '{"closing_soon_hours": 48}');
ROLLBACK;
-- a group may give a right to every member
SELECT enspiral.update_group_settings(:g, '{"require_actor": false, "may_close_proposal": "member"}') ->> 'may_close_proposal' AS may_close;

------------------------------------------------------------------------------
-- Co-budgeting: rounds by admins, buckets by their authors
------------------------------------------------------------------------------
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.create_round(:g, 'Spring', 900, now() - interval '1 hour', now() + interval '1 day');
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.create_round(:g, 'Spring', 900, now() - interval '1 hour', now() + interval '1 day') AS r \gset
COMMIT;
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.allocate(:r);
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.allocate(:r);
COMMIT;
SELECT enspiral.create_bucket(:r, :cy, 'Garden', 100, 300) AS b \gset
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.open_bucket(:b);
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.open_bucket(:b);
COMMIT;
SELECT enspiral.contribute(:b, :ben, 50) IS NOT NULL AS contributed;
SELECT enspiral.try_contribute(:b, :dee, 70) IS NOT NULL AS contributed;
BEGIN;
SET LOCAL enspiral.actor = :'dee';
SELECT enspiral.cancel_bucket(:b);
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.close_round(:r);
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.cancel_bucket(:b);
COMMIT;

------------------------------------------------------------------------------
-- Catalysts and membership: admins appoint; a member may leave
------------------------------------------------------------------------------
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.appoint_catalyst(:g, :cy, current_date);
ROLLBACK;
SELECT enspiral.update_group_settings(:g, '{"min_catalysts": 2}') ->> 'min_catalysts' AS min_catalysts;
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.appoint_catalyst(:g, :cy, current_date + 1, 3) AS t \gset
COMMIT;
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.remove_member(:g, :cy);
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.remove_member(:g, :cy);
COMMIT;
SELECT enspiral.is_member(:g, :cy) AS cy_still_member;

------------------------------------------------------------------------------
-- The feed: one event per change, actors named, ballots never
------------------------------------------------------------------------------
SELECT * FROM pg_temp.feed(:g);
-- the application role reads the feed but writes no table directly
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_enspiral_events_app;
CREATE ROLE regress_enspiral_events_app;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT count(*) > 0 AS granted FROM enspiral.grant_application('regress_enspiral_events_app');
SET ROLE regress_enspiral_events_app;
SELECT count(*) > 0 AS app_reads_feed FROM enspiral.events_since(:g, 0);
UPDATE enspiral.proposals SET state = 'open' WHERE proposal_id = :p;
INSERT INTO enspiral.events (group_id, event_id, kind) VALUES (:g, 1, 'forged');
INSERT INTO enspiral.role_grants (group_id, member_id, role, period) VALUES (:g, :ben, 'admin', 9);
RESET ROLE;
-- events are append-only, even for the owner (messages name event ids: codes only)
CREATE FUNCTION pg_temp.code(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d{6,}', 'N', 'g');
END
$$;
SELECT pg_temp.code('UPDATE enspiral.events SET kind = ''x''');
SELECT pg_temp.code('DELETE FROM enspiral.events');
SELECT pg_temp.code('TRUNCATE enspiral.events');
-- bad arguments
SELECT * FROM enspiral.events_since(:g, 0, 0);
SELECT * FROM enspiral.events_since(NULL, 0);

------------------------------------------------------------------------------
-- Paging: a consumer that passes the last id it processed sees every event once
------------------------------------------------------------------------------
CREATE TEMP TABLE seen (event_id bigint);
DO $$
DECLARE
    last bigint := 0;
    n integer;
BEGIN
    LOOP
        INSERT INTO seen SELECT e.event_id FROM enspiral.events_since(1, last, 3) e;
        GET DIAGNOSTICS n = ROW_COUNT;
        EXIT WHEN n = 0;
        SELECT max(event_id) INTO last FROM seen;
    END LOOP;
END
$$;
SELECT count(*) = (SELECT count(*) FROM enspiral.events WHERE group_id = 1) AS every_event,
       count(DISTINCT event_id) = count(*) AS each_once
  FROM seen;

------------------------------------------------------------------------------
-- Anonymous proposals: the vote event names no voter and carries no ballot
------------------------------------------------------------------------------
SELECT pg_temp.mark(:g) AS m \gset
SELECT enspiral.propose(:g, :ben, 'Secret', 'choice', ARRAY['x', 'y'], '{"anonymous": true}') AS pa \gset
SELECT enspiral.open_proposal(:pa, now() + interval '1 day');
SELECT enspiral.vote(:pa, :ben, '["x"]') AS anonymous_vote_id;
SELECT enspiral.vote(:pa, :dee, '["y"]') AS anonymous_vote_id;
SELECT * FROM pg_temp.since(:g, :m);
SELECT count(*) AS events_naming_a_voter
  FROM enspiral.events e
 WHERE e.proposal_id = :pa AND e.kind = 'vote_cast'
   AND (e.actor IS NOT NULL OR e.member_id IS NOT NULL OR e.payload ? 'ballot');

------------------------------------------------------------------------------
-- Time-driven events: closing soon, deadlines, catalyst gaps ahead, each once
------------------------------------------------------------------------------
SELECT enspiral.create_group('Clock') AS gc \gset
SELECT enspiral.add_member(:gc, 'fay') AS fay \gset
SELECT enspiral.propose(:gc, :fay, 'Soon', 'consent') AS ps \gset
SELECT enspiral.open_proposal(:ps, now() + interval '3 hours');
SELECT enspiral.propose(:gc, :fay, 'Later', 'consent') AS pl \gset
SELECT enspiral.open_proposal(:pl, now() + interval '3 days');
SELECT enspiral.propose(:gc, :fay, 'Now', 'consent') AS pn \gset
SELECT enspiral.open_proposal(:pn, now() + interval '1 second');
SELECT enspiral.create_round(:gc, 'Short', 0, now() - interval '1 hour', now() + interval '1 second') AS rs \gset
SELECT enspiral.appoint_catalyst(:gc, :fay, current_date + 10, 1);
SELECT pg_sleep(1.1);
SELECT pg_temp.mark(:gc) AS m \gset
SELECT enspiral.record_due_closings() AS closed;
SELECT enspiral.record_due_closings() AS closed_again;
SELECT * FROM pg_temp.since(:gc, :m);

------------------------------------------------------------------------------
-- NOTIFY enspiral_events: delivered on commit only
------------------------------------------------------------------------------
SELECT dblink_connect('listener',
                      format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                             split_part(current_setting('unix_socket_directories'), ',', 1))) AS connected;
SELECT dblink_exec('listener', 'LISTEN enspiral_events') AS listening;
BEGIN;
SELECT enspiral.add_member(:gc, 'gus') AS gus \gset
SELECT x AS listener_ran FROM dblink('listener', 'SELECT 1') AS t(x int);
SELECT count(*) AS notified_before_commit FROM dblink_get_notify('listener');
COMMIT;
SELECT x AS listener_ran FROM dblink('listener', 'SELECT 1') AS t(x int);
SELECT n.notify_name, (n.extra::jsonb ->> 'group_id')::bigint = :gc AS this_group,
       (n.extra::jsonb ->> 'event_id')::bigint = pg_temp.mark(:gc) AS latest_event
  FROM dblink_get_notify('listener') n;
-- a rolled-back change notifies nobody and leaves no event
BEGIN;
SELECT enspiral.add_member(:gc, 'hal') IS NOT NULL AS added;
ROLLBACK;
SELECT x AS listener_ran FROM dblink('listener', 'SELECT 1') AS t(x int);
SELECT count(*) AS notified_after_rollback FROM dblink_get_notify('listener');
-- votes and contributions are announced only where the group asks for it
SELECT enspiral.vote(:ps, :fay, '"agree"') IS NOT NULL AS voted;
SELECT x AS listener_ran FROM dblink('listener', 'SELECT 1') AS t(x int);
SELECT count(*) AS notified_for_vote FROM dblink_get_notify('listener');
SELECT enspiral.update_group_settings(:gc, '{"notify_votes_and_contributions": true}')
       ->> 'notify_votes_and_contributions' AS notify_votes;
SELECT x AS listener_ran FROM dblink('listener', 'SELECT 1') AS t(x int);
SELECT count(*) AS notified_for_settings FROM dblink_get_notify('listener');
SELECT enspiral.vote(:ps, :fay, '"disagree"') IS NOT NULL AS voted;
SELECT x AS listener_ran FROM dblink('listener', 'SELECT 1') AS t(x int);
SELECT count(*) AS notified_for_vote FROM dblink_get_notify('listener');
SELECT dblink_disconnect('listener');

------------------------------------------------------------------------------
-- The horizon: a transaction still running in this database holds the feed
-- back; one running (or prepared) in another database does not, since it
-- cannot write here
------------------------------------------------------------------------------
-- whether the member's event is readable, waiting up to 10 s for whatever
-- short transaction (an autoanalyze) may run in this database meanwhile
CREATE FUNCTION pg_temp.readable(g bigint, m bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 200 LOOP
        IF EXISTS (SELECT FROM enspiral.events_since(g, 0, 100000) e WHERE e.member_id = m) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN false;
END
$$;
SELECT format('port=%s host=%s', current_setting('port'),
              split_part(current_setting('unix_socket_directories'), ',', 1)) AS node \gset
SELECT dblink_connect('elsewhere', :'node' || ' dbname=postgres') AS connected;
SELECT dblink_connect('here', :'node' || ' dbname=' || current_database()) AS connected;
SELECT dblink_exec('elsewhere', 'BEGIN') AS elsewhere;
SELECT x > 0 AS elsewhere_writes FROM dblink('elsewhere', 'SELECT txid_current()') AS t(x bigint);
SELECT enspiral.add_member(:gc, 'ivy') AS ivy \gset
SELECT pg_temp.readable(:gc, :ivy) AS readable_while_elsewhere_runs;
SELECT dblink_exec('here', 'BEGIN') AS here;
SELECT x > 0 AS here_writes FROM dblink('here', 'SELECT txid_current()') AS t(x bigint);
SELECT enspiral.add_member(:gc, 'jay') AS jay \gset
SELECT count(*) AS readable_while_here_runs
  FROM enspiral.events_since(:gc, 0, 100000) e WHERE e.member_id = :jay;
SELECT dblink_exec('here', 'COMMIT') AS here;
SELECT pg_temp.readable(:gc, :jay) AS readable_after_here_ends;
-- a transaction prepared in another database: the same
SELECT dblink_exec('elsewhere', 'PREPARE TRANSACTION ''regress_enspiral_elsewhere''') AS elsewhere;
SELECT enspiral.add_member(:gc, 'kim') AS kim \gset
SELECT pg_temp.readable(:gc, :kim) AS readable_while_prepared_elsewhere;
SELECT dblink_exec('elsewhere', 'COMMIT PREPARED ''regress_enspiral_elsewhere''') AS elsewhere;
SELECT dblink_disconnect('elsewhere'), dblink_disconnect('here');

------------------------------------------------------------------------------
-- Groups upgraded from 0.1.0 (enforce_permissions off): every call works
------------------------------------------------------------------------------
SELECT enspiral.update_group_settings(:g2, '{}') ->> 'enforce_permissions' AS enforce;
-- switching enforcement on names an admin when an actor is named
BEGIN;
SET LOCAL enspiral.actor = :'eve';
SELECT enspiral.update_group_settings(:g2, '{"enforce_permissions": true}') ->> 'enforce_permissions';
ROLLBACK;
SELECT enspiral.propose(:g2, :eve, 'Open door', 'consent') AS po \gset
SELECT enspiral.add_member(:g2, 'fin') AS fin \gset
BEGIN;
SET LOCAL enspiral.actor = :'fin';
SELECT enspiral.withdraw_proposal(:po);
COMMIT;
SELECT kind, actor = :fin AS by_fin FROM pg_temp.feed(:g2) WHERE kind = 'proposal_withdrawn';

------------------------------------------------------------------------------
-- The node's event id offset (src/actors_event_ids.c)
------------------------------------------------------------------------------
-- every id is numbered by the transaction that stores it: (its transaction
-- id + the offset, 0 here) * 2^22 + n; the trigger that numbers ids on a
-- Citus shard is disabled on a single server
BEGIN;
SELECT enspiral.add_member(:g2, 'fox') IS NOT NULL AS fox_added;
SELECT event_id >> 22 = txid_current() AS of_this_transaction
  FROM enspiral.events WHERE group_id = :g2 ORDER BY event_id DESC LIMIT 1;
COMMIT;
SELECT tgenabled FROM pg_trigger WHERE tgname = 'events_id';
-- a restore (the owner's COPY) keeps its ids and raises the node's offset
-- past them: the restored event is readable, new ones are numbered above it
SELECT last_value AS offset_before FROM enspiral.event_id_offset;
COPY enspiral.events (group_id, event_id, kind) FROM STDIN;
2	4194304000001	restored
\.
SELECT last_value > 0 AS offset_raised FROM enspiral.event_id_offset;
SELECT enspiral.add_member(:g2, 'gus') IS NOT NULL AS gus_added;
SELECT kind, event_id > 4194304000001 AS above_restored
  FROM enspiral.events WHERE group_id = :g2 AND event_id >= 4194304000001 ORDER BY event_id;
SELECT kind FROM enspiral.events_since(:g2, 4194304000000) ORDER BY event_id;
-- raise_event_ids() (what enspiral.distribute() runs on every Citus node):
-- the offset rises past the id given and never falls
SELECT last_value AS offset_now FROM enspiral.event_id_offset \gset
SELECT enspiral.raise_event_ids(0) = :offset_now AS never_falls;
SELECT enspiral.raise_event_ids(8388608000001) > :offset_now AS raised;
SELECT enspiral.next_event_id() > 8388608000001 AS numbered_above,
       enspiral.event_horizon() > 8388608000001 AS horizon_above;
SELECT enspiral.raise_event_ids(NULL);
-- a raise that would leave the node too few ids for its transactions to
-- come is refused, and the offset stays where it was
SELECT last_value AS offset_now FROM enspiral.event_id_offset \gset
SELECT enspiral.raise_event_ids(9223372036854775806);
SELECT enspiral.raise_event_ids(9214364837600034815);
SELECT last_value = :offset_now AS offset_kept FROM enspiral.event_id_offset;
SELECT enspiral.next_event_id() > 8388608000001 AS still_numbered;
SET ROLE regress_enspiral_events_app;
SELECT enspiral.raise_event_ids(1);
RESET ROLE;

SET client_min_messages = warning;
SELECT count(*) >= 0 FROM enspiral.revoke_application('regress_enspiral_events_app');
DROP OWNED BY regress_enspiral_events_app;
DROP ROLE regress_enspiral_events_app;
