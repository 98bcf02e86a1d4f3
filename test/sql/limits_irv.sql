-- instant_runoff at scale: the incremental count gives the same results as
-- a plain reference count written from the rules (README, Decisions), and
-- thousands of options finish fast (a 5 s statement_timeout turns a slow
-- count into a failure; the count takes milliseconds).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- The rules, plainly: each round every ballot counts for its highest-ranked
-- option not yet eliminated; more than half of the non-exhausted ballots
-- wins, or the last option left; otherwise the fewest votes goes, ties by
-- fewest in the previous round, then the one before, back to the first,
-- then the largest id.  Returns the winner and the eliminations in order.
CREATE FUNCTION pg_temp.reference_irv(ballots bigint[][], OUT winner bigint, OUT eliminated bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    opts bigint[] := (SELECT array_agg(DISTINCT o) FROM unnest(ballots) o WHERE o IS NOT NULL);
    out bigint[] := '{}';
    history jsonb[] := '{}';
    counts jsonb;
    active bigint;
    loser bigint;
BEGIN
    eliminated := '{}';
    LOOP
        SELECT coalesce(jsonb_object_agg(o, (SELECT count(*) FROM generate_series(1, array_length(ballots, 1)) b
                 WHERE (SELECT x FROM unnest(ballots[b:b]) WITH ORDINALITY u(x, i)
                         WHERE x IS NOT NULL AND x <> ALL (out) ORDER BY i LIMIT 1) = o)), '{}')
          INTO counts FROM unnest(opts) o WHERE o <> ALL (out);
        history := history || counts;
        SELECT sum(v::bigint) INTO active FROM jsonb_each_text(counts) e(k, v);
        SELECT k::bigint INTO winner FROM jsonb_each_text(counts) e(k, v)
         WHERE v::bigint * 2 > active OR cardinality(opts) - cardinality(out) = 1;
        IF winner IS NOT NULL THEN
            RETURN;
        END IF;
        SELECT o INTO loser FROM unnest(opts) o WHERE o <> ALL (out)
         ORDER BY (SELECT array_agg((h ->> o::text)::bigint ORDER BY r DESC)
                     FROM unnest(history) WITH ORDINALITY t(h, r)), o DESC
         LIMIT 1;
        out := out || loser;
        eliminated := eliminated || loser;
    END LOOP;
END $$;

-- 120 ballots over 40 options, ranks of 1 to 4 with many ties
CREATE TABLE small_ordered AS
SELECT b, ARRAY(SELECT o FROM (SELECT DISTINCT ON (o) o, k
                  FROM (SELECT ((b * 7 + k * 13 + b * k) % 40 + 1)::bigint AS o, k
                          FROM generate_series(1, b % 4 + 1) k) s
                 ORDER BY o, k) d ORDER BY k) AS ranking
  FROM generate_series(1, 120) b;
SELECT count(*) AS ballots, count(DISTINCT o) AS options
  FROM small_ordered, unnest(ranking) o;

-- the same winner and the same eliminations as the reference
WITH ref AS (
    SELECT * FROM pg_temp.reference_irv(
        (SELECT array_agg(ranking || array_fill(NULL::bigint, ARRAY[4 - cardinality(ranking)]) ORDER BY b)
           FROM small_ordered))
), ours AS (
    SELECT enspiral.instant_runoff_rounds(ranking ORDER BY b) AS r,
           enspiral.instant_runoff(ranking ORDER BY b) AS w
      FROM small_ordered
)
SELECT ours.w = ref.winner AS same_winner,
       (ours.r ->> 'winner')::bigint = ref.winner AS same_reported_winner,
       ARRAY(SELECT (x ->> 'eliminated')::bigint FROM jsonb_array_elements(ours.r -> 'rounds') x
              WHERE x ? 'eliminated') = ref.eliminated AS same_eliminations,
       cardinality(ref.eliminated) AS eliminations
  FROM ref, ours;

-- thousands of singly-voted options, fast
SET statement_timeout = '5s';
SELECT enspiral.instant_runoff(ARRAY[g]) AS winner FROM generate_series(1, 20000) g;
SELECT enspiral.instant_runoff(ARRAY[g, g % 20000 + 1]) AS winner FROM generate_series(1, 20000) g;
SELECT jsonb_array_length(enspiral.instant_runoff_rounds(ARRAY[g, g % 1000 + 1]) -> 'rounds') AS rounds
  FROM generate_series(1, 1000) g;
RESET statement_timeout;
