-- The proof harness's "world": a populated database and the operations that
-- the mixed load, the crash test, the backup check and the fuzzer run on it.
-- Written against the public contracts only (enspiral.* functions in the
-- issues), so it needs no knowledge of the extension's tables.  Each
-- capability is used only when its functions are installed: proof.has()
-- decides, and proof.capabilities() lists what is covered.
--
-- Load it with psql into a database that has the extension:
--   psql -v ON_ERROR_STOP=1 -f test/proof/world.sql
--   SELECT proof.setup_world(groups => 4, members => 200);
-- Operations (one per pgbench transaction) return 'ok', 'refused:<SQLSTATE>'
-- or 'skip'; an error that is not a governance refusal (class NS) or a
-- rejected argument (22023) is caught and stored in proof.unexpected, so
-- clients keep running and the harness fails at the end.
-- proof.problems() returns one line per broken invariant (none = sound).

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS proof CASCADE;
CREATE SCHEMA proof;

CREATE TABLE proof.w_members (
    group_id  bigint NOT NULL,
    n         int NOT NULL,
    member_id bigint NOT NULL,
    member_key text NOT NULL,
    PRIMARY KEY (group_id, n)
);
CREATE TABLE proof.w_proposals (
    group_id    bigint NOT NULL,
    proposal_id bigint PRIMARY KEY,
    method      text NOT NULL,
    live        boolean NOT NULL DEFAULT true
);
CREATE INDEX ON proof.w_proposals (group_id) WHERE live;
CREATE TABLE proof.w_rounds (
    group_id bigint NOT NULL,
    round_id bigint PRIMARY KEY,
    pool     bigint NOT NULL,
    live     boolean NOT NULL DEFAULT true,
    matched  bigint NOT NULL DEFAULT 0
);
CREATE TABLE proof.w_buckets (
    group_id  bigint NOT NULL,
    round_id  bigint NOT NULL,
    bucket_id bigint PRIMARY KEY,
    max_goal  bigint NOT NULL,
    live      boolean NOT NULL DEFAULT true
);
CREATE INDEX ON proof.w_buckets (round_id);
CREATE TABLE proof.w_terms (
    group_id  bigint NOT NULL,
    term_id   bigint PRIMARY KEY,
    member_id bigint NOT NULL
);
-- what each operation did, written in the operation's own transaction: the
-- crash test checks that every key a client saw commit is here
CREATE TABLE proof.log (
    key       text PRIMARY KEY,
    kind      text NOT NULL,
    outcome   text NOT NULL,
    ref       bigint,
    args      bigint[],
    pid       int DEFAULT pg_backend_pid(),
    at        timestamptz DEFAULT clock_timestamp()
);
CREATE TABLE proof.unexpected (
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    pid       int DEFAULT pg_backend_pid(),
    op        text NOT NULL,
    sqlstate  text NOT NULL,
    message   text NOT NULL
);
CREATE TABLE proof.settings (
    key   text PRIMARY KEY,
    value bigint NOT NULL
);

-- has(signature): whether a function of the extension is installed
CREATE FUNCTION proof.has(sig text) RETURNS boolean
    LANGUAGE sql STABLE AS $$ SELECT pg_catalog.to_regprocedure(sig) IS NOT NULL $$;

-- capabilities(): which parts of the API the harness can exercise
CREATE FUNCTION proof.capabilities() RETURNS TABLE (capability text, present boolean)
    LANGUAGE sql STABLE AS $$
    VALUES ('members', proof.has('enspiral.add_member(bigint,text)')),
           ('decisions', proof.has('enspiral.vote(bigint,bigint,jsonb,text)')
                         AND proof.has('enspiral.propose(bigint,bigint,text,text,text[],jsonb)')),
           ('cobudget', proof.has('enspiral.contribute(bigint,bigint,bigint,text)')
                        AND proof.has('enspiral.create_round(bigint,text,bigint,timestamptz,timestamptz,jsonb)')),
           ('matching', proof.has('enspiral.match_round(bigint,bigint,text,bigint,numeric)')),
           ('catalyst', proof.has('enspiral.appoint_catalyst(bigint,bigint,date,integer,numeric)')),
           ('allocation', proof.has('enspiral.quadratic_match(bigint,bigint[],bigint[],bigint[],bigint,text,numeric)'))
$$;

-- cap(name): whether a capability is present
CREATE FUNCTION proof.cap(name text) RETURNS boolean
    LANGUAGE sql STABLE AS $$ SELECT present FROM proof.capabilities() WHERE capability = name $$;

-- setting(key): a world parameter
CREATE FUNCTION proof.setting(k text) RETURNS bigint
    LANGUAGE sql STABLE AS $$ SELECT value FROM proof.settings WHERE key = k $$;

-- rnd(lo, hi): a uniform random integer in [lo, hi]
CREATE FUNCTION proof.rnd(lo bigint, hi bigint) RETURNS bigint
    LANGUAGE sql VOLATILE AS $$ SELECT lo + floor(random() * (hi - lo + 1))::bigint $$;

