-- Deciding on Citus: group-first close_proposal() records the outcome on the
-- group's node (tally, quorum, the chain stamp), outcome(), tally() and
-- verify_outcome() read it there; the same results as on a single server.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT count(*) > 0 AS distributed FROM enspiral.distribute();
RESET client_min_messages;
\set VERBOSITY terse

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.create_group('Loomio') AS h \gset
SELECT enspiral.add_member(:g, 'aroha') AS aroha \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'chloe') AS chloe \gset

-- consent: two agree, one abstains after changing its mind
SELECT enspiral.propose(:g, :aroha, 'Adopt the policy', 'consent') AS p \gset
SELECT enspiral.open_proposal(:g, :p, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :p, :aroha, '"agree"', NULL) AS v1 \gset
SELECT enspiral.vote(:g, :p, :ben, '"agree"', NULL) AS v2 \gset
SELECT enspiral.vote(:g, :p, :chloe, '"disagree"', 'not yet') AS v3 \gset
SELECT enspiral.vote(:g, :p, :chloe, '"abstain"', NULL) AS v4 \gset
SELECT enspiral.tally(:g, :p, :aroha);
SELECT enspiral.close_proposal(:h, :p);                          -- refused: not in h
SELECT enspiral.close_proposal(:g, :p);
SELECT enspiral.close_proposal(:g, :p);                          -- a no-op: closed already
SELECT enspiral.proposal_state(:p);
SELECT enspiral.outcome(:g, :p, :aroha) - 'chain_head' - 'chain_position' AS outcome;
SELECT (enspiral.outcome(:g, :p, :aroha) ->> 'chain_position')::bigint > 0 AS stamped;
SELECT enspiral.vote(:g, :p, :ben, '"block"', 'late');            -- refused: closed
SELECT opening, matches FROM enspiral.verify_outcome(:p);

-- a choice proposal
SELECT enspiral.propose(:g, :ben, 'Pick a venue', 'choice', ARRAY['hall', 'park']) AS c \gset
SELECT enspiral.open_proposal(:g, :c, now() + interval '3 days', NULL);
SELECT enspiral.vote(:g, :c, :ben, '["park"]', NULL) AS v5 \gset
SELECT enspiral.close_proposal(:g, :c);
SELECT enspiral.outcome(:g, :c, :ben) ->> 'state' AS state,
       enspiral.outcome(:g, :c, :ben) -> 'totals' AS totals;
SELECT count(*) AS outcome_problems FROM enspiral.verify_outcome(:c) WHERE NOT matches;

-- the recorded outcomes are chained
SELECT enspiral.link_chain(:g) AS linked \gset
SELECT * FROM enspiral.verify_chain(:g);

-- a passed proposal's effects refused by the commit-time coverage rule are
-- recorded as refused at the close, on the group's node as on a single
-- server (outcomes_effects); the rule is set immediate on the shard's
-- constraint too, catalyst_terms_coverage_<shard id>
SELECT enspiral.create_group('Covered', '{"min_catalysts": 1}') AS g3 \gset
SELECT enspiral.add_member(:g3, 'fay') AS fay, enspiral.add_member(:g3, 'gus') AS gus \gset
SELECT enspiral.appoint_catalyst(:g3, :fay, '2030-01-01', 6) AS fay_term \gset
SELECT enspiral.propose(:g3, :gus, 'Fay steps back early', 'consent') AS pcov \gset
SELECT enspiral.add_effect(:g3, :pcov, format('{"kind": "end_catalyst_term", "term_id": %s, "ends_on": "2030-02-01"}', :fay_term)::jsonb);
SELECT enspiral.add_effect(:g3, :pcov, '{"kind": "change_settings", "settings": {"closing_soon_hours": 1}}');
SELECT enspiral.open_proposal(:g3, :pcov, now() + interval '1 day', NULL);
SELECT enspiral.vote(:g3, :pcov, :fay, '"agree"', NULL) IS NOT NULL AS voted;
SELECT enspiral.close_proposal(:g3, :pcov);
SELECT status, position, kind, sqlstate, message FROM enspiral.effect_results(:g3, :pcov);
SELECT state FROM enspiral.proposals WHERE group_id = :g3 AND proposal_id = :pcov;
SELECT settings -> 'closing_soon_hours' AS closing_soon_hours FROM enspiral.groups WHERE group_id = :g3;
