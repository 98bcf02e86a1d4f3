-- Executable outcomes: effects declared on a draft (every refusal with its
-- exact error), frozen when the proposal opens, applied with the outcome of a
-- passed proposal with the proposal as the actor, refused as a whole (and
-- recorded) when one breaks a rule at the close, and actions that only a
-- passed proposal may take.  Dates are fixed and far in the future.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral', '{"min_catalysts": 0}') AS g \gset
SELECT enspiral.create_group('Other') AS g2 \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cy') AS cy, enspiral.add_member(:g, 'dee') AS dee,
       enspiral.add_member(:g2, 'zed') AS zed \gset
SELECT enspiral.grant_role(:g, :ana, 'admin');
SELECT enspiral.appoint_catalyst(:g2, :zed, '2030-01-01') AS zed_term \gset
SELECT enspiral.create_round(:g2, 'Elsewhere', 100, '2030-01-01', '2030-02-01') AS other_round \gset
SELECT enspiral.create_round(:g, 'Spring', 1000, now() - interval '1 hour', now() + interval '30 days') AS r \gset
SELECT enspiral.create_bucket(:r, :ben, 'Garden', 10, 500) AS b \gset
SELECT enspiral.create_bucket(:r, :cy, 'Library', 10, 500) AS b2 \gset
SELECT enspiral.open_bucket(:b2);

------------------------------------------------------------------------------
-- Declaring effects: refusals
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Several things', 'consent') AS p \gset
SELECT enspiral.add_effect(:g, :p, '"grant_role"');
SELECT enspiral.add_effect(:g, :p, '{"kind": "dissolve_group"}');
SELECT enspiral.add_effect(:g, :p, '{"member_id": 2}');
SELECT enspiral.add_effect(:g, :p, '{"kind": "grant_role", "member_id": 2}');
SELECT enspiral.add_effect(:g, :p, '{"kind": "grant_role", "member_id": 2, "role": "admin", "why": "x"}');
SELECT enspiral.add_effect(:g, :p, '{"kind": "grant_role", "member_id": "2", "role": "admin"}');
SELECT enspiral.add_effect(:g, :p, '{"kind": "grant_role", "member_id": 2, "role": "owner"}');
SELECT enspiral.add_effect(:g, :p, '{"kind": "appoint_catalyst", "member_id": 2, "starts_on": "next monday"}');
SELECT enspiral.add_effect(:g, :p, '{"kind": "appoint_catalyst", "member_id": 2, "starts_on": "2030-02-30"}');
SELECT enspiral.add_effect(:g, :p, '{"kind": "create_round", "name": " ", "pool": 1, "opens_at": "2030-01-01", "closes_at": "2030-02-01"}');
SELECT enspiral.add_effect(:g, :p, '{"kind": "change_settings", "settings": [1]}');
-- objects of another group
SELECT enspiral.add_effect(:g, :p, format('{"kind": "end_catalyst_term", "term_id": %s, "ends_on": "2030-02-01"}', :zed_term)::jsonb);
SELECT enspiral.add_effect(:g, :p, format('{"kind": "top_up_round", "round_id": %s, "amount": 5}', :other_round)::jsonb);
SELECT enspiral.add_effect(:g, :p, '{"kind": "open_bucket", "bucket_id": 999}');
SELECT enspiral.add_effect(:g, :p, format('{"kind": "appoint_catalyst", "member_id": %s, "starts_on": "2030-01-01"}', :zed)::jsonb);
-- the trial run meets the rules the call would meet now
SELECT enspiral.add_effect(:g, :p, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :ana)::jsonb);
SELECT enspiral.add_effect(:g, :p, format('{"kind": "revoke_role", "member_id": %s, "role": "admin"}', :ben)::jsonb);
SELECT enspiral.add_effect(:g, :p, format('{"kind": "revoke_role", "member_id": %s, "role": "admin"}', :ana)::jsonb);
SELECT enspiral.add_effect(:g, :p, '{"kind": "change_settings", "settings": {"min_catalysts": -1}}');
SELECT enspiral.add_effect(:g, :p, format('{"kind": "appoint_catalyst", "member_id": %s, "starts_on": "2030-01-01", "months": 7}', :ben)::jsonb);
SELECT enspiral.add_effect(:g, :p, format('{"kind": "top_up_round", "round_id": %s, "amount": 0}', :r)::jsonb);
SELECT enspiral.add_effect(:g, :p, '{"kind": "create_round", "name": "Late", "pool": 1, "opens_at": "2030-02-01", "closes_at": "2030-01-01"}');
-- a method without "passed" decides no effect; elections are separate
SELECT enspiral.propose(:g, :ana, 'Pick one', 'choice', '{a,b}') AS pchoice \gset
SELECT enspiral.add_effect(:g, :pchoice, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :ben)::jsonb);
-- the right to edit the proposal: its author or an admin
BEGIN;
SET LOCAL enspiral.actor = :'cy';
SELECT enspiral.add_effect(:g, :p, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :ben)::jsonb);
ROLLBACK;
SELECT enspiral.add_effect(:g, 999, '{"kind": "open_bucket", "bucket_id": 1}');
SELECT enspiral.add_effect(:g2, :p, '{"kind": "open_bucket", "bucket_id": 1}');
-- opening an open bucket changes nothing: it may be declared (and removed)
SELECT enspiral.add_effect(:g, :p, format('{"kind": "open_bucket", "bucket_id": %s}', :b2)::jsonb);
SELECT enspiral.remove_effect(:g, :p, 1);
-- nothing was declared by the refusals
SELECT count(*) FROM enspiral.proposal_effects;

