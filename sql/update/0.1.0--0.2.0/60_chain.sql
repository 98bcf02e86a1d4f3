
------------------------------------------------------------------------------
-- Part 60 (records that prove themselves, doc/audit.md): the hash chain of
-- each group, its verification, the chain head on recorded outcomes, and
-- history as of a time.  The objects are those of sql/install/60_chain.sql;
-- the rows written by 0.1.0 get their chain at the end of this part.
------------------------------------------------------------------------------

-- the chain head stamped on recorded outcomes is no part of the count
-- @function enspiral.verify_outcome(proposal_id bigint)

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
-- @function enspiral.chain_content(t enspiral.transfers)

-- @function enspiral.chain_content(o enspiral.outcomes)

-- @function enspiral.chain_hash(prev bytea, "position" bigint, content text)

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

-- @function enspiral.chain_head_link(group_id bigint)

-- @function enspiral.chain_link()

-- @function enspiral.chain_stamp()

CREATE CONSTRAINT TRIGGER transfers_chain AFTER INSERT ON enspiral.transfers
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION enspiral.chain_link('transfers', 'transfer_id');
COMMENT ON TRIGGER transfers_chain ON enspiral.transfers IS
    'Every transfer is linked into its group''s hash chain when its transaction commits';
CREATE CONSTRAINT TRIGGER outcomes_chain AFTER INSERT ON enspiral.outcomes
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION enspiral.chain_link('outcomes', 'proposal_id', 'opening');
COMMENT ON TRIGGER outcomes_chain ON enspiral.outcomes IS
    'Every recorded outcome is linked into its group''s hash chain when its transaction commits';
CREATE TRIGGER outcomes_chain_stamp BEFORE INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.chain_stamp();
COMMENT ON TRIGGER outcomes_chain_stamp ON enspiral.outcomes IS
    'A recorded outcome carries the chain head of its group';

------------------------------------------------------------------------------
-- Verification
------------------------------------------------------------------------------

-- @function enspiral.chain_require_group(group_id bigint)

-- @function enspiral.chain_problems(group_id bigint)

-- @function enspiral.verify_chain(group_id bigint)

-- @function enspiral.chain_head(group_id bigint)

-- @function enspiral.verify_chain_head(group_id bigint, head text)

------------------------------------------------------------------------------
-- History as of a time
------------------------------------------------------------------------------

-- @function enspiral.outcome_as_of(group_id bigint, proposal_id bigint, at timestamptz)

-- @function enspiral.balance_as_of(group_id bigint, round_id bigint, member_id bigint, at timestamptz)

-- @function enspiral.catalysts_as_of(group_id bigint, at timestamptz)

-- @function enspiral.members_as_of(group_id bigint, at timestamptz)

REVOKE ALL ON enspiral.chain_links FROM PUBLIC;
REVOKE ALL ON enspiral.chain_entries FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_content(enspiral.transfers) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_content(enspiral.outcomes) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_head_link(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_problems(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_require_group(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.chain_link() FROM PUBLIC;
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
