#!/usr/bin/env bash
# Upgrade path check.  For every version of enspiral that can be installed
# other than the current default_version (a committed sql/enspiral--X.sql,
# or any version the update scripts sql/enspiral--A--B.sql lead from):
#   CREATE EXTENSION enspiral VERSION 'X', populate it with the proof world
#   (what that version offers), ALTER EXTENSION enspiral UPDATE, then
#   * the catalog snapshot (test/proof/catalog.sql: every object with its
#     definition, owner, privileges and comment) must equal a fresh install's,
#   * every verification function and rule check reports nothing, and the
#     mixed-load operations run on it.
# With a single version there is no path to check: it says so, and checks
# the fresh install's snapshot instead (deterministic across installs, across
# DROP/CREATE, unchanged by a no-op ALTER EXTENSION UPDATE) and keeps it in
# build/upgrade/catalog-<version>.txt (commit it with a release).
#
# UPGRADE_SELFTEST=1 (needs ENSPIRAL_PGROOT) also fabricates an earlier
# version whose update script forgets one change and shows that the check
# catches it, then one that does not and shows that it passes.
#
#   bash tools/upgrade.sh
#   ENSPIRAL_PGROOT=/tmp/pgroot-x UPGRADE_SELFTEST=1 bash tools/upgrade.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$TOP/test/proof/load.sh"

OUT=$TOP/build/upgrade
CURRENT=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$TOP/enspiral.control")
EXTDIR=

# reusable_cluster: PGHOST is a live throwaway cluster (inside tools/test.sh)
reusable_cluster() {
	[[ ${PGHOST:-} == /tmp/enspiral-cluster.* ]] &&
		"$(pg psql)" -qXAt -d postgres -c 'SELECT 1' >/dev/null 2>&1
}

# snapshot DB FILE: the catalog snapshot of DB
snapshot() { psql_db "$1" -f "$TOP/test/proof/catalog.sql" >"$2"; }

# fresh_db DB [VERSION]: a new database with the extension (at VERSION)
fresh_db() {
	"$(pg dropdb)" --if-exists "$1" >/dev/null 2>&1 || true
	"$(pg createdb)" "$1"
	psql_db "$1" -c 'SET client_min_messages = warning' \
		-c "CREATE EXTENSION enspiral ${2:+VERSION '$2'} CASCADE"
}

# same A B WHAT: compare two snapshots; print the difference
same() {
	if diff -u "$1" "$2" >"$OUT/diff"; then
		echo "ok: $3 ($(wc -l <"$1") catalog facts identical)"
		return 0
	fi
	echo "DIFFERENT: $3:"
	head -n 40 "$OUT/diff"
	return 1
}

# release_commit VERSION: the commit each released version was built from
release_commit() {
	case "$1" in
	0.1.0) echo 971ea49ca702330a40a4c6f58809f9ca961d3a0f ;;
	*) return 1 ;;
	esac
}

# use_library VERSION|current: install the library of a released version
# (built once from its commit into build/upgrade/lib-VERSION), or put the
# current one back.  Data "written by a release" is written by its own
# library: the current library does not serve an older release's SQL
# objects (enspiral.version() says so, NS001) until ALTER EXTENSION UPDATE.
use_library() {
	local v=$1 lib commit dir
	lib=$(pg_root)$("$SYS_PG_CONFIG" --pkglibdir)/enspiral.so
	[ -f "$OUT/enspiral-current.so" ] || cp "$lib" "$OUT/enspiral-current.so"
	# a new file renamed over the old one: a running backend keeps the
	# library it mapped (cp over it would crash it)
	if [ "$v" = current ]; then
		cp "$OUT/enspiral-current.so" "$lib.new" && mv -f "$lib.new" "$lib"
		return 0
	fi
	commit=$(release_commit "$v") || return 1
	git -C "$TOP" cat-file -e "$commit^{commit}" 2>/dev/null || return 1
	dir=$OUT/lib-$v
	if [ ! -f "$dir/enspiral.so" ]; then
		mkdir -p "$dir"
		git -C "$TOP" archive "$commit" | tar -x -C "$dir"
		make -C "$dir" -s PG_CONFIG="$SYS_PG_CONFIG" enspiral.so >"$dir/build.log" 2>&1 ||
			{ cat "$dir/build.log"; die "could not build the $v library"; }
	fi
	cp "$dir/enspiral.so" "$lib.new" && mv -f "$lib.new" "$lib"
}

# check_from VERSION: install VERSION, populate with its own library,
# update with the current one, compare, verify
check_from() {
	local v=$1 db=proof_upgrade_from
	if use_library "$v"; then
		echo "writing $v data with the $v library"
	else
		echo "no $v library to build here (no release commit): writing $v data with the current library"
	fi
	fresh_db "$db" "$v" || { use_library current; return 1; }
	psql_db "$db" -f "$TOP/test/proof/world.sql" >/dev/null
	psql_db "$db" -At -c "SELECT count(*) || ' capabilities in use before the update' FROM proof.setup_world(2, 20, 4) WHERE present"
	psql_db "$db" -f "$TOP/test/proof/app_010.sql" || { use_library current; return 1; }
	use_library current
	psql_db "$db" -c 'ALTER EXTENSION enspiral UPDATE' || return 1
	psql_db "$db" -At -c "SELECT 'updated to ' || extversion FROM pg_extension WHERE extname = 'enspiral'"
	snapshot "$db" "$OUT/from-$v.txt"
	local rc=0
	same "$OUT/fresh.txt" "$OUT/from-$v.txt" "update from $v to $CURRENT gives the fresh install's catalog" || rc=1
	# the updated database keeps working: operations, then the invariants
	psql_db "$db" -At -c "SELECT count(*) || ' operations after the update' FROM
	    (SELECT proof.op_membership() UNION ALL SELECT proof.op_vote() UNION ALL SELECT proof.op_contribute()
	     UNION ALL SELECT proof.op_rotate() UNION ALL SELECT proof.op_close_proposal()) x" || rc=1
	world_problems "$db" || rc=1
	# data written under $v reads back through the read API (doc/application.md)
	psql_db "$db" -f "$TOP/test/proof/read_api.sql" 2>&1 | sed 's/^psql:[^ ]* NOTICE:  //' || rc=1
	"$(pg dropdb)" "$db"
	return "$rc"
}

