-- enspiral update script 0.1.0 -> 0.2.0, part 15: consolidation (issue 12).
-- The one "does not exist" error of the SQL functions
-- (enspiral.raise_not_found, sql/install/00_base.sql) is internal.

-- @function enspiral.raise_not_found(group_id bigint, object text, id bigint DEFAULT NULL)
REVOKE ALL ON FUNCTION enspiral.raise_not_found(bigint, text, bigint) FROM PUBLIC;
