-- Written with the API of 0.1.0 before tools/upgrade.sh updates the
-- extension: a named proposal closed, reopened and closed again, with a
-- changed vote (so its outcomes differ per opening).  read_api.sql checks
-- after the update that every recorded opening still verifies.
\set ON_ERROR_STOP 1
DO $$
DECLARE
    g bigint := (SELECT min(c.group_id) FROM enspiral.current_members c);
    a bigint := (SELECT min(c.member_id) FROM enspiral.current_members c WHERE c.group_id = g);
    b bigint := (SELECT max(c.member_id) FROM enspiral.current_members c WHERE c.group_id = g);
    p bigint;
BEGIN
    p := enspiral.propose(g, a, 'upgrade reopen', 'choice', '{x,y}');
    PERFORM enspiral.open_proposal(p, now() + interval '1 day');
    PERFORM enspiral.vote(p, a, '["x"]');
    PERFORM enspiral.close_proposal(p);
    PERFORM enspiral.reopen_proposal(p, now() + interval '1 day');
    PERFORM enspiral.vote(p, a, '["y"]');
    PERFORM enspiral.vote(p, b, '["y"]');
    PERFORM enspiral.close_proposal(p);
END
$$;
