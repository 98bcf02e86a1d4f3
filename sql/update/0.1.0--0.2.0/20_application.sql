-- Part 20: the application surface (doc/application.md): read API, edit
-- API, form errors with their own SQLSTATEs (NS401-NS409), repeat-is-a-no-op,
-- rounds closed by record_due_closings(), verify_outcome over every opening.

-- outcomes remember the close of their opening (rows of 0.1.0 keep NULL)
ALTER TABLE enspiral.outcomes ADD COLUMN closed_at timestamptz;
COMMENT ON COLUMN enspiral.outcomes.closed_at IS
    'The close of the opening, the time its ballots and electorate are evaluated at (set by outcomes_close_time); NULL on rows recorded by 0.1.0';
CREATE FUNCTION enspiral.outcomes_close_time() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'outcomes_close_time', 'enspiral.outcomes');
    -- only the current opening closes now; a restored row of an earlier
    -- opening without a close time (recorded by 0.1.0) keeps none
    IF NEW.closed_at IS NULL THEN
        SELECT least(p.closes_at, pg_catalog.statement_timestamp()) INTO NEW.closed_at
          FROM enspiral.proposals p
         WHERE p.group_id = NEW.group_id AND p.proposal_id = NEW.proposal_id
           AND p.reopen_count = NEW.opening;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION enspiral.outcomes_close_time() IS
    'Trigger: stamps a new outcome with the close of its opening (what compute_outcome evaluated), so verify_outcome can recompute every opening after a reopen';
-- outcomes of 0.1.0 for the current opening of a closed proposal closed at
-- its closes_at; earlier openings have no known close time and keep NULL
ALTER TABLE enspiral.outcomes DISABLE TRIGGER outcomes_guard;
UPDATE enspiral.outcomes o SET closed_at = p.closes_at
  FROM enspiral.proposals p
 WHERE p.group_id = o.group_id AND p.proposal_id = o.proposal_id
   AND p.reopen_count = o.opening AND p.state = 'closed';
ALTER TABLE enspiral.outcomes ENABLE TRIGGER outcomes_guard;
CREATE TRIGGER outcomes_close_time BEFORE INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_close_time();
COMMENT ON TRIGGER outcomes_close_time ON enspiral.outcomes IS
    'Records the close time of the opening with its outcome';

