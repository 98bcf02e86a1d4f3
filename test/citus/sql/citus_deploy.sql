-- enspiral on Citus (doc/scaling.md): a coordinator and two workers on
-- 127.0.0.1 (tools/test.sh, kind citus), 4 shards per table.
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
RESET client_min_messages;

-- every table distributed by group_id, co-located with enspiral.groups;
-- every worker draws ids from its own range; group-first functions delegated
SELECT action, count(*) > 0 AS some FROM enspiral.distribute() GROUP BY action ORDER BY action;
SELECT count(*) = (SELECT count(*) FROM enspiral.distribution_order()) AS all_tables,
       count(*) = count(*) FILTER (WHERE p.colocationid = g.colocationid AND p.partmethod = 'h') AS colocated
  FROM pg_dist_partition p,
       (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'enspiral.groups'::regclass) g
 WHERE p.logicalrelid::text LIKE 'enspiral.%';
SELECT count(*) AS not_distributed FROM enspiral.distribution_order() o
 WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = o.table_name);
SELECT count(*) AS shards_of_groups FROM pg_dist_shard WHERE logicalrelid = 'enspiral.groups'::regclass;
-- every function whose first argument is group_id is delegated by it
SELECT count(*) AS not_delegated
  FROM pg_proc p
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.proargnames[1] = 'group_id'
   AND p.prorettype <> 'trigger'::regtype
   AND NOT EXISTS (SELECT 1 FROM pg_dist_object o
                    WHERE o.classid = 'pg_proc'::regclass AND o.objid = p.oid
                      AND o.distribution_argument_index = 0
                      AND o.colocationid = (SELECT colocationid FROM pg_dist_partition
                                             WHERE logicalrelid = 'enspiral.groups'::regclass));
-- run again (after citus_add_node, say): only the id ranges are set again,
-- one per table with an identity column
SELECT action, count(*) = (SELECT count(DISTINCT attrelid) FROM pg_attribute
                            WHERE attrelid IN (SELECT table_name FROM enspiral.distribution_order())
                              AND attidentity <> '') AS every_identity_table
  FROM enspiral.distribute() GROUP BY action ORDER BY action;
-- each worker's copy of a sequence starts at (node group << 48) + 1
SELECT result FROM run_command_on_workers($$
    SELECT (min_value = ((SELECT groupid FROM pg_dist_local_group)::bigint << 48) + 1)::text
      FROM pg_sequences WHERE schemaname = 'enspiral' AND sequencename = 'members_member_id_seq'$$)
 ORDER BY 1;
-- functions whose first argument is not the group are not delegated
SELECT count(*) AS delegated_without_group
  FROM pg_dist_object o JOIN pg_proc p ON o.classid = 'pg_proc'::regclass AND o.objid = p.oid
 WHERE p.pronamespace = 'enspiral'::regnamespace AND p.proargnames[1] IS DISTINCT FROM 'group_id';
-- a bad shard count is refused
SELECT * FROM enspiral.distribute(0);
-- the rules read rows of their group from triggers on the shards: every
-- node must allow that
SET citus.allow_nested_distributed_execution = off;
SELECT * FROM enspiral.distribute();
RESET citus.allow_nested_distributed_execution;
