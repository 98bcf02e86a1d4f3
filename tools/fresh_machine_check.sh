#!/usr/bin/env bash
# Fresh machine check: do the README's two commands work where nothing was
# installed by hand?  Run it as root before every release (HACKING.md).
#
#   bash tools/fresh_machine_check.sh [--keep-packages] [--keep-clone]
#
# 1. removes the packages that the two commands must install by themselves:
#    postgresql-server-dev-15, postgresql-15-pgtap and
#    libtap-parser-sourcehandler-pgtap-perl (--keep-packages skips this, to
#    try the rest on a machine where others are building);
# 2. clones the current commit (HEAD; uncommitted changes are not part of the
#    check) into a temporary directory;
# 3. runs there `bash tools/demo.sh`, then `bash tools/test.sh`, exactly as
#    the README says, each with its output in a log file;
# 4. reports both exit codes, the final "N passed, N failed" line of the
#    tests, and whether the removed packages are installed again.
#
# Exits 0 when both commands succeeded and the tests report 0 failed.
# Environment: ENSPIRAL_PGROOT is passed on to both commands (a private
# PostgreSQL copy instead of the system one); the clone and the logs are
# removed at the end unless --keep-clone is given or a command failed.
# This script removes packages: it is not part of .ci/run.
set -uo pipefail

PG_MAJOR=${PG_MAJOR:-15}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PACKAGES=("postgresql-server-dev-$PG_MAJOR" "postgresql-$PG_MAJOR-pgtap" libtap-parser-sourcehandler-pgtap-perl)
keep_packages=
keep_clone=

for arg in "$@"; do
	case $arg in
	--keep-packages) keep_packages=1 ;;
	--keep-clone) keep_clone=1 ;;
	-h | --help)
		sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "unknown option: $arg (see --help)" >&2
		exit 2
		;;
	esac
done

# say MSG: progress line on stderr
say() { printf '== %s\n' "$*" >&2; }

# pkg_state PKG: "installed" or "absent"
pkg_state() {
	if dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; then
		echo installed
	else
		echo absent
	fi
}

# remove_packages: step 1
remove_packages() {
	local present=() p
	for p in "${PACKAGES[@]}"; do
		[ "$(pkg_state "$p")" = installed ] && present+=("$p")
	done
	if [ ${#present[@]} -eq 0 ]; then
		say "none of ${PACKAGES[*]} is installed"
		return 0
	fi
	say "removing ${present[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "${present[@]}" >"$WORK/apt-remove.log" 2>&1 ||
		{ cat "$WORK/apt-remove.log" >&2; echo "error: apt-get remove failed" >&2; exit 1; }
}

# run_command NAME CMD...: run one README command in the clone, log its output
run_command() {
	local name=$1 rc
	shift
	say "running in the clone: $*"
	(cd "$WORK/enspiral" && "$@") >"$WORK/$name.log" 2>&1 && rc=0 || rc=$?
	echo "$rc"
}

main() {
	local head dirty demo_rc test_rc summary p ok=1
	if [ -z "$keep_packages" ] && [ "$(id -u)" -ne 0 ]; then
		echo "error: run as root (or with --keep-packages): the check removes packages" >&2
		exit 1
	fi
	head=$(git -C "$TOP" rev-parse HEAD)
	dirty=$(git -C "$TOP" status --porcelain --untracked-files=no)
	WORK=$(mktemp -d /tmp/enspiral-fresh.XXXXXX)
	chmod 755 "$WORK"

	if [ -n "$keep_packages" ]; then
		say "--keep-packages: not removing ${PACKAGES[*]}"
	else
		remove_packages
	fi

	say "cloning $head into $WORK/enspiral"
	git clone -q "$TOP" "$WORK/enspiral" && git -C "$WORK/enspiral" checkout -q --detach "$head" ||
		{ echo "error: git clone failed" >&2; exit 1; }

	demo_rc=$(run_command demo bash tools/demo.sh)
	test_rc=$(run_command tests bash tools/test.sh)
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/tests.log" | tail -n 1)

	echo
	echo "fresh machine check of $head"
	[ -z "$dirty" ] || echo "  (the work tree has uncommitted changes; they are not part of this check)"
	if [ -n "$keep_packages" ]; then
		echo "packages:  kept (--keep-packages): ${PACKAGES[*]}"
	else
		echo "packages:  removed before the run: ${PACKAGES[*]}"
	fi
	echo "demo:      bash tools/demo.sh  exit $demo_rc"
	echo "tests:     bash tools/test.sh  exit $test_rc, ${summary:-no \"N passed, N failed\" line}"
	for p in "${PACKAGES[@]}"; do
		echo "after:     $p $(pkg_state "$p")"
		[ "$(pkg_state "$p")" = installed ] || ok=
	done
	[ "$demo_rc" -eq 0 ] && [ "$test_rc" -eq 0 ] && [[ $summary =~ \ 0\ failed ]] || ok=
	if [ -n "$ok" ]; then
		echo "result:    OK"
	else
		echo "result:    FAILED"
		keep_clone=1
		echo
		echo "--- last lines of the demo log ($WORK/demo.log)"
		tail -n 15 "$WORK/demo.log"
		echo "--- last lines of the test log ($WORK/tests.log)"
		tail -n 25 "$WORK/tests.log"
	fi
	if [ -n "$keep_clone" ]; then
		echo "clone and logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	[ -n "$ok" ]
}

main
