SET client_min_messages = warning;
DROP EXTENSION IF EXISTS enspiral CASCADE;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- vote() remembers the proposal row it read last and checks it again by
-- its tuple id (src/decisions_proposal_memo.c): what it sees must be what
-- an index lookup sees (iso_decisions_proposal_memo: other sessions)
SELECT enspiral.create_group('Memo') AS g \gset
SELECT enspiral.add_member(:g, 'ana') AS ana \gset
SELECT enspiral.add_member(:g, 'ben') AS ben \gset
-- two proposals whose rows one transaction wrote last: the same xmin
BEGIN;
SELECT enspiral.propose(:g, :ana, 'One', 'consent') AS p1 \gset
SELECT enspiral.propose(:g, :ana, 'Two', 'consent') AS p2 \gset
SELECT enspiral.open_proposal(:p1, now() + interval '1 day') AS o1 \gset
SELECT enspiral.open_proposal(:p2, now() + interval '1 day') AS o2 \gset
COMMIT;
SELECT enspiral.proposal_state(:p1) AS one, enspiral.proposal_state(:p2) AS two;
SELECT enspiral.vote(:p1, :ana, '"agree"') IS NOT NULL AS voted;
-- the table rewritten: the rows move to other tuple ids
VACUUM FULL enspiral.proposals;
SELECT enspiral.vote(:p1, :ben, '"agree"') IS NOT NULL AS voted;
SELECT enspiral.vote(:p2, :ana, '"disagree"') IS NOT NULL AS voted;
-- closed by this transaction: its next vote is refused
BEGIN;
SELECT enspiral.close_proposal(:p2) AS c \gset
SELECT enspiral.proposal_state(:p2) AS two;
SELECT enspiral.vote(:p2, :ben, '"agree"');
ROLLBACK;
-- the close rolled back: open again
SELECT enspiral.vote(:p2, :ben, '"agree"') IS NOT NULL AS voted;
-- the group-first call names the group: another group's proposal is not found
SELECT enspiral.create_group('Other') AS g2 \gset
SELECT enspiral.vote(:g2::bigint, :p2, :ben, '"agree"'::jsonb, NULL);
SELECT enspiral.vote(:g::bigint, :p2, :ben, '"disagree"'::jsonb, NULL) IS NOT NULL AS voted;
SELECT proposal_id = :p1 AS one, member_id = :ana AS ana, ballot
  FROM enspiral.votes WHERE history_key = 0 ORDER BY proposal_id, member_id;
