------------------------------------------------------------------------------
-- Part 75: records that prove themselves (doc/audit.md).
--  * One hash chain per group across the chained tables (transfers,
--    outcomes, events): each row gets one link in enspiral.chain_links whose
--    hash covers the row's canonical content and the previous link's hash,
--    so a rewrite is found by verify_chain(), and a consistent rewrite of the
--    whole chain by the heads that recorded outcomes carry (chain_head).
--  * Links are made in batches by a linker (enspiral.chain_link_pending,
--    src/audit_chain.c), never by the writers: a write only takes a chain key (the
--    id of its transaction, as event ids do), so writers never wait for each
--    other's commits.  The linker runs from outcome recording, verify_chain,
--    chain_head, record_due_closings and enspiral.link_chain() (pg_cron).
--  * History as of a time, from the append-only tables.
-- It comes after part 70: chain keys are event ids (enspiral.next_event_id).
-- Chaining another table takes one declaration per place: a chain_key
-- column with its index, a chain_content overload and a branch of the
-- chain_entries view.
------------------------------------------------------------------------------

-- @triggers (tools/triggers.pl): chain_links_append_only (75_chain),
--   chain_links_no_truncate (75_chain)
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
    'The hash chain of each group: link n covers the canonical content of one chained row (source, row_key) and the hash of link n-1; appended by the linker, never changed';
COMMENT ON COLUMN enspiral.chain_links.position IS
    'Position in the group''s chain: 1, 2, ... without gaps (the order in which the linker linked the rows)';
COMMENT ON COLUMN enspiral.chain_links.source IS
    'The chained table (transfers, outcomes, events)';
COMMENT ON COLUMN enspiral.chain_links.row_key IS
    'The primary key of the row after group_id: {transfer_id}, {proposal_id, opening} or {event_id}';
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

-- Where the linker of each group stands.  Not dumped: after a restore the
-- linker finds its place again from the links (the first run looks at every
-- row of the group once).
CREATE TABLE enspiral.chain_state (
    group_id       bigint NOT NULL,
    linked_below   bigint NOT NULL,
    head_position  bigint NOT NULL CHECK (head_position >= 0),
    PRIMARY KEY (group_id)
);
COMMENT ON TABLE enspiral.chain_state IS
    'The linker''s place in each group''s chain: every chained row with a chain key below linked_below is linked, and the chain had head_position links after its last run';
COMMENT ON COLUMN enspiral.chain_state.linked_below IS
    'The event horizon of the linker''s last run: rows with a smaller chain key were all committed or rolled back then, and the committed ones are linked';
COMMENT ON COLUMN enspiral.chain_state.head_position IS
    'The length of the chain after the linker''s last run: verify_chain reports links missing after the last one';

-- The chain key of a transfer or an outcome: an event id of its transaction
-- (enspiral.next_event_id()), so the linker finds the rows written since its
-- last run by an index range and knows which of them are final.  Events use
-- their event_id.
ALTER TABLE enspiral.transfers ADD COLUMN chain_key bigint DEFAULT enspiral.next_event_id();
COMMENT ON COLUMN enspiral.transfers.chain_key IS
    'Where the transfer stands for the linker of the hash chain: an event id of the writing transaction (NULL for rows written by 0.1.0, linked on update)';
CREATE INDEX transfers_chain_key ON enspiral.transfers (group_id, chain_key);
COMMENT ON INDEX enspiral.transfers_chain_key IS
    'The linker of the hash chain reads the transfers written since its last run';
ALTER TABLE enspiral.outcomes ADD COLUMN chain_key bigint DEFAULT enspiral.next_event_id();
COMMENT ON COLUMN enspiral.outcomes.chain_key IS
    'Where the outcome stands for the linker of the hash chain: an event id of the recording transaction (NULL for outcomes recorded by 0.1.0, linked on update)';
CREATE INDEX outcomes_chain_key ON enspiral.outcomes (group_id, chain_key);
COMMENT ON INDEX enspiral.outcomes_chain_key IS
    'The linker of the hash chain reads the outcomes recorded since its last run';

-- The canonical content of a chained row: a JSON array of the table name and
-- every column, in a fixed order, as jsonb text.  jsonb text is unambiguous
-- (quoted, escaped strings; null apart from "null"), integers and numerics
-- print exactly, and timestamps are converted to UTC timestamp first, so no
-- setting (DateStyle, TimeZone, extra_float_digits) changes it.  The chain
-- key is no part of it (it only places the row for the linker).
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

