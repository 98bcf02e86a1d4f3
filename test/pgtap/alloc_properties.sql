-- Property tests of the allocation math over generated data (fixed seed):
-- apportion sums, quota rule, largest-remainder order, the integer and
-- numeric paths agree; quadratic_match sums, caps, water-filling against a
-- reference computed in SQL, pairwise against a brute-force reference,
-- pairwise -> standard as M grows, permutation invariance, duplicate rows.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION enspiral CASCADE;
SELECT plan(25);
SELECT setseed(0.4242);

------------------------------------------------------------------------------
-- apportion
------------------------------------------------------------------------------
CREATE TEMP TABLE ap AS
SELECT t,
       CASE t % 4 WHEN 0 THEN (random() * 1e15)::bigint
                  WHEN 1 THEN (random() * 100)::bigint
                  WHEN 2 THEN 9223372036854775807 - (random() * 1000)::bigint
                  ELSE (random() * 1e6)::bigint END AS total,
       ARRAY(SELECT (CASE WHEN random() < 0.2 THEN 0
                          WHEN t % 5 = 0 THEN floor(random() * 9e18)
                          ELSE floor(random() * 1000) END)::numeric
               FROM generate_series(0, (random() * 40)::int + 0 * t)) AS w
  FROM generate_series(1, 400) t;
UPDATE ap SET w = w || 1::numeric WHERE total > 0;   -- at least one positive weight
CREATE TEMP TABLE ap_el AS
SELECT a.t, a.total, e.i, e.w, e.s,
       sum(e.w) OVER (PARTITION BY a.t) AS wsum
  FROM ap a, LATERAL unnest(a.w, enspiral.apportion(a.total, a.w)) WITH ORDINALITY AS e(w, s, i);
ALTER TABLE ap_el ADD quota_floor numeric, ADD rem numeric;
UPDATE ap_el SET quota_floor = CASE WHEN wsum = 0 THEN 0 ELSE div(total * w, wsum) END,
                 rem = CASE WHEN wsum = 0 THEN 0 ELSE mod(total * w, wsum) END;

SELECT is((SELECT count(*) FROM ap a
            WHERE a.total <> (SELECT coalesce(sum(s), 0) FROM ap_el e WHERE e.t = a.t)),
          0::bigint, 'apportion: the shares sum to the total (400 random splits)');
SELECT is((SELECT count(*) FROM ap_el WHERE s - quota_floor NOT IN (0, 1)),
          0::bigint, 'apportion: quota rule, every share is floor(quota) or one more');
SELECT is((SELECT count(*) FROM ap_el a JOIN ap_el b ON a.t = b.t
            WHERE a.s - a.quota_floor = 1 AND b.s - b.quota_floor = 0
              AND (a.rem < b.rem OR (a.rem = b.rem AND a.i > b.i))),
          0::bigint, 'apportion: extra units go to the largest remainders, ties to the lower index');
SELECT is((SELECT count(*) FROM ap_el WHERE w = 0 AND s <> 0),
          0::bigint, 'apportion: zero weights get nothing');
SELECT is((SELECT count(*) FROM ap
            WHERE enspiral.apportion(total, w) <> enspiral.apportion(total, ARRAY(SELECT x * 0.001 FROM unnest(w) x))
               OR enspiral.apportion(total, w) <> enspiral.apportion(total, ARRAY(SELECT x * 1e30 FROM unnest(w) x))),
          0::bigint, 'apportion: the int128 and numeric paths agree (weights scaled by 1e-3 and 1e30)');
SELECT ok((SELECT count(*) FROM ap_el WHERE s - quota_floor = 1) > 1000,
          'apportion: the random splits exercise the leftover units');

------------------------------------------------------------------------------
-- quadratic_match: generated rounds
------------------------------------------------------------------------------
CREATE TEMP TABLE rounds AS
SELECT r,
       CASE r % 3 WHEN 0 THEN (random() * 60)::bigint
                  WHEN 1 THEN (random() * 6000)::bigint
                  ELSE (random() * 1e9)::bigint END AS pool,
       0::bigint AS cap,
       (1 + random() * 300)::numeric(10, 2) AS threshold,
       2 + (random() * 6)::int AS nproj,
       2 + (random() * 10)::int AS ncontrib,
       3 + (random() * 50)::int AS n
  FROM generate_series(1, 150) r;
UPDATE rounds SET cap = CASE WHEN r % 2 = 0 THEN NULL ELSE 1 + ((0.15 + random() * 0.65) * pool)::bigint END;
CREATE TEMP TABLE contribs AS
SELECT q.r, g AS row_no,
       1 + floor(random() * q.nproj)::bigint AS project,
       100 + floor(random() * q.ncontrib)::bigint AS contributor,
       1 + floor(random() * random() * 1000)::bigint AS amount
  FROM rounds q, generate_series(1, q.n) g;

