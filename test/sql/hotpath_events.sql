-- The hot paths written directly (src/core_relaccess.c): vote() and
-- try_contribute() write the same rows and events as through SQL, NOTIFY
-- for votes and contributions is opt-in per group and transactional, and
-- the cached relation OIDs follow a dropped and re-created extension.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Hot') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.grant_role(:g, :ana, 'admin') AS granted;
SET enspiral.actor = :'ana';
SELECT enspiral.create_round(:g, 'Spring', 1000, now() - interval '1 hour', now() + interval '1 day') AS r \gset
SELECT enspiral.allocate(:r) AS allocated;
SELECT enspiral.create_bucket(:r, :ana, 'Garden', 10, 300) AS b \gset
SELECT enspiral.open_bucket(:b) AS opened;
SELECT enspiral.propose(:g, :ana, 'Paint', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day') AS opened;
RESET enspiral.actor;

------------------------------------------------------------------------------
-- Rows and events written by the direct paths
------------------------------------------------------------------------------
-- in one transaction: the second vote supersedes a row of the same transaction
BEGIN;
SELECT enspiral.vote(:p, :ben, '"agree"') AS v1 \gset
SELECT enspiral.vote(:p, :ben, '"disagree"', 'changed my mind') AS v2 \gset
-- the first vote is history (superseded, keyed by its own id), the second counts
SELECT vote_id = :v1 AS first, ballot, reason, superseded_at IS NOT NULL AS superseded,
       superseded_at = (SELECT cast_at FROM enspiral.votes WHERE vote_id = :v2) AS superseded_by_v2,
       history_key = vote_id AS history
  FROM enspiral.votes WHERE proposal_id = :p ORDER BY vote_id;
SELECT enspiral.try_contribute(:b, :ben, 40) AS t1 \gset
-- the balances moved with the transfer; verify_ledger finds nothing
SELECT enspiral.balance(:r, :ben) AS ben_balance, enspiral.bucket_total(:b) AS bucket_total;
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);
SELECT kind::text, amount, created_at = now() AS created_now, idempotency_key, reverses
  FROM enspiral.transfers WHERE transfer_id = :t1;
-- one event per vote and per contribution, with actor, subjects and payload
SELECT kind, actor = :ben AS ben_acts, member_id = :ben AS about_ben, proposal_id = :p AS on_p,
       round_id = :r AS in_r, bucket_id = :b AS to_b, term_id,
       payload = jsonb_build_object('vote_id', :v1) AS payload_v1,
       payload = jsonb_build_object('vote_id', :v2) AS payload_v2,
       payload = jsonb_build_object('transfer_id', :t1, 'amount', 40) AS payload_t1,
       at = now() AS at_now
  FROM enspiral.events WHERE group_id = :g AND kind IN ('vote_cast', 'contribution')
 ORDER BY event_id;
COMMIT;
-- the rules still refuse through the direct path
SELECT enspiral.try_contribute(:b, :ben, 100000) IS NULL AS refused_overdraft;
SELECT enspiral.contribute(:b, :ben, 100000);
SELECT enspiral.vote(:p, :ben, '"maybe"');

------------------------------------------------------------------------------
-- NOTIFY for votes and contributions: opt-in, on commit only
------------------------------------------------------------------------------
SELECT dblink_connect('listener',
                      format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                             split_part(current_setting('unix_socket_directories'), ',', 1))) AS connected;
SELECT dblink_exec('listener', 'LISTEN enspiral_events') AS listening;
CREATE FUNCTION pg_temp.heard() RETURNS bigint LANGUAGE sql AS $$
    SELECT x FROM dblink('listener', 'SELECT 1') AS t(x int);  -- let the listener read
    SELECT count(*) FROM dblink_get_notify('listener')
$$;
-- off by default: events are written, nobody is notified
SELECT enspiral.try_contribute(:b, :ben, 1) IS NOT NULL AS contributed;
SELECT enspiral.vote(:p, :ben, '"agree"') IS NOT NULL AS voted;
SELECT pg_temp.heard() AS notified_while_off;
SET enspiral.actor = :'ana';
SELECT enspiral.update_group_settings(:g, '{"notify_votes_and_contributions": true}')
       ->> 'notify_votes_and_contributions' AS notify;
RESET enspiral.actor;
SELECT pg_temp.heard() AS notified_for_settings;
-- on: nothing before the commit, one notification per event after it
BEGIN;
SELECT enspiral.try_contribute(:b, :ben, 1) AS t2 \gset
SELECT enspiral.vote(:p, :ben, '"disagree"') IS NOT NULL AS voted;
SELECT pg_temp.heard() AS notified_before_commit;
COMMIT;
SELECT x AS listener_ran FROM dblink('listener', 'SELECT 1') AS t(x int);
SELECT (n.extra::jsonb ->> 'group_id')::bigint = :g AS this_group,
       (n.extra::jsonb ->> 'event_id')::bigint IN
           (SELECT event_id FROM enspiral.events WHERE group_id = :g AND kind IN ('vote_cast', 'contribution')) AS its_event
  FROM dblink_get_notify('listener') n;
-- a rolled-back contribution notifies nobody and leaves no event
SELECT count(*) AS events_before FROM enspiral.events WHERE group_id = :g \gset
BEGIN;
SELECT enspiral.try_contribute(:b, :ben, 1) IS NOT NULL AS contributed;
ROLLBACK;
SELECT pg_temp.heard() AS notified_after_rollback;
SELECT count(*) = :events_before AS no_new_event FROM enspiral.events WHERE group_id = :g;
SELECT dblink_disconnect('listener');

------------------------------------------------------------------------------
-- The cached OIDs follow a re-created extension in the same session
------------------------------------------------------------------------------
SET client_min_messages = warning;
DROP EXTENSION enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
SELECT enspiral.create_group('Again') AS g \gset
SELECT enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.propose(:g, :cy, 'Again', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day') AS opened;
SELECT enspiral.vote(:p, :cy, '"agree"') IS NOT NULL AS voted_after_recreate;
SELECT count(*) AS vote_events FROM enspiral.events WHERE kind = 'vote_cast';
