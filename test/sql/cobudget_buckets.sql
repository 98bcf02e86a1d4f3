-- Buckets and contributions: every rule and every refusal, idempotency,
-- cancel (refunds once), close_round (funded / refunded / kept).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cai') AS cai \gset
SELECT enspiral.create_round(:g, 'Spring', 900, now() - interval '1 hour',
                             now() + interval '1 day',
                             '{"max_per_member_per_bucket": 200}') AS r \gset
SELECT enspiral.allocate(:r);

-- create_bucket
SELECT enspiral.create_bucket(:r, :ana, 'Bikes', 100, 400) AS b1 \gset
SELECT enspiral.create_bucket(:r, :ben, 'Books', 50, 100) AS b2 \gset
SELECT enspiral.create_bucket(:r, :cai, 'Garden', 300, 500) AS b3 \gset
SELECT enspiral.bucket_state(:b1), enspiral.bucket_total(:b1);
SELECT enspiral.create_bucket(:r, :ana, 'x', 10, 5);
SELECT enspiral.create_bucket(:r, :ana, 'x', -1, 5);
SELECT enspiral.create_bucket(:r, :ana, 'x', 0, 0);
SELECT enspiral.create_bucket(:r, :ana, '', 1, 5);
SELECT enspiral.create_bucket(999, :ana, 'x', 1, 5);
SELECT enspiral.create_bucket(:r, 999, 'x', 1, 5);
SELECT enspiral.bucket_state(999);
SELECT enspiral.bucket_total(999);

-- an idea takes no money
SELECT enspiral.contribute(:b1, :ana, 10);
SELECT enspiral.open_bucket(:b1);
SELECT enspiral.open_bucket(:b1);
SELECT enspiral.open_bucket(:b2);
SELECT enspiral.open_bucket(:b3);
SELECT enspiral.open_bucket(999);
SELECT enspiral.bucket_state(:b1);

-- contribute: success and every refusal
SELECT enspiral.contribute(:b1, :ana, 100) AS t1 \gset
SELECT enspiral.balance(:r, :ana), enspiral.bucket_total(:b1);
SELECT enspiral.contribute(:b1, :ana, 0);
SELECT enspiral.contribute(:b1, :ana, -5);
SELECT enspiral.contribute(:b1, NULL, 5);
SELECT enspiral.contribute(999, :ana, 5);
SELECT enspiral.contribute(:b1, :ana, 300);            -- balance 200 < 300
SELECT enspiral.contribute(:b1, :ana, 150);            -- per-member cap 200
SELECT enspiral.contribute(:b2, :ben, 60);
SELECT enspiral.contribute(:b2, :cai, 60);             -- max_goal 100
SELECT enspiral.contribute(:b2, 999, 5);               -- not a member
SELECT enspiral.contribute(:b2, :cai, 40);             -- reaches max_goal: funded
SELECT enspiral.bucket_state(:b2), enspiral.bucket_total(:b2);
SELECT enspiral.contribute(:b2, :cai, 1);              -- funded, not open

-- idempotency: same key replays, different arguments are refused
SELECT enspiral.contribute(:b1, :ben, 20, 'k-1') = enspiral.contribute(:b1, :ben, 20, 'k-1') AS same_id;
SELECT enspiral.balance(:r, :ben), enspiral.bucket_total(:b1);
SELECT enspiral.contribute(:b1, :ben, 21, 'k-1');
SELECT enspiral.contribute(:b3, :ben, 20, 'k-1');
SELECT enspiral.contribute(:b1, :ben, 20, '');
SELECT count(*) FROM enspiral.transfers WHERE idempotency_key = 'k-1';

-- a member who left cannot give; a member with no allocation has nothing
SELECT enspiral.add_member(:g, 'dee') AS dee \gset
SELECT enspiral.contribute(:b1, :dee, 5);
SELECT enspiral.remove_member(:g, :dee);
SELECT enspiral.contribute(:b1, :dee, 5);

-- cancel: every contribution returned by a reversing transfer, once
SELECT enspiral.contribute(:b3, :cai, 100), enspiral.contribute(:b3, :cai, 50),
       enspiral.contribute(:b3, :ben, 30) \gset
SELECT enspiral.balance(:r, :cai) AS cai_before, enspiral.balance(:r, :ben) AS ben_before;
SELECT enspiral.cancel_bucket(:b3) AS refunds;
SELECT enspiral.bucket_state(:b3), enspiral.bucket_total(:b3),
       enspiral.balance(:r, :cai) AS cai, enspiral.balance(:r, :ben) AS ben;
SELECT t.kind, t.from_kind, t.to_kind, t.to_owner, t.amount,
       o.transfer_id = t.reverses AS reverses_original
  FROM enspiral.ledger t JOIN enspiral.transfers o ON o.transfer_id = t.reverses
 ORDER BY t.transfer_id;
SELECT enspiral.cancel_bucket(:b3);
SELECT enspiral.open_bucket(:b3);
SELECT enspiral.contribute(:b3, :cai, 1);
-- a funded bucket can be cancelled (refunds), a completed one cannot
SELECT enspiral.complete_bucket(:b1);
SELECT enspiral.create_bucket(:r, :ana, 'Done', 0, 10) AS b4 \gset
SELECT enspiral.open_bucket(:b4);
SELECT enspiral.contribute(:b4, :ana, 10);
SELECT enspiral.complete_bucket(:b4);
SELECT enspiral.complete_bucket(:b4);
SELECT enspiral.cancel_bucket(:b4);
SELECT enspiral.bucket_state(:b4), enspiral.bucket_total(:b4);
SELECT enspiral.create_bucket(:r, :ana, 'Idea only', 0, 10) AS b5 \gset
SELECT enspiral.cancel_bucket(:b5);

