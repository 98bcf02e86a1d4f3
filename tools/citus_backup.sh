# Dump and restore of a sharded enspiral database, and the update from an
# earlier version on Citus (doc/scaling.md, "Backup and restore",
# "Upgrade"): citus_backup_test and citus_upgrade_test, run by the citus
# kind of tools/test.sh on its cluster (after citus_start). Source it after
# citus.sh.
#
# citus_backup_test:
#   1. a distributed database gets data through the group-first API
#      (test/citus/backup/write.sql): two groups on different workers;
#   2. pg_dump --data-only of the coordinator (Citus reads every shard);
#   3. a fresh database on the coordinator and the workers: CREATE
#      EXTENSION enspiral, enspiral.distribute(), the data loaded through the
#      coordinator (psql -f), enspiral.distribute() again (each node's ids
#      go past the restored ones);
#   4. test/citus/backup/check.sql prints the same on both (verify_ledger,
#      verify_chain, verify_outcome, outcomes, balances, bucket states, the
#      rows of every table), and new writes on the copy draw fresh ids.
#
# Each prints "test citus_backup ... ok" (citus_upgrade) or "... FAILED"
# (counted by tools/test.sh); run each in a subshell (a failure exits).

# cb_q DB SQL...: psql on the coordinator, stopping on the first error
cb_q() {
	local db=$1
	shift
	"$(pg_bindir)/psql" -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$CITUS_PORT" -U postgres -d "$db" "$@"
}

# cb_deploy DB: the documented deployment in DB
cb_deploy() {
	cb_q "$1" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION enspiral CASCADE' \
		-c 'SELECT count(*) FROM enspiral.distribute()' >/dev/null
}

# cb_fail MSG: report the failure and stop
cb_fail() {
	echo "$CB_TEST: $*"
	echo "test $CB_TEST ... FAILED"
	exit 1
}

# cb_new_writes DB WORK: the database takes new writes, and the ids drawn on
# the workers go past the rows already there (a member of each of the
# groups 1 and 2, a proposal, a vote)
cb_new_writes() {
	cb_q "$1" -At -f - >"$2/new.out" 2>&1 <<-'SQL' || { cat "$2/new.out"; cb_fail "new writes failed"; }
		SELECT enspiral.add_member(1, 'frank') AS frank \gset
		SELECT enspiral.add_member(2, 'gus') AS gus \gset
		SELECT enspiral.propose(1, :frank, 'After the restore', 'consent') AS p \gset
		SELECT enspiral.open_proposal(1, :p, now() + interval '1 day', NULL);
		SELECT enspiral.vote(1, :p, :frank, '"agree"', NULL) AS v \gset
		SELECT count(*) AS new_ids FROM enspiral.members WHERE member_key IN ('frank', 'gus');
	SQL
	grep -qx 2 "$2/new.out" || { cat "$2/new.out"; cb_fail "new writes: two new members expected"; }
}

citus_backup_test() {
	local SRC=citus_backup_src DST=citus_backup_dst work
	CB_TEST=citus_backup
	work=$(mktemp -d)
	citus_createdb "$SRC"
	cb_deploy "$SRC"
	cb_q "$SRC" -f "$TOP/test/citus/backup/write.sql" >"$work/write.out" 2>&1 ||
		{ cat "$work/write.out"; cb_fail "writing the data failed"; }
	cb_q "$SRC" -f "$TOP/test/citus/backup/check.sql" >"$work/before" 2>&1 ||
		{ cat "$work/before"; cb_fail "check.sql failed on the source"; }
	"$(pg_bindir)/pg_dump" -h 127.0.0.1 -p "$CITUS_PORT" -U postgres --data-only \
		-f "$work/data.sql" "$SRC" 2>"$work/dump.err" || { cat "$work/dump.err"; cb_fail "pg_dump failed"; }
	citus_createdb "$DST"
	cb_deploy "$DST"
	cb_q "$DST" -f "$work/data.sql" >"$work/restore.out" 2>&1 ||
		{ tail -n 20 "$work/restore.out"; cb_fail "the restore failed"; }
	cb_q "$DST" -c 'SELECT count(*) FROM enspiral.distribute()' >/dev/null
	cb_q "$DST" -f "$TOP/test/citus/backup/check.sql" >"$work/after" 2>&1 ||
		{ cat "$work/after"; cb_fail "check.sql failed on the copy"; }
	if ! diff -u "$work/before" "$work/after"; then
		cb_fail "the copy differs from the source"
	fi
	echo "citus_backup: identical after restore ($(wc -l <"$work/after") lines: $(grep -c 'problems' "$work/after") verifications, $(grep -c ' rows, ' "$work/after") tables)"
	cb_new_writes "$DST" "$work"
	citus_dropdb "$SRC"
	citus_dropdb "$DST"
	rm -rf "$work"
	echo "test citus_backup ... ok"
}

