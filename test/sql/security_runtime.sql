-- Runtime security fixes (issue #19), one section per class:
--   1. restore detection: only the owner's own top-level COPY FROM into the
--      enspiral table itself (by OID, schema-qualified, nothing nested, no
--      SECURITY DEFINER function active) loads rows as dumped;
--   2. results of hide_results proposals stay hidden until the closing
--      commits (no savepoint or rollback trick);
--   3. every transfer moves between the account kinds of its kind (direct
--      owner writes too), and verify_ledger reports rows that do not;
--   4. a departure undone in the same transaction is not exempt from the
--      catalyst coverage rule;
--   5. settings are stored normalized (whole numbers as integers).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_rt_app') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_rt_app';
        DROP ROLE regress_enspiral_rt_app;
    END IF;
END $$;
CREATE ROLE regress_enspiral_rt_app;
SELECT count(*) > 0 AS granted FROM enspiral.grant_application('regress_enspiral_rt_app');
RESET client_min_messages;
\set VERBOSITY terse

-- try(sql): runs sql, returns ok or SQLSTATE: message
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

------------------------------------------------------------------------------
-- A round with three buckets holding money, and a closed proposal
------------------------------------------------------------------------------
SELECT enspiral.create_group('Runtime', '{"min_catalysts": 0}') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.create_round(:g, 'R', 3000, now() - interval '1 hour', now() + interval '1 day') AS r \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'one', 10, 500) AS b1,
       enspiral.create_bucket(:r, :ana, 'two', 10, 500) AS b2,
       enspiral.create_bucket(:r, :ana, 'three', 10, 500) AS b3 \gset
SELECT enspiral.open_bucket(:b1), enspiral.open_bucket(:b2), enspiral.open_bucket(:b3);
SELECT enspiral.contribute(:b1, :ana, 100) > 0 AS c1, enspiral.contribute(:b2, :ben, 100) > 0 AS c2,
       enspiral.contribute(:b3, :cy, 100) > 0 AS c3;
