-- enspiral install script, part 10: lifecycle types and guards.
--
-- enspiral.proposal_state and enspiral.bucket_state are C base types of one
-- byte (the position of the state in its lifecycle, which is also the sort
-- order).  The transition table of each lifecycle lives in src/lifecycle_types.c
-- and nowhere else: enspiral.can_transition(), enspiral.next_states(), the
-- guard trigger enspiral.guard_lifecycle() and the built-in tables all use it.
--
-- The comparison operators are created in pg_catalog (they are members of
-- the extension and dropped with it): operator lookup follows search_path,
-- and functions that pin search_path = pg_catalog, pg_temp, as well as
-- applications that do not put enspiral on their path, must still be able
-- to write "state = 'open'" and "state < 'closed'".  Everything else lives
-- in schema enspiral.

------------------------------------------------------------------------------
-- enspiral.proposal_state
------------------------------------------------------------------------------

CREATE TYPE enspiral.proposal_state;

CREATE FUNCTION enspiral.proposal_state_in(cstring) RETURNS enspiral.proposal_state
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state_in';
COMMENT ON FUNCTION enspiral.proposal_state_in(cstring) IS
    'Text input of enspiral.proposal_state: exactly one of draft, scheduled, open, closed, withdrawn (lower case, no spaces); anything else is an error (22P02)';

CREATE FUNCTION enspiral.proposal_state_out(enspiral.proposal_state) RETURNS cstring
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state_out';
COMMENT ON FUNCTION enspiral.proposal_state_out(enspiral.proposal_state) IS
    'Text output of enspiral.proposal_state: the state name';

CREATE FUNCTION enspiral.proposal_state_recv(internal) RETURNS enspiral.proposal_state
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state_recv';
COMMENT ON FUNCTION enspiral.proposal_state_recv(internal) IS
    'Binary input of enspiral.proposal_state: the state name as text (22P03 for anything else)';

CREATE FUNCTION enspiral.proposal_state_send(enspiral.proposal_state) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_state_send';
COMMENT ON FUNCTION enspiral.proposal_state_send(enspiral.proposal_state) IS
    'Binary output of enspiral.proposal_state: the state name as text';

CREATE TYPE enspiral.proposal_state (
    INPUT = enspiral.proposal_state_in,
    OUTPUT = enspiral.proposal_state_out,
    RECEIVE = enspiral.proposal_state_recv,
    SEND = enspiral.proposal_state_send,
    INTERNALLENGTH = 1,
    PASSEDBYVALUE,
    ALIGNMENT = char,
    STORAGE = plain
);
COMMENT ON TYPE enspiral.proposal_state IS
    'Lifecycle state of a proposal: draft, scheduled, open, closed, withdrawn (one byte; sorts in lifecycle order)';