------------------------------------------------------------------------------
-- A proposal that acts
------------------------------------------------------------------------------
SELECT enspiral.add_effect(:g, :p, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :ben)::jsonb);
SELECT enspiral.add_effect(:g, :p, '{"kind": "change_settings", "settings": {"closing_soon_hours": 48}}');
SELECT enspiral.add_effect(:g, :p, format('{"kind": "appoint_catalyst", "member_id": %s, "starts_on": "2030-01-01", "months": 3}', :cy)::jsonb);
SELECT enspiral.add_effect(:g, :p, '{"kind": "create_round", "name": "Summer", "pool": 2000, "opens_at": "2030-06-01T00:00:00Z", "closes_at": "2030-07-01T00:00:00Z"}');
SELECT enspiral.add_effect(:g, :p, format('{"kind": "top_up_round", "round_id": %s, "amount": 250}', :r)::jsonb);
SELECT enspiral.add_effect(:g, :p, format('{"kind": "open_bucket", "bucket_id": %s}', :b)::jsonb);
SELECT enspiral.add_effect(:g, :p, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :dee)::jsonb) AS extra \gset
SELECT enspiral.remove_effect(:g, :p, :extra);
SELECT enspiral.remove_effect(:g, :p, :extra);
SELECT position, kind, effect FROM enspiral.proposal_effects(:g, :p);
-- the trial runs left nothing behind
SELECT (SELECT count(*) FROM enspiral.role_grants WHERE group_id = :g) AS roles,
       (SELECT count(*) FROM enspiral.catalyst_terms WHERE group_id = :g) AS terms,
       (SELECT count(*) FROM enspiral.rounds WHERE group_id = :g) AS rounds,
       (SELECT state FROM enspiral.buckets WHERE bucket_id = :b) AS bucket,
       (SELECT settings -> 'closing_soon_hours' FROM enspiral.groups WHERE group_id = :g) AS closing_soon;

-- frozen once it opens
SELECT enspiral.open_proposal(:p, now() + interval '1 day');
SELECT enspiral.add_effect(:g, :p, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :cy)::jsonb);
SELECT enspiral.remove_effect(:g, :p, 1);
DELETE FROM enspiral.proposal_effects WHERE proposal_id = :p AND position = 1;
UPDATE enspiral.proposal_effects SET effect = '{"kind": "open_bucket", "bucket_id": 1}' WHERE proposal_id = :p;
TRUNCATE enspiral.proposal_effects;

SELECT enspiral.vote(:p, :ana, '"agree"'), enspiral.vote(:p, :ben, '"agree"');
SELECT max(event_id) AS before FROM enspiral.events \gset
SET enspiral.actor = :'ana';
SELECT enspiral.close_proposal(:p);
RESET enspiral.actor;
SELECT outcome ->> 'passed' AS passed, outcome -> 'effects' AS effects FROM enspiral.outcomes WHERE proposal_id = :p;
SELECT opening, status, position, kind, sqlstate, message, results FROM enspiral.effect_results(:g, :p);
SELECT member_id, role, granted_by FROM enspiral.roles(:g);
SELECT member_id, starts_on, months FROM enspiral.catalyst_terms WHERE group_id = :g;
SELECT name, pool, topped_up FROM enspiral.rounds WHERE group_id = :g ORDER BY round_id;
SELECT state FROM enspiral.buckets WHERE bucket_id = :b;
SELECT settings -> 'closing_soon_hours' FROM enspiral.groups WHERE group_id = :g;
-- events: the proposal acts (no member), the person only closed it
SELECT kind, actor, proposal_id, payload -> 'acting_proposal_id' AS acting_proposal
  FROM enspiral.events WHERE event_id > :before ORDER BY event_id;
