-- Decidim-style budget ballots: checking a ballot under each voting rule,
-- the outcome (greedy by votes within the budget), the aggregate over any
-- table, and the workflows over several budgets.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never
\set costs '''{400, 300, 250, 200, 100}''::bigint[]'

-- threshold_percent (the default, 70%): 700 <= total <= 1000
SELECT enspiral.check_budget_ballot(:costs, 1000, '{4, 1, 5}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 2, 3}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 2, 3, 5}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 2}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 2}', '{"vote_threshold_percent": 50}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{}', '{"vote_threshold_percent": 0}');
-- exact integer threshold: 70% of 999 is 699.3, so 699 is below it
SELECT enspiral.check_budget_ballot('{699, 700}'::bigint[], 999, '{1}');
SELECT enspiral.check_budget_ballot('{699, 700}'::bigint[], 999, '{2}');
-- minimum_projects: within the budget and at least N projects
SELECT enspiral.check_budget_ballot(:costs, 1000, '{5, 4}',
         '{"voting_rule": "minimum_projects", "vote_minimum_budget_projects_number": 2}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{5}',
         '{"voting_rule": "minimum_projects", "vote_minimum_budget_projects_number": 2}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 2, 3, 4}',
         '{"voting_rule": "minimum_projects", "vote_minimum_budget_projects_number": 2}');
-- selected_projects: between a minimum and a maximum number, within the budget
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 2, 3}',
         '{"voting_rule": "selected_projects", "vote_selected_projects_minimum": 2, "vote_selected_projects_maximum": 3}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1}',
         '{"voting_rule": "selected_projects", "vote_selected_projects_minimum": 2, "vote_selected_projects_maximum": 3}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{2, 3, 4, 5}',
         '{"voting_rule": "selected_projects", "vote_selected_projects_minimum": 2, "vote_selected_projects_maximum": 3}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 2, 3, 4}',
         '{"voting_rule": "selected_projects", "vote_selected_projects_minimum": 2, "vote_selected_projects_maximum": 4}');
-- malformed ballots
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 6}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{0}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, 1, 5}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1, NULL}');
SELECT enspiral.check_budget_ballot('{9223372036854775807, 1}'::bigint[], 10, '{1, 2}');
-- bad budgets and settings
SELECT enspiral.check_budget_ballot('{}'::bigint[], 1000, '{}');
SELECT enspiral.check_budget_ballot('{100, 0}'::bigint[], 1000, '{1}');
SELECT enspiral.check_budget_ballot('{100, NULL}'::bigint[], 1000, '{1}');
SELECT enspiral.check_budget_ballot(:costs, 0, '{1}');
SELECT enspiral.check_budget_ballot(:costs, 1000, NULL);
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1}', '{"colour": 1}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1}', '{"voting_rule": "knapsack"}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1}', '{"vote_threshold_percent": 101}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1}', '{"vote_threshold_percent": 7.5}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1}', '{"vote_selected_projects_minimum": 3, "vote_selected_projects_maximum": 2}');
SELECT enspiral.check_budget_ballot(:costs, 1000, '{1}', '[]');

-- the outcome: by votes (ties: lower cost, then lower number) while it fits
SELECT enspiral.budget_outcome('{5, 9, 7, 7, 2}', :costs, 1000);
SELECT enspiral.budget_outcome('{0, 0, 0, 0, 0}', :costs, 1000);
SELECT enspiral.budget_outcome('{1, 1}', '{500, 500}'::bigint[], 1000);
SELECT enspiral.budget_outcome('{1, 2}', :costs, 1000);
SELECT enspiral.budget_outcome('{1, 2, 3, 4, -1}', :costs, 1000);

-- the aggregate on any table
CREATE TABLE my_ballots (voter text, picks integer[]);
INSERT INTO my_ballots VALUES ('a', '{1, 4, 5}'), ('b', '{2, 3, 4}'), ('c', '{2, 3, 5}'),
                              ('d', '{1, 2, 5}'), ('e', NULL);
SELECT enspiral.budget_selection(picks, :costs, 1000) FROM my_ballots;
SELECT enspiral.budget_selection(picks, :costs, 1000) FROM my_ballots WHERE false;
SELECT enspiral.budget_selection(picks, CASE WHEN voter = 'c' THEN '{1, 1, 1, 1, 1}'::bigint[] ELSE :costs END, 1000)
  FROM my_ballots;
SELECT enspiral.budget_selection(picks || 9, :costs, 1000) FROM my_ballots;

-- workflows over budgets 10, 20, 30: all, one, random (enspiral.budget_random_pick)
SELECT w, b, enspiral.budget_vote_allowed(w, 7, '{30, 10, 20}', '{}', b) AS before_voting,
       enspiral.budget_vote_allowed(w, 7, '{30, 10, 20}', '{20}', b) AS after_voting_in_20
  FROM unnest(ARRAY['all', 'one', 'random']) w, unnest(ARRAY[10, 20, 30]::bigint[]) b ORDER BY w, b;
SELECT m, enspiral.budget_random_pick(m, '{30, 10, 20}') FROM generate_series(0, 3) m;
SELECT enspiral.budget_vote_allowed('lottery', 7, '{10}', '{}', 10);
SELECT enspiral.budget_vote_allowed('all', 7, '{10}', '{}', 99);
SELECT enspiral.budget_vote_allowed('all', NULL, '{10}', '{}', 10);
