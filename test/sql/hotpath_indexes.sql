-- The direct writers open their table's indexes with the IndexInfo kept
-- per backend (src/core_exprcache.c, exprcache_open_indices): an index
-- created, replaced or dropped in the same session after the hot path has
-- run is seen at the next call, with its predicate and its uniqueness;
-- and the balance updates of a contribution start from the account rows
-- its locks returned (src/cobudget_ledger.c), leaving the ledger exact.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Indexes') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.create_round(:g, 'Spring', 900, now() - interval '1 hour', now() + interval '1 day') AS r \gset
SELECT enspiral.allocate(:r) AS allocated;
SELECT enspiral.create_bucket(:r, :ana, 'Garden', 10, 600) AS b \gset
SELECT enspiral.open_bucket(:b) AS opened;

-- the writers' indexes kept from a first contribution
SELECT enspiral.try_contribute(:b, :ana, 5) IS NOT NULL AS contributed;

-- a partial index created after it: the next rows that match are in it
CREATE INDEX transfers_big ON enspiral.transfers (group_id, amount) WHERE amount >= 7;
SELECT enspiral.try_contribute(:b, :ana, 7) IS NOT NULL AS contributed;
SELECT enspiral.try_contribute(:b, :ben, 6) IS NOT NULL AS contributed;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT amount FROM enspiral.transfers WHERE group_id = :g AND amount >= 7 AND amount < 100;
SELECT amount FROM enspiral.transfers WHERE group_id = :g AND amount >= 7 AND amount < 100 ORDER BY amount;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- a unique index created after it: the next duplicate is refused by it
DROP INDEX enspiral.transfers_big;
CREATE UNIQUE INDEX transfers_one_amount ON enspiral.transfers (group_id, amount)
    WHERE kind = 'contribute';
SELECT enspiral.try_contribute(:b, :ben, 8) IS NOT NULL AS contributed;
SELECT enspiral.try_contribute(:b, :ana, 8) IS NOT NULL AS contributed;

-- dropped again: the writers no longer open it
DROP INDEX enspiral.transfers_one_amount;
SELECT enspiral.try_contribute(:b, :ana, 8) IS NOT NULL AS contributed;

-- balances and totals exact after every path above
SELECT enspiral.bucket_total(:b) AS bucket_total,
       (SELECT count(*) FROM enspiral.transfers WHERE group_id = :g AND kind = 'contribute') AS contributions,
       (SELECT count(*) FROM enspiral.events WHERE group_id = :g AND kind = 'contribution') AS events,
       (SELECT count(*) FROM enspiral.verify_ledger(:g)) AS ledger_problems;
SELECT a.kind, a.owner_id, a.balance
  FROM enspiral.accounts a
 WHERE a.group_id = :g AND a.kind IN ('member', 'bucket')
 ORDER BY a.kind, a.owner_id;
