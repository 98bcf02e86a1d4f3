-- Every long computation answers a cancel or statement_timeout promptly
-- (doc/limits-and-cancel.md).  Each case below runs, on its own, for
-- seconds without a timeout (tools/limits.sh times them); here each runs
-- under statement_timeout = 100ms and must end with 57014
-- (query_canceled) well before it would have finished.  Only booleans are
-- printed: "cancelled" (57014 was raised) and "prompt" (the statement
-- ended within 2 s of its start: a loose bound for a loaded machine;
-- tools/limits.sh measures the latency itself).
-- The inputs are built first, so the timeout hits the computation and not
-- the building of its input, and stored uncompressed (STORAGE EXTERNAL),
-- so reading them is not a long decompression (which is PostgreSQL's own
-- code, before the function starts).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- inputs: 3,000,000 integer weights, 1,000,000 fractional ones
CREATE TABLE limit_weights (ints numeric[], fracs numeric[]);
ALTER TABLE limit_weights ALTER ints SET STORAGE EXTERNAL, ALTER fracs SET STORAGE EXTERNAL;
INSERT INTO limit_weights
SELECT (SELECT array_agg((g::bigint * 7919) % 1000003 + 1)::numeric[]
          FROM generate_series(1, 3000000) g) AS ints,
       (SELECT array_agg(((g::bigint * 7919) % 1000003 + 1)::numeric / 7)
          FROM generate_series(1, 1000000) g) AS fracs;
-- 2,000,000 contributions to 500,000 projects; 20,000 to one project;
-- a Gitcoin-scale COCM round: 500,000 contributions of 50,000 contributors
-- to 1,000 projects, popularity Zipf(1) (project floor(1001^u), u uniform)
CREATE TABLE limit_contributions (projects bigint[], contributors bigint[], amounts bigint[],
    one_project bigint[], pair_contributors bigint[], pair_amounts bigint[],
    cocm_projects bigint[], cocm_contributors bigint[], cocm_amounts bigint[]);
ALTER TABLE limit_contributions ALTER projects SET STORAGE EXTERNAL,
    ALTER contributors SET STORAGE EXTERNAL, ALTER amounts SET STORAGE EXTERNAL,
    ALTER cocm_projects SET STORAGE EXTERNAL, ALTER cocm_contributors SET STORAGE EXTERNAL,
    ALTER cocm_amounts SET STORAGE EXTERNAL;
INSERT INTO limit_contributions
SELECT (SELECT array_agg(g % 500000) FROM generate_series(1, 2000000) g) AS projects,
       (SELECT array_agg(g / 3) FROM generate_series(1, 2000000) g) AS contributors,
       (SELECT array_agg(g % 997 + 1) FROM generate_series(1, 2000000) g) AS amounts,
       (SELECT array_agg(1::bigint) FROM generate_series(1, 20000) g) AS one_project,
       (SELECT array_agg(g::bigint) FROM generate_series(1, 20000) g) AS pair_contributors,
       (SELECT array_agg(g % 97 + 1) FROM generate_series(1, 20000) g) AS pair_amounts,
       (SELECT array_agg(least(1000, floor(power(1001.0, ((g * 7919) % 1000003) / 1000003.0)))::bigint)
          FROM generate_series(1::bigint, 500000) g) AS cocm_projects,
       (SELECT array_agg((g * 104729) % 50000 + 1) FROM generate_series(1::bigint, 500000) g) AS cocm_contributors,
       (SELECT array_agg(g % 997 + 1) FROM generate_series(1::bigint, 500000) g) AS cocm_amounts;
-- 300,000 rankings of two options each among 300,000 options
CREATE TABLE limit_rankings AS
SELECT ARRAY[g, g % 300000 + 1]::bigint[] AS ranking FROM generate_series(1, 300000) g;
-- a group of 400 members that wants 100 catalysts on one-month terms
SELECT enspiral.create_group('limits', '{"min_catalysts": 100, "catalyst_term_months": 1, "catalyst_max_months": 1200}') AS g \gset
SELECT count(enspiral.add_member(:g, 'm' || i)) AS members FROM generate_series(1, 400) i;

