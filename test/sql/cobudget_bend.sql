-- Rounds that bend: top-ups, ADD/SET allocations, bucket creation deadline,
-- accepting funding at the minimum, withdrawals, hidden totals.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cai') AS cai \gset
SELECT enspiral.create_round(:g, 'Spring', 900, now() - interval '1 hour', now() + interval '1 day',
         '{"accept_funding_at_min": true, "allow_withdraw": true}') AS r \gset
SELECT settings FROM enspiral.rounds WHERE round_id = :r;

-- settings: validated
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"allow_withdraw": 1}');
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"hide_totals": "yes"}');
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"bucket_creation_closes_at": "tomorrow"}');
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"bucket_creation_closes_at": "2027-01-01 12:00"}');
SELECT enspiral.create_round(:g, 'x', 10, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '{"bucket_creation_closes_at": "2026-01-03T00:00:00Z"}');

-- allocate the first 900 to everyone, then a late joiner
SELECT enspiral.allocate(:r);
SELECT enspiral.add_member(:g, 'dee') AS dee \gset
SELECT enspiral.allocate(:r);

-- top_up_round: the pool grows by a fund transfer from the source
SELECT enspiral.top_up_round(:g, :r, 300) > 0 AS topped;
SELECT pool, topped_up FROM enspiral.rounds WHERE round_id = :r;
SELECT kind, from_kind, to_kind, amount FROM enspiral.ledger WHERE round_id = :r AND kind = 'fund'
 ORDER BY transfer_id;
SELECT enspiral.top_up_round(:g, :r, 0);
SELECT enspiral.top_up_round(:g, :r, NULL);
SELECT enspiral.top_up_round(:g, 999, 10);
SELECT enspiral.top_up_round(:g + 1, :r, 10);
SELECT enspiral.top_up_round(:g, :r, 9223372036854775807);

-- ADD: the late joiner gets 250; SET: ana's balance becomes exactly 100
SELECT enspiral.allocate_members(:g, :r, ARRAY[:dee], ARRAY[250]::bigint[]);
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ana, :dee], ARRAY[100, 300]::bigint[], 'set');
SELECT enspiral.balance(:r, :ana) AS ana, enspiral.balance(:r, :ben) AS ben,
       enspiral.balance(:r, :dee) AS dee,
       (SELECT balance FROM enspiral.accounts WHERE round_id = :r AND kind = 'pool') AS pool;
SELECT kind, from_kind, from_owner, to_kind, to_owner, amount FROM enspiral.ledger
 WHERE round_id = :r AND kind IN ('allocate', 'deallocate') AND transfer_id > 4 ORDER BY transfer_id;
-- refusals
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ben], ARRAY[1000]::bigint[]);
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ben], ARRAY[0]::bigint[]);
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ben], ARRAY[-1]::bigint[], 'set');
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ben, :ben], ARRAY[1, 1]::bigint[]);
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ben], ARRAY[1, 1]::bigint[]);
SELECT enspiral.allocate_members(:g, :r, ARRAY[999], ARRAY[1]::bigint[]);
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ben], ARRAY[1]::bigint[], 'multiply');
SELECT enspiral.allocate_members(:g, :r, ARRAY[:ben], ARRAY[NULL]::bigint[]);
SELECT enspiral.allocate_members(:g, 999, ARRAY[:ben], ARRAY[1]::bigint[]);

-- accept_funding: once the minimum is reached, before the close
SELECT enspiral.create_bucket(:r, :ana, 'Garden', 100, 500) AS garden \gset
SELECT enspiral.open_bucket(:garden);
SELECT enspiral.contribute(:garden, :ben, 60) > 0 AS given;
SELECT enspiral.accept_funding(:g, :garden);
SELECT enspiral.contribute(:garden, :cai, 40) > 0 AS given;
SELECT enspiral.accept_funding(:g, :garden) AS accepted;
SELECT enspiral.bucket_state(:garden);
SELECT enspiral.contribute(:garden, :ben, 1);
SELECT enspiral.accept_funding(:g, :garden);
SELECT enspiral.accept_funding(:g, 999);
SELECT * FROM enspiral.verify_ledger(:g);

