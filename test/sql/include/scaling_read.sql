-- (included by test/sql/scaling_read.sql and test/citus/sql/citus_read.sql)
-- Each read function of the API, called on its own (delegated on Citus)
-- and inside a transaction block (run on the coordinator on Citus).
\set VERBOSITY terse
SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'chloe') AS chloe \gset
SELECT enspiral.grant_role(:g, :aroha, 'admin');
SELECT enspiral.propose(:g, :aroha, 'Remote work', 'consent') AS p \gset
SELECT enspiral.propose(:g, :aroha, 'Draft', 'consent') AS d \gset
SELECT enspiral.open_proposal(:g, :p, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p, :aroha, '"agree"', NULL) > 0 AS voted;
SELECT enspiral.vote(:g, :p, :ben, '"abstain"', 'not sure') > 0 AS voted;
SELECT enspiral.propose(:g, :aroha, 'Decided', 'consent') AS c \gset
SELECT enspiral.open_proposal(:g, :c, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :c, :ben, '"agree"', NULL) > 0 AS voted;
SELECT enspiral.remove_voter(:g, :c, :chloe);
SELECT enspiral.close_proposal(:g, :c);
SELECT enspiral.create_round(:g, 'Spring', 90000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_bucket(:r, :aroha, 'Bike workshop', 30000, 50000) AS bikes \gset
SELECT enspiral.allocate(:g, :r, NULL, NULL) AS allocated;
SELECT enspiral.open_bucket(:g, :bikes);
SELECT enspiral.contribute(:g, :bikes, :ben, 1000, NULL) > 0 AS contributed;
SELECT enspiral.appoint_catalyst(:g, :aroha, current_date + 1) > 0 AS appointed;

SELECT member_key, left_at IS NULL AS current FROM enspiral.members(:g) ORDER BY member_key;
SELECT title, method, state, voted, electorate, outcome ->> 'passed' AS passed
  FROM enspiral.proposals(:g) ORDER BY title;
SELECT title, state FROM enspiral.proposals(:g, 'open', 10);
SELECT enspiral.ballot(:g, :p, :ben) - 'cast_at' AS ballot;
SELECT member_id = :ben AS ben, ballot, reason FROM enspiral.stances(:g, :p) ORDER BY 1;
SELECT member_id = :chloe AS chloe, voted FROM enspiral.voters(:g, :p) ORDER BY 1, 2;
SELECT enspiral.round_state(:g, :r);
SELECT name, state, pool FROM enspiral.rounds(:g);
SELECT title, state, min_goal, max_goal FROM enspiral.buckets(:g, :r);
SELECT bucket_id = :bikes AS bikes, member_id = :ben AS ben, amount FROM enspiral.contributions(:g, :r);
SELECT allocated, spent, balance FROM enspiral.balances(:g, :r) ORDER BY spent, member_id;
SELECT member_key, starts_on = current_date + 1 AS starts_tomorrow FROM enspiral.catalyst_terms(:g);
SELECT kind, count(*) FROM enspiral.events_since(:g, 0, 1000) GROUP BY 1 ORDER BY 1;
SELECT member_id = :aroha AS aroha, role FROM enspiral.roles(:g);
SELECT count(*) AS gaps FROM enspiral.catalyst_gaps(:g, current_date, current_date + 30);
SELECT lower(period) = current_date + 1 AS from_tomorrow, catalysts
  FROM enspiral.catalyst_gaps(:g, current_date + 1, current_date + 30);
SELECT count(*) AS coverage FROM enspiral.catalyst_coverage(:g, current_date, current_date + 30);
-- refusals
SELECT * FROM enspiral.proposals(:g, 'sleeping');
SELECT * FROM enspiral.members(12345);
SELECT enspiral.ballot(:h, :p, :ben);
SELECT * FROM enspiral.buckets(:h, :r);

-- the same reads in a transaction block
BEGIN;
SELECT count(*) AS members FROM enspiral.members(:g);
SELECT title, state, voted, electorate FROM enspiral.proposals(:g) ORDER BY title;
SELECT enspiral.ballot(:g, :p, :aroha) - 'cast_at' AS ballot;
SELECT count(*) AS stances FROM enspiral.stances(:g, :p);
SELECT count(*) AS voters FROM enspiral.voters(:g, :p);
SELECT count(*) AS rounds FROM enspiral.rounds(:g);
SELECT count(*) AS buckets FROM enspiral.buckets(:g, :r);
SELECT count(*) AS contributions FROM enspiral.contributions(:g, :r);
SELECT sum(balance) AS balances FROM enspiral.balances(:g, :r);
SELECT count(*) AS terms FROM enspiral.catalyst_terms(:g);
SELECT count(*) AS events FROM enspiral.events_since(:g, 0, 1000);
SELECT count(*) AS roles FROM enspiral.roles(:g);
SELECT count(*) AS gaps FROM enspiral.catalyst_gaps(:g, current_date, current_date + 30);
COMMIT;
