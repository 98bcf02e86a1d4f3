-- Demo: catalyst rotation.  Runs after demo/00_setup.sql (demo.expect_error).
\echo
\echo '--- 5. Catalyst rotation: 3 catalysts at least, 6-month terms, 24 months at most'
SELECT enspiral.create_group('Catalyst demo') AS cg \gset
SELECT enspiral.add_member(:cg, 'aroha') AS aroha, enspiral.add_member(:cg, 'ben') AS ben,
       enspiral.add_member(:cg, 'cy') AS cy, enspiral.add_member(:cg, 'dee') AS dee,
       enspiral.add_member(:cg, 'eru') AS eru \gset

\echo '-- Aroha, Ben and Cy become catalysts today for the default 6 months'
SELECT enspiral.appoint_catalyst(:cg, :aroha, current_date) AS t_aroha,
       enspiral.appoint_catalyst(:cg, :ben, current_date) AS t_ben,
       enspiral.appoint_catalyst(:cg, :cy, current_date) AS t_cy \gset
SELECT period, catalysts FROM enspiral.catalyst_coverage(:cg, current_date, current_date + 365);

\echo '-- Ben wants to stop in a month: nobody would replace him, so it is refused'
SELECT demo.expect_error(format($q$DO $d$ BEGIN
    PERFORM enspiral.end_catalyst_term(%s, current_date + 30);
    SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE; END $d$$q$, :t_ben));

\echo '-- A hand-over in one transaction works: Dee takes over from Ben'
BEGIN;
SELECT enspiral.end_catalyst_term(:t_ben, current_date + 30);
SELECT enspiral.appoint_catalyst(:cg, :dee, current_date + 30) > 0 AS dee_appointed;
COMMIT;

\echo '-- Rules on every appointment: overlapping terms, term length, days a week'
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, current_date + 10)', :cg, :aroha));
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, current_date, 9)', :cg, :eru));
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, current_date, 6, 0.5)', :cg, :eru));

\echo '-- Service limit: Eru serves four full terms; a fifth is refused'
SELECT count(enspiral.appoint_catalyst(:cg, :eru, (current_date + interval '6 months' * i)::date)) AS eru_terms
  FROM generate_series(0, 3) i;
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)', :cg, :eru,
                                (current_date + interval '24 months')::date));

\echo '-- Gaps in the next two years, and the planner''s proposal to close them'
SELECT period, catalysts FROM enspiral.catalyst_gaps(:cg, current_date, current_date + 730);
SELECT * FROM enspiral.plan_rotation(:cg, current_date, current_date + 730);
SELECT count(enspiral.appoint_catalyst(:cg, p.member_id, p.starts_on, p.months)) AS appointed
  FROM enspiral.plan_rotation(:cg, current_date, current_date + 730) p;
SELECT count(*) AS gaps_left FROM enspiral.catalyst_gaps(:cg, current_date, current_date + 730);

\echo '-- The two years as a timeline, and everyone''s service'
SELECT * FROM enspiral.catalyst_timeline(:cg, current_date, current_date + 730);
SELECT * FROM enspiral.catalyst_service(:cg);

\echo '-- Cy leaves the group: her terms end or are cancelled, and the gap shows up'
SELECT enspiral.remove_member(:cg, :cy);
SELECT period, catalysts FROM enspiral.catalyst_gaps(:cg, current_date, current_date + 730);
