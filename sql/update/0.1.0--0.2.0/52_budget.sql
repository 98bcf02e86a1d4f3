-- enspiral update script 0.1.0 -> 0.2.0, part 52: budgets 2 (issue #16):
-- the round setting allow_reopen_funding (enspiral.reopen_funding) and budget
-- sets (Decidim's workflows over several budget proposals).  The method
-- budget itself needs no table.  doc/budgeting.md describes them.  Every
-- function body comes from the install parts (tools/update_functions.pl).

-- rounds written by 0.1.0 get the default of allow_reopen_funding (part 51
-- runs the same normalization; this part does not rely on it): the guard
-- that freezes settings is off for this one update
-- @function enspiral.normalize_round_settings(settings jsonb)

ALTER TABLE enspiral.rounds DISABLE TRIGGER rounds_guard;
UPDATE enspiral.rounds r SET settings = enspiral.normalize_round_settings(r.settings)
 WHERE r.settings IS DISTINCT FROM enspiral.normalize_round_settings(r.settings);
ALTER TABLE enspiral.rounds ENABLE TRIGGER rounds_guard;

CREATE TABLE enspiral.budget_sets (
    group_id    bigint NOT NULL REFERENCES enspiral.groups,
    set_id      bigint GENERATED ALWAYS AS IDENTITY,
    name        text NOT NULL CHECK (btrim(name) <> ''),
    workflow    text NOT NULL CHECK (workflow IN ('all', 'one', 'random')),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, set_id)
);
COMMENT ON TABLE enspiral.budget_sets IS
    'Sets of budget proposals voted under one of Decidim''s workflows: all (a ballot in every budget), one (a ballot in one budget of the member''s choice), random (a ballot only in the budget enspiral.budget_random_pick gives the member)';

CREATE TABLE enspiral.budget_set_budgets (
    group_id    bigint NOT NULL,
    proposal_id bigint NOT NULL,
    set_id      bigint NOT NULL,
    PRIMARY KEY (group_id, proposal_id),
    FOREIGN KEY (group_id, set_id) REFERENCES enspiral.budget_sets,
    FOREIGN KEY (group_id, proposal_id) REFERENCES enspiral.proposals
);
CREATE INDEX ON enspiral.budget_set_budgets (group_id, set_id);
COMMENT ON TABLE enspiral.budget_set_budgets IS
    'The budget proposals of each budget set; a proposal is in at most one set, and the budgets of a set are fixed once one of them leaves draft';

CREATE TABLE enspiral.budget_set_voters (
    group_id    bigint NOT NULL,
    set_id      bigint NOT NULL,
    member_id   bigint NOT NULL,
    proposal_id bigint NOT NULL,
    PRIMARY KEY (group_id, set_id, member_id),
    FOREIGN KEY (group_id, set_id) REFERENCES enspiral.budget_sets
);
COMMENT ON TABLE enspiral.budget_set_voters IS
    'Internal: under the workflow one, the budget each member last voted in; the row is the member''s lock over the set, so two votes of one member in two budgets serialize (iso_budget_one_workflow.spec)';

SELECT pg_catalog.pg_extension_config_dump('enspiral.budget_sets', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.budget_set_budgets', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.budget_set_voters', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.budget_sets_set_id_seq', '');
COMMENT ON SEQUENCE enspiral.budget_sets_set_id_seq IS 'Identity of enspiral.budget_sets.set_id';
REVOKE ALL ON enspiral.budget_sets, enspiral.budget_set_budgets, enspiral.budget_set_voters FROM PUBLIC;
REVOKE ALL ON SEQUENCE enspiral.budget_sets_set_id_seq FROM PUBLIC;
