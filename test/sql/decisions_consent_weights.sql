-- The weighted consent tally counts its ballots in the pass that reads the
-- votes into the delegation graph (enspiral.consent_tally(), src/decisions_delegation.c).
-- It must give what its definition gives: the ballots of tally_ballots()
-- summed by position with consent_counts(), and the sums of tally_weights()
-- (doc/decision-rules.md, "Weights and delegation").  Chains, a cycle, a
-- delegator who votes, a departed delegate, a removed voter, an invited
-- electorate, weights only and delegation only.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

SELECT enspiral.create_group('Consent weights') AS g \gset
SELECT count(enspiral.add_member(:g, 'm' || i)) AS members FROM generate_series(1, 14) i;

-- 1 -> 2 -> 3 (chain), 4 -> 5 -> 13 (13 leaves), 6 <-> 7 (cycle),
-- 8 -> 9 (8 votes itself), 10 -> 11 (11 is removed as a voter), 12 -> 3
SELECT enspiral.delegate(:g, 1, 2), enspiral.delegate(:g, 2, 3), enspiral.delegate(:g, 4, 5),
       enspiral.delegate(:g, 5, 13), enspiral.delegate(:g, 6, 7), enspiral.delegate(:g, 7, 6),
       enspiral.delegate(:g, 8, 9), enspiral.delegate(:g, 10, 11), enspiral.delegate(:g, 12, 3);
SELECT enspiral.set_vote_weight(:g, m, w)
  FROM (VALUES (1, 4), (2, 3), (4, 2), (5, 6), (8, 5), (10, 7), (12, 0), (14, 9)) x(m, w);

