-- Security of the governed data, for an application role given exactly what
-- enspiral.grant_application() grants: it cannot read hidden results before
-- the close, cannot forge or change anonymous ballots, cannot rewrite the
-- ledger (even the owner cannot: triggers refuse it), and the rules hold
-- whatever it passes.  (security_app covers direct table access for every
-- table; this file covers what the API itself could leak or allow.)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'regress_enspiral_app3') THEN
        EXECUTE 'DROP OWNED BY regress_enspiral_app3'; DROP ROLE regress_enspiral_app3;
    END IF;
END $$;
CREATE ROLE regress_enspiral_app3;
SELECT count(*) > 0 AS granted FROM enspiral.grant_application('regress_enspiral_app3');
RESET client_min_messages;
\set VERBOSITY terse

SET ROLE regress_enspiral_app3;
SELECT enspiral.create_group('Secret co-op') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.add_member(:g, 'cy') AS cy \gset

-- hidden results: nothing reveals the tally before the close
SELECT enspiral.propose(:g, :ana, 'Budget', 'consent', NULL, '{"hide_results": true}') AS hid \gset
SELECT enspiral.open_proposal(:hid, now() + interval '1 day');
SELECT enspiral.vote(:hid, :ana, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.vote(:hid, :ben, '"disagree"') IS NOT NULL AS voted;
SELECT enspiral.outcome(:hid);
SELECT enspiral.tally(:hid);
SELECT * FROM enspiral.verify_outcome(:hid);
-- every reading function the application may execute, called on the hidden
-- proposal, either refuses or returns nothing that contains a tally
CREATE TEMP TABLE calls (fn text, sqlstate text, result text);
SELECT set_config('regress.hid', :'hid', false) IS NOT NULL AS set;
DO $$
DECLARE
    f   record;
    res text;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig, p.proname
               FROM pg_proc p
              WHERE p.pronamespace = 'enspiral'::regnamespace
                AND has_function_privilege(p.oid, 'EXECUTE')
                AND p.pronargs = 1 AND p.proargtypes[0] = 'bigint'::regtype
                AND p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype
                AND p.provolatile <> 'v' LOOP   -- readers only: nothing may close it
        BEGIN
            EXECUTE format('SELECT string_agg(x::text, '' '') FROM %s.%I($1) x', 'enspiral', f.proname)
                INTO res USING current_setting('regress.hid')::bigint;
            INSERT INTO calls VALUES (f.sig::text, '00000', left(res, 300));
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO calls VALUES (f.sig::text, SQLSTATE, NULL);
        END;
    END LOOP;
END
$$;
SELECT fn, sqlstate, result FROM calls WHERE fn IN ('enspiral.proposal_state(bigint)', 'enspiral.outcome(bigint)',
                                                   'enspiral.tally(bigint)') ORDER BY 1;
SELECT count(*) > 5 AS many_functions_called FROM calls;
SELECT fn AS leaking_function, result FROM calls WHERE result ~ '(agree|disagree|totals|"voted")';
-- a closed proposal shows its result
SELECT enspiral.close_proposal(:hid);
SELECT enspiral.outcome(:hid) -> 'totals' AS totals_after_close;

-- anonymous ballots: one per member, never changed, never linked to a voter
SELECT enspiral.propose(:g, :ana, 'Anonymous', 'consent', NULL, '{"anonymous": true}') AS anon \gset
SELECT enspiral.open_proposal(:anon, now() + interval '1 day');
SELECT enspiral.vote(:anon, :ana, '"agree"') AS returned_vote_id;
SELECT enspiral.vote(:anon, :ana, '"block"', 'changed my mind');
SELECT enspiral.vote(:anon, :ben, '"disagree"') AS returned_vote_id;
RESET ROLE;
-- what is stored: ballots without voter or time, participation without ballot
SELECT count(*) AS anonymous_ballots FROM enspiral.anonymous_ballots WHERE proposal_id = :anon;
SELECT count(*) AS identified_votes FROM enspiral.votes WHERE proposal_id = :anon;
SELECT a.attname AS identifying_column FROM pg_attribute a
 WHERE a.attrelid = 'enspiral.anonymous_ballots'::regclass AND a.attnum > 0
   AND (a.attname ~ 'member|voter|cast|time|_at$' OR a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype));
-- the owner cannot rewrite them either
UPDATE enspiral.anonymous_ballots SET ballot = '"block"' WHERE proposal_id = :anon;
DELETE FROM enspiral.anonymous_ballots WHERE proposal_id = :anon;

