-- enspiral.quadratic_match and enspiral.quadratic_vote_cost: hand-computed
-- rounds (standard, capped, pairwise), table idioms and every refusal.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- Round A.  project 1: contributors 10 (4) and 11 (9): (2+3)^2 - 13 = 12
--           project 2: contributors 10, 12, 13 with 1 each: 3^2 - 3 = 6
--           project 3: one contributor (100): 10^2 - 100 = 0
\set p '{1,1,2,2,2,3}'
\set c '{10,11,10,12,13,14}'
\set a '{4,9,1,1,1,100}'
-- not saturated (18 <= 100): floors of the ideals, 82 stays in the pool
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a');
-- exactly saturated: 18
SELECT * FROM enspiral.quadratic_match(18, :'p', :'c', :'a');
-- saturated: 9 pro rata 12:6 -> 6, 3
SELECT * FROM enspiral.quadratic_match(9, :'p', :'c', :'a');
-- saturated: quotas 6.67, 3.33 -> floors 6, 3, the leftover unit to 2/3
SELECT * FROM enspiral.quadratic_match(10, :'p', :'c', :'a');
-- pool 0
SELECT * FROM enspiral.quadratic_match(0, :'p', :'c', :'a');
-- cap 5, not saturated (5 + 5 + 0 <= 100)
SELECT * FROM enspiral.quadratic_match(100, :'p', :'c', :'a', cap => 5);
-- cap 5, pool 8: project 1 capped at 5, the other 3 to project 2 (scale 1/2)
SELECT * FROM enspiral.quadratic_match(8, :'p', :'c', :'a', cap => 5);
-- cap 4, pool 7: 4 + 3
SELECT * FROM enspiral.quadratic_match(7, :'p', :'c', :'a', cap => 4);
-- cap 3, pool 6: both capped, the sum is exactly the pool
SELECT * FROM enspiral.quadratic_match(6, :'p', :'c', :'a', cap => 3);
-- cap 3, pool 5: project 1 capped at 3 (5*12 > 3*18), 2 left for project 2
SELECT * FROM enspiral.quadratic_match(5, :'p', :'c', :'a', cap => 3);
-- cap 0: nothing is paid
SELECT * FROM enspiral.quadratic_match(5, :'p', :'c', :'a', cap => 0);

-- a non-integer ideal: (1 + sqrt 2)^2 - 3 = 2 sqrt 2 = 2.83 -> 2
SELECT * FROM enspiral.quadratic_match(100, '{7,7}', '{1,2}', '{1,2}');
-- 2 * sqrt 2 * sqrt 8 = 8 exactly
SELECT * FROM enspiral.quadratic_match(100, '{7,7}', '{1,2}', '{2,8}');
-- duplicate (project, contributor) rows are one summed contribution:
-- contributor 10 gives 1 + 3 = 4 to project 1, as in round A
SELECT * FROM enspiral.quadratic_match(100, '{1,1,1}', '{10,11,10}', '{1,9,3}');
-- rows in any order, projects ordered in the result
SELECT * FROM enspiral.quadratic_match(10, '{3,2,1,2,1,2}', '{14,13,11,12,10,10}', '{100,1,9,1,4,1}');
-- no contributions: no rows
SELECT * FROM enspiral.quadratic_match(100, '{}', '{}', '{}');
-- huge contributions: ideals beyond bigint are fine when saturated
SELECT * FROM enspiral.quadratic_match(9223372036854775807, '{1,1,2,2}', '{1,2,1,2}',
    '{9223372036854775807,9223372036854775807,1,4}');

