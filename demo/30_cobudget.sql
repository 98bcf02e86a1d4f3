-- Demo: a co-budgeting round on the ledger, end to end.
\echo
\echo '--- 4. Co-budgeting: a round, buckets, contributions, refunds, matching ----'
\echo 'Group used here: "Enspiral Foundation", three members: aroha, ben and chloe'
\echo '(the same people as in part 1, but another group: membership is per group,'
\echo 'so they get new member ids 14, 15 and 16).'
SELECT enspiral.create_group('Enspiral Foundation') AS cg \gset
SELECT k AS member, enspiral.add_member(:cg, k) AS member_id FROM unnest('{aroha,ben,chloe}'::text[]) k;
SELECT enspiral.member_id(:cg, 'aroha') AS aroha, enspiral.member_id(:cg, 'ben') AS ben,
       enspiral.member_id(:cg, 'chloe') AS chloe \gset

\echo 'A round "Spring" (round 1) with a pool of NZ$1,000.00 (100000 cents), open'
\echo 'for a week, at most $200.00 from one member to one bucket.'
SELECT enspiral.create_round(:cg, 'Spring', 100000, now(), now() + interval '7 days',
                             '{"currency": "NZD", "max_per_member_per_bucket": 20000}') AS round \gset
\echo 'The pool is split exactly among the three members: 100000 / 3 is 33333 and'
\echo 'one cent left, which goes to the first (allocate returns the amount split):'
SELECT enspiral.allocate(:round) AS allocated;
SELECT k AS member, enspiral.balance(:round, enspiral.member_id(:cg, k)) AS can_give
  FROM unnest('{aroha,ben,chloe}'::text[]) k;

\echo 'Three buckets are proposed, each with a minimum and a maximum goal, and opened:'
\echo '  Bike workshop (aroha, bucket 1): $300 to $500'
\echo '  Book club     (ben,   bucket 2): $200 to $250'
\echo '  Garden        (chloe, bucket 3): $400 to $600'
SELECT enspiral.create_bucket(:round, :aroha, 'Bike workshop', 30000, 50000) AS bikes,
       enspiral.create_bucket(:round, :ben, 'Book club', 20000, 25000) AS books,
       enspiral.create_bucket(:round, :chloe, 'Garden', 40000, 60000) AS garden \gset
SELECT count(*) AS opened FROM (SELECT enspiral.open_bucket(b) FROM unnest(ARRAY[:bikes, :books, :garden]) b) o;

\echo 'Contributions: aroha gives 20000 to Bikes, ben 15000 (with an idempotency'
\echo 'key, sent twice by a flaky client), chloe 10000 to Books and 15000 to Garden.'
\echo 'Each returns the id of its transfer on the ledger; the replay returns the'
\echo 'same id (6) instead of paying twice:'
SELECT enspiral.contribute(:bikes, :aroha, 20000) AS transfer,
       enspiral.contribute(:bikes, :ben, 15000, 'ben-bikes-1') AS keyed,
       enspiral.contribute(:bikes, :ben, 15000, 'ben-bikes-1') AS replayed,
       enspiral.contribute(:books, :chloe, 10000) AS books_transfer,
       enspiral.contribute(:garden, :chloe, 15000) AS garden_transfer;
\echo 'Every rule refuses with the numbers (members 14, 15, 16 are aroha, ben, chloe):'
SELECT demo.expect_error(format('SELECT enspiral.contribute(%s, %s, 9000)', :books, :chloe)) AS "over the member's share";
SELECT demo.expect_error(format('SELECT enspiral.contribute(%s, %s, 16000)', :bikes, :ben)) AS "over max_goal";
SELECT demo.expect_error(format('SELECT enspiral.contribute(%s, %s, 1)', :bikes, :aroha)) AS "over the per-member cap";
SELECT demo.expect_error(format('SELECT enspiral.contribute(%s, %s, 10, %L)', :bikes, :ben, 'ben-bikes-1')) AS "a key reused for another amount";

\echo 'Chloe withdraws the Garden bucket: her money comes back as a reversing transfer.'
\echo '(cancel_bucket returns the number of refunds it made: 1, chloe''s 15000)'
SELECT enspiral.cancel_bucket(:garden) AS refunds;
\echo 'Cancelling it again changes nothing (a repeated action is a no-op): 0 refunds.'
SELECT enspiral.cancel_bucket(:garden) AS "cancel twice";

\echo 'The ledger is append-only, even for the table owner:'
SELECT demo.expect_error('DELETE FROM enspiral.transfers') AS "delete the ledger";

\echo 'Close the round. It decides the 2 buckets still open: Bikes (35000 >= its'
\echo 'minimum 30000) is funded; Books (10000 < 20000) is cancelled and refunded.'
SELECT enspiral.close_round(:round) AS decided;
\echo 'A matching pool of $500.00, paid by quadratic funding, exactly once. Only'
\echo 'Bikes is funded: (sqrt(20000) + sqrt(15000))^2 - 35000 = 34641 cents; the'
\echo 'other 15359 stay in the matching account:'
SELECT enspiral.match_round(:round, 50000) AS matched;
SELECT demo.expect_error(format('SELECT enspiral.match_round(%s, 50000)', :round)) AS "match again";
\echo 'The buckets at the end (Bikes: 35000 given + 34641 matched):'
SELECT title, enspiral.bucket_state(bucket_id) AS state, enspiral.bucket_total(bucket_id) AS total
  FROM enspiral.buckets WHERE round_id = :round ORDER BY bucket_id;

\echo 'The ledger of the round: every cent moves from one account to another, and'
\echo 'a refund reverses an earlier transfer (column reverses):'
SELECT transfer_id, kind,
       from_kind || coalesce(' ' || CASE from_kind WHEN 'member' THEN demo.name(:cg, from_owner)
                                     WHEN 'bucket' THEN (SELECT title FROM enspiral.buckets b
                                                          WHERE b.group_id = :cg AND b.bucket_id = from_owner) END, '') AS "from",
       to_kind || coalesce(' ' || CASE to_kind WHEN 'member' THEN demo.name(:cg, to_owner)
                                   WHEN 'bucket' THEN (SELECT title FROM enspiral.buckets b
                                                        WHERE b.group_id = :cg AND b.bucket_id = to_owner) END, '') AS "to",
       amount, reverses
  FROM enspiral.ledger WHERE round_id = :round ORDER BY transfer_id;
\echo 'The accounts: the source paid in 150000 (pool and matching), so the'
\echo 'balances always sum to 0; what members did not give is still theirs:'
SELECT a.kind, CASE a.kind WHEN 'member' THEN demo.name(:cg, a.owner_id)
                  WHEN 'bucket' THEN (SELECT title FROM enspiral.buckets b
                                       WHERE b.group_id = :cg AND b.bucket_id = a.owner_id) END AS owner,
       a.balance, sum(a.balance) OVER () AS "sum"
  FROM enspiral.accounts a WHERE a.round_id = :round ORDER BY a.account_id;
\echo 'verify_ledger re-adds every transfer and compares with the balances:'
SELECT count(*) AS "verify_ledger problems" FROM enspiral.verify_ledger(:cg);
