-- (included by test/sql/scaling_blocks.sql and test/citus/sql/citus_blocks.sql)
\set VERBOSITY terse
SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:h, 'cy') AS cy \gset
-- the events of votes and contributions queue a NOTIFY too
SELECT enspiral.update_group_settings(:g, '{"notify_votes_and_contributions": true}') IS NOT NULL AS notify_g;
SELECT enspiral.update_group_settings(:h, '{"notify_votes_and_contributions": true}') IS NOT NULL AS notify_h;
SELECT enspiral.propose(:g, :aroha, 'Remote work', 'consent') AS p \gset
SELECT enspiral.propose(:h, :cy, 'Opening hours', 'consent') AS q \gset
SELECT enspiral.delegate(:g, :aroha, :ben);
SELECT enspiral.open_proposal(:g, :p, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :q, now() + interval '3 days', NULL);
SELECT enspiral.create_round(:g, 'Spring', 100000, now(), now() + interval '7 days',
         '{"accept_funding_at_min": true, "allow_reopen_funding": true, "allow_withdraw": true}') AS r \gset
SELECT enspiral.create_round(:h, 'Spring', 10000, now(), now() + interval '7 days') AS rh \gset
SELECT enspiral.create_bucket(:r, :aroha, 'Bike workshop', 30000, 50000) AS bikes \gset
SELECT enspiral.create_bucket(:r, :ben, 'Garden', 60000, 90000) AS garden \gset
SELECT enspiral.create_bucket(:r, :ben, 'Tools', 1000, 2000) AS tools \gset
SELECT enspiral.create_bucket(:rh, :cy, 'Cafe', 1000, 5000) AS cafe \gset
SELECT enspiral.allocate(:g, :r, NULL, NULL) AS allocated_g;
SELECT enspiral.allocate(:h, :rh, NULL, NULL) AS allocated_h;
SELECT enspiral.open_bucket(:g, :bikes);
SELECT enspiral.open_bucket(:g, :garden);
SELECT enspiral.open_bucket(:g, :tools);
SELECT enspiral.open_bucket(:h, :cafe);

-- votes and contributions in one transaction block, in both groups,
-- group-first and 0.1.0 forms
BEGIN;
SELECT enspiral.vote(:g, :p, :aroha, '"agree"', NULL) > 0 AS voted;
SELECT enspiral.vote(:h, :q, :cy, '"agree"', NULL) > 0 AS voted;
SELECT enspiral.vote(:p, :ben, '"abstain"') > 0 AS voted;
SELECT enspiral.contribute(:g, :bikes, :ben, 1000, NULL) > 0 AS contributed;
SELECT enspiral.contribute(:h, :cafe, :cy, 500, 'order-1') > 0 AS contributed;
SELECT enspiral.contribute(:bikes, :aroha, 700) > 0 AS contributed;
SELECT enspiral.try_contribute(:g, :bikes, :ben, 1000000, NULL) AS refused;
SELECT enspiral.try_contribute(:cafe, :cy, 1000000) AS refused;
COMMIT;
SELECT group_id = :g AS in_g, count(*) AS votes FROM enspiral.votes GROUP BY 1 ORDER BY 1;
SELECT kind, count(*) FROM enspiral.events_since(:g, 0, 1000)
 WHERE kind IN ('vote_cast', 'contribution') GROUP BY 1 ORDER BY 1;
SELECT kind, count(*) FROM enspiral.events_since(:h, 0, 1000)
 WHERE kind IN ('vote_cast', 'contribution') GROUP BY 1 ORDER BY 1;
SELECT allocated, spent, balance FROM enspiral.balances(:g, :r) ORDER BY spent;