-- quadratic_match of every round, rows aggregated in a given order
CREATE FUNCTION pg_temp.run(method text, shuffle boolean DEFAULT false, split boolean DEFAULT false,
                            big_threshold boolean DEFAULT false, cap_is_pool boolean DEFAULT false)
RETURNS TABLE (r int, project bigint, match bigint) LANGUAGE sql AS $$
  WITH rows AS (
    SELECT x.r, x.row_no, random() AS k, x.project, x.contributor, x.amount FROM contribs x WHERE NOT split OR x.amount < 2
    UNION ALL
    SELECT x.r, x.row_no, random(), x.project, x.contributor, y.part
      FROM contribs x, LATERAL (VALUES (x.amount / 2), (x.amount - x.amount / 2)) y(part)
     WHERE split AND x.amount >= 2)
  SELECT q.r, m.project, m.match
    FROM rounds q,
         LATERAL (SELECT array_agg(w.project ORDER BY CASE WHEN shuffle THEN w.k ELSE w.row_no END) AS p,
                         array_agg(w.contributor ORDER BY CASE WHEN shuffle THEN w.k ELSE w.row_no END) AS c,
                         array_agg(w.amount ORDER BY CASE WHEN shuffle THEN w.k ELSE w.row_no END) AS a
                    FROM rows w WHERE w.r = q.r) s,
         LATERAL enspiral.quadratic_match(q.pool, s.p, s.c, s.a, CASE WHEN cap_is_pool THEN q.pool ELSE q.cap END, method,
                                          CASE WHEN big_threshold THEN 1e15 ELSE q.threshold END) m
$$;

-- reference ideals in double precision, straight from the definitions
CREATE TEMP TABLE cip AS
SELECT r, project, contributor, sum(amount)::float8 AS c FROM contribs GROUP BY 1, 2, 3;
CREATE TEMP TABLE kij AS
SELECT a.r, a.contributor AS i, b.contributor AS j, sum(sqrt(a.c * b.c)) AS k
  FROM cip a JOIN cip b ON a.r = b.r AND a.project = b.project AND a.contributor < b.contributor
 GROUP BY 1, 2, 3;
CREATE TEMP TABLE ideal AS
SELECT 'standard'::text AS method, r, project, power(sum(sqrt(c)), 2) - sum(c) AS ideal
  FROM cip GROUP BY r, project
UNION ALL
SELECT 'pairwise', p.r, p.project,
       coalesce((SELECT 2 * sum(sqrt(a.c * b.c) * q.threshold::float8 / (q.threshold::float8 + k.k))
                   FROM cip a JOIN cip b ON a.r = b.r AND a.project = b.project AND a.contributor < b.contributor
                   JOIN kij k ON k.r = a.r AND k.i = a.contributor AND k.j = b.contributor
                  WHERE a.r = p.r AND a.project = p.project), 0)
  FROM (SELECT DISTINCT r, project FROM cip) p JOIN rounds q ON q.r = p.r;

-- expected range [lo, hi] of each match: floor of the capped ideal when the
-- round is not saturated, else floor(quota) or one more, quota from
-- water-filling the cap (fp tolerance 1e-7 relative)
CREATE FUNCTION pg_temp.expected(pool bigint, cap bigint, ideals float8[])
RETURNS TABLE (i int, lo float8, hi float8, saturated boolean) LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(ideals, 1), 0);
    capped boolean[] := array_fill(false, ARRAY[n]);
    total float8 := 0;
    rest float8;
    s float8;
    changed boolean;
    q float8;
    k int;
BEGIN
    FOR k IN 1..n LOOP
        total := total + least(ideals[k], coalesce(cap::float8, 'Infinity'));
    END LOOP;
    IF total <= pool THEN
        FOR k IN 1..n LOOP
            q := least(ideals[k], coalesce(cap::float8, 'Infinity'));
            RETURN QUERY SELECT k, floor(q - 1e-7 * greatest(q, 1)), floor(q + 1e-7 * greatest(q, 1)), false;
        END LOOP;
        RETURN;
    END IF;
    LOOP
        rest := pool; s := 0;
        FOR k IN 1..n LOOP
            IF capped[k] THEN rest := rest - cap; ELSE s := s + ideals[k]; END IF;
        END LOOP;
        changed := false;
        IF cap IS NOT NULL THEN
            FOR k IN 1..n LOOP
                IF NOT capped[k] AND rest * ideals[k] > cap * s THEN
                    capped[k] := true; changed := true;
                END IF;
            END LOOP;
        END IF;
        EXIT WHEN NOT changed;
    END LOOP;
    FOR k IN 1..n LOOP
        IF capped[k] THEN
            RETURN QUERY SELECT k, cap::float8, cap::float8, true;
        ELSE
            q := CASE WHEN s = 0 THEN 0 ELSE rest * ideals[k] / s END;
            RETURN QUERY SELECT k, floor(q - 1e-7 * greatest(q, 1)), floor(q + 1e-7 * greatest(q, 1)) + 1, true;
        END IF;
    END LOOP;
