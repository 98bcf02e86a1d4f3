-- Citus (doc/scaling.md): every event queues its NOTIFY through
-- enspiral.notify_event() (src/core_notify.c); emit_event(), expanded in
-- 30_actors_events, calls it, so it exists first.
-- @function enspiral.notify_event(group_id bigint, event_id bigint)
REVOKE ALL ON FUNCTION enspiral.notify_event(bigint, bigint) FROM PUBLIC;
