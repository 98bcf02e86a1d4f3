-- Records that prove themselves: the hash chain of a group over its
-- transfers, outcomes and events, linked in batches by the linker (writers
-- only take a chain key), verify_chain and its pending rows, the chain head
-- kept with an outcome, rewrites by a superuser with the triggers disabled,
-- and history as of a time, also on a restored copy.
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

-- nothing is linked by the writers
SELECT count(*) AS links FROM enspiral.chain_links;
-- chain_head links first: the three member_added events
SELECT position, length(head) AS hex_digits FROM enspiral.chain_head(:g);
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);

-- money: every transfer is linked by the linker's next run
SELECT enspiral.create_round(:g, 'Spring', 9000, now(), now() + interval '7 days') AS r \gset
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'Tools', 1000, 5000) AS b \gset
SELECT enspiral.open_bucket(:b);
SELECT enspiral.contribute(:b, :ana, 1000) IS NOT NULL AS contributed;
SELECT clock_timestamp() AS t_first \gset
SELECT enspiral.contribute(:b, :ben, 500) IS NOT NULL AS contributed;
SELECT enspiral.create_round(:g2, 'Other', 100, now(), now() + interval '7 days') AS r2 \gset
-- not linked yet: a read-only verification lists them as pending, no failure
BEGIN READ ONLY;
SELECT source, problem, count(*) FROM enspiral.verify_chain(:g) GROUP BY 1, 2 ORDER BY 1, 2;
COMMIT;
-- the linker that never waits links what is below the event horizon
SELECT enspiral.link_chain(:g, wait => false) AS linked;
SELECT enspiral.link_chain(:g) AS linked_again;
SELECT source, count(*) AS links, min(position) AS first, max(position) AS last
  FROM enspiral.chain_links WHERE group_id = :g GROUP BY source ORDER BY source;
-- in chain key order: the order of the writing transactions
SELECT bool_and(e.chain_key > p.chain_key) AS key_order
  FROM enspiral.chain_links l
  JOIN enspiral.chain_entries e USING (group_id, source, row_key)
  JOIN enspiral.chain_links pl ON pl.group_id = l.group_id AND pl.position = l.position - 1
  JOIN enspiral.chain_entries p ON p.group_id = pl.group_id AND p.source = pl.source AND p.row_key = pl.row_key
 WHERE l.group_id = :g;
SELECT linked_below > 0 AS horizon_kept, head_position FROM enspiral.chain_state WHERE group_id = :g;
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);
-- positions have no gap, and each group has its own chain
SELECT group_id = :g AS audit_group, count(*) = max(position) AS no_gap
  FROM enspiral.chain_links GROUP BY group_id ORDER BY group_id;
-- inside a transaction the rows are not below the horizon: a linker that
-- does not wait leaves them; one that waits (verify_chain) links them with
-- the transaction, so they are linked when it commits
BEGIN;
SELECT enspiral.contribute(:b, :cy, 200) IS NOT NULL AS contributed;
SELECT enspiral.link_chain(:g, false) AS linked_not_final;
SELECT source, problem FROM enspiral.verify_chain(:g);
SELECT count(*) AS links_of_this_transaction FROM enspiral.chain_links l
  JOIN enspiral.chain_entries e USING (group_id, source, row_key)
 WHERE l.group_id = :g AND e.chain_key >= enspiral.event_horizon();
COMMIT;
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);
-- refusals
SELECT enspiral.link_chain(999);
SELECT enspiral.link_chain(:g, NULL);

