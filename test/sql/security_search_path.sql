-- Security: search_path attacks.  An unprivileged role plants hostile
-- functions, operators, types and casts in public, and hostile tables,
-- views and types in its own pg_temp, named after everything the extension
-- and pg_catalog use; it then calls the API with a search_path that puts
-- its objects first.  Every extension function must keep using its own
-- objects: nothing planted runs (the plants write to public.hijacked when
-- they run) and results are unchanged.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
DROP TABLE IF EXISTS public.hijacked;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_hostile') THEN
        DROP CAST IF EXISTS (public.jsonb AS public.text);
        EXECUTE 'DROP OWNED BY regress_enspiral_hostile'; DROP ROLE regress_enspiral_hostile;
    END IF;
END $$;
CREATE ROLE regress_enspiral_hostile;
SELECT count(*) > 0 AS granted FROM enspiral.grant_application('regress_enspiral_hostile');
GRANT CREATE ON SCHEMA public TO regress_enspiral_hostile;
CREATE TABLE public.hijacked (what text);
GRANT INSERT, SELECT ON public.hijacked TO PUBLIC;
RESET client_min_messages;
\set VERBOSITY terse

SET ROLE regress_enspiral_hostile;
SET client_min_messages = warning;
-- hostile tables and views in pg_temp, named after every relation of the
-- extension and every view of pg_catalog it might read unqualified
DO $$
DECLARE
    r text;
BEGIN
    FOR r IN SELECT c.relname FROM pg_class c
              WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind IN ('r', 'v', 'p', 'S', 'm')
              UNION SELECT unnest(ARRAY['members', 'groups', 'memberships', 'settings', 'ledger',
                                        'transfers', 'accounts', 'votes', 'ballots', 'proposals',
                                        'rounds', 'buckets', 'terms', 'contributions'])
    LOOP
        EXECUTE format('CREATE TEMP TABLE %I (group_id bigint, member_id bigint, hostile text)', r);
        EXECUTE format('INSERT INTO pg_temp.%I VALUES (1, 1, ''planted''), (2, 2, ''planted'')', r);
    END LOOP;
END
$$;
-- hostile functions: one for every function name the extension's SQL
-- calls (found in the bodies of its SQL and PL/pgSQL functions) and for the
-- usual built-ins, over the common argument types, in public
CREATE FUNCTION public.hostile_note(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO public.hijacked VALUES (what) $$;
DO $$
DECLARE
    fname text;
    sig   text;
    ret   text;
BEGIN
    FOR fname IN
        SELECT DISTINCT lower(m[1]) FROM pg_proc p,
               regexp_matches(p.prosrc, '([a-z_][a-z0-9_]*)\s*\(', 'gi') m
         WHERE p.pronamespace = 'enspiral'::regnamespace AND p.prolang <> 13 -- not C
           AND lower(m[1]) NOT IN ('if', 'in', 'exists', 'values', 'any', 'all', 'coalesce', 'greatest',
                                   'least', 'nullif', 'row', 'array', 'cast', 'not', 'and', 'or', 'when',
                                   'then', 'else', 'select', 'from', 'where', 'on', 'using', 'as', 'case',
                                   'filter', 'over', 'returning', 'set', 'into', 'elsif', 'loop', 'with',
                                   'table', 'check', 'primary', 'key', 'unique', 'references', 'is',
                                   'extract', 'overlay', 'position', 'substring', 'trim', 'count',
                                   'grouping', 'left', 'right', 'format')
        UNION SELECT unnest(ARRAY['now', 'btrim', 'lower', 'upper', 'length', 'abs', 'sqrt', 'floor',
                                  'jsonb_typeof', 'jsonb_array_length', 'jsonb_build_object',
                                  'array_length', 'cardinality', 'tstzrange', 'daterange', 'max', 'min',
                                  'sum', 'to_jsonb', 'jsonb_each', 'generate_series', 'unnest',
                                  'current_setting', 'set_config', 'pg_extension_config_dump',
                                  'string_agg', 'array_agg', 'concat', 'age', 'date_trunc'])
    LOOP
        FOREACH sig IN ARRAY ARRAY['', 'text', 'bigint', 'integer', 'numeric', 'jsonb', 'json',
                                   'timestamptz', 'date', 'bigint, bigint', 'text, text',
                                   'jsonb, text', 'timestamptz, timestamptz', 'date, date',
                                   'anyelement', 'anyarray', 'anyarray, integer', 'varchar', 'unknown']
        LOOP
            BEGIN
                EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS text LANGUAGE plpgsql AS %L',
                               fname, sig,
                               format('BEGIN PERFORM public.hostile_note(%L); RETURN NULL; END', fname || '(' || sig || ')'));
            EXCEPTION WHEN OTHERS THEN
                NULL;  -- some signatures are not allowed (e.g. unknown); skip
            END;
        END LOOP;
    END LOOP;
