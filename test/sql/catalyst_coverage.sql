-- Catalyst coverage: the sweep (catalyst_coverage, catalyst_gaps, the text
-- timeline) and the coverage rule checked at commit:
--   for every day d from today on, after(d) >= min(before(d), min_catalysts).
-- Dates print as day offsets from today, or as month-day in a fixed future
-- year, so the output does not depend on the run date.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY terse

SELECT current_date AS today \gset
-- coverage as day offsets from today
CREATE FUNCTION pg_temp.cov(g bigint, days int) RETURNS TABLE (from_day int, to_day int, catalysts int)
LANGUAGE sql AS $$
    SELECT lower(period) - current_date, upper(period) - current_date, catalysts
      FROM enspiral.catalyst_coverage(g, current_date, current_date + days) ORDER BY 1
$$;
CREATE FUNCTION pg_temp.gaps(g bigint, days int) RETURNS TABLE (from_day int, to_day int, catalysts int)
LANGUAGE sql AS $$
    SELECT lower(period) - current_date, upper(period) - current_date, catalysts
      FROM enspiral.catalyst_gaps(g, current_date, current_date + days) ORDER BY 1
$$;

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cy') AS cy, enspiral.add_member(:g, 'dee') AS dee,
       enspiral.add_member(:g, 'eve') AS eve, enspiral.add_member(:g, 'fay') AS fay \gset

-- a group with no catalysts can start from nothing: every appointment adds coverage
SELECT * FROM pg_temp.gaps(:g, 30);
SELECT enspiral.appoint_catalyst(:g, :ana, :'today', 3) AS ta, enspiral.appoint_catalyst(:g, :ben, :'today', 3) AS tb \gset
SELECT * FROM pg_temp.gaps(:g, 30);
-- ending one of two (already below the minimum of 3) deepens the shortfall: refused at commit
BEGIN;
SELECT enspiral.end_catalyst_term(:tb, :'today'::date + 10);
COMMIT;
\echo :LAST_ERROR_SQLSTATE
SELECT ended_on FROM enspiral.catalyst_terms WHERE term_id = :tb;
SELECT enspiral.appoint_catalyst(:g, :cy, :'today', 3) AS tc, enspiral.appoint_catalyst(:g, :dee, :'today', 3) AS td \gset
SELECT * FROM pg_temp.cov(:g, 60);

-- 4 serving, minimum 3: one may end early (surplus), a second may not
SELECT enspiral.end_catalyst_term(:ta, :'today'::date + 10);
SELECT enspiral.end_catalyst_term(:tb, :'today'::date + 20);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.cov(:g, 40);
-- a hand-over in one transaction: end a term and appoint a successor from that day
BEGIN;
SELECT enspiral.end_catalyst_term(:tb, :'today'::date + 20);
SELECT enspiral.appoint_catalyst(:g, :eve, :'today'::date + 20) AS te \gset
COMMIT;
SELECT * FROM pg_temp.cov(:g, 40);
-- a successor who starts a day late leaves a one-day shortfall: refused
BEGIN;
SELECT enspiral.end_catalyst_term(:tc, :'today'::date + 30);
SELECT enspiral.appoint_catalyst(:g, :fay, :'today'::date + 31, 3);
COMMIT;
\echo :LAST_ERROR_SQLSTATE
-- the order within the transaction does not matter: appoint first, then end
BEGIN;
SELECT enspiral.appoint_catalyst(:g, :fay, :'today'::date + 30, 3) AS tf \gset
SELECT enspiral.end_catalyst_term(:tc, :'today'::date + 30);
COMMIT;
SELECT * FROM pg_temp.cov(:g, 40);
-- the check also runs on SET CONSTRAINTS ... IMMEDIATE
BEGIN;
SELECT enspiral.end_catalyst_term(:td, :'today'::date + 5);
SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
-- a single change checked immediately (its change is recorded before the
-- check runs: the triggers fire in name order)
BEGIN;
SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
SELECT enspiral.end_catalyst_term(:td, :'today'::date + 5);
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE enspiral.catalyst_terms SET ended_on = current_date + 5 WHERE term_id = :td;
ROLLBACK;
-- and again when a later statement changes the group after a passed check
BEGIN;
SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
SELECT enspiral.appoint_catalyst(:g, :ana, :'today'::date + 10, 1) AS ta2 \gset
SELECT enspiral.end_catalyst_term(:td, :'today'::date + 5);
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
-- changes undone by ROLLBACK TO SAVEPOINT are forgotten
BEGIN;
SAVEPOINT s1;
SELECT enspiral.end_catalyst_term(:td, :'today'::date + 5);
ROLLBACK TO SAVEPOINT s1;
COMMIT;
SELECT ended_on IS NULL AS td_runs_on FROM enspiral.catalyst_terms WHERE term_id = :td;
-- a check passed inside a savepoint that is rolled back is run again at commit:
-- the successor rolled back, the early end remains and is refused
BEGIN;
SELECT enspiral.end_catalyst_term(:td, :'today'::date + 5);
SAVEPOINT s1;
SELECT enspiral.appoint_catalyst(:g, :ana, :'today'::date + 10, 1);
SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
ROLLBACK TO SAVEPOINT s1;
SET CONSTRAINTS enspiral.catalyst_terms_coverage DEFERRED;
COMMIT;
\echo :LAST_ERROR_SQLSTATE
SELECT ended_on IS NULL AS td_runs_on FROM enspiral.catalyst_terms WHERE term_id = :td;
-- direct writes are checked the same way
UPDATE enspiral.catalyst_terms SET ended_on = current_date + 5 WHERE term_id = :td;
\echo :LAST_ERROR_SQLSTATE

