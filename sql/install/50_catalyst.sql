------------------------------------------------------------------------------
-- Catalyst rotation (doc/catalysts.md): terms, service limits and coverage
-- enforced by triggers in C, and a planner for the next rotation.
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.catalyst_term_end(starts_on date, months integer) RETURNS date
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_term_end';
COMMENT ON FUNCTION enspiral.catalyst_term_end(date, integer) IS
    'Planned end (exclusive) of a catalyst term of the given whole months: starts_on + months, as date + interval computes it (Jan 31 + 1 month = Feb 28 or 29)';

CREATE FUNCTION enspiral.catalyst_months_begun(starts_on date, ends_on date) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_months_begun';
COMMENT ON FUNCTION enspiral.catalyst_months_begun(date, date) IS
    'Whole months begun in [starts_on, ends_on): the least k with starts_on + k months >= ends_on (what a term counts toward the service limit)';

CREATE TABLE enspiral.catalyst_groups (
    group_id    bigint NOT NULL REFERENCES enspiral.groups,
    changes     bigint NOT NULL DEFAULT 0 CHECK (changes >= 0),
    changed_at  timestamptz,
    PRIMARY KEY (group_id)
);
COMMENT ON TABLE enspiral.catalyst_groups IS
    'One row per group whose catalyst terms changed: every transaction that changes the terms upserts it first, which serializes the rule checks of a group (changes counts those transactions)';

-- @triggers (tools/triggers.pl): catalyst_terms_guard (50_catalyst),
--   catalyst_terms_changes (50_catalyst),
--   catalyst_terms_coverage (50_catalyst),
--   catalyst_terms_no_truncate (50_catalyst),
--   catalyst_terms_events (70_events)
CREATE TABLE enspiral.catalyst_terms (
    group_id        bigint NOT NULL,
    term_id         bigint GENERATED ALWAYS AS IDENTITY,
    member_id       bigint NOT NULL,
    starts_on       date NOT NULL,
    months          integer NOT NULL CHECK (months >= 1),
    days_per_week   numeric NOT NULL CHECK (days_per_week > 0 AND days_per_week <= 7),
    ended_on        date,
    planned_ends_on date NOT NULL
                    GENERATED ALWAYS AS (enspiral.catalyst_term_end(starts_on, months)) STORED,
    period          daterange NOT NULL
                    GENERATED ALWAYS AS (pg_catalog.daterange(starts_on,
                        COALESCE(ended_on, enspiral.catalyst_term_end(starts_on, months)))) STORED,
    months_counted  integer NOT NULL
                    GENERATED ALWAYS AS (enspiral.catalyst_months_begun(starts_on,
                        COALESCE(ended_on, enspiral.catalyst_term_end(starts_on, months)))) STORED,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (group_id, term_id),
    FOREIGN KEY (group_id, member_id) REFERENCES enspiral.members,
    CHECK (ended_on IS NULL OR ended_on > starts_on),
    CHECK (ended_on IS NULL OR ended_on < enspiral.catalyst_term_end(starts_on, months)),
    EXCLUDE USING gist (group_id WITH OPERATOR(pg_catalog.=),
                        member_id WITH OPERATOR(pg_catalog.=),
                        period WITH OPERATOR(pg_catalog.&&))
);
COMMENT ON TABLE enspiral.catalyst_terms IS
    'Catalyst terms: member_id serves from starts_on for months whole months, or until ended_on when ended early; period is the coverage [starts_on, ended_on or planned_ends_on)';
-- part 80_citus: a plain index instead of UNIQUE (id), so the table can be
-- distributed by group_id (doc/scaling.md)
CREATE INDEX catalyst_terms_term_id_idx ON enspiral.catalyst_terms (term_id);
COMMENT ON INDEX enspiral.catalyst_terms_term_id_idx IS
    'Lookups by term_id alone (0.1.0 calls that name no group); ids are unique through the identity sequence';
COMMENT ON COLUMN enspiral.catalyst_terms.months IS
    'Planned length in whole months (1 .. catalyst_term_months)';
COMMENT ON COLUMN enspiral.catalyst_terms.ended_on IS
    'First day no longer served when the term was ended early; NULL when it runs to planned_ends_on';
COMMENT ON COLUMN enspiral.catalyst_terms.period IS
    'Days actually covered: [starts_on, COALESCE(ended_on, planned_ends_on))';
COMMENT ON COLUMN enspiral.catalyst_terms.months_counted IS
    'Months counted toward the service limit: whole months begun in period';

