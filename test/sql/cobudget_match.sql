-- match_round: quadratic-funding matches paid through the ledger, once,
-- after close, over the counted (not refunded) contributions of funded
-- buckets; what is not paid stays in the matching account.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cai') AS cai, enspiral.add_member(:g, 'dee') AS dee \gset
SELECT enspiral.create_round(:g, 'Spring', 4000, now() - interval '1 hour',
                             now() + interval '1 day') AS r \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'Broad', 100, 1000) AS b1 \gset
SELECT enspiral.create_bucket(:r, :ben, 'Narrow', 100, 1000) AS b2 \gset
SELECT enspiral.create_bucket(:r, :cai, 'Cancelled', 0, 1000) AS b3 \gset
SELECT enspiral.create_bucket(:r, :dee, 'Too small', 500, 1000) AS b4 \gset
SELECT enspiral.open_bucket(b) FROM unnest(ARRAY[:b1, :b2, :b3, :b4]::bigint[]) b;
-- Broad: four members give 100 each (two of ana's in two transfers);
-- Narrow: one member gives 400
SELECT enspiral.contribute(:b1, :ana, 60), enspiral.contribute(:b1, :ana, 40),
       enspiral.contribute(:b1, :ben, 100), enspiral.contribute(:b1, :cai, 100),
       enspiral.contribute(:b1, :dee, 100), enspiral.contribute(:b2, :ben, 400),
       enspiral.contribute(:b3, :cai, 300), enspiral.contribute(:b4, :dee, 50);
SELECT enspiral.cancel_bucket(:b3);

-- not before close
SELECT enspiral.match_round(:r, 1000);
SELECT enspiral.close_round(:r);
SELECT title, enspiral.bucket_state(bucket_id) FROM enspiral.buckets ORDER BY bucket_id;
-- bad arguments
SELECT enspiral.match_round(:r, -1);
SELECT enspiral.match_round(:r, NULL);
SELECT enspiral.match_round(999, 10);
SELECT enspiral.match_round(:r, 1000, 'bogus');
-- what quadratic_match says for the counted contributions
SELECT * FROM enspiral.quadratic_match(1000, '{1,1,1,1,2}', '{1,2,3,4,2}',
                                       '{100,100,100,100,400}');
-- Broad's ideal is (4 * 10)^2 - 400 = 1200; Narrow's is 0; the pool of 1000
-- is saturated and all goes to Broad
SELECT enspiral.match_round(:r, 1000) AS paid;
SELECT title, enspiral.bucket_state(bucket_id), enspiral.bucket_total(bucket_id)
  FROM enspiral.buckets ORDER BY bucket_id;
SELECT kind, from_kind, to_kind, to_owner, amount FROM enspiral.ledger
 WHERE kind IN ('match_fund', 'match') ORDER BY transfer_id;
SELECT kind, balance FROM enspiral.accounts WHERE kind IN ('source', 'matching');
-- exactly once
SELECT enspiral.match_round(:r, 1000);
SELECT * FROM enspiral.verify_ledger(:g);

-- an unsaturated pool: what is not paid stays in the matching account;
-- a cap limits each bucket
SELECT enspiral.create_round(:g, 'Summer', 400, now() - interval '1 hour',
                             now() + interval '1 day') AS r2 \gset
SELECT enspiral.allocate(:r2);
SELECT enspiral.create_bucket(:r2, :ana, 'A', 0, 1000) AS c1 \gset
SELECT enspiral.create_bucket(:r2, :ana, 'B', 0, 1000) AS c2 \gset
SELECT enspiral.open_bucket(:c1), enspiral.open_bucket(:c2);
SELECT enspiral.contribute(:c1, :ana, 25), enspiral.contribute(:c1, :ben, 25),
       enspiral.contribute(:c2, :cai, 16), enspiral.contribute(:c2, :dee, 9);
SELECT enspiral.close_round(:r2);
-- ideals: A (5+5)^2 - 50 = 50, B (4+3)^2 - 25 = 24; cap 30
SELECT enspiral.match_round(:r2, 1000, 'standard', 30) AS paid;
SELECT title, enspiral.bucket_total(bucket_id) FROM enspiral.buckets
 WHERE round_id = :r2 ORDER BY bucket_id;
SELECT balance AS left_in_matching FROM enspiral.accounts
 WHERE round_id = :r2 AND kind = 'matching';
-- cancelling a matched bucket returns the match to the matching account
SELECT enspiral.cancel_bucket(:c1) AS refunds;
SELECT balance AS left_in_matching FROM enspiral.accounts
 WHERE round_id = :r2 AND kind = 'matching';
SELECT enspiral.balance(:r2, :ana) AS ana, enspiral.balance(:r2, :ben) AS ben;

-- a round with nothing funded keeps the whole matching pool
SELECT enspiral.create_round(:g, 'Quiet', 10, now(), now() + interval '1 day') AS r3 \gset
SELECT enspiral.close_round(:r3);
SELECT enspiral.match_round(:r3, 500) AS paid;
SELECT balance FROM enspiral.accounts WHERE round_id = :r3 AND kind = 'matching';
SELECT enspiral.match_round(:r3, 0);

SELECT * FROM enspiral.verify_ledger(:g);
