-- enspiral update 0.1.0 -> 0.2.0, part 42: votes cast by delegates
-- (doc/decision-rules.md, "Votes cast by a delegate").  Functions are
-- appended by tools/update_functions.pl; this part holds the column and
-- the drop of stances(), whose result gains cast_by, and the weighted
-- consent_counts aggregate (aggregates are not appended).

-- who cast a vote for its member (NULL: the member itself, as every vote
-- cast by 0.1.0)
ALTER TABLE enspiral.votes ADD COLUMN cast_by bigint;
ALTER TABLE enspiral.votes ADD CONSTRAINT votes_cast_by CHECK (cast_by <> member_id);
COMMENT ON COLUMN enspiral.votes.cast_by IS
    'The delegate who cast this vote for the member with vote_as_delegate(); NULL when the member voted itself';

-- the result type gains cast_by (created by part 20 with the old one)
DROP FUNCTION enspiral.stances(bigint, bigint);

-- weighted consent counts: the aggregate (its transition function first)
-- @function enspiral.consent_counts_accum(bigint[], jsonb, bigint)
CREATE AGGREGATE enspiral.consent_counts(ballot jsonb, weight bigint) (
    SFUNC = enspiral.consent_counts_accum,
    STYPE = bigint[],
    INITCOND = '{0,0,0,0,0}',
    COMBINEFUNC = enspiral.consent_counts_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE enspiral.consent_counts(jsonb, bigint) IS
    'Weighted consent counts in one pass: {agree, abstain, disagree, block, all} weights (weights >= 0)';
