-- Demo: allocation math.  Exact splits of money in integer cents:
-- apportion, quadratic funding (standard, capped, pairwise) and quadratic
-- voting costs.  Runs after demo/00_setup.sql.
\echo
\echo '--- 2. Allocation math: splitting money exactly ------------------------------'
\echo 'Splitting $1.00 (100 cents) three ways by 2:3:4 - the leftover cent goes to the largest remainder:'
SELECT enspiral.apportion(100, '{2,3,4}') AS cents;
\echo 'Ten cents over three equal claims - ties go to the first claim, and nothing is lost:'
SELECT enspiral.apportion(10, '{1,1,1}') AS cents;

\echo
\echo 'A matching round: the Lighthouse pool has $100.00 to match community contributions.'
CREATE TABLE demo.alloc_contributions (project text, contributor text, cents bigint);
INSERT INTO demo.alloc_contributions VALUES
  ('garden', 'aroha', 2500), ('garden', 'ben', 400), ('garden', 'chen', 900), ('garden', 'dana', 100),
  ('podcast', 'aroha', 10000),
  ('repair-cafe', 'ben', 100), ('repair-cafe', 'chen', 100), ('repair-cafe', 'dana', 100),
  ('repair-cafe', 'eru', 100), ('repair-cafe', 'fai', 100), ('repair-cafe', 'aroha', 100),
  ('library', 'eru', 400), ('library', 'fai', 400), ('library', 'gus', 400), ('library', 'hana', 400);
CREATE TABLE demo.alloc_projects (project_id bigint, project text);
INSERT INTO demo.alloc_projects VALUES (1, 'garden'), (2, 'podcast'), (3, 'repair-cafe'), (4, 'library');
CREATE TABLE demo.alloc_people (person_id bigint, contributor text);
INSERT INTO demo.alloc_people SELECT row_number() OVER (ORDER BY contributor), contributor
  FROM (SELECT DISTINCT contributor FROM demo.alloc_contributions) s;
CREATE VIEW demo.alloc_rows AS
  SELECT p.project_id, q.person_id, c.cents
    FROM demo.alloc_contributions c JOIN demo.alloc_projects p USING (project) JOIN demo.alloc_people q USING (contributor);

\echo 'Standard quadratic funding: many small donors beat one big one (the podcast has one donor):'
SELECT p.project, m.match AS match_cents
  FROM (SELECT array_agg(project_id) AS p, array_agg(person_id) AS c, array_agg(cents) AS a FROM demo.alloc_rows) s,
       LATERAL enspiral.quadratic_match(10000, s.p, s.c, s.a) m
  JOIN demo.alloc_projects p ON p.project_id = m.project ORDER BY m.project;
\echo 'With a $50.00 cap per project, the excess flows to the others; the pool is still paid to the cent:'
SELECT p.project, m.match AS match_cents, sum(m.match) OVER () AS total_cents
  FROM (SELECT array_agg(project_id) AS p, array_agg(person_id) AS c, array_agg(cents) AS a FROM demo.alloc_rows) s,
       LATERAL enspiral.quadratic_match(10000, s.p, s.c, s.a, cap => 5000) m
  JOIN demo.alloc_projects p ON p.project_id = m.project ORDER BY m.project;
\echo 'Pairwise-bounded matching (M = 500): donors who back the same projects together are matched less (the rest stays in the pool):'
SELECT p.project, m.match AS match_cents
  FROM (SELECT array_agg(project_id) AS p, array_agg(person_id) AS c, array_agg(cents) AS a FROM demo.alloc_rows) s,
       LATERAL enspiral.quadratic_match(10000, s.p, s.c, s.a, method => 'pairwise', threshold => 500) m
  JOIN demo.alloc_projects p ON p.project_id = m.project ORDER BY m.project;

\echo
\echo 'Quadratic voting: 3 votes for and 2 against cost 3^2 + 2^2 credits:'
SELECT enspiral.quadratic_vote_cost('{3,-2}') AS credits;
\echo 'Refusals:'
SELECT demo.expect_error($$SELECT enspiral.apportion(100, '{1,-1}')$$);
SELECT demo.expect_error($$SELECT enspiral.apportion(100, '{0,0}')$$);
SELECT demo.expect_error($$SELECT * FROM enspiral.quadratic_match(100, '{1}', '{1}', '{0}')$$);
SELECT demo.expect_error($$SELECT * FROM enspiral.quadratic_match(100, '{1}', '{1}', '{5}', method => 'pairwise')$$);
SELECT demo.expect_error($$SELECT enspiral.quadratic_vote_cost('{3037000500}')$$);
