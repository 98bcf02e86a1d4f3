#!/usr/bin/env bash
# Build the extension under UndefinedBehaviorSanitizer and run the whole test
# command with it (regression suite, isolation specs, pgTAP, and the smoke
# runs of the benchmarks and the fuzzer).
#
#   bash tools/sanitize.sh        (or: make sanitize)
#
# How: the C files are compiled with
#   -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g
# (PGXS adds COPT to both compile and link flags, so enspiral.so links
# libubsan, which the server loads with the module; UBSan needs no
# preloading, unlike ASan).  UBSAN_OPTIONS=abort_on_error=1 turns any
# undefined behaviour (signed overflow, shift out of range, misaligned or
# null access, invalid enum or bool load, out-of-bounds index of a fixed
# array, ...) into an abort of the backend, which the test command reports
# as a crash; the report itself ("runtime error: ...", with a stack) is
# collected from the server log.  A private PostgreSQL copy is used
# (ENSPIRAL_PGROOT, default /tmp/pgroot-ubsan) and the objects are removed
# before and after, so no sanitized build is left behind.
#
# Exit status 0 only when every test passed and the log has no UBSan report.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

export ENSPIRAL_PGROOT=${ENSPIRAL_PGROOT:-/tmp/pgroot-ubsan}
OUT=$TOP/build/sanitize
SAN_FLAGS="-fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g"

# clean_objects: drop compiled objects (keeps build/, unlike make clean)
clean_objects() { rm -f "$TOP"/src/*.o "$TOP"/enspiral.so; }

# probe: a backend that loaded enspiral has the UBSan runtime mapped
probe() {
	(
		build_install
		cluster_start
		"$(pg_bindir)/psql" -qXAt -d postgres -c 'CREATE EXTENSION enspiral CASCADE' \
			-c "SELECT 'backend maps libubsan: ' || (pg_read_file('/proc/' || pg_backend_pid() || '/maps') LIKE '%libubsan%')
			     FROM (SELECT enspiral.library_version()) v" | tee "$OUT/probe"
	)
	grep -q 'libubsan: true' "$OUT/probe"
}

main() {
	local rc=0 reports
	ensure_deps test
	mkdir -p "$OUT"
	clean_objects
	say "building enspiral with $SAN_FLAGS"
	make -C "$TOP" -s PG_CONFIG="$SYS_PG_CONFIG" COPT="$SAN_FLAGS" >/dev/null
	if ! ldd "$TOP/enspiral.so" | grep -q libubsan; then
		clean_objects
		die "enspiral.so is not linked with libubsan"
	fi
	export UBSAN_OPTIONS=print_stacktrace=1:abort_on_error=1:halt_on_error=1
	probe || { clean_objects; die "the server did not load the sanitizer runtime with enspiral"; }
	# tools/test.sh finds the objects up to date and installs the sanitized module
	KEEP_CLUSTER_LOG=$OUT/server.log bash "$TOP/tools/test.sh" >"$OUT/test.log" 2>&1 || rc=1
	clean_objects
	grep -E '^[0-9]+ passed' "$OUT/test.log" || tail -n 20 "$OUT/test.log"
	reports=$(grep -a -A12 'runtime error:' "$OUT/server.log" 2>/dev/null || true)
	if [ -n "$reports" ]; then
		echo "UBSan reports (full log: build/sanitize/server.log):"
		echo "$reports" | head -n 60
		rc=1
	else
		echo "UBSan: no report in the server log"
	fi
	[ "$rc" -eq 0 ] && echo "sanitize: PASSED" || echo "sanitize: FAILED (see build/sanitize/test.log)"
	return "$rc"
}

main "$@"
