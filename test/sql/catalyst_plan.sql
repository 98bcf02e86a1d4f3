-- The rotation planner: plan_rotation fills each gap with eligible members
-- (fewest counted months, then longest since their last term, then lowest
-- member id) and never proposes a term that breaks a rule: every plan here
-- is applied with appoint_catalyst and the gaps are checked to be closed.
-- Windows lie in a fixed future year y starting on the 1st of a month, and
-- dates print as month-day with a year offset, so the output does not
-- depend on the run date.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY terse

SELECT extract(year FROM current_date)::int + 2 AS y \gset
CREATE FUNCTION pg_temp.plan(g bigint, f date, t date)
RETURNS TABLE (member_id bigint, starts text, year int, months int)
LANGUAGE sql AS $$
    SELECT p.member_id, to_char(p.starts_on, 'MM-DD'),
           extract(year FROM p.starts_on)::int - (extract(year FROM current_date)::int + 2), p.months
      FROM enspiral.plan_rotation(g, f, t) p
$$;
-- apply a plan; returns the number of terms appointed
CREATE FUNCTION pg_temp.apply(g bigint, f date, t date) RETURNS int
LANGUAGE sql AS $$
    SELECT count(enspiral.appoint_catalyst(g, p.member_id, p.starts_on, p.months))::int
      FROM enspiral.plan_rotation(g, f, t) p
$$;

------------------------------------------------------------------------------
-- An empty group of five, minimum 3, a two-year window
------------------------------------------------------------------------------
SELECT enspiral.create_group('Rotation') AS g \gset
SELECT enspiral.add_member(:g, 'm' || i) FROM generate_series(1, 5) i;
SELECT * FROM pg_temp.plan(:g, make_date(:y, 1, 1), make_date(:y + 2, 1, 1));
BEGIN;
SELECT pg_temp.apply(:g, make_date(:y, 1, 1), make_date(:y + 2, 1, 1)) AS appointed;
COMMIT;
SELECT count(*) AS gaps_left FROM enspiral.catalyst_gaps(:g, make_date(:y, 1, 1), make_date(:y + 2, 1, 1));
SELECT count(*) AS nothing_more_to_plan FROM enspiral.plan_rotation(:g, make_date(:y, 1, 1), make_date(:y + 2, 1, 1));
SELECT member_id, months_left, eligible FROM enspiral.catalyst_service(:g, make_date(:y, 1, 1)) ORDER BY member_id;
SELECT line FROM enspiral.catalyst_timeline(:g, make_date(:y, 1, 1), make_date(:y + 2, 1, 1))
       WITH ORDINALITY t(line, n) WHERE n > 2;

------------------------------------------------------------------------------
-- Existing terms, a member's next term and the service limit shorten proposals
------------------------------------------------------------------------------
SELECT enspiral.create_group('Limits', '{"min_catalysts": 2, "catalyst_max_months": 12}') AS g2 \gset
SELECT enspiral.add_member(:g2, 'a') AS a, enspiral.add_member(:g2, 'b') AS b,
       enspiral.add_member(:g2, 'c') AS c \gset
-- a serves Apr..Oct; b has used all 12 months in year y+3
SELECT enspiral.appoint_catalyst(:g2, :a, make_date(:y, 4, 1)) IS NOT NULL AS a_term,
       enspiral.appoint_catalyst(:g2, :b, make_date(:y + 3, 1, 1)) IS NOT NULL AS b_term1,
       enspiral.appoint_catalyst(:g2, :b, make_date(:y + 3, 7, 1)) IS NOT NULL AS b_term2;
SELECT member_id, months_left, eligible FROM enspiral.catalyst_service(:g2) ORDER BY member_id;
-- c (0 months) first; a only until their Apr term; c again in July; a's last 3 months in October
SELECT * FROM pg_temp.plan(:g2, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
SELECT pg_temp.apply(:g2, make_date(:y, 1, 1), make_date(:y + 1, 1, 1)) AS appointed;
SELECT count(*) AS gaps_left FROM enspiral.catalyst_gaps(:g2, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
SELECT member_id, months_left, eligible FROM enspiral.catalyst_service(:g2) ORDER BY member_id;
-- everyone is at the limit now: the next year's gap cannot be closed
SELECT * FROM pg_temp.plan(:g2, make_date(:y + 1, 1, 1), make_date(:y + 1, 3, 1));

------------------------------------------------------------------------------
-- Too few members: the plan closes what it can and warns about the rest
------------------------------------------------------------------------------
SELECT enspiral.create_group('Small', '{"min_catalysts": 3}') AS g3 \gset
SELECT enspiral.add_member(:g3, 'x') AS x, enspiral.add_member(:g3, 'z') AS z \gset
SELECT * FROM pg_temp.plan(:g3, make_date(:y, 1, 1), make_date(:y, 3, 1));
-- a member who left is not proposed
SELECT enspiral.remove_member(:g3, :z);
SELECT * FROM pg_temp.plan(:g3, make_date(:y, 1, 1), make_date(:y, 3, 1));

------------------------------------------------------------------------------
-- The past is not planned: a window that began earlier starts today
------------------------------------------------------------------------------
SELECT enspiral.create_group('Now', '{"min_catalysts": 1}') AS g4 \gset
SELECT enspiral.add_member(:g4, 'n') AS n \gset
SELECT member_id = :n AS n, starts_on = current_date AS starts_today, months
  FROM enspiral.plan_rotation(:g4, current_date - 100, current_date + 10);
SELECT pg_temp.apply(:g4, current_date - 100, current_date + 10) AS appointed;
SELECT count(*) AS gaps_left FROM enspiral.catalyst_gaps(:g4, current_date, current_date + 10);

-- arguments
SELECT * FROM enspiral.plan_rotation(999, current_date, current_date + 1);
SELECT * FROM enspiral.plan_rotation(:g, current_date, current_date);
SELECT * FROM enspiral.plan_rotation(:g, current_date, 'infinity');
SELECT * FROM enspiral.plan_rotation(:g, NULL, current_date);
