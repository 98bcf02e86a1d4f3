-- Input fuzzer for every public function, aggregate, procedure and type
-- input of the installed enspiral extension.  Targets are discovered from
-- pg_proc and pg_type at run time (new functions are covered
-- automatically); arguments are generated per type: NULLs, empty, huge,
-- multi-dimensional and NULL-holding arrays, extreme integers, NaN and
-- infinite numerics, malformed and wrongly-typed JSON, unknown ids, dates and
-- timestamps at the ends of their ranges, format directives in text.
--
-- fuzz.cases(seed, batch, size) returns the SQL text of `size` cases,
-- deterministic for (seed, batch) on a given installation.  fuzz.run()
-- executes them, each in its own subtransaction, and returns how many ended
-- with each SQLSTATE ('00000' for success); cases whose SQLSTATE is not clean
-- are kept in fuzz.bad with their SQL text.  tools/fuzz.sh drives it.

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS fuzz CASCADE;
CREATE SCHEMA fuzz;

CREATE TABLE fuzz.bad (
    seed     bigint,
    batch    int,
    sqlstate text,
    message  text,
    sql      text
);
-- the first few cases of every SQLSTATE, for the report
CREATE TABLE fuzz.sample (
    sqlstate text,
    message  text,
    context  text,
    sql      text
);
CREATE TABLE fuzz.slow (
    seed    bigint,
    batch   int,
    ms      numeric,
    sql     text
);

-- tables the fuzzer may name where a function takes a table (regclass)
-- (the lifecycle columns only when the lifecycle types are installed)
CREATE TABLE fuzz.t_text (id bigint PRIMARY KEY, state text, closes_at timestamptz);
DO $$
BEGIN
    IF to_regtype('enspiral.proposal_state') IS NOT NULL THEN
        CREATE TABLE fuzz.t_polls (id bigint PRIMARY KEY, state enspiral.proposal_state,
                                   closes_at timestamptz);
        INSERT INTO fuzz.t_polls VALUES (1, 'draft', now() + interval '1 day');
    END IF;
    IF to_regtype('enspiral.bucket_state') IS NOT NULL THEN
        CREATE TABLE fuzz.t_bucket (id bigint PRIMARY KEY, state enspiral.bucket_state);
        INSERT INTO fuzz.t_bucket VALUES (1, 'idea');
    END IF;
END
$$;

-- unclean(state, context, case_sql): an error that a function must never
-- raise: internal errors, asserts, and "undefined column/table/function",
-- syntax or datatype errors coming from SQL that the extension itself runs
-- (the innermost context frame is a statement inside an enspiral function,
-- or an SPI query other than the case itself).  The same SQLSTATEs raised on
-- purpose (RAISE, ereport) about a name the caller gave are clean, and so
-- are errors of the case's own SQL.
CREATE FUNCTION fuzz.unclean(state text, context text, case_sql text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    line1 text := split_part(coalesce(context, ''), E'\n', 1);
BEGIN
    IF state LIKE 'XX%'              -- internal error, data corrupted, index corrupted
       OR state LIKE '58%'           -- system error
       OR state LIKE '39%'           -- external routine invocation
       OR state LIKE '2F%'           -- SQL routine exception
       OR state = 'P0004' THEN       -- assert failure
        RETURN true;
    END IF;
    IF state NOT IN ('42703', '42P01', '42883', '42P02', '42601', '42804', '42P18', '42725', '42702') THEN
        RETURN false;
    END IF;
    RETURN line1 ~ '^PL/pgSQL function enspiral\.\S+ line \d+ at (SQL statement|EXECUTE|PERFORM|assignment|FOR over|RETURN QUERY|OPEN|FETCH)'
        OR line1 ~ '^SQL function "'
        OR (line1 LIKE 'SQL statement "%' AND line1 <> format('SQL statement "%s"', case_sql));
END
$$;

-- a target: kind f (function), a (aggregate), p (procedure), c (cast of a literal)
CREATE TYPE fuzz.target AS (name text, kind char, fn regprocedure, argtypes oid[], ndefaults int);

-- targets(): what the fuzzer calls: kind, function, argument types, defaults
CREATE FUNCTION fuzz.targets() RETURNS SETOF fuzz.target
    LANGUAGE sql STABLE AS $$
    SELECT p.oid::regprocedure::text, p.prokind, p.oid::regprocedure,
           ARRAY(SELECT unnest(p.proargtypes::oid[])), p.pronargdefaults
      FROM pg_proc p
     WHERE p.pronamespace = 'enspiral'::regnamespace
       AND p.prokind IN ('f', 'a', 'p')
       AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype, 'internal'::regtype)
       -- part of the trigger functions: it raises 39P01 (trigger protocol) by design
       AND p.oid <> 'enspiral.require_trigger_table(oid,name,text,regclass)'::regprocedure
       -- arguments must be constructible from SQL (cstring is: type input functions)
       AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) a JOIN pg_type t ON t.oid = a
                        WHERE t.typtype = 'p' AND t.typname <> 'cstring')
    UNION ALL
    -- the input functions again, through a cast from a literal
    SELECT format_type(t.oid, NULL) || ' literal', 'c', NULL, ARRAY[t.oid], 0
      FROM pg_type t
     WHERE t.typnamespace = 'enspiral'::regnamespace AND t.typtype IN ('b', 'd', 'e', 'r')
       AND t.typcategory <> 'A'
     ORDER BY 1
