-- enspiral update 0.1.0 -> 0.2.0, part 65: executable outcomes and catalyst
-- elections (issue 18; doc/executable-outcomes.md).  The new table and
-- triggers of install part 65_outcomes.sql; the trigger functions are
-- created here so that the triggers can refer to them (the generated
-- function section re-creates every function of the part identically, and
-- part 99 applies the privilege rules).  Group settings gain
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

CREATE FUNCTION enspiral.proposal_effects_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'proposal_effects_guard', 'enspiral.proposal_effects');
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'declared effects cannot be truncated'
            USING ERRCODE = 'NS011', HINT = 'Use enspiral.remove_effect() on a draft.';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'a declared effect cannot be changed'
            USING ERRCODE = 'NS007',
                  DETAIL = format('Effect %s of proposal %s.', OLD.position, OLD.proposal_id),
                  HINT = 'Remove it with enspiral.remove_effect() and declare it again while the proposal is a draft.';
    END IF;
    IF TG_OP = 'INSERT' AND enspiral.restoring(TG_RELID) THEN
        RETURN NEW;
    END IF;
    DECLARE
        st enspiral.proposal_state;
        r enspiral.proposal_effects := CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    BEGIN
        -- FOR SHARE orders the change with a concurrent scheduling or opening
        SELECT p.state INTO st FROM enspiral.proposals p
         WHERE p.group_id = r.group_id AND p.proposal_id = r.proposal_id FOR SHARE;
        IF st IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'the effects of proposal % are frozen', r.proposal_id
                USING ERRCODE = 'NS621',
                      DETAIL = format('Proposal %s is %s; effects change only while it is a draft.',
                                      r.proposal_id, coalesce(st::text, 'gone')),
                      HINT = 'A scheduled proposal goes back to draft with enspiral.unschedule_proposal().';
        END IF;
        RETURN r;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.proposal_effects_guard() IS
    'Trigger: effects are declared and removed only while their proposal is a draft (NS621), never changed (NS007) nor truncated (NS011)';
CREATE TRIGGER proposal_effects_guard BEFORE INSERT OR UPDATE OR DELETE ON enspiral.proposal_effects
    FOR EACH ROW EXECUTE FUNCTION enspiral.proposal_effects_guard();
COMMENT ON TRIGGER proposal_effects_guard ON enspiral.proposal_effects IS
    'Effects are frozen with the proposal''s settings';
CREATE TRIGGER proposal_effects_no_truncate BEFORE TRUNCATE ON enspiral.proposal_effects
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.proposal_effects_guard();
COMMENT ON TRIGGER proposal_effects_no_truncate ON enspiral.proposal_effects IS
    'Declared effects are never truncated (NS011)';

CREATE FUNCTION enspiral.outcomes_effects() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'outcomes_effects', 'enspiral.outcomes');
    IF enspiral.restoring(TG_RELID) THEN
        RETURN NEW;
    END IF;
    DECLARE
        res jsonb := enspiral.apply_effects(NEW.group_id, NEW.proposal_id, NEW.opening, NEW.outcome);
    BEGIN
        IF res IS NOT NULL THEN
            NEW.outcome := NEW.outcome || jsonb_build_object('effects', res);
        END IF;
        RETURN NEW;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.outcomes_effects() IS
    'Trigger: a recorded outcome applies its proposal''s effects in its transaction and carries what happened under "effects"';
CREATE TRIGGER outcomes_effects BEFORE INSERT ON enspiral.outcomes
    FOR EACH ROW EXECUTE FUNCTION enspiral.outcomes_effects();
COMMENT ON TRIGGER outcomes_effects ON enspiral.outcomes IS
    'A passed proposal''s effects are applied with its outcome (after the chain stamp and close time, by trigger name order)';

REVOKE ALL ON enspiral.proposal_effects FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.proposal_effects', '');
