------------------------------------------------------------------------------
-- Part 60: the read API of applications (doc/application.md).  Every
-- function takes the group first, reads rows of that group only, and
-- returns what the rules let an application see: no ballot of an anonymous
-- proposal linked to a voter or a time, no ballot or total of a proposal
-- whose results are hidden before it closes.  They are SECURITY DEFINER
-- (the application role reads no table), so grant_application() grants them.
------------------------------------------------------------------------------

CREATE INDEX proposals_group_closing ON enspiral.proposals
    (group_id, closes_at DESC NULLS LAST, proposal_id DESC);
COMMENT ON INDEX enspiral.proposals_group_closing IS
    'The proposals of a group in the order enspiral.proposals() lists them: open proposals (future deadlines) first';

CREATE INDEX memberships_joined ON enspiral.memberships (group_id, joined_at);
COMMENT ON INDEX enspiral.memberships_joined IS
    'Membership periods by start: enspiral.proposals() counts an electorate from the members who joined after its opening';

CREATE INDEX rounds_due ON enspiral.rounds (closes_at) WHERE closed_at IS NULL;
COMMENT ON INDEX enspiral.rounds_due IS
    'Rounds not closed yet by deadline: what record_due_closings() scans';

-- The number of current votes (history_key 0) of each proposal, kept by a
-- trigger on votes so that enspiral.proposals() reads it instead of
-- counting the votes of every listed proposal (bench app_read).  One row
-- per proposal and backend (src/decisions_vote_counts.c; a transaction casting many
-- votes takes a new row every 64), so that concurrent vote() calls never
-- wait for each other on a counter row; the sum is exact: every change is
-- made by the transaction that writes the vote.  Dumped with the votes; the trigger
-- leaves the vote rows a restore loads to the restored counts.
CREATE TABLE enspiral.vote_counts (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    shard        bigint NOT NULL CHECK (shard >= 0),
    counted      bigint NOT NULL,
    PRIMARY KEY (group_id, proposal_id, shard)
);
COMMENT ON TABLE enspiral.vote_counts IS
    'Current votes (history_key 0) of each proposal, in rows per backend that changed it (shard: the backend id, a new row every 64 changes of one transaction; 0: counted by an update) whose sum is exact; kept by the trigger vote_counts on votes, read by enspiral.proposals()';
SELECT pg_catalog.pg_extension_config_dump('enspiral.vote_counts', '');

-- vote_counts: a current vote added (+1) or ended (-1), in this backend's
-- row (src/decisions_vote_counts.c: it runs in every vote())
CREATE FUNCTION enspiral.vote_counts_apply() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_vote_counts_apply';
COMMENT ON FUNCTION enspiral.vote_counts_apply() IS
    'Trigger: keeps enspiral.vote_counts equal to the number of current votes (history_key 0) of each proposal';
-- no column list: vote() supersedes through core_relaccess.c, whose update
-- does not name its columns to column-specific triggers
CREATE TRIGGER vote_counts AFTER INSERT OR UPDATE OR DELETE
    ON enspiral.votes FOR EACH ROW EXECUTE FUNCTION enspiral.vote_counts_apply();
COMMENT ON TRIGGER vote_counts ON enspiral.votes IS
    'Counts current votes per proposal in enspiral.vote_counts (what enspiral.proposals() reports as voted)';

------------------------------------------------------------------------------
-- Internal helpers
------------------------------------------------------------------------------

-- membership at a time: a primary-key lookup of the member's periods
CREATE FUNCTION enspiral.member_at(group_id bigint, member_id bigint, at timestamptz)
    RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL, not LANGUAGE sql: Citus plans the query with the values
    -- (doc/scaling.md)
    RETURN EXISTS (SELECT 1 FROM enspiral.memberships c
                    WHERE c.group_id = member_at.group_id AND c.member_id = member_at.member_id
                      AND c.joined_at <= member_at.at
                      AND (c.left_at IS NULL OR c.left_at > member_at.at));
END
$$;
COMMENT ON FUNCTION enspiral.member_at(bigint, bigint, timestamptz) IS
    'Internal: whether the member of the group was a member at the time (a membership period covers it)';

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
        PERFORM enspiral.raise_not_found(group_id, 'round', round_id);
    END IF;
    PERFORM enspiral.note_group(group_id, 'rounds', round_id);
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
    -- two queries, not one with a CASE on at: a cached generic plan of the
    -- CASE could not use the index of current memberships (bench app_read)
    IF members.at IS NULL THEN
        RETURN QUERY
            SELECT m.member_id, m.member_key, ms.joined_at, ms.left_at
              FROM enspiral.memberships ms
              JOIN enspiral.members m ON m.group_id = ms.group_id AND m.member_id = ms.member_id
             WHERE ms.group_id = members.group_id AND ms.left_at IS NULL
             ORDER BY ms.member_id;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT m.member_id, m.member_key, ms.joined_at, ms.left_at
          FROM enspiral.memberships ms
          JOIN enspiral.members m ON m.group_id = ms.group_id AND m.member_id = ms.member_id
         WHERE ms.group_id = members.group_id
           AND ms.joined_at <= members.at AND (ms.left_at IS NULL OR ms.left_at > members.at)
         ORDER BY ms.member_id;
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
    -- read once per call: the current members, and those who left and are
    -- not members now (departed_members(group, now))
    current_count bigint;
    departed_now bigint[];
