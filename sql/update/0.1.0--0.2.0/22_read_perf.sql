-- Read API performance (issue #13, doc/application.md#performance): the
-- per-proposal count of current votes that enspiral.proposals() reads,
-- kept by a trigger on votes, filled here from the votes written by 0.1.0.
CREATE TABLE enspiral.vote_counts (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    shard        bigint NOT NULL CHECK (shard >= 0),
    counted      bigint NOT NULL,
    PRIMARY KEY (group_id, proposal_id, shard)
);
COMMENT ON TABLE enspiral.vote_counts IS
    'Current votes (history_key 0) of each proposal, in rows per backend that changed it (shard: the backend id, a new row every 64 changes of one transaction; 0: counted by an update) whose sum is exact; kept by the trigger vote_counts on votes, read by enspiral.proposals()';
SELECT pg_catalog.pg_extension_config_dump('enspiral.vote_counts', '');
-- as 90_privileges.sql leaves every table of a fresh install
REVOKE ALL ON enspiral.vote_counts FROM PUBLIC;

-- @function enspiral.vote_counts_apply()
CREATE TRIGGER vote_counts AFTER INSERT OR UPDATE OR DELETE
    ON enspiral.votes FOR EACH ROW EXECUTE FUNCTION enspiral.vote_counts_apply();
COMMENT ON TRIGGER vote_counts ON enspiral.votes IS
    'Counts current votes per proposal in enspiral.vote_counts (what enspiral.proposals() reports as voted)';

-- the votes of 0.1.0 (no vote() writes meanwhile: SHARE blocks them until commit)
LOCK TABLE enspiral.votes IN SHARE MODE;
INSERT INTO enspiral.vote_counts (group_id, proposal_id, shard, counted)
SELECT v.group_id, v.proposal_id, 0, count(*)
  FROM enspiral.votes v
 WHERE v.history_key = 0
 GROUP BY v.group_id, v.proposal_id;