-- Pairwise.  Projects 1 and 2 both funded by contributors 1 and 2 with 1:
-- K_12 = 1 + 1 = 2.  M = 2: ideal = 2 * 1 * 2/(2+2) = 1 each (standard: 2)
SELECT * FROM enspiral.quadratic_match(100, '{1,1,2,2}', '{1,2,1,2}', '{1,1,1,1}', method => 'pairwise', threshold => 2);
SELECT * FROM enspiral.quadratic_match(100, '{1,1,2,2}', '{1,2,1,2}', '{1,1,1,1}');
-- M = 1: ideal 2/3 each -> floors 0; saturated pool 1 -> tie to project 1
SELECT * FROM enspiral.quadratic_match(100, '{1,1,2,2}', '{1,2,1,2}', '{1,1,1,1}', method => 'pairwise', threshold => 1);
SELECT * FROM enspiral.quadratic_match(1, '{1,1,2,2}', '{1,2,1,2}', '{1,1,1,1}', method => 'pairwise', threshold => 1);
-- Project 1: contributors 1 (4), 2 (9); project 2: contributors 1 (1), 3 (16).
-- K_12 = 6, K_13 = 4.  M = 6: ideal_1 = 2*6*6/12 = 6, ideal_2 = 2*4*6/10 = 4.8
SELECT * FROM enspiral.quadratic_match(100, '{1,1,2,2}', '{1,2,1,3}', '{4,9,1,16}', method => 'pairwise', threshold => 6);
-- saturated, pool 10: quotas 10*6/10.8 = 5.56, 4.44 -> 6, 4
SELECT * FROM enspiral.quadratic_match(10, '{1,1,2,2}', '{1,2,1,3}', '{4,9,1,16}', method => 'pairwise', threshold => 6);
-- large M approaches the standard ideals (12, 8) from below: exactly
-- 12 * (1 - 6e-12) and 8 * (1 - 4e-12), so the floors are 11 and 7 ...
SELECT * FROM enspiral.quadratic_match(100, '{1,1,2,2}', '{1,2,1,3}', '{4,9,1,16}', method => 'pairwise', threshold => 1e12);
-- ... and saturated they split the pool like standard
SELECT * FROM enspiral.quadratic_match(10, '{1,1,2,2}', '{1,2,1,3}', '{4,9,1,16}', method => 'pairwise', threshold => 1e12);
SELECT * FROM enspiral.quadratic_match(10, '{1,1,2,2}', '{1,2,1,3}', '{4,9,1,16}');
-- an infinite threshold is standard; a vanishing one matches nothing
SELECT * FROM enspiral.quadratic_match(100, '{1,1,2,2}', '{1,2,1,3}', '{4,9,1,16}', method => 'pairwise', threshold => 'Infinity');
SELECT * FROM enspiral.quadratic_match(100, '{1,1,2,2}', '{1,2,1,3}', '{4,9,1,16}', method => 'pairwise', threshold => 1e-400);

-- calling it on a table: aggregate the rows into the three arrays
CREATE TABLE contributions (project bigint, contributor bigint, amount bigint);
INSERT INTO contributions VALUES (1, 10, 4), (1, 11, 9), (2, 10, 1), (2, 12, 1), (2, 13, 1), (3, 14, 100);
SELECT m.project, m.match
  FROM (SELECT array_agg(project) AS p, array_agg(contributor) AS c, array_agg(amount) AS a
          FROM contributions) s,
       LATERAL enspiral.quadratic_match(10, s.p, s.c, s.a) m;
-- one round per group of rows (here: per matching pool)
CREATE TABLE pools (pool_id int, pool bigint);
INSERT INTO pools VALUES (1, 10), (2, 100);
SELECT q.pool_id, m.project, m.match
  FROM pools q,
       LATERAL (SELECT coalesce(array_agg(project), '{}') AS p, coalesce(array_agg(contributor), '{}') AS c,
                       coalesce(array_agg(amount), '{}') AS a FROM contributions) s,
       LATERAL enspiral.quadratic_match(q.pool, s.p, s.c, s.a, cap => 7) m
 ORDER BY q.pool_id, m.project;
-- no rows: coalesce the aggregates to empty arrays
SELECT count(*) FROM (SELECT coalesce(array_agg(project), '{}') AS p, coalesce(array_agg(contributor), '{}') AS c,
                             coalesce(array_agg(amount), '{}') AS a FROM contributions WHERE false) s,
       LATERAL enspiral.quadratic_match(10, s.p, s.c, s.a) m;
