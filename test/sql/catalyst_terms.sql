-- Catalyst terms: the calendar of a term, and every row rule with its exact
-- refusal.  Dates are printed relative to today (:today) or as month-day of
-- a fixed future year, so the output does not depend on the run date.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- try(sql): runs sql (coverage checked immediately), returns ok or SQLSTATE: message
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
    EXECUTE sql;
    SET CONSTRAINTS enspiral.catalyst_terms_coverage DEFERRED;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

------------------------------------------------------------------------------
-- Calendar: whole months with date + interval semantics
------------------------------------------------------------------------------
SELECT s::date AS starts_on, m AS months, enspiral.catalyst_term_end(s::date, m) AS planned_end
  FROM (VALUES ('2025-01-31', 1), ('2024-01-31', 1), ('2024-01-31', 6), ('2024-08-31', 6),
               ('2024-02-29', 12), ('2024-02-29', 48), ('2025-03-31', 1), ('2025-12-31', 2),
               ('2025-12-15', 1), ('2025-06-30', 6)) v(s, m);
-- months begun: ended after 2 months and 1 day counts 3; exactly 2 months counts 2
SELECT s::date AS starts_on, e::date AS ends_on, enspiral.catalyst_months_begun(s::date, e::date) AS months
  FROM (VALUES ('2025-01-15', '2025-03-15'), ('2025-01-15', '2025-03-16'), ('2025-01-15', '2025-01-16'),
               ('2025-01-31', '2025-02-28'), ('2025-01-31', '2025-03-01'), ('2024-01-31', '2024-02-29'),
               ('2024-01-31', '2024-03-01'), ('2025-01-15', '2025-01-15'), ('2025-01-15', '2024-01-01'),
               ('2025-08-31', '2026-02-28'), ('2025-08-31', '2026-03-01')) v(s, e);
SELECT enspiral.catalyst_months_begun('2025-01-01', 'infinity');

------------------------------------------------------------------------------
-- A group and its members
------------------------------------------------------------------------------
SELECT current_date AS today \gset
-- min_catalysts 0: the coverage rule never refuses here (catalyst_coverage.sql tests it)
SELECT enspiral.create_group('Enspiral', '{"min_catalysts": 0}') AS g \gset
SELECT enspiral.create_group('Other') AS g2 \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cy') AS cy, enspiral.add_member(:g, 'dee') AS dee,
       enspiral.add_member(:g, 'eve') AS eve, enspiral.add_member(:g2, 'zed') AS zed \gset

-- a default term: the group's 6 months, 1 day a week
SELECT enspiral.appoint_catalyst(:g, :ana, :'today') AS t1 \gset
SELECT member_id = :ana AS ana, starts_on = :'today' AS starts_today, months,
       planned_ends_on = (:'today'::date + interval '6 months')::date AS ends_in_6_months,
       ended_on, days_per_week, months_counted,
       period = daterange(starts_on, planned_ends_on) AS period_ok
  FROM enspiral.catalyst_terms WHERE term_id = :t1;
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 3, 2.5)', :g, :ben, :'today'));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 1, 7)', :g, :cy, :'today'));

------------------------------------------------------------------------------
-- Refusals on appointment
------------------------------------------------------------------------------
-- length 1..catalyst_term_months
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 7)', :g, :dee, :'today'));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 0)', :g, :dee, :'today'));
-- days a week between catalyst_min_days_per_week and 7
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 6, 0.5)', :g, :dee, :'today'));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 6, 7.5)', :g, :dee, :'today'));
-- unknown group, unknown member, member of another group
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(999, %s, %L)', :dee, :'today'));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(999, %s, %L, 6)', :dee, :'today'));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, 999, %L)', :g, :'today'));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)', :g, :zed, :'today'));
-- NULL arguments
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, NULL)', :g, :dee));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 6, NULL)', :g, :dee, :'today'));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)', :g, :dee, 'infinity'));
-- not before the member joined
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)', :g, :dee, :'today'::date - 1));
-- overlap with the member's own term (ana serves today .. +6 months)
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 1)', :g, :ana, :'today'::date + 40));
-- a member who joined three years ago (a direct write of the history) may
-- have terms in the past; they may not overlap either
INSERT INTO enspiral.members (group_id, member_key) VALUES (:g, 'old') RETURNING member_id AS old \gset
INSERT INTO enspiral.memberships (group_id, member_id, joined_at)
VALUES (:g, :old, now() - interval '3 years');
SELECT enspiral.appoint_catalyst(:g, :old, (:'today'::date - interval '30 months')::date) AS told1,
       enspiral.appoint_catalyst(:g, :old, (:'today'::date - interval '2 months')::date, 4) AS told2 \gset
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 6)',
                          :g, :old, (:'today'::date - interval '27 months')::date));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)',
                          :g, :old, (:'today'::date - interval '37 months')::date));
