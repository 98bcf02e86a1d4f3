-- The API on Citus, called one statement at a time (each group-first call
-- is delegated to the node of its group), with the same rules and messages
-- as on a single server.  doc/scaling.md lists what does not run sharded yet.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\set VERBOSITY terse

-- groups and members: ids drawn on a worker come from its range
SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'chloe') AS chloe \gset
SELECT enspiral.add_member(:h, 'aroha') AS h_aroha \gset
SELECT :aroha >= (1::bigint << 48) AS drawn_on_a_worker, :aroha <> :h_aroha AS distinct_ids;
SELECT enspiral.add_member(:g, '');                    -- refused: empty key
SELECT enspiral.add_member(999, 'zed');                -- refused: no such group
SELECT enspiral.member_id(:g, 'ben') = :ben AS found;
SELECT enspiral.is_member(:g, :chloe, now()) AS chloe_is_member;
SELECT count(*) AS members FROM enspiral.members(:g);
SELECT enspiral.remove_member(:g, :chloe);
SELECT enspiral.is_member(:g, :chloe, now()) AS chloe_is_member;
SELECT enspiral.remove_member(:g, :chloe);             -- refused: not a member now
SELECT enspiral.add_member(:g, 'chloe') = :chloe AS chloe_rejoins;
SELECT enspiral.update_group_settings(:g, '{"min_catalysts": 2}') ->> 'min_catalysts' AS min_catalysts;
SELECT enspiral.update_group_settings(:g, '{"no_such_setting": 1}');  -- refused

-- proposals: drafted and opened
SELECT enspiral.propose(:g, :aroha, 'Adopt the remote-work policy', 'consent') AS p \gset
SELECT :p >= (1::bigint << 48) AS drawn_on_a_worker;
SELECT enspiral.propose(:g, :aroha, ' ', 'consent');  -- refused: empty title
SELECT enspiral.propose(:g, :h_aroha, 'Not mine', 'consent');  -- refused: not a member of g
SELECT enspiral.open_proposal(:p, now() + interval '3 days');
SELECT enspiral.proposal_state(:p);
SELECT enspiral.propose(:g, :aroha, 'Second', 'consent') AS p2 \gset
SELECT enspiral.open_proposal(:g, :p2, now() + interval '2 days', NULL);
SELECT enspiral.proposal_state(:p2);
SELECT enspiral.open_proposal(:h, :p2, now() + interval '2 days', NULL);  -- refused: not in h

