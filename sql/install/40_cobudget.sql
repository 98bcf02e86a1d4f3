------------------------------------------------------------------------------
-- Co-budgeting: rounds, accounts, an append-only double-entry ledger,
-- buckets and contributions.  doc/cobudgeting.md describes the model, a worked
-- round and the lock order (round -> buckets ascending -> accounts ascending).
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.normalize_round_settings(settings jsonb) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_normalize_round_settings';
COMMENT ON FUNCTION enspiral.normalize_round_settings(jsonb) IS
    'Validates round settings against the settings registry (doc/settings.md: max_per_member_per_bucket, currency, underfunded = refund|keep, bucket_creation_closes_at, accept_funding_at_min, allow_withdraw, hide_totals, allow_reopen_funding) and returns them with defaults filled in; NS006 names the key in COLUMN';

-- @triggers (tools/triggers.pl): rounds_guard (40_cobudget),
--   rounds_no_truncate (40_cobudget), rounds_events (70_events)
CREATE TABLE enspiral.rounds (
    group_id      bigint NOT NULL REFERENCES enspiral.groups,
    round_id      bigint GENERATED ALWAYS AS IDENTITY,
    name          text NOT NULL CHECK (btrim(name) <> ''),
    pool          bigint NOT NULL CHECK (pool >= 0),
    opens_at      timestamptz NOT NULL,
    closes_at     timestamptz NOT NULL,
    settings      jsonb NOT NULL CHECK (settings = enspiral.normalize_round_settings(settings)),
    max_per_member_per_bucket bigint
                  GENERATED ALWAYS AS ((settings ->> 'max_per_member_per_bucket')::bigint) STORED,
    underfunded   text GENERATED ALWAYS AS (settings ->> 'underfunded') STORED,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_at     timestamptz,
    matched_at    timestamptz,
    matching_pool bigint CHECK (matching_pool >= 0),
    topped_up     bigint NOT NULL DEFAULT 0 CHECK (topped_up >= 0),
    PRIMARY KEY (group_id, round_id),
    CHECK (opens_at < closes_at),
    CHECK ((matched_at IS NULL) = (matching_pool IS NULL)),
    CHECK (matched_at IS NULL OR closed_at IS NOT NULL)
);
COMMENT ON TABLE enspiral.rounds IS
    'Co-budgeting rounds: a pool of money (minor units) split among members and given to buckets between opens_at and closes_at';
-- part 80_citus: a plain index instead of UNIQUE (id), so the table can be
-- distributed by group_id (doc/scaling.md)
CREATE INDEX rounds_round_id_idx ON enspiral.rounds (round_id);
COMMENT ON INDEX enspiral.rounds_round_id_idx IS
    'Lookups by round_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';
COMMENT ON COLUMN enspiral.rounds.pool IS
    'The pool funded into the round at creation (a transfer from the round''s source account)';
COMMENT ON COLUMN enspiral.rounds.settings IS
    'Normalized settings: max_per_member_per_bucket (amount or null), currency (label or null), underfunded (refund|keep)';
COMMENT ON COLUMN enspiral.rounds.closed_at IS 'When close_round ran; NULL while the round is not closed';
COMMENT ON COLUMN enspiral.rounds.matched_at IS 'When match_round paid the matches; NULL until then';
COMMENT ON COLUMN enspiral.rounds.topped_up IS
    'What enspiral.top_up_round() added to the pool after creation (fund transfers from the source account); only grows, only before the close';

CREATE TYPE enspiral.account_kind AS ENUM ('source', 'pool', 'member', 'bucket', 'matching');
COMMENT ON TYPE enspiral.account_kind IS
    'Kinds of ledger accounts of a round: source (outside money), pool, member, bucket, matching';
CREATE TYPE enspiral.transfer_kind AS ENUM ('fund', 'allocate', 'contribute', 'refund', 'match_fund', 'match', 'deallocate');
COMMENT ON TYPE enspiral.transfer_kind IS
    'Kinds of ledger transfers: fund (source->pool), allocate (pool->member), contribute (member->bucket), refund (a reversal), match_fund (source->matching), match (matching->bucket), deallocate (member->pool, a SET allocation below the balance)';

