-- enspiral update 0.1.0 -> 0.2.0, part 65: executable outcomes and catalyst
-- elections (issue 18; doc/executable-outcomes.md).  The new table and
-- triggers of install part 65_outcomes.sql; the trigger functions are
-- named (-- @function) so that the triggers can refer to them (the generated
-- function section creates every other function of the part, and part 99
-- applies the privilege rules).  Group settings gain
-- may_grant_role, may_revoke_role and may_change_settings: part 30
-- normalizes every group's settings with the current library, which fills
-- in their defaults (admin).  No 0.1.0 row changes: 0.1.0 proposals have
-- no effects, and their recorded outcomes carry no "effects".

CREATE TABLE enspiral.proposal_effects (
    group_id     bigint NOT NULL,
    proposal_id  bigint NOT NULL,
    position     integer NOT NULL CHECK (position > 0),
    effect       jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(effect) = 'object' AND effect ? 'kind'),
    declared_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    declared_by  bigint,
    PRIMARY KEY (group_id, proposal_id, position),
    FOREIGN KEY (group_id, proposal_id) REFERENCES enspiral.proposals
);
COMMENT ON TABLE enspiral.proposal_effects IS
    'What a proposal does when it passes, in position order; written by add_effect/remove_effect while the proposal is a draft, frozen from its scheduling or opening on';
COMMENT ON COLUMN enspiral.proposal_effects.effect IS
    'The effect: {"kind": ..., arguments of the kind} (doc/executable-outcomes.md)';
COMMENT ON COLUMN enspiral.proposal_effects.declared_by IS
    'The acting member who declared it; NULL when the application did';

-- @function enspiral.proposal_effects_guard()
CREATE TRIGGER proposal_effects_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.proposal_effects
    FOR EACH ROW EXECUTE FUNCTION enspiral.proposal_effects_guard();
COMMENT ON TRIGGER proposal_effects_guard ON enspiral.proposal_effects IS
    'Effects are frozen with the proposal''s settings';
CREATE TRIGGER proposal_effects_no_truncate BEFORE TRUNCATE ON enspiral.proposal_effects
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.proposal_effects_guard();
COMMENT ON TRIGGER proposal_effects_no_truncate ON enspiral.proposal_effects IS
    'Declared effects are never truncated (NS011)';

-- @function enspiral.outcomes_effects()
CREATE TRIGGER outcomes_effects BEFORE INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_effects();
COMMENT ON TRIGGER outcomes_effects ON enspiral.outcomes IS
    'A passed proposal''s effects are applied with its outcome (after the chain stamp and close time, by trigger name order)';

REVOKE ALL ON enspiral.proposal_effects FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.proposal_effects', '');
