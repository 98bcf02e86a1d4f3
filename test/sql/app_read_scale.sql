-- The read API at scale (doc/application.md, Performance): the shortcuts
-- that keep proposals(), voters() and members() close to a plain SELECT at
-- 10,000 members give the same answers as the rules they stand for.
--  * electorate_size() counts without listing: it equals the number of
--    electorate_members() rows, of voters() rows and proposals().electorate
--    for every proposal (joins and departures around the opening, a rejoin,
--    additions, removals and their end, voters = invited);
--  * voters() before the close marks the members with a vote in force,
--    exactly those whose ballot() is not NULL;
--  * proposals() of a closed proposal: the outcome nothing recorded yet is
--    the one outcome() then records, and once recorded its counts are the
--    listing's voted and electorate;
--  * members() answers the same from its cached plans.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

SELECT enspiral.create_group('scale') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cy') AS cy, enspiral.add_member(:g, 'dee') AS dee,
       enspiral.add_member(:g, 'eve') AS eve, enspiral.add_member(:g, 'fay') AS fay \gset
-- fay leaves before anything opens, and comes back later
SELECT enspiral.remove_member(:g, :fay);

-- named: open with ana..eve
SELECT enspiral.propose(:g, :ana, 'Named', 'choice', '{a,b}') AS named \gset
SELECT enspiral.open_proposal(:named, now() + interval '1 day');
-- invited: only members added vote
SELECT enspiral.propose(:g, :ana, 'Invited', 'choice', '{a,b}', '{"voters": "invited"}') AS invited \gset
SELECT enspiral.open_proposal(:invited, now() + interval '1 day');
-- anonymous
SELECT enspiral.propose(:g, :ana, 'Secret', 'choice', '{a,b}', '{"anonymous": true}') AS secret \gset
SELECT enspiral.open_proposal(:secret, now() + interval '1 day');
-- the deadline of this one passes with nothing recording it
SELECT enspiral.propose(:g, :ana, 'Lapsed', 'choice', '{a,b}') AS lapsed \gset
SELECT enspiral.open_proposal(:lapsed, now() + interval '1 day');
-- this one is closed (its outcome recorded)
SELECT enspiral.propose(:g, :ana, 'Decided', 'choice', '{a,b}') AS decided \gset
SELECT enspiral.open_proposal(:decided, now() + interval '1 day');
-- a draft: its electorate is the current members
SELECT enspiral.propose(:g, :ana, 'Draft', 'choice', '{a,b}') AS draft \gset

-- votes: ben changes his, dee votes and leaves, cy retracts
SELECT count(enspiral.vote(p, m, '["a"]'))
  FROM unnest(ARRAY[:named, :lapsed, :decided]::bigint[]) p,
       unnest(ARRAY[:ana, :ben, :cy, :dee]::bigint[]) m;
SELECT count(enspiral.vote(p, :ben, '["b"]', 'changed my mind'))
  FROM unnest(ARRAY[:named, :lapsed, :decided]::bigint[]) p;
SELECT enspiral.retract_vote(:g, :named, :cy);
SELECT count(*) AS anonymous
  FROM unnest(ARRAY[:ana, :ben]::bigint[]) m, LATERAL (SELECT enspiral.vote(:secret, m, '["b"]')) v;
SELECT enspiral.remove_member(:g, :dee);
-- a new member, fay back: not in the frozen electorates unless added
SELECT enspiral.add_member(:g, 'gil') AS gil \gset
SELECT enspiral.add_member(:g, 'fay') = :fay AS fay_rejoined;
SELECT enspiral.add_voter(:g, :named, :gil);
SELECT enspiral.vote(:named, :gil, '["b"]') IS NOT NULL AS gil_voted;
SELECT enspiral.add_voter(:g, :invited, :ben), enspiral.add_voter(:g, :invited, :fay),
       enspiral.add_voter(:g, :invited, :gil);