CREATE INDEX catalyst_terms_ends ON enspiral.catalyst_terms
    (group_id, (pg_catalog.upper(period)));
COMMENT ON INDEX enspiral.catalyst_terms_ends IS
    'Finds the terms of a group that run past a day (coverage from today on) without reading its history';

CREATE INDEX catalyst_terms_member ON enspiral.catalyst_terms (group_id, member_id, starts_on);
COMMENT ON INDEX enspiral.catalyst_terms_member IS
    'A member''s terms in a group (service limit, planner)';

CREATE FUNCTION enspiral.catalyst_terms_guard() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_terms_guard';
COMMENT ON FUNCTION enspiral.catalyst_terms_guard() IS
    'Trigger: takes the group''s catalyst lock and enforces the row rules (length, days a week, current member, no overlap, service limit, only an early end may change, only unbegun terms are cancelled)';

CREATE FUNCTION enspiral.catalyst_terms_record() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_terms_record';
COMMENT ON FUNCTION enspiral.catalyst_terms_record() IS
    'Trigger: remembers, in backend memory for the transaction, the periods each change removed and added (the coverage check rebuilds the state before the transaction from them)';

-- SECURITY DEFINER: a deferred trigger fires at COMMIT with the rights of
-- the role committing (an application role that may not read the tables),
-- not those of the API function that made the change.
CREATE FUNCTION enspiral.catalyst_terms_check() RETURNS trigger
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_terms_check';
COMMENT ON FUNCTION enspiral.catalyst_terms_check() IS
    'Deferred constraint trigger: the coverage rule, once per changed group at commit';

CREATE FUNCTION enspiral.catalyst_terms_no_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_trigger_table(TG_RELID, TG_NAME, 'catalyst_terms_no_truncate', 'enspiral.catalyst_terms');
    RAISE EXCEPTION 'catalyst terms cannot be truncated'
        USING ERRCODE = 'NS007',
              HINT = 'End terms with enspiral.end_catalyst_term(); cancel unbegun ones with enspiral.cancel_catalyst_term().';
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_terms_no_truncate() IS
    'Trigger: TRUNCATE would bypass the catalyst rules';

CREATE TRIGGER catalyst_terms_guard
    BEFORE INSERT OR UPDATE OR DELETE ON enspiral.catalyst_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_guard();
-- AFTER row triggers of one row fire in name order: catalyst_terms_changes
-- must record a change before catalyst_terms_coverage checks it (which
-- matters under SET CONSTRAINTS ... IMMEDIATE)
CREATE TRIGGER catalyst_terms_changes
    AFTER INSERT OR UPDATE OR DELETE ON enspiral.catalyst_terms
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_record();
CREATE CONSTRAINT TRIGGER catalyst_terms_coverage
    AFTER INSERT OR UPDATE OR DELETE ON enspiral.catalyst_terms
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_terms_check();
CREATE TRIGGER catalyst_terms_no_truncate
    BEFORE TRUNCATE ON enspiral.catalyst_terms
    FOR EACH STATEMENT EXECUTE FUNCTION enspiral.catalyst_terms_no_truncate();
COMMENT ON TRIGGER catalyst_terms_guard ON enspiral.catalyst_terms IS
    'Row rules of catalyst terms, checked under the group''s catalyst lock';
COMMENT ON TRIGGER catalyst_terms_changes ON enspiral.catalyst_terms IS
    'Remembers each change''s periods for the commit-time coverage check';
COMMENT ON TRIGGER catalyst_terms_coverage ON enspiral.catalyst_terms IS
    'The coverage rule, deferred to commit (SET CONSTRAINTS enspiral.catalyst_terms_coverage IMMEDIATE checks earlier)';
COMMENT ON TRIGGER catalyst_terms_no_truncate ON enspiral.catalyst_terms IS
    'TRUNCATE would bypass the catalyst rules';
COMMENT ON SEQUENCE enspiral.catalyst_terms_term_id_seq IS 'Identity of enspiral.catalyst_terms.term_id';

CREATE FUNCTION enspiral.catalyst_member_left() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_member_left';
COMMENT ON FUNCTION enspiral.catalyst_member_left() IS
    'Trigger on memberships: a member who leaves has their terms ended on the day they left (unbegun terms cancelled); exempt from the coverage rule';

CREATE TRIGGER catalyst_member_left
    AFTER UPDATE OF left_at ON enspiral.memberships
    FOR EACH ROW WHEN (OLD.left_at IS NULL AND NEW.left_at IS NOT NULL)
    EXECUTE FUNCTION enspiral.catalyst_member_left();
