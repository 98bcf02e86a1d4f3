-- pgTAP: the public contract of co-budgeting and the SQLSTATE of every
-- refusal.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
SELECT plan(59);

-- signatures
SELECT has_function('enspiral', 'create_round', ARRAY['bigint', 'text', 'bigint', 'timestamp with time zone', 'timestamp with time zone', 'jsonb'], 'create_round(...)');
SELECT function_returns('enspiral', 'create_round', ARRAY['bigint', 'text', 'bigint', 'timestamp with time zone', 'timestamp with time zone', 'jsonb'], 'bigint', 'create_round returns bigint');
SELECT has_function('enspiral', 'allocate', ARRAY['bigint', 'bigint[]', 'numeric[]'], 'allocate(bigint, bigint[], numeric[])');
SELECT has_function('enspiral', 'create_bucket', ARRAY['bigint', 'bigint', 'text', 'bigint', 'bigint'], 'create_bucket(...)');
SELECT has_function('enspiral', 'open_bucket', ARRAY['bigint'], 'open_bucket(bigint)');
SELECT has_function('enspiral', 'cancel_bucket', ARRAY['bigint'], 'cancel_bucket(bigint)');
SELECT has_function('enspiral', 'complete_bucket', ARRAY['bigint'], 'complete_bucket(bigint)');
SELECT function_returns('enspiral', 'contribute', ARRAY['bigint', 'bigint', 'bigint', 'text'], 'bigint', 'contribute returns the transfer id');
SELECT has_function('enspiral', 'close_round', ARRAY['bigint'], 'close_round(bigint)');
SELECT has_function('enspiral', 'match_round', ARRAY['bigint', 'bigint', 'text', 'bigint', 'numeric', 'jsonb'], 'match_round(...)');
SELECT has_function('enspiral', 'verify_match', ARRAY['bigint', 'bigint'], 'verify_match(group_id, round_id)');
SELECT function_returns('enspiral', 'balance', ARRAY['bigint', 'bigint'], 'bigint', 'balance returns bigint');
SELECT function_returns('enspiral', 'bucket_total', ARRAY['bigint'], 'bigint', 'bucket_total returns bigint');
SELECT function_returns('enspiral', 'bucket_state', ARRAY['bigint'], 'text', 'bucket_state returns text');
SELECT function_returns('enspiral', 'verify_ledger', ARRAY['bigint'], 'setof text', 'verify_ledger returns setof text');
SELECT col_type_is('enspiral', 'buckets', 'state', 'enspiral.bucket_state', 'bucket state is the shared lifecycle type');

-- a round: 3 members, 300 each
SELECT enspiral.create_group('tap');
SELECT enspiral.add_member(1, k) FROM unnest(ARRAY['ana', 'ben', 'cai']) k;
SELECT is(enspiral.create_round(1, 'r', 900, now() - interval '1 hour', now() + interval '1 day',
                                '{"max_per_member_per_bucket": 200}'), 1::bigint, 'create_round');
SELECT is(enspiral.allocate(1), 900::bigint, 'allocate moves the whole pool');
SELECT is(ARRAY[enspiral.balance(1, 1), enspiral.balance(1, 2), enspiral.balance(1, 3)],
          ARRAY[300, 300, 300]::bigint[], 'equal shares');
SELECT throws_ok($$SELECT enspiral.allocate(1)$$, 'NS210', NULL, 'empty pool is NS210');
SELECT throws_ok($$SELECT enspiral.allocate(99)$$, 'NS201', NULL, 'unknown round is NS201');
SELECT throws_ok($$SELECT enspiral.create_round(1, 'x', 1, now(), now() + interval '1 day', '{"bad": 1}')$$,
                 'NS006', NULL, 'unknown round setting is NS006');
SELECT throws_ok($$SELECT enspiral.create_round(1, 'x', -1, now(), now() + interval '1 day')$$,
                 'NS407', NULL, 'negative pool is NS407');
SELECT throws_ok($$SELECT enspiral.create_round(99, 'x', 1, now(), now() + interval '1 day')$$,
                 'NS002', NULL, 'unknown group is NS002');

