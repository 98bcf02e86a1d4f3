-- Demo: executable outcomes and a catalyst election.  Runs after
-- demo/00_setup.sql (demo.expect_error).
\echo
\echo '--- Executable outcomes: a decision that acts, and a catalyst election'
\echo 'Group used here: "Outcome circle", four members: ana, ben, cy and dee.'
\echo 'Ana is the admin; the group locks catalyst appointments and its settings'
\echo 'to passed proposals, so no admin can do them alone.'
SELECT enspiral.create_group('Outcome circle', '{"min_catalysts": 0}') AS og \gset
SELECT enspiral.add_member(:og, 'ana') AS o_ana, enspiral.add_member(:og, 'ben') AS o_ben,
       enspiral.add_member(:og, 'cy') AS o_cy, enspiral.add_member(:og, 'dee') AS o_dee \gset
SELECT enspiral.grant_role(:og, :o_ana, 'admin');
SELECT enspiral.update_group_settings(:og, '{"may_appoint_catalyst": "proposal", "may_change_settings": "proposal"}')
       ->> 'may_appoint_catalyst' AS may_appoint_catalyst;

\echo '-- The admin tries to appoint a catalyst directly: refused'
SELECT demo.expect_error(format('SELECT enspiral.appoint_catalyst(%s, %s, %L)', :og, :o_ben, '2030-01-01'));

\echo '-- A proposal carries its effects: Ben becomes admin, proposals may close 48 h'
\echo '   ahead of notice. Each effect is tried now and rolled back.'
SELECT enspiral.propose(:og, :o_ana, 'Ben joins the admins', 'consent') AS op \gset
SELECT enspiral.add_effect(:og, :op, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :o_ben)::jsonb);
SELECT enspiral.add_effect(:og, :op, '{"kind": "change_settings", "settings": {"closing_soon_hours": 48}}');
SELECT demo.expect_error(format('SELECT enspiral.add_effect(%s, %s, %L)', :og, :op,
                                format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :o_ana)));
SELECT position, kind FROM enspiral.proposal_effects(:og, :op);
SELECT enspiral.open_proposal(:op, now() + interval '1 day');
SELECT enspiral.vote(:op, :o_ana, '"agree"'), enspiral.vote(:op, :o_cy, '"agree"');
SELECT enspiral.close_proposal(:op);
\echo 'The outcome is recorded with what its effects did, in the same transaction:'
SELECT status, results FROM enspiral.effect_results(:og, :op);
SELECT demo.name(:og, member_id) AS admin FROM enspiral.roles(:og) ORDER BY member_id;

\echo '-- A catalyst election for two seats (stv): the options are member ids'
SELECT enspiral.propose_election(:og, :o_ana, 'Catalysts 2030', ARRAY[:o_ben, :o_cy, :o_dee]::bigint[],
                                 '2030-01-01', 2, 6) AS oe \gset
SELECT options FROM enspiral.proposals WHERE proposal_id = :oe;
SELECT enspiral.open_proposal(:oe, now() + interval '1 day');
SELECT enspiral.vote(:oe, :o_ana, format('["%s", "%s"]', :o_cy, :o_ben)::jsonb),
       enspiral.vote(:oe, :o_ben, format('["%s", "%s"]', :o_ben, :o_cy)::jsonb),
       enspiral.vote(:oe, :o_cy, format('["%s"]', :o_cy)::jsonb),
       enspiral.vote(:oe, :o_dee, format('["%s", "%s"]', :o_ben, :o_dee)::jsonb);
SELECT enspiral.close_proposal(:oe);
SELECT demo.name(:og, member_id) AS catalyst, starts_on, months
  FROM enspiral.catalyst_terms WHERE group_id = :og ORDER BY member_id;
\echo 'The events name the proposal as the actor:'
SELECT kind, payload -> 'acting_proposal_id' AS acting_proposal
  FROM enspiral.events WHERE group_id = :og AND payload ? 'acting_proposal_id' ORDER BY event_id;