END
$$;
-- hostile operators on the common types
CREATE FUNCTION public.hostile_jop(a jsonb, b text) RETURNS jsonb LANGUAGE plpgsql
    AS $$ BEGIN PERFORM public.hostile_note('operator ->'); RETURN NULL; END $$;
CREATE FUNCTION public.hostile_cat(a jsonb, b jsonb) RETURNS jsonb LANGUAGE plpgsql
    AS $$ BEGIN PERFORM public.hostile_note('operator ||'); RETURN a; END $$;
DO $$
DECLARE
    op text;
    t  text;
BEGIN
    FOREACH op IN ARRAY ARRAY['=', '<>', '<', '<=', '>', '>=', '&&', '@>', '<@'] LOOP
        FOREACH t IN ARRAY ARRAY['bigint', 'integer', 'text', 'timestamptz', 'date', 'numeric', 'jsonb',
                                 'boolean', 'tstzrange', 'daterange'] LOOP
            IF op = '=' THEN
                EXECUTE format('CREATE FUNCTION public.hostile_op(a %s, b %s) RETURNS boolean LANGUAGE plpgsql
                                AS $f$ BEGIN PERFORM public.hostile_note(''operator''); RETURN true; END $f$', t, t);
            END IF;
            EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.hostile_op)',
                           op, t, t);
        END LOOP;
    END LOOP;
END
$$;
CREATE OPERATOR public.-> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.hostile_jop);
CREATE OPERATOR public.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.hostile_jop);
CREATE OPERATOR public.|| (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = public.hostile_cat);
-- hostile types shadowing built-in names, with casts into them
CREATE TYPE public.jsonb AS (x int);
CREATE TYPE public.text AS (x int);
CREATE TYPE public.bigint AS (x int);
CREATE FUNCTION public.hostile_cast(a public.jsonb) RETURNS public.text LANGUAGE plpgsql
    AS $$ BEGIN PERFORM public.hostile_note('cast'); RETURN NULL; END $$;
CREATE CAST (public.jsonb AS public.text) WITH FUNCTION public.hostile_cast(public.jsonb) AS IMPLICIT;
RESET client_min_messages;
SELECT count(*) > 200 AS many_functions_planted FROM pg_proc
 WHERE pronamespace = 'public'::regnamespace AND proowner = 'regress_enspiral_hostile'::regrole;
SELECT count(*) > 80 AS operators_planted FROM pg_operator
 WHERE oprnamespace = 'public'::regnamespace AND oprowner = 'regress_enspiral_hostile'::regrole;
SELECT count(*) > 0 AS temp_tables_planted FROM pg_class WHERE relnamespace = pg_my_temp_schema();

-- the attack: hostile objects first on the path, then the API
SET search_path = pg_temp, public, pg_catalog;
SELECT enspiral.create_group('Target') AS g \gset
SELECT enspiral.add_member(:g, 'victim') AS v \gset
SELECT enspiral.add_member(:g, 'other') AS o \gset
SELECT enspiral.group_settings(:g) OPERATOR(pg_catalog.->>) 'min_catalysts' AS min_catalysts;
SELECT enspiral.update_group_settings(:g, '{"min_catalysts": 4}') OPERATOR(pg_catalog.->>) 'min_catalysts' AS updated;
SELECT enspiral.member_id(:g, 'victim') OPERATOR(pg_catalog.=) :v AS same_member,
       enspiral.is_member(:g, :v) AS is_member;
SELECT enspiral.remove_member(:g, :o);
SELECT enspiral.is_member(:g, :o) AS removed_is_member;
SELECT enspiral.add_member(:g, 'other') OPERATOR(pg_catalog.=) :o AS rejoined_same_id;
SELECT enspiral.add_member(:g, 'other');
SELECT enspiral.create_group('');
SELECT enspiral.normalize_group_settings('{"min_catalysts": 2}') OPERATOR(pg_catalog.->>) 'min_catalysts' AS normalized;
-- every part of the API under the same path (the test's own SQL is
-- schema-qualified: with this path, plain now() or ::jsonb would reach the plants)
SELECT enspiral.add_member(:g, 'third') AS t \gset
SELECT enspiral.add_member(:g, 'fourth') AS f \gset
-- decisions
SELECT enspiral.propose(:g, :v, 'Hostile day', 'ranked', ARRAY['a', 'b', 'c']) AS p \gset
SELECT enspiral.open_proposal(:p, pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1));
SELECT enspiral.vote(:p, :v, '["a", "b"]') IS NOT NULL AS voted,
       enspiral.vote(:p, :o, '["b", "a"]') IS NOT NULL AS voted2,
       enspiral.vote(:p, :t, '["a"]') IS NOT NULL AS voted3;
SELECT enspiral.vote(:p, :v, '["z"]');
SELECT enspiral.proposal_state(:p) AS state;
SELECT enspiral.close_proposal(:p);
SELECT enspiral.outcome(:p) OPERATOR(pg_catalog.->>) 'winner' AS winner,
       enspiral.outcome(:p) OPERATOR(pg_catalog.->) 'totals' AS totals;
