-- The decision method budget (Decidim's budget vote as a proposal): settings,
-- ballots checked in C, the outcome (greedy by votes within the budget),
-- verify_outcome, and budget sets under Decidim's workflows (all, one,
-- random).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cai') AS cai, enspiral.add_member(:g, 'dee') AS dee,
       enspiral.add_member(:g, 'eve') AS eve \gset
\set projects '''{Library, Park, Bikes, Mural, Wifi}''::text[]'

-- settings: budget and costs (one per option) are required; Decidim's rule keys get defaults
SELECT enspiral.normalize_proposal_settings('budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100]}');
SELECT enspiral.normalize_proposal_settings('budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100], "voting_rule": "minimum_projects",
           "vote_minimum_budget_projects_number": 2, "anonymous": true}');
SELECT enspiral.normalize_proposal_settings('budget', :projects, '{"costs": [400, 300, 250, 200, 100]}');
SELECT enspiral.normalize_proposal_settings('budget', :projects, '{"budget": 1000}');
SELECT enspiral.normalize_proposal_settings('budget', :projects, '{"budget": 1000, "costs": [400, 300]}');
SELECT enspiral.normalize_proposal_settings('budget', :projects, '{"budget": 1000, "costs": [400, 300, 250, 200, 0]}');
SELECT enspiral.normalize_proposal_settings('budget', :projects, '{"budget": 1000, "costs": [400, 300, 250, 200, 1.5]}');
SELECT enspiral.normalize_proposal_settings('budget', :projects, '{"budget": 0, "costs": [400, 300, 250, 200, 100]}');
SELECT enspiral.normalize_proposal_settings('budget', :projects, '{"budget": "1000", "costs": [400, 300, 250, 200, 100]}');
SELECT enspiral.normalize_proposal_settings('budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100], "voting_rule": "knapsack"}');
SELECT enspiral.normalize_proposal_settings('budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100], "vote_threshold_percent": 101}');
SELECT enspiral.normalize_proposal_settings('budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100], "vote_minimum_budget_projects_number": 6}');
SELECT enspiral.normalize_proposal_settings('budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100], "vote_selected_projects_minimum": 3, "vote_selected_projects_maximum": 2}');
SELECT enspiral.normalize_proposal_settings('budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100], "max_choices": 2}');
SELECT enspiral.normalize_proposal_settings('choice', :projects, '{"budget": 1000}');
SELECT enspiral.normalize_proposal_settings('budget', NULL, '{"budget": 1000, "costs": []}');

-- the worked example of doc/budgeting.md: a budget of 1000, threshold 70% (the default)
SELECT enspiral.propose(:g, :ana, 'Neighbourhood budget', 'budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100]}') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day');
SELECT enspiral.vote(:p, :ana, '["Park", "Library"]') > 0 AS ana_voted;
SELECT enspiral.vote(:p, :ben, '["Park", "Bikes", "Mural"]') > 0 AS ben_voted;
SELECT enspiral.vote(:p, :cai, '["Wifi", "Mural", "Bikes", "Park"]') > 0 AS cai_voted;
SELECT enspiral.vote(:p, :dee, '["Library", "Park"]') > 0 AS dee_voted;
-- refusals: each names the broken rule
SELECT enspiral.vote(:p, :eve, '["Bikes", "Wifi"]');
SELECT enspiral.vote(:p, :eve, '["Library", "Park", "Bikes", "Wifi"]');
SELECT enspiral.vote(:p, :eve, '["Bikes", "Bikes", "Library"]');
SELECT enspiral.vote(:p, :eve, '["Bikes", "Pool"]');
SELECT enspiral.vote(:p, :eve, '{"Bikes": 1}');
SELECT enspiral.check_ballot('budget', :projects, '{"budget": 1000, "costs": [400, 300, 250, 200, 100]}',
                             '["Wifi", "Park"]');
SELECT enspiral.check_ballot('budget', :projects, '{"budget": 1000, "costs": [400, 300, 250, 200, 100]}',
                             '["Wifi", "Park", "Bikes", "Library"]');
SELECT enspiral.check_ballot('budget', :projects,
         '{"budget": 1000, "costs": [400, 300, 250, 200, 100], "voting_rule": "selected_projects",
           "vote_selected_projects_minimum": 1, "vote_selected_projects_maximum": 2}',
         '["Wifi", "Park", "Bikes"]');
-- stored in option order
SELECT enspiral.vote(:p, :eve, '["Wifi", "Library", "Bikes"]') > 0 AS eve_voted;
SELECT m.member_key, v.ballot FROM enspiral.votes v JOIN enspiral.members m USING (group_id, member_id)
 WHERE v.proposal_id = :p AND v.superseded_at IS NULL ORDER BY m.member_key;
-- running tally: votes per project
SELECT enspiral.tally(:p) -> 'totals' AS votes;
SELECT enspiral.close_proposal(:p);
-- Park 4; Library and Bikes 3 (Bikes costs less: first); Park 300, Bikes 250,
-- Library 400 fit (950); Mural and Wifi no longer fit: 50 remains
SELECT o - 'electorate' - 'quorum_met' - 'quorum_pct' - 'proposal_id' - 'state' - 'opening' - 'final' - 'chain_head' - 'chain_position'
  FROM enspiral.outcome(:p) o;
SELECT matches FROM enspiral.verify_outcome(:p);
-- the same count with the aggregate over any table (1-based project numbers)
SELECT enspiral.budget_selection(ARRAY(SELECT array_position(:projects, e)
                                         FROM jsonb_array_elements_text(v.ballot) e),
                                 '{400, 300, 250, 200, 100}', 1000)
  FROM enspiral.votes v WHERE v.proposal_id = :p AND v.superseded_at IS NULL;

-- several budgets: Decidim's workflows
SELECT enspiral.create_budget_set(:g, 'Districts', 'one') AS one_set \gset
SELECT enspiral.create_budget_set(:g, 'Lottery', 'random') AS random_set \gset
SELECT enspiral.create_budget_set(:g, 'Everywhere', 'all') AS all_set \gset
SELECT enspiral.create_budget_set(:g, 'x', 'two');
SELECT enspiral.create_budget_set(:g, ' ', 'one');
SELECT enspiral.create_budget_set(999, 'x', 'one');
CREATE FUNCTION pg_temp.budget(title text) RETURNS bigint LANGUAGE sql AS $$
    SELECT enspiral.propose(1, 1, title, 'budget', '{A, B, C}',
                            '{"budget": 100, "costs": [60, 40, 30], "vote_threshold_percent": 50}')
$$;
SELECT pg_temp.budget('North') AS north, pg_temp.budget('South') AS south,
       pg_temp.budget('L1') AS l1, pg_temp.budget('L2') AS l2, pg_temp.budget('L3') AS l3,
       pg_temp.budget('All1') AS all1, pg_temp.budget('All2') AS all2 \gset
SELECT enspiral.add_budget_to_set(:g, :one_set, :north), enspiral.add_budget_to_set(:g, :one_set, :south);
SELECT enspiral.add_budget_to_set(:g, :random_set, :l1), enspiral.add_budget_to_set(:g, :random_set, :l2),
       enspiral.add_budget_to_set(:g, :random_set, :l3);
SELECT enspiral.add_budget_to_set(:g, :all_set, :all1), enspiral.add_budget_to_set(:g, :all_set, :all2);
-- refusals: not a budget, already in a set, unknown set, a set that has started
SELECT enspiral.add_budget_to_set(:g, :one_set, enspiral.propose(:g, :ana, 'c', 'choice', '{a, b}'));
SELECT enspiral.add_budget_to_set(:g, :all_set, :north);
SELECT enspiral.add_budget_to_set(:g, 999, :north);
SELECT enspiral.add_budget_to_set(:g, :one_set, 999);
SELECT enspiral.open_proposal(p, now() + interval '1 day')
  FROM unnest(ARRAY[:north, :south, :l1, :l2, :l3, :all1, :all2]::bigint[]) p;
SELECT enspiral.add_budget_to_set(:g, :one_set, pg_temp.budget('Late'));

-- all: a ballot in every budget
SELECT enspiral.vote(:all1, :ana, '["A"]') > 0 AS all1, enspiral.vote(:all2, :ana, '["B", "C"]') > 0 AS all2;
-- one: after a ballot in North, South is refused; changing the North ballot is fine
SELECT enspiral.vote(:north, :ana, '["A"]') > 0 AS north;
SELECT enspiral.vote(:south, :ana, '["A"]');
SELECT enspiral.vote(:north, :ana, '["B", "C"]') > 0 AS north_again;
-- a retracted ballot frees the member to vote in another budget of the set
SELECT enspiral.retract_vote(:g, :north, :ana);
SELECT enspiral.vote(:south, :ana, '["A"]') > 0 AS south;
SELECT enspiral.vote(:north, :ana, '["A"]');
SELECT member_id = :ana AS ana, proposal_id = :south AS south FROM enspiral.budget_set_voters;
-- random: each member votes only in the budget picked from member and budgets
SELECT m.member_key, enspiral.budget_set_pick(:g, :random_set, m.member_id) - :l1 + 1 AS lottery_budget
  FROM enspiral.members m WHERE m.group_id = :g ORDER BY m.member_key;
SELECT count(*) FILTER (WHERE enspiral.vote(p, m, '["A"]') > 0) AS accepted
  FROM unnest(ARRAY[:ana, :ben, :cai, :dee, :eve]::bigint[]) m,
       LATERAL (SELECT enspiral.budget_set_pick(:g, :random_set, m) AS p) x;
SELECT enspiral.vote(:l1 + (enspiral.budget_set_pick(:g, :random_set, :ben) - :l1 + 1) % 3, :ben, '["A"]');
-- the pick: deterministic, from member and budget ids (rendezvous hashing)
SELECT enspiral.budget_random_pick(7, '{30, 10, 20}') AS pick,
       enspiral.budget_random_pick(7, '{20, 30, 10, NULL, 10}') AS same_pick,
       enspiral.budget_random_pick(7, '{}') AS none;
SELECT b, count(*) FROM generate_series(1, 3000) m, enspiral.budget_random_pick(m, '{10, 20, 30}') b
 GROUP BY b ORDER BY b;

-- one, with anonymous budgets: an anonymous ballot cannot be retracted, so
-- it binds the member to its budget for good
SELECT enspiral.create_budget_set(:g, 'Secret districts', 'one') AS anon_set \gset
CREATE FUNCTION pg_temp.anon_budget(title text) RETURNS bigint LANGUAGE sql AS $$
    SELECT enspiral.propose(1, 1, title, 'budget', '{A, B, C}',
                            '{"budget": 100, "costs": [60, 40, 30], "anonymous": true}')
$$;
SELECT pg_temp.anon_budget('East') AS east, pg_temp.anon_budget('West') AS west \gset
SELECT enspiral.add_budget_to_set(:g, :anon_set, :east), enspiral.add_budget_to_set(:g, :anon_set, :west);
SELECT enspiral.open_proposal(p, now() + interval '1 day') FROM unnest(ARRAY[:east, :west]::bigint[]) p;
SELECT enspiral.vote(:east, :cai, '["A", "B"]') IS NULL AS anonymous;
SELECT enspiral.vote(:west, :cai, '["A", "B"]');
SELECT enspiral.vote(:west, :dee, '["C", "A"]') IS NULL AS anonymous;