CREATE FUNCTION pg_temp.open(settings jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE p bigint;
BEGIN
    p := enspiral.propose(1, 1, 'consent ' || settings::text, 'consent', NULL, settings);
    PERFORM enspiral.open_proposal(p, now() + interval '1 day');
    RETURN p;
END $$;

-- the tally by its definition: tally_ballots() and tally_weights()
CREATE FUNCTION pg_temp.by_definition(proposal_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    p enspiral.proposals := enspiral.proposal_row(proposal_id);
    t timestamptz := statement_timestamp();
    ref timestamptz := least(p.opens_at, t);
    w jsonb := enspiral.tally_weights(p.group_id, p.proposal_id, ref, t,
                                      coalesce((p.settings ->> 'weighted')::boolean, false),
                                      coalesce((p.settings ->> 'delegation')::boolean, false));
    r jsonb;
BEGIN
    SELECT jsonb_build_object(
               'voted', (w ->> 'voted')::bigint,
               'totals', jsonb_build_object('agree', n[1], 'abstain', n[2], 'disagree', n[3], 'block', n[4]),
               'ballots', jsonb_build_object('agree', c[1], 'abstain', c[2], 'disagree', c[3], 'block', c[4]),
               'weights', w -> 'weights')
      INTO r
      FROM (SELECT enspiral.consent_counts(b.ballot, b.weight) AS n, enspiral.consent_counts(b.ballot) AS c
              FROM enspiral.tally_ballots(p, t, ref, true) b) x;
    RETURN r;
END $$;

SELECT pg_temp.open('{}') AS both \gset
SELECT pg_temp.open('{"delegation": false}') AS weights_only \gset
SELECT pg_temp.open('{"weighted": false}') AS delegation_only \gset
SELECT pg_temp.open('{"voters": "invited"}') AS invited \gset
SELECT enspiral.add_voter(:g, :invited, m) FROM generate_series(1, 9) m;

-- 3 agrees, 8 (a delegator) objects, 9 abstains, 11 blocks, 13 agrees, 14 agrees
SELECT count(enspiral.vote(p, m, b::jsonb, 'a reason')) AS votes
  FROM unnest(ARRAY[:both, :weights_only, :delegation_only, :invited]::bigint[]) p,
       (VALUES (3, '"agree"'), (8, '"disagree"'), (9, '"abstain"'), (11, '"block"'),
               (13, '"agree"'), (14, '"agree"')) v(m, b)
 WHERE p <> :invited OR m <= 9;
SELECT enspiral.remove_voter(:g, :both, 11);
SELECT enspiral.remove_member(:g, 13);

SELECT x.name, enspiral.tally(x.p) AS tally, enspiral.tally(x.p) = pg_temp.by_definition(x.p) AS as_defined
  FROM (VALUES ('both', :both), ('weights only', :weights_only),
               ('delegation only', :delegation_only), ('invited', :invited)) x(name, p);

-- the same resolution as carried_weights(): 3 carries 1 + 7 (1, 2 and 12;
-- 5 and 13 lost with 13's departure, 10's with 11's removal, 6 and 7 in a
-- cycle)
SELECT m.member_id, m.direct, m.delegated FROM enspiral.carried_weights(:g, :both) m ORDER BY 1;

-- The tally reads the delegations, memberships and weights in effect at the
-- opening by a direct scan of each table when it is small or holds mostly
-- the group's rows, by SQL otherwise, and builds the graph in member order
-- when the ids are dense, in a hash when they are sparse
-- (src/decisions_delegation.c, PeriodTable).  Every form must give what
-- the rules give, written here in SQL without the graph: the electorate at
-- the opening, the counted votes, each delegator's chain followed to the
-- first voter (a cycle or a member outside the electorate loses it), the
-- delegator's weight at the opening.
CREATE FUNCTION pg_temp.by_rules(proposal_id bigint) RETURNS jsonb
LANGUAGE sql AS $$
WITH RECURSIVE p AS (
    SELECT x.group_id, x.proposal_id, least(x.opens_at, statement_timestamp()) AS ref,
           statement_timestamp() AS t, coalesce((x.settings ->> 'weighted')::boolean, false) AS weighted,
           coalesce((x.settings ->> 'delegation')::boolean, false) AS delegation,
           x.settings ->> 'voters' = 'invited' AS invited
      FROM enspiral.proposals x WHERE x.proposal_id = $1),
gone AS (
    SELECT r.member_id FROM p, enspiral.electorate_removals r
     WHERE r.group_id = p.group_id AND r.proposal_id = p.proposal_id
       AND r.removed_at <= p.t AND (r.restored_at IS NULL OR r.restored_at > p.t)
    UNION
    SELECT d FROM p, enspiral.departed_members(p.group_id, p.t) d),
electorate AS (
    (SELECT m.member_id FROM p, enspiral.memberships m
      WHERE NOT p.invited AND m.group_id = p.group_id
        AND m.joined_at <= p.ref AND (m.left_at IS NULL OR m.left_at > p.ref)
     UNION
     SELECT a.member_id FROM p, enspiral.electorate_additions a
      WHERE a.group_id = p.group_id AND a.proposal_id = p.proposal_id)
    EXCEPT SELECT member_id FROM gone),
weight AS (
    SELECT m.member_id, CASE WHEN p.weighted THEN coalesce(w.weight, 1) ELSE 1 END AS w
      FROM p CROSS JOIN enspiral.members m
      LEFT JOIN enspiral.vote_weights w
        ON w.group_id = p.group_id AND w.member_id = m.member_id
       AND w.valid_from <= p.ref AND (w.valid_to IS NULL OR w.valid_to > p.ref)
     WHERE m.group_id = p.group_id),
voter AS (
    SELECT v.member_id, v.ballot #>> '{}' AS position FROM p, enspiral.votes v
     WHERE v.group_id = p.group_id AND v.proposal_id = p.proposal_id
       AND (v.superseded_at IS NULL OR v.superseded_at > p.t) AND v.cast_at <= p.t
       AND v.member_id NOT IN (SELECT member_id FROM gone)),
edge AS (
    SELECT d.from_member, d.to_member FROM p, enspiral.delegations d
     WHERE p.delegation AND d.group_id = p.group_id
       AND d.valid_from <= p.ref AND (d.valid_to IS NULL OR d.valid_to > p.ref)
       AND d.from_member IN (SELECT member_id FROM electorate)
       AND d.from_member NOT IN (SELECT member_id FROM voter)),
chain (origin, here, seen) AS (
    SELECT e.from_member, e.to_member, ARRAY[e.from_member] FROM edge e
    UNION ALL
    SELECT c.origin, e.to_member, c.seen || c.here FROM chain c JOIN edge e ON e.from_member = c.here
     WHERE NOT c.here = ANY (c.seen)),
carried AS (
    SELECT c.here AS member_id, sum(w.w)::bigint AS delegated
      FROM chain c JOIN weight w ON w.member_id = c.origin
     WHERE c.here IN (SELECT member_id FROM voter) AND NOT c.here = ANY (c.seen)
     GROUP BY c.here HAVING sum(w.w) > 0),
counted AS (
    SELECT v.position, w.w AS direct, coalesce(c.delegated, 0) AS delegated
      FROM voter v JOIN weight w USING (member_id) LEFT JOIN carried c USING (member_id))
SELECT jsonb_build_object(
           'voted', (SELECT count(*) FROM counted),
           'totals', (SELECT jsonb_build_object(
                                 'agree', coalesce(sum(direct + delegated) FILTER (WHERE position = 'agree'), 0),
                                 'abstain', coalesce(sum(direct + delegated) FILTER (WHERE position = 'abstain'), 0),
                                 'disagree', coalesce(sum(direct + delegated) FILTER (WHERE position = 'disagree'), 0),
                                 'block', coalesce(sum(direct + delegated) FILTER (WHERE position = 'block'), 0))
                        FROM counted),
           'weights', (SELECT jsonb_build_object('cast', coalesce(sum(direct + delegated), 0),
                                                 'direct', coalesce(sum(direct), 0),
                                                 'delegated', coalesce(sum(delegated), 0),
                                                 'carriers', count(*) FILTER (WHERE delegated > 0))
                         FROM counted),
           'carried', (SELECT coalesce(jsonb_agg(jsonb_build_array(member_id, delegated) ORDER BY member_id), '[]')
                         FROM carried))
$$;

-- what the tally gives, in the same shape
CREATE FUNCTION pg_temp.by_tally(proposal_id bigint) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT (enspiral.tally($1) - 'ballots')
           || jsonb_build_object('carried', (SELECT coalesce(jsonb_agg(jsonb_build_array(c.member_id, c.delegated)
                                                                       ORDER BY c.member_id), '[]')
                                               FROM enspiral.carried_weights(p.group_id, p.proposal_id) c))
      FROM enspiral.proposals p WHERE p.proposal_id = $1
$$;

CREATE TEMP TABLE checked (name text, p bigint, tally jsonb);
INSERT INTO checked
SELECT x.name, x.p, pg_temp.by_tally(x.p)
  FROM (VALUES ('both', :both), ('weights only', :weights_only),
               ('delegation only', :delegation_only), ('invited', :invited)) x(name, p);

-- small tables: read directly, dense ids: the graph in member order
SELECT name, tally = pg_temp.by_rules(p) AS as_the_rules, tally -> 'carried' AS carried FROM checked ORDER BY p;

-- changes after the opening change nothing: a weight, a delegation ended,
-- a new delegation, a member who leaves and comes back later (periods
-- whose rows start after the opening)
SELECT enspiral.set_vote_weight(:g, 1, 40), enspiral.set_vote_weight(:g, 12, 9),
       enspiral.undelegate(:g, 12), enspiral.delegate(:g, 9, 3), enspiral.delegate(:g, 14, 3);
SELECT name, pg_temp.by_tally(p) = tally AS unchanged, pg_temp.by_rules(p) = tally AS as_the_rules
  FROM checked ORDER BY p;

-- sparse ids: members of another group between each two of this group's
SELECT enspiral.create_group('Sparse') AS s \gset
SELECT enspiral.create_group('Filler') AS f \gset
CREATE TEMP TABLE sparse (k int, member_id bigint);
SELECT set_config('my.s', :'s', false) IS NOT NULL AND set_config('my.f', :'f', false) IS NOT NULL AS set;
DO $$
BEGIN
    FOR k IN 1..8 LOOP
        INSERT INTO sparse SELECT k, enspiral.add_member(current_setting('my.s')::bigint, 's' || k);
        PERFORM enspiral.add_member(current_setting('my.f')::bigint, 'f' || k || '-' || i)
          FROM generate_series(1, 40) i;
    END LOOP;
END $$;
SELECT max(member_id) - min(member_id) > 8 * 2 * 5 AS too_sparse_for_the_array FROM sparse;
-- s1 -> s2 -> s3 (votes), s4 <-> s5 (cycle), s6 -> s7 (votes), s8 votes
SELECT count(enspiral.delegate(:s, a.member_id, b.member_id)) AS delegations
  FROM (VALUES (1, 2), (2, 3), (4, 5), (5, 4), (6, 7)) x(a, b)
  JOIN sparse a ON a.k = x.a JOIN sparse b ON b.k = x.b;
SELECT count(enspiral.set_vote_weight(:s, member_id, k)) AS weights FROM sparse;
SELECT enspiral.propose(:s, (SELECT member_id FROM sparse WHERE k = 1), 'sparse', 'consent', NULL, '{}') AS sp \gset
SELECT enspiral.open_proposal(:sp, now() + interval '1 day');
SELECT count(enspiral.vote(:sp, member_id, b::jsonb, 'a reason')) AS votes
  FROM sparse JOIN (VALUES (3, '"agree"'), (7, '"disagree"'), (8, '"abstain"')) v(k, b) USING (k);
INSERT INTO checked VALUES ('sparse', :sp, pg_temp.by_tally(:sp));
SELECT name, tally = pg_temp.by_rules(p) AS as_the_rules, tally -> 'weights' AS weights
  FROM checked WHERE name = 'sparse';

-- large tables of mostly another group's rows: read through SQL, with the
-- same results
SET session_replication_role = replica;
SELECT enspiral.create_group('Large') AS l \gset
INSERT INTO enspiral.members (group_id, member_key, created_at)
SELECT :l, 'l' || i, now() - interval '1 hour' FROM generate_series(1, 25000) i;
INSERT INTO enspiral.memberships (group_id, member_id, period, joined_at)
SELECT :l, member_id, 1, now() - interval '1 hour' FROM enspiral.members WHERE group_id = :l;
INSERT INTO enspiral.vote_weights (group_id, member_id, valid_from, weight)
SELECT :l, member_id, now() - interval '1 hour', 1 + member_id % 7 FROM enspiral.members WHERE group_id = :l;
INSERT INTO enspiral.delegations (group_id, from_member, valid_from, to_member)
SELECT :l, member_id, now() - interval '1 hour', member_id - 1 FROM enspiral.members
 WHERE group_id = :l AND member_key <> 'l1';
RESET session_replication_role;
SELECT t, pg_relation_size(('enspiral.' || t)::regclass) > 128 * 8192 AS beyond_the_direct_scan
  FROM unnest(ARRAY['delegations', 'memberships', 'vote_weights']) t;
SELECT name, pg_temp.by_tally(p) = tally AS unchanged, pg_temp.by_rules(p) = tally AS as_the_rules
  FROM checked ORDER BY p;