-- the ledger: the application moves money only through the rules
SET ROLE regress_enspiral_app3;
SELECT enspiral.create_round(:g, 'Spring', 3000, now(), now() + interval '1 day') AS r \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'Garden', 100, 2000) AS b \gset
SELECT enspiral.open_bucket(:b);
SELECT enspiral.contribute(:b, :ben, 500, 'ben-1') AS t1 \gset
SELECT enspiral.contribute(:b, :ben, 500, 'ben-1') = :t1 AS idempotent_replay;
SELECT enspiral.contribute(:b, :ben, 900, 'ben-1');
SELECT enspiral.contribute(:b, :ben, 501);
SELECT enspiral.contribute(:b, :cy, -5);
SELECT enspiral.balance(:r, :ben) AS ben_balance, enspiral.bucket_total(:b) AS bucket_total;
RESET ROLE;
-- even the owner cannot rewrite or erase a transfer; rules are not switched off
UPDATE enspiral.transfers SET amount = amount + 1;
DELETE FROM enspiral.transfers;
TRUNCATE enspiral.transfers;
SELECT count(*) AS ledger_problems FROM enspiral.verify_ledger(:g);

-- the read API as the application (doc/application.md): on proposals with
-- hidden results and on anonymous ones, every group-first reading function
-- the role may execute is called with (group, proposal, member) as far as
-- it takes bigint arguments; no result and no error message may show a
-- ballot (["north"]), a total ("north": 1) or a reason before the close, nor
-- link an anonymous ballot to a member or a time
SET ROLE regress_enspiral_app3;
SELECT enspiral.propose(:g, :ana, 'Hidden map', 'choice', '{north,south}', '{"hide_results": true}') AS h2 \gset
SELECT enspiral.open_proposal(:h2, now() + interval '1 day');
SELECT enspiral.vote(:h2, :ana, '["north"]') IS NOT NULL AS voted;
SELECT enspiral.vote(:h2, :ben, '["south"]', 'warmer there') IS NOT NULL AS voted;
SELECT enspiral.propose(:g, :ana, 'Secret ballot', 'choice', '{east,west}',
                        '{"anonymous": true, "hide_results": true}') AS a2 \gset
SELECT enspiral.open_proposal(:a2, now() + interval '1 day');
SELECT enspiral.vote(:a2, :ana, '["east"]', 'sunrise') IS NULL AS anonymous;
SELECT enspiral.vote(:a2, :cy, '["west"]') IS NULL AS anonymous;
CREATE TEMP TABLE reads (fn text, proposal text, sqlstate text, result text);
SELECT set_config('regress.g', :'g', false) IS NOT NULL AS set,
       set_config('regress.ids', :'h2' || ',' || :'a2', false) IS NOT NULL AS set,
       set_config('regress.members', :'ana' || ',' || :'ben' || ',' || :'cy', false) IS NOT NULL AS set;
DO $$
DECLARE
    f   record;
    pid bigint;
    mid bigint;
    args bigint[];
    res text;
    msg text;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig, p.proname, p.pronargs - p.pronargdefaults AS k
               FROM pg_proc p
              WHERE p.pronamespace = 'enspiral'::regnamespace
                AND has_function_privilege(p.oid, 'EXECUTE')
                AND p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype
                AND p.provolatile <> 'v'
                AND p.proargnames[1] = 'group_id'       -- the group-first API
                AND p.pronargs - p.pronargdefaults BETWEEN 1 AND 3
                AND (p.proargtypes::oid[])[0:p.pronargs - p.pronargdefaults - 1]
                    <@ ARRAY['bigint'::regtype::oid] LOOP
        FOREACH pid IN ARRAY string_to_array(current_setting('regress.ids'), ',')::bigint[] LOOP
            FOREACH mid IN ARRAY string_to_array(current_setting('regress.members'), ',')::bigint[] LOOP
                args := (ARRAY[current_setting('regress.g')::bigint, pid, mid])[1:f.k];
                BEGIN
                    EXECUTE format('SELECT string_agg(x::text, '' '') FROM %s.%I(%s) x', 'enspiral', f.proname,
                                   array_to_string(args, ', '))
                        INTO res;
                    INSERT INTO reads VALUES (f.sig::text, pid::text, '00000', res);
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
                    INSERT INTO reads VALUES (f.sig::text, pid::text, SQLSTATE, msg);
                END;
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;
SELECT count(DISTINCT fn) >= 10 AS read_functions_called,
       count(*) FILTER (WHERE fn LIKE 'enspiral.ballot(%') AS ballot_calls
  FROM reads;
SELECT fn AS leaking_function, result FROM reads
 WHERE result ~ '(\["(north|south|east|west)"\]|"(north|south|east|west)": [0-9]|warmer|sunrise)';
SELECT DISTINCT fn FROM reads ORDER BY 1;
-- what the read API shows of them: participation, never ballots
SELECT fn, sqlstate, result FROM reads
 WHERE fn ~ '^enspiral\.(ballot|stances|voters)\(' AND proposal = :'a2'
 GROUP BY 1, 2, 3 ORDER BY 1, 3;
