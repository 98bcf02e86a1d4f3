-- reopen_funding: a bucket funded early (accept_funding) opens again for
-- contributions before the close, where the round allows it.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT enspiral.create_group('Enspiral') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana, enspiral.add_member(:g, 'ben') AS ben \gset
SELECT enspiral.create_round(:g, 'Spring', 1000, now() - interval '1 hour', now() + interval '1 day',
         '{"accept_funding_at_min": true, "allow_reopen_funding": true}') AS r \gset
SELECT settings ->> 'allow_reopen_funding' AS allow_reopen_funding FROM enspiral.rounds WHERE round_id = :r;
SELECT enspiral.create_round(:g, 'x', 10, now(), now() + interval '1 day', '{"allow_reopen_funding": "yes"}');
SELECT enspiral.allocate(:r);
SELECT enspiral.create_bucket(:r, :ana, 'Garden', 100, 400) AS garden \gset
SELECT enspiral.open_bucket(:garden);

-- open: nothing to reopen
SELECT enspiral.reopen_funding(:g, :garden);
SELECT enspiral.contribute(:garden, :ben, 150) > 0 AS given;
SELECT enspiral.accept_funding(:g, :garden) AS accepted;
SELECT enspiral.contribute(:garden, :ana, 10);
-- reopened: contributions are accepted again, and it can be accepted again
SELECT enspiral.reopen_funding(:g, :garden) AS holds;
SELECT enspiral.bucket_state(:garden);
SELECT enspiral.contribute(:garden, :ana, 50) > 0 AS given;
SELECT enspiral.accept_funding(:g, :garden) AS accepted;
SELECT enspiral.reopen_funding(:g, :garden) AS holds;
-- full at max_goal: funded by its contributions, not early
SELECT enspiral.contribute(:garden, :ben, 200) > 0 AS given;
SELECT enspiral.bucket_state(:garden);
SELECT enspiral.reopen_funding(:g, :garden);
SELECT count(*) AS problems FROM enspiral.verify_ledger(:g);
-- refusals
SELECT enspiral.reopen_funding(:g, 999);
SELECT enspiral.reopen_funding(:g + 1, :garden);
SELECT enspiral.reopen_funding(:g, NULL);
-- a round without the setting
SELECT enspiral.create_round(:g, 'Summer', 500, now() - interval '1 hour', now() + interval '1 day',
         '{"accept_funding_at_min": true}') AS s \gset
SELECT enspiral.allocate(:s);
SELECT enspiral.create_bucket(:s, :ana, 'Shed', 10, 400) AS shed \gset
SELECT enspiral.open_bucket(:shed);
SELECT enspiral.contribute(:shed, :ben, 20) > 0 AS given;
SELECT enspiral.accept_funding(:g, :shed) AS accepted;
SELECT enspiral.reopen_funding(:g, :shed);
-- after the close: funded for good
SELECT enspiral.create_bucket(:r, :ana, 'Roof', 10, 400) AS roof \gset
SELECT enspiral.open_bucket(:roof);
SELECT enspiral.contribute(:roof, :ben, 20) > 0 AS given;
SELECT enspiral.accept_funding(:g, :roof) AS accepted;
SELECT enspiral.close_round(:r);
SELECT enspiral.reopen_funding(:g, :roof);
SELECT enspiral.bucket_state(:roof), count(*) AS problems FROM enspiral.verify_ledger(:g);

-- hide_totals also hides the totals in the read API and the event feed
SELECT enspiral.create_round(:g, 'Hidden', 100, now() - interval '1 hour', now() + interval '1 day',
         '{"hide_totals": true}') AS h \gset
SELECT enspiral.allocate(:h);
SELECT enspiral.create_bucket(:h, :ana, 'Secret', 0, 100) AS sec \gset
SELECT enspiral.open_bucket(:sec);
SELECT enspiral.contribute(:sec, :ben, 10) > 0 AS given;
SELECT title, total, funders FROM enspiral.buckets(:g, :h);
SELECT count(*) FROM enspiral.contributions(:g, :h);
SELECT kind, payload ? 'amount' AS amount_shown FROM enspiral.events_since(:g, 0, 100000)
 WHERE round_id = :h AND kind IN ('contribution', 'refund');
SELECT enspiral.close_round(:h);
SELECT title, total, funders FROM enspiral.buckets(:g, :h);
SELECT count(*) FROM enspiral.contributions(:g, :h);
SELECT kind, payload -> 'amount' AS amount FROM enspiral.events_since(:g, 0, 100000)
 WHERE round_id = :h AND kind IN ('contribution', 'refund') ORDER BY event_id;

-- the internal move repeats every condition: a direct call cannot reopen a
-- bucket of a closed round
SELECT enspiral.bucket_reopen(:g, :roof);
SELECT enspiral.bucket_reopen(:g, 999);
