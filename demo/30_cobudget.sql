-- Demo: a co-budgeting round on the ledger, end to end.
\echo
\echo '--- 4. Co-budgeting: a round, buckets, contributions, refunds, matching ----'
SELECT enspiral.create_group('Enspiral Foundation') AS cg \gset
SELECT k AS member, enspiral.add_member(:cg, k) AS member_id FROM unnest('{aroha,ben,chloe}'::text[]) k;
SELECT enspiral.member_id(:cg, 'aroha') AS aroha, enspiral.member_id(:cg, 'ben') AS ben,
       enspiral.member_id(:cg, 'chloe') AS chloe \gset

\echo 'A round with a pool of $1,000.00 (100000 cents), open for a week.'
SELECT enspiral.create_round(:cg, 'Spring', 100000, now(), now() + interval '7 days',
                             '{"currency": "NZD", "max_per_member_per_bucket": 20000}') AS round \gset
\echo 'The pool is split exactly among the three members (largest remainder):'
SELECT enspiral.allocate(:round) AS allocated;
SELECT k AS member, enspiral.balance(:round, enspiral.member_id(:cg, k)) AS can_give
  FROM unnest('{aroha,ben,chloe}'::text[]) k;

\echo 'Three buckets are proposed and opened:'
SELECT enspiral.create_bucket(:round, :aroha, 'Bike workshop', 30000, 50000) AS bikes,
       enspiral.create_bucket(:round, :ben, 'Book club', 20000, 25000) AS books,
       enspiral.create_bucket(:round, :chloe, 'Garden', 40000, 60000) AS garden \gset
SELECT count(*) AS opened FROM (SELECT enspiral.open_bucket(b) FROM unnest(ARRAY[:bikes, :books, :garden]) b) o;

\echo 'Contributions (one with an idempotency key, sent twice by a flaky client):'
SELECT enspiral.contribute(:bikes, :aroha, 20000) AS transfer,
       enspiral.contribute(:bikes, :ben, 15000, 'ben-bikes-1') AS keyed,
       enspiral.contribute(:bikes, :ben, 15000, 'ben-bikes-1') AS replayed,
       enspiral.contribute(:books, :chloe, 10000) AS books_transfer,
       enspiral.contribute(:garden, :chloe, 15000) AS garden_transfer;
\echo 'Every rule refuses with the numbers:'
SELECT demo.expect_error(format('SELECT enspiral.contribute(%s, %s, 9000)', :books, :chloe)) AS "over the member's share";
SELECT demo.expect_error(format('SELECT enspiral.contribute(%s, %s, 16000)', :bikes, :ben)) AS "over max_goal";
SELECT demo.expect_error(format('SELECT enspiral.contribute(%s, %s, 1)', :bikes, :aroha)) AS "over the per-member cap";
SELECT demo.expect_error(format('SELECT enspiral.contribute(%s, %s, 10, %L)', :bikes, :ben, 'ben-bikes-1')) AS "a key reused for another amount";

\echo 'Chloe withdraws the Garden bucket: her money comes back as a reversing transfer.'
SELECT enspiral.cancel_bucket(:garden) AS refunds;
SELECT demo.expect_error(format('SELECT enspiral.cancel_bucket(%s)', :garden)) AS "cancel twice";

\echo 'The ledger is append-only, even for the table owner:'
SELECT demo.expect_error('DELETE FROM enspiral.transfers') AS "delete the ledger";

\echo 'Close: Bikes (35000 >= min 30000) is funded; Books (10000 < 20000) is refunded.'
SELECT enspiral.close_round(:round) AS decided;
\echo 'A matching pool of $500.00, paid by quadratic funding, exactly once:'
SELECT enspiral.match_round(:round, 50000) AS matched;
SELECT demo.expect_error(format('SELECT enspiral.match_round(%s, 50000)', :round)) AS "match again";
SELECT title, enspiral.bucket_state(bucket_id) AS state, enspiral.bucket_total(bucket_id) AS total
  FROM enspiral.buckets WHERE round_id = :round ORDER BY bucket_id;

\echo 'The ledger of the round, and its accounts (they always sum to 0):'
SELECT transfer_id, kind, from_kind || coalesce(' ' || from_owner, '') AS "from",
       to_kind || coalesce(' ' || to_owner, '') AS "to", amount, reverses
  FROM enspiral.ledger WHERE round_id = :round ORDER BY transfer_id;
SELECT kind, owner_id, balance FROM enspiral.accounts WHERE round_id = :round ORDER BY account_id;
SELECT count(*) AS "verify_ledger problems" FROM enspiral.verify_ledger(:cg);
