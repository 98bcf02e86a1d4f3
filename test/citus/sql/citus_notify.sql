-- Events that NOTIFY in a transaction that Citus commits with two-phase
-- commit (doc/scaling.md, "Transaction blocks and calls that are not
-- delegated"): PostgreSQL refuses PREPARE TRANSACTION once a NOTIFY is
-- queued, so every event's NOTIFY is deferred to the commit of the node
-- that records it (src/core_notify.c).  Here two groups on two workers are
-- written in one transaction by calls that are not delegated (the shape of
-- an isolation spec's setup: several statements sent at once, an implicit
-- transaction), with every kind of event: recorded by triggers on the
-- shards (member_added, catalyst_term_appointed, proposal_created), by the
-- C hot paths (vote_cast, contribution, with notify_votes_and_contributions
-- on) and by emit_event.  Each transaction commits, and every event is in
-- the feed.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\set VERBOSITY terse
SELECT enspiral.create_group('Enspiral', '{"notify_votes_and_contributions": true, "min_catalysts": 0}') AS g \gset
SELECT enspiral.create_group('Loomio', '{"notify_votes_and_contributions": true, "min_catalysts": 0}') AS h \gset
-- the two groups are on different workers
SELECT count(DISTINCT nodeport) AS workers FROM pg_dist_shard_placement
 WHERE shardid IN (get_shard_id_for_distribution_column('enspiral.groups', :g),
                   get_shard_id_for_distribution_column('enspiral.groups', :h));

-- one implicit transaction (statements sent at once): members and
-- catalysts of both groups, each with its event and NOTIFY
SELECT count(enspiral.add_member(:g, 'g' || i)) AS added_g FROM generate_series(1, 3) i \; SELECT count(enspiral.add_member(:h, 'h' || i)) AS added_h FROM generate_series(1, 3) i \; SELECT count(enspiral.appoint_catalyst(m.group_id, m.member_id, current_date)) AS appointed FROM enspiral.members m WHERE m.group_id IN (:g, :h) AND m.member_key IN ('g1', 'h1');

-- one transaction block: proposals, votes, a round, contributions, in both
-- groups
BEGIN;
SELECT enspiral.propose(:g, enspiral.member_id(:g, 'g1'), 'Remote work', 'consent') AS p \gset
SELECT enspiral.propose(:h, enspiral.member_id(:h, 'h1'), 'Opening hours', 'consent') AS q \gset
SELECT enspiral.open_proposal(:g, :p, now() + interval '3 days', NULL);
SELECT enspiral.open_proposal(:h, :q, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p, enspiral.member_id(:g, 'g2'), '"agree"', NULL) > 0 AS voted_g;
SELECT enspiral.vote(:h, :q, enspiral.member_id(:h, 'h2'), '"agree"', NULL) > 0 AS voted_h;
SELECT enspiral.create_round(:g, 'Spring', 300, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_round(:h, 'Spring', 300, now(), now() + interval '7 days') AS rh \gset
SELECT enspiral.create_bucket(:r, enspiral.member_id(:g, 'g1'), 'Bikes', 0, 1000) AS b \gset
SELECT enspiral.create_bucket(:rh, enspiral.member_id(:h, 'h1'), 'Cafe', 0, 1000) AS bh \gset
SELECT enspiral.allocate(:g, :r, NULL, NULL) AS allocated_g;
SELECT enspiral.allocate(:h, :rh, NULL, NULL) AS allocated_h;
SELECT enspiral.open_bucket(:g, :b);
SELECT enspiral.open_bucket(:h, :bh);
SELECT enspiral.contribute(:g, :b, enspiral.member_id(:g, 'g3'), 40, NULL) > 0 AS contributed_g;
SELECT enspiral.contribute(:h, :bh, enspiral.member_id(:h, 'h3'), 60, NULL) > 0 AS contributed_h;
COMMIT;

-- a savepoint rolled back drops its events (and their NOTIFY), the rest
-- commits
BEGIN;
SELECT count(enspiral.add_member(:g, 'g4')) AS added_g;
SAVEPOINT s;
SELECT count(enspiral.add_member(:h, 'h4')) AS added_h;
ROLLBACK TO SAVEPOINT s;
SELECT enspiral.contribute(:h, :bh, enspiral.member_id(:h, 'h2'), 10, NULL) > 0 AS contributed_h;
COMMIT;

-- every event of both groups is in the feed
SELECT group_id = :g AS in_g, kind, count(*) FROM enspiral.events
 WHERE group_id IN (:g, :h) GROUP BY 1, 2 ORDER BY 1 DESC, 2;
SELECT member_key FROM enspiral.members WHERE group_id IN (:g, :h) ORDER BY 1;