COMMENT ON TRIGGER catalyst_member_left ON enspiral.memberships IS
    'A member who leaves has their catalyst terms ended (unbegun ones cancelled)';

CREATE FUNCTION enspiral.catalyst_member_rejoined() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_member_rejoined';
COMMENT ON FUNCTION enspiral.catalyst_member_rejoined() IS
    'Trigger on memberships: a member who rejoins in the transaction that removed them undoes the departure, so its term changes are checked by the coverage rule';
REVOKE ALL ON FUNCTION enspiral.catalyst_member_rejoined() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER catalyst_member_rejoined
    AFTER INSERT ON enspiral.memberships
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION enspiral.catalyst_member_rejoined();
COMMENT ON TRIGGER catalyst_member_rejoined ON enspiral.memberships IS
    'A departure undone in the same transaction is not exempt from the coverage rule (checked at commit)';

------------------------------------------------------------------------------
-- API
------------------------------------------------------------------------------

CREATE FUNCTION enspiral.appoint_catalyst(group_id bigint, member_id bigint, starts_on date,
                                          months integer DEFAULT NULL,
                                          days_per_week numeric DEFAULT 1)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint;
BEGIN
    IF group_id IS NULL OR member_id IS NULL OR starts_on IS NULL OR days_per_week IS NULL THEN
        RAISE EXCEPTION 'group_id, member_id, starts_on and days_per_week must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF months IS NULL THEN
        SELECT (g.settings ->> 'catalyst_term_months')::integer INTO months
          FROM enspiral.groups g WHERE g.group_id = appoint_catalyst.group_id;
        IF NOT FOUND THEN
            PERFORM enspiral.raise_not_found(group_id, 'group');
        END IF;
    END IF;
    INSERT INTO enspiral.catalyst_terms (group_id, member_id, starts_on, months, days_per_week)
    VALUES (appoint_catalyst.group_id, appoint_catalyst.member_id, appoint_catalyst.starts_on,
            appoint_catalyst.months, appoint_catalyst.days_per_week)
    RETURNING term_id INTO tid;
    RETURN tid;
END
$$;
COMMENT ON FUNCTION enspiral.appoint_catalyst(bigint, bigint, date, integer, numeric) IS
    'Appoints a member catalyst for months whole months (default: the group''s term length) from starts_on and returns the term id; coverage is checked at commit';

-- the term row, locked, or NS301
CREATE FUNCTION enspiral.catalyst_term_for_update(term_id bigint)
    RETURNS enspiral.catalyst_terms
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t enspiral.catalyst_terms;
    gid bigint;
BEGIN
    IF term_id IS NULL THEN
        RAISE EXCEPTION 'term_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- the group first, then the row locked by its key (part 80_citus: Citus
    -- locks rows only by the distribution column)
    SELECT c.group_id INTO gid FROM enspiral.catalyst_terms c
     WHERE c.term_id = catalyst_term_for_update.term_id;
    SELECT * INTO t FROM enspiral.catalyst_terms c
     WHERE c.group_id = gid AND c.term_id = catalyst_term_for_update.term_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'catalyst term does not exist'
            USING ERRCODE = 'NS301',
                  DETAIL = pg_catalog.format('No catalyst term has id %s.', term_id);
    END IF;
    RETURN t;
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_term_for_update(bigint) IS
    'Internal: the catalyst term row locked FOR UPDATE, or NS301 when it does not exist';

CREATE FUNCTION enspiral.end_catalyst_term(term_id bigint, ends_on date)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t enspiral.catalyst_terms;
BEGIN
    IF ends_on IS NULL THEN
        RAISE EXCEPTION 'ends_on must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    t := enspiral.catalyst_term_for_update(term_id);
    UPDATE enspiral.catalyst_terms c SET ended_on = end_catalyst_term.ends_on
     WHERE c.group_id = t.group_id AND c.term_id = t.term_id;
END
$$;
COMMENT ON FUNCTION enspiral.end_catalyst_term(bigint, date) IS
    'Ends a catalyst term early: it then covers [starts_on, ends_on); ends_on is today or later and before the current end; coverage is checked at commit';

