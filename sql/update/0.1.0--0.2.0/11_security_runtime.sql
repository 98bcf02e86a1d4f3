-- enspiral update script 0.1.0 -> 0.2.0, part 11: runtime security fixes
-- (issue #19): results of hide_results proposals stay hidden until the
-- closing commits, verify_ledger reports transfers whose kind does not match
-- its accounts, settings are stored normalized (whole numbers as integers).
-- The C side (restore detection by relation OID, the ledger kind check, the
-- catalyst departure exemption, bounded retries) comes with the library.

-- @function enspiral.normalize_round_settings(settings jsonb)

-- @function enspiral.verify_ledger(group_id bigint)

-- @function enspiral.proposal_written_here(group_id bigint, proposal_id bigint)

-- @function enspiral.require_results_visible(p enspiral.proposals, st enspiral.proposal_state)

-- @function enspiral.outcome(proposal_id bigint)

-- @function enspiral.tally(proposal_id bigint)

-- @function enspiral.verify_outcome(proposal_id bigint)

-- @function enspiral.catalyst_member_rejoined()
REVOKE ALL ON FUNCTION enspiral.catalyst_member_rejoined() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER catalyst_member_rejoined
    AFTER INSERT ON enspiral.memberships
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_member_rejoined();
COMMENT ON TRIGGER catalyst_member_rejoined ON enspiral.memberships IS
    'A departure undone in the same transaction is not exempt from the coverage rule (checked at commit)';

REVOKE ALL ON FUNCTION enspiral.proposal_written_here(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_results_visible(enspiral.proposals, enspiral.proposal_state) FROM PUBLIC;

-- 0.1.0 stored whole-number group settings as given ({"catalyst_term_months": 6.0}),
-- which the catalyst functions cannot read as integers: store them normalized.
UPDATE enspiral.groups g
   SET settings = enspiral.normalize_group_settings(g.settings)
 WHERE g.settings::text OPERATOR(pg_catalog.<>) enspiral.normalize_group_settings(g.settings)::text;
