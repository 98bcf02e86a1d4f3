------------------------------------------------------------------------------
-- Part 65: executable outcomes and catalyst elections.
-- doc/executable-outcomes.md is the reference.  A proposal carries effects,
-- declared while it is a draft (add_effect, each checked by a trial run that
-- is rolled back) and frozen with its settings when it is scheduled or
-- opens.  When its outcome is recorded and it passed (an election: for its
-- winners), the BEFORE INSERT trigger outcomes_effects applies them in the
-- transaction of the outcome, through the API functions a person would
-- call, with the proposal as the actor (enspiral.acting_proposal), all in
-- one subtransaction with the deferred coverage rule checked at once: a
-- refusal rolls every effect back and is recorded in the outcome instead.
------------------------------------------------------------------------------

------------------------------------------------------------------------------
-- The acting proposal (src/outcomes_effects.c)
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.act_as_proposal(group_id bigint, proposal_id bigint) RETURNS void
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_act_as_proposal';
COMMENT ON FUNCTION enspiral.act_as_proposal(bigint, bigint) IS
    'Internal: marks the proposal as the actor of the changes that follow in this subtransaction (NULL clears it); the mark lives in backend memory, so no setting can forge it';

CREATE FUNCTION enspiral.acting_proposal(group_id bigint) RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_acting_proposal';
COMMENT ON FUNCTION enspiral.acting_proposal(bigint) IS
    'The proposal whose effects are being applied in the group now, or NULL';