BEGIN
    PERFORM enspiral.require_group(proposals.group_id);
    IF only_state IS NOT NULL
       AND only_state NOT IN ('draft', 'scheduled', 'open', 'closed', 'withdrawn') THEN
        RAISE EXCEPTION 'unknown proposal state'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'only_state',
                  DETAIL = pg_catalog.format('The state given is "%s".', only_state),
                  HINT = 'States are draft, scheduled, open, closed and withdrawn.';
    END IF;
    IF max_rows < 0 THEN
        RAISE EXCEPTION 'max_rows must not be negative'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'max_rows';
    END IF;
    SELECT count(*) INTO current_count FROM enspiral.memberships m
     WHERE m.group_id = proposals.group_id AND m.left_at IS NULL;
    departed_now := ARRAY(SELECT d.member_id FROM enspiral.memberships d
                           WHERE d.group_id = proposals.group_id AND d.left_at IS NOT NULL
                             AND NOT EXISTS (SELECT 1 FROM enspiral.memberships c
                                              WHERE c.group_id = d.group_id AND c.member_id = d.member_id
                                                AND c.left_at IS NULL));
    RETURN QUERY
        WITH listed AS (
            -- ROW(x.*) of the table's type: on Citus x is a row of the shard
            -- (a type of its own), which compute_outcome_at() does not take
            SELECT ROW(x.*)::enspiral.proposals AS p,
                   enspiral.effective_proposal_state(x.state, x.opens_at, x.closes_at, now) AS st
              FROM enspiral.proposals x
             WHERE x.group_id = proposals.group_id
               AND (only_state IS NULL
                    OR enspiral.effective_proposal_state(x.state, x.opens_at, x.closes_at, now)::text = only_state)
             ORDER BY x.closes_at DESC NULLS LAST, x.proposal_id DESC
             LIMIT max_rows),
        -- the evaluation time t, the opening time ref and whether the
        -- members vote, as columns of the page (Citus plans no join with a
        -- LATERAL subquery that reads no table)
        timed AS (
            SELECT l.p, l.st,
                   CASE WHEN l.st = 'closed' THEN least((l.p).closes_at, now) ELSE now END AS t
              FROM listed l),
        page AS (
            SELECT m.p, m.st, m.t, least(coalesce((m.p).opens_at, m.t), m.t) AS ref,
                   (m.p).settings ->> 'voters' IS DISTINCT FROM 'invited' AS members
              FROM timed m),
        -- the outcome recorded at the close of this opening, if any, and
        -- the electorate (MATERIALIZED: computed once, used twice below)
        counted AS MATERIALIZED (
            SELECT g.p, g.st, g.t, rec.outcome AS recorded,
                   CASE WHEN rec.outcome IS NOT NULL THEN (rec.outcome ->> 'electorate')::bigint
                   ELSE
                   -- |members at ref (unless invited) UNION additions| - removals in effect at t
                   CASE WHEN g.members THEN
                        current_count
                        - (SELECT count(*) FROM enspiral.memberships m
                            WHERE m.group_id = proposals.group_id AND m.joined_at > g.ref AND m.left_at IS NULL)
                        + (SELECT count(*) FROM enspiral.memberships m
                            WHERE m.group_id = proposals.group_id AND m.left_at > g.ref AND m.joined_at <= g.ref)
                   ELSE 0 END
                   + (SELECT count(*) FROM enspiral.electorate_additions a
                       WHERE a.group_id = proposals.group_id AND a.proposal_id = (g.p).proposal_id
                         AND NOT (g.members AND enspiral.member_at(proposals.group_id, a.member_id, g.ref)))
                   -- (a join, not EXISTS: Citus plans no correlated EXISTS under OR here)
                   - (SELECT count(DISTINCT r.member_id) FROM enspiral.electorate_removals r
                       LEFT JOIN enspiral.electorate_additions a
                         ON a.group_id = r.group_id AND a.proposal_id = r.proposal_id
                        AND a.member_id = r.member_id
                       WHERE r.group_id = proposals.group_id AND r.proposal_id = (g.p).proposal_id
                         AND r.removed_at <= g.t AND (r.restored_at IS NULL OR r.restored_at > g.t)
                         AND ((g.members AND enspiral.member_at(proposals.group_id, r.member_id, g.ref))
                              OR a.member_id IS NOT NULL)) END AS electorate
              FROM page g
              LEFT JOIN enspiral.outcomes rec
                ON g.st = 'closed' AND rec.group_id = proposals.group_id
               AND rec.proposal_id = (g.p).proposal_id AND rec.opening = (g.p).reopen_count),
        decided AS MATERIALIZED (
            SELECT c.p, c.st, c.electorate,
                   CASE WHEN c.st = 'closed' THEN
                        coalesce(c.recorded,
                                 enspiral.compute_outcome_at(c.p, (c.p).reopen_count, c.st, c.t, c.electorate))
                   END AS outcome
              FROM counted c)
        -- every table is read with group_id = the group given (not a
        -- column of the page), so Citus routes the whole query to the
        -- group's shards (doc/scaling.md)
        -- electorate follows electorate_size() and voted counted_ballots()
        -- (written out: calls of those SQL functions are planned per row);
        -- test/sql/app_api.sql and app_read_scale.sql check that they agree
        -- on every state.  Neither grows with the size of the group (bench
        -- app_read):
        --   closed: the outcome gives both: the one recorded at the close
        --     (the ballots and memberships at the close can no longer
        --     change: vote() refuses a closed proposal,
        --     memberships_outcome_guard a membership change before a
        --     recorded close), or, when nothing recorded it yet, the one
        --     computed as outcome() would record it, from the electorate
        --     counted here;
        --   otherwise, counted from what changed since the evaluation time:
        --     members at ref = current members - those who joined after ref
        --                      and are members now + those who were members
        --                      at ref and left after it;
        --     votes in force now = current votes (history_key 0, the sum of
        --                      vote_counts) - those of members who departed.
        SELECT (g.p).proposal_id, (g.p).author_id, (g.p).title, (g.p).details, (g.p).method,
               (g.p).options, (g.p).settings, g.st::text, (g.p).opens_at, (g.p).closes_at,
               (g.p).created_at,
               CASE WHEN g.outcome IS NOT NULL THEN (g.outcome ->> 'voted')::bigint
                    WHEN ((g.p).settings ->> 'anonymous')::boolean THEN
                    (SELECT count(*) FROM enspiral.anonymous_ballots b
                      WHERE b.group_id = proposals.group_id AND b.proposal_id = (g.p).proposal_id)
               ELSE coalesce((SELECT sum(c.counted) FROM enspiral.vote_counts c
                               WHERE c.group_id = proposals.group_id AND c.proposal_id = (g.p).proposal_id), 0)::bigint
                    - (SELECT count(*) FROM enspiral.votes v
                        WHERE v.group_id = proposals.group_id AND v.proposal_id = (g.p).proposal_id
                          AND v.member_id = ANY (departed_now) AND v.history_key = 0) END,
               g.electorate,
               -- hidden results: not in the transaction that closed it
               CASE WHEN NOT (enspiral.hide_mode((g.p).settings) <> 'off'
                              AND enspiral.proposal_written_here(proposals.group_id, (g.p).proposal_id))
                    THEN g.outcome END
          FROM decided g
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
    IF enspiral.hide_mode(p.settings) <> 'off'
       AND (enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) <> 'closed'
            OR enspiral.proposal_written_here(p.group_id, p.proposal_id)) THEN
        RETURN jsonb_build_object('voted', true, 'hidden', true, 'cast_at', v.cast_at)
               || jsonb_strip_nulls(jsonb_build_object('cast_by', v.cast_by));
    END IF;
    RETURN jsonb_build_object('voted', true, 'ballot', v.ballot, 'reason', v.reason,
                              'cast_at', v.cast_at)
           || jsonb_strip_nulls(jsonb_build_object('cast_by', v.cast_by));
