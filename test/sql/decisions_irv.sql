-- instant_runoff(bigint[]): the exact semantics of doc/decisions.md
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- no ballots, only NULL or empty ballots: NULL
SELECT enspiral.instant_runoff(r) IS NULL AS none FROM (SELECT NULL::bigint[] AS r WHERE false) x;
SELECT enspiral.instant_runoff(r) IS NULL AS only_empty
  FROM (VALUES (NULL::bigint[]), ('{}'::bigint[])) v(r);

-- a majority in the first round wins at once
SELECT enspiral.instant_runoff(r) AS winner
  FROM (VALUES ('{1,2}'::bigint[]), ('{1,3}'), ('{2,1}')) v(r);
SELECT enspiral.instant_runoff_rounds(r) AS rounds
  FROM (VALUES ('{1,2}'::bigint[]), ('{1,3}'), ('{2,1}')) v(r);

-- exactly half is not a majority: 2 of 4 for option 1; 2 and 3 tie for
-- fewest with no earlier round: the largest id, 3, goes and its ballot moves
-- to 2; then 1 and 2 tie 2-2: the previous round had 1: 2, 2: 1, so 2 goes
SELECT enspiral.instant_runoff_rounds(r) AS rounds
  FROM (VALUES ('{1}'::bigint[]), ('{1}'), ('{2}'), ('{3,2}')) v(r);

-- exhausted ballots leave the count: majority of non-exhausted ballots
SELECT enspiral.instant_runoff_rounds(r) AS rounds
  FROM (VALUES ('{1}'::bigint[]), ('{1}'), ('{2}'), ('{2}'), ('{3}')) v(r);

-- a tie for fewest in every round: the largest option id is eliminated
SELECT enspiral.instant_runoff_rounds(r) AS rounds
  FROM (VALUES ('{10,20}'::bigint[]), ('{20,10}'), ('{30,10}'), ('{40,30}')) v(r);

-- tie-break looks back round by round to the first: round 1 eliminates 5
-- (4 and 5 tie, largest id), round 2 eliminates 4; in round 3 all three tie
-- and round 2 decides (2 had fewest); in round 4, 1 and 3 tie in rounds 4,
-- 3 and 2, and round 1 decides (3 had 2, 1 had 3)
SELECT enspiral.instant_runoff_rounds(r) AS rounds
  FROM (VALUES ('{1}'::bigint[]), ('{1}'), ('{1}'), ('{2}'), ('{2}'), ('{3}'), ('{3}'),
               ('{4,2}'), ('{5,3}')) v(r);

-- options are those named on any ballot, even ranked last everywhere
SELECT enspiral.instant_runoff_rounds(r) AS rounds
  FROM (VALUES ('{1,2,7}'::bigint[]), ('{2,1,7}'), ('{1,7}')) v(r);

-- one option left wins even without a majority
SELECT enspiral.instant_runoff(r) AS winner FROM (VALUES ('{5}'::bigint[])) v(r);

-- negative and huge ids are fine
SELECT enspiral.instant_runoff(r) AS winner
  FROM (VALUES ('{-9223372036854775808, 9223372036854775807}'::bigint[]),
               ('{9223372036854775807}'), ('{9223372036854775807}')) v(r);

-- per group
SELECT g, enspiral.instant_runoff(r) AS winner
  FROM (VALUES (1, '{1,2}'::bigint[]), (1, '{1}'), (2, '{3,1}'), (2, '{3}'), (2, '{1}')) v(g, r)
 GROUP BY g ORDER BY g;

-- refused ballots
SELECT enspiral.instant_runoff(r) FROM (VALUES ('{1,2,1}'::bigint[])) v(r);
SELECT enspiral.instant_runoff(r) FROM (VALUES ('{1,NULL}'::bigint[])) v(r);
SELECT enspiral.instant_runoff(r) FROM (VALUES ('{{1,2},{3,4}}'::bigint[])) v(r);
-- a long ballot with a duplicate (sorted check)
SELECT enspiral.instant_runoff(array_append(array(SELECT generate_series(1, 40))::bigint[], 7));

-- a long ballot without duplicates: fine
SELECT enspiral.instant_runoff(array(SELECT generate_series(40, 1, -1))::bigint[]) AS winner;

-- a bigger election against a straightforward SQL count of the same rules
CREATE TEMP TABLE b AS
SELECT i, (SELECT array_agg(o ORDER BY md5(i::text || o::text))
             FROM generate_series(1, 6) o
            WHERE o <= 2 + (i % 5))::bigint[] AS r
  FROM generate_series(1, 3000) i;

CREATE FUNCTION pg_temp.irv_reference() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    out bigint[] := '{}';
    hist jsonb := '[]';
    cnt jsonb;
    active bigint;
    top bigint;
    topn bigint;
    loser bigint;
    opts bigint[];