-- close_round: at/above min_goal -> funded, below -> refunded (cancelled)
SELECT enspiral.create_bucket(:r, :ben, 'Short', 500, 600) AS b6 \gset
SELECT enspiral.open_bucket(:b6);
SELECT enspiral.contribute(:b6, :ben, 40);
SELECT enspiral.bucket_total(:b1) AS b1_total, enspiral.balance(:r, :ben) AS ben_before;
SELECT enspiral.close_round(:r);
SELECT b.title, enspiral.bucket_state(b.bucket_id), enspiral.bucket_total(b.bucket_id)
  FROM enspiral.buckets b WHERE b.round_id = :r ORDER BY b.bucket_id;
SELECT enspiral.balance(:r, :ben) AS ben_after;
SELECT enspiral.contribute(:b1, :ana, 1);
SELECT enspiral.open_bucket(:b5);
SELECT enspiral.create_bucket(:r, :ana, 'Late', 0, 10);

-- the round window: not yet open, already past (details hold times)
\set VERBOSITY terse
SELECT enspiral.create_round(:g, 'Later', 90, now() + interval '1 day',
                             now() + interval '2 days') AS rl \gset
SELECT enspiral.allocate(:rl);
SELECT enspiral.create_bucket(:rl, :ana, 'Early', 0, 50) AS bl \gset
SELECT enspiral.open_bucket(:bl);
SELECT enspiral.contribute(:bl, :ana, 5);
SELECT enspiral.create_round(:g, 'Past', 90, now() - interval '2 days',
                             now() - interval '1 day') AS rp \gset
SELECT enspiral.allocate(:rp);
SELECT enspiral.create_bucket(:rp, :ana, 'Old', 0, 50) AS bp \gset
SELECT enspiral.open_bucket(:bp);
-- the window ends for a write at closes_at, by the clock of the write
-- (doc/limits-and-cancel.md, Deadlines)
BEGIN;
SELECT enspiral.create_round(:g, 'Brief', 90, now() - interval '1 hour',
                             clock_timestamp() + interval '2 s') AS rb \gset
SELECT enspiral.allocate(:rb);
SELECT enspiral.create_bucket(:rb, :ana, 'Brief', 0, 50) AS bb \gset
SELECT enspiral.open_bucket(:bb);
SELECT enspiral.contribute(:bb, :ana, 5) > 0 AS given_in_time;
COMMIT;
SELECT pg_sleep(2.1);
SELECT enspiral.contribute(:bb, :ana, 5);
\set VERBOSITY default

-- underfunded = keep: a bucket below min_goal keeps its money as funded
SELECT enspiral.create_round(:g, 'Keep', 90, now() - interval '1 hour',
                             now() + interval '1 day', '{"underfunded": "keep"}') AS rk \gset
SELECT enspiral.allocate(:rk);
SELECT enspiral.create_bucket(:rk, :ana, 'Kept', 80, 90) AS bk \gset
SELECT enspiral.open_bucket(:bk);
SELECT enspiral.contribute(:bk, :ana, 20);
SELECT enspiral.close_round(:rk);
SELECT enspiral.bucket_state(:bk), enspiral.bucket_total(:bk);

-- try_contribute: the same rules, a refusal returns NULL and moves nothing
SELECT enspiral.create_round(:g, 'Try', 300, now() - interval '1 hour',
                             now() + interval '1 day',
                             '{"max_per_member_per_bucket": 60}') AS rt \gset
SELECT enspiral.allocate(:rt);
SELECT enspiral.create_bucket(:rt, :ana, 'Tools', 0, 100) AS bt \gset
SELECT enspiral.create_bucket(:rt, :ana, 'Idea', 0, 100) AS bi \gset
SELECT enspiral.open_bucket(:bt);
SELECT enspiral.try_contribute(:bt, :ana, 50) AS tt \gset
SELECT :tt = max(transfer_id) AS returns_the_transfer FROM enspiral.transfers;
SELECT enspiral.try_contribute(:bt, :ben, 40) IS NOT NULL AS accepted;
SELECT enspiral.try_contribute(:bt, :ana, 11) IS NULL AS member_cap,
       enspiral.try_contribute(:bt, :cai, 11) IS NULL AS max_goal,
       enspiral.try_contribute(:bt, :dee, 1) IS NULL AS not_a_member,
       enspiral.try_contribute(:bt, :ana, 101) IS NULL AS overdraw,
       enspiral.try_contribute(:bi, :ana, 1) IS NULL AS idea_bucket,
       enspiral.try_contribute(:bb, :ana, 1) IS NULL AS window_closed;
SELECT enspiral.bucket_state(:bt), enspiral.bucket_total(:bt),
       enspiral.balance(:rt, :ana), enspiral.balance(:rt, :ben), enspiral.balance(:rt, :cai);
SELECT enspiral.try_contribute(:bi, :ana, 1, 'k-1');    -- the key holds another transfer
SELECT enspiral.try_contribute(999, :ana, 1);
SELECT enspiral.try_contribute(:bt, :ana, 0);
SELECT enspiral.try_contribute(:bt, :ana, NULL);
-- a refusal leaves the transaction usable (no savepoint needed)
BEGIN;
SELECT enspiral.try_contribute(:bt, :cai, 11) IS NULL AS refused;
SELECT enspiral.create_bucket(:rt, :cai, 'Later', 0, 10) > 0 AS still_usable;
ROLLBACK;

SELECT * FROM enspiral.verify_ledger(:g);
