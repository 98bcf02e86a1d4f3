#!/usr/bin/env bash
# Instructions per call of the hot paths against a plain INSERT (issue 12,
# "Hot paths"), counted by valgrind's callgrind in a single-user backend:
# a figure that does not depend on how loaded the machine is, unlike tps
# and CPU time.  The loads are those of bench/scenarios/hotpath_ratio.sh
# (events and permission checks on), one call per statement and
# transaction, with a fixed pseudo-random sequence of members and buckets:
#
#   vote_high, vote_low   vote() by 1,000 members re-voting (nearly every
#                         vote supersedes one) / by MEMBERS members (first
#                         votes mostly)
#   try_high, try_low     try_contribute() to 100 / 1,000 buckets
#   plain_vote, plain_try a plain INSERT of a row of the same shape
#
# Counted: the instructions under PortalRun, StartTransactionCommand and
# CommitTransactionCommand (execution and commit; parsing and planning,
# which a prepared statement skips, are left out), divided by the calls.
#
# XACT=run (the default, the measure of the rounds before 0.2.0's third)
# runs the CALLS statements of a load as one query string, which the
# single-user backend runs as ONE transaction: one commit for all, every
# row version of the run written by that transaction (so HOT chains are not
# pruned and foreign-key checks of updated rows run).  XACT=call ends each
# statement with an empty line (the -j terminator), one transaction per
# call as under pgbench: the measure to model a tps ratio with.
# The first calls of a backend also fill its caches; CALLS spreads that.
#
#   ENSPIRAL_PGROOT=/tmp/pgroot-x bash bench/hotpath_instructions.sh
#   KEEP=/tmp/cg CALLS=600 MEMBERS=20000 LOADS="vote_high try_high plain_vote plain_try" ...
#
# Needs valgrind.  Builds and installs enspiral, makes a throwaway cluster,
# stops it, and runs each load in `postgres --single` on its data directory.
source "$(dirname "${BASH_SOURCE[0]}")/../tools/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/hotpath_data.sh"

CALLS=${CALLS:-600}
XACT=${XACT:-run}
case "$XACT" in run) SEP='' ;; call) SEP='\n' ;; *) die "XACT is run or call" ;; esac
MEMBERS=${MEMBERS:-20000}
LOADS=${LOADS:-plain_vote vote_high vote_low plain_try try_high try_low}
command -v valgrind >/dev/null || die "valgrind is not installed"

ensure_deps
build_install
cluster_start
BIN=$(pg_bindir)
WORK=$(mktemp -d /tmp/enspiral-instr.XXXXXX)
chmod 755 "$WORK"
[ "$(id -u)" -ne 0 ] || chown postgres: "$WORK"
# KEEP=dir keeps the callgrind files there (callgrind_annotate them)
trap 'cluster_stop; [ -z "${KEEP:-}" ] || { mkdir -p "$KEEP"; cp "$WORK"/*.cg "$KEEP"/; }; rm -rf "$WORK"' EXIT

say "hotpath_instructions: $MEMBERS + 1,000 members, two proposals, 1,000 + 100 buckets"
"$BIN/createdb" hp
hotpath_data "$MEMBERS" | "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d hp >/dev/null
# the loads run in single-user backends on the stopped cluster's directory
as_pg "$BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m fast -w stop >/dev/null

# script LOAD: CALLS statements of the load (awk's fixed random sequence)
script() {
	awk -v load="$1" -v n="$CALLS" -v m="$MEMBERS" -v sep="$SEP" 'BEGIN {
		srand(42);
		for (i = 0; i < n; i++) {
			h = m + 1 + int(rand() * 1000); l = 1 + int(rand() * m);
			bh = 1001 + int(rand() * 100); bl = 1 + int(rand() * 1000); ml = 1 + int(rand() * 1000);
			if (load == "vote_high") printf "SELECT enspiral.vote(2, %d, %s);\n", h, "'\''\"agree\"'\''";
			else if (load == "vote_low") printf "SELECT enspiral.vote(1, %d, %s);\n", l, "'\''\"agree\"'\''";
			else if (load == "try_high") printf "SELECT enspiral.try_contribute(%d, %d, 1);\n", bh, h;
			else if (load == "try_low") printf "SELECT enspiral.try_contribute(%d, %d, 1);\n", bl, ml;
			else if (load == "plain_vote") printf "INSERT INTO plain_votes (group_id, proposal_id, member_id, ballot, cast_at) VALUES (2, 2, %d, %s, now());\n", h, "'\''\"agree\"'\''";
			else if (load == "plain_try") printf "INSERT INTO plain_transfers (group_id, round_id, kind, from_account, to_account, amount) VALUES (2, 2, %s, %d, %d, 1);\n", "'\''contribute'\''", h, bh;
			printf sep;
		}
	}'
}

# run LOAD PASS: one single-user backend running the load under callgrind
run() {
	script "$1" >"$WORK/$1.sql"
	as_pg valgrind --tool=callgrind --callgrind-out-file="$WORK/$1.$2.cg" \
		--toggle-collect=PortalRun --toggle-collect=StartTransactionCommand \
		--toggle-collect=CommitTransactionCommand \
		"$BIN/postgres" --single -D "$CLUSTER_DIR/data" -c enspiral.actor=1 -j hp \
		<"$WORK/$1.sql" >"$WORK/$1.$2.log" 2>&1 ||
		{ tail -n 20 "$WORK/$1.$2.log" >&2; die "the single-user backend failed on $1"; }
	if grep -q 'ERROR' "$WORK/$1.$2.log"; then
		grep -m 3 'ERROR' "$WORK/$1.$2.log" >&2
		die "a call failed on $1"
	fi
	sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$WORK/$1.$2.cg" | head -n 1
}

declare -A ir
for l in $LOADS; do
	# a first round, so that the counted one finds the rows of a running
	# system (superseded votes, the backend's counter row, warm caches)
	say "callgrind: $l ($CALLS calls, after a first round of as many)"
	run "$l" warm >/dev/null
	ir[$l]=$(($(run "$l" counted) / CALLS))
	echo "$l: ${ir[$l]} instructions per call"
done
for pair in "vote_high plain_vote" "vote_low plain_vote" "try_high plain_try" "try_low plain_try"; do
	set -- $pair
	[ -n "${ir[$1]:-}" ] && [ -n "${ir[$2]:-}" ] &&
		echo "RESULT|instructions per call ($XACT): $1 (vs $2)|${ir[$1]}|${ir[$2]}|instructions"
done
