
------------------------------------------------------------------------------
-- Part 60 (records that prove themselves, doc/audit.md): the hash chain of
-- each group, its verification, the chain head on recorded outcomes, and
-- history as of a time.  The objects are those of sql/install/60_chain.sql;
-- the rows written by 0.1.0 get their chain at the end of this part.
------------------------------------------------------------------------------

-- the chain head stamped on recorded outcomes is no part of the count
CREATE OR REPLACE FUNCTION enspiral.verify_outcome(proposal_id bigint)
    RETURNS TABLE (opening integer, matches boolean, recorded jsonb, recomputed jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
BEGIN
    IF enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at) <> 'closed' THEN
        RAISE EXCEPTION 'proposal % is not closed', proposal_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM enspiral.require_results_visible(p, 'closed');
    opening := p.reopen_count;
    SELECT o.outcome INTO recorded FROM enspiral.outcomes o
     WHERE o.group_id = p.group_id AND o.proposal_id = p.proposal_id AND o.opening = p.reopen_count;
    recomputed := enspiral.compute_outcome(p.proposal_id);
    -- the chain head stamped on the recorded outcome is no part of the count
    matches := (recorded - '{chain_head,chain_position}'::text[]) IS NOT DISTINCT FROM recomputed;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION enspiral.verify_outcome(bigint) IS
    'Recomputes the outcome of a closed proposal from its ballots and compares it with the recorded one, chain head aside (matches is false on any difference or when nothing was recorded)';

CREATE TABLE enspiral.chain_links (
    group_id  bigint NOT NULL,
    position  bigint NOT NULL CHECK (position > 0),
    source    text NOT NULL,
    row_key   bigint[] NOT NULL,
    hash      bytea NOT NULL CHECK (pg_catalog.length(hash) = 32),
    PRIMARY KEY (group_id, position),
    UNIQUE (group_id, source, row_key)
);
COMMENT ON TABLE enspiral.chain_links IS
    'The hash chain of each group: link n covers the canonical content of one chained row (source, row_key) and the hash of link n-1; appended at commit, never changed';
COMMENT ON COLUMN enspiral.chain_links.position IS
    'Position in the group''s chain: 1, 2, ... without gaps (the order in which writers committed)';
COMMENT ON COLUMN enspiral.chain_links.source IS
    'The chained table (transfers, outcomes)';
COMMENT ON COLUMN enspiral.chain_links.row_key IS
    'The primary key of the row after group_id: {transfer_id} or {proposal_id, opening}';
COMMENT ON COLUMN enspiral.chain_links.hash IS
    'enspiral.chain_hash(hash of link position - 1, position, enspiral.chain_content(row))';

CREATE TRIGGER chain_links_append_only BEFORE UPDATE OR DELETE ON enspiral.chain_links
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(
        'The chain is append-only; enspiral.verify_chain() checks it.');
COMMENT ON TRIGGER chain_links_append_only ON enspiral.chain_links IS
    'Chain links are never updated or deleted (NS011)';
CREATE TRIGGER chain_links_no_truncate BEFORE TRUNCATE ON enspiral.chain_links
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(
        'The chain is append-only; enspiral.verify_chain() checks it.');
COMMENT ON TRIGGER chain_links_no_truncate ON enspiral.chain_links IS
    'enspiral.chain_links is never truncated (NS011)';

-- The canonical content of a chained row: a JSON array of the table name and
-- every column, in a fixed order, as jsonb text.  jsonb text is unambiguous
-- (quoted, escaped strings; null apart from "null"), integers and numerics
-- print exactly, and timestamps are converted to UTC timestamp first, so no
-- setting (DateStyle, TimeZone, extra_float_digits) changes it.
CREATE FUNCTION enspiral.chain_content(t enspiral.transfers) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN pg_catalog.jsonb_build_array('transfers', t.group_id, t.transfer_id, t.round_id,
               t.kind::text, t.from_account, t.to_account, t.amount,
               pg_catalog.timezone('UTC', t.created_at), t.idempotency_key, t.reverses)::text;
END
$$;
COMMENT ON FUNCTION enspiral.chain_content(enspiral.transfers) IS
    'Internal: the canonical content of a transfer hashed into the chain (every column, stable text forms)';