SELECT enspiral.vote(:invited, :fay, '["a"]') IS NOT NULL AS fay_voted;
-- removals: eve removed from named, gil removed from invited then added again
SELECT enspiral.remove_voter(:g, :named, :eve);
SELECT enspiral.remove_voter(:g, :invited, :gil);
SELECT enspiral.add_voter(:g, :invited, :gil);
SELECT enspiral.remove_voter(:g, :invited, :ben);
SELECT enspiral.close_proposal(:decided);
-- the deadline of lapsed passes (moved by the owner with the guards off)
SET session_replication_role = replica;
UPDATE enspiral.proposals SET opens_at = opens_at - interval '2 days', closes_at = now() - interval '1 hour'
 WHERE proposal_id = :lapsed;
UPDATE enspiral.votes SET cast_at = cast_at - interval '2 days',
                          superseded_at = superseded_at - interval '2 days'
 WHERE proposal_id = :lapsed;
UPDATE enspiral.memberships SET joined_at = joined_at - interval '3 days'
 WHERE group_id = :g AND period = 1 AND member_id <> :gil;
RESET session_replication_role;

-- every electorate, four ways
SELECT x.title, x.state, x.electorate,
       enspiral.electorate_size(p, e.ref, e.t) AS size,
       (SELECT count(*) FROM enspiral.electorate_members(:g, x.proposal_id, e.ref, e.t)) AS members,
       (SELECT count(*) FROM enspiral.voters(:g, x.proposal_id)) AS voters
  FROM enspiral.proposals(:g) x
  JOIN enspiral.proposals p ON p.group_id = :g AND p.proposal_id = x.proposal_id
 CROSS JOIN LATERAL (
     SELECT t, least(coalesce(p.opens_at, t), t) AS ref
       FROM (SELECT CASE WHEN x.state = 'closed' THEN least(p.closes_at, statement_timestamp())
                         ELSE statement_timestamp() END AS t) s) e
 ORDER BY x.proposal_id;
-- who may vote on named and invited
SELECT * FROM enspiral.voters(:g, :named);
SELECT * FROM enspiral.voters(:g, :invited);
-- voters() marks exactly the members with a vote in force
SELECT count(*) AS disagreements
  FROM unnest(ARRAY[:named, :invited, :secret]::bigint[]) p,
       LATERAL enspiral.voters(:g, p) v
 WHERE v.voted IS DISTINCT FROM (enspiral.ballot(:g, p, v.member_id) IS NOT NULL);

-- closed proposals: nothing recorded lapsed yet; the listing computes what
-- outcome() records, and counts as the outcome does
SELECT count(*) AS recorded_yet FROM enspiral.outcomes WHERE proposal_id = :lapsed;
SELECT outcome AS listed FROM enspiral.proposals(:g, 'closed') WHERE proposal_id = :lapsed \gset
SELECT :'listed'::jsonb = enspiral.compute_outcome(:lapsed) AS listed_is_computed;
SELECT enspiral.outcome(:lapsed) - '{chain_head,chain_position}'::text[] = :'listed'::jsonb AS recorded_is_listed;
SELECT count(*) AS recorded_now FROM enspiral.outcomes WHERE proposal_id = :lapsed;
SELECT x.title, x.voted, x.electorate,
       x.voted = (x.outcome ->> 'voted')::bigint AND x.electorate = (x.outcome ->> 'electorate')::bigint AS as_recorded,
       x.outcome = enspiral.outcome(x.proposal_id) AS outcome_as_recorded
  FROM enspiral.proposals(:g, 'closed') x ORDER BY x.proposal_id;

-- members(): the same rows from the first call to a cached generic plan
SELECT count(DISTINCT (SELECT array_agg(m ORDER BY m.member_id) FROM enspiral.members(:g) m)) AS answers_now,
       count(DISTINCT (SELECT array_agg(m ORDER BY m.member_id)
                         FROM enspiral.members(:g, now() - interval '1 minute') m)) AS answers_before
  FROM generate_series(1, 8);
SELECT member_id, member_key, left_at IS NULL AS current FROM enspiral.members(:g) ORDER BY member_id;
SELECT array_agg(member_id ORDER BY member_id) AS members_at_the_opening
  FROM enspiral.members(:g, (SELECT opens_at FROM enspiral.proposals(:g) WHERE proposal_id = :named));
