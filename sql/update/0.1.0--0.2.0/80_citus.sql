------------------------------------------------------------------------------
-- Part 80 (scale-out on Citus, doc/scaling.md): the UNIQUE (<id>) constraints
-- without group_id become plain indexes, so every table can be distributed by
-- group_id; ids stay unique through their identity sequences.  The functions
-- of sql/install/80_citus.sql are appended by tools/update_functions.pl.
------------------------------------------------------------------------------

ALTER TABLE enspiral.members DROP CONSTRAINT members_member_id_key;
CREATE INDEX members_member_id_idx ON enspiral.members (member_id);
COMMENT ON INDEX enspiral.members_member_id_idx IS
    'Lookups by member_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';

ALTER TABLE enspiral.proposals DROP CONSTRAINT proposals_proposal_id_key;
CREATE INDEX proposals_proposal_id_idx ON enspiral.proposals (proposal_id);
COMMENT ON INDEX enspiral.proposals_proposal_id_idx IS
    'Lookups by proposal_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';

ALTER TABLE enspiral.rounds DROP CONSTRAINT rounds_round_id_key;
CREATE INDEX rounds_round_id_idx ON enspiral.rounds (round_id);
COMMENT ON INDEX enspiral.rounds_round_id_idx IS
    'Lookups by round_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';

ALTER TABLE enspiral.buckets DROP CONSTRAINT buckets_bucket_id_key;
CREATE INDEX buckets_bucket_id_idx ON enspiral.buckets (bucket_id);
COMMENT ON INDEX enspiral.buckets_bucket_id_idx IS
    'Lookups by bucket_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';

ALTER TABLE enspiral.catalyst_terms DROP CONSTRAINT catalyst_terms_term_id_key;
CREATE INDEX catalyst_terms_term_id_idx ON enspiral.catalyst_terms (term_id);
COMMENT ON INDEX enspiral.catalyst_terms_term_id_idx IS
    'Lookups by term_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';