BEGIN
    SELECT array_agg(DISTINCT o) INTO opts FROM b, unnest(b.r) o;
    LOOP
        SELECT coalesce(jsonb_object_agg(o, coalesce(n, 0)), '{}') INTO cnt
          FROM unnest(opts) o
          LEFT JOIN (SELECT f, count(*) n FROM
                       (SELECT (SELECT x FROM unnest(b.r) WITH ORDINALITY u(x, k)
                                 WHERE x <> ALL (out) ORDER BY k LIMIT 1) f FROM b) s
                      WHERE f IS NOT NULL GROUP BY f) c ON c.f = o
         WHERE o <> ALL (out);
        hist := hist || jsonb_build_array(cnt);
        SELECT sum(value::bigint) INTO active FROM jsonb_each_text(cnt);
        SELECT key::bigint, value::bigint INTO top, topn FROM jsonb_each_text(cnt)
         ORDER BY value::bigint DESC LIMIT 1;
        IF topn * 2 > active OR (SELECT count(*) FROM jsonb_object_keys(cnt)) = 1 THEN
            RETURN top;
        END IF;
        -- fewest now, then fewest in earlier rounds back to the first, then largest id
        SELECT k::bigint INTO loser FROM jsonb_object_keys(cnt) k
         ORDER BY (SELECT array_agg((hist -> (jsonb_array_length(hist) - j)) ->> k ORDER BY j)::bigint[]
                     FROM generate_series(1, jsonb_array_length(hist)) j),
                  k::bigint DESC
         LIMIT 1;
        out := out || loser;
    END LOOP;
END
$$;
SELECT enspiral.instant_runoff(r) = pg_temp.irv_reference() AS matches_reference,
       enspiral.instant_runoff(r) AS winner FROM b;
SELECT jsonb_array_length(enspiral.instant_runoff_rounds(r) -> 'rounds') AS rounds FROM b;

-- consent_counts: {agree, abstain, disagree, block, all}; NULL skipped,
-- anything else counts only in the total
SELECT enspiral.consent_counts(b)
  FROM (VALUES ('"agree"'::jsonb), ('"block"'), ('"abstain"'), ('"disagree"'), ('"agree"'),
               ('"agreed"'), (NULL), ('[1]')) v(b);
SELECT enspiral.consent_counts(b) FROM (SELECT NULL::jsonb AS b WHERE false) x;

-- the support functions can be called directly: malformed states are user
-- errors (22023), never internal ones
SELECT enspiral.consent_counts_accum('{0,0,0,0,0}', '"block"');
SELECT enspiral.consent_counts_combine('{1,2,3,4,10}', '{1,1,1,1,4}');
SELECT enspiral.consent_counts_combine(ARRAY[2,2]::bigint[], ARRAY[12,NULL,1,1,1]::bigint[]);
SELECT enspiral.consent_counts_combine('{0,0,0,0,0}', ARRAY[12,NULL,1,1,1]::bigint[]);
SELECT enspiral.consent_counts_accum(ARRAY[10,NULL]::bigint[], '"agree"');
SELECT enspiral.consent_counts_accum('{}', '"agree"');
SELECT enspiral.consent_counts_accum('{{0,0,0,0,0}}', '"agree"');
SELECT enspiral.consent_counts_accum('{0,0,0,0,-1}', '"agree"');
SELECT enspiral.consent_counts_accum('[0:4]={0,0,0,0,0}', '"agree"');
SELECT enspiral.consent_counts_accum('{9223372036854775807,0,0,0,9223372036854775807}', '"agree"');
SELECT enspiral.consent_counts_combine('{9223372036854775807,0,0,0,0}', '{1,0,0,0,0}');
-- (the instant_runoff support functions take internal: SQL cannot call them)
-- rankings: multi-dimensional, NULL-holding, non-1-based and large arrays
SELECT enspiral.instant_runoff(r) FROM (VALUES ('{{1,2},{3,4}}'::bigint[])) v(r);
SELECT enspiral.instant_runoff(r) FROM (VALUES ('{1,NULL}'::bigint[])) v(r);
SELECT enspiral.instant_runoff(r) FROM (VALUES ('[0:1]={7,8}'::bigint[])) v(r);
SELECT enspiral.instant_runoff(ARRAY(SELECT generate_series(1, 100000)::bigint));
SELECT enspiral.instant_runoff(ARRAY(SELECT 1::bigint FROM generate_series(1, 3)));
-- huge rankings with few ballots: options without votes go by id, largest
-- first, without a scan per round (this took hours before)
SELECT enspiral.instant_runoff(r)
  FROM (VALUES (ARRAY(SELECT generate_series(1, 100000)::bigint)),
               (ARRAY(SELECT generate_series(100000, 1, -1)::bigint))) v(r);
SELECT jsonb_array_length(enspiral.instant_runoff_rounds(r) -> 'rounds') AS rounds
  FROM (VALUES ('{1,5,6,7}'::bigint[]), ('{2,8,9}'), ('{2}'), ('{1}'), ('{3}')) v(r);
SELECT enspiral.instant_runoff_rounds(r) -> 'rounds'
  FROM (VALUES ('{1,5,6,7}'::bigint[]), ('{2,8,9}'), ('{2}'), ('{1}'), ('{3}')) v(r);
-- too many rounds to report: a clean 54000, the winner is still available
SELECT enspiral.instant_runoff_rounds(r)
  FROM (VALUES (ARRAY(SELECT generate_series(1, 100000)::bigint)),
               (ARRAY(SELECT generate_series(100000, 1, -1)::bigint))) v(r);