END
$$;

CREATE TEMP TABLE results AS
SELECT 'standard'::text AS method, * FROM pg_temp.run('standard')
UNION ALL
SELECT 'pairwise', * FROM pg_temp.run('pairwise');
CREATE TEMP TABLE expect AS
SELECT d.method, d.r, d.project, e.lo, e.hi, e.saturated
  FROM (SELECT method, r, array_agg(project ORDER BY project) AS projects,
               array_agg(ideal ORDER BY project) AS ideals
          FROM ideal GROUP BY method, r) g
  JOIN rounds q ON q.r = g.r,
       LATERAL pg_temp.expected(q.pool, q.cap, g.ideals) e,
       LATERAL (SELECT g.method, g.r, g.projects[e.i] AS project) d;

SELECT is((SELECT count(*) FROM results), (SELECT count(*) FROM expect),
          'quadratic_match: one row per distinct project');
SELECT is((SELECT count(*) FROM (SELECT method, r FROM expect WHERE saturated GROUP BY 1, 2) s
            JOIN rounds q USING (r)
           WHERE q.pool <> (SELECT sum(match) FROM results x WHERE x.method = s.method AND x.r = s.r)),
          0::bigint, 'quadratic_match: saturated rounds pay exactly the pool');
SELECT is((SELECT count(*) FROM (SELECT method, r FROM expect WHERE NOT saturated GROUP BY 1, 2) s
            JOIN rounds q USING (r)
           WHERE q.pool < (SELECT sum(match) FROM results x WHERE x.method = s.method AND x.r = s.r)),
          0::bigint, 'quadratic_match: unsaturated rounds stay within the pool');
SELECT is((SELECT count(*) FROM results x JOIN rounds q USING (r) WHERE x.match > q.cap OR x.match < 0),
          0::bigint, 'quadratic_match: no match exceeds the cap or is negative');
SELECT is((SELECT count(*) FROM results x JOIN expect e USING (method, r, project)
            WHERE x.method = 'standard' AND (x.match < e.lo OR x.match > e.hi)),
          0::bigint, 'quadratic_match standard: every match agrees with the SQL reference (floor / quota rule after water-filling)');
SELECT is((SELECT count(*) FROM results x JOIN expect e USING (method, r, project)
            WHERE x.method = 'pairwise' AND (x.match < e.lo OR x.match > e.hi)),
          0::bigint, 'quadratic_match pairwise: every match agrees with the brute-force SQL reference');
SELECT ok((SELECT count(DISTINCT (method, r)) FROM expect e JOIN rounds q USING (r)
            WHERE e.saturated AND e.lo = q.cap) >= 20,
          'quadratic_match: the generated rounds include saturated rounds with capped projects');
SELECT ok((SELECT count(DISTINCT (method, r)) FROM expect WHERE NOT saturated) >= 20
          AND (SELECT count(DISTINCT (method, r)) FROM expect WHERE saturated) >= 20,
          'quadratic_match: the generated rounds include saturated and unsaturated rounds');
SELECT ok((SELECT count(*) FROM results r1 JOIN results r2 USING (r, project)
            WHERE r1.method = 'standard' AND r2.method = 'pairwise' AND r1.match <> r2.match) > 50,
          'quadratic_match: pairwise differs from standard at moderate thresholds');

-- invariances
SELECT is((SELECT count(*) FROM (TABLE results EXCEPT ALL
                                 (SELECT 'standard', * FROM pg_temp.run('standard', shuffle => true)
                                  UNION ALL SELECT 'pairwise', * FROM pg_temp.run('pairwise', shuffle => true))) d),
          0::bigint, 'quadratic_match: permuting the input rows changes nothing');
SELECT is((SELECT count(*) FROM (TABLE results EXCEPT ALL
                                 (SELECT 'standard', * FROM pg_temp.run('standard', split => true)
                                  UNION ALL SELECT 'pairwise', * FROM pg_temp.run('pairwise', split => true))) d),
          0::bigint, 'quadratic_match: duplicate (project, contributor) rows act as one summed contribution');