END
$$;
COMMENT ON FUNCTION enspiral.ballot(bigint, bigint, bigint) IS
    'A member''s vote in force on a proposal ({"voted", "ballot", "reason", "cast_at"}, and "cast_by" when a delegate cast it) or NULL; anonymous proposals: only {"voted": true, "anonymous": true}; hidden results before the close: {"voted", "hidden", "cast_at"} without ballot and reason';

CREATE FUNCTION enspiral.stances(group_id bigint, proposal_id bigint)
    RETURNS TABLE (member_id bigint, ballot jsonb, reason text, cast_at timestamptz,
                   cast_by bigint)
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
            SELECT NULL::bigint, b.ballot, b.reason, NULL::timestamptz, NULL::bigint
              FROM enspiral.anonymous_ballots b
             WHERE b.group_id = p.group_id AND b.proposal_id = p.proposal_id
             ORDER BY b.ballot::text, b.reason NULLS FIRST;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT v.member_id, v.ballot, v.reason, v.cast_at, v.cast_by
          FROM enspiral.votes v
         WHERE v.group_id = p.group_id AND v.proposal_id = p.proposal_id
           AND (v.superseded_at IS NULL OR v.superseded_at > t) AND v.cast_at <= t
           AND v.member_id NOT IN (SELECT d FROM enspiral.departed_members(p.group_id, t) d)
         ORDER BY v.member_id;
