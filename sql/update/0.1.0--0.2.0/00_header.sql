-- enspiral update script 0.1.0 -> 0.2.0, part 00.
-- The parts in sql/update/0.1.0--0.2.0/ are concatenated in name order into
-- sql/enspiral--0.1.0--0.2.0.sql by the Makefile.  Each part carries the
-- changes of one concern; the upgrade check (tools/upgrade.sh) proves that
-- 0.1.0 plus this script gives exactly the catalog of a fresh 0.2.0 install.

\echo Use "ALTER EXTENSION enspiral UPDATE TO '0.2.0'" to load this file. \quit