SELECT months_served, months_left, serving, eligible FROM enspiral.catalyst_service(:g) WHERE member_id = :old;
-- as of a year ago: the first term was served in full (6 months), no term ran then
SELECT months_served, months_left, serving FROM enspiral.catalyst_service(:g, :'today'::date - 365) WHERE member_id = :old;
-- back to back is not an overlap
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)',
                          :g, :ana, (:'today'::date + interval '6 months')::date));
-- a former member cannot be appointed
SELECT enspiral.add_member(:g, 'fay') AS fay \gset
SELECT enspiral.remove_member(:g, :fay);
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)', :g, :fay, :'today'));

-- a term that ended by today is a record of the past (e.g. a restored dump):
-- a former member's term is accepted when they belonged to the group
-- throughout it
INSERT INTO enspiral.members (group_id, member_key) VALUES (:g, 'hist') RETURNING member_id AS hist \gset
INSERT INTO enspiral.memberships (group_id, member_id, joined_at, left_at)
VALUES (:g, :hist, now() - interval '3 years', now() - interval '1 year');
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)',
                          :g, :hist, (:'today'::date - interval '30 months')::date));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)',
                          :g, :hist, (:'today'::date - interval '14 months')::date));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)',
                          :g, :hist, (:'today'::date - interval '40 months')::date));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)', :g, :hist, :'today'));

------------------------------------------------------------------------------
-- Service limit: four full 6-month terms are allowed, a fifth is refused
------------------------------------------------------------------------------
SELECT enspiral.appoint_catalyst(:g, :eve, (:'today'::date + interval '6 months' * i)::date) AS term
  FROM generate_series(0, 3) i;
SELECT months_served, months_left, serving, eligible FROM enspiral.catalyst_service(:g) WHERE member_id = :eve;
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 1)',
                          :g, :eve, (:'today'::date + interval '24 months')::date));
-- ending a term early frees the months not begun: ended after 2 months and 1 day counts 3
SELECT term_id AS e4 FROM enspiral.catalyst_terms WHERE member_id = :eve ORDER BY starts_on DESC LIMIT 1 \gset
SELECT enspiral.end_catalyst_term(:e4, (starts_on + interval '2 months')::date + 1)
  FROM enspiral.catalyst_terms WHERE term_id = :e4;
SELECT months, months_counted FROM enspiral.catalyst_terms WHERE term_id = :e4;
SELECT months_left FROM enspiral.catalyst_service(:g) WHERE member_id = :eve;
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 4)',
                          :g, :eve, (:'today'::date + interval '30 months')::date));
SELECT pg_temp.try(format('SELECT enspiral.appoint_catalyst(%s, %s, %L, 3)',
                          :g, :eve, (:'today'::date + interval '30 months')::date));
SELECT months_left, eligible FROM enspiral.catalyst_service(:g) WHERE member_id = :eve;

