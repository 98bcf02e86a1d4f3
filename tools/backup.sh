#!/usr/bin/env bash
# Backup and restore: populate a database with the mixed load
# (test/proof/world.sql), pg_dump it (custom format), pg_restore it into a
# fresh database, and check that
#   * balances, bucket totals and states, proposal states and recorded
#     outcomes, catalyst coverage and service, memberships are identical
#     (proof.snapshot() on both sides),
#   * every verification function and rule check reports nothing on the copy,
#   * the rules still hold on the copy: the same load runs on it without any
#     unexpected error (identity sequences, triggers and constraints came
#     back), and the invariants hold again afterwards.
#
#   bash tools/backup.sh                  # 8 clients, 10 s of load before the dump
#   BACKUP_MODE=smoke bash tools/backup.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$TOP/test/proof/load.sh"

BACKUP_MODE=${BACKUP_MODE:-full}
if [ "$BACKUP_MODE" = smoke ]; then
	clients=4 secs=2 groups=2 members=30 buckets=5
	export PROOF_NO_CHURN=1
else
	clients=8 secs=10 groups=4 members=100 buckets=10
fi
SRC=proof_backup_src
DST=proof_backup_dst

# reusable_cluster: PGHOST is a live throwaway cluster (inside tools/test.sh)
reusable_cluster() {
	[[ ${PGHOST:-} == /tmp/enspiral-cluster.* ]] &&
		"$(pg psql)" -qXAt -d postgres -c 'SELECT 1' >/dev/null 2>&1
}

# load DB SECONDS: the mixed load on DB
load() {
	# shellcheck disable=SC2046
	"$(pg pgbench)" -n -c "$clients" -j 2 -T "$2" $(load_scripts "$1" "$work/scripts-$1") "$1" \
		>"$work/load-$1.out" 2>&1 || { cat "$work/load-$1.out"; return 1; }
}

# table_digests DB: one line per enspiral table: row count and digest of its rows
table_digests() {
	psql_db "$1" -At -c "SELECT format('SELECT %L || '': '' || count(*) || '' rows, '' || coalesce(md5(string_agg(t::text, E''\\n'' ORDER BY t::text)), ''-'') FROM %s t', c.oid::regclass, c.oid::regclass)
	                       FROM pg_class c WHERE c.relnamespace = 'enspiral'::regnamespace AND c.relkind = 'r' ORDER BY c.relname" \
		-c '\gexec'
}

main() {
	local status=0 n
	if reusable_cluster; then
		say "backup: reusing the cluster at $PGHOST"
	else
		ensure_deps
		build_install
		cluster_start
	fi
	work=$(mktemp -d)
	world_create "$SRC" "$groups" "$members" "$buckets"
	load "$SRC" "$secs"
	outcome_report "$SRC" | tail -n 12
	psql_db "$SRC" -At -c 'SELECT * FROM proof.snapshot()' >"$work/before"
	table_digests "$SRC" >>"$work/before"
	"$(pg pg_dump)" -Fc -f "$work/dump" "$SRC"
	"$(pg dropdb)" --if-exists "$DST" >/dev/null 2>&1 || true
	"$(pg createdb)" "$DST"
	if ! "$(pg pg_restore)" --exit-on-error -d "$DST" "$work/dump" 2>"$work/restore.err"; then
		echo "pg_restore failed: $(head -n 3 "$work/restore.err" | tr '\n' ' ')"
		status=1
		# diagnosis: does a restore with the extension's triggers disabled
		# during the data load (superuser only) work?
		"$(pg dropdb)" "$DST"
		"$(pg createdb)" "$DST"
		if "$(pg pg_restore)" --exit-on-error --disable-triggers -d "$DST" "$work/dump" 2>"$work/restore.err"; then
			echo "diagnosis: pg_restore --disable-triggers succeeds; comparing that copy"
		else
			echo "diagnosis: pg_restore --disable-triggers fails too: $(head -n 3 "$work/restore.err" | tr '\n' ' ')"
			"$(pg dropdb)" "$SRC"
			"$(pg dropdb)" "$DST"
			rm -rf "$work"
			echo "backup: FAILED (the dump cannot be restored)"
			return 1
		fi
	fi
	psql_db "$DST" -At -c 'SELECT * FROM proof.snapshot()' >"$work/after"
	table_digests "$DST" >>"$work/after"
	n=$(wc -l <"$work/before")
	if diff -u "$work/before" "$work/after" >"$work/diff"; then
		echo "restore: identical snapshot ($n lines: memberships, balances, buckets, proposals and outcomes, coverage, and a digest of every row of every enspiral table)"
	else
		echo "restore: the restored copy differs:"
		head -n 40 "$work/diff"
		status=1
	fi
	world_problems "$DST" || status=1
	# the rules still hold on the copy: run the load again there
	psql_db "$DST" -c 'TRUNCATE proof.unexpected' -c 'CREATE TABLE proof.log_before AS SELECT key FROM proof.log' >/dev/null
	load "$DST" "$((secs / 2 + 1))" || status=1
	psql_db "$DST" -At -c "SELECT 'load on the restored copy: ' || count(*) || ' operations, ' ||
	                              count(*) FILTER (WHERE outcome = 'ok') || ' ok'
	                         FROM proof.log WHERE key NOT IN (SELECT key FROM proof.log_before)"
	world_problems "$DST" || status=1
	"$(pg dropdb)" "$SRC"
	"$(pg dropdb)" "$DST"
	rm -rf "$work"
	if [ "$status" -eq 0 ]; then echo "backup: PASSED"; else echo "backup: FAILED"; fi
	return "$status"
}

main "$@"
