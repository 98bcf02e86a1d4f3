-- pgTAP: the public contract of groups and members, and its SQLSTATEs.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
SELECT plan(21);

SELECT has_function('enspiral', 'create_group', ARRAY['text', 'jsonb'], 'create_group(text, jsonb)');
SELECT function_returns('enspiral', 'create_group', ARRAY['text', 'jsonb'], 'bigint', 'create_group returns bigint');
SELECT has_function('enspiral', 'add_member', ARRAY['bigint', 'text'], 'add_member(bigint, text)');
SELECT function_returns('enspiral', 'add_member', ARRAY['bigint', 'text'], 'bigint', 'add_member returns bigint');
SELECT has_function('enspiral', 'remove_member', ARRAY['bigint', 'bigint'], 'remove_member(bigint, bigint)');
SELECT has_function('enspiral', 'version', 'version()');
SELECT is(enspiral.version(), enspiral.library_version(), 'SQL and library versions agree');

SELECT lives_ok($$SELECT enspiral.create_group('tap')$$, 'create a group with default settings');
SELECT is((enspiral.group_settings(1) ->> 'min_catalysts')::int, 3, 'default min_catalysts is 3');
SELECT throws_ok($$SELECT enspiral.create_group('x', '{"nope": 1}')$$, 'NS006',
                 'unrecognized setting "nope"', 'unknown setting key is NS006 naming the key');
SELECT throws_ok($$SELECT enspiral.create_group('x', '{"min_catalysts": -1}')$$, 'NS006',
                 'value of setting "min_catalysts" is out of range', 'out of range setting is NS006');
SELECT throws_ok($$SELECT enspiral.add_member(99, 'x')$$, 'NS002', 'group does not exist',
                 'unknown group is NS002');

SELECT is(enspiral.add_member(1, 'ana'), 1::bigint, 'first member gets id 1');
SELECT throws_ok($$SELECT enspiral.add_member(1, 'ana')$$, 'NS005', NULL, 'duplicate member key is NS005');
SELECT throws_ok($$SELECT enspiral.add_member(1, '')$$, 'NS401', NULL, 'empty member key is NS401');
SELECT throws_ok($$SELECT enspiral.remove_member(1, 77)$$, 'NS003', NULL, 'unknown member is NS003');
SELECT lives_ok($$SELECT enspiral.remove_member(1, 1)$$, 'remove a member');
SELECT throws_ok($$SELECT enspiral.remove_member(1, 1)$$, 'NS004', NULL, 'removed member is NS004');
SELECT is(enspiral.add_member(1, 'ana'), 1::bigint, 'rejoining keeps the identity');
SELECT ok(enspiral.is_member(1, 1), 'member again');
SELECT throws_ok($$DELETE FROM enspiral.memberships$$, 'NS007', NULL, 'history cannot be deleted');

SELECT * FROM finish();
ROLLBACK;