-- apportion on a table: split 1000 by weight, one share per row
CREATE TABLE claims (id int, weight numeric);
INSERT INTO claims VALUES (1, 2), (2, 3), (3, 4);
SELECT u.id, u.share
  FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(weight ORDER BY id) AS ws FROM claims) s,
       unnest(s.ids, enspiral.apportion(1000, s.ws)) AS u(id, share);

-- refusals
SELECT * FROM enspiral.quadratic_match(10, '{1,2}', '{1}', '{1,2}');
SELECT * FROM enspiral.quadratic_match(10, '{1,2}', '{1,2}', '{1}');
SELECT * FROM enspiral.quadratic_match(NULL, '{1}', '{1}', '{1}');
SELECT * FROM enspiral.quadratic_match(10, NULL, '{1}', '{1}');
SELECT * FROM enspiral.quadratic_match(10, '{1}', NULL, '{1}');
SELECT * FROM enspiral.quadratic_match(10, '{1}', '{1}', NULL);
SELECT * FROM enspiral.quadratic_match(10, '{1,NULL}', '{1,2}', '{1,2}');
SELECT * FROM enspiral.quadratic_match(10, '{1,2}', '{NULL,2}', '{1,2}');
SELECT * FROM enspiral.quadratic_match(10, '{1,2}', '{1,2}', '{1,NULL}');
SELECT * FROM enspiral.quadratic_match(10, '{1,2}', '{1,2}', '{1,0}');
SELECT * FROM enspiral.quadratic_match(10, '{1,2}', '{1,2}', '{-5,1}');
SELECT * FROM enspiral.quadratic_match(-1, '{1}', '{1}', '{1}');
SELECT * FROM enspiral.quadratic_match(10, '{1}', '{1}', '{1}', cap => -1);
SELECT * FROM enspiral.quadratic_match(10, '{1}', '{1}', '{1}', method => 'capped');
SELECT * FROM enspiral.quadratic_match(10, '{1}', '{1}', '{1}', method => NULL);
SELECT * FROM enspiral.quadratic_match(10, '{1}', '{1}', '{1}', method => 'pairwise');
SELECT * FROM enspiral.quadratic_match(10, '{1}', '{1}', '{1}', method => 'pairwise', threshold => 0);
SELECT * FROM enspiral.quadratic_match(10, '{1}', '{1}', '{1}', method => 'pairwise', threshold => -2.5);
SELECT * FROM enspiral.quadratic_match(10, '{1}', '{1}', '{1}', method => 'pairwise', threshold => 'NaN');
SELECT * FROM enspiral.quadratic_match(10, '{{1}}', '{{1}}', '{{1}}');
SELECT * FROM enspiral.quadratic_match(10, '{1,1}', '{1,1}', '{9223372036854775807,1}');

-- quadratic voting cost
SELECT enspiral.quadratic_vote_cost('{1,2,3}');          -- 14
SELECT enspiral.quadratic_vote_cost('{-3,0}');           -- 9
SELECT enspiral.quadratic_vote_cost('{}');               -- 0
SELECT enspiral.quadratic_vote_cost(NULL) IS NULL AS null_ballot;
SELECT enspiral.quadratic_vote_cost('{3037000499}');     -- largest square in bigint
SELECT enspiral.quadratic_vote_cost('{3037000500}');
SELECT enspiral.quadratic_vote_cost('{3037000499,3037000499}');
SELECT enspiral.quadratic_vote_cost('{-9223372036854775808}');
SELECT enspiral.quadratic_vote_cost('{1,NULL}');
-- the aggregate form, per voter
CREATE TABLE qv (voter int, option int, votes bigint);
INSERT INTO qv VALUES (1, 1, 3), (1, 2, -2), (2, 1, 1), (2, 2, NULL), (3, 1, 3037000499), (3, 2, 100000);
SELECT voter, enspiral.quadratic_vote_cost_agg(votes) FROM qv WHERE voter < 3 GROUP BY voter ORDER BY voter;
SELECT enspiral.quadratic_vote_cost_agg(votes) FROM qv WHERE false;
SELECT enspiral.quadratic_vote_cost_agg(votes) FROM qv WHERE voter = 3;