-- base: NS401 for empty names, NS002 for unknown groups
CREATE FUNCTION enspiral.require_group(group_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = require_group.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_group(bigint) IS
    'Internal: raises NS002 unless the group exists';
CREATE FUNCTION enspiral.require_member(group_id bigint, member_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM enspiral.members m
     WHERE m.group_id = require_member.group_id AND m.member_id = require_member.member_id;
    IF NOT FOUND THEN
        PERFORM enspiral.require_group(group_id);
        RAISE EXCEPTION 'member % does not exist in group %', member_id, group_id
            USING ERRCODE = 'NS003';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_member(bigint, bigint) IS
    'Internal: raises NS002 unless the group exists, NS003 unless the member belongs to it (now or in the past)';
CREATE OR REPLACE FUNCTION enspiral.create_group(name text, settings jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint;
BEGIN
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'group name must not be empty'
            USING ERRCODE = 'NS401', COLUMN = 'name';
    END IF;
    IF settings IS NULL THEN
        RAISE EXCEPTION 'group settings must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass ''{}'' for the defaults.';
    END IF;
    INSERT INTO enspiral.groups (name, settings)
    VALUES (create_group.name, enspiral.normalize_group_settings(create_group.settings))
    RETURNING group_id INTO gid;
    RETURN gid;
END
$$;
COMMENT ON FUNCTION enspiral.create_group(text, jsonb) IS
    'Creates a group and returns its id; settings are validated and completed with defaults';
CREATE OR REPLACE FUNCTION enspiral.add_member(group_id bigint, member_key text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mid bigint;
BEGIN
    IF group_id IS NULL THEN
        RAISE EXCEPTION 'group_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF member_key IS NULL OR member_key = '' THEN
        RAISE EXCEPTION 'member_key must not be NULL or empty'
            USING ERRCODE = 'NS401', COLUMN = 'member_key';
    END IF;
    -- the group row lock orders concurrent joins of the same key
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = add_member.group_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    INSERT INTO enspiral.members AS m (group_id, member_key)
    VALUES (add_member.group_id, add_member.member_key)
    ON CONFLICT ON CONSTRAINT members_group_id_member_key_key DO NOTHING
    RETURNING m.member_id INTO mid;
    IF mid IS NULL THEN
        -- a known person: rejoin with the same identity
        SELECT m.member_id INTO mid FROM enspiral.members m
         WHERE m.group_id = add_member.group_id AND m.member_key = add_member.member_key
           FOR UPDATE;
        IF EXISTS (SELECT 1 FROM enspiral.memberships ms
                    WHERE ms.group_id = add_member.group_id AND ms.member_id = mid
                      AND ms.left_at IS NULL) THEN
            RAISE EXCEPTION 'member "%" is already a member of group %', member_key, group_id
                USING ERRCODE = 'NS005',
                      DETAIL = format('The member id is %s.', mid);
        END IF;
    END IF;
    -- the member row is locked (new row, or FOR UPDATE above): period is safe
    -- A concurrent removal that started after this transaction may have
    -- closed the last period later than our now(): never start before it.
    INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
    SELECT add_member.group_id, mid, coalesce(max(ms.period), 0) + 1,
           greatest(pg_catalog.now(), max(ms.left_at))
      FROM enspiral.memberships ms
     WHERE ms.group_id = add_member.group_id AND ms.member_id = mid;
    RETURN mid;
END
$$;
COMMENT ON FUNCTION enspiral.add_member(bigint, text) IS
    'Adds a person (the application''s member_key) to a group and returns the member id; a person who left and rejoins keeps the same id';
CREATE OR REPLACE FUNCTION enspiral.member_id(group_id bigint, member_key text) RETURNS bigint
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mid bigint;
BEGIN
    SELECT m.member_id INTO mid FROM enspiral.members m
     WHERE m.group_id = member_id.group_id AND m.member_key = member_id.member_key;
    IF NOT FOUND THEN
        PERFORM enspiral.require_group(group_id);
    END IF;
    RETURN mid;
END
$$;
COMMENT ON FUNCTION enspiral.member_id(bigint, text) IS
    'The member id of an application member_key in a group, or NULL when the key is unknown; NS002 for an unknown group';

-- decisions
DROP FUNCTION enspiral.propose(bigint, bigint, text, text, text[], jsonb);
CREATE FUNCTION enspiral.propose(group_id bigint, author_id bigint, title text, method text,
                                 options text[] DEFAULT NULL, settings jsonb DEFAULT '{}',
                                 details text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid bigint;
BEGIN
    IF group_id IS NULL OR author_id IS NULL THEN
        RAISE EXCEPTION 'group_id and author_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = propose.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    IF NOT enspiral.is_member(propose.group_id, propose.author_id, pg_catalog.statement_timestamp()) THEN
        RAISE EXCEPTION 'member % is not a current member of group %', author_id, group_id
            USING ERRCODE = 'NS004';
    END IF;
    IF title IS NULL OR btrim(title) = '' THEN
        RAISE EXCEPTION 'proposal title must not be empty' USING ERRCODE = 'NS401', COLUMN = 'title';
    END IF;
    IF method IS NULL THEN
        RAISE EXCEPTION 'voting method must not be NULL' USING ERRCODE = 'NS405', COLUMN = 'method';
    END IF;
    INSERT INTO enspiral.proposals (group_id, author_id, title, details, method, options, settings)
    VALUES (propose.group_id, propose.author_id, propose.title, propose.details, propose.method,
            CASE WHEN propose.method = 'consent' AND propose.options = '{}' THEN NULL ELSE propose.options END,
            enspiral.normalize_proposal_settings(propose.method, propose.options, propose.settings))
    RETURNING proposal_id INTO pid;
    RETURN pid;
END
$$;
COMMENT ON FUNCTION enspiral.propose(bigint, bigint, text, text, text[], jsonb, text) IS
    'Creates a draft proposal by a current member and returns its id; method, options and settings are checked and settings completed with defaults; details is free text shown with the title';
CREATE OR REPLACE FUNCTION enspiral.open_proposal(proposal_id bigint, closes_at timestamptz,
                                       opens_at timestamptz DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    later boolean := opens_at IS NOT NULL AND opens_at > now;
BEGIN
    IF closes_at IS NULL THEN
        RAISE EXCEPTION 'closes_at must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', COLUMN = 'closes_at';
    END IF;
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now) = 'open' THEN
        -- already open: a repeat keeps it as it is, a new closes_at moves the
        -- deadline (extend_proposal); it cannot be scheduled again
        IF later THEN
            RAISE EXCEPTION 'proposal % is open: it cannot be scheduled', proposal_id
                USING ERRCODE = 'NS010', COLUMN = 'opens_at',
                      HINT = 'Call it without opens_at to move the deadline.';
        END IF;
        PERFORM enspiral.extend_proposal(p.group_id, p.proposal_id, open_proposal.closes_at);
        RETURN;
    END IF;
    IF later AND closes_at <= opens_at THEN
        RAISE EXCEPTION 'proposal % must close after it opens', proposal_id
            USING ERRCODE = 'NS403', COLUMN = 'closes_at';
    END IF;
    IF closes_at <= now THEN
        RAISE EXCEPTION 'the deadline of proposal % must be in the future', proposal_id
            USING ERRCODE = 'NS402', COLUMN = 'closes_at';
    END IF;
    UPDATE enspiral.proposals x
       SET state = CASE WHEN later THEN 'scheduled' ELSE 'open' END::enspiral.proposal_state,
           opens_at = CASE WHEN later THEN open_proposal.opens_at ELSE now END,
           closes_at = open_proposal.closes_at
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.open_proposal(bigint, timestamptz, timestamptz) IS
    'Opens a draft (or scheduled) proposal now, or schedules it when opens_at is in the future; the electorate is the group''s members at the opening time; on an open proposal it moves the deadline like extend_proposal (the same closes_at: no change)';
CREATE OR REPLACE FUNCTION enspiral.withdraw_proposal(proposal_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
BEGIN
    IF p.state = 'withdrawn' THEN
        RETURN;     -- repeating a finished action is a no-op
    END IF;
    UPDATE enspiral.proposals x SET state = 'withdrawn'
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.withdraw_proposal(bigint) IS
    'Withdraws a draft, scheduled or open proposal; it never produces an outcome; on a withdrawn proposal it does nothing';
CREATE OR REPLACE FUNCTION enspiral.reopen_proposal(proposal_id bigint, closes_at timestamptz) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
BEGIN
    IF closes_at IS NULL OR closes_at <= pg_catalog.statement_timestamp() THEN
        RAISE EXCEPTION 'proposal % can only be reopened with a future closes_at', proposal_id
            USING ERRCODE = 'NS402', COLUMN = 'closes_at';
    END IF;
    IF st <> 'closed' THEN
        RAISE EXCEPTION 'proposal % cannot be reopened: it is %', proposal_id, st
            USING ERRCODE = 'NS010', DETAIL = 'Only a closed proposal can be reopened.';
    END IF;
    UPDATE enspiral.proposals x SET state = 'open', closes_at = reopen_proposal.closes_at
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.reopen_proposal(bigint, timestamptz) IS
    'Reopens a closed, named proposal until a future closes_at; the outcome of the earlier opening stays recorded';
CREATE OR REPLACE FUNCTION enspiral.counted_ballots(p enspiral.proposals, t timestamptz)
    RETURNS SETOF jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.ballot FROM enspiral.votes v
     WHERE NOT (($1).settings ->> 'anonymous')::boolean
       AND v.group_id = ($1).group_id AND v.proposal_id = ($1).proposal_id
       AND (v.superseded_at IS NULL OR v.superseded_at > $2) AND v.cast_at <= $2
       AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(($1).group_id, $2) d)
    UNION ALL
    SELECT b.ballot FROM enspiral.anonymous_ballots b
     WHERE (($1).settings ->> 'anonymous')::boolean
       AND b.group_id = ($1).group_id AND b.proposal_id = ($1).proposal_id
$$;
COMMENT ON FUNCTION enspiral.counted_ballots(enspiral.proposals, timestamptz) IS
    'Internal: the ballots that count at time t: the votes in force at t of members still in the group, or every anonymous ballot';
CREATE OR REPLACE FUNCTION enspiral.compute_tally(p enspiral.proposals, t timestamptz) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    anon boolean := (p.settings ->> 'anonymous')::boolean;
    n_agree bigint;
    n_abstain bigint;
    n_disagree bigint;
    n_block bigint;
    voted bigint;
    totals jsonb;
    extra jsonb := '{}';
    irv jsonb;
BEGIN
    IF p.method = 'consent' THEN
        -- one pass, counting positions in C
        SELECT n[1], n[2], n[3], n[4], n[5]
          INTO n_agree, n_abstain, n_disagree, n_block, voted
          FROM (SELECT enspiral.consent_counts(c.ballot) AS n FROM (SELECT v.ballot FROM enspiral.votes v
                 WHERE NOT anon AND v.group_id = p.group_id AND v.proposal_id = p.proposal_id
                   AND (v.superseded_at IS NULL OR v.superseded_at > t) AND v.cast_at <= t
                   AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(p.group_id, t) d)
                UNION ALL
                SELECT b.ballot FROM enspiral.anonymous_ballots b
                 WHERE anon AND b.group_id = p.group_id AND b.proposal_id = p.proposal_id) c) x;
        RETURN jsonb_build_object('voted', voted,
                                  'totals', jsonb_build_object('agree', n_agree, 'abstain', n_abstain,
                                                               'disagree', n_disagree, 'block', n_block));
    END IF;
    SELECT count(*) INTO voted FROM enspiral.counted_ballots(p, t);
    IF p.method = 'choice' THEN
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e AS name, count(*) AS n
                       FROM enspiral.counted_ballots(p, t) b, jsonb_array_elements_text(b) e
                      GROUP BY e) c USING (name);
    ELSIF p.method IN ('score', 'dots', 'quadratic') THEN
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e.key AS name, sum(e.value::bigint) AS n
                       FROM enspiral.counted_ballots(p, t) b, jsonb_each(b) e
                      GROUP BY e.key) c USING (name);
    ELSE
        -- ranked: first preferences, Borda points, instant runoff on option positions
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO totals
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT b ->> 0 AS name, count(*) AS n
                       FROM enspiral.counted_ballots(p, t) b GROUP BY 1) c USING (name);
        SELECT jsonb_object_agg(o.name, coalesce(c.n, 0)) INTO extra
          FROM unnest(p.options) o(name)
          LEFT JOIN (SELECT e.name, sum(cardinality(p.options) - e.i) AS n
                       FROM enspiral.counted_ballots(p, t) b,
                            jsonb_array_elements_text(b) WITH ORDINALITY e(name, i)
                      GROUP BY e.name) c USING (name);
        extra := jsonb_build_object('borda', extra);
        SELECT enspiral.instant_runoff_rounds(
                   ARRAY(SELECT array_position(p.options, e.name)::bigint
                           FROM jsonb_array_elements_text(b) WITH ORDINALITY e(name, i)
                          ORDER BY e.i))
          INTO irv
          FROM enspiral.counted_ballots(p, t) b;
        extra := extra || jsonb_build_object(
            'winner', CASE WHEN irv IS NULL THEN 'null'::jsonb
                           ELSE to_jsonb(p.options[(irv ->> 'winner')::int]) END,
            'rounds', coalesce((
                SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                           'round', r -> 'round',
                           'counts', (SELECT jsonb_object_agg(p.options[x.k::int], x.v)
                                        FROM jsonb_each(r -> 'counts') x(k, v)),
                           'exhausted', r -> 'exhausted',
                           'eliminated', p.options[(r ->> 'eliminated')::int]))
                         ORDER BY (r ->> 'round')::int)
                  FROM jsonb_array_elements(irv -> 'rounds') r), '[]'));
    END IF;
    RETURN jsonb_build_object('voted', voted, 'totals', coalesce(totals, '{}')) || extra;
END
$$;
COMMENT ON FUNCTION enspiral.compute_tally(enspiral.proposals, timestamptz) IS
    'Internal: totals by option name and the number of counted ballots at time t (ranked: first preferences, Borda points, instant-runoff rounds)';
CREATE OR REPLACE FUNCTION enspiral.compute_outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
BEGIN
    RETURN enspiral.compute_outcome_at(p, p.reopen_count, st,
                                       CASE WHEN st = 'closed' THEN least(p.closes_at, now) ELSE now END);
END
$$;
COMMENT ON FUNCTION enspiral.compute_outcome(bigint) IS
    'Internal: computes the outcome of a proposal from its ballots now (closed: as of closes_at), ignoring hide_results';
CREATE OR REPLACE FUNCTION enspiral.outcome(proposal_id bigint) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
    res jsonb;
