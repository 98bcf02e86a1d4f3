-- Demo: catalyst rotation.  Runs after demo/00_setup.sql (demo.expect_error).
\echo
\echo '--- 5. Catalyst rotation: 3 catalysts at least, 6-month terms, 24 months at most'
\echo 'Group used here: "Catalyst crew", five members: aroha, ben, cy, dee and eru'
\echo '(member ids 17 to 21), with the default rules: at least 3 catalysts at any'
\echo 'time, terms of at most 6 months, at most 24 months of service in total.'
SELECT enspiral.create_group('Catalyst crew') AS cg \gset
SELECT enspiral.add_member(:cg, 'aroha') AS aroha, enspiral.add_member(:cg, 'ben') AS ben,
       enspiral.add_member(:cg, 'cy') AS cy, enspiral.add_member(:cg, 'dee') AS dee,
       enspiral.add_member(:cg, 'eru') AS eru \gset

\echo '-- Aroha, Ben and Cy become catalysts today for the default 6 months'
SELECT enspiral.appoint_catalyst(:cg, :aroha, current_date) AS t_aroha,
       enspiral.appoint_catalyst(:cg, :ben, current_date) AS t_ben,
       enspiral.appoint_catalyst(:cg, :cy, current_date) AS t_cy \gset
\echo 'Coverage over the next year: 3 catalysts for six months, then 0, which is a'
\echo 'gap (fewer than 3) unless someone takes over:'
SELECT period, catalysts FROM enspiral.catalyst_coverage(:cg, current_date, current_date + 365);

\echo '-- Ben wants to stop in a month: nobody would replace him, so it is refused'
SELECT demo.expect_error(format($q$DO $d$ BEGIN
    PERFORM enspiral.end_catalyst_term(%s, current_date + 30);
    SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE; END $d$$q$, :t_ben));

\echo '-- A hand-over in one transaction works: Dee takes over from Ben'
BEGIN;
SELECT 'ben''s term ends in 30 days' AS event FROM enspiral.end_catalyst_term(:t_ben, current_date + 30) AS x;
SELECT enspiral.appoint_catalyst(:cg, :dee, current_date + 30) > 0 AS dee_appointed;
COMMIT;

\echo '-- Rules on every appointment: aroha (member 17) twice at once, a 9-month term,'
\echo '-- half a day a week (eru, member 21):'
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, current_date + 10)', :cg, :aroha));
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, current_date, 9)', :cg, :eru));
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, current_date, 6, 0.5)', :cg, :eru));

\echo '-- Service limit: Eru (member 21) serves four full terms; a fifth is refused'
SELECT count(enspiral.appoint_catalyst(:cg, :eru, (current_date + interval '6 months' * i)::date)) AS eru_terms
  FROM generate_series(0, 3) i;
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)', :cg, :eru,
                                (current_date + interval '24 months')::date));

\echo '-- Gaps in the next two years (periods with fewer than 3 catalysts), and the'
\echo '-- planner''s proposal to close them: who, from when, for how many months.'
\echo '-- Eru covers the two years alone; aroha''s and cy''s terms end in 6 months,'
\echo '-- dee''s a month later, so from then on fewer than 3 serve:'
SELECT period, catalysts FROM enspiral.catalyst_gaps(:cg, current_date, current_date + 730);
SELECT demo.name(:cg, p.member_id) AS member, p.starts_on, p.months
  FROM enspiral.plan_rotation(:cg, current_date, current_date + 730) AS p;
\echo '-- Applying the plan (6 appointments) leaves no gap:'
SELECT count(enspiral.appoint_catalyst(:cg, p.member_id, p.starts_on, p.months)) AS appointed
  FROM enspiral.plan_rotation(:cg, current_date, current_date + 730) p;
SELECT count(*) AS gaps_left FROM enspiral.catalyst_gaps(:cg, current_date, current_date + 730);

\echo '-- The two years as a timeline: one row per member id (# serving, + where a'
\echo '-- term begins or ends, . not serving), then the number of catalysts in each'
\echo '-- column. The member ids are:'
SELECT member_id, member_key AS member FROM enspiral.members WHERE group_id = :cg ORDER BY member_id;
SELECT * FROM enspiral.catalyst_timeline(:cg, current_date, current_date + 730);
\echo '-- Everyone''s service: months served so far, months they may still serve'
\echo '-- under the 24-month limit, and whether they can be appointed again:'
SELECT demo.name(:cg, s.member_id) AS member, s.months_served, s.months_left, s.serving, s.eligible
  FROM enspiral.catalyst_service(:cg) AS s;

\echo '-- Cy leaves the group: her terms end or are cancelled, and the gap shows up'
SELECT 'cy has left' AS event FROM enspiral.remove_member(:cg, :cy) AS x;
SELECT period, catalysts FROM enspiral.catalyst_gaps(:cg, current_date, current_date + 730);
