-- Groups created under 0.1.0 keep working after the update to 0.2.0:
-- enforce_permissions is off for them, on for groups created after it
-- (doc/actors-and-events.md, Upgrading from 0.1.0).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral VERSION '0.1.0' CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Old') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.propose(:g, :ana, 'Keep going', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day');

ALTER EXTENSION enspiral UPDATE TO '0.2.0';
SELECT enspiral.group_settings(:g) ->> 'enforce_permissions' AS old_group_enforces,
       enspiral.group_settings(:g) ->> 'may_close_proposal' AS may_close;
SELECT count(*) AS events_before_update FROM enspiral.events;

-- every 0.1.0 call works, whoever acts; what happens now is recorded
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.close_proposal(:p);
COMMIT;
SELECT kind, actor = :ben AS by_ben FROM enspiral.events_since(:g, 0) ORDER BY event_id;

-- an admin switches enforcement on; then the author or an admin closes
SELECT enspiral.grant_role(:g, :ana, 'admin');
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.update_group_settings(:g, '{"enforce_permissions": true}') ->> 'enforce_permissions' AS enforces;
COMMIT;
SELECT enspiral.propose(:g, :ana, 'Next', 'consent') AS p2 \gset
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.withdraw_proposal(:p2);
ROLLBACK;

-- a group created after the update enforces permissions
SELECT enspiral.create_group('New') > 0 AS created;
SELECT g.name, g.settings ->> 'enforce_permissions' AS enforces FROM enspiral.groups g ORDER BY g.group_id;
