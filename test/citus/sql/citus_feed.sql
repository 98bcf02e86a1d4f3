-- The event feed on Citus (doc/actors-and-events.md, "Reading the feed";
-- doc/scaling.md, "The event feed"): every event of a group is numbered on
-- the node that holds the group's shard, in the transaction that stores it,
-- whether a delegated call wrote it or a call in a transaction block (run
-- on the coordinator); after a restore of ids far above the node's, or a
-- move of the group's shard to the other worker, whose transaction ids are
-- far lower, and enspiral.distribute() run again, new events are numbered
-- above the old ones; a consumer that reads from the last id it processed
-- misses nothing and sees nothing twice.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
SELECT enspiral.create_group('feed', jsonb_build_object('enforce_permissions', false)) AS g \gset

-- the consumer: every event it processed, once each
CREATE TEMP TABLE consumed (n serial, event_id bigint, kind text);
SET client_min_messages = error;  -- Citus: a pg_temp function lives on the coordinator only
-- one poll: the events after the last id processed
CREATE FUNCTION pg_temp.poll(g bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO consumed (event_id, kind)
    SELECT e.event_id, e.kind
      FROM enspiral.events_since(g, (SELECT coalesce(max(c.event_id), 0) FROM consumed c)) e
     ORDER BY e.event_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
-- every event written after the id given (restored rows apart) numbered
-- on the node that stores it: the transaction in its id is the row's own
-- (xmin) plus that node's offset
CREATE FUNCTION pg_temp.numbered_here(after bigint) RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(r.success AND r.result = '0')
      FROM run_command_on_shards('enspiral.events', format($cmd$
               SELECT count(*) FROM %%s e
                WHERE e.event_id > %s AND e.kind <> 'restored'
                  AND (e.event_id >> 22) <> e.xmin::text::bigint
                                            + (SELECT s.last_value FROM enspiral.event_id_offset s)$cmd$,
               after)) r
$$;
RESET client_min_messages;

-- delegated calls: each runs on the group's node
SELECT enspiral.add_member(:g, 'ann') AS ann \gset
SELECT enspiral.add_member(:g, 'bob') AS bob \gset
SELECT enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.propose(:g, :ann, 'Feed on Citus', 'consent') AS p \gset
SELECT enspiral.open_proposal(:g, :p, now() + interval '1 day', NULL);
SELECT enspiral.vote(:g, :p, :ann, '"agree"', NULL) IS NOT NULL AS ann_voted;
SELECT pg_temp.poll(:g) AS polled;

-- a transaction block: add_member runs on the coordinator, vote is
-- forwarded; every event still gets its id on the group's node
BEGIN;
SELECT enspiral.add_member(:g, 'dan') IS NOT NULL AS dan_added;
SELECT enspiral.add_member(:g, 'dee') IS NOT NULL AS dee_added;
SELECT enspiral.vote(:g, :p, :bob, '"agree"', NULL) IS NOT NULL AS bob_voted;
COMMIT;
SELECT pg_temp.numbered_here(0);
SELECT pg_temp.poll(:g) AS polled;
SELECT kind FROM consumed ORDER BY n;

-- a restore (the owner's COPY through the coordinator) brings an event
-- numbered far above this node's transaction ids, and keeps its id; then
-- what an operator runs after a restore: enspiral.distribute() raises every
-- node's offset past it, and the events written next are numbered above it
COPY enspiral.events (group_id, event_id, kind) FROM STDIN;
1	4194304000001	restored
\.
SELECT object, action FROM enspiral.distribute() WHERE object = 'enspiral.events';
SELECT enspiral.add_member(:g, 'eli') IS NOT NULL AS eli_added;
SELECT kind, event_id > 4194304000001 AS above_restored
  FROM enspiral.events WHERE group_id = :g AND event_id >= 4194304000001 ORDER BY event_id;
SELECT pg_temp.numbered_here(4194304000001);
SELECT pg_temp.poll(:g) AS polled;

-- move the group's shards to the other worker, whose transaction ids are
-- a million below the group's event ids, writes blocked during the move
SELECT max(event_id) AS old_max, count(*) AS old_count FROM enspiral.events WHERE group_id = :g \gset
SELECT p.shardid, p.nodename AS src_host, p.nodeport AS src_port
  FROM pg_dist_shard_placement p
 WHERE p.shardid = get_shard_id_for_distribution_column('enspiral.groups', :g) \gset
SELECT n.nodename AS dst_host, n.nodeport AS dst_port
  FROM pg_dist_node n
 WHERE n.noderole = 'primary' AND n.shouldhaveshards AND n.nodeport <> :src_port
 ORDER BY n.nodeport LIMIT 1 \gset
SELECT citus_move_shard_placement(:shardid, :'src_host', :src_port, :'dst_host', :dst_port,
                                  shard_transfer_mode => 'block_writes');
SELECT nodeport = :dst_port AS moved FROM pg_dist_shard_placement
 WHERE shardid = get_shard_id_for_distribution_column('enspiral.groups', :g);
-- what an operator runs after a move: every node numbers above the ids present
SELECT object, action FROM enspiral.distribute() WHERE object = 'enspiral.events';

-- new events on the new node, delegated and in a block: above the old ones
SELECT enspiral.add_member(:g, 'eve') IS NOT NULL AS eve_added;
BEGIN;
SELECT enspiral.add_member(:g, 'fay') IS NOT NULL AS fay_added;
SELECT enspiral.vote(:g, :p, :cy, '"agree"', NULL) IS NOT NULL AS cy_voted;
COMMIT;
SELECT count(*) - :old_count AS written_since_the_move,
       count(*) FILTER (WHERE event_id > :old_max) AS numbered_above_the_old
  FROM enspiral.events WHERE group_id = :g;
SELECT pg_temp.numbered_here(:old_max);
SELECT pg_temp.poll(:g) AS polled;
SELECT pg_temp.poll(:g) AS polled_again;

-- the consumer has every event of the group, each once, in id order
SELECT (SELECT count(*) FROM consumed) AS consumed,
       (SELECT count(DISTINCT event_id) FROM consumed) AS distinct_ids,
       (SELECT count(*) FROM enspiral.events WHERE group_id = :g) AS written,
       (SELECT bool_and(a.event_id < b.event_id) FROM consumed a JOIN consumed b ON b.n = a.n + 1) AS in_id_order;
SELECT kind FROM consumed ORDER BY n;