-- refusal(state): true for the errors an operation may legitimately get
CREATE FUNCTION proof.refusal(state text) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT state LIKE 'NS%' OR state = '22023' $$;

-- note_unexpected(op, state, msg): keep an unexpected error for the report
-- (called from an exception handler: the detail and context of the error
-- are passed along by the handler through proof.last_error)
CREATE FUNCTION proof.note_unexpected(op text, state text, msg text) RETURNS text
    LANGUAGE sql AS $$
    INSERT INTO proof.unexpected (op, sqlstate, message)
    VALUES (op, state, msg || coalesce(' | ' || nullif(current_setting('proof.last_error', true), ''), ''));
    SELECT 'unexpected:' || state
$$;

-- random_member(g, lo, hi): the member numbered n (random in [lo, hi]) of group g
CREATE FUNCTION proof.random_member(g bigint, lo int, hi int) RETURNS bigint
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    k   int := proof.rnd(lo, hi)::int;
    mid bigint;
BEGIN
    SELECT w.member_id INTO mid FROM proof.w_members w WHERE w.group_id = g AND w.n = k;
    RETURN mid;
END
$$;

-- random_group(): one of the world's groups
CREATE FUNCTION proof.random_group() RETURNS bigint
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    gs bigint[] := (SELECT array_agg(DISTINCT group_id ORDER BY group_id) FROM proof.w_members);
BEGIN
    RETURN gs[proof.rnd(1, cardinality(gs))];
END
$$;

-- known(op, state): errors of the foundation already reported upstream and
-- tolerated (listed, not failed) unless PROOF_STRICT is set: concurrent
-- remove_member/add_member of one member, whose transactions started in the
-- other order, clash on the membership period (23P01/23514) because both
-- stamp the period with the transaction start time
CREATE FUNCTION proof.known(op text, state text) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT op = 'membership' AND state IN ('23P01', '23514')
       AND coalesce(current_setting('proof.strict', true), '') <> 'on'
$$;

------------------------------------------------------------------------------
-- Building blocks
------------------------------------------------------------------------------

-- new_proposal(g, method): propose and open a proposal of a method
CREATE FUNCTION proof.new_proposal(g bigint, method text, anonymous boolean DEFAULT false)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
    s   jsonb := '{}';
BEGIN
    IF anonymous THEN
        s := '{"anonymous": true}';
    END IF;
    IF method = 'consent' THEN
        s := s || '{"block_needs_reason": false}';
    END IF;
    pid := enspiral.propose(g, proof.random_member(g, 1, proof.setting('members')::int / 2),
                            'load ' || method, method,
                            CASE WHEN method = 'consent' THEN NULL ELSE ARRAY['a', 'b', 'c', 'd'] END,
                            s);
    PERFORM enspiral.open_proposal(pid, now() + interval '2 days');
    INSERT INTO proof.w_proposals (group_id, proposal_id, method) VALUES (g, pid, method);
    RETURN pid;
END
$$;