-- refusals inside a block, caught by savepoints; the guards still refuse
-- direct writes after the API wrote in the same transaction
BEGIN;
SAVEPOINT a;
SELECT enspiral.vote(:g, :p, :ben, '"block"', NULL);            -- refused: no reason
ROLLBACK TO a;
SELECT enspiral.vote(:g, :p, :ben, '"agree"', NULL) > 0 AS voted;
SELECT enspiral.contribute(:g, :bikes, :ben, 1000000, NULL);     -- refused: overdrawn
ROLLBACK TO a;
SELECT enspiral.contribute(:g, :bikes, :ben, 300, 'order-2') > 0 AS contributed;
SAVEPOINT b;
INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, cast_at)
VALUES (:g, :p, :aroha, '"agree"', now());                       -- refused: direct write
ROLLBACK TO b;
UPDATE enspiral.accounts SET balance = balance + 1 WHERE group_id = :g;  -- refused: direct write
ROLLBACK TO b;
SELECT enspiral.retract_vote(:g, :p, :aroha);
SELECT enspiral.vote_as_delegate(:g, :p, :ben, :aroha, '"agree"', NULL) > 0 AS delegated;
COMMIT;
SELECT member_id = :aroha AS aroha, ballot, cast_by = :ben AS by_ben
  FROM enspiral.votes WHERE group_id = :g AND proposal_id = :p AND superseded_at IS NULL
 ORDER BY member_id = :aroha;
SELECT enspiral.contribute(:g, :bikes, :ben, 300, 'order-2') > 0 AS replayed;

-- a funded bucket reopened (a guarded write) and more of the ledger in a block
BEGIN;
SELECT enspiral.contribute(:g, :tools, :ben, 1500, NULL) > 0 AS contributed;
SELECT enspiral.accept_funding(:g, :tools) AS accepted;
SELECT enspiral.reopen_funding(:g, :tools) AS holds;
SELECT enspiral.contribute(:g, :tools, :aroha, 500, NULL) > 0 AS contributed;
SELECT enspiral.withdraw_contribution(:g, :bikes, :aroha, 200) AS withdrawn;
COMMIT;
SELECT enspiral.bucket_state(:tools) AS tools;

-- the group-first forms of the last calls that named no group
SELECT enspiral.complete_bucket(:g, :tools);
SELECT enspiral.complete_bucket(:h, :tools);                     -- refused: not in h
SELECT enspiral.cancel_bucket(:h, :garden);                      -- refused: not in h
SELECT enspiral.contribute(:g, :garden, :ben, 2000, NULL) > 0 AS contributed;
SELECT enspiral.cancel_bucket(:g, :garden) AS refunds;
SELECT enspiral.cancel_bucket(:g, 12345);                        -- refused: no such bucket
SELECT enspiral.bucket_state(:tools) AS tools, enspiral.bucket_state(:garden) AS garden;
SELECT enspiral.propose(:g, :aroha, 'Withdrawn', 'consent') AS w \gset
SELECT enspiral.withdraw_proposal(:h, :w);                       -- refused: not in h
SELECT enspiral.withdraw_proposal(:g, :w);
SELECT enspiral.withdraw_proposal(:g, :w);                       -- again: nothing to do
SELECT enspiral.proposal_state(:w);
SELECT enspiral.close_proposal(:h, :q);
SELECT enspiral.reopen_proposal(:h, :q, now() - interval '1 day'); -- refused: past deadline
SELECT enspiral.reopen_proposal(:g, :q, now() + interval '1 day'); -- refused: not in g
SELECT enspiral.reopen_proposal(:h, :q, now() + interval '1 day');
SELECT enspiral.proposal_state(:q);
SELECT enspiral.match_round(:g, :r, 1000, NULL, NULL, NULL, NULL); -- refused: round open
SELECT enspiral.close_round(:g, :r) AS decided;
SELECT enspiral.match_round(:h, :r, 1000, NULL, NULL, NULL, NULL); -- refused: not in h
SELECT enspiral.match_round(:g, :r, 1000, NULL, NULL, NULL, NULL) AS matched;
SELECT enspiral.match_round(:g, :r, 1000, NULL, NULL, NULL, NULL); -- refused: matched already