SELECT is(enspiral.create_bucket(1, 1, 'A', 100, 250), 1::bigint, 'create bucket A');
SELECT is(enspiral.create_bucket(1, 2, 'B', 0, 1000), 2::bigint, 'create bucket B');
SELECT is(enspiral.bucket_state(1), 'idea', 'a new bucket is an idea');
SELECT throws_ok($$SELECT enspiral.create_bucket(1, 1, 'x', 5, 1)$$, 'NS404', NULL, 'min_goal > max_goal is NS404');
SELECT throws_ok($$SELECT enspiral.create_bucket(1, 9, 'x', 0, 1)$$, 'NS003', NULL, 'author unknown in the group is NS003');
SELECT throws_ok($$SELECT enspiral.contribute(1, 1, 10)$$, 'NS204', NULL, 'an idea takes no money (NS204)');
SELECT lives_ok($$SELECT enspiral.open_bucket(1), enspiral.open_bucket(2)$$, 'open buckets');
SELECT lives_ok($$SELECT enspiral.open_bucket(1)$$, 'opening twice is a no-op');
SELECT throws_ok($$SELECT enspiral.complete_bucket(1)$$, 'NS010', NULL, 'open -> completed is NS010');

-- contribute: every refusal
SELECT ok(enspiral.contribute(1, 1, 150) > 0, 'a contribution');
SELECT throws_ok($$SELECT enspiral.contribute(1, 1, 0)$$, 'NS407', NULL, 'amount 0 is NS407');
SELECT throws_ok($$SELECT enspiral.contribute(1, NULL, 1)$$, '22004', NULL, 'NULL member is 22004');
SELECT throws_ok($$SELECT enspiral.contribute(99, 1, 1)$$, 'NS202', NULL, 'unknown bucket is NS202');
SELECT throws_ok($$SELECT enspiral.contribute(2, 1, 151)$$, 'NS205',
                 'member would be overdrawn', 'overdraft is NS205');
SELECT throws_ok($$SELECT enspiral.contribute(1, 2, 101)$$, 'NS206',
                 'bucket would exceed its maximum goal', 'overfunding is NS206');
SELECT throws_ok($$SELECT enspiral.contribute(1, 1, 51)$$, 'NS207', NULL, 'per-member cap is NS207');
SELECT throws_ok($$SELECT enspiral.contribute(1, 9, 1)$$, 'NS003', NULL, 'unknown member is NS003');
SELECT is(enspiral.contribute(2, 3, 10, 'k'), enspiral.contribute(2, 3, 10, 'k'), 'same key replays');
SELECT throws_ok($$SELECT enspiral.contribute(2, 3, 11, 'k')$$, 'NS208', NULL, 'key reused differently is NS208');
SELECT ok(enspiral.contribute(1, 2, 100) > 0, 'reach max_goal');
SELECT is(enspiral.bucket_state(1), 'funded', 'a bucket at max_goal is funded');
SELECT throws_ok($$SELECT enspiral.contribute(1, 3, 1)$$, 'NS204', NULL, 'funded bucket is NS204');

-- ledger
SELECT throws_ok($$DELETE FROM enspiral.transfers$$, 'NS011', NULL, 'ledger DELETE is NS011');
SELECT throws_ok($$UPDATE enspiral.transfers SET amount = 1$$, 'NS011', NULL, 'ledger UPDATE is NS011');
-- (the hash chain is linked by a linker, not at commit: nothing is pending)
SELECT ok(enspiral.link_chain(1) > 0, 'the linker links the ledger written so far');
SELECT throws_ok($$TRUNCATE enspiral.transfers$$, 'NS011', NULL, 'ledger TRUNCATE is NS011');
SELECT throws_ok($$UPDATE enspiral.accounts SET balance = 0$$, 'NS007', NULL, 'direct balance change is NS007');

-- cancel, close, match
SELECT is(enspiral.cancel_bucket(2), 1, 'cancel refunds the one contribution');
SELECT is(enspiral.cancel_bucket(2), 0, 'second cancel is a no-op: 0 refunds');
SELECT throws_ok($$SELECT enspiral.match_round(1, 10)$$, 'NS203', NULL, 'match before close is NS203');
SELECT is(enspiral.close_round(1), 0, 'close: no open bucket left');
SELECT throws_ok($$SELECT enspiral.contribute(1, 3, 1)$$, 'NS203', NULL, 'closed round is NS203');
SELECT lives_ok($$SELECT enspiral.match_round(1, 100)$$, 'match once');
SELECT throws_ok($$SELECT enspiral.match_round(1, 100)$$, 'NS209', NULL, 'second match is NS209');
SELECT is_empty($$SELECT * FROM enspiral.verify_ledger(1)$$, 'verify_ledger finds nothing');

SELECT * FROM finish();
ROLLBACK;
