-- Records that prove themselves: the hash chain of a group over its
-- transfers and outcomes, verify_chain, the chain head kept with an
-- outcome, rewrites by a superuser with the triggers disabled, and history
-- as of a time, also on a restored copy.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set VERBOSITY default

SELECT enspiral.create_group('Audit') AS g \gset
SELECT enspiral.create_group('Other') AS g2 \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben,
       enspiral.add_member(:g, 'cy') AS cy \gset
SELECT enspiral.add_member(:g2, 'zed') AS zed \gset
SELECT clock_timestamp() AS t_members \gset

-- an empty chain
SELECT * FROM enspiral.chain_head(:g);
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);

-- money: every transfer is linked when its transaction commits
SELECT enspiral.create_round(:g, 'Spring', 9000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'Tools', 1000, 5000) AS b \gset
SELECT enspiral.open_bucket(:b);
SELECT enspiral.contribute(:b, :ana, 1000) IS NOT NULL AS contributed;
SELECT clock_timestamp() AS t_first \gset
SELECT enspiral.contribute(:b, :ben, 500) IS NOT NULL AS contributed;
SELECT enspiral.create_round(:g2, 'Other', 100, now(), now() + interval '7 days') AS r2 \gset
SELECT source, count(*) AS links, min(position) AS first, max(position) AS last
  FROM enspiral.chain_links WHERE group_id = :g GROUP BY source ORDER BY source;
-- positions have no gap, and each group has its own chain
SELECT group_id = :g AS audit_group, count(*) = max(position) AS no_gap
  FROM enspiral.chain_links GROUP BY group_id ORDER BY group_id;
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);
-- inside a transaction the link waits for the commit
BEGIN;
SELECT enspiral.contribute(:b, :cy, 200) IS NOT NULL AS contributed;
SELECT count(*) AS unlinked_before_commit FROM enspiral.verify_chain(:g);
COMMIT;
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);