-- the 0.1.0 forms that name no group, in the other group
SELECT enspiral.create_bucket(:rh, :cy, 'Tea', 100, 200) AS tea \gset
SELECT enspiral.create_bucket(:rh, :cy, 'Cups', 100, 200) AS cups \gset
SELECT enspiral.open_bucket(:tea);
SELECT enspiral.open_bucket(:cups);
SELECT enspiral.contribute(:tea, :cy, 200) > 0 AS contributed;
SELECT enspiral.complete_bucket(:tea);
SELECT enspiral.contribute(:cups, :cy, 50) > 0 AS contributed;
SELECT enspiral.cancel_bucket(:cups) AS refunds;
SELECT enspiral.withdraw_proposal(:q);
SELECT enspiral.close_round(:rh) AS decided;
SELECT enspiral.match_round(:rh, 100) AS matched;
SELECT enspiral.bucket_state(:tea) AS tea, enspiral.bucket_state(:cups) AS cups,
       enspiral.bucket_state(:cafe) AS cafe;

-- the group-first forms of the last 0.1.0 calls that named no group:
-- create_bucket, bucket_state, bucket_total, balance, proposal_state,
-- unschedule_proposal, verify_outcome; on their own and in a block
SELECT enspiral.create_round(:h, 'Summer', 1000, now(), now() + interval '7 days') AS rs \gset
SELECT enspiral.create_bucket(:h, :rs, :cy, 'Plates', 100, 200) AS plates \gset
SELECT enspiral.create_bucket(:g, :rs, :aroha, 'Plates', 100, 200); -- refused: round not in g
SELECT enspiral.create_bucket(:h, :rs, :cy, ' ', 100, 200); -- refused: empty title
SELECT enspiral.create_bucket(:h, :rs, :aroha, 'Plates', 100, 200); -- refused: not a member of h
BEGIN;
SELECT enspiral.create_bucket(:h, :rs, :cy, 'Bowls', 100, 200) > 0 AS created_h;
SELECT enspiral.allocate(:h, :rs, NULL, NULL) AS allocated;
SELECT enspiral.open_bucket(:h, :plates);
SELECT enspiral.contribute(:h, :plates, :cy, 30, NULL) > 0 AS contributed;
SELECT enspiral.bucket_state(:h, :plates) AS plates_state, enspiral.bucket_total(:h, :plates) AS plates_total,
       enspiral.balance(:h, :rs, :cy) AS cy_balance;
COMMIT;
SELECT enspiral.bucket_state(:plates) AS plates_state, enspiral.bucket_total(:plates) AS plates_total,
       enspiral.balance(:rs, :cy) AS cy_balance;
SELECT enspiral.bucket_state(:g, :plates); -- refused: not in g
SELECT enspiral.bucket_total(:g, :plates); -- refused: not in g
SELECT enspiral.balance(:g, :rs, :aroha); -- refused: round not in g
SELECT enspiral.balance(:h, :rs, :aroha); -- refused: not a member of h
SELECT enspiral.propose(:g, :aroha, 'Later', 'consent') AS later \gset
SELECT enspiral.open_proposal(:g, :later, now() + interval '3 days', now() + interval '1 day');
SELECT enspiral.proposal_state(:g, :later) AS later_state;
SELECT enspiral.proposal_state(:h, :later); -- refused: not in h
SELECT enspiral.unschedule_proposal(:h, :later); -- refused: not in h
SELECT enspiral.unschedule_proposal(:g, :later);
SELECT enspiral.proposal_state(:g, :later) AS later_state, enspiral.proposal_state(:later) AS same;
SELECT count(*) AS outcomes, count(*) FILTER (WHERE NOT matches) AS mismatches
  FROM enspiral.verify_outcome(:h, :q);
SELECT count(*) FROM enspiral.verify_outcome(:g, :q); -- refused: not in g

-- everything adds up in both groups
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:h);
SELECT kind, count(*) FROM enspiral.events_since(:g, 0, 1000) GROUP BY 1 ORDER BY 1;
SELECT kind, count(*) FROM enspiral.events_since(:h, 0, 1000) GROUP BY 1 ORDER BY 1;