-- terms ending on their planned date are not a change: the coverage after
-- them falls below the minimum, and unrelated changes are still allowed
SELECT count(*) > 0 AS gap_after_planned_ends FROM pg_temp.gaps(:g, 150) WHERE from_day > 60;
SELECT enspiral.appoint_catalyst(:g, :ana, :'today'::date + 200, 1) IS NOT NULL AS appointed;
-- cancelling an unbegun term that overlaps eve's last days there (before 2,
-- after 1, minimum 3) deepens a shortfall: refused
SELECT term_id AS tfar FROM enspiral.catalyst_terms WHERE starts_on = :'today'::date + 200 \gset
SELECT enspiral.cancel_catalyst_term(:tfar);
\echo :LAST_ERROR_SQLSTATE
-- the past is not checked: members with history may add past terms
INSERT INTO enspiral.members (group_id, member_key) VALUES (:g, 'old') RETURNING member_id AS old \gset
INSERT INTO enspiral.members (group_id, member_key) VALUES (:g, 'older') RETURNING member_id AS older \gset
INSERT INTO enspiral.memberships (group_id, member_id, joined_at)
VALUES (:g, :old, now() - interval '2 years'), (:g, :older, now() - interval '2 years');
SELECT enspiral.appoint_catalyst(:g, :old, (:'today'::date - interval '1 year')::date, 2) IS NOT NULL AS past_term;
-- and terms that began in the past and run on
SELECT enspiral.appoint_catalyst(:g, :old, :'today'::date - 20, 3) AS told,
       enspiral.appoint_catalyst(:g, :older, :'today'::date - 20, 3) AS tolder \gset
SELECT * FROM pg_temp.cov(:g, 60);

------------------------------------------------------------------------------
-- A member leaving ends their terms; allowed, and shows up in catalyst_gaps
------------------------------------------------------------------------------
-- remove three of the six serving catalysts: 3 remain, no gap yet
SELECT enspiral.remove_member(:g, :cy);
SELECT count(*) AS cy_terms FROM enspiral.catalyst_terms WHERE term_id = :tc;
SELECT enspiral.remove_member(:g, :old);
SELECT ended_on - current_date AS old_ended_day, months_counted FROM enspiral.catalyst_terms WHERE term_id = :told;
SELECT * FROM pg_temp.gaps(:g, 60);
-- a leaving member's future term is cancelled; the departure may open a gap
SELECT enspiral.appoint_catalyst(:g, :dee, (:'today'::date + interval '4 months')::date, 1) AS tdf \gset
BEGIN;
SELECT enspiral.remove_member(:g, :dee);
SELECT count(*) AS dee_terms FROM enspiral.catalyst_terms WHERE member_id = :dee;
-- in the same transaction, deepening the departure's shortfall is still refused
SELECT enspiral.end_catalyst_term(:te, :'today'::date + 25);
COMMIT;
\echo :LAST_ERROR_SQLSTATE
SELECT enspiral.remove_member(:g, :dee);
SELECT * FROM pg_temp.gaps(:g, 60);
-- a member leaving at a past time (a direct write) has the term end on that day
UPDATE enspiral.memberships SET left_at = now() - interval '3 days'
 WHERE group_id = :g AND member_id = :older AND left_at IS NULL;
SELECT ended_on - current_date AS older_ended_day FROM enspiral.catalyst_terms WHERE term_id = :tolder;
SELECT * FROM pg_temp.gaps(:g, 60);