CREATE FUNCTION enspiral.proposal_required(group_id bigint, action text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF enspiral.acting_proposal(proposal_required.group_id) IS NULL THEN
        RAISE EXCEPTION 'action needs a passed proposal'
            USING ERRCODE = 'NS620',
                  DETAIL = format('Group %s gives may_%s the right proposal: no member, admin or application can do it alone.',
                                  group_id, action),
                  HINT = 'Declare the action as an effect of a proposal with enspiral.add_effect(); it is applied when the proposal passes.';
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.proposal_required(bigint, text) IS
    'Internal: raises NS620 unless the effects of a passed proposal of the group are being applied';

------------------------------------------------------------------------------
-- Declared effects
------------------------------------------------------------------------------

-- @triggers (tools/triggers.pl): proposal_effects_guard (65_outcomes),
--   proposal_effects_no_truncate (65_outcomes)
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
            RAISE EXCEPTION 'proposal effects are frozen'
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

------------------------------------------------------------------------------
-- Checking an effect
------------------------------------------------------------------------------

-- the value of one argument of an effect as text, type-checked; NS622
CREATE FUNCTION enspiral.effect_arg(effect jsonb, key text, type text, required boolean DEFAULT true)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := effect -> key;
    ok boolean;
BEGIN
    IF v IS NULL OR v = 'null' THEN
        IF required THEN
            RAISE EXCEPTION 'effect lacks a required argument'
                USING ERRCODE = 'NS622',
                      DETAIL = format('Effect %s needs the argument %s; the effect is %s.',
                                      effect ->> 'kind', key, effect);
        END IF;
        RETURN NULL;
    END IF;
    ok := CASE type
        WHEN 'id' THEN jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]{1,18}$'
        WHEN 'integer' THEN jsonb_typeof(v) = 'number' AND v::text ~ '^-?[0-9]{1,18}$'
        WHEN 'number' THEN jsonb_typeof(v) = 'number'
        WHEN 'text' THEN jsonb_typeof(v) = 'string' AND btrim(v #>> '{}') <> ''
        WHEN 'object' THEN jsonb_typeof(v) = 'object'
        WHEN 'ids' THEN jsonb_typeof(v) = 'array' AND jsonb_array_length(v) > 0
                        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
                                         WHERE jsonb_typeof(e) <> 'number' OR e::text !~ '^[0-9]{1,18}$')
        WHEN 'date' THEN jsonb_typeof(v) = 'string' AND v #>> '{}' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
        WHEN 'timestamptz' THEN jsonb_typeof(v) = 'string'
    END;
    IF ok AND type IN ('date', 'timestamptz') THEN
        BEGIN
            IF type = 'date' THEN
                PERFORM (v #>> '{}')::date;
            ELSE
                PERFORM (v #>> '{}')::timestamptz;
            END IF;
        EXCEPTION WHEN data_exception THEN
            ok := false;
        END;
    END IF;
    IF NOT ok THEN
        RAISE EXCEPTION 'effect argument has an invalid value'
            USING ERRCODE = 'NS622',
                  DETAIL = format('Argument %s of effect %s must be %s; the value is %s.', key, effect ->> 'kind',
                                  CASE type WHEN 'id' THEN 'an id' WHEN 'integer' THEN 'a whole number'
                                            WHEN 'number' THEN 'a number' WHEN 'text' THEN 'a non-empty text'
                                            WHEN 'object' THEN 'an object' WHEN 'ids' THEN 'a non-empty array of ids'
                                            WHEN 'date' THEN 'a date (YYYY-MM-DD)' ELSE 'a timestamp' END,
                                  v);
    END IF;
    RETURN v #>> '{}';
END
$$;
COMMENT ON FUNCTION enspiral.effect_arg(jsonb, text, text, boolean) IS
    'Internal: an argument of an effect as text after checking its JSON type (id, integer, number, text, object, ids, date, timestamptz); NS622 when missing or malformed';

-- the arguments each kind takes: required ones, then optional ones
CREATE FUNCTION enspiral.effect_kind_args(kind text, OUT required text[], OUT optional text[])
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r, o FROM (VALUES
        ('appoint_catalyst', '{member_id,starts_on}'::text[], '{months,days_per_week}'::text[]),
        ('end_catalyst_term', '{term_id,ends_on}', '{}'),
        ('grant_role', '{member_id,role}', '{}'),
        ('revoke_role', '{member_id,role}', '{}'),
        ('change_settings', '{settings}', '{}'),
        ('create_round', '{name,pool,opens_at,closes_at}', '{settings}'),
        ('top_up_round', '{round_id,amount}', '{}'),
        ('allocate', '{round_id}', '{member_ids}'),
        ('close_round', '{round_id}', '{}'),
        ('match_round', '{round_id,matching_pool}', '{method,cap}'),
        ('open_bucket', '{bucket_id}', '{}'),
        ('cancel_bucket', '{bucket_id}', '{}'),
        ('elect_catalysts', '{candidates,starts_on}', '{months,days_per_week}')) k(name, r, o)
     WHERE k.name = $1
$$;
COMMENT ON FUNCTION enspiral.effect_kind_args(text) IS
    'Internal: the required and optional arguments of an effect kind; no row for an unknown kind';

-- the term, round or bucket an effect names is one of the group's: the API
-- functions of terms, buckets and some round actions take no group
CREATE FUNCTION enspiral.require_effect_object(group_id bigint, effect jsonb)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF effect ? 'term_id' AND NOT EXISTS (
           SELECT 1 FROM enspiral.catalyst_terms t
            WHERE t.group_id = require_effect_object.group_id AND t.term_id = (effect ->> 'term_id')::bigint) THEN
        RAISE EXCEPTION 'catalyst term does not exist'
            USING ERRCODE = 'NS301',
                  DETAIL = format('Group %s has no catalyst term with id %s.', group_id, effect -> 'term_id');
    END IF;
    IF effect ? 'round_id' AND NOT EXISTS (
           SELECT 1 FROM enspiral.rounds r
            WHERE r.group_id = require_effect_object.group_id AND r.round_id = (effect ->> 'round_id')::bigint) THEN
        PERFORM enspiral.raise_not_found(group_id, 'round', (effect ->> 'round_id')::bigint);
    END IF;
    IF effect ? 'bucket_id' AND NOT EXISTS (
           SELECT 1 FROM enspiral.buckets b
            WHERE b.group_id = require_effect_object.group_id AND b.bucket_id = (effect ->> 'bucket_id')::bigint) THEN
        PERFORM enspiral.raise_not_found(group_id, 'bucket', (effect ->> 'bucket_id')::bigint);
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.require_effect_object(bigint, jsonb) IS
    'Internal: NS301, NS201 or NS202 unless the catalyst term, round or bucket an effect names (term_id, round_id, bucket_id) belongs to the group';

CREATE FUNCTION enspiral.check_effect(group_id bigint, p enspiral.proposals, effect jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind text := effect ->> 'kind';
    args record;
    extra text;
    candidates bigint[];
    passes boolean := p.method IN ('consent', 'count') OR p.settings ->> 'pass_share' IS NOT NULL;
BEGIN
    IF effect IS NULL OR jsonb_typeof(effect) <> 'object' THEN
        RAISE EXCEPTION 'an effect must be a JSON object'
            USING ERRCODE = 'NS622', HINT = 'Write {"kind": ..., arguments}.';
    END IF;
    SELECT * INTO args FROM enspiral.effect_kind_args(kind);
    IF args.required IS NULL THEN
        RAISE EXCEPTION 'unknown effect kind'
            USING ERRCODE = 'NS622',
                  DETAIL = format('The kind is %s.', coalesce(effect -> 'kind', 'null')),
                  HINT = 'Kinds are: appoint_catalyst, end_catalyst_term, grant_role, revoke_role, change_settings, create_round, top_up_round, allocate, close_round, match_round, open_bucket, cancel_bucket, elect_catalysts.';
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO extra
      FROM jsonb_object_keys(effect) k
     WHERE k <> 'kind' AND k <> ALL (args.required || args.optional);
    IF extra IS NOT NULL THEN
        RAISE EXCEPTION 'effect has an unknown argument'
            USING ERRCODE = 'NS622',
                  DETAIL = format('Effect %s does not take: %s.', kind, extra),
                  HINT = format('Effect %s takes: %s.', kind,
                                array_to_string(args.required || args.optional, ', '));
    END IF;
    CASE kind
    WHEN 'appoint_catalyst' THEN
        PERFORM enspiral.effect_arg(effect, 'member_id', 'id'), enspiral.effect_arg(effect, 'starts_on', 'date'),
                enspiral.effect_arg(effect, 'months', 'integer', false),
                enspiral.effect_arg(effect, 'days_per_week', 'number', false);
    WHEN 'end_catalyst_term' THEN
        PERFORM enspiral.effect_arg(effect, 'term_id', 'id'), enspiral.effect_arg(effect, 'ends_on', 'date');
    WHEN 'grant_role', 'revoke_role' THEN
        PERFORM enspiral.effect_arg(effect, 'member_id', 'id');
        PERFORM enspiral.check_role(enspiral.effect_arg(effect, 'role', 'text'));
    WHEN 'change_settings' THEN
        PERFORM enspiral.effect_arg(effect, 'settings', 'object');
    WHEN 'create_round' THEN
        PERFORM enspiral.effect_arg(effect, 'name', 'text'), enspiral.effect_arg(effect, 'pool', 'integer'),
                enspiral.effect_arg(effect, 'opens_at', 'timestamptz'),
                enspiral.effect_arg(effect, 'closes_at', 'timestamptz'),
                enspiral.effect_arg(effect, 'settings', 'object', false);
    WHEN 'top_up_round', 'allocate', 'close_round', 'match_round' THEN
        PERFORM enspiral.effect_arg(effect, 'amount', 'integer', kind = 'top_up_round'),
                enspiral.effect_arg(effect, 'member_ids', 'ids', false),
                enspiral.effect_arg(effect, 'matching_pool', 'integer', kind = 'match_round'),
                enspiral.effect_arg(effect, 'method', 'text', false),
                enspiral.effect_arg(effect, 'cap', 'integer', false),
                enspiral.effect_arg(effect, 'round_id', 'id');
    WHEN 'open_bucket', 'cancel_bucket' THEN
        PERFORM enspiral.effect_arg(effect, 'bucket_id', 'id');
    WHEN 'elect_catalysts' THEN
        PERFORM enspiral.effect_arg(effect, 'starts_on', 'date'),
                enspiral.effect_arg(effect, 'months', 'integer', false),
                enspiral.effect_arg(effect, 'days_per_week', 'number', false),
                enspiral.effect_arg(effect, 'candidates', 'ids');
        SELECT array_agg(e::bigint ORDER BY o) INTO candidates
          FROM jsonb_array_elements_text(effect -> 'candidates') WITH ORDINALITY x(e, o);
        IF cardinality(candidates) <> (SELECT count(DISTINCT c) FROM unnest(candidates) c) THEN
            RAISE EXCEPTION 'the candidates of an election must be distinct'
                USING ERRCODE = 'NS622', DETAIL = format('The candidates are %s.', effect -> 'candidates');
        END IF;
        IF p.method = 'stv' THEN
            IF p.options IS DISTINCT FROM candidates::text[] THEN
                RAISE EXCEPTION 'the options of an election must be its candidates'
                    USING ERRCODE = 'NS623',
                          DETAIL = format('Proposal %s has the options %s; the candidates are %s.',
                                          p.proposal_id, p.options, candidates::text[]),
                          HINT = 'Use enspiral.propose_election(), or options that are the candidates'' member ids in order.';
            END IF;
        ELSIF p.method <> 'consent' THEN
            RAISE EXCEPTION 'an election is decided by stv or by consent on a slate'
                USING ERRCODE = 'NS623', DETAIL = format('Proposal %s uses the method %s.', p.proposal_id, p.method);
        END IF;
        IF EXISTS (SELECT 1 FROM enspiral.proposal_effects e
                    WHERE e.group_id = check_effect.group_id AND e.proposal_id = p.proposal_id
                      AND e.effect ->> 'kind' = 'elect_catalysts') THEN
            RAISE EXCEPTION 'proposal is an election already'
                USING ERRCODE = 'NS623',
                      DETAIL = format('Proposal %s has an elect_catalysts effect.', p.proposal_id),
                      HINT = 'An election has one elect_catalysts effect.';
        END IF;
        RETURN effect;
    END CASE;
    PERFORM enspiral.require_effect_object(group_id, effect);
    IF NOT passes THEN
        RAISE EXCEPTION 'proposal cannot pass'
            USING ERRCODE = 'NS623',
                  DETAIL = format('Proposal %s uses the method %s, which decides no "passed", so the effect %s would never apply.',
                                  p.proposal_id, p.method, kind),
                  HINT = 'Effects other than elect_catalysts need the method consent or count, or the setting pass_share.';
    END IF;
    RETURN effect;
END
$$;
COMMENT ON FUNCTION enspiral.check_effect(bigint, enspiral.proposals, jsonb) IS
    'Internal: checks the form of an effect (kind, arguments, their types), that the objects it names belong to the group, and that the proposal''s method can decide it; NS622, NS623, or the unknown-object code';

------------------------------------------------------------------------------
-- Running an effect
------------------------------------------------------------------------------

-- one effect through the API a person would call; returns what it made.
-- winners: the members an election appoints (NULL: all candidates)
CREATE FUNCTION enspiral.run_effect(group_id bigint, proposal_id bigint, effect jsonb,
                                    winners bigint[] DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint := run_effect.group_id;
    kind text := effect ->> 'kind';
    terms jsonb := '[]';
    m bigint;
    id bigint;
BEGIN
    -- checked when declared; again here for rows written directly
    PERFORM enspiral.require_effect_object(gid, effect);
    CASE kind
    WHEN 'appoint_catalyst' THEN
        id := enspiral.appoint_catalyst(gid, (effect ->> 'member_id')::bigint, (effect ->> 'starts_on')::date,
                                        (effect ->> 'months')::integer,
                                        coalesce((effect ->> 'days_per_week')::numeric, 1));
        RETURN jsonb_build_object('term_id', id);
    WHEN 'end_catalyst_term' THEN
        PERFORM enspiral.end_catalyst_term((effect ->> 'term_id')::bigint, (effect ->> 'ends_on')::date);
    WHEN 'grant_role' THEN
        PERFORM enspiral.grant_role(gid, (effect ->> 'member_id')::bigint, effect ->> 'role');
    WHEN 'revoke_role' THEN
        PERFORM enspiral.revoke_role(gid, (effect ->> 'member_id')::bigint, effect ->> 'role');
    WHEN 'change_settings' THEN
        PERFORM enspiral.update_group_settings(gid, effect -> 'settings');
    WHEN 'create_round' THEN
        id := enspiral.create_round(gid, effect ->> 'name', (effect ->> 'pool')::bigint,
                                    (effect ->> 'opens_at')::timestamptz, (effect ->> 'closes_at')::timestamptz,
                                    coalesce(effect -> 'settings', '{}'));
        RETURN jsonb_build_object('round_id', id);
    WHEN 'top_up_round' THEN
        RETURN jsonb_build_object('transfer_id',
            enspiral.top_up_round(gid, (effect ->> 'round_id')::bigint, (effect ->> 'amount')::bigint));
    WHEN 'allocate', 'close_round', 'match_round' THEN
        IF kind = 'allocate' THEN
            RETURN jsonb_build_object('allocated', enspiral.allocate(
                (effect ->> 'round_id')::bigint,
                (SELECT array_agg(x.mid::bigint ORDER BY x.ord)
                   FROM jsonb_array_elements_text(effect -> 'member_ids') WITH ORDINALITY x(mid, ord))));
        ELSIF kind = 'close_round' THEN
            RETURN jsonb_build_object('closed', enspiral.close_round((effect ->> 'round_id')::bigint));
        END IF;
        RETURN jsonb_build_object('matched', enspiral.match_round(
            (effect ->> 'round_id')::bigint, (effect ->> 'matching_pool')::bigint,
            coalesce(effect ->> 'method', 'standard'), (effect ->> 'cap')::bigint));
    WHEN 'open_bucket', 'cancel_bucket' THEN
        IF kind = 'open_bucket' THEN
            PERFORM enspiral.open_bucket((effect ->> 'bucket_id')::bigint);
        ELSE
            RETURN jsonb_build_object('refunds', enspiral.cancel_bucket((effect ->> 'bucket_id')::bigint));
        END IF;
    WHEN 'elect_catalysts' THEN
        FOR m IN SELECT c::bigint FROM jsonb_array_elements_text(effect -> 'candidates') WITH ORDINALITY x(c, o)
                  WHERE winners IS NULL OR c::bigint = ANY (winners)
                  ORDER BY o
        LOOP
            id := enspiral.appoint_catalyst(gid, m, (effect ->> 'starts_on')::date,
                                            (effect ->> 'months')::integer,
                                            coalesce((effect ->> 'days_per_week')::numeric, 1));
            terms := terms || jsonb_build_object('member_id', m, 'term_id', id);
        END LOOP;
        RETURN jsonb_build_object('terms', terms);
    END CASE;
    RETURN '{}';
END
$$;
COMMENT ON FUNCTION enspiral.run_effect(bigint, bigint, jsonb, bigint[]) IS
    'Internal: applies one effect through the API function a person would call (appoint_catalyst, end_catalyst_term, grant_role, revoke_role, update_group_settings, create_round, top_up_round, allocate, close_round, match_round, open_bucket, cancel_bucket; an election appoints each winner) and returns the ids it made';

-- a trial run of an effect as the proposal would apply it now, rolled back:
-- the same rules refuse it with the same error (the commit-time coverage
-- rule is left to the close)
CREATE FUNCTION enspiral.try_effect(group_id bigint, proposal_id bigint, effect jsonb)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a round is matched after it closes: a match declared while the round
    -- runs is judged at the close of the proposal only
    IF effect ->> 'kind' = 'match_round' AND EXISTS (
           SELECT 1 FROM enspiral.rounds r
            WHERE r.group_id = try_effect.group_id AND r.round_id = (effect ->> 'round_id')::bigint
              AND r.closed_at IS NULL) THEN
        RETURN;
    END IF;
    BEGIN
        PERFORM enspiral.act_as_proposal(try_effect.group_id, try_effect.proposal_id);
        PERFORM enspiral.run_effect(try_effect.group_id, try_effect.proposal_id, effect);
        RAISE EXCEPTION 'trial run of an effect rolled back' USING ERRCODE = 'NS629';
    EXCEPTION WHEN SQLSTATE 'NS629' THEN
        NULL;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.try_effect(bigint, bigint, jsonb) IS
    'Internal: runs an effect as its proposal would now and rolls it back (NS629 never leaves it): any rule it breaks raises its own error; a match of a round still running is left to the close';

-- the rule refusal a member would meet if appointed now, or NULL
CREATE FUNCTION enspiral.appointment_refusal(group_id bigint, member_id bigint, starts_on date,
                                             months integer, days_per_week numeric)
    RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text;
BEGIN
    BEGIN
        PERFORM enspiral.appoint_catalyst(group_id, member_id, starts_on, months, days_per_week);
        RAISE EXCEPTION 'trial appointment rolled back' USING ERRCODE = 'NS629';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
        -- rights are the election's business, not the candidate's
        IF st IN ('NS629', 'NS620', 'NS501', 'NS502') THEN
            RETURN NULL;
        END IF;
        RETURN st;
    END;
END
$$;
COMMENT ON FUNCTION enspiral.appointment_refusal(bigint, bigint, date, integer, numeric) IS
    'Internal: the SQLSTATE of the catalyst rule that would refuse appointing the member now (not a member, term, overlap, service limit), or NULL; permissions are not judged';

------------------------------------------------------------------------------
-- Declaring effects
------------------------------------------------------------------------------

-- the draft proposal, locked, that an effect is declared on or removed from
CREATE FUNCTION enspiral.lock_draft_effects(group_id bigint, proposal_id bigint)
    RETURNS enspiral.proposals
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals;
BEGIN
    IF group_id IS NULL OR proposal_id IS NULL THEN
        RAISE EXCEPTION 'group_id and proposal_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    p := enspiral.lock_group_proposal(group_id, proposal_id);
    IF p.state <> 'draft' THEN
        RAISE EXCEPTION 'proposal effects are frozen'
            USING ERRCODE = 'NS621',
                  DETAIL = format('Proposal %s is %s; effects change only while it is a draft.',
                                  proposal_id, enspiral.effective_proposal_state(p.state, p.opens_at, p.closes_at)),
                  HINT = 'A scheduled proposal goes back to draft with enspiral.unschedule_proposal().';
    END IF;
    PERFORM enspiral.authorize(group_id, 'edit_proposal', p.author_id);
    RETURN p;
END
$$;
COMMENT ON FUNCTION enspiral.lock_draft_effects(bigint, bigint) IS
    'Internal: the proposal locked FOR NO KEY UPDATE (ordered with its opening), NS621 unless it is a draft, NS501 unless the actor may edit it';

CREATE FUNCTION enspiral.add_effect(group_id bigint, proposal_id bigint, effect jsonb)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.lock_draft_effects(group_id, proposal_id);
    e jsonb := enspiral.check_effect(group_id, p, effect);
    pos integer;
BEGIN
    PERFORM enspiral.try_effect(p.group_id, p.proposal_id, e);
    SELECT coalesce(max(x.position), 0) + 1 INTO pos FROM enspiral.proposal_effects x
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id;
    INSERT INTO enspiral.proposal_effects (group_id, proposal_id, position, effect, declared_by)
    VALUES (p.group_id, p.proposal_id, pos, e, enspiral.actor());
    PERFORM enspiral.emit_event(p.group_id, 'effect_declared', enspiral.actor(), proposal_id => p.proposal_id,
                                payload => jsonb_build_object('position', pos, 'effect', e));
    RETURN pos;
END
$$;
COMMENT ON FUNCTION enspiral.add_effect(bigint, bigint, jsonb) IS
    'Declares an effect of a draft proposal, applied when it passes, and returns its position; checked now (kind, arguments, objects of the group, a trial run through the same API and rules, rolled back); needs the right to edit the proposal';

CREATE FUNCTION enspiral.remove_effect(group_id bigint, proposal_id bigint, "position" integer)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.lock_draft_effects(group_id, proposal_id);
    e jsonb;
BEGIN
    DELETE FROM enspiral.proposal_effects x
     WHERE x.group_id = p.group_id AND x.proposal_id = p.proposal_id AND x.position = remove_effect.position
    RETURNING x.effect INTO e;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'proposal has no effect at this position'
            USING ERRCODE = 'NS624',
                  DETAIL = format('Proposal %s has no effect at position %s.', proposal_id, remove_effect.position);
    END IF;
    PERFORM enspiral.emit_event(p.group_id, 'effect_removed', enspiral.actor(), proposal_id => p.proposal_id,
                                payload => jsonb_build_object('position', remove_effect.position, 'effect', e));
END
$$;
COMMENT ON FUNCTION enspiral.remove_effect(bigint, bigint, integer) IS
    'Removes a declared effect of a draft proposal (the other positions stay); needs the right to edit the proposal';

CREATE FUNCTION enspiral.proposal_effects(group_id bigint, proposal_id bigint)
    RETURNS TABLE ("position" integer, kind text, effect jsonb, declared_at timestamptz, declared_by bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_proposal(proposal_effects.group_id, proposal_effects.proposal_id);
    RETURN QUERY
        SELECT x.position, x.effect ->> 'kind', x.effect, x.declared_at, x.declared_by
          FROM enspiral.proposal_effects x
         WHERE x.group_id = proposal_effects.group_id AND x.proposal_id = proposal_effects.proposal_id
         ORDER BY x.position;
END
$$;
COMMENT ON FUNCTION enspiral.proposal_effects(bigint, bigint) IS
    'The effects a proposal declares, in the order they apply';

------------------------------------------------------------------------------
-- Applying effects with the outcome
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.apply_effects(group_id bigint, proposal_id bigint, opening integer, outcome jsonb)
    RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gid bigint := apply_effects.group_id;
    pid bigint := apply_effects.proposal_id;
    p enspiral.proposals;
    e record;
    election boolean;
    winners bigint[];
    results jsonb := '[]';
    prev integer;
    pos integer;
    knd text;
    st text;
    msg text;
    det text;
    res jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enspiral.proposal_effects x WHERE x.group_id = gid AND x.proposal_id = pid) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO p FROM enspiral.proposals x WHERE x.group_id = gid AND x.proposal_id = pid;
    -- a proposal acts once: a later opening of one that acted does not repeat it
    SELECT o.opening INTO prev FROM enspiral.outcomes o
     WHERE o.group_id = gid AND o.proposal_id = pid AND o.outcome #>> '{effects,status}' = 'applied'
     ORDER BY o.opening LIMIT 1;
    IF FOUND THEN
        RETURN jsonb_build_object('status', 'already_applied', 'opening', prev);
    END IF;
    election := EXISTS (SELECT 1 FROM enspiral.proposal_effects x
                         WHERE x.group_id = gid AND x.proposal_id = pid
                           AND x.effect ->> 'kind' = 'elect_catalysts');
    IF election AND p.method = 'stv' AND (outcome ->> 'quorum_met') IS DISTINCT FROM 'false'
       AND (outcome ->> 'passed') IS DISTINCT FROM 'false' THEN
        SELECT array_agg(w::bigint ORDER BY o) INTO winners
          FROM jsonb_array_elements_text(coalesce(outcome -> 'elected', '[]')) WITH ORDINALITY x(w, o);
    ELSIF (outcome ->> 'passed') = 'true' THEN
        winners := NULL;    -- passed: every effect, an election's whole slate
    ELSE
        RETURN jsonb_build_object('status', 'not_passed');
    END IF;
    IF election AND p.method = 'stv' AND winners IS NULL THEN
        RETURN jsonb_build_object('status', 'not_passed');
    END IF;
    BEGIN
        PERFORM enspiral.act_as_proposal(gid, pid);
        FOR e IN SELECT x.position, x.effect FROM enspiral.proposal_effects x
                  WHERE x.group_id = gid AND x.proposal_id = pid ORDER BY x.position
        LOOP
            pos := e.position;
            knd := e.effect ->> 'kind';
            results := results || (jsonb_build_object('position', pos, 'kind', knd)
                                   || enspiral.run_effect(gid, pid, e.effect, winners));
        END LOOP;
        -- the commit-time rules, now, so that a refusal can still be recorded
        pos := NULL;
        knd := 'catalyst_coverage';
        -- (SET CONSTRAINTS by the name, which on Citus reaches the shard's
        -- constraint too, catalyst_terms_coverage_<shard id>)
        PERFORM enspiral.set_commit_rules(gid, ARRAY['catalyst_terms_coverage'], false);
        PERFORM enspiral.set_commit_rules(gid, ARRAY['catalyst_terms_coverage'], true);
        PERFORM enspiral.act_as_proposal(gid, NULL);
        res := jsonb_build_object('status', 'applied', 'results', results);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
        -- a conflict, a cancel or a broken server is no refusal: the close fails and can be retried
        IF left(st, 2) IN ('40', '53', '57', '58', 'XX') OR st IN ('55P03', '55006') THEN
            RAISE;
        END IF;
        res := jsonb_build_object('status', 'refused', 'position', pos, 'kind', knd,
                                  'sqlstate', st, 'message', msg, 'detail', nullif(det, ''));
    END;
    PERFORM enspiral.emit_event(gid, CASE res ->> 'status' WHEN 'applied' THEN 'effects_applied'
                                                            ELSE 'effects_refused' END,
                                NULL, proposal_id => pid,
                                payload => jsonb_build_object('opening', opening, 'acting_proposal_id', pid) || res);
    RETURN res;
END
$$;
COMMENT ON FUNCTION enspiral.apply_effects(bigint, bigint, integer, jsonb) IS
    'Internal: applies the effects of a proposal whose outcome is being recorded, if it passed (an election: for its winners), all in one subtransaction with the proposal acting and the coverage rule checked at once; returns what happened for the outcome (applied, refused with the error, not_passed, already_applied), NULL without effects';

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

CREATE FUNCTION enspiral.effect_results(group_id bigint, proposal_id bigint)
    RETURNS TABLE (opening integer, status text, "position" integer, kind text,
                   sqlstate text, message text, detail text, results jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p enspiral.proposals := enspiral.group_proposal(group_id, proposal_id);
BEGIN
    PERFORM enspiral.require_results_visible(p, 'closed');
    RETURN QUERY
        SELECT o.opening, o.outcome #>> '{effects,status}', (o.outcome #>> '{effects,position}')::integer,
               o.outcome #>> '{effects,kind}', o.outcome #>> '{effects,sqlstate}',
               o.outcome #>> '{effects,message}', o.outcome #>> '{effects,detail}',
               o.outcome #> '{effects,results}'
          FROM enspiral.outcomes o
         WHERE o.group_id = p.group_id AND o.proposal_id = p.proposal_id AND o.outcome ? 'effects'
         ORDER BY o.opening;
END
$$;
COMMENT ON FUNCTION enspiral.effect_results(bigint, bigint) IS
    'What the effects of a proposal did, one row per recorded opening: applied (results: the ids made), refused (the effect and the error: SQLSTATE, message, detail), not_passed or already_applied';

------------------------------------------------------------------------------
-- Catalyst elections
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.propose_election(group_id bigint, author_id bigint, title text,
                                          candidates bigint[], starts_on date,
                                          seats integer DEFAULT NULL, months integer DEFAULT NULL,
                                          days_per_week numeric DEFAULT 1, method text DEFAULT 'stv',
                                          settings jsonb DEFAULT '{}', details text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pid bigint;
    effect jsonb;
BEGIN
    IF candidates IS NULL OR cardinality(candidates) = 0 OR array_position(candidates, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'an election needs candidates'
            USING ERRCODE = 'NS622', DETAIL = format('The candidates are %s.', coalesce(candidates::text, 'NULL'));
    END IF;
    IF method = 'consent' AND seats IS DISTINCT FROM NULL AND seats <> cardinality(candidates) THEN
        RAISE EXCEPTION 'a consent election appoints its whole slate'
            USING ERRCODE = 'NS623',
                  DETAIL = format('The slate has %s candidates; seats is %s.', cardinality(candidates), seats),
                  HINT = 'Use the method stv to elect fewer seats than candidates.';
    END IF;
    IF method IS DISTINCT FROM 'stv' AND method IS DISTINCT FROM 'consent' THEN
        RAISE EXCEPTION 'an election is decided by stv or by consent on a slate'
            USING ERRCODE = 'NS623', DETAIL = format('The method is %s.', coalesce(method, 'NULL'));
    END IF;
    pid := enspiral.propose(group_id, author_id, title, method,
                            CASE WHEN method = 'stv' THEN candidates::text[] END,
                            CASE WHEN method = 'stv'
                                 THEN coalesce(settings, '{}') || jsonb_build_object('seats', coalesce(seats, 1))
                                 ELSE settings END,
                            details);
    effect := jsonb_build_object('kind', 'elect_catalysts', 'candidates', to_jsonb(candidates),
                                 'starts_on', starts_on, 'months', months, 'days_per_week', days_per_week);
    PERFORM enspiral.add_effect(group_id, pid, jsonb_strip_nulls(effect));
    RETURN pid;
END
$$;
COMMENT ON FUNCTION enspiral.propose_election(bigint, bigint, text, bigint[], date, integer, integer, numeric, text, jsonb, text) IS
    'Drafts a catalyst election: a proposal whose options are the candidates'' member ids (stv for seats winners, default 1) or a consent proposal on the whole slate, with an elect_catalysts effect appointing the winners from starts_on; every candidate is checked against the catalyst rules now (and again at the close)';

CREATE FUNCTION enspiral.draft_elections(group_id bigint, author_id bigint, from_date date, to_date date,
                                         method text DEFAULT 'stv')
    RETURNS TABLE (proposal_id bigint, starts_on date, months integer, seats integer, candidates bigint[])
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gap record;
    dpw numeric;
BEGIN
    IF group_id IS NULL OR author_id IS NULL OR from_date IS NULL OR to_date IS NULL THEN
        RAISE EXCEPTION 'group_id, author_id, from_date and to_date must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT greatest(1, (g.settings ->> 'catalyst_min_days_per_week')::numeric) INTO dpw
      FROM enspiral.groups g WHERE g.group_id = draft_elections.group_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    FOR gap IN SELECT r.starts_on, r.months, count(*)::integer AS seats,
                      array_agg(r.member_id ORDER BY r.member_id) AS planned
                 FROM enspiral.plan_rotation(draft_elections.group_id, from_date, to_date) r
                GROUP BY r.starts_on, r.months
                ORDER BY r.starts_on, r.months
    LOOP
        IF method = 'consent' THEN
            candidates := gap.planned;     -- the planner's choice, as a slate
        ELSE
            -- every member the rules would let serve then, fewest months first
            SELECT array_agg(s.member_id ORDER BY s.months_served, s.member_id) INTO candidates
              FROM enspiral.catalyst_service(draft_elections.group_id, gap.starts_on) s
             WHERE s.eligible AND NOT s.serving
               AND enspiral.appointment_refusal(draft_elections.group_id, s.member_id, gap.starts_on,
                                                gap.months, dpw) IS NULL;
        END IF;
        CONTINUE WHEN candidates IS NULL;
        starts_on := gap.starts_on;
        months := gap.months;
        seats := least(gap.seats, cardinality(candidates));
        proposal_id := enspiral.propose_election(draft_elections.group_id, author_id,
                                                 format('Catalysts from %s', gap.starts_on), candidates,
                                                 gap.starts_on, seats, gap.months, dpw, method);
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION enspiral.draft_elections(bigint, bigint, date, date, text) IS
    'Drafts one election per start date plan_rotation proposes in [from_date, to_date): seats as many as it plans, candidates every member the catalyst rules would let serve then (stv), or the planned members as a slate (consent); returns the drafts';

REVOKE ALL ON enspiral.proposal_effects FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.act_as_proposal(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.proposal_required(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.proposal_effects_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.effect_arg(jsonb, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.effect_kind_args(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.require_effect_object(bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.check_effect(bigint, enspiral.proposals, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.run_effect(bigint, bigint, jsonb, bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.try_effect(bigint, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.appointment_refusal(bigint, bigint, date, integer, numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.lock_draft_effects(bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.apply_effects(bigint, bigint, integer, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION enspiral.outcomes_effects() FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('enspiral.proposal_effects', '');