------------------------------------------------------------------------------
-- Ending and cancelling terms
------------------------------------------------------------------------------
SELECT pg_temp.try('SELECT enspiral.end_catalyst_term(999, current_date + 1)');
SELECT pg_temp.try('SELECT enspiral.end_catalyst_term(NULL, current_date + 1)');
SELECT pg_temp.try(format('SELECT enspiral.end_catalyst_term(%s, NULL)', :t1));
-- not into the past, not on or before the start, only earlier
SELECT pg_temp.try(format('SELECT enspiral.end_catalyst_term(%s, %L)', :told2, :'today'::date - 1));
SELECT pg_temp.try(format('SELECT enspiral.end_catalyst_term(%s, %L)', :told1, :'today'::date + 1));
SELECT pg_temp.try(format('SELECT enspiral.cancel_catalyst_term(%s)', :told1));
SELECT pg_temp.try(format('SELECT enspiral.end_catalyst_term(%s, %L)', :t1, :'today'::date - 1));
SELECT pg_temp.try(format('SELECT enspiral.end_catalyst_term(%s, %L)', :t1, :'today'));
SELECT pg_temp.try(format('SELECT enspiral.end_catalyst_term(%s, %L)', :t1, (:'today'::date + interval '6 months')::date));
SELECT pg_temp.try(format('SELECT enspiral.end_catalyst_term(%s, %L)', :t1, (:'today'::date + interval '7 months')::date));
-- cancelling: only a term that has not begun
SELECT pg_temp.try(format('SELECT enspiral.cancel_catalyst_term(%s)', :t1));
SELECT pg_temp.try('SELECT enspiral.cancel_catalyst_term(999)');
SELECT enspiral.appoint_catalyst(:g, :dee, :'today'::date + 10, 2) AS tdee \gset
SELECT pg_temp.try(format('SELECT enspiral.cancel_catalyst_term(%s)', :tdee));
SELECT count(*) AS dee_terms FROM enspiral.catalyst_terms WHERE member_id = :dee;

------------------------------------------------------------------------------
-- Direct writes obey the same rules
------------------------------------------------------------------------------
SELECT pg_temp.try(format('INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week) VALUES (%s, %s, %L, 9, 1)', :g, :dee, :'today'));
SELECT pg_temp.try(format('INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week) VALUES (%s, %s, %L, 2, 1), (%s, %s, %L, 2, 1)',
                          :g, :dee, :'today'::date + 100, :g, :dee, :'today'::date + 120));
SELECT pg_temp.try(format('INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week, ended_on) VALUES (%s, %s, %L, 2, 1, %L)',
                          :g, :dee, :'today'::date + 100, :'today'::date + 100));
SELECT pg_temp.try(format('INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week, ended_on) VALUES (%s, %s, %L, 2, 1, %L)',
                          :g, :dee, :'today'::date + 100, :'today'::date + 200));
SELECT pg_temp.try(format('INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week) VALUES (%s, %s, NULL, 2, 1)', :g, :dee));
SELECT pg_temp.try(format('UPDATE enspiral.catalyst_terms SET starts_on = starts_on + 1 WHERE term_id = %s', :t1));
SELECT pg_temp.try(format('UPDATE enspiral.catalyst_terms SET member_id = %s WHERE term_id = %s', :dee, :t1));
SELECT pg_temp.try(format('UPDATE enspiral.catalyst_terms SET days_per_week = 2 WHERE term_id = %s', :t1));
SELECT pg_temp.try(format('UPDATE enspiral.catalyst_terms SET ended_on = NULL WHERE term_id = %s', :e4));
SELECT pg_temp.try(format('UPDATE enspiral.catalyst_terms SET ended_on = ended_on + 1 WHERE term_id = %s', :e4));
SELECT pg_temp.try(format('UPDATE enspiral.catalyst_terms SET ended_on = ended_on WHERE term_id = %s', :e4));
SELECT pg_temp.try(format('UPDATE enspiral.catalyst_terms SET ended_on = ended_on - 1 WHERE term_id = %s', :e4));
SELECT months_counted FROM enspiral.catalyst_terms WHERE term_id = :e4;
SELECT pg_temp.try(format('DELETE FROM enspiral.catalyst_terms WHERE term_id = %s', :t1));
SELECT pg_temp.try('TRUNCATE enspiral.catalyst_terms');
SELECT pg_temp.try('UPDATE enspiral.catalyst_terms SET term_id = 1000 WHERE false');

