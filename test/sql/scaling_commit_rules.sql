-- The internal functions that the Citus paths run on the group's node
-- (doc/scaling.md), called directly on a single server: the group-first
-- record_outcome and lock_group_rules, and set_commit_rules (a client's
-- SET CONSTRAINTS as the coordinator sends it to a node).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY terse

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT count(enspiral.add_member(:g, 'm' || i)) AS members FROM generate_series(1, 4) i;
SELECT enspiral.member_id(:g, 'm1') AS m1, enspiral.member_id(:g, 'm2') AS m2 \gset
SELECT enspiral.propose(:g, :m1, 'p', 'consent') AS p \gset
SELECT enspiral.open_proposal(:g, :p, now() + interval '1 day', NULL);

-- record_outcome(group_id, proposal_id): NULL while open, the outcome once
-- closed, NS101 for another group's proposal
\set VERBOSITY default
SELECT enspiral.record_outcome(:h, :p);
\set VERBOSITY terse
SELECT enspiral.record_outcome(:g, :p) IS NULL AS not_closed;
SELECT enspiral.vote(:g, :p, :m1, '"agree"', NULL) > 0 AS voted;
SELECT enspiral.close_proposal(:g, :p);
SELECT enspiral.record_outcome(:g, :p) -> 'voted' AS voted,
       enspiral.record_outcome(:g, :p) = enspiral.record_outcome(:p) AS same_as_0_1_0_form;

-- lock_group_rules(group_id, at): the time a change takes effect is the
-- statement time given, unless a proposal opens at or after it
SELECT enspiral.lock_group_rules(:h, '2001-01-01 00:00+00') = '2001-01-01 00:00+00' AS at_given;
BEGIN;
SELECT enspiral.lock_group_rules(:g, '2001-01-01 00:00+00') > now() - interval '1 hour' AS after_the_opening;
ROLLBACK;

-- set_commit_rules(group_id, names, deferred): IMMEDIATE fires the pending
-- events of the named deferred rules now
SELECT enspiral.update_group_settings(:g, '{"min_catalysts": 2}') IS NOT NULL AS min_2;
SELECT enspiral.appoint_catalyst(:g, :m1, current_date) > 0 AS a1,
       enspiral.appoint_catalyst(:g, :m2, current_date) > 0 AS a2;
SELECT term_id AS t1 FROM enspiral.catalyst_terms WHERE group_id = :g AND member_id = :m1 \gset
BEGIN;
SELECT enspiral.end_catalyst_term(:t1, current_date + 10);
SELECT enspiral.set_commit_rules(:g, ARRAY['catalyst_terms_coverage'], false);
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
-- names that are not enspiral's deferrable constraints change nothing
BEGIN;
SELECT enspiral.end_catalyst_term(:t1, current_date + 10);
SELECT enspiral.set_commit_rules(:g, ARRAY['no_such_constraint'], false);
ROLLBACK;
-- NULL names: every deferrable constraint (ALL)
BEGIN;
SELECT enspiral.end_catalyst_term(:t1, current_date + 10);
SELECT enspiral.set_commit_rules(:g, NULL, false);
ROLLBACK;
-- DEFERRED again after IMMEDIATE: checked at commit
BEGIN;
SELECT enspiral.set_commit_rules(:g, ARRAY['catalyst_terms_coverage'], false);
SELECT enspiral.set_commit_rules(:g, ARRAY['catalyst_terms_coverage'], true);
SELECT enspiral.end_catalyst_term(:t1, current_date + 10);
COMMIT;
\echo :LAST_ERROR_SQLSTATE
-- deferred must be given
SELECT enspiral.set_commit_rules(:g, NULL, NULL);