-- @triggers (tools/triggers.pl): accounts_guard (40_cobudget),
--   accounts_no_truncate (40_cobudget)
CREATE TABLE enspiral.accounts (
    group_id    bigint NOT NULL,
    account_id  bigint GENERATED ALWAYS AS IDENTITY,
    round_id    bigint NOT NULL,
    kind        enspiral.account_kind NOT NULL,
    owner_id    bigint,
    balance     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, account_id),
    UNIQUE NULLS NOT DISTINCT (group_id, round_id, kind, owner_id),
    FOREIGN KEY (group_id, round_id) REFERENCES enspiral.rounds (group_id, round_id),
    CHECK ((kind IN ('member', 'bucket')) = (owner_id IS NOT NULL)),
    CONSTRAINT accounts_no_overdraft
        CHECK (CASE WHEN kind = 'source' THEN balance <= 0 ELSE balance >= 0 END)
);
COMMENT ON TABLE enspiral.accounts IS
    'Ledger accounts of a round: source (outside money, balance <= 0), pool, member, bucket, matching; no balance but the source''s is negative (accounts_no_overdraft); balance is maintained by the ledger trigger and always equals the sum of the account''s transfers';
COMMENT ON COLUMN enspiral.accounts.owner_id IS 'member_id of a member account, bucket_id of a bucket account, NULL otherwise';

-- @triggers (tools/triggers.pl): ledger_apply (40_cobudget),
--   transfers_append_only (40_cobudget), transfers_no_truncate (40_cobudget),
--   transfers_events (70_events)
CREATE TABLE enspiral.transfers (
    group_id        bigint NOT NULL,
    transfer_id     bigint GENERATED ALWAYS AS IDENTITY,
    round_id        bigint NOT NULL,
    kind            enspiral.transfer_kind NOT NULL,
    from_account    bigint NOT NULL,
    to_account      bigint NOT NULL,
    amount          bigint NOT NULL CHECK (amount > 0),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    idempotency_key text CHECK (idempotency_key <> ''),
    reverses        bigint,
    PRIMARY KEY (group_id, transfer_id),
    CHECK (from_account <> to_account),
    CHECK ((kind = 'refund') = (reverses IS NOT NULL))
);
COMMENT ON TABLE enspiral.transfers IS
    'The append-only double-entry ledger: each row moves amount from one account to another of the same round; never updated or deleted (corrections are reversing transfers)';
COMMENT ON COLUMN enspiral.transfers.reverses IS
    'For a refund: the transfer it reverses (same accounts swapped, same amount); each transfer is reversed at most once';
COMMENT ON COLUMN enspiral.transfers.idempotency_key IS
    'Optional client key, unique per group: a repeated contribute with the same key returns this transfer';

CREATE UNIQUE INDEX transfers_idempotency ON enspiral.transfers (group_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
COMMENT ON INDEX enspiral.transfers_idempotency IS 'Idempotency keys are unique per group';
CREATE UNIQUE INDEX transfers_reversal ON enspiral.transfers (group_id, reverses)
    WHERE reverses IS NOT NULL;
COMMENT ON INDEX enspiral.transfers_reversal IS 'A transfer is reversed (refunded) at most once';
CREATE INDEX transfers_to_from ON enspiral.transfers (group_id, to_account, from_account);
COMMENT ON INDEX enspiral.transfers_to_from IS 'What entered an account, by origin (bucket totals per member, refunds)';

-- @triggers (tools/triggers.pl): buckets_guard (40_cobudget),
--   buckets_no_truncate (40_cobudget), buckets_events (70_events)
CREATE TABLE enspiral.buckets (
    group_id    bigint NOT NULL,
    bucket_id   bigint GENERATED ALWAYS AS IDENTITY,
    round_id    bigint NOT NULL,
    author_id   bigint NOT NULL,
    title       text NOT NULL CHECK (btrim(title) <> ''),
    min_goal    bigint NOT NULL CHECK (min_goal >= 0),
    max_goal    bigint NOT NULL CHECK (max_goal > 0),
    state       enspiral.bucket_state NOT NULL DEFAULT 'idea',
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    state_changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, bucket_id),
    FOREIGN KEY (group_id, round_id) REFERENCES enspiral.rounds (group_id, round_id),
    CHECK (min_goal <= max_goal)
);
COMMENT ON TABLE enspiral.buckets IS
    'Buckets (projects) of a round with a minimum and maximum goal; their money is the balance of their ledger account';