-- a decision: the recorded outcome carries the head it extends
SELECT enspiral.propose(:g, :ana, 'Buy tools', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day');
SELECT enspiral.vote(:p, :ana, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.close_proposal(:p);
SELECT (enspiral.outcome(:p) ->> 'chain_position')::bigint AS kept_position,
       enspiral.outcome(:p) ->> 'chain_head' AS kept_head \gset
SELECT :kept_position = max(position) - 1 AS head_before_the_outcome,
       (SELECT encode(hash, 'hex') FROM enspiral.chain_links
         WHERE group_id = :g AND position = :kept_position) = :'kept_head' AS head_is_that_link,
       (SELECT source FROM enspiral.chain_links WHERE group_id = :g AND position = max(l.position)) AS last
  FROM enspiral.chain_links l WHERE l.group_id = :g;
-- close_proposal returned what was stored; verify_outcome ignores the head
SELECT enspiral.outcome(:p) - '{chain_head,chain_position}'::text[] = enspiral.compute_outcome(:p) AS count_unchanged,
       (SELECT matches FROM enspiral.verify_outcome(:p)) AS matches;
SELECT enspiral.verify_chain_head(:g, :'kept_head') AS kept_head_verifies;
SELECT position, length(head) AS hex_digits FROM enspiral.chain_head(:g);
SELECT head AS current_head FROM enspiral.chain_head(:g) \gset
-- a head that is no link of the group
SELECT enspiral.verify_chain_head(:g2, :'kept_head') AS other_group,
       enspiral.verify_chain_head(:g, repeat('0', 64)) AS unknown_head;

-- the content is the same under any DateStyle, TimeZone, extra_float_digits
SELECT string_agg(enspiral.chain_content(t), E'\n' ORDER BY transfer_id) AS content
  FROM enspiral.transfers t WHERE group_id = :g \gset
SET DateStyle = 'German, DMY';
SET TimeZone = 'Pacific/Chatham';
SET extra_float_digits = -15;
SELECT string_agg(enspiral.chain_content(t), E'\n' ORDER BY transfer_id) = :'content' AS same_content
  FROM enspiral.transfers t WHERE group_id = :g;
RESET DateStyle;
RESET TimeZone;
RESET extra_float_digits;
SELECT enspiral.chain_content(t) ~ '^\["transfers", [0-9]+, [0-9]+, [0-9]+, "fund", [0-9]+, [0-9]+, 9000, "[0-9-]{10}T[0-9:.]+", null, null\]$'
       AS canonical_form
  FROM enspiral.transfers t WHERE group_id = :g ORDER BY transfer_id LIMIT 1;
-- the hash of a link, by hand: sha256(previous hash || position || content)
SELECT l.hash = sha256(coalesce(p.hash, '\x') || int8send(l.position)
                       || convert_to(enspiral.chain_content(t), 'UTF8')) AS by_hand
  FROM enspiral.chain_links l
  JOIN enspiral.transfers t ON t.group_id = l.group_id AND t.transfer_id = l.row_key[1]
  LEFT JOIN enspiral.chain_links p ON p.group_id = l.group_id AND p.position = l.position - 1
 WHERE l.group_id = :g AND l.position IN (1, 3) ORDER BY l.position;

-- refusals
SELECT * FROM enspiral.verify_chain(999);
SELECT * FROM enspiral.chain_head(999);
SELECT enspiral.verify_chain_head(:g, 'ABC');
SELECT enspiral.verify_chain_head(:g, NULL);
UPDATE enspiral.chain_links SET hash = hash WHERE group_id = :g AND position = 1;
DELETE FROM enspiral.chain_links WHERE group_id = :g AND position = 1;
TRUNCATE enspiral.chain_links;

-- rewrites by a superuser with every trigger disabled
SET session_replication_role = replica;
-- 1. an amount changed: the link of that transfer breaks
BEGIN;
UPDATE enspiral.transfers SET amount = 900 WHERE group_id = :g AND kind = 'contribute' AND amount = 1000;
SELECT position, source, problem FROM enspiral.verify_chain(:g);
SELECT enspiral.verify_chain_head(:g, :'kept_head') AS kept_head_verifies,
       enspiral.verify_chain_head(:g, :'current_head') AS current_head_verifies;
ROLLBACK;
-- 2. a consistent rewrite: the row and every link after it recomputed
BEGIN;
UPDATE enspiral.transfers SET amount = 900 WHERE group_id = :g AND kind = 'contribute' AND amount = 1000;
DO $$
DECLARE
    r record;
    prev bytea;
BEGIN
    FOR r IN SELECT l.position, e.content
               FROM enspiral.chain_links l
               JOIN enspiral.chain_entries e USING (group_id, source, row_key)
              WHERE l.group_id = 1 ORDER BY l.position
    LOOP
        prev := enspiral.chain_hash(prev, r.position, r.content);
        UPDATE enspiral.chain_links SET hash = prev WHERE group_id = 1 AND position = r.position;
    END LOOP;
END
$$;
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);
-- ... but the head a member kept from the outcome no longer exists
SELECT enspiral.verify_chain_head(:g, :'kept_head') AS kept_head_verifies,
       enspiral.verify_chain_head(:g, :'current_head') AS current_head_verifies;
ROLLBACK;
-- 3. a transfer deleted, one inserted without a link, a link deleted
BEGIN;
DELETE FROM enspiral.transfers WHERE group_id = :g AND kind = 'contribute' AND amount = 500;
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
SELECT group_id, round_id, 'contribute', from_account, to_account, 1 FROM enspiral.transfers
 WHERE group_id = :g AND kind = 'contribute' AND amount = 1000;
DELETE FROM enspiral.chain_links WHERE group_id = :g AND position = 2;
SELECT position, source, problem FROM enspiral.verify_chain(:g);
ROLLBACK;
-- 4. an outcome rewritten (its stored head too)
BEGIN;
UPDATE enspiral.outcomes SET outcome = jsonb_set(outcome, '{passed}', 'false') WHERE proposal_id = :p;
SELECT position, source, row_key = ARRAY[:p, 0]::bigint[] AS that_outcome, problem FROM enspiral.verify_chain(:g);
ROLLBACK;
RESET session_replication_role;
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);

-- history as of a time
SELECT clock_timestamp() AS t_before_leave \gset
SELECT enspiral.remove_member(:g, :cy);
SELECT enspiral.appoint_catalyst(:g, :ana, current_date) IS NOT NULL AS appointed;
SELECT clock_timestamp() AS t_now \gset
SELECT array_agg(member_key ORDER BY member_id) AS before_leave FROM enspiral.members_as_of(:g, :'t_before_leave');
SELECT array_agg(member_key ORDER BY member_id) AS now FROM enspiral.members_as_of(:g, :'t_now');
SELECT count(*) AS before_any FROM enspiral.members_as_of(:g, '2000-01-01');
SELECT enspiral.balance_as_of(:g, :r, :ana, :'t_first') AS ana_first,
       enspiral.balance_as_of(:g, :r, :ben, :'t_first') AS ben_first,
       enspiral.balance_as_of(:g, :r, :ben, :'t_now') AS ben_now,
       enspiral.balance_as_of(:g, :r, :ben, :'t_now') = enspiral.balance(:r, :ben) AS ben_matches_balance,
       enspiral.balance_as_of(:g, :r, :ana, '2000-01-01') AS before_round,
       enspiral.balance_as_of(:g, :r, 999, :'t_now') AS no_account;
