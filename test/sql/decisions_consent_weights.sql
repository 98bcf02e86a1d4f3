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