# earlier_versions: every installable version other than the current one
earlier_versions() {
	psql_db postgres -At -c "SELECT version FROM pg_available_extension_versions
	                          WHERE name = 'enspiral' AND version <> '$CURRENT' ORDER BY version"
}

# single_version: what can be checked with one version
single_version() {
	local rc=0
	echo "only version $CURRENT exists: there is no update path to check yet;"
	echo "checking the fresh install's catalog snapshot instead"
	fresh_db proof_upgrade_b
	snapshot proof_upgrade_b "$OUT/fresh-b.txt"
	same "$OUT/fresh.txt" "$OUT/fresh-b.txt" "two fresh installs are identical" || rc=1
	psql_db proof_upgrade_b -c 'SET client_min_messages = warning' -c 'DROP EXTENSION enspiral' \
		-c 'CREATE EXTENSION enspiral'
	snapshot proof_upgrade_b "$OUT/fresh-c.txt"
	same "$OUT/fresh.txt" "$OUT/fresh-c.txt" "DROP and CREATE EXTENSION gives the same catalog" || rc=1
	psql_db proof_upgrade_b -c 'SET client_min_messages = warning' -c 'ALTER EXTENSION enspiral UPDATE'
	snapshot proof_upgrade_b "$OUT/fresh-d.txt"
	same "$OUT/fresh.txt" "$OUT/fresh-d.txt" "ALTER EXTENSION UPDATE at $CURRENT changes nothing" || rc=1
	"$(pg dropdb)" proof_upgrade_b
	return "$rc"
}

# selftest: a fabricated earlier version proves the comparison catches a
# forgotten change, then passes with a complete update script
selftest() {
	local old=0.0.0 rc=0 full=$EXTDIR/enspiral--$CURRENT.sql
	[ -n "$(pg_root)" ] || die "UPGRADE_SELFTEST needs ENSPIRAL_PGROOT (it writes into the extension directory)"
	# version 0.0.0 lacks the comment of enspiral.library_version()
	awk '/^COMMENT ON FUNCTION enspiral.library_version\(\) IS/ {skip = 1}
	     skip && /;$/ {skip = 0; next} !skip' "$full" >"$EXTDIR/enspiral--$old.sql"
	: >"$EXTDIR/enspiral--$old--$CURRENT.sql"
	echo "selftest: update script that forgets the comment (must be caught):"
	if check_from "$old" >"$OUT/selftest-bad.log" 2>&1; then
		echo "SELFTEST FAILED: the forgotten change went unnoticed"
		rc=1
	else
		grep '^DIFFERENT' "$OUT/selftest-bad.log" | sed 's/^/  /'
		grep -E '^[-+][^-+]' "$OUT/selftest-bad.log" | cut -c1-160 | sed 's/^/    /'
	fi
	grep -A1 '^COMMENT ON FUNCTION enspiral.library_version() IS' "$full" >"$EXTDIR/enspiral--$old--$CURRENT.sql"
	echo "selftest: complete update script (must pass):"
	check_from "$old" | sed 's/^/  /' || rc=1
	rm -f "$EXTDIR/enspiral--$old.sql" "$EXTDIR/enspiral--$old--$CURRENT.sql"
	return "$rc"
}

main() {
	local rc=0 v versions
	rm -rf "$OUT"
	mkdir -p "$OUT"
	if reusable_cluster && [ -z "${UPGRADE_SELFTEST:-}" ]; then
		say "upgrade: reusing the cluster at $PGHOST"
	else
		ensure_deps
		build_install
		cluster_start
	fi
	EXTDIR=$(pg_root)$("$SYS_PG_CONFIG" --sharedir)/extension
	fresh_db proof_upgrade_fresh
	snapshot proof_upgrade_fresh "$OUT/fresh.txt"
	cp "$OUT/fresh.txt" "$OUT/catalog-$CURRENT.txt"
	echo "fresh install of $CURRENT: $(wc -l <"$OUT/fresh.txt") catalog facts (build/upgrade/catalog-$CURRENT.txt)"
	mapfile -t versions < <(earlier_versions)
	if [ ${#versions[@]} -eq 0 ]; then
		single_version || rc=1
	else
		for v in "${versions[@]}"; do check_from "$v" || rc=1; done
	fi
	if [ -n "${UPGRADE_SELFTEST:-}" ]; then selftest || rc=1; fi
	"$(pg dropdb)" proof_upgrade_fresh
	if [ "$rc" -eq 0 ]; then echo "upgrade: PASSED"; else echo "upgrade: FAILED"; fi
	return "$rc"
}

# sourced (tools/citus_backup.sh uses use_library), it only defines functions
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