-- votes, group-first (delegated to the group's node)
SELECT enspiral.vote(:g, :p, :aroha, '"agree"', NULL) AS aroha_vote \gset
SELECT :aroha_vote >= (1::bigint << 48) AS drawn_on_a_worker;
SELECT enspiral.vote(:g, :p, :ben, '"agree"', NULL) AS ben_vote \gset
SELECT enspiral.vote(:g, :p, :chloe, '"block"', NULL);          -- refused: a block needs a reason
SELECT enspiral.vote(:g, :p, :chloe, '"abstain"', NULL) AS chloe_vote \gset
SELECT enspiral.vote(:g, :p, :chloe, '"agree"', 'changed my mind') AS chloe_vote2 \gset
SELECT :chloe_vote2 > :chloe_vote AS replaced;
SELECT enspiral.vote(:g, :p, 999, '"agree"', NULL);               -- refused: no such member
SELECT enspiral.vote(:g, 12345, :ben, '"agree"', NULL);           -- refused: no such proposal
SELECT enspiral.vote(:h, :p, :h_aroha, '"agree"', NULL);          -- refused: not in group h
SELECT enspiral.vote(:g, :p2, :ben, '"maybe"', NULL);             -- refused: not a consent stance
SELECT member_id = :chloe AS chloe, ballot, superseded_at IS NOT NULL AS superseded
  FROM enspiral.votes WHERE group_id = :g AND proposal_id = :p AND member_id IN (:chloe)
 ORDER BY vote_id;
SELECT count(*) AS counted FROM enspiral.votes
 WHERE group_id = :g AND proposal_id = :p AND superseded_at IS NULL;
-- each vote recorded its event on the group's node
SELECT count(*) AS vote_events FROM enspiral.events_since(:g, 0, 100) WHERE kind = 'vote_cast';
-- the 0.1.0 form that names no group finds the group and runs on its node
-- (the vote tables refuse writes that do not come from vote() there)
SELECT enspiral.vote(:p, :ben, '"agree"') >= (1::bigint << 48) AS drawn_on_a_worker;
-- so does a group-first call inside a transaction block (not delegated)
BEGIN;
SELECT enspiral.vote(:g, :p, :ben, '"agree"', NULL) >= (1::bigint << 48) AS drawn_on_a_worker;
ROLLBACK;

-- rounds and buckets
SELECT enspiral.create_round(:g, 'Spring', 100000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.create_round(:g, 'Autumn', -1, now(), now() + interval '7 days');  -- refused
SELECT enspiral.create_bucket(:r, :aroha, 'Bike workshop', 30000, 50000) AS bikes \gset
SELECT enspiral.create_bucket(:r, :aroha, 'Backwards', 50000, 30000);  -- refused
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);

-- catalyst rotation: appointments and coverage in the group's node
SELECT enspiral.appoint_catalyst(:g, :aroha, current_date + 1) AS aroha_term \gset
SELECT enspiral.appoint_catalyst(:g, :ben, current_date + 1) AS ben_term \gset
SELECT :aroha_term > 0 AND :ben_term > 0 AS appointed;
-- the coverage rule is checked at commit on the group's node: a delegated
-- call reaches the client with the rule's own message (min_catalysts is 2)
SELECT enspiral.end_catalyst_term(:g, :ben_term, current_date + 30);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT enspiral.cancel_catalyst_term(:g, :ben_term);
SELECT enspiral.end_catalyst_term(:h, :ben_term, current_date + 30);  -- refused: not in h
-- in a transaction block (not delegated) the coordinator has the group's
-- node check its commit-time rules before Citus commits
-- (src/core_commit_rules.c): the COMMIT fails with the rule's own error, as
-- on a single server, not with Citus's "could not commit transaction"
BEGIN;
SELECT enspiral.end_catalyst_term(:g, :ben_term, current_date + 30);
COMMIT;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- the same when the block wrote on both workers (two-phase commit): the
-- node whose rule refuses decides, and nothing of the block stays
SELECT (SELECT p.groupid FROM pg_dist_placement p
         WHERE p.shardid = get_shard_id_for_distribution_column('enspiral.groups', :g))
    <> (SELECT p.groupid FROM pg_dist_placement p
         WHERE p.shardid = get_shard_id_for_distribution_column('enspiral.groups', :h)) AS on_two_workers;
BEGIN;
SELECT enspiral.add_member(:h, 'hana') IS NOT NULL AS added_in_h;
SELECT enspiral.cancel_catalyst_term(:g, :ben_term);
COMMIT;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- the same for an application role: the API writes as the extension's
-- owner (SECURITY DEFINER), so the nodes check the rules over the owner's
-- connections, whatever role the session has
CREATE ROLE citus_api_app LOGIN;
SELECT count(*) > 0 AS granted FROM enspiral.grant_application('citus_api_app');
SET ROLE citus_api_app;
BEGIN;
SELECT enspiral.end_catalyst_term(:g, :ben_term, current_date + 30);
COMMIT;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- and a block that breaks no rule commits
BEGIN;
SELECT enspiral.add_member(:h, 'hemi') IS NOT NULL AS added_in_h;
COMMIT;
RESET ROLE;
SELECT count(*) > 0 AS revoked FROM enspiral.revoke_application('citus_api_app');
DROP ROLE citus_api_app;
SELECT count(*) AS terms_ended FROM enspiral.catalyst_terms WHERE group_id = :g AND ended_on IS NOT NULL;
SELECT enspiral.appoint_catalyst(:g, :aroha, current_date + 1);  -- refused: overlapping term
SELECT count(*) AS terms FROM enspiral.catalyst_terms(:g);

-- the other group saw none of it
SELECT count(*) AS members_of_h FROM enspiral.members(:h);
SELECT count(*) AS terms_of_h FROM enspiral.catalyst_terms(:h);
