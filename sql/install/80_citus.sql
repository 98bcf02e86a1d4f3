------------------------------------------------------------------------------
-- Part 80: running sharded by group on Citus (doc/scaling.md).
-- Nothing here runs on a single node: enspiral.distribute() is called by the
-- administrator after CREATE EXTENSION on a Citus coordinator.
------------------------------------------------------------------------------

-- Group-first forms of the 0.1.0 calls that name no group (doc/scaling.md):
-- the same rules and messages, plus "does not exist in group" when the
-- object is in another group.  On Citus enspiral.distribute() delegates them
-- to the node of the group.  (The last argument has no default, so 0.1.0
-- calls with untyped literals still resolve to the 0.1.0 function.)

CREATE FUNCTION enspiral.vote(group_id bigint, proposal_id bigint, member_id bigint,
                              ballot jsonb, reason text)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_vote_in_group';
COMMENT ON FUNCTION enspiral.vote(bigint, bigint, bigint, jsonb, text) IS
    'Group-first vote(): casts a member''s vote on an open proposal of the group (reason may be NULL); returns the vote id, NULL for anonymous ballots';

CREATE FUNCTION enspiral.contribute(group_id bigint, bucket_id bigint, member_id bigint,
                                    amount bigint, idempotency_key text)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_contribute_in_group';
COMMENT ON FUNCTION enspiral.contribute(bigint, bigint, bigint, bigint, text) IS
    'Group-first contribute(): moves amount from the member''s account to an open bucket of the group (idempotency_key may be NULL); returns the transfer id; a refusal raises';

CREATE FUNCTION enspiral.try_contribute(group_id bigint, bucket_id bigint, member_id bigint,
                                        amount bigint, idempotency_key text)
    RETURNS bigint
    LANGUAGE c SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_try_contribute_in_group';
COMMENT ON FUNCTION enspiral.try_contribute(bigint, bigint, bigint, bigint, text) IS
    'Group-first try_contribute(): like contribute(group_id, ...), but a refusal by a contribution rule returns NULL instead of raising';

CREATE FUNCTION enspiral.allocate(group_id bigint, round_id bigint, member_ids bigint[],
                                  weights numeric[])
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_round(allocate.group_id, allocate.round_id);
    RETURN enspiral.allocate(allocate.round_id, allocate.member_ids, allocate.weights);
END
$$;
COMMENT ON FUNCTION enspiral.allocate(bigint, bigint, bigint[], numeric[]) IS
    'Group-first allocate(): moves the whole undistributed pool of a round of the group to members (member_ids NULL: all current members equally; weights NULL: equal); returns the amount moved';

CREATE FUNCTION enspiral.close_round(group_id bigint, round_id bigint) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_round(close_round.group_id, close_round.round_id);
    RETURN enspiral.close_round(close_round.round_id);
END
$$;
COMMENT ON FUNCTION enspiral.close_round(bigint, bigint) IS
    'Group-first close_round(): closes a round of the group, deciding every open bucket; returns the number of refunds';

-- group_bucket_exists(): NS002 for an unknown group, NS202 for a bucket
-- that is not one of the group's
CREATE FUNCTION enspiral.group_bucket_exists(group_id bigint, bucket_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM enspiral.buckets b
                    WHERE b.group_id = group_bucket_exists.group_id
                      AND b.bucket_id = group_bucket_exists.bucket_id) THEN
        PERFORM enspiral.require_group(group_id);
        PERFORM enspiral.raise_not_found(group_id, 'bucket', bucket_id);
    END IF;
    PERFORM enspiral.note_group(group_id, 'buckets', bucket_id);
END
$$;
COMMENT ON FUNCTION enspiral.group_bucket_exists(bigint, bigint) IS
    'Internal: NS002 for an unknown group, NS202 when the bucket is not one of the group''s';