# citus_upgrade_test: ALTER EXTENSION enspiral UPDATE from each earlier
# version on a Citus cluster, then enspiral.distribute() (doc/scaling.md,
# "Upgrade"):
#   1. CREATE EXTENSION enspiral VERSION '0.1.0' on the coordinator with the
#      0.1.0 library (built from its release commit, as tools/upgrade.sh
#      does): 0.1.0 cannot be distributed, its tables are the coordinator's;
#   2. data written with the 0.1.0 API (test/citus/upgrade/write_010.sql);
#   3. the current library, ALTER EXTENSION enspiral UPDATE (Citus runs it
#      on the workers too), test/citus/backup/check.sql;
#   4. enspiral.distribute(): the rows are copied into the shards; check.sql
#      prints the same, and new writes draw ids past the old ones.
citus_upgrade_test() {
	local db=citus_upgrade v versions current work port
	CB_TEST=citus_upgrade
	work=$(mktemp -d)
	# use_library and release_commit of tools/upgrade.sh (it only defines
	# functions when sourced; it sets OUT to build/upgrade)
	# shellcheck source=tools/upgrade.sh
	source "$TOP/tools/upgrade.sh"
	mkdir -p "$OUT"
	current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$TOP/enspiral.control")
	mapfile -t versions < <(cb_q postgres -At -c "SELECT version FROM pg_available_extension_versions
	                         WHERE name = 'enspiral' AND version <> '$current' ORDER BY version")
	[ ${#versions[@]} -gt 0 ] || { echo "citus_upgrade: only version $current exists"; echo "test citus_upgrade ... ok"; return 0; }
	for v in "${versions[@]}"; do
		use_library "$v" || cb_fail "no library of $v to install"
		citus_createdb "$db"
		cb_q "$db" -c 'SET client_min_messages = warning' \
			-c "CREATE EXTENSION enspiral VERSION '$v' CASCADE" >/dev/null ||
			{ use_library current; cb_fail "CREATE EXTENSION enspiral VERSION '$v' failed"; }
		cb_q "$db" -f "$TOP/test/citus/upgrade/write_${v//./}.sql" >"$work/write.out" 2>&1 ||
			{ use_library current; cat "$work/write.out"; cb_fail "writing $v data failed"; }
		use_library current
		cb_q "$db" -c 'ALTER EXTENSION enspiral UPDATE' || cb_fail "ALTER EXTENSION enspiral UPDATE failed"
		for port in $CITUS_PORT $CITUS_WORKER_PORTS; do
			[ "$(citus_psql "$port" "$db" "SELECT extversion FROM pg_extension WHERE extname = 'enspiral'")" = "$current" ] ||
				cb_fail "the node on port $port is not at $current"
		done
		cb_q "$db" -f "$TOP/test/citus/backup/check.sql" >"$work/before" 2>&1 ||
			{ cat "$work/before"; cb_fail "check.sql failed after the update"; }
		cb_q "$db" -c 'SET client_min_messages = warning' -c 'SELECT count(*) FROM enspiral.distribute()' \
			>"$work/distribute.out" 2>&1 || { cat "$work/distribute.out"; cb_fail "distribute() failed after the update"; }
		cb_q "$db" -f "$TOP/test/citus/backup/check.sql" >"$work/after" 2>&1 ||
			{ cat "$work/after"; cb_fail "check.sql failed once distributed"; }
		diff -u "$work/before" "$work/after" || cb_fail "the distributed data differs from the updated data"
		echo "citus_upgrade: $v updated to $current on every node, then distributed: identical ($(grep -c 'problems' "$work/after") verifications, $(grep -c ' rows, ' "$work/after") tables)"
		cb_new_writes "$db" "$work"
		citus_dropdb "$db"
	done
	rm -rf "$work"
	echo "test citus_upgrade ... ok"
}