CREATE FUNCTION enspiral.chain_content(o enspiral.outcomes) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN pg_catalog.jsonb_build_array('outcomes', o.group_id, o.proposal_id, o.opening,
               o.outcome, pg_catalog.timezone('UTC', o.recorded_at))::text;
END
$$;
COMMENT ON FUNCTION enspiral.chain_content(enspiral.outcomes) IS
    'Internal: the canonical content of a recorded outcome hashed into the chain (every column, stable text forms)';

CREATE FUNCTION enspiral.chain_hash(prev bytea, "position" bigint, content text) RETURNS bytea
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN pg_catalog.sha256(coalesce(prev, '\x'::bytea)
                             OPERATOR(pg_catalog.||) pg_catalog.int8send("position")
                             OPERATOR(pg_catalog.||) pg_catalog.convert_to(content, 'UTF8'));
END
$$;
COMMENT ON FUNCTION enspiral.chain_hash(bytea, bigint, text) IS
    'The hash of a link: sha256(previous hash (32 bytes; none for position 1) || position (8 bytes, big-endian) || content (UTF-8))';

CREATE VIEW enspiral.chain_entries AS
    SELECT t.group_id, 'transfers'::text AS source, ARRAY[t.transfer_id] AS row_key,
           t.created_at AS written_at, enspiral.chain_content(t) AS content
      FROM enspiral.transfers t
    UNION ALL
    SELECT o.group_id, 'outcomes'::text, ARRAY[o.proposal_id, o.opening::bigint],
           o.recorded_at, enspiral.chain_content(o)
      FROM enspiral.outcomes o;
COMMENT ON VIEW enspiral.chain_entries IS
    'Every chained row with its key, the time it was written and its canonical content: what the chain must cover';

CREATE FUNCTION enspiral.chain_head_link(group_id bigint)
    RETURNS TABLE ("position" bigint, hash bytea)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT l.position, l.hash INTO chain_head_link.position, chain_head_link.hash
      FROM enspiral.chain_links l
     WHERE l.group_id = chain_head_link.group_id
     ORDER BY l.position DESC LIMIT 1;
    chain_head_link.position := coalesce(chain_head_link.position, 0);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION enspiral.chain_head_link(bigint) IS
    'Internal: the last link of a group''s chain (position 0 and no hash when empty)';

-- (the rows are linked by the linker of part 61, not by a trigger)
CREATE FUNCTION enspiral.chain_stamp() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_chain_stamp';
COMMENT ON FUNCTION enspiral.chain_stamp() IS
    'Trigger: a recorded outcome carries the head of its group''s chain (chain_head, chain_position) as committed when it is recorded';

CREATE TRIGGER outcomes_chain_stamp BEFORE INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.chain_stamp();
COMMENT ON TRIGGER outcomes_chain_stamp ON enspiral.outcomes IS
    'A recorded outcome carries the chain head of its group';

------------------------------------------------------------------------------
-- Verification
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.chain_require_group(group_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enspiral.groups g WHERE g.group_id = chain_require_group.group_id) THEN
        RAISE EXCEPTION 'group % does not exist', group_id USING ERRCODE = 'NS002';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.chain_require_group(bigint) IS
    'Internal: NS002 unless the group exists (the audit functions)';

