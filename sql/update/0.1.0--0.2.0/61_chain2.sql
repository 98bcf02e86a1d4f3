------------------------------------------------------------------------------
-- Part 61 (records that prove themselves, lazily linked; doc/audit.md): the
-- writers stop linking (part 60's deferred link triggers are gone), rows get
-- a chain key, events join the chain, and a linker links in batches.  The
-- objects are those of sql/install/75_chain.sql.  At the end every group's
-- events (and anything written by this update) are linked after the rows
-- that part 60 linked.
------------------------------------------------------------------------------

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
-- (added without a default first: the rows of 0.1.0 keep NULL, as they
-- were linked by part 60, and the table is not rewritten)
ALTER TABLE enspiral.transfers ADD COLUMN chain_key bigint;
ALTER TABLE enspiral.transfers ALTER COLUMN chain_key SET DEFAULT enspiral.next_event_id();
COMMENT ON COLUMN enspiral.transfers.chain_key IS
    'Where the transfer stands for the linker of the hash chain: an event id of the writing transaction (NULL for rows written by 0.1.0, linked on update)';
CREATE INDEX transfers_chain_key ON enspiral.transfers (group_id, chain_key);
COMMENT ON INDEX enspiral.transfers_chain_key IS
    'The linker of the hash chain reads the transfers written since its last run';
ALTER TABLE enspiral.outcomes ADD COLUMN chain_key bigint;
ALTER TABLE enspiral.outcomes ALTER COLUMN chain_key SET DEFAULT enspiral.next_event_id();
COMMENT ON COLUMN enspiral.outcomes.chain_key IS
    'Where the outcome stands for the linker of the hash chain: an event id of the recording transaction (NULL for outcomes recorded by 0.1.0, linked on update)';
CREATE INDEX outcomes_chain_key ON enspiral.outcomes (group_id, chain_key);
COMMENT ON INDEX enspiral.outcomes_chain_key IS
    'The linker of the hash chain reads the outcomes recorded since its last run';

-- @function enspiral.chain_content(e enspiral.events)

-- each row is passed to chain_content as ROW(x.*) of its table's type, not
-- as the whole-row x: on Citus the query runs on a shard, whose whole row
-- has the shard's type (doc/scaling.md)
CREATE OR REPLACE VIEW enspiral.chain_entries AS
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

COMMENT ON TRIGGER outcomes_chain_stamp ON enspiral.outcomes IS
    'A recorded outcome carries the chain head of its group, after every committed row was linked';

-- @function enspiral.chain_problems(group_id bigint)

REVOKE ALL ON FUNCTION enspiral.chain_content(enspiral.events) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_problems(bigint) FROM PUBLIC;
REVOKE ALL ON enspiral.chain_state FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.chain_state', 'WHERE false');

-- the linker, needed now to link the events of every group
-- @function enspiral.chain_link_pending(group_id bigint, wait boolean)
REVOKE ALL ON FUNCTION enspiral.chain_link_pending(bigint, boolean) FROM PUBLIC;
SELECT pg_catalog.count(enspiral.chain_link_pending(g.group_id, true)) FROM enspiral.groups g;