SELECT is((SELECT count(*) FROM (SELECT * FROM results x JOIN rounds q USING (r) WHERE q.cap IS NULL) x
                                 JOIN (SELECT 'standard' AS method, * FROM pg_temp.run('standard', cap_is_pool => true)
                                       UNION ALL SELECT 'pairwise', * FROM pg_temp.run('pairwise', cap_is_pool => true)) y
                                 USING (method, r, project)
            WHERE x.match <> y.match),
          0::bigint, 'quadratic_match: a cap equal to the pool never binds (same as no cap, ties included)');
SELECT is((SELECT count(*) FROM results s JOIN pg_temp.run('pairwise', big_threshold => true) p USING (r, project)
            WHERE s.method = 'standard' AND abs(s.match - p.match) > 1),
          0::bigint, 'quadratic_match: pairwise with M = 1e15 is standard within one unit');
SELECT is((SELECT count(*) FROM results s JOIN pg_temp.run('pairwise', big_threshold => true) p USING (r, project)
            JOIN rounds q USING (r)
            WHERE s.method = 'standard' AND s.match <> p.match
              AND q.pool < 1000000),
          0::bigint, 'quadratic_match: pairwise with M = 1e15 equals standard exactly for pools under 1e6');

------------------------------------------------------------------------------
-- quadratic voting costs
------------------------------------------------------------------------------
CREATE TEMP TABLE ballots AS
SELECT b, ARRAY(SELECT (random() * 2e6 - 1e6)::bigint FROM generate_series(0, (random() * 20)::int + 0 * b)) AS votes
  FROM generate_series(1, 200) b;
SELECT is((SELECT count(*) FROM ballots
            WHERE enspiral.quadratic_vote_cost(votes) <> (SELECT coalesce(sum(v::numeric * v), 0) FROM unnest(votes) v)),
          0::bigint, 'quadratic_vote_cost: the sum of squares (200 random ballots)');
SELECT is((SELECT count(*) FROM ballots
            WHERE enspiral.quadratic_vote_cost(votes) <> (SELECT enspiral.quadratic_vote_cost_agg(v) FROM unnest(votes) v)),
          0::bigint, 'quadratic_vote_cost_agg: the same cost over rows');

------------------------------------------------------------------------------
-- quadratic_match options (doc/matching.md): COCM and blends keep the payout
-- rules, do not depend on row order, and blend 0 is QF
------------------------------------------------------------------------------
CREATE FUNCTION pg_temp.run_opt(options jsonb, shuffle boolean DEFAULT false)
RETURNS TABLE (r int, project bigint, match bigint) LANGUAGE sql AS $$
  SELECT q.r, m.project, m.match
    FROM rounds q,
         LATERAL (SELECT array_agg(w.project ORDER BY CASE WHEN shuffle THEN w.k ELSE w.row_no END) AS p,
                         array_agg(w.contributor ORDER BY CASE WHEN shuffle THEN w.k ELSE w.row_no END) AS c,
                         array_agg(w.amount ORDER BY CASE WHEN shuffle THEN w.k ELSE w.row_no END) AS a
                    FROM (SELECT x.*, random() AS k FROM contribs x WHERE x.r = q.r) w) s,
         LATERAL enspiral.quadratic_match(q.pool, s.p, s.c, s.a, q.cap, options => options) m
$$;
CREATE TEMP TABLE cocm1 AS SELECT * FROM pg_temp.run_opt('{"pct_cocm": 1}');
CREATE TEMP TABLE cocm5 AS SELECT * FROM pg_temp.run_opt('{"pct_cocm": 0.5}');
SELECT is((SELECT count(*) FROM (SELECT x.r FROM (SELECT * FROM cocm1 UNION ALL SELECT * FROM cocm5) x
                                   JOIN rounds q ON q.r = x.r
                                  WHERE x.match < 0 OR x.match > coalesce(q.cap, x.match)
                                 UNION ALL
                                 SELECT x.r FROM cocm1 x JOIN rounds q ON q.r = x.r
                                  GROUP BY x.r, q.pool HAVING sum(x.match) > q.pool
                                 UNION ALL
                                 SELECT x.r FROM cocm5 x JOIN rounds q ON q.r = x.r
                                  GROUP BY x.r, q.pool HAVING sum(x.match) > q.pool) bad), 0::bigint,
          'COCM and blend: no match below 0 or above the cap, no round pays more than its pool');
SELECT bag_eq('SELECT * FROM cocm1', $$SELECT * FROM pg_temp.run_opt('{"pct_cocm": 1}', true)$$,
              'COCM does not depend on the order of the rows');
SELECT bag_eq($$SELECT * FROM pg_temp.run_opt('{"pct_cocm": 0, "trust_scores": {}, "trust_zero_below": 0, "trust_full_at": 0}')$$,
              $$SELECT * FROM pg_temp.run_opt(NULL)$$,
              'blend 0 over full trust (the real-valued path) is plain QF exactly');

SELECT * FROM finish();
ROLLBACK;