CREATE FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_eq';
COMMENT ON FUNCTION enspiral.proposal_state_eq(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the = operator of enspiral.proposal_state (equal to)';

CREATE FUNCTION enspiral.proposal_state_ne(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_ne';
COMMENT ON FUNCTION enspiral.proposal_state_ne(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the <> operator of enspiral.proposal_state (not equal to)';

CREATE FUNCTION enspiral.proposal_state_lt(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_lt';
COMMENT ON FUNCTION enspiral.proposal_state_lt(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the < operator of enspiral.proposal_state (earlier in the lifecycle than)';

CREATE FUNCTION enspiral.proposal_state_le(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_le';
COMMENT ON FUNCTION enspiral.proposal_state_le(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the <= operator of enspiral.proposal_state (earlier than or equal to)';

CREATE FUNCTION enspiral.proposal_state_gt(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_gt';
COMMENT ON FUNCTION enspiral.proposal_state_gt(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the > operator of enspiral.proposal_state (later in the lifecycle than)';

CREATE FUNCTION enspiral.proposal_state_ge(enspiral.proposal_state, enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_ge';
COMMENT ON FUNCTION enspiral.proposal_state_ge(enspiral.proposal_state, enspiral.proposal_state) IS
    'Implements the >= operator of enspiral.proposal_state (later than or equal to)';

CREATE FUNCTION enspiral.proposal_state_cmp(enspiral.proposal_state, enspiral.proposal_state) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_cmp';
COMMENT ON FUNCTION enspiral.proposal_state_cmp(enspiral.proposal_state, enspiral.proposal_state) IS
    'B-tree support of enspiral.proposal_state: -1, 0 or 1 by lifecycle position';

CREATE FUNCTION enspiral.proposal_state_hash(enspiral.proposal_state) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_hash';
COMMENT ON FUNCTION enspiral.proposal_state_hash(enspiral.proposal_state) IS
    'Hash support of enspiral.proposal_state';

CREATE FUNCTION enspiral.proposal_state_hash_extended(enspiral.proposal_state, bigint) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_hash_extended';
COMMENT ON FUNCTION enspiral.proposal_state_hash_extended(enspiral.proposal_state, bigint) IS
    'Seeded hash support of enspiral.proposal_state (hash partitioning)';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state equal to';

CREATE OPERATOR pg_catalog.<> (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state not equal to';

CREATE OPERATOR pg_catalog.< (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state earlier in the lifecycle than';

CREATE OPERATOR pg_catalog.<= (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state earlier than or equal to';

CREATE OPERATOR pg_catalog.> (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state later in the lifecycle than';

CREATE OPERATOR pg_catalog.>= (
    LEFTARG = enspiral.proposal_state, RIGHTARG = enspiral.proposal_state,
    FUNCTION = enspiral.proposal_state_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (enspiral.proposal_state, enspiral.proposal_state) IS
    'enspiral.proposal_state later than or equal to';

CREATE OPERATOR CLASS enspiral.proposal_state_ops
    DEFAULT FOR TYPE enspiral.proposal_state USING btree AS
        OPERATOR 1 pg_catalog.< ,
        OPERATOR 2 pg_catalog.<= ,
        OPERATOR 3 pg_catalog.= ,
        OPERATOR 4 pg_catalog.>= ,
        OPERATOR 5 pg_catalog.> ,
        FUNCTION 1 enspiral.proposal_state_cmp(enspiral.proposal_state, enspiral.proposal_state);
COMMENT ON OPERATOR CLASS enspiral.proposal_state_ops USING btree IS
    'Orders enspiral.proposal_state by lifecycle position';
COMMENT ON OPERATOR FAMILY enspiral.proposal_state_ops USING btree IS
    'Orders enspiral.proposal_state by lifecycle position';

CREATE OPERATOR CLASS enspiral.proposal_state_ops
    DEFAULT FOR TYPE enspiral.proposal_state USING hash AS
        OPERATOR 1 pg_catalog.= ,
        FUNCTION 1 enspiral.proposal_state_hash(enspiral.proposal_state),
        FUNCTION 2 enspiral.proposal_state_hash_extended(enspiral.proposal_state, bigint);
COMMENT ON OPERATOR CLASS enspiral.proposal_state_ops USING hash IS
    'Hashes enspiral.proposal_state (hash joins, hash aggregation, hash indexes and partitions)';
COMMENT ON OPERATOR FAMILY enspiral.proposal_state_ops USING hash IS
    'Hashes enspiral.proposal_state';

CREATE CAST (enspiral.proposal_state AS text) WITH INOUT AS ASSIGNMENT;
COMMENT ON CAST (enspiral.proposal_state AS text) IS
    'The state name (assignment cast)';
CREATE CAST (text AS enspiral.proposal_state) WITH INOUT;
COMMENT ON CAST (text AS enspiral.proposal_state) IS
    'Parses a state name strictly (explicit cast; 22P02 on anything else)';

CREATE FUNCTION enspiral.can_transition("from" enspiral.proposal_state, "to" enspiral.proposal_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_can_transition';
COMMENT ON FUNCTION enspiral.can_transition(enspiral.proposal_state, enspiral.proposal_state) IS
    'Whether the proposal lifecycle allows moving from one state to another (the same state is no change: true)';

CREATE FUNCTION enspiral.check_transition("from" enspiral.proposal_state, "to" enspiral.proposal_state, what text DEFAULT NULL)
    RETURNS void
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_check_transition';
COMMENT ON FUNCTION enspiral.check_transition(enspiral.proposal_state, enspiral.proposal_state, text) IS
    'Raises NS010 (invalid transition, message "<what> cannot move from <from> to <to>") unless the proposal lifecycle allows the move; NULL states are an error (22004)';

CREATE FUNCTION enspiral.next_states(state enspiral.proposal_state) RETURNS enspiral.proposal_state[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_proposal_next_states';
COMMENT ON FUNCTION enspiral.next_states(enspiral.proposal_state) IS
    'The states the proposal lifecycle allows moving to from a state, in lifecycle order (empty for a final state)';

------------------------------------------------------------------------------
-- enspiral.bucket_state
------------------------------------------------------------------------------

CREATE TYPE enspiral.bucket_state;

CREATE FUNCTION enspiral.bucket_state_in(cstring) RETURNS enspiral.bucket_state
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_state_in';
COMMENT ON FUNCTION enspiral.bucket_state_in(cstring) IS
    'Text input of enspiral.bucket_state: exactly one of idea, open, funded, completed, cancelled (lower case, no spaces); anything else is an error (22P02)';

CREATE FUNCTION enspiral.bucket_state_out(enspiral.bucket_state) RETURNS cstring
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_state_out';
COMMENT ON FUNCTION enspiral.bucket_state_out(enspiral.bucket_state) IS
    'Text output of enspiral.bucket_state: the state name';

CREATE FUNCTION enspiral.bucket_state_recv(internal) RETURNS enspiral.bucket_state
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_state_recv';
COMMENT ON FUNCTION enspiral.bucket_state_recv(internal) IS
    'Binary input of enspiral.bucket_state: the state name as text (22P03 for anything else)';

CREATE FUNCTION enspiral.bucket_state_send(enspiral.bucket_state) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_state_send';
COMMENT ON FUNCTION enspiral.bucket_state_send(enspiral.bucket_state) IS
    'Binary output of enspiral.bucket_state: the state name as text';

CREATE TYPE enspiral.bucket_state (
    INPUT = enspiral.bucket_state_in,
    OUTPUT = enspiral.bucket_state_out,
    RECEIVE = enspiral.bucket_state_recv,
    SEND = enspiral.bucket_state_send,
    INTERNALLENGTH = 1,
    PASSEDBYVALUE,
    ALIGNMENT = char,
    STORAGE = plain
);
COMMENT ON TYPE enspiral.bucket_state IS
    'Lifecycle state of a co-budgeting bucket: idea, open, funded, completed, cancelled (one byte; sorts in lifecycle order)';

CREATE FUNCTION enspiral.bucket_state_eq(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_eq';
COMMENT ON FUNCTION enspiral.bucket_state_eq(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the = operator of enspiral.bucket_state (equal to)';

CREATE FUNCTION enspiral.bucket_state_ne(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_ne';
COMMENT ON FUNCTION enspiral.bucket_state_ne(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the <> operator of enspiral.bucket_state (not equal to)';

CREATE FUNCTION enspiral.bucket_state_lt(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_lt';
COMMENT ON FUNCTION enspiral.bucket_state_lt(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the < operator of enspiral.bucket_state (earlier in the lifecycle than)';

CREATE FUNCTION enspiral.bucket_state_le(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_le';
COMMENT ON FUNCTION enspiral.bucket_state_le(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the <= operator of enspiral.bucket_state (earlier than or equal to)';

CREATE FUNCTION enspiral.bucket_state_gt(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_gt';
COMMENT ON FUNCTION enspiral.bucket_state_gt(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the > operator of enspiral.bucket_state (later in the lifecycle than)';

CREATE FUNCTION enspiral.bucket_state_ge(enspiral.bucket_state, enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_ge';
COMMENT ON FUNCTION enspiral.bucket_state_ge(enspiral.bucket_state, enspiral.bucket_state) IS
    'Implements the >= operator of enspiral.bucket_state (later than or equal to)';

CREATE FUNCTION enspiral.bucket_state_cmp(enspiral.bucket_state, enspiral.bucket_state) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_cmp';
COMMENT ON FUNCTION enspiral.bucket_state_cmp(enspiral.bucket_state, enspiral.bucket_state) IS
    'B-tree support of enspiral.bucket_state: -1, 0 or 1 by lifecycle position';

CREATE FUNCTION enspiral.bucket_state_hash(enspiral.bucket_state) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_hash';
COMMENT ON FUNCTION enspiral.bucket_state_hash(enspiral.bucket_state) IS
    'Hash support of enspiral.bucket_state';

CREATE FUNCTION enspiral.bucket_state_hash_extended(enspiral.bucket_state, bigint) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
    AS 'MODULE_PATHNAME', 'enspiral_lifecycle_hash_extended';
COMMENT ON FUNCTION enspiral.bucket_state_hash_extended(enspiral.bucket_state, bigint) IS
    'Seeded hash support of enspiral.bucket_state (hash partitioning)';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES
);
COMMENT ON OPERATOR pg_catalog.= (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state equal to';

CREATE OPERATOR pg_catalog.<> (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
COMMENT ON OPERATOR pg_catalog.<> (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state not equal to';

CREATE OPERATOR pg_catalog.< (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR pg_catalog.< (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state earlier in the lifecycle than';

CREATE OPERATOR pg_catalog.<= (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR pg_catalog.<= (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state earlier than or equal to';

CREATE OPERATOR pg_catalog.> (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR pg_catalog.> (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state later in the lifecycle than';

CREATE OPERATOR pg_catalog.>= (
    LEFTARG = enspiral.bucket_state, RIGHTARG = enspiral.bucket_state,
    FUNCTION = enspiral.bucket_state_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR pg_catalog.>= (enspiral.bucket_state, enspiral.bucket_state) IS
    'enspiral.bucket_state later than or equal to';

CREATE OPERATOR CLASS enspiral.bucket_state_ops
    DEFAULT FOR TYPE enspiral.bucket_state USING btree AS
        OPERATOR 1 pg_catalog.< ,
        OPERATOR 2 pg_catalog.<= ,
        OPERATOR 3 pg_catalog.= ,
        OPERATOR 4 pg_catalog.>= ,
        OPERATOR 5 pg_catalog.> ,
        FUNCTION 1 enspiral.bucket_state_cmp(enspiral.bucket_state, enspiral.bucket_state);
COMMENT ON OPERATOR CLASS enspiral.bucket_state_ops USING btree IS
    'Orders enspiral.bucket_state by lifecycle position';
COMMENT ON OPERATOR FAMILY enspiral.bucket_state_ops USING btree IS
    'Orders enspiral.bucket_state by lifecycle position';

CREATE OPERATOR CLASS enspiral.bucket_state_ops
    DEFAULT FOR TYPE enspiral.bucket_state USING hash AS
        OPERATOR 1 pg_catalog.= ,
        FUNCTION 1 enspiral.bucket_state_hash(enspiral.bucket_state),
        FUNCTION 2 enspiral.bucket_state_hash_extended(enspiral.bucket_state, bigint);
COMMENT ON OPERATOR CLASS enspiral.bucket_state_ops USING hash IS
    'Hashes enspiral.bucket_state (hash joins, hash aggregation, hash indexes and partitions)';
COMMENT ON OPERATOR FAMILY enspiral.bucket_state_ops USING hash IS
    'Hashes enspiral.bucket_state';

CREATE CAST (enspiral.bucket_state AS text) WITH INOUT AS ASSIGNMENT;
COMMENT ON CAST (enspiral.bucket_state AS text) IS
    'The state name (assignment cast)';
CREATE CAST (text AS enspiral.bucket_state) WITH INOUT;
COMMENT ON CAST (text AS enspiral.bucket_state) IS
    'Parses a state name strictly (explicit cast; 22P02 on anything else)';

CREATE FUNCTION enspiral.can_transition("from" enspiral.bucket_state, "to" enspiral.bucket_state) RETURNS boolean
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_can_transition';
COMMENT ON FUNCTION enspiral.can_transition(enspiral.bucket_state, enspiral.bucket_state) IS
    'Whether the bucket lifecycle allows moving from one state to another (the same state is no change: true)';

CREATE FUNCTION enspiral.check_transition("from" enspiral.bucket_state, "to" enspiral.bucket_state, what text DEFAULT NULL)
    RETURNS void
    LANGUAGE c IMMUTABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_check_transition';
COMMENT ON FUNCTION enspiral.check_transition(enspiral.bucket_state, enspiral.bucket_state, text) IS
    'Raises NS010 (invalid transition, message "<what> cannot move from <from> to <to>") unless the bucket lifecycle allows the move; NULL states are an error (22004)';

CREATE FUNCTION enspiral.next_states(state enspiral.bucket_state) RETURNS enspiral.bucket_state[]
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_bucket_next_states';
COMMENT ON FUNCTION enspiral.next_states(enspiral.bucket_state) IS
    'The states the bucket lifecycle allows moving to from a state, in lifecycle order (empty for a final state)';
------------------------------------------------------------------------------
-- Guards: trigger functions that attach the rules to any table
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.guard_lifecycle() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_guard_lifecycle';
COMMENT ON FUNCTION enspiral.guard_lifecycle() IS
    'Trigger (BEFORE UPDATE FOR EACH ROW, argument: the state column): refuses a change of a proposal_state or bucket_state column that its lifecycle does not allow (NS010)';

CREATE FUNCTION enspiral.guard_deadline() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_guard_deadline';
COMMENT ON FUNCTION enspiral.guard_deadline() IS
    'Trigger (BEFORE INSERT OR UPDATE FOR EACH ROW, arguments: state column, timestamptz deadline column): a row may be open only while its deadline is later than the transaction time (NS012)';

CREATE FUNCTION enspiral.guard_append_only() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'enspiral_guard_append_only';
COMMENT ON FUNCTION enspiral.guard_append_only() IS
    'Trigger (BEFORE UPDATE OR DELETE FOR EACH ROW, and BEFORE TRUNCATE FOR EACH STATEMENT; optional argument: a hint): makes a table append-only (NS011)';

-- Member identities are permanent (replaces the PL/pgSQL guard of part 00).
CREATE TRIGGER members_append_only BEFORE UPDATE OR DELETE ON enspiral.members
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(
        'Member identities are permanent; use enspiral.remove_member() to end a membership.');
COMMENT ON TRIGGER members_append_only ON enspiral.members IS
    'Member identities are never updated or deleted (NS011)';
CREATE TRIGGER members_no_truncate BEFORE TRUNCATE ON enspiral.members
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(
        'Member identities are permanent; use enspiral.remove_member() to end a membership.');
COMMENT ON TRIGGER members_no_truncate ON enspiral.members IS
    'enspiral.members is never truncated (NS011)';

------------------------------------------------------------------------------
-- Adoption: an application's existing table takes on a lifecycle
------------------------------------------------------------------------------

-- The user column "col" of table "tbl" and its base type (domains resolved);
-- errors name the table and column.
CREATE FUNCTION enspiral.adoption_column_type(tbl regclass, col name) RETURNS regtype
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    typ oid;
    kind "char";
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION 'column name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.atttypid INTO typ FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column does not exist'
            USING ERRCODE = 'undefined_column',
                  DETAIL = pg_catalog.format('Table %s has no column "%s".', tbl, col);
    END IF;
    LOOP
        SELECT t.typtype INTO kind FROM pg_catalog.pg_type t WHERE t.oid = typ;
        EXIT WHEN kind <> 'd';
        SELECT t.typbasetype INTO typ FROM pg_catalog.pg_type t WHERE t.oid = typ;
    END LOOP;
    RETURN typ;
END
$$;
COMMENT ON FUNCTION enspiral.adoption_column_type(regclass, name) IS
    'Base type of a user column of a table (domains resolved); errors (42703) when the column does not exist';

-- The schema and name of a table that may take guard triggers
CREATE FUNCTION enspiral.adoption_table(tbl regclass, OUT nsp name, OUT rel name)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT n.nspname, c.relname, c.relkind INTO nsp, rel, kind
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'guards attach only to tables'
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = pg_catalog.format('%s is not a table.', tbl),
                  HINT = 'Guards attach to ordinary and partitioned tables.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.adoption_table(regclass) IS
    'Schema and name of a table that guard triggers can be attached to; errors (42809) for views and other relations';

CREATE FUNCTION enspiral.adopt_lifecycle(tbl regclass, state_column name,
                                         deadline_column name DEFAULT NULL)
    RETURNS text[]
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    typ regtype;
    trg text;
    made text[] := '{}';
BEGIN
    t := enspiral.adoption_table(tbl);
    typ := enspiral.adoption_column_type(tbl, state_column);
    IF typ NOT IN ('enspiral.proposal_state'::regtype, 'enspiral.bucket_state'::regtype) THEN
        RAISE EXCEPTION 'state column is not of a lifecycle type'
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = pg_catalog.format('Column "%s" of table %s is of type %s.', state_column, tbl, typ),
                  HINT = 'Convert it first, e.g. ALTER TABLE ... ALTER COLUMN ... TYPE enspiral.proposal_state USING ...::text::enspiral.proposal_state.';
    END IF;
    IF deadline_column IS NOT NULL THEN
        typ := enspiral.adoption_column_type(tbl, deadline_column);
        IF typ <> 'timestamptz'::regtype THEN
            RAISE EXCEPTION 'deadline column is not of type timestamp with time zone'
                USING ERRCODE = 'datatype_mismatch',
                      DETAIL = pg_catalog.format('Column "%s" of table %s is of type %s.',
                                                 deadline_column, tbl, typ);
        END IF;
    END IF;
    -- "zz_" makes the guards fire after the table's own BEFORE triggers
    -- (triggers of one event fire in name order), so they judge the final row;
    -- the cast to name clips long names the way CREATE TRIGGER would
    trg := ('zz_enspiral_lifecycle_' || state_column)::name;
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE TRIGGER %I BEFORE UPDATE ON %I.%I FOR EACH ROW '
        'EXECUTE FUNCTION enspiral.guard_lifecycle(%L)', trg, t.nsp, t.rel, state_column);
    made := made || trg;
    IF deadline_column IS NOT NULL THEN
        trg := ('zz_enspiral_deadline_' || state_column)::name;
        EXECUTE pg_catalog.format(
            'CREATE OR REPLACE TRIGGER %I BEFORE INSERT OR UPDATE ON %I.%I FOR EACH ROW '
            'EXECUTE FUNCTION enspiral.guard_deadline(%L, %L)',
            trg, t.nsp, t.rel, state_column, deadline_column);
        made := made || trg;
    END IF;
    RETURN made;
END
$$;
COMMENT ON FUNCTION enspiral.adopt_lifecycle(regclass, name, name) IS
    'Attaches enspiral.guard_lifecycle() to a table''s proposal_state/bucket_state column and, with a deadline column, enspiral.guard_deadline(); returns the trigger names; idempotent';

CREATE FUNCTION enspiral.adopt_append_only(tbl regclass, hint text DEFAULT NULL)
    RETURNS text[]
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    args text := '';
BEGIN
    t := enspiral.adoption_table(tbl);
    IF hint IS NOT NULL THEN
        args := pg_catalog.format('%L', hint);
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE TRIGGER zz_enspiral_append_only BEFORE UPDATE OR DELETE ON %I.%I '
        'FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(%s)', t.nsp, t.rel, args);
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE TRIGGER zz_enspiral_no_truncate BEFORE TRUNCATE ON %I.%I '
        'FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(%s)', t.nsp, t.rel, args);
    RETURN ARRAY['zz_enspiral_append_only', 'zz_enspiral_no_truncate'];
END
$$;
COMMENT ON FUNCTION enspiral.adopt_append_only(regclass, text) IS
    'Makes a table append-only with enspiral.guard_append_only() (rows never updated or deleted, table never truncated); the hint is shown with every refusal; returns the trigger names; idempotent';