CREATE FUNCTION enspiral.open_bucket(group_id bigint, bucket_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_bucket_exists(open_bucket.group_id, open_bucket.bucket_id);
    PERFORM enspiral.open_bucket(open_bucket.bucket_id);
END
$$;
COMMENT ON FUNCTION enspiral.open_bucket(bigint, bigint) IS
    'Group-first open_bucket(): idea -> open for a bucket of the group';

CREATE FUNCTION enspiral.close_proposal(group_id bigint, proposal_id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_proposal(close_proposal.group_id, close_proposal.proposal_id);
    PERFORM enspiral.close_proposal(close_proposal.proposal_id);
END
$$;
COMMENT ON FUNCTION enspiral.close_proposal(bigint, bigint) IS
    'Group-first close_proposal(): closes an open proposal of the group now and records its outcome';

CREATE FUNCTION enspiral.open_proposal(group_id bigint, proposal_id bigint, closes_at timestamptz,
                                       opens_at timestamptz) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.group_proposal(open_proposal.group_id, open_proposal.proposal_id);
    PERFORM enspiral.open_proposal(open_proposal.proposal_id, open_proposal.closes_at,
                                   open_proposal.opens_at);
END
$$;
COMMENT ON FUNCTION enspiral.open_proposal(bigint, bigint, timestamptz, timestamptz) IS
    'Group-first open_proposal(): opens (opens_at NULL: now) or schedules a draft proposal of the group until closes_at';

-- catalyst_term_in_group(): NS002 for an unknown group, NS301 for a term
-- that is not one of the group's
CREATE FUNCTION enspiral.catalyst_term_in_group(group_id bigint, term_id bigint)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.require_group(catalyst_term_in_group.group_id);
    IF NOT EXISTS (SELECT 1 FROM enspiral.catalyst_terms c
                    WHERE c.group_id = catalyst_term_in_group.group_id
                      AND c.term_id = catalyst_term_in_group.term_id) THEN
        RAISE EXCEPTION 'catalyst term does not exist'
            USING ERRCODE = 'NS301',
                  DETAIL = pg_catalog.format('Group %s has no catalyst term %s.', group_id, term_id);
    END IF;
END
$$;
COMMENT ON FUNCTION enspiral.catalyst_term_in_group(bigint, bigint) IS
    'Internal: NS002 for an unknown group, NS301 when the catalyst term is not one of the group''s';

CREATE FUNCTION enspiral.end_catalyst_term(group_id bigint, term_id bigint, ends_on date)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.catalyst_term_in_group(end_catalyst_term.group_id, end_catalyst_term.term_id);
    PERFORM enspiral.end_catalyst_term(end_catalyst_term.term_id, end_catalyst_term.ends_on);
END
$$;
COMMENT ON FUNCTION enspiral.end_catalyst_term(bigint, bigint, date) IS
    'Group-first end_catalyst_term(): ends a catalyst term of the group early; coverage is checked at commit';

CREATE FUNCTION enspiral.cancel_catalyst_term(group_id bigint, term_id bigint)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM enspiral.catalyst_term_in_group(cancel_catalyst_term.group_id, cancel_catalyst_term.term_id);
    PERFORM enspiral.cancel_catalyst_term(cancel_catalyst_term.term_id);
END
$$;
COMMENT ON FUNCTION enspiral.cancel_catalyst_term(bigint, bigint) IS
    'Group-first cancel_catalyst_term(): cancels a catalyst term of the group that has not begun; coverage is checked at commit';

-- distribution_order(): the extension's tables, each after the tables its
-- foreign keys reference (groups first); every one is distributed by group_id
CREATE FUNCTION enspiral.distribution_order()
    RETURNS TABLE (table_name regclass, depth integer)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE t AS (
        SELECT c.oid
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_depend d
            ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
          JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'enspiral'
         WHERE c.relkind IN ('r', 'p')
    ), walk (oid, depth) AS (
        SELECT t.oid, 0 FROM t
        UNION ALL
        SELECT f.conrelid, w.depth + 1
          FROM walk w
          JOIN pg_catalog.pg_constraint f ON f.contype = 'f' AND f.confrelid = w.oid
         WHERE f.conrelid <> w.oid AND w.depth < 100
    )
    SELECT w.oid::pg_catalog.regclass, pg_catalog.max(w.depth)::integer
      FROM walk w
     GROUP BY w.oid
     ORDER BY w.oid::pg_catalog.regclass <> 'enspiral.groups'::pg_catalog.regclass, 2,
              1::pg_catalog.regclass::text
$$;
COMMENT ON FUNCTION enspiral.distribution_order() IS
    'The extension''s tables in the order enspiral.distribute() distributes them: each after every table its foreign keys reference';

-- group_elsewhere(): whether the group's shards are on another node (a
-- PL/pgSQL API function then runs its group-first form there:
-- close_proposal(proposal_id)); false on a single server
CREATE FUNCTION enspiral.group_elsewhere(group_id bigint) RETURNS boolean
    LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_group_elsewhere';
COMMENT ON FUNCTION enspiral.group_elsewhere(bigint) IS
    'True when enspiral''s tables are distributed (Citus) and the shards of the group are on another node; internal';
REVOKE EXECUTE ON FUNCTION enspiral.group_elsewhere(bigint) FROM PUBLIC;

-- note_group(): the group-first forms that call a 0.1.0 form note the group
-- they have checked, so that the 0.1.0 form's lookup of the row by its id
-- does not read every shard from the group's node (src/core_relaccess.c,
-- src/core_citus_prepare.c); nothing on a single server
CREATE FUNCTION enspiral.note_group(group_id bigint, table_name text, id bigint) RETURNS void
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_note_group';
COMMENT ON FUNCTION enspiral.note_group(bigint, text, bigint) IS
    'Internal: row id of enspiral.table_name (rounds, buckets, proposals) is in the group; remembered by the backend on a distributed table so lookups by id stay on the group''s node';
