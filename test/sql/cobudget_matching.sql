-- match_round with options (COCM blend, trust, min_contribution,
-- exclude_self_funding) and verify_match: the recorded match recomputed
-- from the ledger, differences shown, none when sound.  doc/matching.md.
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
SELECT enspiral.create_bucket(:r, :ana, 'One', 0, 1000) AS b1 \gset
SELECT enspiral.create_bucket(:r, :ben, 'Two', 0, 1000) AS b2 \gset
SELECT enspiral.create_bucket(:r, :cai, 'Three', 0, 1000) AS b3 \gset
SELECT enspiral.open_bucket(b) FROM unnest(ARRAY[:b1, :b2, :b3]::bigint[]) b;
-- the 3-project example of alloc_cocm (amounts x 100): ana 400 to One;
-- ben 400 to One and Two (two transfers); cai 400 to Two and Three; dee
-- 100 to Three.  Authors: ana (One), ben (Two), cai (Three).
SELECT enspiral.contribute(:b1, :ana, 400), enspiral.contribute(:b1, :ben, 400),
       enspiral.contribute(:b2, :ben, 150), enspiral.contribute(:b2, :ben, 250),
       enspiral.contribute(:b2, :cai, 400), enspiral.contribute(:b3, :cai, 400),
       enspiral.contribute(:b3, :dee, 100);
-- verify_match before any match
SELECT * FROM enspiral.verify_match(:g, :r);
SELECT * FROM enspiral.verify_match(:g, 999);
SELECT enspiral.close_round(:r);
-- bad options are refused before anything is written
SELECT enspiral.match_round(:r, 1000, options => '{"authors": {"1": 1}}');
SELECT enspiral.match_round(:r, 1000, options => '{"exclude_self_funding": 1}');
-- COCM blend 0.5 with self-funding excluded: One counts ben only, Two cai
-- only, Three dee only: every ideal is 0, nothing is paid
SELECT enspiral.match_round(:r, 1000, options => '{"pct_cocm": 0.5, "exclude_self_funding": true}') AS paid;
SELECT * FROM enspiral.verify_match(:g, :r);
SELECT method, cap, threshold, options, bucket_ids = ARRAY[:b1, :b2, :b3]::bigint[] AS buckets
  FROM enspiral.round_matches WHERE round_id = :r;
-- once
SELECT enspiral.match_round(:r, 1000, options => '{"pct_cocm": 1}');

-- the same round again, blend 0.5 without exclusion: ideals (x 100)
-- 235, 822.5, 117.5 (total 1175) under a pool of 1000: saturated, paid
-- exactly by largest remainder: 200, 700, 100
SELECT enspiral.create_round(:g, 'Summer', 4000, now() - interval '1 hour',
                             now() + interval '1 day') AS r2 \gset
SELECT enspiral.allocate(:r2);
SELECT enspiral.create_bucket(:r2, :ana, 'One', 0, 1000) AS c1 \gset
SELECT enspiral.create_bucket(:r2, :ben, 'Two', 0, 1000) AS c2 \gset
SELECT enspiral.create_bucket(:r2, :cai, 'Three', 0, 1000) AS c3 \gset
SELECT enspiral.open_bucket(b) FROM unnest(ARRAY[:c1, :c2, :c3]::bigint[]) b;
SELECT enspiral.contribute(:c1, :ana, 400), enspiral.contribute(:c1, :ben, 400),
       enspiral.contribute(:c2, :ben, 400), enspiral.contribute(:c2, :cai, 400),
       enspiral.contribute(:c3, :cai, 400), enspiral.contribute(:c3, :dee, 100);
SELECT enspiral.close_round(:r2);
SELECT enspiral.match_round(:r2, 1000, options => '{"pct_cocm": 0.5}') AS paid;
SELECT b.title, enspiral.bucket_total(b.bucket_id) FROM enspiral.buckets b
 WHERE b.round_id = :r2 ORDER BY b.bucket_id;
SELECT * FROM enspiral.verify_match(:g, :r2);
-- a refund after the match (Two cancelled) does not change what
-- verify_match recomputes
SELECT enspiral.cancel_bucket(:c2);
SELECT * FROM enspiral.verify_match(:g, :r2);
SELECT * FROM enspiral.verify_ledger(:g);
-- the recorded match never changes
UPDATE enspiral.round_matches SET matching_pool = 1 WHERE round_id = :r2;
DELETE FROM enspiral.round_matches WHERE round_id = :r2;

-- tampering (as superuser with the ledger triggers off): a match transfer
-- made larger, and a contribution made larger, are both found
SET session_replication_role = replica;
UPDATE enspiral.transfers t SET amount = amount + 50
 WHERE t.round_id = :r2 AND t.kind = 'match'
   AND t.to_account = (SELECT a.account_id FROM enspiral.accounts a
                        WHERE a.kind = 'bucket' AND a.owner_id = :c1);
RESET session_replication_role;
SELECT * FROM enspiral.verify_match(:g, :r2);
SET session_replication_role = replica;
UPDATE enspiral.transfers t SET amount = 40000
 WHERE t.round_id = :r2 AND t.kind = 'contribute'
   AND t.to_account = (SELECT a.account_id FROM enspiral.accounts a
                        WHERE a.kind = 'bucket' AND a.owner_id = :c3)
   AND t.amount = 100;
UPDATE enspiral.transfers t SET amount = 999 WHERE t.round_id = :r2 AND t.kind = 'match_fund';
RESET session_replication_role;
SELECT * FROM enspiral.verify_match(:g, :r2);

-- trust and min_contribution through match_round; a 0.1.0 call still works
SELECT enspiral.create_round(:g, 'Autumn', 4000, now() - interval '1 hour',
                             now() + interval '1 day') AS r3 \gset
SELECT enspiral.allocate(:r3);
SELECT enspiral.create_bucket(:r3, :ana, 'One', 0, 1000) AS d1 \gset
SELECT enspiral.open_bucket(:d1);
SELECT enspiral.contribute(:d1, :ana, 100), enspiral.contribute(:d1, :ben, 100),
       enspiral.contribute(:d1, :cai, 100), enspiral.contribute(:d1, :dee, 5);
SELECT enspiral.close_round(:r3);
-- dee's 5 is below 10; cai has score 20 (weight .75), ana and ben 30:
-- ideal 2 (sqrt(100*100) + sqrt(100*75) * 2) = 200 + 346.41 = 546.41
SELECT enspiral.match_round(:r3, 10000, 'standard', NULL, NULL,
    jsonb_build_object('min_contribution', 10,
                       'trust_scores', jsonb_build_object(:ana::text, 30, :ben::text, 30, :cai::text, 20),
                       'trust_zero_below', 15, 'trust_full_at', 25)) AS paid;
SELECT * FROM enspiral.verify_match(:g, :r3);
SELECT enspiral.create_round(:g, 'Winter', 4000, now() - interval '1 hour',
                             now() + interval '1 day') AS r4 \gset
SELECT enspiral.allocate(:r4);
SELECT enspiral.create_bucket(:r4, :ana, 'One', 0, 1000) AS e1 \gset
SELECT enspiral.open_bucket(:e1);
SELECT enspiral.contribute(:e1, :ana, 100), enspiral.contribute(:e1, :ben, 100);
SELECT enspiral.close_round(:r4);
SELECT enspiral.match_round(:r4, 1000, 'pairwise', 50, 1e6) AS paid;
SELECT * FROM enspiral.verify_match(:g, :r4);