SELECT proposal_id, state, voted, electorate, outcome FROM enspiral.proposals(:g)
 WHERE proposal_id IN (:h2, :a2) ORDER BY proposal_id;
SELECT * FROM enspiral.voters(:g, :h2);
SELECT enspiral.ballot(:g, :h2, :ben) - 'cast_at' AS hidden_ballot;
-- an anonymous proposal whose results may be shown: ballots without voter or
-- time, ordered by their content (not by who voted or when)
SELECT member_id, ballot, reason, cast_at FROM enspiral.stances(:g, :anon);
SELECT enspiral.ballot(:g, :anon, :ana) AS anonymous_ballot;
-- the transaction that closes a hidden proposal could still roll the close
-- back: it reads nothing of the results before the close commits
BEGIN;
SELECT enspiral.close_proposal(:h2);
-- (the counts come from the outcome the closing recorded: the same numbers
-- as before it, and still no outcome)
SELECT state, voted, electorate, outcome IS NULL AS outcome_hidden
  FROM enspiral.proposals(:g) WHERE proposal_id = :h2;
SELECT enspiral.ballot(:g, :h2, :ben) - 'cast_at' AS still_hidden;
SAVEPOINT before_stances;
SELECT * FROM enspiral.stances(:g, :h2);
ROLLBACK TO SAVEPOINT before_stances;
COMMIT;
-- after the close, the results are shown
SELECT member_id, ballot, reason FROM enspiral.stances(:g, :h2);
SELECT outcome -> 'totals' AS totals FROM enspiral.proposals(:g) WHERE proposal_id = :h2;
SELECT enspiral.close_proposal(:a2);
SELECT member_id, ballot, reason, cast_at FROM enspiral.stances(:g, :a2);
-- hidden results whose deadline passed with nothing recording the outcome:
-- proposals() computes it (the counts it passes on are the electorate's
-- size, never a ballot), shown once closed by time and never before
SELECT enspiral.propose(:g, :ana, 'Lapsed map', 'choice', '{north,south}', '{"hide_results": true}') AS h3 \gset
SELECT enspiral.open_proposal(:h3, now() + interval '1 day');
SELECT enspiral.vote(:h3, :ben, '["south"]') IS NOT NULL AS voted;
SELECT state, voted, electorate, outcome FROM enspiral.proposals(:g) WHERE proposal_id = :h3;
RESET ROLE;
SET session_replication_role = replica;
UPDATE enspiral.proposals SET opens_at = opens_at - interval '2 days', closes_at = now() - interval '1 hour'
 WHERE proposal_id = :h3;
UPDATE enspiral.votes SET cast_at = cast_at - interval '2 days' WHERE proposal_id = :h3;
UPDATE enspiral.memberships SET joined_at = joined_at - interval '3 days' WHERE group_id = :g;
RESET session_replication_role;
SELECT count(*) AS recorded FROM enspiral.outcomes WHERE proposal_id = :h3;
SET ROLE regress_enspiral_app3;
SELECT state, voted, electorate, outcome -> 'totals' AS totals
  FROM enspiral.proposals(:g) WHERE proposal_id = :h3;

-- a round with hidden totals (hide_totals): buckets() lists the buckets
-- without what they hold or how many fund them, contributions() refuses
-- (its amounts add up to the totals) until the round closes
SELECT enspiral.create_round(:g, 'Hidden totals', 900, now(), now() + interval '1 day',
                             '{"hide_totals": true}') AS ht \gset
SELECT enspiral.allocate(:ht);
SELECT enspiral.create_bucket(:ht, :ana, 'Bikes', 0, 500) AS hb1 \gset
SELECT enspiral.create_bucket(:ht, :ben, 'Books', 0, 500) AS hb2 \gset
SELECT enspiral.open_bucket(:hb1), enspiral.open_bucket(:hb2);
SELECT enspiral.contribute(:hb1, :ana, 120) > 0 AS given, enspiral.contribute(:hb1, :ben, 80) > 0 AS given;
SELECT bucket_id, title, state, total, funders FROM enspiral.buckets(:g, :ht);
SELECT * FROM enspiral.contributions(:g, :ht);
SELECT enspiral.bucket_total(:hb1);
SELECT member_id, allocated, spent, balance FROM enspiral.balances(:g, :ht);
SELECT enspiral.close_round(:ht) AS decided;
SELECT bucket_id, title, state, total, funders FROM enspiral.buckets(:g, :ht);
SELECT bucket_id, member_id, amount, refunded FROM enspiral.contributions(:g, :ht);
RESET ROLE;

SET client_min_messages = warning;
DROP OWNED BY regress_enspiral_app3;
DROP ROLE regress_enspiral_app3;