REVOKE EXECUTE ON FUNCTION enspiral.note_group(bigint, text, bigint) FROM PUBLIC;

-- noted_group(): the group noted for a row id in this backend, read by the
-- 0.1.0 forms' lookups by id (proposal_row()); NULL on a single server
CREATE FUNCTION enspiral.noted_group(table_name text, id bigint) RETURNS bigint
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_noted_group';
COMMENT ON FUNCTION enspiral.noted_group(text, bigint) IS
    'Internal: the group noted by note_group() for row id of enspiral.table_name in this backend, or NULL; lookups by id read that group''s shard only';
REVOKE EXECUTE ON FUNCTION enspiral.noted_group(text, bigint) FROM PUBLIC;

-- check_commit_rules(): the commit-time rules of the transaction, checked
-- now on this node.  Before Citus commits a transaction that the coordinator
-- ran (a transaction block, a call not delegated), the coordinator runs it on
-- every other node holding shards, routed by a group_id of that node, so a
-- refusal reaches the client with its own SQLSTATE (src/core_commit_rules.c).
-- It runs with the caller's rights (the coordinator calls it as the session's
-- user) and does nothing the caller could not do with SET CONSTRAINTS, so it
-- stays executable by PUBLIC.
CREATE FUNCTION enspiral.check_commit_rules(group_id bigint) RETURNS void
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_check_commit_rules';
COMMENT ON FUNCTION enspiral.check_commit_rules(bigint) IS
    'Checks the commit-time rules (deferred constraint triggers) of the transaction on this node now, then defers them again; the coordinator runs it on the node of each shard group_id before Citus commits';

-- set_commit_rules(): a client's SET CONSTRAINTS on the coordinator, run on
-- this node (Citus does not send SET CONSTRAINTS to the workers): the
-- coordinator runs it on every shard of the other nodes right after the
-- client's statement (src/core_commit_rules.c).  Like check_commit_rules()
-- it runs with the caller's rights and does only what SET CONSTRAINTS does.
CREATE FUNCTION enspiral.set_commit_rules(group_id bigint, constraint_names text[], deferred boolean)
    RETURNS void
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'enspiral_set_commit_rules';
COMMENT ON FUNCTION enspiral.set_commit_rules(bigint, text[], boolean) IS
    'SET CONSTRAINTS on this node for enspiral''s deferrable constraints named (and their shards''; NULL: ALL), IMMEDIATE (firing their pending events now) or DEFERRED; the coordinator runs it on the node of each shard group_id when a client sets constraints in a distributed transaction';

