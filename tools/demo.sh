#!/usr/bin/env bash
# The main job: build and install enspiral, start a private throwaway
# PostgreSQL cluster (Unix socket only), and run the demo scenario in
# demo/*.sql, which shows the governance rules at work: groups and members,
# decisions, co-budgeting with quadratic matching, catalyst rotation, and an
# existing application table adopting a lifecycle.  The cluster is stopped
# and removed on any exit.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

main() {
	local f
	ensure_deps
	build_install
	cluster_start
	"$(pg_bindir)/psql" -qX -d postgres -c 'CREATE DATABASE enspiral_demo' >/dev/null
	for f in "$TOP"/demo/[0-9]*.sql; do
		"$(pg_bindir)/psql" -qX -v ON_ERROR_STOP=1 -d enspiral_demo \
			-P footer=off -P null='-' -f "$f" 2>&1 ||
			die "demo step $(basename "$f") failed"
	done
	echo
	echo "Demo finished; the throwaway cluster is being removed."
}

main "$@"