-- part 80_citus: a plain index instead of UNIQUE (id), so the table can be
-- distributed by group_id (doc/scaling.md)
CREATE INDEX buckets_bucket_id_idx ON enspiral.buckets (bucket_id);
COMMENT ON INDEX enspiral.buckets_bucket_id_idx IS
    'Lookups by bucket_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';
COMMENT ON COLUMN enspiral.buckets.author_id IS
    'The member who proposed the bucket (checked to be a current member by create_bucket; members are never deleted)';
COMMENT ON COLUMN enspiral.buckets.state IS
    'idea -> open -> funded -> completed; idea/open/funded -> cancelled (checked by the shared bucket lifecycle)';
CREATE INDEX buckets_round ON enspiral.buckets (group_id, round_id, bucket_id);
COMMENT ON INDEX enspiral.buckets_round IS 'The buckets of a round, in lock order';

------------------------------------------------------------------------------
-- Guards: balances change only through transfers; nothing is deleted
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.ledger_apply() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_ledger_apply';
COMMENT ON FUNCTION enspiral.ledger_apply() IS
    'Trigger: applies an inserted transfer to the balances of its two accounts (same round), checking reversals mirror what they reverse';
CREATE TRIGGER ledger_apply AFTER INSERT ON enspiral.transfers
    FOR EACH ROW EXECUTE FUNCTION enspiral.ledger_apply();
COMMENT ON TRIGGER ledger_apply ON enspiral.transfers IS
    'Applies each inserted transfer to the two account balances';

CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON enspiral.transfers
    FOR EACH ROW EXECUTE FUNCTION enspiral.guard_append_only(
        'The ledger is append-only; correct a transfer with a reversing transfer.');
COMMENT ON TRIGGER transfers_append_only ON enspiral.transfers IS
    'Transfers are never updated or deleted (NS011)';
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON enspiral.transfers
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.guard_append_only(
        'The ledger is append-only; correct a transfer with a reversing transfer.');
COMMENT ON TRIGGER transfers_no_truncate ON enspiral.transfers IS
    'The ledger is never truncated (NS011)';

CREATE FUNCTION enspiral.accounts_guard() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_accounts_guard';
COMMENT ON FUNCTION enspiral.accounts_guard() IS
    'Trigger: accounts open at 0, change only through transfers and are never deleted';
CREATE TRIGGER accounts_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.accounts
    FOR EACH ROW EXECUTE FUNCTION enspiral.accounts_guard();
COMMENT ON TRIGGER accounts_guard ON enspiral.accounts IS
    'Accounts open at 0, change only through transfers, are never deleted';
CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON enspiral.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.accounts_guard();
COMMENT ON TRIGGER accounts_no_truncate ON enspiral.accounts IS
    'Ledger accounts are never truncated (NS011)';

CREATE FUNCTION enspiral.buckets_guard() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_buckets_guard';
COMMENT ON FUNCTION enspiral.buckets_guard() IS
    'Trigger: buckets start as ideas, change state only along the bucket lifecycle, keep their identity and goals, and are never deleted';
CREATE TRIGGER buckets_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.buckets
    FOR EACH ROW EXECUTE FUNCTION enspiral.buckets_guard();
COMMENT ON TRIGGER buckets_guard ON enspiral.buckets IS
    'Bucket lifecycle, fixed terms, no deletion';
CREATE TRIGGER buckets_no_truncate BEFORE TRUNCATE ON enspiral.buckets
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.buckets_guard();
COMMENT ON TRIGGER buckets_no_truncate ON enspiral.buckets IS
    'Buckets are never truncated (NS011)';