$$;

-- pick(a): a random element of a text array
CREATE FUNCTION fuzz.pick(a text[]) RETURNS text
    LANGUAGE sql VOLATILE AS $$ SELECT a[1 + floor(random() * cardinality(a))::int] $$;

-- chance(p): true with probability p
CREATE FUNCTION fuzz.chance(p float8) RETURNS boolean
    LANGUAGE sql VOLATILE AS $$ SELECT random() < p $$;

-- word(): an adversarial or meaningful piece of text
CREATE FUNCTION fuzz.word() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF fuzz.chance(0.02) THEN
        RETURN repeat(fuzz.pick(ARRAY['x', 'é', '%s', '''', '\']), (1 + floor(random() * 100000))::int);
    END IF;
    RETURN fuzz.pick(ARRAY[
        '', ' ', 'a', 'b', 'c', 'd', 'e', 'zz', 'A',
        'consent', 'choice', 'score', 'dots', 'ranked', 'quadratic', 'approval', 'CONSENT',
        'standard', 'pairwise', 'capped', 'Standard', 'refund', 'keep',
        'draft', 'scheduled', 'open', 'closed', 'withdrawn', ' open', 'open ', 'OPEN', 'Draft',
        'idea', 'funded', 'completed', 'cancelled', 'canceled',
        'agree', 'abstain', 'disagree', 'block',
        '%s', '%d%n%x', '%%', '%.99999f', 'a''b', 'a"b', E'a\\b', E'tab\tnew\nline',
        'NULL', 'null', '{}', '[]', '0', '-1', '1e309', 'NaN', 'infinity',
        'g1-m1', 'g1-m2', 'g2-m3', 'state', 'closes_at', 'id', 'no_such_column',
        'fuzz.t_polls', 'fuzz.t_text', 'fuzz.t_bucket', 'pg_class',
        'héllo', '🙂', E'\u200b', repeat('y', 64), repeat('z', 1000)]);
END
$$;

-- setting_key(): a settings key that some function reads
CREATE FUNCTION fuzz.setting_key() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT fuzz.pick(ARRAY[
        'min_catalysts', 'catalyst_term_months', 'catalyst_max_months', 'catalyst_min_days_per_week',
        'anonymous', 'hide_results', 'max_blocks', 'quorum_pct', 'threshold_pct', 'threshold_inclusive',
        'block_needs_reason', 'min_choices', 'max_choices', 'min_score', 'max_score', 'allow_gaps',
        'dots_per_member', 'min_ranks', 'max_ranks', 'credits_per_member', 'allow_negative',
        'max_per_member_per_bucket', 'currency', 'underfunded', 'underfunded_buckets', 'on_close',
        'unknown_key', ''])
$$;

-- json(): JSON text, valid or not, meaningful or hostile
CREATE FUNCTION fuzz.json(depth int DEFAULT 0) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r float8 := random();
    n int;
BEGIN
    IF depth > 3 THEN
        RETURN fuzz.pick(ARRAY['1', '"a"', 'null', 'true']);
    END IF;
    IF r < 0.25 THEN
        -- scalars and ballots that methods accept or refuse
        RETURN fuzz.pick(ARRAY[
            'null', 'true', 'false', '0', '-1', '1', '8', '101', '1.5', '-0', '1e400', '-1e400',
            '9223372036854775807', '9223372036854775808', '-9223372036854775809', '1e-400',
            '""', '"agree"', '"abstain"', '"disagree"', '"block"', '"a"', '"zz"', '"AGREE"',
            '[]', '["a"]', '["a","b"]', '["a","a"]', '["a",null]', '[1]', '[["a"]]',
            '["a","b","c","d"]', '["d","c","b","a","e"]', '{}', '{"a":1}', '{"a":-1}', '{"a":5}',
            '{"a":6}', '{"a":1.5}', '{"a":"1"}', '{"a":null}', '{"a":{"b":1}}', '{"zz":1}',
            '{"a":10,"b":0}', '{"a":8}', '{"a":9}', '{"a":-10}', '{"a":1e30}', '{"a":7,"b":7,"c":1}',
            '{"a":1,"b":1,"c":1,"d":1}', '{"a":0,"b":0,"c":0,"d":0}', '{"a":5,"b":5,"c":5,"d":5}']);
    ELSIF r < 0.55 THEN
        -- a settings object: known keys with values of every type
        n := 1 + floor(random() * 3)::int;
        RETURN '{' || (SELECT string_agg(format('%s:%s', to_json(fuzz.setting_key()),
                           fuzz.pick(ARRAY['-1', '0', '1', '2', '3', '6', '24', '7', '0.5', '100', '101',
                                           '66.67', '1e30', '-1e30', '9223372036854775807',
                                           '"x"', '"EUR"', 'null', 'true', 'false', '[]', '{}', '"3"'])),
                                           ',') FROM generate_series(1, n)) || '}';
    ELSIF r < 0.7 THEN
        -- malformed
        RETURN fuzz.pick(ARRAY['', '{', '[', '{"a":}', '{"a" 1}', '[1,]', 'nul', '"unterminated',
                               '{"a":1}}', E'"\\u0000"', E'"\\ud800"', '01', '+1', '.5', 'NaN',
                               'Infinity', '{a:1}', '''a''']);
    ELSIF r < 0.75 THEN
        -- deep or wide
        IF fuzz.chance(0.5) THEN
            n := 1 + floor(random() * 5000)::int;
            RETURN repeat('[', n) || repeat(']', n);
        END IF;
        RETURN '{' || (SELECT string_agg(format('"k%s":%s', i, i), ',')
                         FROM generate_series(1, 1 + floor(random() * 20000)::int) i) || '}';
    ELSIF r < 0.88 THEN
        -- random arrays of option names
        RETURN (SELECT coalesce(jsonb_agg(fuzz.pick(ARRAY['a', 'b', 'c', 'd', 'e', '', 'A'])), '[]')::text
                  FROM generate_series(1, floor(random() * 7)::int));
    ELSE
        -- random objects option -> number
        RETURN (SELECT coalesce(jsonb_object_agg(fuzz.pick(ARRAY['a', 'b', 'c', 'd', 'e']),
                                                 (floor(random() * 25) - 10)::int), '{}')::text
                  FROM generate_series(1, floor(random() * 6)::int));
    END IF;
END
$$;

-- scalar(type, coherent_len): an SQL expression of a base (non-array) type
CREATE FUNCTION fuzz.scalar(t oid) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    tn  text := format_type(t, NULL);
    r   float8 := random();
    typ record;
BEGIN
    IF r < 0.06 THEN
        RETURN 'NULL::' || tn;
    END IF;
    SELECT typname, typnamespace::regnamespace::text AS nsp, typtype, typbasetype
      INTO typ FROM pg_type WHERE oid = t;
    IF typ.nsp = 'enspiral' AND typ.typtype = 'b' THEN
        -- the lifecycle types: a state name (or any word, refused by the input function)
        RETURN format('%L::%s', fuzz.word(), tn);
    END IF;
    CASE typ.typname
    WHEN 'int8', 'int4', 'int2', 'oid' THEN
        RETURN format('%s::%s', CASE
            WHEN r < 0.55 THEN (1 + floor(random() * 16))::text     -- existing ids
            WHEN r < 0.62 THEN fuzz.pick(ARRAY['0', '-1', '2', '3'])
            WHEN r < 0.72 THEN CASE typ.typname
                WHEN 'int8' THEN fuzz.pick(ARRAY['9223372036854775807', '(-9223372036854775807-1)',
                                                 '9223372036854775806', '4611686018427387904',
                                                 '3037000500', '(-3037000500)'])
                WHEN 'int4' THEN fuzz.pick(ARRAY['2147483647', '(-2147483647-1)', '46341'])
                WHEN 'int2' THEN fuzz.pick(ARRAY['32767', '(-32767-1)'])
                ELSE fuzz.pick(ARRAY['4294967295', '1', '16384']) END
            WHEN r < 0.85 THEN floor(random() * 100000)::text
            WHEN typ.typname = 'oid' THEN floor(random() * 4294967295)::text
            ELSE (floor((random() - 0.5) * 2000000))::text END, tn);
    WHEN 'numeric', 'float8', 'float4' THEN
        RETURN format('%L::%s', fuzz.pick(ARRAY[
            'NaN', 'Infinity', '-Infinity', '0', '-0', '1', '-1', '0.5', '2', '3', '4', '100', '1e-20',
            '0.000000000000000000001', '1e20', '1e100', '9223372036854775807', '9223372036854775808',
            '-9223372036854775808', '1.7976931348623157e308', '3.14159', '66.67', '99.999']) ||
            CASE WHEN tn <> 'numeric' THEN '' ELSE '' END, tn);
    WHEN 'bool' THEN
        RETURN fuzz.pick(ARRAY['true', 'false']);
    WHEN 'text', 'varchar', 'name', 'cstring', 'bpchar' THEN
        RETURN format('%L::%s', fuzz.word(), tn);
    WHEN 'json', 'jsonb' THEN
        RETURN format('%L::%s', fuzz.json(), tn);
    WHEN 'date' THEN
        RETURN CASE WHEN r < 0.5 THEN format('(current_date + %s)', floor((random() - 0.3) * 1500)::int)
            ELSE format('%L::date', fuzz.pick(ARRAY['infinity', '-infinity', '4713-01-01 BC', '5874897-12-31',
                '2000-02-29', '2023-02-28', '2024-02-29', '2024-01-31', '2024-03-31', '2024-12-31',
                '1970-01-01', '0001-01-01', '2262-04-11', '2100-02-28'])) END;
    WHEN 'timestamptz', 'timestamp' THEN
        RETURN CASE WHEN r < 0.5 THEN format('(now() + interval %L)::%s',
                                             floor((random() - 0.3) * 10000)::int || ' minutes', tn)
            ELSE format('%L::%s', fuzz.pick(ARRAY['infinity', '-infinity', '4713-01-01 00:00 BC',
                '294276-12-31 23:59:59', 'epoch', '2000-01-01', '2038-01-19 03:14:08']), tn) END;
    WHEN 'interval' THEN
        RETURN format('%L::interval', fuzz.pick(ARRAY['0', '1 day', '-1 day', '1 month', '178000000 years',
                                                       '-178000000 years', '1 microsecond', 'infinity']));
    WHEN 'daterange', 'tstzrange' THEN
        RETURN format('%L::%s', fuzz.pick(ARRAY['empty', '[2024-01-01,2024-02-01)', '(,)', '[-infinity,infinity]',
                                                 '[2024-01-01,)']), tn);
    WHEN 'regclass' THEN
        RETURN format('%L::regclass', fuzz.pick(ARRAY['fuzz.t_polls', 'fuzz.t_text', 'fuzz.t_bucket',
                                                        'fuzz.bad', '0', '12345']));
    WHEN 'regrole' THEN
        RETURN format('%L::regrole', fuzz.pick(ARRAY['fuzz_app', 'postgres', '0', '-']));
    WHEN 'regproc', 'regprocedure' THEN
        RETURN format('%L::%s', fuzz.pick(ARRAY['-', 'now']), tn);
    ELSE
        IF typ.nsp = 'enspiral' AND typ.typtype IN ('e', 'd', 'r', 'b') THEN
            RETURN format('%L::%s', fuzz.word(), tn);
        END IF;
        -- a type the generator does not know: NULL or a text literal
        RETURN CASE WHEN r < 0.5 THEN 'NULL::' || tn ELSE format('%L::%s', fuzz.word(), tn) END;
    END CASE;
END
$$;

-- arr(type, len): an SQL expression of an array type; len < 0 picks a length
CREATE FUNCTION fuzz.arr(t oid, len int) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    elem oid := (SELECT typelem FROM pg_type WHERE oid = t);
    tn   text := format_type(t, NULL);
    en   text := format_type(elem, NULL);
    r    float8 := random();
    n    int := len;
BEGIN
    IF r < 0.04 THEN
        RETURN 'NULL::' || tn;
    ELSIF r < 0.05 THEN
        RETURN format('%L::%s', fuzz.pick(ARRAY['{{1,2},{3,4}}', '[0:2]={1,2,3}', '[-5:-4]={1,2}',
                                                 '{{}}', '{NULL}', '{{1},{NULL}}']), tn);
    ELSIF r < 0.06 AND en IN ('bigint', 'numeric', 'integer') THEN
        -- huge, generated on the server
        RETURN format('(SELECT array_agg(%s) FROM generate_series(1, %s) i)::%s',
                      fuzz.pick(ARRAY['i', '1', '(i % 97)', '(i * 7919 % 1000 + 1)', '(i % 3)', '(-i)']),
                      fuzz.pick(ARRAY['10000', '50000', '100000']), tn);
    END IF;
    IF n < 0 THEN
        n := CASE WHEN random() < 0.15 THEN 0 WHEN random() < 0.8 THEN 1 + floor(random() * 6)::int
                  ELSE floor(random() * 200)::int END;
    END IF;
    IF n = 0 THEN
        RETURN format('ARRAY[]::%s', tn);
    END IF;
    RETURN format('ARRAY[%s]::%s',
                  (SELECT string_agg(CASE WHEN random() < 0.03 THEN 'NULL' ELSE fuzz.scalar(elem) END, ',')
                     FROM generate_series(1, n)), tn);
END
$$;

-- value(type, len): an SQL expression of any argument type
CREATE FUNCTION fuzz.value(t oid, len int) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN (SELECT typcategory = 'A' AND typelem <> 0 FROM pg_type WHERE oid = t)
                THEN fuzz.arr(t, len) ELSE fuzz.scalar(t) END
$$;

-- one_case(target): the SQL text of one call of a target
CREATE FUNCTION fuzz.one_case(tg fuzz.target) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    nargs int := cardinality(tg.argtypes);
    -- drop some defaulted trailing arguments
    used  int := nargs - CASE WHEN tg.ndefaults > 0 AND random() < 0.3
                              THEN floor(random() * (tg.ndefaults + 1))::int ELSE 0 END;
    -- arrays of one call often share a length (parallel arrays)
    len   int := CASE WHEN random() < 0.6 THEN floor(random() * 8)::int ELSE -1 END;
    args  text;
    fname text;
    rows  int;
BEGIN
    IF tg.kind = 'c' THEN
        RETURN format('SELECT %L::%s', fuzz.word(), format_type(tg.argtypes[1], NULL));
    END IF;
    SELECT format('%I.%I', n.nspname, p.proname) INTO fname
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = tg.fn;
    IF tg.kind = 'a' THEN
        -- an aggregate over 0..30 generated rows
        rows := CASE WHEN random() < 0.1 THEN 0 ELSE 1 + floor(random() * 30)::int END;
        IF rows = 0 THEN
            RETURN format('SELECT %s(%s) FROM (SELECT 1 WHERE false) s', fname,
                          (SELECT string_agg(fuzz.value(a, len), ', ') FROM unnest(tg.argtypes[1:used]) a));
        END IF;
        RETURN format('SELECT %s(%s) FROM (VALUES %s) v(%s)', fname,
                      (SELECT string_agg('c' || i, ', ') FROM generate_series(1, used) i),
                      -- (the inner query refers to the row number, so each row is drawn anew)
                      (SELECT string_agg('(' || (SELECT string_agg(fuzz.value(a, len), ', ')
                                                   FROM unnest(tg.argtypes[1:used]) a
                                                  WHERE g.i > 0) || ')', ', ')
                         FROM generate_series(1, rows) g(i)),
                      (SELECT string_agg('c' || i, ', ') FROM generate_series(1, used) i));
    END IF;
    args := coalesce((SELECT string_agg(fuzz.value(a, len), ', ' ORDER BY o)
                        FROM unnest(tg.argtypes[1:used]) WITH ORDINALITY u(a, o)), '');
    IF tg.kind = 'p' THEN
        RETURN format('CALL %s(%s)', fname, args);
    END IF;
    -- referencing the result forces its evaluation (also for set-returning functions)
    RETURN format('SELECT count(*) FROM (SELECT %s(%s) AS r) s WHERE r IS NULL OR r IS NOT NULL',
                  fname, args);
END
$$;

-- cases(seed, batch, size): the SQL of one batch of cases, deterministic
CREATE FUNCTION fuzz.cases(seed bigint, batch int, size int)
    RETURNS TABLE (i int, sql text) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    tgs fuzz.target[];
    tg  fuzz.target;
    k   int;
BEGIN
    PERFORM setseed(((seed * 7919 + batch * 104729) % 1999999999)::float8 / 2000000000.0);
    SELECT array_agg(t ORDER BY t.name) INTO tgs FROM fuzz.targets() t;
    FOR k IN 1 .. size LOOP
        tg := tgs[1 + floor(random() * cardinality(tgs))::int];
        i := k;
        sql := fuzz.one_case(tg);
        RETURN NEXT;
    END LOOP;
END
$$;

-- run(seed, batch, size): execute a batch; SQLSTATE histogram
CREATE FUNCTION fuzz.run(seed bigint, batch int, size int)
    RETURNS TABLE (sqlstate text, n bigint) LANGUAGE plpgsql AS $$
DECLARE
    c     record;
    st    text;
    msg   text;
    ctx   text;
    t0    timestamptz;
    ms    numeric;
    hist  jsonb := '{}';
BEGIN
    FOR c IN SELECT * FROM fuzz.cases(seed, batch, size) LOOP
        t0 := clock_timestamp();
        msg := NULL;
        ctx := NULL;
        BEGIN
            EXECUTE c.sql;
            -- rules checked at commit (deferred triggers) are checked now,
            -- inside the case's subtransaction (the rest of the batch then
            -- runs with constraints immediate)
            SET CONSTRAINTS ALL IMMEDIATE;
            st := '00000';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, ctx = PG_EXCEPTION_CONTEXT;
            IF fuzz.unclean(st, ctx, c.sql) THEN
                INSERT INTO fuzz.bad VALUES (seed, batch, st, msg || ' [' || ctx || ']', c.sql);
            END IF;
        END;
        IF coalesce((hist ->> st)::int, 0) < 3 THEN
            INSERT INTO fuzz.sample VALUES (st, msg, ctx, left(c.sql, 1000));
        END IF;
        ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
        IF ms > 2000 THEN
            INSERT INTO fuzz.slow VALUES (seed, batch, round(ms), left(c.sql, 2000));
        END IF;
        hist := jsonb_set(hist, ARRAY[st], to_jsonb(coalesce((hist ->> st)::bigint, 0) + 1));
    END LOOP;
    RETURN QUERY SELECT key, value::text::bigint FROM jsonb_each(hist);
END
$$;

-- run_one(sql): execute one case (used to pinpoint a batch that failed)
CREATE FUNCTION fuzz.run_one(seed bigint, batch int, case_sql text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    st  text;
    msg text;
    ctx text;
BEGIN
    BEGIN
        EXECUTE case_sql;
        SET CONSTRAINTS ALL IMMEDIATE;
        RETURN '00000';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, ctx = PG_EXCEPTION_CONTEXT;
        IF fuzz.unclean(st, ctx, case_sql) THEN
            INSERT INTO fuzz.bad VALUES (seed, batch, st, msg || ' [' || ctx || ']', case_sql);
        END IF;
        RETURN st;
    END;
END
$$;