END
$$;
COMMENT ON FUNCTION enspiral.stances(bigint, bigint) IS
    'The counted votes of a proposal (member, ballot, reason, time, and the delegate who cast it or NULL), once results may be shown (NS106 before the close with hide_results); anonymous proposals: ballots and reasons only, ordered by their content';

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
    -- who voted: one pass over the proposal's votes (or participations),
    -- hashed, instead of a lookup per member of the electorate; before the
    -- close the votes in force are the current ones (history_key 0, what
    -- proposals() counts as voted), read from the primary key alone
    RETURN QUERY
        SELECT e.m,
               CASE WHEN anon THEN e.m IN (SELECT x.member_id FROM enspiral.participations x
                                            WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id)
                    WHEN st <> 'closed' THEN e.m IN (SELECT v.member_id FROM enspiral.votes v
                                                      WHERE v.group_id = p.group_id
                                                        AND v.proposal_id = p.proposal_id
                                                        AND v.history_key = 0)
                    ELSE e.m IN (SELECT v.member_id FROM enspiral.votes v
                                  WHERE v.group_id = p.group_id AND v.proposal_id = p.proposal_id
                                    AND v.cast_at <= t
                                    AND (v.superseded_at IS NULL OR v.superseded_at > t)) END
          FROM enspiral.electorate_members(p.group_id, p.proposal_id, least(coalesce(p.opens_at, t), t), t) e(m)
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
    -- hide_totals: no total and no funders until the close (doc/budgeting.md)
    shown boolean := enspiral.totals_visible(r.group_id, r.round_id);
BEGIN
    -- while the round hides its totals, neither what a bucket holds nor
    -- how many fund it is shown (either would rank the buckets)
    RETURN QUERY
        SELECT b.bucket_id, b.author_id, b.title, b.state::text, b.min_goal, b.max_goal,
               CASE WHEN shown THEN a.balance END,
               CASE WHEN shown THEN (SELECT count(DISTINCT t.from_account) FROM enspiral.transfers t
                 WHERE t.group_id = a.group_id AND t.to_account = a.account_id AND t.kind = 'contribute'
                   AND NOT EXISTS (SELECT 1 FROM enspiral.transfers x
                                    WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id)) END,
               b.created_at
          FROM enspiral.buckets b
          JOIN enspiral.accounts a ON a.group_id = b.group_id AND a.round_id = b.round_id
           AND a.kind = 'bucket' AND a.owner_id = b.bucket_id
         WHERE b.group_id = r.group_id AND b.round_id = r.round_id
         ORDER BY b.bucket_id;
END
$$;
COMMENT ON FUNCTION enspiral.buckets(bigint, bigint) IS
    'The buckets of a round: state, goals, what each holds now (total) and how many members fund it (funders: contributions not refunded); total and funders are NULL while the round hides totals (hide_totals, until the close)';

CREATE FUNCTION enspiral.contributions(group_id bigint, round_id bigint)
    RETURNS TABLE (transfer_id bigint, bucket_id bigint, member_id bigint, amount bigint,
                   at timestamptz, refunded boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds := enspiral.group_round(group_id, round_id);
BEGIN
    -- the contributions add up to the totals: hidden with them (NS256)
    PERFORM enspiral.check_totals_visible(r.group_id, r.round_id);
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
    'Every contribution of a round (transfer id, bucket, member, amount, time) and whether it was refunded; NS256 while the round hides totals (hide_totals, until the close)';

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
               (coalesce((SELECT sum(t.amount) FROM enspiral.transfers t
                           WHERE t.group_id = a.group_id AND t.to_account = a.account_id
                             AND t.kind = 'allocate'), 0)
                - coalesce((SELECT sum(t.amount) FROM enspiral.transfers t
                             WHERE t.group_id = a.group_id AND t.from_account = a.account_id
                               AND t.kind = 'deallocate'), 0))::bigint,
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
    'Every member account of a round: allocated to the member (allocations less deallocations), spent (contributions not refunded) and the balance left (allocated - spent)';

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

REVOKE ALL ON FUNCTION enspiral.evaluation_time(enspiral.proposals, enspiral.proposal_state, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.group_round(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.member_at(bigint, bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.vote_counts_apply() FROM PUBLIC;
