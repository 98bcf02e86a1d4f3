-- Restores: the owner's top-level COPY ... FROM loads the vote tables and
-- proposals as they were dumped (what pg_restore does); nothing else may
-- write them directly, and verify_outcome() checks what was loaded.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

SELECT enspiral.create_group('Restore') AS g \gset
SELECT array_agg(enspiral.add_member(:g, 'r' || i) ORDER BY i) AS m FROM generate_series(1, 3) i \gset
SELECT enspiral.propose(:g, 1, 'Named', 'consent') AS p1 \gset
SELECT enspiral.propose(:g, 1, 'Secret', 'choice', '{a,b}', '{"anonymous": true}') AS p2 \gset
SELECT enspiral.open_proposal(:p1, now() + interval '1 day'),
       enspiral.open_proposal(:p2, now() + interval '1 day');
SELECT enspiral.vote(:p1, 1, '"agree"') IS NOT NULL AS v1,
       enspiral.vote(:p1, 2, '"disagree"') IS NOT NULL AS v2,
       enspiral.vote(:p2, 1, '["a"]') IS NULL AS anon;
SELECT enspiral.close_proposal(:p1);

-- dump the decision tables to files the way pg_dump does (COPY ... TO), in a
-- directory of this run's own, so concurrent runs cannot read each other's
\set restore_dir `mktemp -d`
\cd :restore_dir
\setenv ENSPIRAL_RESTORE_DIR :restore_dir
\copy (SELECT * FROM enspiral.proposals ORDER BY proposal_id) TO 'enspiral_restore_proposals.copy'
\copy (SELECT * FROM enspiral.votes ORDER BY vote_id) TO 'enspiral_restore_votes.copy'
\copy enspiral.participations TO 'enspiral_restore_participations.copy'
\copy enspiral.anonymous_ballots TO 'enspiral_restore_anonymous_ballots.copy'
\copy enspiral.outcomes TO 'enspiral_restore_outcomes.copy'
\copy enspiral.groups TO 'enspiral_restore_groups.copy'
\copy enspiral.members TO 'enspiral_restore_members.copy'
\copy enspiral.memberships TO 'enspiral_restore_memberships.copy'
SELECT outcome AS recorded FROM enspiral.outcomes WHERE proposal_id = :p1 \gset

-- a fresh copy of the extension, loaded in pg_restore's order (by name,
-- except that a table comes after the tables its foreign keys reference)
SET client_min_messages = warning;
DROP EXTENSION enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\copy enspiral.groups FROM 'enspiral_restore_groups.copy'
\copy enspiral.members FROM 'enspiral_restore_members.copy'
\copy enspiral.memberships FROM 'enspiral_restore_memberships.copy'
-- plain INSERTs are still refused, also for the owner
INSERT INTO enspiral.votes (group_id, proposal_id, member_id, ballot, cast_at)
VALUES (:g, :p1, 3, '"agree"', now());
INSERT INTO enspiral.anonymous_ballots (group_id, proposal_id, ballot) VALUES (:g, :p2, '["b"]');
INSERT INTO enspiral.proposals (group_id, author_id, title, method, settings, state, opens_at, closes_at)
VALUES (:g, 1, 'x', 'consent', enspiral.normalize_proposal_settings('consent', NULL, '{}'),
        'closed', now() - interval '1 day', now());
-- COPY FROM by the owner is a restore
\copy enspiral.anonymous_ballots FROM 'enspiral_restore_anonymous_ballots.copy'
\copy enspiral.participations FROM 'enspiral_restore_participations.copy'
\copy enspiral.proposals FROM 'enspiral_restore_proposals.copy'
\copy enspiral.outcomes FROM 'enspiral_restore_outcomes.copy'
\copy enspiral.votes FROM 'enspiral_restore_votes.copy'
SELECT proposal_id = :p1 AS named, enspiral.proposal_state(proposal_id) AS state
  FROM enspiral.proposals ORDER BY proposal_id;
SELECT matches, recorded = :'recorded'::jsonb AS same_outcome FROM enspiral.verify_outcome(:p1);
SELECT enspiral.outcome(:p1) = :'recorded'::jsonb AS outcome_kept;
SELECT count(*) AS anonymous_ballots FROM enspiral.anonymous_ballots;
-- the rules hold on the restored copy: no second anonymous ballot, no vote after close
SELECT enspiral.vote(:p2, 1, '["b"]');
SELECT enspiral.vote(:p1, 3, '"agree"');
SELECT enspiral.vote(:p2, 2, '["b"]') IS NULL AS anon_after_restore;

-- a COPY FROM by a role that is not the owner is no restore, even with
-- INSERT privilege
CREATE ROLE enspiral_restore_intruder;
GRANT USAGE ON SCHEMA enspiral TO enspiral_restore_intruder;
GRANT INSERT ON enspiral.votes, enspiral.proposals TO enspiral_restore_intruder;
SET ROLE enspiral_restore_intruder;
COPY enspiral.votes (group_id, proposal_id, member_id, ballot, cast_at) FROM stdin;
1	1	3	"agree"	2026-01-01 00:00:00+00
\.
RESET ROLE;

-- a restored row that was tampered with is found by verify_outcome
SET client_min_messages = warning;
DROP EXTENSION enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\copy enspiral.groups FROM 'enspiral_restore_groups.copy'
\copy enspiral.members FROM 'enspiral_restore_members.copy'
\copy enspiral.memberships FROM 'enspiral_restore_memberships.copy'
\copy enspiral.proposals FROM 'enspiral_restore_proposals.copy'
\copy enspiral.votes FROM 'enspiral_restore_votes.copy'
COPY enspiral.outcomes (group_id, proposal_id, opening, outcome) FROM stdin;
1	1	0	{"passed": true}
\.
SELECT matches FROM enspiral.verify_outcome(:p1);
-- a restored proposal must still have dates that fit its state
COPY enspiral.proposals (group_id, proposal_id, author_id, title, method, settings, state) FROM stdin;
1	99	1	broken	consent	{"quorum_pct": 0, "anonymous": false, "max_blocks": 0, "hide_results": false, "threshold_pct": 50, "block_needs_reason": true, "threshold_inclusive": false}	open
\.

DROP OWNED BY enspiral_restore_intruder;
DROP ROLE enspiral_restore_intruder;
\cd /
\! rm -rf "$ENSPIRAL_RESTORE_DIR"