CREATE FUNCTION enspiral.rounds_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'rounds_guard', 'enspiral.rounds');
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'rounds cannot be deleted' USING ERRCODE = 'NS011';
    END IF;
    IF (NEW.group_id, NEW.round_id, NEW.name, NEW.pool, NEW.opens_at, NEW.closes_at,
        NEW.settings, NEW.created_at)
       IS DISTINCT FROM
       (OLD.group_id, OLD.round_id, OLD.name, OLD.pool, OLD.opens_at, OLD.closes_at,
        OLD.settings, OLD.created_at)
       OR (OLD.closed_at IS NOT NULL AND NEW.closed_at IS DISTINCT FROM OLD.closed_at)
       OR NEW.topped_up < OLD.topped_up
       OR (OLD.closed_at IS NOT NULL AND NEW.topped_up <> OLD.topped_up)
       OR (OLD.matched_at IS NOT NULL
           AND (NEW.matched_at, NEW.matching_pool) IS DISTINCT FROM (OLD.matched_at, OLD.matching_pool)) THEN
        RAISE EXCEPTION 'round can only be closed once and matched once'
            USING ERRCODE = 'NS007',
                  DETAIL = pg_catalog.format('The update changes the close or match of round %s.', OLD.round_id),
                  HINT = 'Use enspiral.close_round(), enspiral.match_round() and enspiral.top_up_round().';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION enspiral.rounds_guard() IS
    'Trigger: a round''s terms never change; it is closed once and matched once; topped_up only grows before the close; never deleted';
CREATE TRIGGER rounds_guard BEFORE UPDATE OR DELETE ON enspiral.rounds
    FOR EACH ROW EXECUTE FUNCTION enspiral.rounds_guard();
COMMENT ON TRIGGER rounds_guard ON enspiral.rounds IS
    'Round terms are fixed; closed once, matched once; never deleted';
CREATE TRIGGER rounds_no_truncate BEFORE TRUNCATE ON enspiral.rounds
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.rounds_guard();
COMMENT ON TRIGGER rounds_no_truncate ON enspiral.rounds IS
    'Rounds are never truncated (NS011)';

