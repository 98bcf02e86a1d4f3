-- Part 85 (citfeed, doc/actors-and-events.md "Reading the feed",
-- doc/scaling.md): event ids on Citus.  The node's event id offset, and the
-- BEFORE INSERT trigger that numbers an event on the node (and in the
-- transaction) that stores it.
CREATE SEQUENCE enspiral.event_id_offset AS bigint MINVALUE 0 START 0 NO CYCLE;
COMMENT ON SEQUENCE enspiral.event_id_offset IS
    'This node''s event id offset: event ids are (transaction id + offset) * 2^22 + n; raised by enspiral.distribute() (enspiral.raise_event_ids()) and, on a single server, by a restore of enspiral.events';
REVOKE ALL ON SEQUENCE enspiral.event_id_offset FROM PUBLIC;
-- @function enspiral.events_id()
REVOKE ALL ON FUNCTION enspiral.events_id() FROM PUBLIC;
CREATE TRIGGER events_id BEFORE INSERT ON enspiral.events
    FOR EACH ROW EXECUTE FUNCTION enspiral.events_id();
ALTER TABLE enspiral.events DISABLE TRIGGER events_id;
COMMENT ON TRIGGER events_id ON enspiral.events IS
    'On Citus (enabled by enspiral.distribute(); disabled on a single server): event ids are numbered on the shard''s node, in the transaction that stores the event';