CREATE FUNCTION enspiral.chain_content(e enspiral.events) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN pg_catalog.jsonb_build_array('events', e.group_id, e.event_id,
               pg_catalog.timezone('UTC', e.at), e.kind, e.actor, e.member_id, e.proposal_id,
               e.round_id, e.bucket_id, e.term_id, e.payload)::text;
END
$$;
COMMENT ON FUNCTION enspiral.chain_content(enspiral.events) IS
    'Internal: the canonical content of an event hashed into the chain (every column, stable text forms)';

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
    'The hash of a link: sha256(previous hash (32 bytes; none for position 1) || position (8 bytes, big-endian) || content (UTF-8)); the linker computes the same in C';

-- each row is passed to chain_content as ROW(x.*) of its table's type, not
-- as the whole-row x: on Citus the query runs on a shard, whose whole row
-- has the shard's type (doc/scaling.md)
CREATE VIEW enspiral.chain_entries AS
    SELECT t.group_id, 'transfers'::text AS source, ARRAY[t.transfer_id] AS row_key,
           t.created_at AS written_at, enspiral.chain_content(ROW(t.*)::enspiral.transfers) AS content, t.chain_key
      FROM enspiral.transfers t
    UNION ALL
    SELECT o.group_id, 'outcomes'::text, ARRAY[o.proposal_id, o.opening::bigint],
           o.recorded_at, enspiral.chain_content(ROW(o.*)::enspiral.outcomes), o.chain_key
      FROM enspiral.outcomes o
    UNION ALL
    SELECT e.group_id, 'events'::text, ARRAY[e.event_id], e.at, enspiral.chain_content(ROW(e.*)::enspiral.events), e.event_id
      FROM enspiral.events e;
COMMENT ON VIEW enspiral.chain_entries IS
    'Every chained row with its key, the time it was written, its canonical content and its chain key: what the chain must cover';

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

CREATE FUNCTION enspiral.chain_link_pending(group_id bigint, wait boolean) RETURNS bigint
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_chain_link_pending';
COMMENT ON FUNCTION enspiral.chain_link_pending(bigint, boolean) IS
    'Internal: the linker.  Under the group''s chain lock, links the group''s rows not linked yet in chain key order and returns how many.  wait: waits for the lock and links every committed row (and this transaction''s own); otherwise returns NULL when another transaction holds the lock and links only the rows below the event horizon';

CREATE FUNCTION enspiral.chain_stamp() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_chain_stamp';
COMMENT ON FUNCTION enspiral.chain_stamp() IS
    'Trigger: links every committed row of the group, then stamps the recorded outcome with the head of its group''s chain (chain_head, chain_position)';

CREATE TRIGGER outcomes_chain_stamp BEFORE INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.chain_stamp();
COMMENT ON TRIGGER outcomes_chain_stamp ON enspiral.outcomes IS
    'A recorded outcome carries the chain head of its group, after every committed row was linked';

CREATE FUNCTION enspiral.link_chain(group_id bigint, wait boolean DEFAULT true) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.chain_require_group(link_chain.group_id);
    IF wait IS NULL THEN
        RAISE EXCEPTION 'wait must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN enspiral.chain_link_pending(link_chain.group_id, wait);
END
$$;
COMMENT ON FUNCTION enspiral.link_chain(bigint, boolean) IS
    'Links the rows of a group written since the linker''s last run and returns how many (for pg_cron: SELECT enspiral.link_chain(group_id, false) FROM enspiral.groups).  wait => false never waits: NULL when another transaction is linking the group, and only rows no running transaction can precede are linked';

------------------------------------------------------------------------------
-- Verification
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.chain_require_group(group_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enspiral.groups g WHERE g.group_id = chain_require_group.group_id) THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.chain_require_group(bigint) IS
    'Internal: NS002 unless the group exists (the audit functions)';

