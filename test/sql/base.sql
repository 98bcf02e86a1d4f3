-- Foundation: version, groups, settings, members and membership history.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- version: SQL and library agree
SELECT enspiral.version() = enspiral.library_version() AS versions_agree;
SELECT extversion = enspiral.version() AS matches_catalog FROM pg_extension WHERE extname = 'enspiral';
-- a library that does not match the installed SQL objects is refused clearly
BEGIN;
UPDATE pg_extension SET extversion = '0.0.1' WHERE extname = 'enspiral';
SELECT enspiral.version();
ROLLBACK;

-- groups and their settings
SELECT enspiral.create_group('Enspiral') AS g1 \gset
SELECT enspiral.group_settings(:g1);
SELECT enspiral.create_group('Small', '{"min_catalysts": 2, "catalyst_min_days_per_week": 0.5}') AS g2 \gset
SELECT enspiral.group_settings(:g2);
-- bad settings name the key
SELECT enspiral.create_group('x', '{"min_catalyst": 3}');
SELECT enspiral.create_group('x', '{"min_catalysts": "3"}');
SELECT enspiral.create_group('x', '{"min_catalysts": 2.5}');
SELECT enspiral.create_group('x', '{"catalyst_term_months": 0}');
SELECT enspiral.create_group('x', '{"catalyst_min_days_per_week": 0}');
SELECT enspiral.create_group('x', '{"catalyst_min_days_per_week": 7.5}');
SELECT enspiral.create_group('x', '{"catalyst_term_months": 30}');
SELECT enspiral.create_group('x', '{"min_catalysts": "NaN"}');
SELECT enspiral.create_group('x', '[1,2]');
SELECT enspiral.create_group('x', '3');
SELECT enspiral.create_group('x', NULL);
SELECT enspiral.create_group('', '{}');
SELECT enspiral.create_group(NULL);
-- update merges and validates
SELECT enspiral.update_group_settings(:g2, '{"catalyst_max_months": 36}');
SELECT enspiral.update_group_settings(:g2, '{"catalyst_max_months": 1}');
SELECT enspiral.update_group_settings(999999, '{}');
SELECT enspiral.group_settings(999999);
-- direct writes are checked too
UPDATE enspiral.groups SET settings = '{"min_catalysts": -1}' WHERE group_id = :g1;
INSERT INTO enspiral.groups (name, settings) VALUES ('direct', '{"bogus": 1}');

-- members
SELECT enspiral.add_member(:g1, 'alice') AS alice \gset
SELECT enspiral.add_member(:g1, 'bob') AS bob \gset
SELECT enspiral.add_member(:g2, 'alice') <> :alice AS other_group_other_id;
SELECT enspiral.member_id(:g1, 'alice') = :alice AS lookup_by_key;
SELECT enspiral.member_id(:g1, 'nobody') IS NULL AS unknown_key_is_null;
SELECT count(*) FROM enspiral.current_members WHERE group_id = :g1;
-- bad input
SELECT enspiral.add_member(:g1, 'alice');
SELECT enspiral.add_member(:g1, '');
SELECT enspiral.add_member(:g1, NULL);
SELECT enspiral.add_member(NULL, 'carol');
SELECT enspiral.add_member(999999, 'carol');
-- removal keeps history; rejoining keeps the identity
SELECT enspiral.is_member(:g1, :bob) AS bob_member_now;
SELECT enspiral.remove_member(:g1, :bob);
SELECT enspiral.is_member(:g1, :bob) AS bob_member_after_removal;
SELECT enspiral.remove_member(:g1, :bob);
SELECT enspiral.remove_member(:g1, 424242);
SELECT enspiral.remove_member(999999, :bob);
SELECT enspiral.remove_member(:g1, NULL);
SELECT enspiral.add_member(:g1, 'bob') = :bob AS same_identity_on_rejoin;
SELECT count(*) AS bob_periods FROM enspiral.memberships WHERE member_id = :bob;
SELECT enspiral.is_member(:g1, :bob) AS bob_member_again;
-- membership at a past time: before anyone joined
SELECT enspiral.is_member(:g1, :alice, '2000-01-01') AS alice_in_2000;
SELECT enspiral.is_member(:g2, :alice) AS alice_not_in_g2_under_that_id;
-- direct writes cannot rewrite history
UPDATE enspiral.members SET member_key = 'mallory' WHERE member_id = :alice;
DELETE FROM enspiral.members WHERE member_id = :alice;
DELETE FROM enspiral.memberships WHERE member_id = :alice;
UPDATE enspiral.memberships SET joined_at = '2000-01-01' WHERE member_id = :alice;
\set VERBOSITY terse
INSERT INTO enspiral.memberships (group_id, member_id, joined_at)
    VALUES (:g1, :alice, now() - interval '1 day');
\set VERBOSITY default
-- a closed period can be closed only once
UPDATE enspiral.memberships SET left_at = now() WHERE member_id = :bob AND left_at IS NOT NULL;

-- leave and rejoin within one transaction: an empty period, then a new one
BEGIN;
SELECT enspiral.add_member(:g1, 'carol') AS carol \gset
SELECT enspiral.remove_member(:g1, :carol);
SELECT enspiral.add_member(:g1, 'carol') = :carol AS carol_same_id;
SELECT period, left_at IS NULL AS open, joined_at = left_at AS empty
  FROM enspiral.memberships WHERE member_id = :carol ORDER BY period;
SELECT enspiral.is_member(:g1, :carol) AS carol_member;
COMMIT;

-- the membership lookup is an index scan
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT 1 FROM enspiral.memberships
 WHERE group_id = 1 AND member_id = 2 AND joined_at <= now() AND (left_at IS NULL OR left_at > now());
RESET enable_seqscan;