------------------------------------------------------------------------------
-- Calendar edges through appointments: terms starting on the 31st, leap days
------------------------------------------------------------------------------
SELECT extract(year FROM current_date)::int + 2 AS y,
       (SELECT min(y) FROM generate_series(extract(year FROM current_date)::int + 2,
                                           extract(year FROM current_date)::int + 9) y
         WHERE (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0) AS leap,
       (SELECT min(y) FROM generate_series(extract(year FROM current_date)::int + 2,
                                           extract(year FROM current_date)::int + 9) y
         WHERE NOT ((y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0)
           AND NOT (((y + 1) % 4 = 0 AND (y + 1) % 100 <> 0) OR (y + 1) % 400 = 0)) AS plain \gset
SELECT enspiral.create_group('Calendar', '{"min_catalysts": 0, "catalyst_max_months": 1200, "catalyst_term_months": 12}') AS gc \gset
SELECT enspiral.add_member(:gc, 'c1') AS c1, enspiral.add_member(:gc, 'c2') AS c2,
       enspiral.add_member(:gc, 'c3') AS c3, enspiral.add_member(:gc, 'c4') AS c4,
       enspiral.add_member(:gc, 'c5') AS c5, enspiral.add_member(:gc, 'c6') AS c6 \gset
CREATE TEMP TABLE cal AS
SELECT s, m, enspiral.appoint_catalyst(:gc, mid, s, m) AS tid
  FROM (VALUES (:c1, make_date(:plain, 1, 31), 1), (:c2, make_date(:leap, 1, 31), 1),
               (:c3, make_date(:leap, 2, 29), 12), (:c4, make_date(:leap, 8, 31), 6),
               (:c5, make_date(:leap, 3, 31), 1), (:c6, make_date(:leap, 12, 31), 2),
               (:c1, make_date(:plain, 12, 31), 2), (:c2, make_date(:leap, 10, 31), 4)) t(mid, s, m);
SELECT to_char(s, 'MM-DD') AS starts, extract(year FROM s) = :leap AS leap_year, m AS months,
       to_char(planned_ends_on, 'MM-DD') AS planned_end,
       extract(year FROM planned_ends_on) - extract(year FROM s) AS years_later,
       months_counted
  FROM cal JOIN enspiral.catalyst_terms c ON c.term_id = cal.tid
 ORDER BY leap_year DESC, starts;
SELECT :c1 AS cal1 \gset
-- a term from Jan 31 of a leap year ended on Feb 29 counts 1 month, on Mar 1 counts 2
SELECT enspiral.appoint_catalyst(:gc, :cal1, make_date(:leap + 12, 1, 31), 3) AS tl \gset
SELECT enspiral.end_catalyst_term(:tl, make_date(:leap + 12, 3, 1));
SELECT to_char(ended_on, 'MM-DD') AS ended, months_counted FROM enspiral.catalyst_terms WHERE term_id = :tl;
SELECT pg_temp.try(format('SELECT enspiral.end_catalyst_term(%s, %L)', :tl, make_date(:leap + 12, 3, 1)));
SELECT enspiral.end_catalyst_term(:tl, make_date(:leap + 12, 2, 29));
SELECT to_char(ended_on, 'MM-DD') AS ended, months_counted FROM enspiral.catalyst_terms WHERE term_id = :tl;

-- the catalyst lock table counts the transactions that changed each group
SELECT group_id = :g AS enspiral, changes > 0 AS changed FROM enspiral.catalyst_groups ORDER BY group_id;

-- restore provision: while a group has no membership history at all (a
-- pg_restore loads catalyst_terms before memberships), membership cannot be
-- judged and is not checked; every other rule is
SELECT enspiral.create_group('Restored', '{"min_catalysts": 0}') AS gr \gset
INSERT INTO enspiral.members (group_id, member_key) VALUES (:gr, 'r1') RETURNING member_id AS r1 \gset
SELECT pg_temp.try(format('INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week) VALUES (%s, %s, %L, 6, 1)',
                          :gr, :r1, :'today'::date - 400));
SELECT pg_temp.try(format('INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week) VALUES (%s, %s, %L, 7, 1)',
                          :gr, :r1, :'today'::date));
INSERT INTO enspiral.memberships (group_id, member_id, joined_at, left_at) VALUES (:gr, :r1, now() - interval '2 years', now() - interval '1 day');
SELECT pg_temp.try(format('INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week) VALUES (%s, %s, %L, 6, 1)',
                          :gr, :r1, :'today'::date));