SELECT enspiral.propose(:g, :ana, 'Named', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day');
SELECT enspiral.vote(:p, :ana, '"agree"') > 0 AS v1, enspiral.vote(:p, :ben, '"agree"') > 0 AS v2;
SELECT enspiral.close_proposal(:p);
SELECT outcome AS recorded FROM enspiral.outcomes WHERE proposal_id = :p \gset

------------------------------------------------------------------------------
-- 1. Restore detection
------------------------------------------------------------------------------
SET ROLE regress_enspiral_rt_app;
-- a temporary look-alike "transfers" whose DEFAULT calls the API: the API's
-- own writes are applied and checked as always (the refunds reach the
-- members; the bucket holds nothing once cancelled)
CREATE TEMP TABLE transfers (a int, r int DEFAULT enspiral.cancel_bucket(:b1));
COPY transfers (a) FROM STDIN;
1
\.
SELECT enspiral.bucket_state(:b1) AS b1_state, enspiral.bucket_total(:b1) AS b1_total,
       enspiral.balance(:r, :ana) AS ana_balance;
-- the same, schema-qualified as pg_temp, with contribute and an idempotency key
CREATE TEMP TABLE accounts (a int, t bigint DEFAULT enspiral.contribute(:b2, :ben, 50, 'rt-key'));
COPY pg_temp.accounts (a) FROM STDIN;
1
\.
SELECT enspiral.bucket_total(:b2) AS b2_total, enspiral.balance(:r, :ben) AS ben_balance;
-- with try_contribute, and with an explicit COPY ... FROM of several rows
CREATE TEMP TABLE buckets (a int, t bigint DEFAULT enspiral.try_contribute(:b3, :cy, 5));
COPY pg_temp.buckets (a) FROM STDIN;
1
2
\.
SELECT enspiral.bucket_total(:b3) AS b3_total, enspiral.balance(:r, :cy) AS cy_balance;
-- remove_member through a look-alike "memberships": the membership guard
-- applies, so the recorded outcome stays reproducible
CREATE TEMP TABLE memberships (a int, r int DEFAULT (enspiral.remove_member(:g, :ben) IS NULL)::int);
COPY memberships (a) FROM STDIN;
1
\.
SELECT enspiral.is_member(:g, :ben) AS ben_is_member;
RESET ROLE;
SELECT matches, recorded = :'recorded'::jsonb AS same_outcome FROM enspiral.verify_outcome(:p);
SELECT * FROM enspiral.verify_ledger(:g);
-- the owner, a nested statement: a COPY into a look-alike table whose
-- DEFAULT writes enspiral.transfers through a plain function is not a
-- restore either: the row is checked (here: refused, wrong account kinds)
SELECT a.account_id AS pool_acct FROM enspiral.accounts a WHERE a.round_id = :r AND a.kind = 'pool' \gset
SELECT a.account_id AS b3_acct FROM enspiral.accounts a
 WHERE a.round_id = :r AND a.kind = 'bucket' AND a.owner_id = :b3 \gset
CREATE FUNCTION pg_temp.sneak() RETURNS int LANGUAGE sql AS
$$ INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
   SELECT b.group_id, b.round_id, 'allocate', b.account_id, m.account_id, 1
     FROM enspiral.accounts b JOIN enspiral.accounts m USING (group_id, round_id)
    WHERE b.kind = 'bucket' AND b.balance > 0 AND m.kind = 'member'
    ORDER BY b.account_id, m.account_id LIMIT 1
   RETURNING 1 $$;
CREATE TEMP TABLE ledger_sneak (a int, r int DEFAULT pg_temp.sneak());
COPY ledger_sneak (a) FROM STDIN;
1
\.
-- a COPY into the real table that names it without its schema is no
-- restore (rows are applied and checked); pg_restore always qualifies
DROP TABLE pg_temp.transfers, pg_temp.accounts, pg_temp.buckets, pg_temp.memberships;
SET search_path = enspiral, public;
COPY transfers (group_id, round_id, kind, from_account, to_account, amount) FROM STDIN;
1	1	allocate	8	5	1
\.
RESET search_path;
SELECT count(*) AS transfers_after_refusals FROM enspiral.transfers;

------------------------------------------------------------------------------
-- 2. Hidden results are not readable from an uncommitted closing
------------------------------------------------------------------------------
SELECT enspiral.propose(:g, :ana, 'Hidden', 'choice', '{a,b}', '{"hide_results": true}') AS h \gset
SELECT enspiral.open_proposal(:h, now() + interval '1 day');
SELECT enspiral.vote(:h, :ana, '["a"]') > 0 AS v;
SET ROLE regress_enspiral_rt_app;
BEGIN;
SAVEPOINT s;
SELECT enspiral.close_proposal(:h);
SELECT enspiral.proposal_state(:h) AS state_in_savepoint;
SELECT pg_temp.try(format('SELECT enspiral.outcome(%s)', :h)) AS outcome;
SELECT pg_temp.try(format('SELECT enspiral.tally(%s)', :h)) AS tally;
SELECT pg_temp.try(format('SELECT * FROM enspiral.verify_outcome(%s)', :h)) AS verify_outcome;
ROLLBACK TO s;
SELECT enspiral.proposal_state(:h) AS state_after_rollback;
ROLLBACK;
-- without a savepoint: the whole transaction could still roll back
BEGIN;
SELECT enspiral.close_proposal(:h);
SELECT pg_temp.try(format('SELECT enspiral.outcome(%s)', :h)) AS outcome;
ROLLBACK;
SELECT enspiral.proposal_state(:h) AS state_after_rollback;
-- a deadline this transaction set, passed within it: the same
SELECT enspiral.propose(:g, :ana, 'Soon', 'choice', '{a,b}', '{"hide_results": true}') AS soon \gset
BEGIN;
SELECT enspiral.open_proposal(:soon, clock_timestamp() + interval '50 milliseconds');
SELECT pg_sleep(0.1);
SELECT enspiral.proposal_state(:soon) AS state_after_deadline;
SELECT pg_temp.try(format('SELECT enspiral.outcome(%s)', :soon)) AS outcome;
SELECT pg_temp.try(format('SELECT enspiral.tally(%s)', :soon)) AS tally;
ROLLBACK;
-- once the closing commits, the results are there for everyone
SELECT enspiral.close_proposal(:h);
SELECT enspiral.outcome(:h) -> 'totals' AS totals_after_commit;
SELECT enspiral.tally(:h) -> 'totals' AS tally_after_commit;
RESET ROLE;
-- results that are not hidden stay readable inside the closing transaction
SELECT enspiral.propose(:g, :ana, 'Open', 'choice', '{a,b}') AS o \gset
SELECT enspiral.open_proposal(:o, now() + interval '1 day');
SELECT enspiral.vote(:o, :ana, '["b"]') > 0 AS v;
BEGIN;
SELECT enspiral.close_proposal(:o);
SELECT enspiral.outcome(:o) -> 'totals' AS visible_totals;
ROLLBACK;

------------------------------------------------------------------------------
-- 3. Transfer kinds match account kinds, also for direct owner writes
------------------------------------------------------------------------------
SELECT a.account_id AS src_acct FROM enspiral.accounts a WHERE a.round_id = :r AND a.kind = 'source' \gset
SELECT a.account_id AS ana_acct FROM enspiral.accounts a
 WHERE a.round_id = :r AND a.kind = 'member' AND a.owner_id = :ana \gset
SELECT a.account_id AS cy_acct FROM enspiral.accounts a
 WHERE a.round_id = :r AND a.kind = 'member' AND a.owner_id = :cy \gset
-- an allocate from a bucket to a member, a contribute between members, a
-- fund into a member, a match from a member, a match_fund into a bucket or
-- the pool, an allocate from a member
SELECT k, pg_temp.try(format(
        'INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)'
        ' VALUES (%s, %s, %L, %s, %s, 1)', :g, :r, k, f, t)) AS result
  FROM (VALUES ('allocate', :b3_acct, :ana_acct), ('contribute', :cy_acct, :ana_acct),
               ('fund', :src_acct, :ana_acct), ('match', :cy_acct, :b3_acct),
               ('match_fund', :src_acct, :b3_acct), ('match_fund', :src_acct, :pool_acct),
               ('allocate', :cy_acct, :b3_acct)) v(k, f, t);
-- a consistent direct write by the owner is still applied
SELECT pg_temp.try(format(
        'INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)'
        ' VALUES (%s, %s, ''contribute'', %s, %s, 1)', :g, :r, :cy_acct, :b3_acct)) AS consistent;
SELECT * FROM enspiral.verify_ledger(:g);
-- a restore loads rows as dumped; verify_ledger reports the inconsistent ones
COPY enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount) FROM STDIN;
1	1	allocate	7	5	3
1	1	contribute	4	5	2
\.
SELECT * FROM enspiral.verify_ledger(:g);
-- a statement nested in the owner's restore COPY (here a trigger the owner
-- added that writes the ledger through SPI) is no restore: its row is checked
CREATE FUNCTION pg_temp.echo() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'fund' THEN
        INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
        VALUES (NEW.group_id, NEW.round_id, 'allocate', 7, 5, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER echo AFTER INSERT ON enspiral.transfers FOR EACH ROW EXECUTE FUNCTION pg_temp.echo();
COPY enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount) FROM STDIN;
1	1	fund	1	2	1
\.
DROP TRIGGER echo ON enspiral.transfers;