------------------------------------------------------------------------------
-- API
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.create_round(group_id bigint, name text, pool bigint,
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
            USING ERRCODE = 'null_value_not_allowed',
                  COLUMN = CASE WHEN group_id IS NULL THEN 'group_id' WHEN pool IS NULL THEN 'pool'
                                WHEN opens_at IS NULL THEN 'opens_at' WHEN closes_at IS NULL THEN 'closes_at'
                                ELSE 'settings' END;
    END IF;
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'round name must not be empty' USING ERRCODE = 'NS401', COLUMN = 'name';
    END IF;
    IF pool < 0 THEN
        RAISE EXCEPTION 'round pool must not be negative'
            USING ERRCODE = 'NS407', COLUMN = 'pool',
                  DETAIL = pg_catalog.format('The pool given is %s.', pool);
    END IF;
    IF opens_at >= closes_at THEN
        RAISE EXCEPTION 'round must open before it closes'
            USING ERRCODE = 'NS403', COLUMN = 'closes_at';
    END IF;
    IF (enspiral.normalize_round_settings(settings) ->> 'bucket_creation_closes_at')::timestamptz > closes_at THEN
        RAISE EXCEPTION 'bucket creation must close no later than the round'
            USING ERRCODE = 'NS006', COLUMN = 'bucket_creation_closes_at',
                  DETAIL = 'The setting bucket_creation_closes_at is after closes_at.';
    END IF;
    PERFORM 1 FROM enspiral.groups g WHERE g.group_id = create_round.group_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
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

CREATE FUNCTION enspiral.allocate(round_id bigint, member_ids bigint[] DEFAULT NULL,
                                  weights numeric[] DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_allocate';
COMMENT ON FUNCTION enspiral.allocate(bigint, bigint[], numeric[]) IS
    'Moves the whole undistributed pool to members (all current members equally, or the given members by weight), split exactly by enspiral.apportion; returns the amount moved';

-- check_bucket_args(): the arguments of a new bucket (both forms of create_bucket)
CREATE FUNCTION enspiral.check_bucket_args(round_id bigint, author_id bigint, title text,
                                           min_goal bigint, max_goal bigint)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF round_id IS NULL OR author_id IS NULL OR min_goal IS NULL OR max_goal IS NULL THEN
        RAISE EXCEPTION 'round_id, author_id, min_goal and max_goal must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF title IS NULL OR btrim(title) = '' THEN
        RAISE EXCEPTION 'bucket title must not be empty' USING ERRCODE = 'NS401', COLUMN = 'title';
    END IF;
    IF min_goal < 0 OR max_goal <= 0 OR min_goal > max_goal THEN
        RAISE EXCEPTION 'invalid bucket goals'
            USING ERRCODE = 'NS404', COLUMN = CASE WHEN max_goal <= 0 THEN 'max_goal' ELSE 'min_goal' END,
                  DETAIL = pg_catalog.format('Goals must satisfy 0 <= min_goal <= max_goal and max_goal > 0; min_goal is %s and max_goal is %s.',
                                             min_goal, max_goal);
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.check_bucket_args(bigint, bigint, text, bigint, bigint) IS
    'Internal: NULL arguments, an empty title (NS401) and goals outside 0 <= min_goal <= max_goal, max_goal > 0 (NS404) of a new bucket';

-- insert_bucket(): a new bucket of round r (both forms of create_bucket);
-- no round lock: a bucket created while the round closes stays an idea
-- that can no longer be opened
CREATE FUNCTION enspiral.insert_bucket(r enspiral.rounds, author_id bigint, title text,
                                       min_goal bigint, max_goal bigint)
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint := r.group_id;
    rid bigint := r.round_id;
    bid bigint;
BEGIN
    IF r.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'round is closed'
            USING ERRCODE = 'NS203',
                  DETAIL = pg_catalog.format('Round %s takes no new buckets.', rid);
    END IF;
    IF pg_catalog.now() >= (r.settings ->> 'bucket_creation_closes_at')::timestamptz THEN
        RAISE EXCEPTION 'bucket creation has closed'
            USING ERRCODE = 'NS255',
                  DETAIL = pg_catalog.format('The setting bucket_creation_closes_at of round %s has passed.', rid),
                  HINT = 'Existing buckets can still be opened and funded until the round closes.';
    END IF;
    IF NOT enspiral.is_member(gid, author_id) THEN
        RAISE EXCEPTION 'member is not a current member of the group'
            USING ERRCODE = 'NS004',
                  DETAIL = pg_catalog.format('Member %s is not a current member of group %s.',
                                             author_id, gid);
    END IF;
    INSERT INTO enspiral.buckets (group_id, round_id, author_id, title, min_goal, max_goal)
    VALUES (gid, rid, insert_bucket.author_id, insert_bucket.title,
            insert_bucket.min_goal, insert_bucket.max_goal)
    RETURNING bucket_id INTO bid;
    INSERT INTO enspiral.accounts (group_id, round_id, kind, owner_id)
    VALUES (gid, rid, 'bucket', bid);
    RETURN bid;
END
$$;
COMMENT ON FUNCTION enspiral.insert_bucket(enspiral.rounds, bigint, text, bigint, bigint) IS
    'Internal: inserts a bucket (state idea) and its ledger account into round r, unless the round is closed (NS203), bucket creation has closed (NS255) or the author is no current member (NS004)';
REVOKE ALL ON FUNCTION enspiral.check_bucket_args(bigint, bigint, text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.insert_bucket(enspiral.rounds, bigint, text, bigint, bigint) FROM PUBLIC;

CREATE FUNCTION enspiral.create_bucket(round_id bigint, author_id bigint, title text,
                                       min_goal bigint, max_goal bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r enspiral.rounds%ROWTYPE;
BEGIN
    PERFORM enspiral.check_bucket_args(round_id, author_id, title, min_goal, max_goal);
    SELECT * INTO r FROM enspiral.rounds x WHERE x.round_id = create_bucket.round_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(NULL, 'round', round_id);
    END IF;
    RETURN enspiral.insert_bucket(r, author_id, title, min_goal, max_goal);
END
$$;
COMMENT ON FUNCTION enspiral.create_bucket(bigint, bigint, text, bigint, bigint) IS
    'Proposes a bucket (state idea) in an unclosed round, with its ledger account; the author must be a current member';

CREATE FUNCTION enspiral.open_bucket(bucket_id bigint) RETURNS void
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_open_bucket';
COMMENT ON FUNCTION enspiral.open_bucket(bigint) IS
    'idea -> open: the bucket accepts contributions (while its round is open)';

CREATE FUNCTION enspiral.cancel_bucket(bucket_id bigint) RETURNS integer
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_cancel_bucket';
COMMENT ON FUNCTION enspiral.cancel_bucket(bigint) IS
    'idea/open/funded -> cancelled: every contribution (and match) is returned by a reversing transfer, once; returns the number of refunds';

CREATE FUNCTION enspiral.complete_bucket(bucket_id bigint) RETURNS void
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_complete_bucket';
COMMENT ON FUNCTION enspiral.complete_bucket(bigint) IS 'funded -> completed (final)';

CREATE FUNCTION enspiral.contribute(bucket_id bigint, member_id bigint, amount bigint,
                                    idempotency_key text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_contribute';
COMMENT ON FUNCTION enspiral.contribute(bigint, bigint, bigint, text) IS
    'Gives amount from a member''s round balance to an open bucket after checking every rule; returns the transfer id (the original one on an idempotent replay)';

CREATE FUNCTION enspiral.try_contribute(bucket_id bigint, member_id bigint, amount bigint,
                                        idempotency_key text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_try_contribute';
COMMENT ON FUNCTION enspiral.try_contribute(bigint, bigint, bigint, text) IS
    'Like contribute, but a refusal by a contribution rule (round window, bucket state, membership, balance, max_goal, member cap) returns NULL instead of raising, so no savepoint is needed; bad arguments, an unknown bucket and a reused idempotency key still raise';

CREATE FUNCTION enspiral.close_round(round_id bigint) RETURNS integer
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_close_round';
COMMENT ON FUNCTION enspiral.close_round(bigint) IS
    'Closes a round: open buckets at or above min_goal become funded, the others are refunded and cancelled (or kept as funded with underfunded = keep); returns the number of buckets decided';

CREATE FUNCTION enspiral.match_round(round_id bigint, matching_pool bigint,
                                     method text DEFAULT 'standard', cap bigint DEFAULT NULL,
                                     threshold numeric DEFAULT NULL, options jsonb DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_match_round';
COMMENT ON FUNCTION enspiral.match_round(bigint, bigint, text, bigint, numeric, jsonb) IS
    'After close, once per round: funds the matching account and pays enspiral.quadratic_match (with the options of doc/matching.md) over the counted contributions into the funded buckets; records the parameters for verify_match; returns the amount paid';

CREATE FUNCTION enspiral.balance(round_id bigint, member_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint;
BEGIN
    SELECT r.group_id INTO gid FROM enspiral.rounds r WHERE r.round_id = balance.round_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(NULL, 'round', round_id);
    END IF;
    RETURN enspiral.balance(gid, balance.round_id, balance.member_id);
END
$$;
COMMENT ON FUNCTION enspiral.balance(bigint, bigint) IS
    'What the member can still give in the round (0 when nothing was allocated to them; NS003 for a member unknown in the round''s group)';

CREATE FUNCTION enspiral.bucket_total(bucket_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint;
BEGIN
    SELECT b.group_id INTO gid FROM enspiral.buckets b WHERE b.bucket_id = bucket_total.bucket_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(NULL, 'bucket', bucket_id);
    END IF;
    RETURN enspiral.bucket_total(gid, bucket_total.bucket_id);
END
$$;
COMMENT ON FUNCTION enspiral.bucket_total(bigint) IS
    'What the bucket holds now (contributions and matches, 0 after a refund); NS256 while its round hides totals';

CREATE FUNCTION enspiral.bucket_state(bucket_id bigint) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint;
BEGIN
    SELECT b.group_id INTO gid FROM enspiral.buckets b WHERE b.bucket_id = bucket_state.bucket_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(NULL, 'bucket', bucket_id);
    END IF;
    RETURN enspiral.bucket_state(gid, bucket_state.bucket_id);
END
$$;
COMMENT ON FUNCTION enspiral.bucket_state(bigint) IS
    'State of a bucket: idea, open, funded, completed or cancelled (refunded at close = cancelled)';

CREATE VIEW enspiral.ledger AS
    SELECT t.group_id, t.round_id, t.transfer_id, t.kind,
           fa.kind AS from_kind, fa.owner_id AS from_owner,
           ta.kind AS to_kind, ta.owner_id AS to_owner,
           t.amount, t.reverses, t.idempotency_key, t.created_at
      FROM enspiral.transfers t
      JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account
      JOIN enspiral.accounts ta ON ta.group_id = t.group_id AND ta.account_id = t.to_account;
COMMENT ON VIEW enspiral.ledger IS
    'The transfers with the kind and owner (member or bucket id) of both accounts, for reading';

CREATE FUNCTION enspiral.verify_ledger(group_id bigint) RETURNS SETOF text
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
    SELECT format('round %s: %s entered from outside but pool + top-ups + matching pool is %s',
                  r.round_id, -COALESCE(a.balance, 0)::numeric,
                  r.pool::numeric + r.topped_up + COALESCE(r.matching_pool, 0))
      FROM enspiral.rounds r CROSS JOIN g
      LEFT JOIN acc a ON a.round_id = r.round_id AND a.kind = 'source'
     WHERE r.group_id = g.gid
       AND -COALESCE(a.balance, 0)::numeric
           <> r.pool::numeric + r.topped_up + COALESCE(r.matching_pool, 0)
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
               ('match', 'matching', 'bucket'), ('deallocate', 'member', 'pool'))
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
    -- (a bucket that accepted its funding at the minimum, where the round
    -- allows it, needs only its min_goal)
    SELECT format('bucket %s is %s in an unclosed round below its max_goal (%s < %s)',
                  c.bucket_id, c.state, sum(c.kept), max(c.max_goal))
      FROM contrib c JOIN enspiral.rounds r ON r.round_id = c.round_id
      JOIN enspiral.buckets b ON b.group_id = r.group_id AND b.bucket_id = c.bucket_id
     WHERE c.state IN ('funded', 'completed') AND r.closed_at IS NULL
     GROUP BY c.bucket_id, c.state
    HAVING COALESCE(sum(c.kept), 0) < max(c.max_goal)
       AND NOT (bool_and((r.settings ->> 'accept_funding_at_min')::boolean)
                AND COALESCE(sum(c.kept), 0) >= max(b.min_goal));
END
$$;
COMMENT ON FUNCTION enspiral.verify_ledger(bigint) IS
    'Recomputes every balance and invariant of a group''s co-budgeting ledger from the transfers; one row per problem, no rows when sound; NS002 for an unknown group';

SELECT pg_catalog.pg_extension_config_dump('enspiral.rounds', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.transfers', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.buckets', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.rounds_round_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.accounts_account_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.transfers_transfer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.buckets_bucket_id_seq', '');
COMMENT ON SEQUENCE enspiral.rounds_round_id_seq IS 'Identity of enspiral.rounds.round_id';
COMMENT ON SEQUENCE enspiral.accounts_account_id_seq IS 'Identity of enspiral.accounts.account_id (ascending: the lock order of accounts)';
COMMENT ON SEQUENCE enspiral.transfers_transfer_id_seq IS 'Identity of enspiral.transfers.transfer_id';
COMMENT ON SEQUENCE enspiral.buckets_bucket_id_seq IS 'Identity of enspiral.buckets.bucket_id (ascending: the lock order of buckets)';