-- distribute(): make every table a Citus table distributed by group_id,
-- co-located with enspiral.groups, give each worker its own id range and
-- delegate every group-first function to the node of its group
CREATE FUNCTION enspiral.distribute(shard_count integer DEFAULT NULL)
    RETURNS TABLE (object text, action text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    f record;
    done boolean;
BEGIN
    PERFORM enspiral.require_admin();
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'extension citus is not installed'
            USING ERRCODE = 'NS701',
                  DETAIL = 'enspiral.distribute() distributes the tables of enspiral on a Citus coordinator.',
                  HINT = 'Run CREATE EXTENSION citus in this database on a Citus coordinator first; on a single server nothing needs to be done.';
    END IF;
    IF shard_count IS NOT NULL AND (shard_count < 1 OR shard_count > 64000) THEN
        RAISE EXCEPTION 'shard count must be between 1 and 64000'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The shard count given was %s.', shard_count);
    END IF;
    -- trigger functions on a shard read rows of their group through the
    -- distributed tables (always the co-located shard of the same node)
    IF pg_catalog.current_setting('citus.allow_nested_distributed_execution') <> 'on'
       OR EXISTS (SELECT 1 FROM pg_catalog.run_command_on_workers(
                      'SHOW citus.allow_nested_distributed_execution') w
                   WHERE NOT w.success OR w.result <> 'on') THEN
        RAISE EXCEPTION 'citus.allow_nested_distributed_execution must be on on every node'
            USING ERRCODE = 'NS702',
                  DETAIL = 'The rules of enspiral run as triggers on the shards and read rows of the same group through the distributed tables.',
                  HINT = 'Set citus.allow_nested_distributed_execution = on in postgresql.conf of the coordinator and of every worker, reload, and run enspiral.distribute() again.';
    END IF;
    -- the guard, history and event triggers are the rules: they must be
    -- carried to the shards (they read rows of their own group only)
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    -- a table that already has rows (restored, or written before an
    -- update) is copied into its shards while the workers' metadata of the
    -- new shards is not committed: over one connection per node, the copy
    -- sees it, and the guards on the shards recognize their own shards
    PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    -- event ids are numbered on the shard's node (src/actors_event_ids.c):
    -- the trigger, disabled on a single server, goes to the shards enabled
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                    WHERE p.logicalrelid = 'enspiral.events'::pg_catalog.regclass) THEN
        ALTER TABLE enspiral.events ENABLE TRIGGER events_id;
    END IF;
    FOR t IN SELECT o.table_name FROM enspiral.distribution_order() o LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                               WHERE p.logicalrelid = t.table_name);
        IF t.table_name = 'enspiral.groups'::pg_catalog.regclass THEN
            IF shard_count IS NULL THEN
                PERFORM pg_catalog.create_distributed_table(t.table_name, 'group_id',
                                                            colocate_with => 'none');
            ELSE
                PERFORM pg_catalog.create_distributed_table(t.table_name, 'group_id',
                                                            colocate_with => 'none',
                                                            shard_count => shard_count);
            END IF;
        ELSE
            PERFORM pg_catalog.create_distributed_table(t.table_name, 'group_id',
                                                        colocate_with => 'enspiral.groups');
        END IF;
        object := t.table_name::text;
        action := 'distributed by group_id';
        RETURN NEXT;
    END LOOP;
    -- ids drawn on a worker (delegated calls) come from that worker's own
    -- copy of the extension's sequences: each node draws from its own range
    -- ((node group << 48) + 1 onwards), as Citus does for bigint sequences
    FOR t IN SELECT o.table_name FROM enspiral.distribution_order() o
              WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = o.table_name AND a.attidentity <> ''
                               AND NOT a.attisdropped) LOOP
        PERFORM pg_catalog.run_command_on_workers(pg_catalog.format(
            'SELECT pg_catalog.worker_adjust_identity_column_seq_ranges(%L::pg_catalog.regclass)',
            t.table_name::text));
        object := t.table_name::text;
        action := 'id range per node';
        RETURN NEXT;
    END LOOP;
    -- rows already in a table (loaded by a restore, or written before):
    -- each node's sequence goes past the ids of its own range, so that the
    -- ids it draws next never collide with them
    DECLARE
        done_ids jsonb;
        command text;
    BEGIN
        FOR t IN SELECT o.table_name, a.attname,
                        pg_catalog.pg_get_serial_sequence(o.table_name::text, a.attname) AS seq
                   FROM enspiral.distribution_order() o
                   JOIN pg_catalog.pg_attribute a
                     ON a.attrelid = o.table_name AND a.attidentity <> '' AND NOT a.attisdropped LOOP
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.jsonb_object_agg(s.node_group, s.max_id)
                   FROM (SELECT %1$I >> 48 AS node_group, pg_catalog.max(%1$I) AS max_id
                           FROM %2$s GROUP BY 1) s', t.attname, t.table_name) INTO done_ids;
            CONTINUE WHEN done_ids IS NULL;
            command := pg_catalog.format(
                'SELECT pg_catalog.setval(%1$L, (%2$L::jsonb ->> l.groupid::text)::bigint)
                   FROM pg_catalog.pg_dist_local_group l, %1$s s
                  WHERE (%2$L::jsonb ->> l.groupid::text)::bigint
                        >= CASE WHEN s.is_called THEN s.last_value + 1 ELSE s.last_value END',
                t.seq, done_ids);
            EXECUTE command;
            PERFORM pg_catalog.run_command_on_workers(command);
            object := t.table_name::text;
            action := 'ids drawn after the rows present';
            RETURN NEXT;
        END LOOP;
    END;
    -- event ids (and chain keys, numbered the same way) already in the
    -- tables, moved in with a shard from a node with higher transaction ids
    -- or restored: every node numbers its next ones above them
    -- (enspiral.raise_event_ids(), src/actors_event_ids.c)
    DECLARE
        top bigint;
        keys bigint;
        failure text;
    BEGIN
        SELECT pg_catalog.max(ev.event_id) INTO top FROM enspiral.events ev;
        SELECT pg_catalog.max(tr.chain_key) INTO keys FROM enspiral.transfers tr;
        top := greatest(top, keys);
        SELECT pg_catalog.max(oc.chain_key) INTO keys FROM enspiral.outcomes oc;
        top := greatest(top, keys);
        IF top IS NOT NULL THEN
            PERFORM enspiral.raise_event_ids(top);
            SELECT w.nodename || ':' || w.nodeport || ': ' || w.result INTO failure
              FROM pg_catalog.run_command_on_workers(pg_catalog.format(
                       'SELECT enspiral.raise_event_ids(%s)', top)) w
             WHERE NOT w.success
             LIMIT 1;
            IF failure IS NOT NULL THEN
                RAISE EXCEPTION 'could not raise the event ids of a worker'
                    USING ERRCODE = 'internal_error',
                          DETAIL = pg_catalog.format('The worker answered %s.', failure);
            END IF;
            object := 'enspiral.events';
            action := 'event ids numbered after the ids present';
            RETURN NEXT;
        END IF;
    END;
    -- every function whose first argument is the group runs on the node of
    -- the group when called on its own (SELECT f(...) outside a transaction)
    FOR f IN SELECT p.oid::pg_catalog.regprocedure AS fn
               FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'enspiral'::pg_catalog.regnamespace
                AND p.prokind = 'f'
                AND p.pronargs >= 1
                AND p.proargtypes[0] = 'pg_catalog.int8'::pg_catalog.regtype
                AND p.proargnames[1] = 'group_id'
                AND p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_object o
                                 WHERE o.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                                   AND o.objid = p.oid AND o.colocationid IS NOT NULL)
              ORDER BY 1::text LOOP
        PERFORM pg_catalog.create_distributed_function(f.fn, 'group_id',
                                                       colocate_with => 'enspiral.groups');
        object := f.fn::text;
        action := 'delegated by group_id';
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION enspiral.distribute(integer) IS
    'On a Citus coordinator: distributes every enspiral table by group_id (co-located with enspiral.groups; shard_count defaults to citus.shard_count), gives each worker its own id range (past the ids already in the tables, as after a restore), makes every node number new event ids above those present (after a shard move or a restore) and delegates every group-first function to the node of its group; idempotent, run again after adding a worker, moving shards or restoring data';
