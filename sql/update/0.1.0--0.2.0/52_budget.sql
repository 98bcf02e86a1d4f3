-- enspiral update script 0.1.0 -> 0.2.0, part 52: budgets 2 (issue #16):
-- the round setting allow_reopen_funding (enspiral.reopen_funding) and budget
-- sets (Decidim's workflows over several budget proposals).  The method
-- budget itself needs no table.  doc/budgeting.md describes them.  Every
-- function body comes from the install parts (tools/update_functions.pl).

-- the new setting first, so rounds written by 0.1.0 (and by part 51) get
-- its default: the guard that freezes settings is off for this one update
CREATE OR REPLACE FUNCTION enspiral.normalize_round_settings(settings jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    cap jsonb;
    under jsonb;
    cur jsonb;
    closes jsonb;
    flag text;
BEGIN
    IF jsonb_typeof(settings) <> 'object' THEN
        RAISE EXCEPTION 'round settings must be a JSON object' USING ERRCODE = 'NS006', COLUMN = 'settings';
    END IF;
    FOR k IN SELECT jsonb_object_keys(settings) LOOP
        IF k NOT IN ('max_per_member_per_bucket', 'currency', 'underfunded',
                     'bucket_creation_closes_at', 'accept_funding_at_min',
                     'allow_withdraw', 'hide_totals', 'allow_reopen_funding') THEN
            RAISE EXCEPTION 'unknown round setting "%"', k
                USING ERRCODE = 'NS006', COLUMN = k,
                      HINT = 'Known settings are: max_per_member_per_bucket, currency, underfunded, bucket_creation_closes_at, accept_funding_at_min, allow_withdraw, hide_totals, allow_reopen_funding.';
        END IF;
    END LOOP;
    cap := COALESCE(settings -> 'max_per_member_per_bucket', 'null');
    IF cap <> 'null' AND (jsonb_typeof(cap) <> 'number'
                          OR cap::text::numeric <> trunc(cap::text::numeric)
                          OR cap::text::numeric <= 0
                          OR cap::text::numeric > 9223372036854775807) THEN
        RAISE EXCEPTION 'round setting "max_per_member_per_bucket" must be a positive whole amount (or null)'
            USING ERRCODE = 'NS006', COLUMN = 'max_per_member_per_bucket';
    END IF;
    IF cap <> 'null' THEN
        -- stored as an integer (100.0 becomes 100), so it reads back as bigint
        cap := to_jsonb(cap::text::numeric::bigint);
    END IF;
    cur := COALESCE(settings -> 'currency', 'null');
    IF cur <> 'null' AND jsonb_typeof(cur) <> 'string' THEN
        RAISE EXCEPTION 'round setting "currency" must be a text label'
            USING ERRCODE = 'NS006', COLUMN = 'currency';
    END IF;
    under := COALESCE(settings -> 'underfunded', '"refund"');
    IF under NOT IN ('"refund"', '"keep"') THEN
        RAISE EXCEPTION 'round setting "underfunded" must be "refund" or "keep"'
            USING ERRCODE = 'NS006', COLUMN = 'underfunded';
    END IF;
    -- bucket_creation_closes_at: a timestamp with an explicit UTC offset
    -- (so it means the same instant in every session), kept as written
    closes := COALESCE(settings -> 'bucket_creation_closes_at', 'null');
    IF closes <> 'null' AND (jsonb_typeof(closes) <> 'string'
                             OR closes #>> '{}' !~ '^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)$') THEN
        RAISE EXCEPTION 'round setting "bucket_creation_closes_at" must be a timestamp with a UTC offset (or null)'
            USING ERRCODE = 'NS006',
                  HINT = 'Write it like "2027-03-01T12:00:00Z" or "2027-03-01 12:00:00+02".';
    END IF;
    FOREACH flag IN ARRAY ARRAY['accept_funding_at_min', 'allow_withdraw', 'hide_totals',
                                'allow_reopen_funding'] LOOP
        IF COALESCE(jsonb_typeof(settings -> flag), 'boolean') <> 'boolean' THEN
            RAISE EXCEPTION 'round setting "%" must be true or false', flag
                USING ERRCODE = 'NS006';
        END IF;
    END LOOP;
    RETURN jsonb_build_object('max_per_member_per_bucket', cap, 'currency', cur,
                              'underfunded', under,
                              'bucket_creation_closes_at', closes,
                              'accept_funding_at_min', COALESCE(settings -> 'accept_funding_at_min', 'false'),
                              'allow_withdraw', COALESCE(settings -> 'allow_withdraw', 'false'),
                              'hide_totals', COALESCE(settings -> 'hide_totals', 'false'),
                              'allow_reopen_funding', COALESCE(settings -> 'allow_reopen_funding', 'false'));
END
$$;
COMMENT ON FUNCTION enspiral.normalize_round_settings(jsonb) IS
    'Validates round settings (max_per_member_per_bucket, currency, underfunded = refund|keep, bucket_creation_closes_at, accept_funding_at_min, allow_withdraw, hide_totals, allow_reopen_funding) and returns them with defaults filled in';

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
    PRIMARY KEY (group_id, set_id),
    UNIQUE (set_id)
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