-- link what can be linked: not on a standby nor in a read-only transaction,
-- and only in READ COMMITTED, where the checks that follow see every row the
-- linker saw (an older snapshot would see links of rows it cannot see)
CREATE FUNCTION enspiral.chain_link_if_writable(group_id bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT pg_catalog.pg_is_in_recovery()
       AND pg_catalog.current_setting('transaction_read_only') = 'off'
       AND pg_catalog.current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM enspiral.chain_link_pending(chain_link_if_writable.group_id, true);
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.chain_link_if_writable(bigint) IS
    'Internal: runs the linker for a group (waiting for its lock) in a READ COMMITTED transaction that may write on a primary; elsewhere links nothing (verify_chain then lists the rows not linked yet as pending)';

CREATE FUNCTION enspiral.chain_problems(group_id bigint)
    RETURNS TABLE ("position" bigint, source text, row_key bigint[], problem text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus plans a query over several distributed
    -- tables only with the value of group_id known (doc/scaling.md)
    RETURN QUERY
    WITH s AS (
        SELECT s.linked_below, s.head_position FROM enspiral.chain_state s
         WHERE s.group_id = chain_problems.group_id
    ), l AS (
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
           CASE WHEN l.position IS NULL THEN
                    -- not linked yet, or skipped by the linker (no chain key, or one it passed)
                    CASE WHEN e.chain_key >= coalesce((SELECT s.linked_below FROM s), e.chain_key)
                         THEN 'pending' ELSE 'unlinked row' END
                WHEN l.prev_position <> l.position - 1 THEN 'gap before link'
                WHEN e.source IS NULL THEN 'row missing'
                ELSE 'hash mismatch' END
      FROM l FULL JOIN e ON e.source = l.source AND e.row_key = l.row_key
     WHERE l.position IS NULL OR e.source IS NULL
        OR l.prev_position <> l.position - 1
        OR l.hash <> enspiral.chain_hash(l.prev_hash, l.position, e.content)
    UNION ALL
    -- the chain is shorter than the linker left it: its last links were deleted
    SELECT coalesce(pg_catalog.max(l.position), 0) + 1, NULL, NULL, 'links missing at the end'
      FROM enspiral.chain_links l
     WHERE l.group_id = chain_problems.group_id
    HAVING coalesce(pg_catalog.max(l.position), 0) < (SELECT s.head_position FROM s);
END
$$;
COMMENT ON FUNCTION enspiral.chain_problems(bigint) IS
    'Internal: every link of a group''s chain that does not verify, every chained row without a link (pending when the linker has not reached it yet) and links missing at the end';

CREATE FUNCTION enspiral.verify_chain(group_id bigint)
    RETURNS TABLE ("position" bigint, source text, row_key bigint[], problem text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.chain_require_group(verify_chain.group_id);
    PERFORM enspiral.chain_link_if_writable(verify_chain.group_id);
    RETURN QUERY
        SELECT p.position, p.source, p.row_key, p.problem
          FROM enspiral.chain_problems(verify_chain.group_id) p
         ORDER BY p.position NULLS LAST, p.problem = 'pending', p.source, p.row_key;
END
$$;
COMMENT ON FUNCTION enspiral.verify_chain(bigint) IS
    'Links the group''s committed rows (in a READ COMMITTED transaction that may write), then checks its hash chain: returns the broken links in chain order (hash mismatch: the row or the link was rewritten; row missing; gap before link; links missing at the end), then the chained rows without a link (unlinked row; pending: written after the linker''s last run, no failure); no rows when the chain is sound';

CREATE FUNCTION enspiral.chain_head(group_id bigint)
    RETURNS TABLE ("position" bigint, head text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.chain_require_group(chain_head.group_id);
    PERFORM enspiral.chain_link_if_writable(chain_head.group_id);
    RETURN QUERY
        SELECT h.position, pg_catalog.encode(h.hash, 'hex')
          FROM enspiral.chain_head_link(chain_head.group_id) h;
END
$$;
COMMENT ON FUNCTION enspiral.chain_head(bigint) IS
    'Links the group''s committed rows (in a READ COMMITTED transaction that may write), then returns the head of its chain: position and hash (hex; NULL while the chain is empty), for a member to keep';

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
        PERFORM enspiral.raise_not_found(group_id, 'proposal', proposal_id);
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
        PERFORM enspiral.raise_not_found(group_id, 'round', round_id);
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
REVOKE ALL ON FUNCTION enspiral.chain_content(enspiral.events) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_link_pending(bigint, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_link_if_writable(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_stamp() FROM PUBLIC;
REVOKE ALL ON enspiral.chain_state FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.chain_links', '');
-- the linker's place is found again after a restore (see chain_state)
SELECT pg_catalog.pg_extension_config_dump('enspiral.chain_state', 'WHERE false');