-- what the effects did is no part of the count
SELECT opening, matches FROM enspiral.verify_outcome(:p);

------------------------------------------------------------------------------
-- Not passed: nothing applies
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ben, 'Cy admin', 'consent') AS pno \gset
SELECT enspiral.add_effect(:g, :pno, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :cy)::jsonb);
SELECT enspiral.open_proposal(:pno, now() + interval '1 day');
SELECT enspiral.vote(:pno, :ana, '"disagree"');
SELECT enspiral.close_proposal(:pno);
SELECT status, sqlstate FROM enspiral.effect_results(:g, :pno);
SELECT count(*) AS cy_roles FROM enspiral.roles(:g) WHERE member_id = :cy;

------------------------------------------------------------------------------
-- Refused at the close: the outcome is recorded with the error, and nothing
-- of the effects half-applies
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ben, 'Dee catalyst, cy admin', 'consent') AS pref \gset
SELECT enspiral.add_effect(:g, :pref, format('{"kind": "appoint_catalyst", "member_id": %s, "starts_on": "2030-01-01"}', :dee)::jsonb);
SELECT enspiral.add_effect(:g, :pref, format('{"kind": "grant_role", "member_id": %s, "role": "admin"}', :cy)::jsonb);
SELECT enspiral.open_proposal(:pref, now() + interval '1 day');
SELECT enspiral.vote(:pref, :ana, '"agree"');
-- meanwhile an admin grants the role directly: the second effect now breaks a rule
SELECT enspiral.grant_role(:g, :cy, 'admin');
SELECT enspiral.close_proposal(:pref);
SELECT outcome ->> 'passed' AS passed, outcome -> 'effects' AS effects FROM enspiral.outcomes WHERE proposal_id = :pref;
SELECT opening, status, position, kind, sqlstate, message, detail FROM enspiral.effect_results(:g, :pref);
SELECT count(*) AS dee_terms FROM enspiral.catalyst_terms WHERE member_id = :dee;
SELECT kind, payload ->> 'sqlstate' AS sqlstate FROM enspiral.events WHERE kind LIKE 'effects_%' ORDER BY event_id;

-- a reopened proposal that acted does not act twice
SELECT enspiral.reopen_proposal(:p, now() + interval '1 day');
SELECT enspiral.close_proposal(:p);
SELECT opening, status FROM enspiral.effect_results(:g, :p);
SELECT topped_up FROM enspiral.rounds WHERE round_id = :r;

------------------------------------------------------------------------------
-- The deferred coverage rule is checked when the effects apply
------------------------------------------------------------------------------
SELECT enspiral.create_group('Covered', '{"min_catalysts": 1}') AS g3 \gset
SELECT enspiral.add_member(:g3, 'fay') AS fay, enspiral.add_member(:g3, 'gus') AS gus \gset
SELECT enspiral.appoint_catalyst(:g3, :fay, '2030-01-01', 6) AS fay_term \gset
SELECT enspiral.propose(:g3, :gus, 'Fay steps back early', 'consent') AS pcov \gset
SELECT enspiral.add_effect(:g3, :pcov, format('{"kind": "end_catalyst_term", "term_id": %s, "ends_on": "2030-02-01"}', :fay_term)::jsonb);
SELECT enspiral.add_effect(:g3, :pcov, '{"kind": "change_settings", "settings": {"closing_soon_hours": 1}}');
SELECT enspiral.open_proposal(:pcov, now() + interval '1 day');
SELECT enspiral.vote(:pcov, :fay, '"agree"');
SELECT enspiral.close_proposal(:pcov);
SELECT status, position, kind, sqlstate, message FROM enspiral.effect_results(:g3, :pcov);
SELECT ended_on FROM enspiral.catalyst_terms WHERE term_id = :fay_term;
SELECT settings -> 'closing_soon_hours' FROM enspiral.groups WHERE group_id = :g3;