-- withdraw_contribution: reversing transfers, never a delete
SELECT enspiral.create_bucket(:r, :ben, 'Library', 0, 500) AS lib \gset
SELECT enspiral.open_bucket(:lib);
SELECT enspiral.contribute(:lib, :cai, 30) > 0, enspiral.contribute(:lib, :cai, 50) > 0;
SELECT enspiral.withdraw_contribution(:g, :lib, :cai, 60);
SELECT kind, from_kind, to_kind, amount, reverses IS NOT NULL AS reversal FROM enspiral.ledger
 WHERE round_id = :r AND (from_owner = :lib OR to_owner = :lib) ORDER BY transfer_id;
SELECT enspiral.bucket_total(:lib) AS lib, enspiral.balance(:r, :cai) AS cai;
SELECT enspiral.withdraw_contribution(:g, :lib, :cai, 21);
SELECT enspiral.withdraw_contribution(:g, :lib, :ana, 1);
SELECT enspiral.withdraw_contribution(:g, :lib, :cai, 0);
SELECT enspiral.withdraw_contribution(:g, :garden, :ben, 10);
SELECT enspiral.withdraw_contribution(:g, 999, :cai, 10);
SELECT enspiral.cancel_bucket(:lib) AS refunds;
SELECT enspiral.bucket_total(:lib) AS lib, enspiral.balance(:r, :cai) AS cai;
SELECT * FROM enspiral.verify_ledger(:g);

-- a bucket creation deadline in the past
SELECT enspiral.create_round(:g, 'Plain', 100, now() - interval '1 hour', now() + interval '1 day',
         '{"hide_totals": true, "bucket_creation_closes_at": "2000-01-01T00:00:00Z"}') AS p \gset
SELECT enspiral.allocate(:p);
SELECT enspiral.create_bucket(:p, :ana, 'Late', 0, 10);
-- hidden totals: refused until the close, then shown
SELECT enspiral.create_round(:g, 'Hidden', 100, now() - interval '1 hour', now() + interval '1 day',
         '{"hide_totals": true}') AS h \gset
SELECT enspiral.allocate(:h);
SELECT enspiral.create_bucket(:h, :ana, 'Secret', 0, 100) AS sec \gset
SELECT enspiral.open_bucket(:sec);
SELECT enspiral.contribute(:sec, :ben, 10) > 0 AS given;
-- a round without the settings refuses early funding and withdrawals
SELECT enspiral.accept_funding(:g, :sec);
SELECT enspiral.withdraw_contribution(:g, :sec, :ben, 10);
SELECT enspiral.totals_visible(:g, :h) AS visible;
SELECT enspiral.bucket_total(:sec);
SELECT enspiral.close_round(:h);
SELECT enspiral.totals_visible(:g, :h) AS visible, enspiral.bucket_total(:sec) AS total;

-- after the close: no top-up, no allocation, no withdrawal, no acceptance
SELECT enspiral.top_up_round(:g, :h, 10);
SELECT enspiral.allocate_members(:g, :h, ARRAY[:ana], ARRAY[1]::bigint[]);
SELECT enspiral.close_round(:r);
SELECT enspiral.top_up_round(:g, :r, 10);
-- past closes_at but not yet closed: no withdrawal, no acceptance
SELECT enspiral.create_round(:g, 'Short', 100, now() - interval '1 hour', now() + interval '5 seconds',
         '{"accept_funding_at_min": true, "allow_withdraw": true}') AS s \gset
SELECT enspiral.allocate(:s);
SELECT enspiral.create_bucket(:s, :ana, 'Brief', 10, 100) AS brief \gset
SELECT enspiral.open_bucket(:brief);
SELECT enspiral.contribute(:brief, :ana, 20) > 0 AS given;
SELECT pg_sleep(5.5);
SELECT enspiral.accept_funding(:g, :brief);
SELECT enspiral.withdraw_contribution(:g, :brief, :ana, 5);
-- the guard keeps topped_up growing only, before the close
UPDATE enspiral.rounds SET topped_up = 0 WHERE round_id = :r;
SELECT * FROM enspiral.verify_ledger(:g);
