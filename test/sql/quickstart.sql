-- The quick start of README.md, verbatim: each ```sql block of the README
-- between the QUICKSTART markers appears here unchanged (tools/doclinks.sh
-- checks it), so the README cannot drift from what the extension does.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY terse

-- A decision
SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'chloe') AS chloe, enspiral.add_member(:g, 'dev') AS dev \gset
SELECT enspiral.propose(:g, :aroha, 'Adopt the remote-work policy', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '3 days');
SELECT enspiral.vote(:p, :aroha, '"agree"');
SELECT enspiral.vote(:p, :ben, '"agree"');
SELECT enspiral.vote(:p, :chloe, '"block"');           -- refused: a block needs a reason
SELECT enspiral.vote(:p, :chloe, '"abstain"');
SELECT enspiral.close_proposal(:p);
SELECT enspiral.outcome(:p) -> 'totals' AS totals, enspiral.outcome(:p) -> 'passed' AS passed;
SELECT enspiral.vote(:p, :dev, '"agree"');             -- refused: voting is closed

-- A co-budget round
SELECT enspiral.create_round(:g, 'Spring', 100000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.allocate(:r);                          -- $1,000.00 split exactly in four
SELECT enspiral.create_bucket(:r, :aroha, 'Bike workshop', 30000, 50000) AS bikes \gset
SELECT enspiral.open_bucket(:bikes);
SELECT enspiral.contribute(:bikes, :aroha, 20000);
SELECT enspiral.contribute(:bikes, :ben, 15000);
SELECT enspiral.contribute(:bikes, :chloe, 30000);     -- refused: chloe has 25000
SELECT enspiral.close_round(:r);                       -- decides every open bucket
SELECT enspiral.bucket_state(:bikes), enspiral.bucket_total(:bikes);
SELECT enspiral.balance(:r, :aroha) AS aroha_left;
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);

-- A catalyst rotation
SELECT count(enspiral.appoint_catalyst(:g, m, current_date))   -- 6-month terms
  FROM unnest(ARRAY[:aroha, :ben, :chloe]) AS m;
SELECT count(*) AS gaps_in_300_days
  FROM enspiral.catalyst_gaps(:g, current_date, current_date + 300);
SELECT m.member_key, p.months, p.starts_on > current_date AS later
  FROM enspiral.plan_rotation(:g, current_date, current_date + 300) AS p
  JOIN enspiral.members AS m ON m.group_id = :g AND m.member_id = p.member_id
 ORDER BY m.member_key;
SELECT count(enspiral.appoint_catalyst(:g, p.member_id, p.starts_on, p.months))
  FROM enspiral.plan_rotation(:g, current_date, current_date + 300) AS p;
SELECT count(*) AS gaps_in_300_days
  FROM enspiral.catalyst_gaps(:g, current_date, current_date + 300);
SELECT enspiral.end_catalyst_term(t.term_id, current_date + 30)  -- refused at commit
  FROM enspiral.catalyst_terms AS t
 WHERE t.group_id = :g AND t.member_id = :ben AND t.starts_on = current_date;