------------------------------------------------------------------------------
-- Actions only a passed proposal may take
------------------------------------------------------------------------------
SELECT enspiral.create_group('bad', '{"may_complete_bucket": "proposal"}');
SELECT enspiral.update_group_settings(:g3, '{"may_appoint_catalyst": "proposal", "may_grant_role": "proposal"}') ->> 'may_appoint_catalyst';
-- no admin, no application, no actor at all can do it directly
SELECT enspiral.appoint_catalyst(:g3, :gus, '2030-01-01');
BEGIN;
SET LOCAL enspiral.actor = :'fay';
SELECT enspiral.grant_role(:g3, :fay, 'admin');
SELECT enspiral.grant_role(:g3, :gus, 'admin');
ROLLBACK;
-- settings locked to proposals: the lock is set directly, then only a proposal changes them
SELECT enspiral.update_group_settings(:g3, '{"may_change_settings": "proposal"}') ->> 'may_change_settings';
SELECT enspiral.update_group_settings(:g3, '{"may_change_settings": "admin"}');
SELECT enspiral.update_group_settings(:g3, '{"closing_soon_hours": 2}');
-- the effect path is allowed: declared (trial run) and applied
SELECT enspiral.propose(:g3, :fay, 'Gus too, unlock', 'consent') AS plock \gset
SELECT enspiral.add_effect(:g3, :plock, format('{"kind": "appoint_catalyst", "member_id": %s, "starts_on": "2030-01-01", "months": 2}', :gus)::jsonb);
SELECT enspiral.add_effect(:g3, :plock, '{"kind": "change_settings", "settings": {"may_change_settings": "admin"}}');
SELECT enspiral.open_proposal(:plock, now() + interval '1 day');
SELECT enspiral.vote(:plock, :fay, '"agree"'), enspiral.vote(:plock, :gus, '"agree"');
SELECT enspiral.close_proposal(:plock);
SELECT status, sqlstate FROM enspiral.effect_results(:g3, :plock);
SELECT settings ->> 'may_change_settings' AS may_change_settings, settings ->> 'may_appoint_catalyst' AS may_appoint
  FROM enspiral.groups WHERE group_id = :g3;
SELECT member_id, months FROM enspiral.catalyst_terms WHERE group_id = :g3 ORDER BY term_id;
-- the acting mark cannot be forged by a setting and never outlives its transaction
SELECT enspiral.acting_proposal(:g3);
SET enspiral.acting_proposal = '1';
SELECT enspiral.appoint_catalyst(:g3, :gus, '2031-01-01');
RESET enspiral.acting_proposal;

------------------------------------------------------------------------------
-- A round run by proposals: allocate, close and match only by a passed one
------------------------------------------------------------------------------
SELECT enspiral.update_group_settings(:g, '{"may_allocate": "proposal", "may_close_round": "proposal", "may_match_round": "proposal"}') ->> 'may_close_round';
SELECT enspiral.allocate(:r);
SELECT enspiral.close_round(:r);
-- a match declared while the round runs is judged at the close only: there
-- a negative pool is refused and the close before it is rolled back
SELECT enspiral.propose(:g, :ana, 'Close and match badly', 'consent') AS pbad \gset
SELECT enspiral.add_effect(:g, :pbad, format('{"kind": "close_round", "round_id": %s}', :r)::jsonb);
SELECT enspiral.add_effect(:g, :pbad, format('{"kind": "match_round", "round_id": %s, "matching_pool": -1, "method": "standard"}', :r)::jsonb);
SELECT enspiral.add_effect(:g, :pbad, format('{"kind": "close_round", "round_id": %s}', :other_round)::jsonb);
SELECT enspiral.add_effect(:g, :pbad, format('{"kind": "allocate", "round_id": %s, "member_ids": []}', :r)::jsonb);
SELECT enspiral.open_proposal(:pbad, now() + interval '1 day');
SELECT enspiral.vote(:pbad, :ana, '"agree"');
SELECT enspiral.close_proposal(:pbad);
SELECT status, position, kind, sqlstate, message FROM enspiral.effect_results(:g, :pbad);
SELECT closed_at IS NOT NULL AS closed FROM enspiral.rounds WHERE round_id = :r;

SELECT enspiral.propose(:g, :ana, 'Share, close and match the spring round', 'consent') AS pround \gset
SELECT enspiral.add_effect(:g, :pround, format('{"kind": "allocate", "round_id": %s, "member_ids": [%s, %s]}', :r, :ana, :ben)::jsonb);
SELECT enspiral.add_effect(:g, :pround, format('{"kind": "close_round", "round_id": %s}', :r)::jsonb);
SELECT enspiral.add_effect(:g, :pround, format('{"kind": "match_round", "round_id": %s, "matching_pool": 100}', :r)::jsonb);
SELECT enspiral.open_proposal(:pround, now() + interval '1 day');
SELECT enspiral.vote(:pround, :ana, '"agree"'), enspiral.vote(:pround, :ben, '"agree"');
SELECT enspiral.close_proposal(:pround);
SELECT status, position, kind, sqlstate, message, results FROM enspiral.effect_results(:g, :pround);
SELECT closed_at IS NOT NULL AS closed, matched_at IS NOT NULL AS matched FROM enspiral.rounds WHERE round_id = :r;
SELECT kind, payload -> 'acting_proposal_id' AS acting_proposal FROM enspiral.events
 WHERE kind IN ('round_allocated', 'round_closed', 'round_matched') ORDER BY event_id;
