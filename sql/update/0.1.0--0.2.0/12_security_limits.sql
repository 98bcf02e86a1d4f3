-- enspiral update script 0.1.0 -> 0.2.0, part 12: limits and deadlines
-- (doc/limits-and-cancel.md).
--
-- The C changes of this part (interrupt checks, apportion memory, the
-- incremental instant runoff, deadlines checked against the clock of the
-- write) need no SQL change: the library is replaced by the update.
--
-- The electorate of a proposal is frozen at its opening: members who leave
-- stay in it (0.1.0 dropped them, so a quorum got easier as people left).
-- Outcomes recorded by 0.1.0 are kept as they were recorded: a decision
-- once recorded is final.  verify_outcome recomputes with the rule in
-- force, so for a 0.1.0 outcome of a proposal whose electorate lost members
-- before it closed, it reports matches = false with the larger electorate
-- in recomputed (doc/limits-and-cancel.md, Electorate).

CREATE OR REPLACE FUNCTION enspiral.electorate_size(p enspiral.proposals, ref timestamptz, t timestamptz)
    RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- The electorate is frozen at the opening ref: the members then, plus
    -- members added with add_voter.  Nobody leaves it, so leaving never
    -- makes a quorum easier; t (the evaluation time) is not used.
    SELECT (SELECT count(*) FROM enspiral.memberships m
             WHERE m.group_id = ($1).group_id AND m.joined_at <= $2
               AND (m.left_at IS NULL OR m.left_at > $2))
         + (SELECT count(*) FROM enspiral.electorate_additions a
             WHERE a.group_id = ($1).group_id AND a.proposal_id = ($1).proposal_id
               AND NOT EXISTS (SELECT 1 FROM enspiral.memberships m
                                WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                                  AND m.joined_at <= $2 AND (m.left_at IS NULL OR m.left_at > $2)))
$$;
COMMENT ON FUNCTION enspiral.electorate_size(enspiral.proposals, timestamptz, timestamptz) IS
    'Internal: the electorate frozen at the opening time ref: the members then plus explicit additions, whether or not they are still members (t is not used)';
