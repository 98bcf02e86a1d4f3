-- The acting member on Citus (src/core_citus_actor.c, doc/scaling.md "The
-- acting member on Citus"). enspiral.actor is a setting of the client's
-- session on the coordinator; the rights it names are checked by triggers on
-- the node that holds the group's shards. Every way of naming the actor
-- reaches that node: SET LOCAL in a block, a session SET, set_config() in the
-- same statement; calls Citus would delegate, calls enspiral forwards, and
-- statements routed from the coordinator; savepoints; a kept plan. A
-- forwarded call's writes also end with the client's statement.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT enspiral.create_group('Coop', '{"min_catalysts": 0}') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.grant_role(:g, :ana, 'admin');
-- the group's shards are on a worker, not on the coordinator
SELECT p.groupid <> 0 AS on_a_worker FROM pg_dist_placement p
 WHERE p.shardid = get_shard_id_for_distribution_column('enspiral.groups', :g);
-- the setting is declared by the library: empty until set
SELECT current_setting('enspiral.actor') = '' AS unset;

-- SET LOCAL in a block: a PL/pgSQL call whose statements are routed to the
-- worker, where the rule's trigger sees ben, who is no admin
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.add_member(:g, 'dee');
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.add_member(:g, 'dee') > 0 AS added_by_ana;
COMMIT;

-- a session SET, a call alone outside a block (Citus would delegate it)
SET enspiral.actor = :'ben';
SELECT enspiral.add_member(:g, 'eve');
SELECT enspiral.grant_role(:g, :ben, 'admin');
SET enspiral.actor = :'ana';
SELECT enspiral.add_member(:g, 'eve') > 0 AS added_by_ana;
RESET enspiral.actor;

-- set_config() in the same statement
SELECT set_config('enspiral.actor', :'cy', true) = :'cy' AS set, enspiral.add_member(:g, 'fay');
SELECT set_config('enspiral.actor', :'ana', true) = :'ana' AS set,
       enspiral.add_member(:g, 'fay') > 0 AS added_by_ana;

-- the events name the actor, as they do on a single server
SELECT m.member_key, e.actor = :ana AS by_ana
  FROM enspiral.events_since(:g, 0, 1000) e
  JOIN enspiral.members m ON m.group_id = :g AND m.member_id = e.member_id
 WHERE e.kind = 'member_added' AND m.member_key IN ('ana', 'dee', 'eve', 'fay')
 ORDER BY e.event_id;

-- a call that runs itself on the group's node (close_proposal(), through
-- group_elsewhere()): only the author or an admin closes; cy is neither
SELECT enspiral.propose(:g, :ben, 'Buy a van', 'consent') AS p \gset
SELECT enspiral.open_proposal(:g, :p, now() + interval '2 days', NULL);
SELECT enspiral.vote(:g, :p, :cy, '"agree"', NULL) IS NOT NULL AS voted;
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.close_proposal(:g, :p);
ROLLBACK;
SET enspiral.actor = :'cy';
SELECT enspiral.close_proposal(:g, :p);
SET enspiral.actor = :'ben';
SELECT enspiral.close_proposal(:g, :p) IS NOT NULL AS closed_by_author;
RESET enspiral.actor;
SELECT state FROM enspiral.proposals WHERE group_id = :g AND proposal_id = :p;

-- savepoints: an actor set in a subtransaction that rolls back is gone, one
-- set in a subtransaction that is released stays, on the worker as here
BEGIN;
SET LOCAL enspiral.actor = :'ana';
SELECT enspiral.add_member(:g, 'gus') > 0 AS added_by_ana;
SAVEPOINT s;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.add_member(:g, 'hal');
ROLLBACK TO SAVEPOINT s;
SELECT enspiral.add_member(:g, 'hal') > 0 AS added_by_ana_again;
SAVEPOINT t;
SET LOCAL enspiral.actor = :'cy';
RELEASE SAVEPOINT t;
SELECT enspiral.add_member(:g, 'ivy');
ROLLBACK;
-- ... and an actor cleared in a block acts as the application again, on the
-- connection to the worker that the read opened under ben too
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT enspiral.add_member(:g, 'jo');
ROLLBACK;
BEGIN;
SET LOCAL enspiral.actor = :'ben';
SELECT count(*) >= 0 AS read FROM enspiral.members WHERE group_id = :g;
SET LOCAL enspiral.actor = '';
SELECT enspiral.add_member(:g, 'jo') > 0 AS added_by_the_application;
ROLLBACK;

-- a plan kept without an actor (a prepared statement without parameters,
-- which Citus delegates) carries the actor named later
SELECT format('PREPARE add_kay AS SELECT enspiral.add_member(%s, %L)', :g, 'kay') \gexec
-- planned, not run, without an actor: Citus delegates the call (its plan,
-- a Custom Scan (Citus Adaptive) with one task, names the worker's port)
\o /dev/null
EXPLAIN (COSTS OFF) EXECUTE add_kay;
\o
SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'add_kay';
SET enspiral.actor = :'cy';
EXECUTE add_kay;
SET enspiral.actor = :'ana';
EXECUTE add_kay;
RESET enspiral.actor;
SELECT count(*) AS kays FROM enspiral.members WHERE group_id = :g AND member_key = 'kay';
DEALLOCATE add_kay;

-- without an actor the call alone is delegated, as before
SELECT enspiral.add_member(:g, 'lou') > 0 AS added_by_the_application;

-- a forwarded call's writes end with the client's statement: the second
-- contribution fails (more than the member has), and the first one, forwarded
-- to the worker in the same statement, is gone too (a function on the
-- coordinator makes both calls, which Citus does not delegate)
SET client_min_messages = error;
CREATE FUNCTION pg_temp.contribute_twice(g bigint, b bigint, m bigint, x bigint, y bigint)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enspiral.contribute(g, b, m, x, NULL);
    PERFORM enspiral.contribute(g, b, m, y, NULL);
END
$$;
RESET client_min_messages;
SELECT enspiral.create_round(:g, 'Spring', 100, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_bucket(:r, :ana, 'Bikes', 0, 1000) AS b \gset
SELECT enspiral.allocate(:g, :r, NULL, NULL) > 0 AS allocated;
SELECT enspiral.open_bucket(:g, :b);
SELECT a.balance AS ana_before FROM enspiral.accounts a
 WHERE a.group_id = :g AND a.kind = 'member' AND a.owner_id = :ana AND a.round_id = :r;
SELECT pg_temp.contribute_twice(:g, :b, :ana, 10, 100000);
SELECT a.balance AS ana_after FROM enspiral.accounts a
 WHERE a.group_id = :g AND a.kind = 'member' AND a.owner_id = :ana AND a.round_id = :r;