BEGIN
    PERFORM enspiral.require_results_visible(p, st);
    IF st = 'closed' THEN
        SELECT o.outcome INTO res FROM enspiral.outcomes o
         WHERE o.group_id = p.group_id AND o.proposal_id = p.proposal_id
           AND o.opening = p.reopen_count;
        IF res IS NULL AND pg_catalog.current_setting('transaction_read_only')::boolean THEN
            -- a read-only transaction cannot record it: what would be recorded
            RETURN enspiral.compute_outcome(p.proposal_id);
        END IF;
        RETURN coalesce(res, enspiral.record_outcome(p.proposal_id));
    END IF;
    RETURN enspiral.compute_outcome(p.proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.outcome(bigint) IS
    'The result: once closed, the outcome recorded at close (recorded now if no one has yet; computed without recording in a read-only transaction); before, the running tally unless results are hidden (NS106)';
CREATE OR REPLACE FUNCTION enspiral.verify_outcome(proposal_id bigint)
    RETURNS TABLE (opening integer, matches boolean, recorded jsonb, recomputed jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
    o record;
BEGIN
    -- a hidden proposal's outcomes only once its closing is committed
    PERFORM enspiral.require_results_visible(p, 'closed');
    FOR o IN SELECT x.opening, x.outcome, x.closed_at FROM enspiral.outcomes x
              WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id
              ORDER BY x.opening LOOP
        opening := o.opening;
        recorded := o.outcome;
        IF o.opening = p.reopen_count THEN
            recomputed := enspiral.compute_outcome(p.proposal_id);
        ELSIF o.closed_at IS NOT NULL THEN
            recomputed := enspiral.compute_outcome_at(p, o.opening, 'closed', o.closed_at);
        ELSE
            recomputed := NULL;     -- recorded by 0.1.0 without its close time
        END IF;
        matches := CASE WHEN recomputed IS NOT NULL THEN recorded = recomputed END;
        RETURN NEXT;
    END LOOP;
    IF st = 'closed' AND NOT EXISTS (SELECT 1 FROM enspiral.outcomes x
                                      WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id
                                        AND x.opening = p.reopen_count) THEN
        opening := p.reopen_count;
        recorded := NULL;
        recomputed := enspiral.compute_outcome(p.proposal_id);
        matches := false;
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.verify_outcome(bigint) IS
    'Recomputes every recorded outcome of a proposal (one row per opening) from its ballots and compares it with the recorded one; a closed opening with nothing recorded gives matches false; matches is NULL for an earlier opening recorded by 0.1.0 (no close time); no rows before the first close';
CREATE OR REPLACE FUNCTION enspiral.record_due_closings() RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid bigint;
    n integer := 0;
BEGIN
    FOR pid IN SELECT x.proposal_id FROM enspiral.proposals x
                WHERE x.state IN ('scheduled', 'open')
                  AND x.closes_at <= pg_catalog.statement_timestamp()
                ORDER BY x.closes_at, x.proposal_id
    LOOP
        IF enspiral.record_outcome(pid) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    -- rounds past closes_at are settled as close_round() would (a round
    -- closed meanwhile counts nothing: close_round() on it is a no-op)
    FOR pid IN SELECT r.round_id FROM enspiral.rounds r
                WHERE r.closed_at IS NULL AND r.closes_at <= pg_catalog.statement_timestamp()
                ORDER BY r.closes_at, r.round_id
    LOOP
        PERFORM enspiral.close_round(pid);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION enspiral.record_due_closings() IS
    'Marks proposals past their deadline closed and records their outcomes, and closes rounds past closes_at (close_round); returns how many proposals and rounds; for pg_cron (correctness of proposals never depends on it)';
CREATE FUNCTION enspiral.group_proposal(group_id bigint, proposal_id bigint)
    RETURNS enspiral.proposals
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
BEGIN
    SELECT * INTO p FROM enspiral.proposals x
     WHERE x.group_id = group_proposal.group_id AND x.proposal_id = group_proposal.proposal_id;
    IF NOT FOUND THEN
        PERFORM enspiral.require_group(group_id);
        RAISE EXCEPTION 'proposal % does not exist in group %', proposal_id, group_id
            USING ERRCODE = 'NS101';
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION enspiral.group_proposal(bigint, bigint) IS
    'Internal: the proposals row of a group and id, NS002 for an unknown group, NS101 for an unknown proposal';
CREATE FUNCTION enspiral.lock_group_proposal(group_id bigint, proposal_id bigint)
    RETURNS enspiral.proposals
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
BEGIN
    SELECT * INTO p FROM enspiral.proposals x
     WHERE x.group_id = lock_group_proposal.group_id AND x.proposal_id = lock_group_proposal.proposal_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN enspiral.group_proposal(group_id, proposal_id);  -- raises
    END IF;
    RETURN p;
END
$$;
COMMENT ON FUNCTION enspiral.lock_group_proposal(bigint, bigint) IS
    'Internal: group_proposal() with the row locked FOR NO KEY UPDATE until the transaction ends';
CREATE FUNCTION enspiral.extend_proposal(group_id bigint, proposal_id bigint, closes_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.lock_group_proposal(group_id, proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
BEGIN
    IF closes_at IS NULL THEN
        RAISE EXCEPTION 'closes_at must not be NULL'
            USING ERRCODE = 'null_value_not_allowed', COLUMN = 'closes_at';
    END IF;
    IF st NOT IN ('open', 'scheduled') THEN
        RAISE EXCEPTION 'proposal % is %: its deadline cannot move', proposal_id, st
            USING ERRCODE = 'NS010',
                  HINT = CASE WHEN st = 'closed' THEN 'Use enspiral.reopen_proposal() with a future closes_at.'
                              ELSE 'Open it with enspiral.open_proposal().' END;
    END IF;
    IF closes_at <= now THEN
        RAISE EXCEPTION 'the deadline of proposal % must be in the future', proposal_id
            USING ERRCODE = 'NS402', COLUMN = 'closes_at';
    END IF;
    IF st = 'scheduled' AND closes_at <= p.opens_at THEN
        RAISE EXCEPTION 'proposal % must close after it opens', proposal_id
            USING ERRCODE = 'NS403', COLUMN = 'closes_at';
    END IF;
    IF closes_at IS DISTINCT FROM p.closes_at THEN
        UPDATE enspiral.proposals x SET closes_at = extend_proposal.closes_at
         WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.extend_proposal(bigint, bigint, timestamptz) IS
    'Moves the deadline of an open or scheduled proposal, later or earlier but never into the past (NS402); votes already cast stay';
CREATE FUNCTION enspiral.update_proposal(group_id bigint, proposal_id bigint, changes jsonb)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.lock_group_proposal(group_id, proposal_id);
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at);
    k text;
    v jsonb;
BEGIN
    IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
        RAISE EXCEPTION 'proposal changes must be a JSON object'
            USING ERRCODE = 'NS409', COLUMN = 'changes';
    END IF;
    FOR k, v IN SELECT e.key, e.value FROM jsonb_each(changes) e ORDER BY e.key LOOP
        IF k NOT IN ('title', 'details', 'method', 'options', 'settings') THEN
            RAISE EXCEPTION 'unknown proposal change "%"', k
                USING ERRCODE = 'NS409', COLUMN = k,
                      HINT = 'Changes may set title, details, method, options and settings.';
        END IF;
        IF (jsonb_typeof(v) <> (CASE k WHEN 'options' THEN 'array' WHEN 'settings' THEN 'object' ELSE 'string' END)
            AND NOT (k IN ('details', 'options') AND v = 'null')) THEN
            RAISE EXCEPTION 'proposal change "%" has the wrong JSON type', k
                USING ERRCODE = 'NS409', COLUMN = k,
                      DETAIL = format('It must be %s.', CASE k WHEN 'options' THEN 'an array of option names or null'
                                                              WHEN 'settings' THEN 'an object'
                                                              WHEN 'details' THEN 'a string or null'
                                                              ELSE 'a string' END);
        END IF;
        IF k IN ('title', 'details') AND st IN ('closed', 'withdrawn') THEN
            RAISE EXCEPTION 'proposal % is %: its % cannot change', proposal_id, st, k
                USING ERRCODE = 'NS105', COLUMN = k,
                      DETAIL = 'Title and details can change until the proposal is closed or withdrawn.';
        END IF;
        IF k IN ('method', 'options', 'settings') AND st <> 'draft' THEN
            RAISE EXCEPTION 'proposal % is %: its % cannot change', proposal_id, st, k
                USING ERRCODE = 'NS105', COLUMN = k,
                      DETAIL = 'Method, options and settings can change only in draft.',
                      HINT = CASE WHEN st = 'scheduled' THEN 'Move it back to draft with enspiral.unschedule_proposal().'
                                  ELSE 'Withdraw it and propose it again.' END;
        END IF;
    END LOOP;
    IF changes ? 'title' AND btrim(changes ->> 'title') = '' THEN
        RAISE EXCEPTION 'proposal title must not be empty' USING ERRCODE = 'NS401', COLUMN = 'title';
    END IF;
    p.title := coalesce(changes ->> 'title', p.title);
    IF changes ? 'details' THEN
        p.details := changes ->> 'details';
    END IF;
    p.method := coalesce(changes ->> 'method', p.method);
    IF changes ? 'options' THEN
        p.options := CASE WHEN changes -> 'options' <> 'null'
                          THEN ARRAY(SELECT jsonb_array_elements_text(changes -> 'options')) END;
    END IF;
    IF changes ?| ARRAY['method', 'options', 'settings'] THEN
        -- settings given replace the old ones; otherwise the old ones are
        -- checked again against the new method and options
        p.settings := enspiral.normalize_proposal_settings(
            p.method, CASE WHEN p.method = 'consent' AND p.options = '{}' THEN NULL ELSE p.options END,
            coalesce(changes -> 'settings',
                     CASE WHEN changes ? 'method' THEN '{}'::jsonb ELSE p.settings END));
        p.options := CASE WHEN p.method = 'consent' AND p.options = '{}' THEN NULL ELSE p.options END;
    END IF;
    UPDATE enspiral.proposals x
       SET title = p.title, details = p.details, method = p.method, options = p.options,
           settings = p.settings
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
END
$$;
COMMENT ON FUNCTION enspiral.update_proposal(bigint, bigint, jsonb) IS
    'Edits a proposal: title and details until it is closed or withdrawn, method, options and settings (replaced and checked, defaults filled in) only in draft; NS409 for an unknown key or type, NS105 naming the key that may not change now';
CREATE FUNCTION enspiral.compute_outcome_at(p enspiral.proposals, opening integer,
                                            st enspiral.proposal_state, t timestamptz)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ref timestamptz := least(coalesce(p.opens_at, t), t);
    s jsonb := p.settings;
    tally jsonb := enspiral.compute_tally(p, t);
    electorate bigint := enspiral.electorate_size(p, ref, t);
    voted bigint := (tally ->> 'voted')::bigint;
    quorum_met boolean := voted * 100 >= (s ->> 'quorum_pct')::numeric * electorate;
    res jsonb;
    agree bigint;
    disagree bigint;
BEGIN
    res := jsonb_build_object('proposal_id', p.proposal_id, 'method', p.method,
                              'state', st::text, 'final', st = 'closed',
                              'opening', opening,
                              'electorate', electorate, 'quorum_pct', s -> 'quorum_pct',
                              'quorum_met', quorum_met) || tally;
    IF p.method = 'consent' THEN
        agree := (tally #>> '{totals,agree}')::bigint;
        disagree := (tally #>> '{totals,disagree}')::bigint;
        res := res || jsonb_build_object(
            'threshold_pct', s -> 'threshold_pct',
            'threshold_inclusive', s -> 'threshold_inclusive',
            'max_blocks', s -> 'max_blocks',
            'passed', (tally #>> '{totals,block}')::bigint <= (s ->> 'max_blocks')::bigint
                      AND quorum_met
                      AND agree + disagree > 0
                      AND CASE WHEN (s ->> 'threshold_inclusive')::boolean
                               THEN agree * 100 >= (s ->> 'threshold_pct')::numeric * (agree + disagree)
                               ELSE agree * 100 > (s ->> 'threshold_pct')::numeric * (agree + disagree) END);
    ELSIF p.method <> 'ranked' THEN
        res := res || enspiral.winners_of(tally -> 'totals', voted);
    END IF;
    RETURN res;
END
$$;
COMMENT ON FUNCTION enspiral.compute_outcome_at(enspiral.proposals, integer, enspiral.proposal_state, timestamptz) IS
    'Internal: the outcome of an opening of a proposal in state st, from the ballots in force and the electorate at time t';

-- co-budgeting
CREATE OR REPLACE FUNCTION enspiral.normalize_round_settings(settings jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    cap jsonb;
    under jsonb;
    cur jsonb;
BEGIN
    IF jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION 'round settings must be a JSON object' USING ERRCODE = 'NS006', COLUMN = 'settings';
    END IF;
    FOR k IN SELECT jsonb_object_keys(settings) LOOP
        IF k NOT IN ('max_per_member_per_bucket', 'currency', 'underfunded') THEN
            RAISE EXCEPTION 'unknown round setting "%"', k
                USING ERRCODE = 'NS006', COLUMN = k,
                      HINT = 'Known settings are: max_per_member_per_bucket, currency, underfunded.';
        END IF;
    END LOOP;
    cap := COALESCE(settings -> 'max_per_member_per_bucket', 'null');
    IF cap <> 'null' AND (jsonb_typeof(cap) <> 'number'
                          OR cap::text::numeric <> trunc(cap::text::numeric)
                          OR cap::text::numeric <= 0
                          OR cap::text::numeric > 9223372036854775807) THEN
        RAISE EXCEPTION 'round setting "max_per_member_per_bucket" must be a positive whole amount (or null)'
            USING ERRCODE = 'NS006', COLUMN = 'max_per_member_per_bucket';
    END IF;
    IF cap <> 'null' THEN
        -- stored as an integer (100.0 becomes 100), so it reads back as bigint
        cap := to_jsonb(cap::text::numeric::bigint);
    END IF;
    cur := COALESCE(settings -> 'currency', 'null');
    IF cur <> 'null' AND jsonb_typeof(cur) <> 'string' THEN
        RAISE EXCEPTION 'round setting "currency" must be a text label'
            USING ERRCODE = 'NS006', COLUMN = 'currency';
    END IF;
    under := COALESCE(settings -> 'underfunded', '"refund"');
    IF under NOT IN ('"refund"', '"keep"') THEN
        RAISE EXCEPTION 'round setting "underfunded" must be "refund" or "keep"'
            USING ERRCODE = 'NS006', COLUMN = 'underfunded';
    END IF;
    RETURN jsonb_build_object('max_per_member_per_bucket', cap, 'currency', cur,
                              'underfunded', under);
END
$$;
COMMENT ON FUNCTION enspiral.normalize_round_settings(jsonb) IS
    'Validates round settings (max_per_member_per_bucket, currency, underfunded = refund|keep) and returns them with defaults filled in';
CREATE OR REPLACE FUNCTION enspiral.create_round(group_id bigint, name text, pool bigint,
                                      opens_at timestamptz, closes_at timestamptz,
                                      settings jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid bigint;
    src bigint;
    pool_acct bigint;
BEGIN
    IF group_id IS NULL OR pool IS NULL OR opens_at IS NULL OR closes_at IS NULL
       OR settings IS NULL THEN
        RAISE EXCEPTION 'group_id, pool, opens_at, closes_at and settings must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'round name must not be empty' USING ERRCODE = 'NS401', COLUMN = 'name';
    END IF;
    IF pool < 0 THEN
        RAISE EXCEPTION 'round pool must not be negative: %', pool
            USING ERRCODE = 'NS407', COLUMN = 'pool';
    END IF;
    IF opens_at >= closes_at THEN
        RAISE EXCEPTION 'round must open before it closes'
            USING ERRCODE = 'NS403', COLUMN = 'closes_at';
    END IF;
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = create_round.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    INSERT INTO enspiral.rounds (group_id, name, pool, opens_at, closes_at, settings)
    VALUES (create_round.group_id, create_round.name, create_round.pool,
            create_round.opens_at, create_round.closes_at,
            enspiral.normalize_round_settings(create_round.settings))
    RETURNING round_id INTO rid;
    INSERT INTO enspiral.accounts (group_id, round_id, kind)
    VALUES (create_round.group_id, rid, 'source') RETURNING account_id INTO src;
    INSERT INTO enspiral.accounts (group_id, round_id, kind)
    VALUES (create_round.group_id, rid, 'pool') RETURNING account_id INTO pool_acct;
    IF pool > 0 THEN
        INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
        VALUES (create_round.group_id, rid, 'fund', src, pool_acct, create_round.pool);
    END IF;
    RETURN rid;
END
$$;
COMMENT ON FUNCTION enspiral.create_round(bigint, text, bigint, timestamptz, timestamptz, jsonb) IS
    'Creates a round whose pool is funded from the round''s source account; contributions are accepted in [opens_at, closes_at) until close_round';
CREATE OR REPLACE FUNCTION enspiral.create_bucket(round_id bigint, author_id bigint, title text,
                                       min_goal bigint, max_goal bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds%ROWTYPE;
    bid bigint;
BEGIN
    IF round_id IS NULL OR author_id IS NULL OR min_goal IS NULL OR max_goal IS NULL THEN
        RAISE EXCEPTION 'round_id, author_id, min_goal and max_goal must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF title IS NULL OR btrim(title) = '' THEN
        RAISE EXCEPTION 'bucket title must not be empty' USING ERRCODE = 'NS401', COLUMN = 'title';
    END IF;
    IF min_goal < 0 OR max_goal <= 0 OR min_goal > max_goal THEN
        RAISE EXCEPTION 'bucket goals must satisfy 0 <= min_goal <= max_goal and max_goal > 0: min_goal %, max_goal %',
            min_goal, max_goal
            USING ERRCODE = 'NS404', COLUMN = CASE WHEN max_goal <= 0 THEN 'max_goal' ELSE 'min_goal' END;
    END IF;
    -- no round lock: a bucket created while the round closes stays an idea
    -- that can no longer be opened
    SELECT * INTO r FROM enspiral.rounds x WHERE x.round_id = create_bucket.round_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'round % does not exist', round_id USING ERRCODE = 'NS201';
    END IF;
    IF r.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'round % is closed; no new buckets', round_id USING ERRCODE = 'NS203';
    END IF;
    IF NOT enspiral.is_member(r.group_id, author_id) THEN
        RAISE EXCEPTION 'member % is not a current member of group %', author_id, r.group_id
            USING ERRCODE = 'NS004';
    END IF;
    INSERT INTO enspiral.buckets (group_id, round_id, author_id, title, min_goal, max_goal)
    VALUES (r.group_id, r.round_id, create_bucket.author_id, create_bucket.title,
            create_bucket.min_goal, create_bucket.max_goal)
    RETURNING bucket_id INTO bid;
    INSERT INTO enspiral.accounts (group_id, round_id, kind, owner_id)
    VALUES (r.group_id, r.round_id, 'bucket', bid);
    RETURN bid;
END
$$;
COMMENT ON FUNCTION enspiral.create_bucket(bigint, bigint, text, bigint, bigint) IS
    'Proposes a bucket (state idea) in an unclosed round, with its ledger account; the author must be a current member';
CREATE OR REPLACE FUNCTION enspiral.balance(round_id bigint, member_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint;
    b bigint;
BEGIN
    SELECT r.group_id INTO gid FROM enspiral.rounds r WHERE r.round_id = balance.round_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'round % does not exist', round_id USING ERRCODE = 'NS201';
    END IF;
    SELECT a.balance INTO b FROM enspiral.accounts a
     WHERE a.group_id = gid AND a.round_id = balance.round_id
       AND a.kind = 'member' AND a.owner_id = balance.member_id;
    IF NOT FOUND THEN
        PERFORM enspiral.require_member(gid, member_id);
    END IF;
    RETURN COALESCE(b, 0);
END
$$;
COMMENT ON FUNCTION enspiral.balance(bigint, bigint) IS
    'What the member can still give in the round (0 when nothing was allocated to them; NS003 for a member unknown in the round''s group)';
CREATE OR REPLACE FUNCTION enspiral.verify_ledger(group_id bigint) RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM enspiral.require_group($1);     -- NS002 for an unknown group
    RETURN QUERY
    WITH g AS (SELECT $1 AS gid),
    moves AS (
        SELECT t.from_account AS account_id, -t.amount::numeric AS delta
          FROM enspiral.transfers t, g WHERE t.group_id = g.gid
        UNION ALL
        SELECT t.to_account, t.amount::numeric
          FROM enspiral.transfers t, g WHERE t.group_id = g.gid),
    sums AS (SELECT account_id, sum(delta) AS s FROM moves GROUP BY account_id),
    acc AS (
        SELECT a.*, COALESCE(s.s, 0) AS ledger_sum
          FROM enspiral.accounts a CROSS JOIN g
          LEFT JOIN sums s USING (account_id)
         WHERE a.group_id = g.gid),
    contrib AS (
        SELECT b.bucket_id, b.round_id, b.state::text AS state, b.max_goal, ba.balance,
               fa.owner_id AS member_id,
               sum(t.amount) FILTER (WHERE t.kind = 'contribute') AS given,
               sum(t.amount) FILTER (WHERE t.kind = 'contribute'
                   AND NOT EXISTS (SELECT 1 FROM enspiral.transfers x
                                    WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id)) AS kept
          FROM g
          JOIN enspiral.buckets b ON b.group_id = g.gid
          JOIN enspiral.accounts ba ON ba.group_id = b.group_id AND ba.round_id = b.round_id
           AND ba.kind = 'bucket' AND ba.owner_id = b.bucket_id
          LEFT JOIN enspiral.transfers t ON t.group_id = b.group_id AND t.to_account = ba.account_id
          LEFT JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account
         GROUP BY 1, 2, 3, 4, 5, 6)
    -- every balance equals the sum of its entries
    SELECT format('account %s (%s%s) of round %s: balance %s but its transfers sum to %s',
                  account_id, kind, COALESCE(' ' || owner_id, ''), round_id, balance, ledger_sum)
      FROM acc WHERE balance <> ledger_sum
    UNION ALL
    -- no account but the source is negative, the source never positive
    SELECT format('account %s (%s) of round %s has balance %s', account_id, kind, round_id, balance)
      FROM acc WHERE (kind <> 'source' AND balance < 0) OR (kind = 'source' AND balance > 0)
    UNION ALL
    -- conservation: the accounts of a round sum to zero, and what came from
    -- outside is exactly the pool plus the matching pool
    SELECT format('round %s: its accounts sum to %s instead of 0', round_id, sum(balance))
      FROM acc GROUP BY round_id HAVING sum(balance) <> 0
    UNION ALL
    SELECT format('round %s: %s entered from outside but pool + matching pool is %s',
                  r.round_id, -COALESCE(a.balance, 0)::numeric,
                  r.pool::numeric + COALESCE(r.matching_pool, 0))
      FROM enspiral.rounds r CROSS JOIN g
      LEFT JOIN acc a ON a.round_id = r.round_id AND a.kind = 'source'
     WHERE r.group_id = g.gid
       AND -COALESCE(a.balance, 0)::numeric <> r.pool::numeric + COALESCE(r.matching_pool, 0)
    UNION ALL
    -- every transfer stays within one round of the group
    SELECT format('transfer %s of round %s touches account %s, which is not an account of that round',
                  t.transfer_id, t.round_id, x.account_id)
      FROM g JOIN enspiral.transfers t ON t.group_id = g.gid
      CROSS JOIN LATERAL (VALUES (t.from_account), (t.to_account)) x(account_id)
     WHERE NOT EXISTS (SELECT 1 FROM enspiral.accounts a
                        WHERE a.group_id = t.group_id AND a.account_id = x.account_id
                          AND a.round_id = t.round_id)
    UNION ALL
    -- every transfer moves between the account kinds of its kind
    SELECT format('transfer %s of kind %s moves from a %s account to a %s account',
                  t.transfer_id, t.kind, fa.kind, ta.kind)
      FROM g JOIN enspiral.transfers t ON t.group_id = g.gid
      JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account
      JOIN enspiral.accounts ta ON ta.group_id = t.group_id AND ta.account_id = t.to_account
     WHERE (t.kind::text, fa.kind::text, ta.kind::text) NOT IN (
               ('fund', 'source', 'pool'), ('allocate', 'pool', 'member'),
               ('contribute', 'member', 'bucket'), ('refund', 'bucket', 'member'),
               ('refund', 'bucket', 'matching'), ('match_fund', 'source', 'matching'),
               ('match', 'matching', 'bucket'))
    UNION ALL
    -- a refund mirrors what it reverses
    SELECT format('refund %s does not mirror transfer %s', r.transfer_id, r.reverses)
      FROM g JOIN enspiral.transfers r ON r.group_id = g.gid AND r.reverses IS NOT NULL
      LEFT JOIN enspiral.transfers o ON o.group_id = r.group_id AND o.transfer_id = r.reverses
     WHERE o.transfer_id IS NULL OR o.from_account <> r.to_account
        OR o.to_account <> r.from_account OR o.amount <> r.amount OR o.round_id <> r.round_id
    UNION ALL
    -- contributions never exceed max_goal nor the per-member cap
    SELECT format('bucket %s holds %s in contributions, above its max_goal %s',
                  bucket_id, sum(kept), max(max_goal))
      FROM contrib GROUP BY bucket_id HAVING sum(kept) > max(max_goal)
    UNION ALL
    SELECT format('member %s gave %s to bucket %s, above max_per_member_per_bucket %s',
                  c.member_id, c.kept, c.bucket_id, r.max_per_member_per_bucket)
      FROM contrib c JOIN enspiral.rounds r ON r.round_id = c.round_id
     WHERE c.kept > r.max_per_member_per_bucket
    UNION ALL
    -- a cancelled bucket holds nothing; a funded bucket reached its goal
    -- (or was decided at close)
    SELECT format('bucket %s is cancelled but holds %s', bucket_id, max(balance))
      FROM contrib WHERE state = 'cancelled' GROUP BY bucket_id HAVING max(balance) <> 0
    UNION ALL
    SELECT format('bucket %s is %s in an unclosed round below its max_goal (%s < %s)',
                  c.bucket_id, c.state, sum(c.kept), max(c.max_goal))
      FROM contrib c JOIN enspiral.rounds r ON r.round_id = c.round_id
     WHERE c.state IN ('funded', 'completed') AND r.closed_at IS NULL
     GROUP BY c.bucket_id, c.state HAVING COALESCE(sum(c.kept), 0) < max(c.max_goal);
END
$$;
COMMENT ON FUNCTION enspiral.verify_ledger(bigint) IS
    'Recomputes every balance and invariant of a group''s co-budgeting ledger from the transfers; one row per problem, no rows when sound; NS002 for an unknown group';
CREATE OR REPLACE FUNCTION enspiral.catalyst_timeline(group_id bigint, from_date date, to_date date,
                                           width integer DEFAULT 72)
    RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ndays integer;
    step integer;
    ncols integer;
    min_cat integer;
    line text;
    gapline text;
    m record;
BEGIN
    IF group_id IS NULL OR from_date IS NULL OR to_date IS NULL OR width IS NULL THEN
        RAISE EXCEPTION 'arguments must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT isfinite(from_date) OR NOT isfinite(to_date) THEN
        RAISE EXCEPTION 'from_date and to_date must be finite' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    ndays := to_date - from_date;
    IF width < 1 OR width > 1000 THEN
        RAISE EXCEPTION 'width must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT (g.settings ->> 'min_catalysts')::integer INTO min_cat
      FROM enspiral.groups g WHERE g.group_id = catalyst_timeline.group_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
    IF ndays IS NULL OR ndays <= 0 THEN
        RAISE EXCEPTION 'from_date must be before to_date' USING ERRCODE = 'NS403', COLUMN = 'to_date';
    END IF;
    step := (ndays + width - 1) / width;
    ncols := (ndays + step - 1) / step;
    RETURN NEXT format('%-12s %s .. %s, one column = %s day%s', 'timeline', from_date,
                       to_date - 1, step, CASE WHEN step = 1 THEN '' ELSE 's' END);
    -- month ruler: the first letter of a month in the column where it starts
    SELECT string_agg(COALESCE((SELECT substr(to_char(d, 'FMMonth'), 1, 1)
                                  FROM generate_series(from_date + c * step,
                                                       LEAST(from_date + (c + 1) * step, to_date) - 1,
                                                       interval '1 day') d
                                 WHERE extract(day FROM d) = 1 LIMIT 1), ' '), '' ORDER BY c)
      INTO line FROM generate_series(0, ncols - 1) c;
    RETURN NEXT format('%-12s %s', 'month', line);
    -- one line per member: # serves the whole column, + part of it
    FOR m IN SELECT t.member_id FROM enspiral.catalyst_terms t
              WHERE t.group_id = catalyst_timeline.group_id
                AND t.period && daterange(from_date, to_date)
              GROUP BY t.member_id ORDER BY min(lower(t.period)), t.member_id LOOP
        SELECT string_agg(CASE WHEN covered = cdays THEN '#' WHEN covered > 0 THEN '+' ELSE '.' END,
                          '' ORDER BY c)
          INTO line
          FROM (SELECT c, LEAST(from_date + (c + 1) * step, to_date) - (from_date + c * step) AS cdays,
                       COALESCE((SELECT sum(upper(r) - lower(r))
                                   FROM (SELECT t.period * daterange(from_date + c * step,
                                                    LEAST(from_date + (c + 1) * step, to_date)) AS r
                                           FROM enspiral.catalyst_terms t
                                          WHERE t.group_id = catalyst_timeline.group_id
                                            AND t.member_id = m.member_id) x
                                  WHERE NOT isempty(r)), 0) AS covered
                  FROM generate_series(0, ncols - 1) c) cols;
        RETURN NEXT format('%-12s %s', 'member ' || m.member_id, line);
    END LOOP;
    -- the fewest catalysts on any day of each column, and where that is a gap
    WITH cov AS MATERIALIZED (
        SELECT v.period, v.catalysts
          FROM enspiral.catalyst_coverage(catalyst_timeline.group_id, from_date, to_date) v
    ), cols AS (
        SELECT c, (SELECT min(cov.catalysts) FROM cov
                    WHERE cov.period && daterange(from_date + c * step,
                                                  LEAST(from_date + (c + 1) * step, to_date))) AS n
          FROM generate_series(0, ncols - 1) c
    )
    SELECT string_agg(CASE WHEN n > 9 THEN '*' ELSE n::text END, '' ORDER BY c),
           string_agg(CASE WHEN n < min_cat THEN '!' ELSE ' ' END, '' ORDER BY c)
      INTO line, gapline
      FROM cols;
    RETURN NEXT format('%-12s %s', 'catalysts', line);
    RETURN NEXT rtrim(format('%-12s %s', 'gaps (<' || min_cat || ')', gapline));
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_timeline(bigint, date, date, integer) IS
    'Text drawing of catalyst_coverage over [from_date, to_date): a line per member (# serving the whole column, + part of it), the fewest catalysts per column and the gaps';

-- the read API (install part 60_read_api.sql)
CREATE INDEX proposals_group_closing ON enspiral.proposals
    (group_id, closes_at DESC NULLS LAST, proposal_id DESC);
COMMENT ON INDEX enspiral.proposals_group_closing IS
    'The proposals of a group in the order enspiral.proposals() lists them: open proposals (future deadlines) first';

CREATE INDEX rounds_due ON enspiral.rounds (closes_at) WHERE closed_at IS NULL;
COMMENT ON INDEX enspiral.rounds_due IS
    'Rounds not closed yet by deadline: what record_due_closings() scans';

------------------------------------------------------------------------------
-- Internal helpers
------------------------------------------------------------------------------

-- the members who may vote on a proposal evaluated at t (opening time ref):
-- the same rule as electorate_size(), member by member
CREATE FUNCTION enspiral.electorate_members(p enspiral.proposals, ref timestamptz, t timestamptz)
    RETURNS SETOF bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.member_id FROM enspiral.memberships m
     WHERE m.group_id = ($1).group_id AND m.joined_at <= $2
       AND (m.left_at IS NULL OR m.left_at > $2)
       AND m.member_id NOT IN (SELECT d FROM enspiral.departed_members(($1).group_id, $3) d)
    UNION
    SELECT a.member_id FROM enspiral.electorate_additions a
     WHERE a.group_id = ($1).group_id AND a.proposal_id = ($1).proposal_id
       AND NOT EXISTS (SELECT 1 FROM enspiral.memberships m
                        WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                          AND m.joined_at <= $2 AND (m.left_at IS NULL OR m.left_at > $2))
       AND EXISTS (SELECT 1 FROM enspiral.memberships m
                    WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                      AND m.joined_at <= $3 AND (m.left_at IS NULL OR m.left_at > $3))
$$;
COMMENT ON FUNCTION enspiral.electorate_members(enspiral.proposals, timestamptz, timestamptz) IS
    'Internal: the member ids electorate_size() counts: members at the opening time ref still members at t, plus explicit additions who are members at t';

-- the time a proposal is evaluated at now: its close once closed, else now
CREATE FUNCTION enspiral.evaluation_time(p enspiral.proposals, st enspiral.proposal_state, now timestamptz)
    RETURNS timestamptz
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN $2 = 'closed' THEN least(($1).closes_at, $3) ELSE $3 END
$$;
COMMENT ON FUNCTION enspiral.evaluation_time(enspiral.proposals, enspiral.proposal_state, timestamptz) IS
    'Internal: the time ballots and electorate of a proposal in state st are evaluated at: its close once closed, otherwise now';

CREATE FUNCTION enspiral.effective_round_state(opens_at timestamptz, closes_at timestamptz,
                                               closed_at timestamptz, at timestamptz DEFAULT NULL)
    RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN $3 IS NOT NULL OR coalesce($4, pg_catalog.now()) >= $2 THEN 'closed'
                WHEN coalesce($4, pg_catalog.now()) < $1 THEN 'scheduled'
                ELSE 'open' END
$$;
COMMENT ON FUNCTION enspiral.effective_round_state(timestamptz, timestamptz, timestamptz, timestamptz) IS
    'The state of a round at a time (default: the transaction start): scheduled before opens_at, open in [opens_at, closes_at), closed from closes_at or once close_round() ran';

-- the round of a group; NS002 / NS201 when unknown
CREATE FUNCTION enspiral.group_round(group_id bigint, round_id bigint) RETURNS enspiral.rounds
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds;
BEGIN
    SELECT * INTO r FROM enspiral.rounds x
     WHERE x.group_id = group_round.group_id AND x.round_id = group_round.round_id;
    IF NOT FOUND THEN
        PERFORM enspiral.require_group(group_id);
        RAISE EXCEPTION 'round % does not exist in group %', round_id, group_id
            USING ERRCODE = 'NS201';
    END IF;
    RETURN r;
END
$$;
COMMENT ON FUNCTION enspiral.group_round(bigint, bigint) IS
    'Internal: the rounds row of a group and id, NS002 for an unknown group, NS201 for an unknown round';

------------------------------------------------------------------------------
-- Members
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.members(group_id bigint, at timestamptz DEFAULT NULL)
    RETURNS TABLE (member_id bigint, member_key text, joined_at timestamptz, left_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_group(members.group_id);
    RETURN QUERY
        SELECT m.member_id, m.member_key, ms.joined_at, ms.left_at
          FROM enspiral.memberships ms
          JOIN enspiral.members m ON m.group_id = ms.group_id AND m.member_id = ms.member_id
         WHERE ms.group_id = members.group_id
           AND CASE WHEN members.at IS NULL THEN ms.left_at IS NULL
                    ELSE ms.joined_at <= members.at AND (ms.left_at IS NULL OR ms.left_at > members.at) END
         ORDER BY m.member_id;
END
$$;
COMMENT ON FUNCTION enspiral.members(bigint, timestamptz) IS
    'The members of a group now (at NULL) or at a time, with the membership period that covers it (left_at NULL while it lasts); NS002 for an unknown group';

------------------------------------------------------------------------------
-- Proposals, ballots, stances, voters
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.proposals(group_id bigint, only_state text DEFAULT NULL,
                                   max_rows integer DEFAULT NULL)
    RETURNS TABLE (proposal_id bigint, author_id bigint, title text, details text, method text,
                   options text[], settings jsonb, state text, opens_at timestamptz,
                   closes_at timestamptz, created_at timestamptz, voted bigint, electorate bigint,
                   outcome jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now timestamptz := pg_catalog.statement_timestamp();
BEGIN
    PERFORM enspiral.require_group(proposals.group_id);
    IF only_state IS NOT NULL
       AND only_state NOT IN ('draft', 'scheduled', 'open', 'closed', 'withdrawn') THEN
        RAISE EXCEPTION 'unknown proposal state "%"', only_state
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'only_state',
                  HINT = 'States are draft, scheduled, open, closed and withdrawn.';
    END IF;
    IF max_rows < 0 THEN
        RAISE EXCEPTION 'max_rows must not be negative'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'max_rows';
    END IF;
    RETURN QUERY
        WITH page AS (
            SELECT x AS p, enspiral.effective_proposal_state(x.state, x.opens_at, x.closes_at, now) AS st
              FROM enspiral.proposals x
             WHERE x.group_id = proposals.group_id
               AND (only_state IS NULL
                    OR enspiral.effective_proposal_state(x.state, x.opens_at, x.closes_at, now)::text = only_state)
             ORDER BY x.closes_at DESC NULLS LAST, x.proposal_id DESC
             LIMIT max_rows)
        -- voted and electorate follow counted_ballots() and electorate_size()
        -- (written out: calls of those SQL functions are planned per row);
        -- test/sql/app_read.sql checks that they agree on every state
        SELECT (g.p).proposal_id, (g.p).author_id, (g.p).title, (g.p).details, (g.p).method,
               (g.p).options, (g.p).settings, g.st::text, (g.p).opens_at, (g.p).closes_at,
               (g.p).created_at,
               CASE WHEN ((g.p).settings ->> 'anonymous')::boolean THEN
                    (SELECT count(*) FROM enspiral.anonymous_ballots b
                      WHERE b.group_id = (g.p).group_id AND b.proposal_id = (g.p).proposal_id)
               ELSE (SELECT count(*) FROM enspiral.votes v
                      WHERE v.group_id = (g.p).group_id AND v.proposal_id = (g.p).proposal_id
                        AND (v.superseded_at IS NULL OR v.superseded_at > e.t) AND v.cast_at <= e.t
                        AND v.member_id <> ALL (e.departed)) END,
               (SELECT count(*) FROM enspiral.memberships m
                 WHERE m.group_id = (g.p).group_id AND m.joined_at <= e.ref
                   AND (m.left_at IS NULL OR m.left_at > e.ref)
                   AND m.member_id <> ALL (e.departed))
               + (SELECT count(*) FROM enspiral.electorate_additions a
                   WHERE a.group_id = (g.p).group_id AND a.proposal_id = (g.p).proposal_id
                     AND NOT EXISTS (SELECT 1 FROM enspiral.memberships m
                                      WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                                        AND m.joined_at <= e.ref AND (m.left_at IS NULL OR m.left_at > e.ref))
                     AND EXISTS (SELECT 1 FROM enspiral.memberships m
                                  WHERE m.group_id = a.group_id AND m.member_id = a.member_id
                                    AND m.joined_at <= e.t AND (m.left_at IS NULL OR m.left_at > e.t))),
               CASE WHEN g.st = 'closed'
                         AND NOT (((g.p).settings ->> 'hide_results')::boolean
                                  AND enspiral.proposal_written_here((g.p).group_id, (g.p).proposal_id)) THEN
                    coalesce((SELECT o.outcome FROM enspiral.outcomes o
                               WHERE o.group_id = (g.p).group_id AND o.proposal_id = (g.p).proposal_id
                                 AND o.opening = (g.p).reopen_count),
                             enspiral.compute_outcome((g.p).proposal_id)) END
          FROM page g
         CROSS JOIN LATERAL (SELECT CASE WHEN g.st = 'closed' THEN least((g.p).closes_at, now) ELSE now END AS t) e0
         CROSS JOIN LATERAL (
             -- departed_members(group, t): left at or before t, not members at t
             SELECT e0.t, least(coalesce((g.p).opens_at, e0.t), e0.t) AS ref,
                    ARRAY(SELECT d.member_id FROM enspiral.memberships d
                           WHERE d.group_id = (g.p).group_id AND d.left_at IS NOT NULL AND d.left_at <= e0.t
                             AND NOT EXISTS (SELECT 1 FROM enspiral.memberships c
                                              WHERE c.group_id = d.group_id AND c.member_id = d.member_id
                                                AND c.joined_at <= e0.t
                                                AND (c.left_at IS NULL OR c.left_at > e0.t))) AS departed) e
         ORDER BY (g.p).closes_at DESC NULLS LAST, (g.p).proposal_id DESC;
END
$$;
COMMENT ON FUNCTION enspiral.proposals(bigint, text, integer) IS
    'The proposals of a group, latest deadline first (open proposals before closed ones, drafts last), optionally only those in one effective state and at most max_rows: effective state, counted ballots (voted), electorate and, once closed, the outcome (NULL before, and for hidden results until the closing commits)';

CREATE FUNCTION enspiral.ballot(group_id bigint, proposal_id bigint, member_id bigint)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.group_proposal(group_id, proposal_id);
    v enspiral.votes;
BEGIN
    PERFORM enspiral.require_member(ballot.group_id, ballot.member_id);
    IF (p.settings ->> 'anonymous')::boolean THEN
        -- participation only: never the ballot, never a time
        PERFORM 1 FROM enspiral.participations x
         WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id
           AND x.member_id = ballot.member_id;
        RETURN CASE WHEN FOUND THEN '{"voted": true, "anonymous": true}'::jsonb END;
    END IF;
    SELECT * INTO v FROM enspiral.votes x
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id
       AND x.member_id = ballot.member_id AND x.history_key = 0;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF (p.settings ->> 'hide_results')::boolean
       AND (enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) <> 'closed'
            OR enspiral.proposal_written_here(p.group_id, p.proposal_id)) THEN
        RETURN jsonb_build_object('voted', true, 'hidden', true, 'cast_at', v.cast_at);
    END IF;
    RETURN jsonb_build_object('voted', true, 'ballot', v.ballot, 'reason', v.reason,
                              'cast_at', v.cast_at);
END
$$;
COMMENT ON FUNCTION enspiral.ballot(bigint, bigint, bigint) IS
    'A member''s vote in force on a proposal ({"voted", "ballot", "reason", "cast_at"}) or NULL; anonymous proposals: only {"voted": true, "anonymous": true}; hidden results before the close: {"voted", "hidden", "cast_at"} without ballot and reason';

CREATE FUNCTION enspiral.stances(group_id bigint, proposal_id bigint)
    RETURNS TABLE (member_id bigint, ballot jsonb, reason text, cast_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.group_proposal(group_id, proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
    t timestamptz := enspiral.evaluation_time(p, st, now);
BEGIN
    PERFORM enspiral.require_results_visible(p, st);    -- NS106 while hidden
    IF (p.settings ->> 'anonymous')::boolean THEN
        -- no voter, no time, ordered by content only
        RETURN QUERY
            SELECT NULL::bigint, b.ballot, b.reason, NULL::timestamptz
              FROM enspiral.anonymous_ballots b
             WHERE b.group_id = p.group_id AND b.proposal_id = p.proposal_id
             ORDER BY b.ballot::text, b.reason NULLS FIRST;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT v.member_id, v.ballot, v.reason, v.cast_at
          FROM enspiral.votes v
         WHERE v.group_id = p.group_id AND v.proposal_id = p.proposal_id
           AND (v.superseded_at IS NULL OR v.superseded_at > t) AND v.cast_at <= t
           AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(p.group_id, t) d)
         ORDER BY v.member_id;
END
$$;
COMMENT ON FUNCTION enspiral.stances(bigint, bigint) IS
    'The counted votes of a proposal (member, ballot, reason, time), once results may be shown (NS106 before the close with hide_results); anonymous proposals: ballots and reasons only, ordered by their content';

CREATE FUNCTION enspiral.voters(group_id bigint, proposal_id bigint)
    RETURNS TABLE (member_id bigint, voted boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.group_proposal(group_id, proposal_id);
    now timestamptz := pg_catalog.statement_timestamp();
    st enspiral.proposal_state := enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at, now);
    t timestamptz := enspiral.evaluation_time(p, st, now);
    anon boolean := (p.settings ->> 'anonymous')::boolean;
BEGIN
    RETURN QUERY
        SELECT e.m,
               CASE WHEN anon THEN EXISTS (SELECT 1 FROM enspiral.participations x
                                            WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id
                                              AND x.member_id = e.m)
                    ELSE EXISTS (SELECT 1 FROM enspiral.votes v
                                  WHERE v.group_id = p.group_id AND v.proposal_id = p.proposal_id
                                    AND v.member_id = e.m AND v.cast_at <= t
                                    AND (v.superseded_at IS NULL OR v.superseded_at > t)) END
          FROM enspiral.electorate_members(p, least(coalesce(p.opens_at, t), t), t) e(m)
         ORDER BY e.m;
END
$$;
COMMENT ON FUNCTION enspiral.voters(bigint, bigint) IS
    'The electorate of a proposal (before it opens: the current members) and whether each has voted; participation only, never a ballot';

------------------------------------------------------------------------------
-- Rounds, buckets, contributions, balances
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.round_state(group_id bigint, round_id bigint) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds := enspiral.group_round(group_id, round_id);
BEGIN
    RETURN enspiral.effective_round_state(r.opens_at, r.closes_at, r.closed_at);
END
$$;
COMMENT ON FUNCTION enspiral.round_state(bigint, bigint) IS
    'The effective state of a round now: scheduled, open or closed (closes_at passed, whether or not close_round() ran)';

CREATE FUNCTION enspiral.rounds(group_id bigint)
    RETURNS TABLE (round_id bigint, name text, state text, pool bigint, opens_at timestamptz,
                   closes_at timestamptz, settings jsonb, closed_at timestamptz,
                   matched_at timestamptz, matching_pool bigint, created_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_group(rounds.group_id);
    RETURN QUERY
        SELECT r.round_id, r.name, enspiral.effective_round_state(r.opens_at, r.closes_at, r.closed_at),
               r.pool, r.opens_at, r.closes_at, r.settings, r.closed_at, r.matched_at,
               r.matching_pool, r.created_at
          FROM enspiral.rounds r
         WHERE r.group_id = rounds.group_id
         ORDER BY r.round_id;
END
$$;
COMMENT ON FUNCTION enspiral.rounds(bigint) IS
    'The rounds of a group with their effective state (closed_at: when they were settled by close_round)';

CREATE FUNCTION enspiral.buckets(group_id bigint, round_id bigint)
    RETURNS TABLE (bucket_id bigint, author_id bigint, title text, state text, min_goal bigint,
                   max_goal bigint, total bigint, funders bigint, created_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds := enspiral.group_round(group_id, round_id);
BEGIN
    RETURN QUERY
        SELECT b.bucket_id, b.author_id, b.title, b.state::text, b.min_goal, b.max_goal, a.balance,
               (SELECT count(DISTINCT t.from_account) FROM enspiral.transfers t
                 WHERE t.group_id = a.group_id AND t.to_account = a.account_id AND t.kind = 'contribute'
                   AND NOT EXISTS (SELECT 1 FROM enspiral.transfers x
                                    WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id)),
               b.created_at
          FROM enspiral.buckets b
          JOIN enspiral.accounts a ON a.group_id = b.group_id AND a.round_id = b.round_id
           AND a.kind = 'bucket' AND a.owner_id = b.bucket_id
         WHERE b.group_id = r.group_id AND b.round_id = r.round_id
         ORDER BY b.bucket_id;
END
$$;
COMMENT ON FUNCTION enspiral.buckets(bigint, bigint) IS
    'The buckets of a round: state, goals, what each holds now (total) and how many members fund it (funders: contributions not refunded)';

CREATE FUNCTION enspiral.contributions(group_id bigint, round_id bigint)
    RETURNS TABLE (transfer_id bigint, bucket_id bigint, member_id bigint, amount bigint,
                   at timestamptz, refunded boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds := enspiral.group_round(group_id, round_id);
BEGIN
    RETURN QUERY
        SELECT t.transfer_id, ta.owner_id, fa.owner_id, t.amount, t.created_at,
               EXISTS (SELECT 1 FROM enspiral.transfers x
                        WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id)
          FROM enspiral.transfers t
          JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account
          JOIN enspiral.accounts ta ON ta.group_id = t.group_id AND ta.account_id = t.to_account
         WHERE t.group_id = r.group_id AND t.round_id = r.round_id AND t.kind = 'contribute'
         ORDER BY t.transfer_id;
END
$$;
COMMENT ON FUNCTION enspiral.contributions(bigint, bigint) IS
    'Every contribution of a round (transfer id, bucket, member, amount, time) and whether it was refunded';

CREATE FUNCTION enspiral.balances(group_id bigint, round_id bigint)
    RETURNS TABLE (member_id bigint, allocated bigint, spent bigint, balance bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds := enspiral.group_round(group_id, round_id);
BEGIN
    RETURN QUERY
        SELECT a.owner_id,
               coalesce((SELECT sum(t.amount) FROM enspiral.transfers t
                          WHERE t.group_id = a.group_id AND t.to_account = a.account_id
                            AND t.kind = 'allocate'), 0)::bigint,
               coalesce((SELECT sum(t.amount) FROM enspiral.transfers t
                          WHERE t.group_id = a.group_id AND t.from_account = a.account_id
                            AND t.kind = 'contribute'
                            AND NOT EXISTS (SELECT 1 FROM enspiral.transfers x
                                             WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id)), 0)::bigint,
               a.balance
          FROM enspiral.accounts a
         WHERE a.group_id = r.group_id AND a.round_id = r.round_id AND a.kind = 'member'
         ORDER BY a.owner_id;
END
$$;
COMMENT ON FUNCTION enspiral.balances(bigint, bigint) IS
    'Every member account of a round: allocated to the member, spent (contributions not refunded) and the balance left';

------------------------------------------------------------------------------
-- Catalyst terms
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.catalyst_terms(group_id bigint)
    RETURNS TABLE (term_id bigint, member_id bigint, member_key text, starts_on date, ends_on date,
                   days_per_week numeric, ended_early boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_group(catalyst_terms.group_id);
    RETURN QUERY
        SELECT c.term_id, c.member_id, m.member_key, c.starts_on, pg_catalog.upper(c.period),
               c.days_per_week, c.ended_on IS NOT NULL
          FROM enspiral.catalyst_terms c
          JOIN enspiral.members m ON m.group_id = c.group_id AND m.member_id = c.member_id
         WHERE c.group_id = catalyst_terms.group_id
         ORDER BY c.starts_on, c.term_id;
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_terms(bigint) IS
    'The catalyst terms of a group: who serves from starts_on until ends_on (exclusive: the first day not served), days a week, and whether the term was ended early';

REVOKE ALL ON FUNCTION enspiral.electorate_members(enspiral.proposals, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.evaluation_time(enspiral.proposals, enspiral.proposal_state, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.group_round(bigint, bigint) FROM PUBLIC;

-- privileges as part 90 sets them: internal functions are not for PUBLIC,
-- API functions (SECURITY DEFINER) only for the roles grant_application()
-- is called for (call it again after the update for the new functions)
REVOKE ALL ON FUNCTION enspiral.require_group(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_member(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.compute_outcome_at(enspiral.proposals, integer, enspiral.proposal_state, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.outcomes_close_time() FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.group_proposal(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.lock_group_proposal(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.propose(bigint, bigint, text, text, text[], jsonb, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.extend_proposal(bigint, bigint, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.update_proposal(bigint, bigint, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.members(bigint, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.proposals(bigint, text, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.ballot(bigint, bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.stances(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.voters(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.round_state(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.rounds(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.buckets(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.contributions(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.balances(bigint, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION enspiral.catalyst_terms(bigint) FROM PUBLIC;