CREATE FUNCTION enspiral.cancel_catalyst_term(term_id bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t enspiral.catalyst_terms;
BEGIN
    t := enspiral.catalyst_term_for_update(term_id);
    DELETE FROM enspiral.catalyst_terms c
     WHERE c.group_id = t.group_id AND c.term_id = t.term_id;
END
$$;
COMMENT ON FUNCTION enspiral.cancel_catalyst_term(bigint) IS
    'Cancels a catalyst term that has not begun (starts after today); coverage is checked at commit';

CREATE FUNCTION enspiral.catalyst_coverage(group_id bigint, from_date date, to_date date)
    RETURNS TABLE (period daterange, catalysts integer)
    LANGUAGE c STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_catalyst_coverage';
COMMENT ON FUNCTION enspiral.catalyst_coverage(bigint, date, date) IS
    'Consecutive periods tiling [from_date, to_date), each with its number of serving catalysts (a sweep over term boundaries)';

CREATE FUNCTION enspiral.catalyst_gaps(group_id bigint, from_date date, to_date date)
    RETURNS TABLE (period daterange, catalysts integer)
    LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- PL/pgSQL, not LANGUAGE sql: Citus plans the queries with the values
    -- (doc/scaling.md)
    min_catalysts integer;
BEGIN
    SELECT (g.settings ->> 'min_catalysts')::integer INTO min_catalysts
      FROM enspiral.groups g WHERE g.group_id = catalyst_gaps.group_id;
    -- here, not only in catalyst_coverage(): with the NULL minimum of a
    -- missing group, a custom plan (Citus plans with the values) drops the
    -- call of catalyst_coverage() below
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    RETURN QUERY
    SELECT c.period, c.catalysts
      FROM enspiral.catalyst_coverage(catalyst_gaps.group_id, catalyst_gaps.from_date,
                                      catalyst_gaps.to_date) c
     WHERE c.catalysts < min_catalysts
     ORDER BY c.period;
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_gaps(bigint, date, date) IS
    'The periods of [from_date, to_date) with fewer than min_catalysts serving catalysts';

CREATE FUNCTION enspiral.catalyst_service(group_id bigint, as_of date DEFAULT CURRENT_DATE)
    RETURNS TABLE (member_id bigint, months_served integer, months_left integer,
                   serving boolean, eligible boolean)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_months integer;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT (g.settings ->> 'catalyst_max_months')::integer INTO max_months
      FROM enspiral.groups g WHERE g.group_id = catalyst_service.group_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    RETURN QUERY
    WITH people AS (
        SELECT ms.member_id FROM enspiral.memberships ms
         WHERE ms.group_id = catalyst_service.group_id AND ms.left_at IS NULL
        UNION
        SELECT t.member_id FROM enspiral.catalyst_terms t
         WHERE t.group_id = catalyst_service.group_id
    ), totals AS (
        SELECT p.member_id,
               COALESCE(sum(CASE WHEN t.starts_on <= as_of
                                 THEN enspiral.catalyst_months_begun(t.starts_on,
                                          LEAST(upper(t.period), as_of + 1)) END), 0)::integer AS served,
               COALESCE(sum(t.months_counted), 0)::integer AS counted,
               COALESCE(bool_or(t.period @> as_of), false) AS serving
          FROM people p
          LEFT JOIN enspiral.catalyst_terms t
            ON t.group_id = catalyst_service.group_id AND t.member_id = p.member_id
         GROUP BY p.member_id
    )
    SELECT s.member_id, s.served, GREATEST(max_months - s.counted, 0), s.serving,
           max_months > s.counted AND EXISTS (
               SELECT 1 FROM enspiral.memberships ms
                WHERE ms.group_id = catalyst_service.group_id
                  AND ms.member_id = s.member_id AND ms.left_at IS NULL)
      FROM totals s
     ORDER BY s.member_id;
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_service(bigint, date) IS
    'Per member (current members and anyone who served): months begun by as_of, months left under the limit (planned terms counted), serving on as_of, eligible for a new term (current member with months left)';

CREATE FUNCTION enspiral.plan_rotation(group_id bigint, from_date date, to_date date)
    RETURNS TABLE (member_id bigint, starts_on date, months integer)
    LANGUAGE c STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_plan_rotation';
COMMENT ON FUNCTION enspiral.plan_rotation(bigint, date, date) IS
    'Proposed appointments that close every gap of [greatest(from_date, today), to_date): each gap filled greedily by eligible members with the fewest counted months, then longest since their last term, then lowest id';

CREATE FUNCTION enspiral.catalyst_timeline(group_id bigint, from_date date, to_date date,
                                           width integer DEFAULT 72)
    RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ndays integer;
    step integer;
    ncols integer;
    min_cat integer;
    line text;
    gapline text;
    m record;
BEGIN
    IF group_id IS NULL OR from_date IS NULL OR to_date IS NULL OR width IS NULL THEN
        RAISE EXCEPTION 'arguments must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT isfinite(from_date) OR NOT isfinite(to_date) THEN
        RAISE EXCEPTION 'from_date and to_date must be finite' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    ndays := to_date - from_date;
    IF width < 1 OR width > 1000 THEN
        RAISE EXCEPTION 'width must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT (g.settings ->> 'min_catalysts')::integer INTO min_cat
      FROM enspiral.groups g WHERE g.group_id = catalyst_timeline.group_id;
    IF NOT FOUND THEN
        PERFORM enspiral.raise_not_found(group_id, 'group');
    END IF;
    IF ndays IS NULL OR ndays <= 0 THEN
        RAISE EXCEPTION 'from_date must be before to_date' USING ERRCODE = 'NS403', COLUMN = 'to_date';
    END IF;
    step := (ndays + width - 1) / width;
    ncols := (ndays + step - 1) / step;
    RETURN NEXT format('%-12s %s .. %s, one column = %s day%s', 'timeline', from_date,
                       to_date - 1, step, CASE WHEN step = 1 THEN '' ELSE 's' END);
    -- month ruler: the first letter of a month in the column where it starts
    SELECT string_agg(COALESCE((SELECT substr(to_char(d, 'FMMonth'), 1, 1)
                                  FROM generate_series(from_date + c * step,
                                                       LEAST(from_date + (c + 1) * step, to_date) - 1,
                                                       interval '1 day') d
                                 WHERE extract(day FROM d) = 1 LIMIT 1), ' '), '' ORDER BY c)
      INTO line FROM generate_series(0, ncols - 1) c;
    RETURN NEXT format('%-12s %s', 'month', line);
    -- one line per member: # serves the whole column, + part of it
    FOR m IN SELECT t.member_id FROM enspiral.catalyst_terms t
              WHERE t.group_id = catalyst_timeline.group_id
                AND t.period && daterange(from_date, to_date)
              GROUP BY t.member_id ORDER BY min(lower(t.period)), t.member_id LOOP
        SELECT string_agg(CASE WHEN covered = cdays THEN '#' WHEN covered > 0 THEN '+' ELSE '.' END,
                          '' ORDER BY c)
          INTO line
          FROM (SELECT c, LEAST(from_date + (c + 1) * step, to_date) - (from_date + c * step) AS cdays,
                       COALESCE((SELECT sum(upper(r) - lower(r))
                                   FROM (SELECT t.period * daterange(from_date + c * step,
                                                    LEAST(from_date + (c + 1) * step, to_date)) AS r
                                           FROM enspiral.catalyst_terms t
                                          WHERE t.group_id = catalyst_timeline.group_id
                                            AND t.member_id = m.member_id) x
                                  WHERE NOT isempty(r)), 0) AS covered
                  FROM generate_series(0, ncols - 1) c) cols;
        RETURN NEXT format('%-12s %s', 'member ' || m.member_id, line);
    END LOOP;
    -- the fewest catalysts on any day of each column, and where that is a gap
    WITH cov AS MATERIALIZED (
        SELECT v.period, v.catalysts
          FROM enspiral.catalyst_coverage(catalyst_timeline.group_id, from_date, to_date) v
    ), cols AS (
        SELECT c, (SELECT min(cov.catalysts) FROM cov
                    WHERE cov.period && daterange(from_date + c * step,
                                                  LEAST(from_date + (c + 1) * step, to_date))) AS n
          FROM generate_series(0, ncols - 1) c
    )
    SELECT string_agg(CASE WHEN n > 9 THEN '*' ELSE n::text END, '' ORDER BY c),
           string_agg(CASE WHEN n < min_cat THEN '!' ELSE ' ' END, '' ORDER BY c)
      INTO line, gapline
      FROM cols;
    RETURN NEXT format('%-12s %s', 'catalysts', line);
    RETURN NEXT rtrim(format('%-12s %s', 'gaps (<' || min_cat || ')', gapline));
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_timeline(bigint, date, date, integer) IS
    'Text drawing of catalyst_coverage over [from_date, to_date): a line per member (# serving the whole column, + part of it), the fewest catalysts per column and the gaps';

-- catalyst_groups holds locks and a counter, no data to keep: dumped empty
-- (so a restore, even a parallel one, never collides with the rows the
-- triggers create while terms are restored)
SELECT pg_catalog.pg_extension_config_dump('enspiral.catalyst_groups', 'WHERE false');
SELECT pg_catalog.pg_extension_config_dump('enspiral.catalyst_terms', '');
SELECT pg_catalog.pg_extension_config_dump('enspiral.catalyst_terms_term_id_seq', '');
