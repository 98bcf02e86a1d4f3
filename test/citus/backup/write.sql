-- Data written into a distributed enspiral database before it is dumped
-- (tools/citus_backup.sh): two groups on (usually) different workers,
-- members, a decided proposal with its recorded outcome, a round with
-- allocations, contributions and a funded bucket, catalyst terms, the hash
-- chain linked.  Group-first calls only, one per statement (delegated).
\set ON_ERROR_STOP 1
SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'chloe') AS chloe \gset
SELECT enspiral.add_member(:h, 'dev') AS dev \gset
SELECT enspiral.add_member(:h, 'eru') AS eru \gset
SELECT enspiral.propose(:g, :aroha, 'Adopt the remote-work policy', 'consent') AS p \gset
SELECT enspiral.open_proposal(:g, :p, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p, :aroha, '"agree"', NULL);
SELECT enspiral.vote(:g, :p, :ben, '"agree"', NULL);
SELECT enspiral.vote(:g, :p, :chloe, '"abstain"', NULL);
SELECT enspiral.close_proposal(:g, :p);
SELECT enspiral.propose(:h, :dev, 'Open a second office', 'consent') AS q \gset
SELECT enspiral.open_proposal(:h, :q, now() + interval '3 days', NULL);
SELECT enspiral.vote(:h, :q, :dev, '"agree"', NULL);
SELECT enspiral.create_round(:g, 'Spring', 100000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_bucket(:r, :aroha, 'Bike workshop', 30000, 50000) AS bikes \gset
SELECT enspiral.create_bucket(:r, :ben, 'Garden', 60000, 90000) AS garden \gset
SELECT enspiral.allocate(:g, :r, NULL, NULL);
SELECT enspiral.open_bucket(:g, :bikes);
SELECT enspiral.open_bucket(:g, :garden);
SELECT enspiral.contribute(:g, :bikes, :ben, 20000, 'order-1');
SELECT enspiral.contribute(:g, :bikes, :aroha, 30000, NULL);
SELECT enspiral.contribute(:g, :garden, :chloe, 10000, NULL);
SELECT enspiral.create_round(:h, 'Winter', 5000, now(), now() + interval '7 days') AS s \gset
SELECT enspiral.allocate(:h, :s, NULL, NULL);
SELECT enspiral.appoint_catalyst(:g, :aroha, current_date + 1);
SELECT enspiral.appoint_catalyst(:h, :dev, current_date + 1);
SELECT enspiral.link_chain(:g);
SELECT enspiral.link_chain(:h);