-- a decision: the recorded outcome carries the head it extends
SELECT enspiral.propose(:g, :ana, 'Buy tools', 'consent') AS p \gset
SELECT enspiral.open_proposal(:p, now() + interval '1 day');
SELECT enspiral.vote(:p, :ana, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.close_proposal(:p);
SELECT (enspiral.outcome(:p) ->> 'chain_position')::bigint AS kept_position,
       enspiral.outcome(:p) ->> 'chain_head' AS kept_head \gset
-- the kept head covers every row committed before the close (and the
-- close's own events before the outcome), and the outcome follows it
SELECT enspiral.link_chain(:g) > 0 AS linked;
SELECT (SELECT encode(hash, 'hex') FROM enspiral.chain_links
         WHERE group_id = :g AND position = :kept_position) = :'kept_head' AS head_is_that_link,
       (SELECT count(*) FROM enspiral.chain_links
         WHERE group_id = :g AND source = 'transfers' AND position <= :kept_position)
       = (SELECT count(*) FROM enspiral.transfers WHERE group_id = :g) AS covers_every_transfer,
       (SELECT l.position FROM enspiral.chain_links l
         WHERE l.group_id = :g AND l.source = 'outcomes') > :kept_position AS outcome_after_it,
       (SELECT l.position FROM enspiral.chain_links l JOIN enspiral.events e
            ON e.group_id = l.group_id AND l.source = 'events' AND l.row_key = ARRAY[e.event_id]
         WHERE l.group_id = :g AND e.kind = 'vote_cast') <= :kept_position AS covers_the_vote;
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
-- the hash of a link, by hand: sha256(previous hash || position || content),
-- as the linker computed it in C
SELECT l.source, bool_and(l.hash = sha256(coalesce(p.hash, '\x') || int8send(l.position)
                                          || convert_to(e.content, 'UTF8'))) AS by_hand
  FROM enspiral.chain_links l
  JOIN enspiral.chain_entries e USING (group_id, source, row_key)
  LEFT JOIN enspiral.chain_links p ON p.group_id = l.group_id AND p.position = l.position - 1
 WHERE l.group_id = :g GROUP BY l.source ORDER BY l.source;
SELECT regexp_replace(enspiral.chain_content(e), '[0-9]+', 'N', 'g') AS event_content_digits_as_n
  FROM enspiral.events e WHERE group_id = :g ORDER BY event_id LIMIT 1;

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
-- 3. a transfer deleted, one inserted with a chain key the linker passed
-- long ago (the linker never reads it: unlinked), one inserted as a writer
-- would (linked at the end, as any new row), a link deleted
BEGIN;
DELETE FROM enspiral.transfers WHERE group_id = :g AND kind = 'contribute' AND amount = 500;
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount, chain_key)
SELECT group_id, round_id, 'contribute', from_account, to_account, 1, 1 FROM enspiral.transfers
 WHERE group_id = :g AND kind = 'contribute' AND amount = 1000;
INSERT INTO enspiral.transfers (group_id, round_id, kind, from_account, to_account, amount)
SELECT group_id, round_id, 'contribute', from_account, to_account, 2 FROM enspiral.transfers
 WHERE group_id = :g AND kind = 'contribute' AND amount = 1000;
DELETE FROM enspiral.chain_links WHERE group_id = :g AND position = 2;
SELECT position, source, problem FROM enspiral.verify_chain(:g);
SELECT l.source = 'transfers' AS last_is_the_new_transfer FROM enspiral.chain_links l
 WHERE l.group_id = :g ORDER BY l.position DESC LIMIT 1;
ROLLBACK;
-- 4. the last links deleted: the chain is shorter than the linker left it
BEGIN;
DELETE FROM enspiral.chain_links WHERE group_id = :g
   AND position > (SELECT max(position) - 2 FROM enspiral.chain_links WHERE group_id = :g);
SET LOCAL transaction_read_only = on;
SELECT position - (SELECT max(position) FROM enspiral.chain_links WHERE group_id = :g) AS after_last,
       source, problem FROM enspiral.verify_chain(:g);
ROLLBACK;
-- 5. an outcome rewritten (its stored head too)
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
SELECT position AS dumped_position FROM enspiral.chain_head(:g) \gset
SELECT '/tmp/enspiral_audit_' || pg_backend_pid() || '_' || md5(random()::text) || '_' AS f \gset
SELECT (SELECT string_agg(m::text, ',') FROM enspiral.members_as_of(:g, :'t_before_leave') m) AS members_then,
       enspiral.balance_as_of(:g, :r, :ben, :'t_first') AS ben_then,
       enspiral.outcome_as_of(:g, :p, :'t_now')::text AS outcome_then,
       (SELECT string_agg(c::text, ',') FROM enspiral.catalysts_as_of(:g, :'t_now') c) AS catalysts_then \gset
\set ECHO none
SELECT format('COPY enspiral.%I TO %L', t, :'f' || t) FROM unnest(ARRAY['groups', 'members', 'memberships',
       'rounds', 'accounts', 'buckets', 'catalyst_groups', 'catalyst_terms', 'chain_links',
       'proposals', 'outcomes', 'transfers', 'events']) t \gexec
\set ECHO all
SET client_min_messages = warning;
DROP EXTENSION enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set ECHO none
SELECT format('COPY enspiral.%I FROM %L', t, :'f' || t) FROM unnest(ARRAY['groups', 'members', 'memberships',
       'rounds', 'accounts', 'buckets', 'catalyst_groups', 'catalyst_terms', 'chain_links',
       'proposals', 'outcomes', 'transfers', 'events']) t \gexec
\set ECHO all
-- the linker's place is not dumped: its first run reads the group's rows once
SELECT count(*) AS linker_state_restored FROM enspiral.chain_state;
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
-- the restored chain goes on: a new transfer and its event are linked
-- after the restored head
SELECT enspiral.contribute(:b, :ben, 100) IS NOT NULL AS contributed;
SELECT count(*) AS problems FROM enspiral.verify_chain(:g);
SELECT max(position) = :dumped_position + 2 AS extends_restored_chain FROM enspiral.chain_links WHERE group_id = :g;
\setenv ENSPIRAL_AUDIT_FILES :f
\! rm -f "$ENSPIRAL_AUDIT_FILES"*