SELECT enspiral.outcome_as_of(:g, :p, :'t_first') IS NULL AS not_yet,
       enspiral.outcome_as_of(:g, :p, :'t_now') = enspiral.outcome(:p) AS recorded;
SELECT member_id = :ana AS ana, ends_on > starts_on AS ends_later FROM enspiral.catalysts_as_of(:g, :'t_now');
SELECT count(*) AS catalysts_before FROM enspiral.catalysts_as_of(:g, :'t_before_leave');
-- refusals
SELECT enspiral.outcome_as_of(:g2, :p, now());
SELECT enspiral.balance_as_of(:g2, :r, :ana, now());
SELECT * FROM enspiral.members_as_of(999, now());
SELECT * FROM enspiral.catalysts_as_of(999, now());

-- the same answers on a restored copy: the tables are dumped the way pg_dump
-- does (COPY ... TO), the extension is made anew, and the owner's top-level
-- COPY ... FROM loads them back in pg_restore's order (files unique per run)
SELECT '/tmp/enspiral_audit_' || pg_backend_pid() || '_' || md5(random()::text) || '_' AS f \gset
SELECT (SELECT string_agg(m::text, ',') FROM enspiral.members_as_of(:g, :'t_before_leave') m) AS members_then,
       enspiral.balance_as_of(:g, :r, :ben, :'t_first') AS ben_then,
       enspiral.outcome_as_of(:g, :p, :'t_now')::text AS outcome_then,
       (SELECT string_agg(c::text, ',') FROM enspiral.catalysts_as_of(:g, :'t_now') c) AS catalysts_then \gset
\set ECHO none
SELECT format('COPY enspiral.%I TO %L', t, :'f' || t) FROM unnest(ARRAY['groups', 'members', 'memberships',
       'rounds', 'accounts', 'buckets', 'catalyst_groups', 'catalyst_terms', 'chain_links',
       'proposals', 'outcomes', 'transfers']) t \gexec
\set ECHO all
SET client_min_messages = warning;
DROP EXTENSION enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set ECHO none
SELECT format('COPY enspiral.%I FROM %L', t, :'f' || t) FROM unnest(ARRAY['groups', 'members', 'memberships',
       'rounds', 'accounts', 'buckets', 'catalyst_groups', 'catalyst_terms', 'chain_links',
       'proposals', 'outcomes', 'transfers']) t \gexec
\set ECHO all
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);
SELECT enspiral.verify_chain_head(:g, :'kept_head') AS kept_head_verifies,
       enspiral.verify_chain_head(:g, :'current_head') AS current_head_verifies;
SELECT (SELECT string_agg(m::text, ',') FROM enspiral.members_as_of(:g, :'t_before_leave') m) = :'members_then' AS same_members,
       enspiral.balance_as_of(:g, :r, :ben, :'t_first') = :ben_then AS same_balance,
       enspiral.outcome_as_of(:g, :p, :'t_now')::text = :'outcome_then' AS same_outcome,
       (SELECT string_agg(c::text, ',') FROM enspiral.catalysts_as_of(:g, :'t_now') c) = :'catalysts_then' AS same_catalysts;
-- pg_restore sets the identity sequences too
SELECT setval(pg_get_serial_sequence('enspiral.transfers', 'transfer_id'), max(transfer_id)) > 0 AS seq
  FROM enspiral.transfers;
-- the restored chain goes on: a new transfer links after the restored head
SELECT enspiral.contribute(:b, :ben, 100) IS NOT NULL AS contributed;
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);
SELECT max(position) = :kept_position + 2 AS extends_restored_chain FROM enspiral.chain_links WHERE group_id = :g;
\setenv ENSPIRAL_AUDIT_FILES :f
\! rm -f "$ENSPIRAL_AUDIT_FILES"*
