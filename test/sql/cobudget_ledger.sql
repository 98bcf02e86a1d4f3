-- The ledger: append-only, balances only through transfers, conservation,
-- reversals mirror what they reverse, overflow is an error, and
-- verify_ledger finds tampering done with the triggers disabled.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.create_round(:g, 'Spring', 1000, now() - interval '1 hour',
                             now() + interval '1 day') AS r \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'Bikes', 10, 500) AS b \gset
SELECT enspiral.open_bucket(:b);
SELECT enspiral.contribute(:b, :ana, 100) AS t \gset

-- conservation: the accounts of a round sum to zero
SELECT kind, owner_id, balance FROM enspiral.accounts WHERE round_id = :r ORDER BY account_id;
SELECT sum(balance) FROM enspiral.accounts WHERE round_id = :r;

-- the ledger is append-only, even for its owner
UPDATE enspiral.transfers SET amount = 1 WHERE transfer_id = :t;
DELETE FROM enspiral.transfers WHERE transfer_id = :t;
TRUNCATE enspiral.transfers;
-- balances change only through transfers
UPDATE enspiral.accounts SET balance = balance + 1 WHERE round_id = :r AND kind = 'pool';
DELETE FROM enspiral.accounts WHERE round_id = :r AND kind = 'pool';
TRUNCATE enspiral.accounts CASCADE;
INSERT INTO enspiral.accounts (group_id, round_id, kind, balance) VALUES (:g, :r, 'matching', 5);
-- buckets and rounds are never deleted; a bucket's terms do not change
DELETE FROM enspiral.buckets WHERE bucket_id = :b;
UPDATE enspiral.buckets SET max_goal = 5000 WHERE bucket_id = :b;
UPDATE enspiral.buckets SET state = 'idea' WHERE bucket_id = :b;
INSERT INTO enspiral.buckets (group_id, round_id, author_id, title, min_goal, max_goal, state)
VALUES (:g, :r, :ana, 'sneaky', 0, 10, 'funded');
DELETE FROM enspiral.rounds WHERE round_id = :r;
UPDATE enspiral.rounds SET pool = 5 WHERE round_id = :r;

-- a direct transfer insert keeps the balances right (the trigger applies it)
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
SELECT :g, :r, 'contribute', m.account_id, b.account_id, 5
  FROM enspiral.accounts m, enspiral.accounts b
 WHERE m.round_id = :r AND m.owner_id = :ben AND m.kind = 'member'
   AND b.round_id = :r AND b.kind = 'bucket';
SELECT enspiral.balance(:r, :ben), enspiral.bucket_total(:b);
-- ... but cannot overdraw, cross rounds, or move nothing
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
SELECT :g, :r, 'contribute', m.account_id, b.account_id, 100000
  FROM enspiral.accounts m, enspiral.accounts b
 WHERE m.round_id = :r AND m.owner_id = :ben AND m.kind = 'member'
   AND b.round_id = :r AND b.kind = 'bucket';
SELECT enspiral.create_round(:g, 'Other', 10, now(), now() + interval '1 day') AS r2 \gset
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
SELECT :g, :r, 'allocate', p.account_id, m.account_id, 1
  FROM enspiral.accounts p, enspiral.accounts m
 WHERE p.round_id = :r2 AND p.kind = 'pool' AND m.round_id = :r AND m.owner_id = :ben;
\set VERBOSITY terse
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
SELECT :g, :r, 'allocate', p.account_id, m.account_id, 0
  FROM enspiral.accounts p, enspiral.accounts m
 WHERE p.round_id = :r AND p.kind = 'pool' AND m.round_id = :r AND m.owner_id = :ben;
\set VERBOSITY default
-- a reversal must mirror the original, and is possible once
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount, reverses)
SELECT :g, :r, 'refund', to_account, from_account, amount - 1, transfer_id
  FROM enspiral.transfers WHERE transfer_id = :t;
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount, reverses)
SELECT :g, :r, 'refund', to_account, from_account, amount, transfer_id
  FROM enspiral.transfers WHERE transfer_id = :t;
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount, reverses)
SELECT :g, :r, 'refund', to_account, from_account, amount, transfer_id
  FROM enspiral.transfers WHERE transfer_id = :t;
