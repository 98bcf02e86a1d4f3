-- Data written with the API and the library of 0.1.0 on a Citus
-- coordinator, before ALTER EXTENSION enspiral UPDATE and
-- enspiral.distribute() (tools/citus_backup.sh, citus_upgrade_test): 0.1.0
-- cannot be distributed, so its tables are the coordinator's own.
\set ON_ERROR_STOP 1
SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'chloe') AS chloe \gset
SELECT enspiral.add_member(:h, 'dev') AS dev \gset
SELECT enspiral.add_member(:h, 'eru') AS eru \gset
SELECT enspiral.propose(:g, :aroha, 'Adopt the remote-work policy', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '3 days');
SELECT enspiral.vote(:p, :aroha, '"agree"');
SELECT enspiral.vote(:p, :ben, '"agree"');
SELECT enspiral.vote(:p, :chloe, '"abstain"');
SELECT enspiral.close_proposal(:p);
SELECT enspiral.propose(:h, :dev, 'Open a second office', 'choice', '{yes,later}') AS q \gset
SELECT enspiral.open_proposal(:q, now() + interval '3 days');
SELECT enspiral.vote(:q, :dev, '["yes"]');
SELECT enspiral.create_round(:g, 'Spring', 100000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_bucket(:r, :aroha, 'Bike workshop', 30000, 50000) AS bikes \gset
SELECT enspiral.create_bucket(:r, :ben, 'Garden', 60000, 90000) AS garden \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.open_bucket(:bikes);
SELECT enspiral.open_bucket(:garden);
SELECT enspiral.contribute(:bikes, :ben, 20000, 'order-1');
SELECT enspiral.contribute(:bikes, :aroha, 30000);
SELECT enspiral.contribute(:garden, :chloe, 10000);
SELECT enspiral.create_round(:h, 'Winter', 5000, now(), now() + interval '7 days') AS s \gset
SELECT enspiral.allocate(:s);
SELECT enspiral.appoint_catalyst(:g, :aroha, current_date + 1);
SELECT enspiral.appoint_catalyst(:h, :dev, current_date + 1);