SELECT m.matches FROM enspiral.verify_outcome(:p) m;
SELECT enspiral.propose(:g, :v, 'Consent', 'consent') AS c \gset
SELECT enspiral.open_proposal(:c, pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1));
SELECT enspiral.vote(:c, :o, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.close_proposal(:c);
SELECT enspiral.outcome(:c) OPERATOR(pg_catalog.->>) 'passed' AS passed;
-- co-budgeting
SELECT enspiral.create_round(:g, 'Hostile round', 4000, pg_catalog.now(),
                             pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1)) AS r \gset
SELECT enspiral.allocate(:r) AS allocated;
SELECT enspiral.create_bucket(:r, :v, 'Roof', 100, 1500) AS b \gset
SELECT enspiral.create_bucket(:r, :o, 'Fence', 100, 1500) AS b2 \gset
SELECT enspiral.open_bucket(:b), enspiral.open_bucket(:b2);
SELECT enspiral.contribute(:b, :v, 700, 'hostile-1') IS NOT NULL AS contributed,
       enspiral.contribute(:b2, :o, 300) IS NOT NULL AS contributed2,
       enspiral.contribute(:b2, :t, 200) IS NOT NULL AS contributed3;
SELECT enspiral.contribute(:b, :v, 5000);
SELECT enspiral.balance(:r, :v) AS balance, enspiral.bucket_total(:b) AS total, enspiral.bucket_state(:b) AS state;
SELECT enspiral.close_round(:r) IS NOT NULL AS closed;
SELECT pg_catalog.count(*) AS match_calls FROM (SELECT enspiral.match_round(:r, 1000)) m;
SELECT enspiral.bucket_total(:b) AS roof, enspiral.bucket_total(:b2) AS fence;
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);
-- catalysts (the commit-time coverage check runs as the extension owner,
-- whoever commits)
SELECT enspiral.appoint_catalyst(:g, :v, CURRENT_DATE, 6) IS NOT NULL AS appointed,
       enspiral.appoint_catalyst(:g, :o, CURRENT_DATE, 6) IS NOT NULL AS appointed2;
SELECT c.catalysts FROM enspiral.catalyst_coverage(:g, CURRENT_DATE,
       CURRENT_DATE OPERATOR(pg_catalog.+) 30) c;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS has_gaps FROM enspiral.catalyst_gaps(:g, CURRENT_DATE,
       CURRENT_DATE OPERATOR(pg_catalog.+) 30);
SELECT s.months_served, s.serving FROM enspiral.catalyst_service(:g) s WHERE s.member_id OPERATOR(pg_catalog.=) :v;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS planned FROM enspiral.plan_rotation(:g, CURRENT_DATE,
       CURRENT_DATE OPERATOR(pg_catalog.+) 30);
-- allocation math, lifecycle types
SELECT enspiral.apportion(100, ARRAY[2, 3, 4]::pg_catalog.numeric[]) AS shares;
SELECT q.project, q.match FROM enspiral.quadratic_match(100, ARRAY[1, 1, 2]::pg_catalog.int8[],
       ARRAY[1, 2, 3]::pg_catalog.int8[], ARRAY[4, 9, 16]::pg_catalog.int8[]) q;
SELECT enspiral.quadratic_vote_cost(ARRAY[3, -4]::pg_catalog.int8[]) AS cost;
SELECT enspiral.instant_runoff(x.r) AS irv FROM (VALUES (ARRAY[1, 2]::pg_catalog.int8[]),
       (ARRAY[2, 1]::pg_catalog.int8[]), (ARRAY[1]::pg_catalog.int8[])) x(r);
SELECT enspiral.can_transition('draft'::enspiral.proposal_state, 'open'::enspiral.proposal_state) AS draft_to_open,
       enspiral.can_transition('completed'::enspiral.bucket_state, 'open'::enspiral.bucket_state) AS completed_to_open;
RESET search_path;
RESET ROLE;

-- nothing planted ran, and the extension's tables hold the right data
SELECT count(*) AS hijacked_calls FROM public.hijacked;
SELECT what FROM public.hijacked GROUP BY what ORDER BY what LIMIT 10;
SELECT count(*) AS members_in_target FROM enspiral.current_members
 WHERE group_id = (SELECT max(group_id) FROM enspiral.groups);
-- the attack was real: the same search_path does reach the plants from plain SQL
SET ROLE regress_enspiral_hostile;
SET search_path = public, pg_catalog;
SELECT lower('X'::pg_catalog.text) IS NULL AS plant_reachable;
RESET search_path;
RESET ROLE;
SELECT count(*) > 0 AS plants_were_live FROM public.hijacked;

\set VERBOSITY default
SET client_min_messages = warning;
DROP TABLE public.hijacked;
DISCARD TEMP;
DROP CAST (public.jsonb AS public.text);
DROP OWNED BY regress_enspiral_hostile;
REVOKE CREATE ON SCHEMA public FROM regress_enspiral_hostile;
DROP ROLE regress_enspiral_hostile;