CREATE FUNCTION enspiral.chain_problems(group_id bigint)
    RETURNS TABLE ("position" bigint, source text, row_key bigint[], problem text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH l AS (
        SELECT l.*, pg_catalog.lag(l.hash) OVER w AS prev_hash,
               coalesce(pg_catalog.lag(l.position) OVER w, 0) AS prev_position
          FROM enspiral.chain_links l
         WHERE l.group_id = chain_problems.group_id
        WINDOW w AS (ORDER BY l.position)
    ), e AS (
        SELECT e.* FROM enspiral.chain_entries e WHERE e.group_id = chain_problems.group_id
    )
    SELECT l.position, coalesce(l.source, e.source),
           coalesce(l.row_key, e.row_key),
           CASE WHEN l.position IS NULL THEN 'unlinked row'
                WHEN l.prev_position <> l.position - 1 THEN 'gap before link'
                WHEN e.source IS NULL THEN 'row missing'
                ELSE 'hash mismatch' END
      FROM l FULL JOIN e ON e.source = l.source AND e.row_key = l.row_key
     WHERE l.position IS NULL OR e.source IS NULL
        OR l.prev_position <> l.position - 1
        OR l.hash <> enspiral.chain_hash(l.prev_hash, l.position, e.content)
$$;
COMMENT ON FUNCTION enspiral.chain_problems(bigint) IS
    'Internal: every link of a group''s chain that does not verify, and every chained row without a link';

CREATE FUNCTION enspiral.verify_chain(group_id bigint)
    RETURNS TABLE ("position" bigint, source text, row_key bigint[], problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.chain_require_group(verify_chain.group_id);
    RETURN QUERY
        SELECT p.position, p.source, p.row_key, p.problem
          FROM enspiral.chain_problems(verify_chain.group_id) p
         ORDER BY p.position NULLS LAST, p.source, p.row_key;
END
$$;
COMMENT ON FUNCTION enspiral.verify_chain(bigint) IS
    'Checks the hash chain of a group: returns the broken links in chain order (hash mismatch: the row or the link was rewritten; row missing; gap before link), then the chained rows without a link; no rows when the chain is sound';

CREATE FUNCTION enspiral.chain_head(group_id bigint)
    RETURNS TABLE ("position" bigint, head text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.chain_require_group(chain_head.group_id);
    RETURN QUERY
        SELECT h.position, pg_catalog.encode(h.hash, 'hex')
          FROM enspiral.chain_head_link(chain_head.group_id) h;
END
$$;
COMMENT ON FUNCTION enspiral.chain_head(bigint) IS
    'The current head of a group''s chain: its position and hash (hex; NULL while the chain is empty), for a member to keep';

CREATE FUNCTION enspiral.verify_chain_head(group_id bigint, head text) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pos bigint;
BEGIN
    PERFORM enspiral.chain_require_group(verify_chain_head.group_id);
    IF head IS NULL OR head !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'a chain head must be 64 lower-case hexadecimal digits'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The head given was %s.', coalesce(pg_catalog.quote_literal(head), 'NULL')),
                  HINT = 'Pass the chain_head of a recorded outcome or of enspiral.chain_head().';
    END IF;
    SELECT l.position INTO pos FROM enspiral.chain_links l
     WHERE l.group_id = verify_chain_head.group_id AND l.hash = pg_catalog.decode(head, 'hex');
    IF pos IS NULL THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM enspiral.chain_problems(verify_chain_head.group_id) p
                        WHERE p.position <= pos);
END
$$;
COMMENT ON FUNCTION enspiral.verify_chain_head(bigint, text) IS
    'True when a kept head (hex) is the hash of a link of the group''s chain and every link up to it verifies: the history up to that head was not rewritten';

------------------------------------------------------------------------------
-- History as of a time
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.outcome_as_of(group_id bigint, proposal_id bigint, at timestamptz)
    RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enspiral.proposals p
                    WHERE p.group_id = outcome_as_of.group_id AND p.proposal_id = outcome_as_of.proposal_id) THEN
        RAISE EXCEPTION 'proposal % does not exist', proposal_id
            USING ERRCODE = 'NS101',
                  DETAIL = pg_catalog.format('Group %s has no proposal %s.', group_id, proposal_id);
    END IF;
    RETURN (SELECT o.outcome FROM enspiral.outcomes o
             WHERE o.group_id = outcome_as_of.group_id AND o.proposal_id = outcome_as_of.proposal_id
               AND o.recorded_at <= at
             ORDER BY o.opening DESC LIMIT 1);
END
$$;
COMMENT ON FUNCTION enspiral.outcome_as_of(bigint, bigint, timestamptz) IS
    'The outcome of a proposal as it stood at a time: the latest opening recorded at or before it (NULL when none was)';

CREATE FUNCTION enspiral.balance_as_of(group_id bigint, round_id bigint, member_id bigint,
                                       at timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enspiral.rounds r
                    WHERE r.group_id = balance_as_of.group_id AND r.round_id = balance_as_of.round_id) THEN
        RAISE EXCEPTION 'round % does not exist', round_id
            USING ERRCODE = 'NS201',
                  DETAIL = pg_catalog.format('Group %s has no round %s.', group_id, round_id);
    END IF;
    SELECT a.account_id INTO acct FROM enspiral.accounts a
     WHERE a.group_id = balance_as_of.group_id AND a.round_id = balance_as_of.round_id
       AND a.kind = 'member' AND a.owner_id = balance_as_of.member_id;
    IF acct IS NULL THEN
        RETURN 0;
    END IF;
    RETURN (SELECT (coalesce(pg_catalog.sum(t.amount) FILTER (WHERE t.to_account = acct), 0)
                    - coalesce(pg_catalog.sum(t.amount) FILTER (WHERE t.from_account = acct), 0))::bigint
              FROM enspiral.transfers t
             WHERE t.group_id = balance_as_of.group_id
               AND (t.to_account = acct OR t.from_account = acct)
               AND t.created_at <= at);
END
$$;
COMMENT ON FUNCTION enspiral.balance_as_of(bigint, bigint, bigint, timestamptz) IS
    'A member''s balance in a round at a time, summed from the ledger''s transfers created at or before it (0 when the member had no account)';

CREATE FUNCTION enspiral.catalysts_as_of(group_id bigint, at timestamptz)
    RETURNS TABLE (member_id bigint, term_id bigint, starts_on date, ends_on date)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.chain_require_group(catalysts_as_of.group_id);
    RETURN QUERY
        SELECT t.member_id, t.term_id, t.starts_on, pg_catalog.upper(t.period)
          FROM enspiral.catalyst_terms t
         WHERE t.group_id = catalysts_as_of.group_id
           AND t.created_at <= at
           AND t.period @> at::date
         ORDER BY t.member_id, t.term_id;
END
$$;
COMMENT ON FUNCTION enspiral.catalysts_as_of(bigint, timestamptz) IS
    'The catalysts serving on the day of a time (in the session''s time zone, like CURRENT_DATE), from terms appointed at or before it';

CREATE FUNCTION enspiral.members_as_of(group_id bigint, at timestamptz)
    RETURNS TABLE (member_id bigint, member_key text, joined_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.chain_require_group(members_as_of.group_id);
    RETURN QUERY
        SELECT m.member_id, m.member_key, ms.joined_at
          FROM enspiral.memberships ms
          JOIN enspiral.members m ON m.group_id = ms.group_id AND m.member_id = ms.member_id
         WHERE ms.group_id = members_as_of.group_id
           AND ms.joined_at <= at AND (ms.left_at IS NULL OR ms.left_at > at)
         ORDER BY m.member_id;
END
$$;
COMMENT ON FUNCTION enspiral.members_as_of(bigint, timestamptz) IS
    'The members of a group at a time, from the membership history: periods with joined_at <= at < left_at';

REVOKE ALL ON enspiral.chain_links FROM PUBLIC;
REVOKE ALL ON enspiral.chain_entries FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_content(enspiral.transfers) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_content(enspiral.outcomes) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_head_link(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_problems(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_require_group(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_stamp() FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.chain_links', '');

-- The rows 0.1.0 wrote get their chain: per group, in the order they were
-- written (created_at, recorded_at), ties by table and key.  Their outcomes
-- keep what was recorded (no chain_head: none existed when they closed).
DO $$
DECLARE
    r record;
    g bigint;
    pos bigint;
    prev bytea;
BEGIN
    FOR r IN SELECT e.group_id, e.source, e.row_key, e.content
               FROM enspiral.chain_entries e
              ORDER BY e.group_id, e.written_at, e.source, e.row_key
    LOOP
        IF g IS DISTINCT FROM r.group_id THEN
            g := r.group_id;
            pos := 0;
            prev := NULL;
        END IF;
        pos := pos + 1;
        prev := enspiral.chain_hash(prev, pos, r.content);
        INSERT INTO enspiral.chain_links (group_id, position, source, row_key, hash)
        VALUES (g, pos, r.source, r.row_key, prev);
    END LOOP;
END
$$;
