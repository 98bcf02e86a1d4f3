-- Demo 1: a group and its members.
\echo
\echo '--- 1. The network: a group and its members ---------------------------------'
\echo 'Group used here: "Enspiral", created now with the default rules (at least'
\echo '3 catalysts, 6-month terms, at most 24 months of service, at least 1 day a'
\echo 'week). Its settings:'
SELECT enspiral.create_group('Enspiral') AS group_id \gset
SELECT key AS setting, value FROM jsonb_each(enspiral.group_settings(:group_id)) ORDER BY key;

\echo 'Six freelancers join. The application knows them by its own keys (here,'
\echo 'their names); the database gives each a member id, used in later calls.'
SELECT k AS member_key, enspiral.add_member(:group_id, k) AS member_id
  FROM unnest(ARRAY['aroha', 'ben', 'chloe', 'dev', 'eru', 'fran']) AS k;

\echo 'A rule parameter that makes no sense is refused, naming the key:'
SELECT demo.expect_error($$SELECT enspiral.create_group('Typo Co', '{"min_catalyst": 3}')$$) AS result;
SELECT demo.expect_error($$SELECT enspiral.create_group('Tiny', '{"catalyst_term_months": 36}')$$) AS result;

\echo 'Fran leaves and comes back later: same identity (member id 6), two'
\echo 'periods in the history. Removing her twice is refused:'
SELECT 'fran has left' AS event FROM (SELECT enspiral.remove_member(:group_id, enspiral.member_id(:group_id, 'fran'))) AS done;
SELECT demo.expect_error(format('SELECT enspiral.remove_member(%s, %s)',
       :group_id, enspiral.member_id(:group_id, 'fran'))) AS "removing her twice";
SELECT enspiral.add_member(:group_id, 'fran') = enspiral.member_id(:group_id, 'fran') AS "same member id";
\echo 'Membership history: one period per stay; fran has two, and is a member now.'
SELECT m.member_key, count(*) AS periods, bool_or(ms.left_at IS NULL) AS member_now
  FROM enspiral.members m JOIN enspiral.memberships ms USING (group_id, member_id)
 WHERE m.group_id = :group_id GROUP BY m.member_key ORDER BY m.member_key;