------------------------------------------------------------------------------
-- 4. A departure undone in the same transaction is a change like any other
------------------------------------------------------------------------------
SELECT current_date AS today \gset
SELECT enspiral.create_group('Catalysts', '{"min_catalysts": 2}') AS cg \gset
SELECT enspiral.add_member(:cg, 'kai') AS kai, enspiral.add_member(:cg, 'lu') AS lu \gset
BEGIN;
SELECT enspiral.appoint_catalyst(:cg, :kai, :'today') > 0 AS t1,
       enspiral.appoint_catalyst(:cg, :lu, :'today') > 0 AS t2;
COMMIT;
-- removed and re-added in one transaction: the term ended, the member is
-- back, coverage dropped from 2 to 1: refused at commit
BEGIN;
SELECT enspiral.remove_member(:cg, :kai);
SELECT enspiral.add_member(:cg, 'kai') = :kai AS rejoined;
COMMIT;
SELECT enspiral.is_member(:cg, :kai) AS kai_still_member,
       count(*) AS serving FROM enspiral.catalyst_terms t
 WHERE t.group_id = :cg AND upper(t.period) > current_date;
-- the same checked immediately
BEGIN;
SELECT enspiral.remove_member(:cg, :kai);
SELECT enspiral.add_member(:cg, 'kai') = :kai AS rejoined;
SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
ROLLBACK;
-- checked immediately after the departure, then re-added: checked again at commit
BEGIN;
SELECT enspiral.remove_member(:cg, :kai);
SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE;
SET CONSTRAINTS enspiral.catalyst_terms_coverage DEFERRED;
SELECT enspiral.add_member(:cg, 'kai') = :kai AS rejoined;
COMMIT;
SELECT count(*) AS serving FROM enspiral.catalyst_terms t
 WHERE t.group_id = :cg AND upper(t.period) > current_date;