SELECT enspiral.bucket_total(:b), enspiral.balance(:r, :ana);
SELECT * FROM enspiral.verify_ledger(:g);

-- overflow is an error, never a wrap
SELECT enspiral.create_round(:g, 'Huge', 9223372036854775807, now(), now() + interval '1 day') AS rh \gset
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
SELECT :g, :rh, 'fund', s.account_id, p.account_id, 1
  FROM enspiral.accounts s, enspiral.accounts p
 WHERE s.round_id = :rh AND s.kind = 'source' AND p.round_id = :rh AND p.kind = 'pool';
SELECT kind, balance FROM enspiral.accounts WHERE round_id = :rh ORDER BY account_id;
SELECT enspiral.verify_ledger(:g);

-- tampering with the triggers disabled (superuser only) is found
ALTER TABLE enspiral.accounts DISABLE TRIGGER USER;
ALTER TABLE enspiral.transfers DISABLE TRIGGER USER;
UPDATE enspiral.accounts SET balance = balance + 7 WHERE round_id = :r AND kind = 'pool';
UPDATE enspiral.transfers SET amount = amount + 1 WHERE transfer_id = :t;
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
SELECT :g, :r, 'allocate', p.account_id, m.account_id, 3
  FROM enspiral.accounts p, enspiral.accounts m
 WHERE p.round_id = :r2 AND p.kind = 'pool' AND m.round_id = :r AND m.owner_id = :ben;
ALTER TABLE enspiral.accounts ENABLE TRIGGER USER;
ALTER TABLE enspiral.transfers ENABLE TRIGGER USER;
SELECT * FROM enspiral.verify_ledger(:g) ORDER BY 1;
-- another group is unaffected
SELECT enspiral.create_group('Other group') AS other_group \gset
SELECT count(*) FROM enspiral.verify_ledger(:other_group);

-- COPY FROM is a restore: rows are loaded as dumped (balances are not
-- applied again, accounts and buckets keep their dumped values), and
-- verify_ledger checks the result
SELECT enspiral.create_group('Restored') AS g3 \gset
SELECT enspiral.create_round(:g3, 'R', 50, now(), now() + interval '1 day') AS r3 \gset
SELECT s.account_id AS src3, p.account_id AS pool3
  FROM enspiral.accounts s, enspiral.accounts p
 WHERE s.round_id = :r3 AND s.kind = 'source' AND p.round_id = :r3 AND p.kind = 'pool' \gset
SELECT format('COPY enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount) FROM PROGRAM %L',
              format('printf ''%s\t%s\tfund\t%s\t%s\t5\n''', :g3, :r3, :src3, :pool3)) \gexec
SELECT kind, balance FROM enspiral.accounts WHERE round_id = :r3 ORDER BY account_id;
SELECT * FROM enspiral.verify_ledger(:g3) ORDER BY 1;
-- ... but a COPY whose query calls the API is no restore: balances move
SELECT enspiral.create_group('Copy caller') AS g4 \gset
SELECT enspiral.add_member(:g4, 'zed') AS zed \gset
SELECT enspiral.create_round(:g4, 'R4', 40, now() - interval '1 hour', now() + interval '1 day') AS r4 \gset
SELECT enspiral.allocate(:r4);
SELECT enspiral.create_bucket(:r4, :zed, 'B4', 0, 40) AS b4 \gset
SELECT enspiral.open_bucket(:b4);
COPY (SELECT enspiral.contribute(:b4, :zed, 5) > 0 AS plain,
             enspiral.contribute(:b4, :zed, 7, 'copy-key') > 0 AS keyed) TO STDOUT;
COPY (SELECT enspiral.cancel_bucket(:b4)) TO STDOUT;
SELECT enspiral.balance(:r4, :zed), enspiral.bucket_total(:b4), enspiral.bucket_state(:b4);
SELECT * FROM enspiral.verify_ledger(:g4);