-- new_round(g): create, fund and fill a round with open buckets
CREATE FUNCTION proof.new_round(g bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    rid  bigint;
    m    int := proof.setting('members')::int;
    pool bigint := m * 10000;
    i    int;
BEGIN
    rid := enspiral.create_round(g, 'load round', pool, now(), now() + interval '2 days',
                                 '{"max_per_member_per_bucket": 5000}');
    PERFORM enspiral.allocate(rid);
    INSERT INTO proof.w_rounds (group_id, round_id, pool) VALUES (g, rid, pool);
    FOR i IN 1 .. proof.setting('buckets')::int LOOP
        PERFORM proof.new_bucket(g, rid);
    END LOOP;
    RETURN rid;
END
$$;

-- new_bucket(g, rid): create and open a bucket in a round
CREATE FUNCTION proof.new_bucket(g bigint, rid bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    bid  bigint;
    maxg bigint := proof.rnd(5, 60) * 1000;
BEGIN
    -- authors come from the first half of the members (never removed by churn)
    bid := enspiral.create_bucket(rid, proof.random_member(g, 1, proof.setting('members')::int / 2),
                                  'load bucket', maxg / 4, maxg);
    PERFORM enspiral.open_bucket(bid);
    INSERT INTO proof.w_buckets (group_id, round_id, bucket_id, max_goal) VALUES (g, rid, bid, maxg);
    RETURN bid;
END
$$;

-- setup_world(groups, members, buckets): populate the database
CREATE FUNCTION proof.setup_world(groups int DEFAULT 4, members int DEFAULT 200,
                                  buckets int DEFAULT 20)
    RETURNS TABLE (capability text, present boolean) LANGUAGE plpgsql AS $$
DECLARE
    g   bigint;
    gi  int;
    i   int;
    tid bigint;
    meth text;
BEGIN
    INSERT INTO proof.settings VALUES ('members', members), ('buckets', buckets), ('groups', groups);
    FOR gi IN 1 .. groups LOOP
        g := enspiral.create_group('load group ' || gi);
        INSERT INTO proof.w_members (group_id, n, member_id, member_key)
        SELECT g, k, enspiral.add_member(g, 'g' || gi || '-m' || k), 'g' || gi || '-m' || k
          FROM generate_series(1, members) k;
        IF proof.cap('decisions') THEN
            FOREACH meth IN ARRAY ARRAY['consent', 'choice', 'score', 'dots', 'ranked', 'quadratic'] LOOP
                PERFORM proof.new_proposal(g, meth);
            END LOOP;
            PERFORM proof.new_proposal(g, 'consent', true);
        END IF;
        IF proof.cap('cobudget') THEN
            PERFORM proof.new_round(g);
            PERFORM proof.new_round(g);
        END IF;
        IF proof.cap('catalyst') THEN
            -- four catalysts for the next six months (the minimum is three)
            FOR i IN 1 .. 4 LOOP
                tid := enspiral.appoint_catalyst(g, proof.random_member(g, i, i), current_date, 6, 1);
                INSERT INTO proof.w_terms VALUES (g, tid, proof.random_member(g, i, i));
            END LOOP;
        END IF;
    END LOOP;
    RETURN QUERY SELECT * FROM proof.capabilities();
END
$$;

------------------------------------------------------------------------------
-- Operations (one per transaction; each catches refusals)
------------------------------------------------------------------------------

-- ballot(method): a valid random ballot for options a..d
CREATE FUNCTION proof.ballot(method text) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v1 int;
    v2 int;
BEGIN
    CASE method
    WHEN 'consent' THEN
        RETURN to_jsonb((ARRAY['agree', 'agree', 'abstain', 'disagree', 'block'])[proof.rnd(1, 5)]);
    WHEN 'choice' THEN
        RETURN jsonb_build_array((ARRAY['a', 'b', 'c', 'd'])[proof.rnd(1, 4)]);
    WHEN 'score' THEN
        RETURN jsonb_build_object('a', proof.rnd(0, 5), 'b', proof.rnd(0, 5),
                                  'c', proof.rnd(0, 5), 'd', proof.rnd(0, 5));
    WHEN 'dots' THEN
        v1 := proof.rnd(0, 8);
        RETURN jsonb_build_object('a', v1, 'b', proof.rnd(0, 8 - v1));
    WHEN 'ranked' THEN
        RETURN (SELECT jsonb_agg(o ORDER BY r) FROM
                  (SELECT o, random() r FROM unnest(ARRAY['a', 'b', 'c', 'd']) o) x
                 WHERE r < 0.8 OR o = 'a');
    WHEN 'quadratic' THEN
        v1 := proof.rnd(-7, 7);
        v2 := proof.rnd(0, 7);
        RETURN jsonb_build_object('a', abs(v1), 'c', v2);
    ELSE
        RAISE EXCEPTION 'no ballot for method %', method;
    END CASE;
END
$$;

-- op_vote(key): a member votes on a live proposal of a random group
CREATE FUNCTION proof.op_vote(key text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e_detail  text;
    e_context text;
    g   bigint := proof.random_group();
    p   record;
    mid bigint;
    vid bigint;
BEGIN
    IF NOT proof.cap('decisions') THEN RETURN 'skip'; END IF;
    SELECT * INTO p FROM proof.w_proposals WHERE group_id = g AND live
     ORDER BY random() LIMIT 1;
    IF NOT FOUND THEN RETURN 'skip'; END IF;
    mid := proof.random_member(g, 1, proof.setting('members')::int);
    BEGIN
        vid := enspiral.vote(p.proposal_id, mid, proof.ballot(p.method),
                             CASE WHEN random() < 0.5 THEN 'load reason' END);
        -- rules checked at commit (deferred triggers) are checked here, inside the block
        SET CONSTRAINTS ALL IMMEDIATE;
    EXCEPTION WHEN OTHERS THEN
        IF proof.refusal(SQLSTATE) THEN
            vid := NULL;
            IF key IS NOT NULL THEN
                INSERT INTO proof.log VALUES (key, 'vote', 'refused:' || SQLSTATE, NULL,
                                              ARRAY[p.proposal_id, mid]);
            END IF;
            RETURN 'refused:' || SQLSTATE;
        END IF;
        GET STACKED DIAGNOSTICS e_detail = PG_EXCEPTION_DETAIL, e_context = PG_EXCEPTION_CONTEXT;
        PERFORM set_config('proof.last_error', concat_ws(' @ ', e_detail, split_part(e_context, E'\n', 1)), true);
        RETURN proof.note_unexpected('vote', SQLSTATE, SQLERRM);
    END;
    IF key IS NOT NULL THEN
        INSERT INTO proof.log VALUES (key, 'vote', 'ok', vid, ARRAY[p.proposal_id, mid]);
    END IF;
    RETURN 'ok';
END
$$;

-- op_contribute(key): a member funds a bucket of a live round (idempotent by key)
CREATE FUNCTION proof.op_contribute(key text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e_detail  text;
    e_context text;
    g   bigint := proof.random_group();
    b   record;
    mid bigint;
    amt bigint := proof.rnd(1, 2500);
    tid bigint;
BEGIN
    IF NOT proof.cap('cobudget') THEN RETURN 'skip'; END IF;
    SELECT wb.* INTO b FROM proof.w_buckets wb JOIN proof.w_rounds wr USING (round_id)
     WHERE wr.group_id = g AND wr.live AND wb.live
     ORDER BY random() LIMIT 1;
    IF NOT FOUND THEN RETURN 'skip'; END IF;
    mid := proof.random_member(g, 1, proof.setting('members')::int);
    BEGIN
        tid := enspiral.contribute(b.bucket_id, mid, amt, key);
        -- rules checked at commit (deferred triggers) are checked here, inside the block
        SET CONSTRAINTS ALL IMMEDIATE;
    EXCEPTION WHEN OTHERS THEN
        IF proof.refusal(SQLSTATE) THEN
            IF key IS NOT NULL THEN
                INSERT INTO proof.log VALUES (key, 'contribute', 'refused:' || SQLSTATE, NULL,
                                              ARRAY[b.bucket_id, mid, amt]);
            END IF;
            RETURN 'refused:' || SQLSTATE;
        END IF;
        GET STACKED DIAGNOSTICS e_detail = PG_EXCEPTION_DETAIL, e_context = PG_EXCEPTION_CONTEXT;
        PERFORM set_config('proof.last_error', concat_ws(' @ ', e_detail, split_part(e_context, E'\n', 1)), true);
        RETURN proof.note_unexpected('contribute', SQLSTATE, SQLERRM);
    END;
    IF key IS NOT NULL THEN
        INSERT INTO proof.log VALUES (key, 'contribute', 'ok', tid, ARRAY[b.bucket_id, mid, amt]);
    END IF;
    RETURN 'ok';
END
$$;

-- op_cancel_bucket(): cancel a bucket of a live round and open a replacement
CREATE FUNCTION proof.op_cancel_bucket(key text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e_detail  text;
    e_context text;
    g bigint := proof.random_group();
    b record;
BEGIN
    IF NOT proof.cap('cobudget') THEN RETURN 'skip'; END IF;
    SELECT wb.* INTO b FROM proof.w_buckets wb JOIN proof.w_rounds wr USING (round_id)
     WHERE wr.group_id = g AND wr.live AND wb.live
     ORDER BY random() LIMIT 1;
    IF NOT FOUND THEN RETURN 'skip'; END IF;
    BEGIN
        -- the documented lock order (round, then buckets, then accounts)
        -- holds across the two calls: the replacement (round share lock)
        -- comes before the cancellation (bucket lock)
        PERFORM proof.new_bucket(g, b.round_id);
        PERFORM enspiral.cancel_bucket(b.bucket_id);
        UPDATE proof.w_buckets SET live = false WHERE bucket_id = b.bucket_id;
        -- rules checked at commit (deferred triggers) are checked here, inside the block
        SET CONSTRAINTS ALL IMMEDIATE;
    EXCEPTION WHEN OTHERS THEN
        IF proof.refusal(SQLSTATE) THEN RETURN 'refused:' || SQLSTATE; END IF;
        GET STACKED DIAGNOSTICS e_detail = PG_EXCEPTION_DETAIL, e_context = PG_EXCEPTION_CONTEXT;
        PERFORM set_config('proof.last_error', concat_ws(' @ ', e_detail, split_part(e_context, E'\n', 1)), true);
        RETURN proof.note_unexpected('cancel_bucket', SQLSTATE, SQLERRM);
    END;
    IF key IS NOT NULL THEN
        INSERT INTO proof.log VALUES (key, 'cancel_bucket', 'ok', b.bucket_id, NULL);
    END IF;
    RETURN 'ok';
END
$$;

-- op_close_round(): close the oldest live round of a group, match it,
-- complete some funded buckets, and start a new round
CREATE FUNCTION proof.op_close_round(key text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e_detail  text;
    e_context text;
    g   bigint := proof.random_group();
    rid bigint;
    b   record;
BEGIN
    IF NOT proof.cap('cobudget') THEN RETURN 'skip'; END IF;
    SELECT round_id INTO rid FROM proof.w_rounds WHERE group_id = g AND live
     ORDER BY round_id LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN RETURN 'skip'; END IF;
    BEGIN
        PERFORM enspiral.close_round(rid);
        UPDATE proof.w_rounds SET live = false WHERE round_id = rid;
        IF proof.cap('matching') THEN
            PERFORM enspiral.match_round(rid, 50000, 'standard', 20000, NULL);
            UPDATE proof.w_rounds SET matched = 50000 WHERE round_id = rid;
        END IF;
        FOR b IN SELECT bucket_id FROM proof.w_buckets WHERE round_id = rid LOOP
            IF enspiral.bucket_state(b.bucket_id) = 'funded' AND random() < 0.5 THEN
                PERFORM enspiral.complete_bucket(b.bucket_id);
            END IF;
        END LOOP;
        PERFORM proof.new_round(g);
        -- rules checked at commit (deferred triggers) are checked here, inside the block
        SET CONSTRAINTS ALL IMMEDIATE;
    EXCEPTION WHEN OTHERS THEN
        IF proof.refusal(SQLSTATE) THEN RETURN 'refused:' || SQLSTATE; END IF;
        GET STACKED DIAGNOSTICS e_detail = PG_EXCEPTION_DETAIL, e_context = PG_EXCEPTION_CONTEXT;
        PERFORM set_config('proof.last_error', concat_ws(' @ ', e_detail, split_part(e_context, E'\n', 1)), true);
        RETURN proof.note_unexpected('close_round', SQLSTATE, SQLERRM);
    END;
    IF key IS NOT NULL THEN
        INSERT INTO proof.log VALUES (key, 'close_round', 'ok', rid, NULL);
    END IF;
    RETURN 'ok';
END
$$;

-- op_close_proposal(): close (or withdraw) a live proposal and open a new one
CREATE FUNCTION proof.op_close_proposal(key text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e_detail  text;
    e_context text;
    g bigint := proof.random_group();
    p record;
BEGIN
    IF NOT proof.cap('decisions') THEN RETURN 'skip'; END IF;
    SELECT * INTO p FROM proof.w_proposals WHERE group_id = g AND live
     ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN RETURN 'skip'; END IF;
    BEGIN
        IF random() < 0.9 THEN
            PERFORM enspiral.close_proposal(p.proposal_id);
            PERFORM enspiral.outcome(p.proposal_id);
        ELSE
            PERFORM enspiral.withdraw_proposal(p.proposal_id);
        END IF;
        UPDATE proof.w_proposals SET live = false WHERE proposal_id = p.proposal_id;
        PERFORM proof.new_proposal(g, p.method,
                                   p.method = 'consent' AND random() < 0.3);
        -- rules checked at commit (deferred triggers) are checked here, inside the block
        SET CONSTRAINTS ALL IMMEDIATE;
    EXCEPTION WHEN OTHERS THEN
        IF proof.refusal(SQLSTATE) THEN RETURN 'refused:' || SQLSTATE; END IF;
        GET STACKED DIAGNOSTICS e_detail = PG_EXCEPTION_DETAIL, e_context = PG_EXCEPTION_CONTEXT;
        PERFORM set_config('proof.last_error', concat_ws(' @ ', e_detail, split_part(e_context, E'\n', 1)), true);
        RETURN proof.note_unexpected('close_proposal', SQLSTATE, SQLERRM);
    END;
    IF key IS NOT NULL THEN
        INSERT INTO proof.log VALUES (key, 'close_proposal', 'ok', p.proposal_id, NULL);
    END IF;
    RETURN 'ok';
END
$$;

-- op_rotate(): a catalyst change: a new appointment, a hand-over (end one
-- term and appoint a successor the same day, one transaction) or an early end
CREATE FUNCTION proof.op_rotate(key text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e_detail  text;
    e_context text;
    g    bigint := proof.random_group();
    half int := proof.setting('members')::int / 2;
    t    record;
    mid  bigint;
    d    date;
    tid  bigint;
    dice float8 := random();
BEGIN
    IF NOT proof.cap('catalyst') THEN RETURN 'skip'; END IF;
    -- catalysts come from the first half of the members (never removed by churn)
    mid := proof.random_member(g, 1, half);
    BEGIN
        IF dice < 0.5 THEN
            d := current_date + proof.rnd(0, 700)::int;
            tid := enspiral.appoint_catalyst(g, mid, d, proof.rnd(1, 6)::int, 1);
            INSERT INTO proof.w_terms VALUES (g, tid, mid);
        ELSE
            SELECT * INTO t FROM proof.w_terms WHERE group_id = g ORDER BY random() LIMIT 1;
            IF NOT FOUND THEN RETURN 'skip'; END IF;
            d := current_date + proof.rnd(1, 90)::int;
            PERFORM enspiral.end_catalyst_term(t.term_id, d);
            IF dice < 0.9 THEN
                tid := enspiral.appoint_catalyst(g, mid, d, proof.rnd(1, 6)::int, 1);
                INSERT INTO proof.w_terms VALUES (g, tid, mid);
            END IF;
        END IF;
        -- rules checked at commit (deferred triggers) are checked here, inside the block
        SET CONSTRAINTS ALL IMMEDIATE;
    EXCEPTION WHEN OTHERS THEN
        IF proof.refusal(SQLSTATE) THEN RETURN 'refused:' || SQLSTATE; END IF;
        GET STACKED DIAGNOSTICS e_detail = PG_EXCEPTION_DETAIL, e_context = PG_EXCEPTION_CONTEXT;
        PERFORM set_config('proof.last_error', concat_ws(' @ ', e_detail, split_part(e_context, E'\n', 1)), true);
        RETURN proof.note_unexpected('rotate', SQLSTATE, SQLERRM);
    END;
    IF key IS NOT NULL THEN
        INSERT INTO proof.log VALUES (key, 'rotate', 'ok', tid, NULL);
    END IF;
    RETURN 'ok';
END
$$;

-- op_membership(): a member of the second half leaves, or rejoins
CREATE FUNCTION proof.op_membership(key text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e_detail  text;
    e_context text;
    g    bigint := proof.random_group();
    m    int := proof.setting('members')::int;
    nn   int := proof.rnd(m / 2 + 1, m)::int;
    mid  bigint;
    mkey text;
BEGIN
    SELECT w.member_id, w.member_key INTO mid, mkey FROM proof.w_members w
     WHERE w.group_id = g AND w.n = nn;
    BEGIN
        IF enspiral.is_member(g, mid) THEN
            PERFORM enspiral.remove_member(g, mid);
        ELSE
            PERFORM enspiral.add_member(g, mkey);
        END IF;
        -- rules checked at commit (deferred triggers) are checked here, inside the block
        SET CONSTRAINTS ALL IMMEDIATE;
    EXCEPTION WHEN OTHERS THEN
        IF proof.refusal(SQLSTATE) THEN RETURN 'refused:' || SQLSTATE; END IF;
        GET STACKED DIAGNOSTICS e_detail = PG_EXCEPTION_DETAIL, e_context = PG_EXCEPTION_CONTEXT;
        PERFORM set_config('proof.last_error', concat_ws(' @ ', e_detail, split_part(e_context, E'\n', 1)), true);
        RETURN proof.note_unexpected('membership', SQLSTATE, SQLERRM);
    END;
    IF key IS NOT NULL THEN
        INSERT INTO proof.log VALUES (key, 'membership', 'ok', mid, NULL);
    END IF;
    RETURN 'ok';
END
$$;

-- logged(kind, key, outcome): record an operation's outcome under its key
-- (in the operation's transaction) unless the operation recorded it itself
CREATE FUNCTION proof.logged(kind text, key text, outcome text) RETURNS text
    LANGUAGE sql AS $$
    INSERT INTO proof.log (key, kind, outcome) VALUES (key, kind, outcome) ON CONFLICT DO NOTHING;
    SELECT outcome
$$;

------------------------------------------------------------------------------
-- Invariants
------------------------------------------------------------------------------

-- verify_functions(): the extension's own verification functions
CREATE FUNCTION proof.verify_functions() RETURNS TABLE (fn regprocedure, argname text)
    LANGUAGE sql STABLE AS $$
    SELECT p.oid::regprocedure, coalesce(p.proargnames[1], '')
      FROM pg_proc p
     WHERE p.pronamespace = 'enspiral'::regnamespace
       AND p.proname LIKE 'verify%'
       AND p.prokind = 'f'
       AND (p.pronargs = 0 OR (p.pronargs >= 1 AND p.proargtypes[0] = 'bigint'::regtype
                              AND p.pronargs - p.pronargdefaults <= 1))
     ORDER BY 1
$$;

-- verdict(row): the problem a verification function's result row reports,
-- or NULL when it reports none.  A text row is a problem line; a boolean is
-- a problem when false; a composite row with boolean columns (e.g. matches)
-- is a problem when any of them is false, one without is a problem line.
CREATE FUNCTION proof.verdict(r jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(r)
        WHEN 'null' THEN NULL
        WHEN 'boolean' THEN CASE WHEN r = 'false' THEN 'false' END
        WHEN 'object' THEN CASE
            WHEN NOT EXISTS (SELECT 1 FROM jsonb_each(r) e WHERE jsonb_typeof(e.value) = 'boolean') THEN r::text
            WHEN NOT EXISTS (SELECT 1 FROM jsonb_each(r) e WHERE e.value = 'false') THEN NULL
            -- a recorded/recomputed pair: only the keys that differ
            WHEN jsonb_typeof(r -> 'recorded') = 'object' AND jsonb_typeof(r -> 'recomputed') = 'object' THEN
                (SELECT 'differs: ' || string_agg(format('%s recorded %s, recomputed %s', k,
                                                          r -> 'recorded' -> k, r -> 'recomputed' -> k), '; ' ORDER BY k)
                   FROM (SELECT jsonb_object_keys(r -> 'recorded') UNION
                         SELECT jsonb_object_keys(r -> 'recomputed')) u(k)
                  WHERE (r -> 'recorded' -> k) IS DISTINCT FROM (r -> 'recomputed' -> k))
            ELSE r::text END
        WHEN 'string' THEN r #>> '{}'
        ELSE r::text END
$$;

-- run_verify(fn, argname): call one verification function over the world
CREATE FUNCTION proof.run_verify(fn regprocedure, argname text) RETURNS SETOF text
    LANGUAGE plpgsql AS $$
DECLARE
    name text := (SELECT format('%I.%I', n.nspname, p.proname) FROM pg_proc p
                    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = fn);
    ids  bigint[];
    id   bigint;
    line text;
BEGIN
    IF (SELECT pronargs FROM pg_proc WHERE oid = fn) = 0 THEN
        FOR line IN EXECUTE format('SELECT proof.verdict(to_jsonb(x)) FROM %s() x', name) LOOP
            CONTINUE WHEN line IS NULL;
            RETURN NEXT fn::text || ': ' || line;
        END LOOP;
        RETURN;
    END IF;
    ids := CASE
        WHEN argname LIKE '%proposal%' THEN (SELECT array_agg(proposal_id) FROM proof.w_proposals)
        WHEN argname LIKE '%round%' THEN (SELECT array_agg(round_id) FROM proof.w_rounds)
        WHEN argname LIKE '%bucket%' THEN (SELECT array_agg(bucket_id) FROM proof.w_buckets)
        ELSE (SELECT array_agg(DISTINCT group_id) FROM proof.w_members) END;
    FOREACH id IN ARRAY coalesce(ids, '{}') LOOP
        BEGIN
            FOR line IN EXECUTE format('SELECT proof.verdict(to_jsonb(x)) FROM %s($1) x', name) USING id LOOP
                CONTINUE WHEN line IS NULL;
                RETURN NEXT format('%s(%s): %s', name, id, left(line, 600));
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            -- a refusal means "does not apply" (e.g. an outcome verified
            -- before the proposal closed, 55000); anything else is a problem
            IF SQLSTATE NOT LIKE 'NS%' AND SQLSTATE <> '55000' THEN
                RETURN NEXT format('%s(%s) failed: %s %s', name, id, SQLSTATE, SQLERRM);
            END IF;
        END;
    END LOOP;
END
$$;

-- problems(coverage): every broken invariant, one line each; no rows means
-- sound.  coverage => false skips the check that the first months keep their
-- catalysts (the fuzzer removes members, which may legitimately open gaps)
CREATE FUNCTION proof.problems(coverage boolean DEFAULT true) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    v    record;
    line text;
    r    record;
    g    bigint;
BEGIN
    -- 1. the extension's verification functions
    FOR v IN SELECT * FROM proof.verify_functions() LOOP
        FOR line IN SELECT * FROM proof.run_verify(v.fn, v.argname) LOOP
            RETURN NEXT line;
        END LOOP;
    END LOOP;
    -- 2. errors that were neither refusals nor rejected arguments
    FOR r IN SELECT op, sqlstate, min(message) AS message, count(*) AS n
               FROM proof.unexpected WHERE NOT proof.known(op, sqlstate) GROUP BY 1, 2 LOOP
        RETURN NEXT format('unexpected error in %s: %s x%s: %s', r.op, r.sqlstate, r.n, r.message);
    END LOOP;
    -- a deadlock: which operations the processes in the cycle were running
    FOR r IN SELECT u.op, u.pid, u.at, array_agg(DISTINCT m[1]::int) AS pids
               FROM proof.unexpected u, regexp_matches(u.message, 'process (\d+)', 'g') m
              WHERE u.sqlstate = '40P01' GROUP BY 1, 2, 3 LOOP
        RETURN NEXT format('deadlock in %s (process %s): the cycle involved %s', r.op, r.pid,
            -- the operation each other process was in: its first one logged after the error
            (SELECT string_agg(format('process %s running %s', x.pid, x.kind), ', ')
               FROM (SELECT DISTINCT ON (l.pid) l.pid, l.kind FROM proof.log l
                      WHERE l.pid = ANY (r.pids) AND l.pid <> r.pid AND l.at >= r.at
                      ORDER BY l.pid, l.at) x));
    END LOOP;
    -- 3. co-budgeting rules, through the public functions
    IF proof.cap('cobudget') THEN
        FOR r IN SELECT wr.round_id, wm.member_id, enspiral.balance(wr.round_id, wm.member_id) AS bal
                   FROM proof.w_rounds wr JOIN proof.w_members wm USING (group_id) LOOP
            IF r.bal < 0 THEN
                RETURN NEXT format('round %s: member %s overdrawn (%s)', r.round_id, r.member_id, r.bal);
            END IF;
        END LOOP;
        FOR r IN SELECT wb.bucket_id, wb.max_goal, enspiral.bucket_total(wb.bucket_id) AS total,
                        enspiral.bucket_state(wb.bucket_id) AS state
                   FROM proof.w_buckets wb LOOP
            IF r.total > r.max_goal AND r.state NOT IN ('funded', 'completed') THEN
                RETURN NEXT format('bucket %s: total %s above max_goal %s in state %s',
                                   r.bucket_id, r.total, r.max_goal, r.state);
            END IF;
            IF r.state = 'cancelled' AND r.total <> 0 THEN
                RETURN NEXT format('bucket %s: cancelled but holds %s', r.bucket_id, r.total);
            END IF;
        END LOOP;
        -- conservation: the pool of a round is in members' hands or buckets
        -- (matching money is a separate account and excluded)
        FOR r IN SELECT wr.round_id, wr.pool,
                        (SELECT sum(enspiral.balance(wr.round_id, wm.member_id)) FROM proof.w_members wm
                          WHERE wm.group_id = wr.group_id) AS in_members,
                        (SELECT coalesce(sum(enspiral.bucket_total(wb.bucket_id)), 0) FROM proof.w_buckets wb
                          WHERE wb.round_id = wr.round_id) AS in_buckets
                   FROM proof.w_rounds wr WHERE wr.matched = 0 LOOP
            IF r.in_members + r.in_buckets <> r.pool THEN
                RETURN NEXT format('round %s: pool %s but members hold %s and buckets %s',
                                   r.round_id, r.pool, r.in_members, r.in_buckets);
            END IF;
        END LOOP;
    END IF;
    -- 4. catalyst rules: nobody over the service limit; the first six
    -- months, covered by four catalysts at setup, never fall below three
    IF proof.cap('catalyst') THEN
        FOR g IN SELECT DISTINCT group_id FROM proof.w_members LOOP
            FOR r IN SELECT * FROM enspiral.catalyst_service(g, current_date) s
                      WHERE s.months_served > (enspiral.group_settings(g) ->> 'catalyst_max_months')::int LOOP
                RETURN NEXT format('group %s: member %s served %s months', g, r.member_id, r.months_served);
            END LOOP;
            FOR r IN SELECT * FROM enspiral.catalyst_gaps(g, current_date, current_date + 150)
                      WHERE coverage LOOP
                RETURN NEXT format('group %s: coverage gap %s with %s catalysts', g, r.period, r.catalysts);
            END LOOP;
        END LOOP;
    END IF;
END
$$;

-- check_log(keys): every key a client saw commit is in proof.log, and every
-- contribution it made is still there (replaying the key returns the same
-- transfer and moves nothing)
CREATE FUNCTION proof.check_log(keys text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    k    text;
    l    record;
    tid  bigint;
    bal  bigint;
    tot  bigint;
BEGIN
    FOREACH k IN ARRAY keys LOOP
        SELECT * INTO l FROM proof.log WHERE key = k;
        IF NOT FOUND THEN
            RETURN NEXT format('committed key %s is missing', k);
            CONTINUE;
        END IF;
        IF l.kind = 'contribute' AND l.outcome = 'ok' THEN
            bal := enspiral.balance((SELECT round_id FROM proof.w_buckets WHERE bucket_id = l.args[1]), l.args[2]);
            tot := enspiral.bucket_total(l.args[1]);
            BEGIN
                tid := enspiral.contribute(l.args[1], l.args[2], l.args[3], l.key);
            EXCEPTION WHEN OTHERS THEN
                -- a replay after the round closed may be refused; the
                -- ledger verification covers those transfers
                CONTINUE WHEN SQLSTATE LIKE 'NS%';
                RETURN NEXT format('replaying key %s: %s %s', k, SQLSTATE, SQLERRM);
                CONTINUE;
            END;
            IF tid IS DISTINCT FROM l.ref THEN
                RETURN NEXT format('key %s: transfer %s committed, replay gave %s', k, l.ref, tid);
            END IF;
            IF enspiral.balance((SELECT round_id FROM proof.w_buckets WHERE bucket_id = l.args[1]), l.args[2]) <> bal
               OR enspiral.bucket_total(l.args[1]) <> tot THEN
                RETURN NEXT format('key %s: replay moved money', k);
            END IF;
        END IF;
    END LOOP;
END
$$;

-- snapshot(): balances, bucket totals, outcomes and coverage, as comparable text
CREATE FUNCTION proof.snapshot() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    r record;
    g bigint;
BEGIN
    FOR r IN SELECT group_id, n, member_id, enspiral.is_member(group_id, member_id) AS cur
               FROM proof.w_members ORDER BY 1, 2 LOOP
        RETURN NEXT format('member %s/%s: %s current=%s', r.group_id, r.n, r.member_id, r.cur);
    END LOOP;
    IF proof.cap('cobudget') THEN
        FOR r IN SELECT wr.round_id, wm.member_id, enspiral.balance(wr.round_id, wm.member_id) AS bal
                   FROM proof.w_rounds wr JOIN proof.w_members wm USING (group_id) ORDER BY 1, 2 LOOP
            RETURN NEXT format('balance %s/%s: %s', r.round_id, r.member_id, r.bal);
        END LOOP;
        FOR r IN SELECT bucket_id, enspiral.bucket_total(bucket_id) AS t, enspiral.bucket_state(bucket_id) AS s
                   FROM proof.w_buckets ORDER BY 1 LOOP
            RETURN NEXT format('bucket %s: %s %s', r.bucket_id, r.t, r.s);
        END LOOP;
    END IF;
    IF proof.cap('decisions') THEN
        FOR r IN SELECT proposal_id, enspiral.proposal_state(proposal_id) AS s
                   FROM proof.w_proposals ORDER BY 1 LOOP
            RETURN NEXT format('proposal %s: %s %s', r.proposal_id, r.s,
                               CASE WHEN r.s = 'closed' THEN enspiral.outcome(r.proposal_id)::text END);
        END LOOP;
    END IF;
    IF proof.cap('catalyst') THEN
        FOR g IN SELECT DISTINCT group_id FROM proof.w_members ORDER BY 1 LOOP
            FOR r IN SELECT * FROM enspiral.catalyst_coverage(g, current_date, current_date + 1000) LOOP
                RETURN NEXT format('coverage %s: %s %s', g, r.period, r.catalysts);
            END LOOP;
            FOR r IN SELECT * FROM enspiral.catalyst_service(g, current_date) ORDER BY 1 LOOP
                RETURN NEXT format('service %s: %s', g, r);
            END LOOP;
        END LOOP;
    END IF;
END
$$;