-- the cases, by name (tools/limits.sh runs the same statements)
CREATE TABLE limit_cases (name text PRIMARY KEY, sql text NOT NULL);
INSERT INTO limit_cases VALUES
  ('apportion, 3,000,000 integer weights',
   'SELECT cardinality(enspiral.apportion(1000000007, ints)) FROM limit_weights'),
  ('apportion, 1,000,000 fractional weights',
   'SELECT cardinality(enspiral.apportion(1000000007, fracs)) FROM limit_weights'),
  ('quadratic_match standard, 2,000,000 contributions',
   'SELECT count(*) FROM limit_contributions, enspiral.quadratic_match(1000000, projects, contributors, amounts)'),
  ('quadratic_match capped, 2,000,000 contributions',
   'SELECT count(*) FROM limit_contributions, enspiral.quadratic_match(1000000, projects, contributors, amounts, 10)'),
  ('quadratic_match pairwise, 20,000 contributors of one project',
   'SELECT count(*) FROM limit_contributions, enspiral.quadratic_match(1000000, one_project, pair_contributors, pair_amounts, NULL, ''pairwise'', 100)'),
  ('quadratic_match COCM, 500,000 contributions to 1,000 projects',
   'SELECT count(*) FROM limit_contributions, enspiral.quadratic_match(1000000, cocm_projects, cocm_contributors, cocm_amounts, options => ''{"pct_cocm": 1}'')'),
  ('instant_runoff, 300,000 options',
   'SELECT enspiral.instant_runoff(ranking) FROM limit_rankings'),
  ('consent_counts, 120,000,000 ballots',
   'SELECT enspiral.consent_counts(''"agree"''::jsonb) FROM limit_rankings, generate_series(1, 400)'),
  ('plan_rotation, 400 members, 100 catalysts, 100 years',
   format('SELECT count(*) FROM enspiral.plan_rotation(%s, current_date, current_date + 36500)', :g));

-- run one case under the current statement_timeout: was it cancelled, promptly?
CREATE FUNCTION pg_temp.try_cancel(case_name text, OUT cancelled boolean, OUT prompt boolean)
LANGUAGE plpgsql AS $$
DECLARE
    q text := (SELECT sql FROM limit_cases WHERE name = case_name);
BEGIN
    cancelled := false;
    BEGIN
        EXECUTE q;
    EXCEPTION WHEN query_canceled THEN
        cancelled := true;
    END;
    prompt := clock_timestamp() - statement_timestamp() < interval '2 s';
END $$;

SET statement_timeout = '100ms';
SELECT * FROM pg_temp.try_cancel('apportion, 3,000,000 integer weights');
SELECT * FROM pg_temp.try_cancel('apportion, 1,000,000 fractional weights');
SELECT * FROM pg_temp.try_cancel('quadratic_match standard, 2,000,000 contributions');
SELECT * FROM pg_temp.try_cancel('quadratic_match capped, 2,000,000 contributions');
SELECT * FROM pg_temp.try_cancel('quadratic_match pairwise, 20,000 contributors of one project');
SELECT * FROM pg_temp.try_cancel('quadratic_match COCM, 500,000 contributions to 1,000 projects');
SELECT * FROM pg_temp.try_cancel('instant_runoff, 300,000 options');
SELECT * FROM pg_temp.try_cancel('consent_counts, 120,000,000 ballots');
SELECT * FROM pg_temp.try_cancel('plan_rotation, 400 members, 100 catalysts, 100 years');
RESET statement_timeout;
-- the same error reaches a client that does not catch it
SET statement_timeout = '100ms';
SELECT cardinality(enspiral.apportion(1000000007, ints)) FROM limit_weights;
RESET statement_timeout;
-- every case is tested above
SELECT count(*) AS cases FROM limit_cases;
