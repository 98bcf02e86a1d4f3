-- The ledger on Citus: group-first allocate(), open_bucket(), contribute(),
-- try_contribute() and close_round() run on the group's node (delegated),
-- through the same direct data-access layer as on a single server
-- (src/core_relaccess.c switches each access to SQL that Citus routes).
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\set VERBOSITY terse

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.create_round(:g, 'Spring', 100000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_bucket(:r, :aroha, 'Bike workshop', 30000, 50000) AS bikes \gset
SELECT enspiral.create_bucket(:r, :ben, 'Garden', 60000, 90000) AS garden \gset

-- allocation: the whole pool, equally (refused from another group)
SELECT enspiral.allocate(:g, :r, NULL, NULL) AS allocated;
SELECT enspiral.allocate(:h, :r, NULL, NULL);                    -- refused: not in h
SELECT enspiral.allocate(:g, :r, NULL, NULL) AS allocated_again;  -- nothing left

-- buckets open (refused from another group)
SELECT enspiral.open_bucket(:g, :bikes);
SELECT enspiral.open_bucket(:g, :garden);
SELECT enspiral.open_bucket(:h, :bikes);                         -- refused: not in h

-- contributions: the hot path, its idempotency key and its refusals (each
-- call alone in its statement, so that Citus delegates it: doc/scaling.md)
SELECT enspiral.contribute(:g, :bikes, :ben, 1000, NULL) AS t1 \gset
SELECT enspiral.contribute(:g, :bikes, :ben, 2000, 'order-1') AS t2 \gset
SELECT enspiral.contribute(:g, :bikes, :ben, 2000, 'order-1') AS t3 \gset
SELECT :t2 > :t1 AS new_transfer, :t3 = :t2 AS replayed;
SELECT enspiral.contribute(:g, :bikes, :ben, 3000, 'order-1');      -- refused: key reused
SELECT enspiral.contribute(:g, :bikes, :ben, 1000000, NULL);        -- refused: overdrawn
SELECT enspiral.try_contribute(:g, :bikes, :ben, 1000000, NULL);    -- NULL: refused
SELECT enspiral.contribute(:g, :bikes, :ben, 0, NULL);              -- refused: amount
SELECT enspiral.contribute(:g, 12345, :ben, 1000, NULL);            -- refused: no such bucket
SELECT enspiral.contribute(:h, :bikes, :ben, 1000, NULL);           -- refused: not in h
SELECT enspiral.try_contribute(:g, :garden, :aroha, 40000, NULL) AS t4 \gset
SELECT enspiral.contribute(:g, :bikes, :aroha, 10000, NULL) AS t5 \gset
SELECT :t4 > :t3 AND :t5 > :t4 AS contributed;
SELECT enspiral.contribute(:g, :bikes, :ben, 40000, NULL);          -- refused: over max_goal
-- reaching max_goal funds the bucket
SELECT enspiral.contribute(:g, :bikes, :ben, 37000, NULL) AS t6 \gset
SELECT allocated, spent, balance FROM enspiral.balances(:g, :r) ORDER BY spent;
SELECT enspiral.bucket_state(:bikes) AS bikes, enspiral.bucket_state(:garden) AS garden;
SELECT count(*) AS contribution_events FROM enspiral.events_since(:g, 0, 100)
 WHERE kind = 'contribution';
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);

-- closing the round decides the buckets: the garden is under its minimum
SELECT enspiral.close_round(:h, :r);                               -- refused: not in h
SELECT enspiral.close_round(:g, :r) AS refunds;
SELECT enspiral.bucket_state(:bikes) AS bikes, enspiral.bucket_state(:garden) AS garden;
SELECT allocated, spent, balance FROM enspiral.balances(:g, :r) ORDER BY spent;
SELECT enspiral.contribute(:g, :bikes, :ben, 1000, NULL);           -- refused: round closed
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);

-- the hash chain: the linker runs on the group's node, and the chain verifies
SELECT enspiral.link_chain(:g) AS linked \gset
SELECT :linked > 0 AS linked_some;
SELECT * FROM enspiral.verify_chain(:g);
SELECT enspiral.link_chain(:g) AS linked_again;
SELECT count(*) = :linked AS links FROM enspiral.chain_links WHERE group_id = :g;
SELECT enspiral.link_chain(12345);                                -- refused: no such group

-- the 0.1.0 forms that name no group run on the coordinator, which may
-- write on the worker with two-phase commit; the events recorded there
-- defer their NOTIFY to the commit (doc/scaling.md)
SELECT enspiral.create_round(:g, 'Autumn', 1000, now(), now() + interval '7 days') AS r2 \gset
SELECT enspiral.allocate(:r2) AS allocated;
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);