------------------------------------------------------------------------------
-- Arguments of the coverage functions
------------------------------------------------------------------------------
SELECT * FROM enspiral.catalyst_coverage(:g, current_date, current_date);
SELECT * FROM enspiral.catalyst_coverage(:g, current_date, 'infinity');
SELECT * FROM enspiral.catalyst_coverage(999, current_date, current_date + 1);
SELECT * FROM enspiral.catalyst_gaps(999, current_date, current_date + 1);
SELECT * FROM enspiral.catalyst_coverage(:g, NULL, current_date + 1);
SELECT * FROM enspiral.catalyst_service(999);
SELECT * FROM enspiral.catalyst_timeline(999, current_date, current_date + 1);
SELECT * FROM enspiral.catalyst_timeline(:g, current_date, current_date);
SELECT * FROM enspiral.catalyst_timeline(:g, current_date, 'infinity');
SELECT * FROM enspiral.catalyst_timeline(:g, current_date, current_date + 1, 0);

------------------------------------------------------------------------------
-- The timeline of a group in a fixed future year (no leap days near it)
------------------------------------------------------------------------------
SELECT min(y) AS y FROM generate_series(extract(year FROM current_date)::int + 2,
                                         extract(year FROM current_date)::int + 9) y
 WHERE NOT ((y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0)
   AND NOT (((y + 1) % 4 = 0 AND (y + 1) % 100 <> 0) OR (y + 1) % 400 = 0) \gset
SELECT enspiral.create_group('Timeline', '{"min_catalysts": 2}') AS gt \gset
SELECT enspiral.add_member(:gt, 'a') AS a, enspiral.add_member(:gt, 'b') AS b,
       enspiral.add_member(:gt, 'c') AS c \gset
SELECT enspiral.appoint_catalyst(:gt, :a, make_date(:y, 1, 1)),
       enspiral.appoint_catalyst(:gt, :b, make_date(:y, 3, 1)),
       enspiral.appoint_catalyst(:gt, :c, make_date(:y, 7, 1), 3),
       enspiral.appoint_catalyst(:gt, :a, make_date(:y, 7, 1)) \gset
SELECT to_char(lower(period), 'MM-DD') AS from, to_char(upper(period), 'MM-DD') AS to,
       extract(year FROM upper(period)) - :y AS to_year, catalysts
  FROM enspiral.catalyst_coverage(:gt, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
SELECT to_char(lower(period), 'MM-DD') AS from, to_char(upper(period), 'MM-DD') AS to, catalysts
  FROM enspiral.catalyst_gaps(:gt, make_date(:y, 1, 1), make_date(:y + 1, 1, 1));
SELECT line FROM enspiral.catalyst_timeline(:gt, make_date(:y, 1, 1), make_date(:y + 1, 1, 1), 73)
       WITH ORDINALITY t(line, n) WHERE n > 1;
SELECT line FROM enspiral.catalyst_timeline(:gt, make_date(:y, 6, 1), make_date(:y, 7, 15))
       WITH ORDINALITY t(line, n) WHERE n > 1;

------------------------------------------------------------------------------
-- The sweep agrees with a day-by-day count (random terms, fixed seed)
------------------------------------------------------------------------------
SELECT enspiral.create_group('Sweep', '{"min_catalysts": 0, "catalyst_max_months": 1200}') AS gs \gset
SELECT count(enspiral.add_member(:gs, 's' || i)) AS members FROM generate_series(1, 12) i;
SELECT setseed(0.42);
DO $$
DECLARE
    g bigint := (SELECT max(group_id) FROM enspiral.groups);
    m record;
    d date;
    t bigint;
BEGIN
    FOR m IN SELECT member_id FROM enspiral.current_members WHERE group_id = g LOOP
        d := current_date + (random() * 40)::int;
        WHILE d < current_date + 1000 LOOP
            t := enspiral.appoint_catalyst(g, m.member_id, d, 1 + (random() * 5)::int);
            IF random() < 0.3 THEN
                PERFORM enspiral.end_catalyst_term(t, d + 1 + (random() * 20)::int);
            END IF;
            SELECT upper(period) + (random() * 60)::int INTO d FROM enspiral.catalyst_terms WHERE term_id = t;
        END LOOP;
    END LOOP;
END
$$;
WITH days AS (
    SELECT d::date AS day,
           (SELECT count(*) FROM enspiral.catalyst_terms t WHERE t.group_id = :gs AND t.period @> d::date) AS n
      FROM generate_series(current_date, current_date + 1099, interval '1 day') d
), sweep AS (
    SELECT d.day, c.catalysts
      FROM days d JOIN enspiral.catalyst_coverage(:gs, current_date, current_date + 1100) c ON c.period @> d.day
)
SELECT count(*) AS days, count(*) FILTER (WHERE s.catalysts = d.n) AS agree,
       (SELECT count(*) FROM enspiral.catalyst_coverage(:gs, current_date, current_date + 1100)) > 20 AS many_periods,
       (SELECT bool_and(lower(c2.p) = upper(c1.p) AND c1.n1 <> c2.n2)
          FROM enspiral.catalyst_coverage(:gs, current_date, current_date + 1100) WITH ORDINALITY c1(p, n1, i)
          JOIN enspiral.catalyst_coverage(:gs, current_date, current_date + 1100) WITH ORDINALITY c2(p, n2, j)
            ON j = i + 1) AS contiguous_and_merged
  FROM days d JOIN sweep s USING (day);

------------------------------------------------------------------------------
-- The commit-time rule agrees with a day-by-day evaluation of
--   refuse iff some day d >= today has after(d) < min(before(d), 3)
-- over random ends, cancellations and appointments (fixed seed); each
-- candidate runs in a subtransaction that is rolled back afterwards
------------------------------------------------------------------------------
SELECT enspiral.create_group('Rule', '{"min_catalysts": 3, "catalyst_max_months": 1200}') AS gq \gset
SELECT count(enspiral.add_member(:gq, 'q' || i)) AS members FROM generate_series(1, 8) i;
SELECT setseed(0.17);
DO $$
DECLARE
    g bigint := (SELECT max(group_id) FROM enspiral.groups);
    m record;
    d date;
BEGIN
    FOR m IN SELECT member_id FROM enspiral.current_members WHERE group_id = g LOOP
        d := current_date + (random() * 30)::int;
        WHILE d < current_date + 400 LOOP
            PERFORM enspiral.appoint_catalyst(g, m.member_id, d, 1 + (random() * 5)::int);
            SELECT max(upper(period)) + (random() * 40)::int INTO d
              FROM enspiral.catalyst_terms WHERE group_id = g AND member_id = m.member_id;
        END LOOP;
    END LOOP;
END
$$;
-- catalysts per day over the next 900 days (every term ends before that);
-- PL/pgSQL, so that it runs sharded too (Citus plans the query with the value)
CREATE FUNCTION pg_temp.days(g bigint) RETURNS int[] LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT array_agg(n ORDER BY d) FROM (
        SELECT d, count(t.term_id)::int AS n
          FROM generate_series(current_date, current_date + 899, interval '1 day') d
          LEFT JOIN enspiral.catalyst_terms t ON t.group_id = g AND t.period @> d::date
         GROUP BY d) x);
END
$$;
CREATE TEMP TABLE verdicts (kind text, expected_refusal boolean, refused boolean);
DO $$
DECLARE
    g bigint := (SELECT max(group_id) FROM enspiral.groups);
    t record;
    before int[];
    after int[];
    expected boolean;
    kind text;
    mid bigint;
BEGIN
    FOR i IN 1 .. 90 LOOP
        expected := NULL;
        BEGIN
            before := pg_temp.days(g);
            IF i % 3 = 0 THEN
                kind := 'end';
                SELECT * INTO t FROM enspiral.catalyst_terms
                 WHERE group_id = g AND upper(period) > current_date + 1
                 ORDER BY random() LIMIT 1;
                PERFORM enspiral.end_catalyst_term(t.term_id,
                    greatest(lower(t.period) + 1, current_date)
                    + (random() * (upper(t.period) - greatest(lower(t.period) + 1, current_date) - 1))::int);
            ELSIF i % 3 = 1 THEN
                kind := 'cancel';
                SELECT * INTO t FROM enspiral.catalyst_terms
                 WHERE group_id = g AND starts_on > current_date ORDER BY random() LIMIT 1;
                PERFORM enspiral.cancel_catalyst_term(t.term_id);
            ELSE
                kind := 'appoint';
                SELECT member_id INTO mid FROM enspiral.current_members WHERE group_id = g ORDER BY random() LIMIT 1;
                PERFORM enspiral.appoint_catalyst(g, mid, current_date + (random() * 500)::int, 1 + (random() * 5)::int);
            END IF;
            after := pg_temp.days(g);
            SELECT bool_or(a < least(b, 3)) INTO expected FROM unnest(after, before) u(a, b);
            SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
            RAISE EXCEPTION 'accepted' USING ERRCODE = 'P0001';
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE = 'P0001' THEN
                INSERT INTO verdicts VALUES (kind, expected, false);
            ELSIF SQLSTATE = 'NS305' THEN
                INSERT INTO verdicts VALUES (kind, expected, true);
            ELSE
                INSERT INTO verdicts VALUES (kind || ' refused by ' || SQLSTATE, NULL, NULL);
            END IF;
        END;
    END LOOP;
END
$$;
-- (how many of each kind are refused depends on the run date: only the
-- agreement is printed)
SELECT count(*) > 30 AS enough_candidates, count(*) FILTER (WHERE refused) > 0 AS some_refused,
       count(*) FILTER (WHERE NOT refused) > 0 AS some_accepted,
       count(*) FILTER (WHERE refused IS DISTINCT FROM expected_refusal) AS disagreements
  FROM verdicts WHERE expected_refusal IS NOT NULL;
