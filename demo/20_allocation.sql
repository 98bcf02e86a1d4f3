-- Demo: allocation math.  Exact splits of money in integer cents:
-- apportion, quadratic funding (standard, capped, pairwise) and quadratic
-- voting costs.  Runs after demo/00_setup.sql.
\echo
\echo '--- 2. Allocation math: splitting money exactly ------------------------------'
\echo 'No group here: these are pure functions that any application can call on'
\echo 'its own numbers. Money is always whole cents.'
\echo 'Splitting $1.00 (100 cents) three ways by 2:3:4: the exact shares are 22.2,'
\echo '33.3 and 44.4 cents; each gets its whole part (22, 33, 44 = 99) and the'
\echo 'leftover cent goes to the largest remainder (44.4 -> 45):'
SELECT enspiral.apportion(100, '{2,3,4}') AS cents;
\echo 'Ten cents over three equal claims: 3 each and one cent left; equal'
\echo 'remainders go to the first claim, and nothing is lost:'
SELECT enspiral.apportion(10, '{1,1,1}') AS cents;

\echo
\echo 'A matching round: a pool of $100.00 (10000 cents) matches what people gave'
\echo 'to four projects: the garden (4 donors, $39.00), the podcast (1 donor,'
\echo '$100.00), the repair cafe (6 donors, $1.00 each) and the library (4 donors,'
\echo '$4.00 each). Matches are in cents.'
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

\echo 'Standard quadratic funding: a project is matched by (sum of the square roots'
\echo 'of its gifts)^2 minus its gifts, scaled to the pool. Many small donors beat'
\echo 'one big one: the podcast has one donor, so its match is 0.'
SELECT p.project, m.match AS match_cents
  FROM (SELECT array_agg(project_id) AS p, array_agg(person_id) AS c, array_agg(cents) AS a FROM demo.alloc_rows) s,
       LATERAL enspiral.quadratic_match(10000, s.p, s.c, s.a) m
  JOIN demo.alloc_projects p ON p.project_id = m.project ORDER BY m.project;
\echo 'With a $50.00 cap per project, the excess flows to the others; the pool is still paid to the cent:'
SELECT p.project, m.match AS match_cents, sum(m.match) OVER () AS total_cents
  FROM (SELECT array_agg(project_id) AS p, array_agg(person_id) AS c, array_agg(cents) AS a FROM demo.alloc_rows) s,
       LATERAL enspiral.quadratic_match(10000, s.p, s.c, s.a, cap => 5000) m
  JOIN demo.alloc_projects p ON p.project_id = m.project ORDER BY m.project;
\echo 'Pairwise-bounded matching (M = 500): donors who back the same projects'
\echo 'together count less, so coordinated giving earns less; what is not paid'
\echo 'stays in the pool (total_cents is below 10000):'
SELECT p.project, m.match AS match_cents, sum(m.match) OVER () AS total_cents
  FROM (SELECT array_agg(project_id) AS p, array_agg(person_id) AS c, array_agg(cents) AS a FROM demo.alloc_rows) s,
       LATERAL enspiral.quadratic_match(10000, s.p, s.c, s.a, method => 'pairwise', threshold => 500) m
  JOIN demo.alloc_projects p ON p.project_id = m.project ORDER BY m.project;

\echo
\echo 'Quadratic voting: 3 votes for and 2 against cost 3^2 + 2^2 credits:'
SELECT enspiral.quadratic_vote_cost('{3,-2}') AS credits;
\echo 'Refusals, each with the standard SQLSTATE of a bad argument (22023) or an'
\echo 'overflow (22003):'
SELECT demo.expect_error($$SELECT enspiral.apportion(100, '{1,-1}')$$);
SELECT demo.expect_error($$SELECT enspiral.apportion(100, '{0,0}')$$);
SELECT demo.expect_error($$SELECT * FROM enspiral.quadratic_match(100, '{1}', '{1}', '{0}')$$);
SELECT demo.expect_error($$SELECT * FROM enspiral.quadratic_match(100, '{1}', '{1}', '{5}', method => 'pairwise')$$);
SELECT demo.expect_error($$SELECT enspiral.quadratic_vote_cost('{3037000500}')$$);