-- a departure that stays in effect is exempt, as before
SELECT enspiral.remove_member(:cg, :kai);
SELECT count(*) AS serving FROM enspiral.catalyst_terms t
 WHERE t.group_id = :cg AND upper(t.period) > current_date;

------------------------------------------------------------------------------
-- 5. Settings are stored normalized
------------------------------------------------------------------------------
SELECT enspiral.create_group('Decimals', '{"catalyst_term_months": 6.0, "min_catalysts": 0, "catalyst_min_days_per_week": 1.50}') AS dg \gset
SELECT enspiral.group_settings(:dg);
SELECT enspiral.update_group_settings(:dg, '{"catalyst_max_months": 2.4e1, "catalyst_term_months": 1.2E1}');
SELECT settings::text AS stored FROM enspiral.groups WHERE group_id = :dg;
-- every catalyst function of the group works
SELECT enspiral.add_member(:dg, 'mo') AS mo \gset
SELECT enspiral.appoint_catalyst(:dg, :mo, :'today', NULL, 2) > 0 AS appointed;
SELECT upper(period) - lower(period) > 300 AS twelve_months FROM enspiral.catalyst_terms WHERE group_id = :dg;
SELECT count(*) > 0 AS coverage FROM enspiral.catalyst_coverage(:dg, :'today', (:'today'::date + 30));
-- non-integral values are refused, naming the key
SELECT pg_temp.try(format('SELECT enspiral.update_group_settings(%s, %L)', :dg, '{"catalyst_term_months": 6.5}'));
SELECT pg_temp.try(format('SELECT enspiral.create_group(%L, %L)', 'x', '{"min_catalysts": 2.000001}'));
-- round settings: a whole cap is stored as an integer, a fraction refused
SELECT enspiral.create_round(:g, 'Cap', 0, now(), now() + interval '1 day',
                             '{"max_per_member_per_bucket": 100.0}') AS cr \gset
SELECT settings::text AS round_settings, max_per_member_per_bucket FROM enspiral.rounds WHERE round_id = :cr;
SELECT pg_temp.try(format('SELECT enspiral.create_round(%s, %L, 0, now(), now() + interval ''1 day'', %L)',
                          :g, 'Frac', '{"max_per_member_per_bucket": 100.5}'));
-- proposal settings: whole numbers stored as integers, fractions refused
SELECT enspiral.propose(:g, :ana, 'Dec', 'consent', NULL, '{"max_blocks": 2.0, "quorum_pct": 50.0, "threshold_pct": 66.50}') AS dp \gset
SELECT settings ->> 'max_blocks' AS max_blocks, settings ->> 'quorum_pct' AS quorum_pct,
       settings ->> 'threshold_pct' AS threshold_pct
  FROM enspiral.proposals WHERE proposal_id = :dp;
SELECT pg_temp.try(format('SELECT enspiral.propose(%s, %s, %L, %L, NULL, %L)',
                          :g, :ana, 'Frac', 'consent', '{"max_blocks": 2.5}'));

RESET ROLE;
SET client_min_messages = warning;
DROP EXTENSION enspiral CASCADE;
DROP OWNED BY regress_enspiral_rt_app;
DROP ROLE regress_enspiral_rt_app;
