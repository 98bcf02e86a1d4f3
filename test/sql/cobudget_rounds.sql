-- Co-budgeting rounds: creation, settings, allocation (exact), balances.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cai') AS cai \gset

-- create_round: pool funded from the round's source account
SELECT enspiral.create_round(:g, 'Spring', 1000, now() - interval '1 hour',
                             now() + interval '1 day') AS r \gset
SELECT kind, owner_id, balance FROM enspiral.accounts WHERE round_id = :r ORDER BY account_id;
SELECT kind, from_kind, to_kind, amount FROM enspiral.ledger WHERE round_id = :r;
SELECT settings, max_per_member_per_bucket, underfunded FROM enspiral.rounds WHERE round_id = :r;

-- settings: validated, defaults filled in
SELECT enspiral.create_round(:g, 'capped', 0, now(), now() + interval '1 day',
         '{"max_per_member_per_bucket": 50, "currency": "NZD", "underfunded": "keep"}') AS rc \gset
SELECT settings, max_per_member_per_bucket, underfunded FROM enspiral.rounds WHERE round_id = :rc;
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"colour": 1}');
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"underfunded": "burn"}');
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"max_per_member_per_bucket": 0}');
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"max_per_member_per_bucket": 1.5}');
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"currency": 5}');
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '[]');
-- bad arguments
SELECT enspiral.create_round(:g, 'x', -1, now(), now() + interval '1 day');
SELECT enspiral.create_round(:g, ' ', 10, now(), now() + interval '1 day');
SELECT enspiral.create_round(:g, 'x', 10, now(), now());
SELECT enspiral.create_round(:g, 'x', NULL, now(), now() + interval '1 day');
SELECT enspiral.create_round(999, 'x', 10, now(), now() + interval '1 day');

-- allocate to all current members equally: 1000 / 3 by largest remainder
SELECT enspiral.allocate(:r);
SELECT enspiral.balance(:r, :ana) AS ana, enspiral.balance(:r, :ben) AS ben,
       enspiral.balance(:r, :cai) AS cai;
SELECT sum(amount) FROM enspiral.transfers WHERE round_id = :r AND kind = 'allocate';
-- nothing left to allocate
SELECT enspiral.allocate(:r);

-- allocate by weights to given members; removed members are refused
SELECT enspiral.create_round(:g, 'Weighted', 100, now(), now() + interval '1 day') AS r2 \gset
SELECT enspiral.allocate(:r2, ARRAY[:ana, :ben]::bigint[], '{1, 2}');
SELECT enspiral.balance(:r2, :ana) AS ana, enspiral.balance(:r2, :ben) AS ben,
       enspiral.balance(:r2, :cai) AS cai;
SELECT enspiral.create_round(:g, 'Errors', 100, now(), now() + interval '1 day') AS r3 \gset
SELECT enspiral.allocate(:r3, ARRAY[:ana, :ana]::bigint[]);
SELECT enspiral.allocate(:r3, ARRAY[:ana, NULL]::bigint[]);
SELECT enspiral.allocate(:r3, ARRAY[:ana, :ben]::bigint[], '{1}');
SELECT enspiral.allocate(:r3, NULL, '{1}');
SELECT enspiral.allocate(:r3, ARRAY[:ana, :ben]::bigint[], '{1, -1}');
SELECT enspiral.allocate(:r3, ARRAY[:ana, :ben]::bigint[], '{0, 0}');
SELECT enspiral.remove_member(:g, :cai);
SELECT enspiral.allocate(:r3, ARRAY[:ana, :cai]::bigint[]);
SELECT enspiral.allocate(NULL);
SELECT enspiral.allocate(999);
-- equal split among the two remaining current members
SELECT enspiral.allocate(:r3);
SELECT enspiral.balance(:r3, :ana) AS ana, enspiral.balance(:r3, :ben) AS ben,
       enspiral.balance(:r3, :cai) AS cai;
SELECT enspiral.balance(999, :ana);

-- a zero pool round has nothing to allocate
SELECT enspiral.create_round(:g, 'Empty', 0, now(), now() + interval '1 day') AS r4 \gset
SELECT enspiral.allocate(:r4);

-- closed rounds cannot be allocated
SELECT enspiral.create_round(:g, 'Closed', 10, now(), now() + interval '1 day') AS r5 \gset
SELECT enspiral.close_round(:r5);
SELECT enspiral.allocate(:r5);
SELECT enspiral.close_round(:r5);
SELECT enspiral.close_round(999);

SELECT * FROM enspiral.verify_ledger(:g);
