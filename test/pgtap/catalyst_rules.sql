-- pgTAP: every catalyst rule and refusal, with SQLSTATE and message.  The
-- coverage rule is checked at statement end here (SET CONSTRAINTS ...
-- IMMEDIATE) because the file runs in one transaction that rolls back.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION enspiral CASCADE;
SELECT plan(44);
SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Zero', '{"min_catalysts": 0}') AS z \gset
SELECT enspiral.add_member(:g, 'm' || i) FROM generate_series(1, 6) i;
SELECT enspiral.add_member(:z, 'z1') AS z1, enspiral.add_member(:z, 'z2') AS z2 \gset

-- schema
SELECT has_table('enspiral', 'catalyst_terms', 'catalyst_terms exists');
SELECT col_is_pk('enspiral', 'catalyst_terms', ARRAY['group_id', 'term_id'], 'primary key leads with group_id');
SELECT has_function('enspiral', 'appoint_catalyst', ARRAY['bigint', 'bigint', 'date', 'integer', 'numeric']);
SELECT has_function('enspiral', 'end_catalyst_term', ARRAY['bigint', 'date']);
SELECT has_function('enspiral', 'catalyst_coverage', ARRAY['bigint', 'date', 'date']);
SELECT has_function('enspiral', 'catalyst_gaps', ARRAY['bigint', 'date', 'date']);
SELECT has_function('enspiral', 'catalyst_service', ARRAY['bigint', 'date']);
SELECT has_function('enspiral', 'plan_rotation', ARRAY['bigint', 'date', 'date']);

-- calendar
SELECT is(enspiral.catalyst_term_end('2025-01-31', 1), '2025-02-28'::date, 'Jan 31 + 1 month = Feb 28');
SELECT is(enspiral.catalyst_term_end('2028-01-31', 1), '2028-02-29'::date, 'Jan 31 + 1 month = Feb 29 in a leap year');
SELECT is(enspiral.catalyst_term_end('2028-02-29', 12), '2029-02-28'::date, 'Feb 29 + 12 months = Feb 28');
SELECT is(enspiral.catalyst_months_begun('2025-01-15', '2025-03-16'), 3, '2 months and 1 day count 3');
SELECT is(enspiral.catalyst_months_begun('2025-01-15', '2025-03-15'), 2, 'exactly 2 months count 2');

-- appointments and their refusals
SELECT lives_ok(format('SELECT enspiral.appoint_catalyst(%s, %s, current_date)', :g, i), 'appoint member ' || i)
  FROM generate_series(1, 4) i;
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, 5, current_date, 7)', :g),
                 'NS302', 'catalyst term length is out of range', 'term too long');
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, 5, current_date, 0)', :g),
                 'NS302', 'catalyst term length is out of range', 'term too short');
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, 5, current_date, 6, 0.5)', :g),
                 'NS302', 'catalyst days per week are out of range', 'too few days a week');
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, 5, current_date, 6, 8)', :g),
                 'NS302', 'catalyst days per week are out of range', 'more than 7 days a week');
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, 5, current_date - 1)', :g),
                 'NS302', 'catalyst term cannot start before the member joined', 'before joining');
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, 1, current_date + 30, 1)', :g),
                 'NS303', 'catalyst terms would overlap', 'overlapping terms');
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, 99, current_date)', :g),
                 'NS003', 'member does not exist', 'unknown member');
SELECT throws_ok('SELECT enspiral.appoint_catalyst(99, 1, current_date)',
                 'NS002', 'group does not exist', 'unknown group');
SELECT enspiral.add_member(:g, 'gone') AS gone \gset
SELECT enspiral.remove_member(:g, :gone);
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, %s, current_date)', :g, :gone),
                 'NS004', 'member is not a current member of the group', 'former member');

-- service limit: four full terms, not a fifth
SELECT lives_ok(format('SELECT enspiral.appoint_catalyst(%s, %s, (current_date + interval ''6 months'' * %s)::date)', :z, :z1, i),
                'full term ' || i + 1)
  FROM generate_series(0, 3) i;
SELECT throws_ok(format('SELECT enspiral.appoint_catalyst(%s, %s, (current_date + interval ''24 months'')::date, 1)', :z, :z1),
                 'NS304', 'catalyst would serve more than the limit',
                 'a fifth term is refused');
SELECT results_eq(format('SELECT months_left, eligible FROM enspiral.catalyst_service(%s) WHERE member_id = %s', :z, :z1),
                  $$VALUES (0, false)$$, 'no months left, not eligible');

-- coverage: 4 serving, minimum 3, all appointed in this transaction
SELECT lives_ok(format('SELECT enspiral.end_catalyst_term(term_id, current_date + 10) FROM enspiral.catalyst_terms WHERE group_id = %s AND member_id = 1', :g),
                'ending one of 4 early is allowed');
-- "before" is the state when the transaction began (no terms here): the
-- appointments above and this end are one change, from 0 to 3 catalysts
-- (catalyst_coverage.sql and the isolation specs test refusals at commit)
SELECT lives_ok(format('SELECT enspiral.end_catalyst_term(term_id, current_date + 20) FROM enspiral.catalyst_terms WHERE group_id = %s AND member_id = 2', :g),
                'within the transaction that appointed them, ending a second is allowed');
SELECT lives_ok(format($$SELECT enspiral.end_catalyst_term(term_id, current_date + 20),
                                enspiral.appoint_catalyst(group_id, 5, current_date + 20)
                           FROM enspiral.catalyst_terms WHERE group_id = %s AND member_id = 2$$, :g),
                'a hand-over in one statement is allowed');
SELECT is((SELECT count(*)::int FROM enspiral.catalyst_gaps(:g, current_date, current_date + 60)), 0, 'no gaps');
SELECT lives_ok(format('SELECT enspiral.remove_member(%s, 3)', :g), 'a member may leave though it opens a gap');
SELECT is((SELECT catalysts FROM enspiral.catalyst_gaps(:g, current_date, current_date + 60) LIMIT 1), 2,
          'the departure shows in catalyst_gaps');

-- ending and cancelling
SELECT throws_ok('SELECT enspiral.end_catalyst_term(999, current_date + 1)',
                 'NS301', 'catalyst term does not exist', 'unknown term');
SELECT throws_ok(format('SELECT enspiral.cancel_catalyst_term(term_id) FROM enspiral.catalyst_terms WHERE group_id = %s AND member_id = 4', :g),
                 'NS302', 'catalyst term that has begun cannot be cancelled',
                 'a begun term cannot be cancelled');
SELECT throws_ok('TRUNCATE enspiral.catalyst_terms', 'NS007', 'catalyst terms cannot be truncated', 'no truncate');
SELECT throws_ok(format('UPDATE enspiral.catalyst_terms SET months = 1 WHERE group_id = %s AND member_id = 4', :g),
                 'NS007', 'only the end of a catalyst term can be changed',
                 'direct writes cannot change a term''s start or length');

-- the planner's proposals are appointable and close the gaps
SELECT lives_ok(format('SELECT enspiral.appoint_catalyst(%1$s, p.member_id, p.starts_on, p.months) FROM enspiral.plan_rotation(%1$s, current_date, current_date + 730) p', :g),
                'the plan applies');
SELECT is((SELECT count(*)::int FROM enspiral.catalyst_gaps(:g, current_date, current_date + 730)), 0, 'the plan closes every gap');

SELECT * FROM finish();
ROLLBACK;
