#!/usr/bin/env bash
# Run every enspiral test on a throwaway cluster: pg_regress suites
# (test/sql), isolation specs (test/specs), pgTAP files (test/pgtap) and the
# smoke runs of bench/ and the fuzzer.  Installs what it needs, builds,
# installs, starts a private cluster, stops and removes it on any exit.
# Ends with one line: "N passed, N failed".
#
#   ONLY=regex   run only the tests whose name matches (all kinds)
#   KIND=list    comma list of kinds to run: lint,regress,isolation,pgtap,smoke,citus
#   KEEP_RESULTS=1 keep build/test (diffs and outputs) even when green
#   CITUS_JOBS=n  single-server files run side by side on the Citus cluster (2)
#   ENSPIRAL_ASSERT=1 build with enspiral's Assert()s compiled in (Makefile)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/citus.sh"
source "$(dirname "${BASH_SOURCE[0]}")/citus_backup.sh"

ONLY=${ONLY:-.}
KIND=${KIND:-lint,regress,isolation,pgtap,smoke,citus}
OUT=$TOP/build/test
passed=0
failed=0
skipped=0

# kind_on NAME: true when this kind of test is selected
kind_on() { [[ ",$KIND," == *",$1,"* ]]; }

# select_names DIR EXT: test names in DIR matching ONLY, sorted
select_names() {
	local f n
	for f in "$TOP/$1"/*."$2"; do
		[ -e "$f" ] || continue
		n=$(basename "$f" ."$2")
		[[ $n =~ $ONLY ]] && echo "$n"
	done | sort
}

# tally_regress LOG RC: add a pg_regress/pg_isolation_regress run to the counts
tally_regress() {
	local ok bad
	ok=$(grep -cE '\.\.\. ok( |$)' "$1" || true)
	bad=$(grep -cE '\.\.\. FAILED|diff command failed' "$1" || true)
	# a run that failed without naming a test (setup error) counts once
	if [ "$2" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

# run_regress: the pg_regress suites
run_regress() {
	local names rc
	mapfile -t names < <(select_names test/sql sql)
	[ ${#names[@]} -gt 0 ] || return 0
	say "pg_regress: ${#names[@]} files"
	mkdir -p "$OUT/regress"
	(cd "$TOP" && "$(pgxs_dir)/src/test/regress/pg_regress" \
		--inputdir=test --outputdir="$OUT/regress" \
		--bindir="$(pg_bindir)" --host="$PGHOST" --port="$PGPORT" \
		--user=postgres --dbname=contrib_regression "${names[@]}") \
		>"$OUT/regress.log" 2>&1 && rc=0 || rc=$?
	cat "$OUT/regress.log"
	tally_regress "$OUT/regress.log" "$rc"
	[ ! -s "$OUT/regress/regression.diffs" ] || cat "$OUT/regress/regression.diffs"
}

# run_isolation: the isolation specs
run_isolation() {
	local names rc
	mapfile -t names < <(select_names test/specs spec)
	[ ${#names[@]} -gt 0 ] || return 0
	say "pg_isolation_regress: ${#names[@]} specs"
	mkdir -p "$OUT/isolation"
	(cd "$TOP" && "$(pgxs_dir)/src/test/isolation/pg_isolation_regress" \
		--inputdir=test --outputdir="$OUT/isolation" \
		--bindir="$(pg_bindir)" --host="$PGHOST" --port="$PGPORT" \
		--user=postgres --dbname=isolation_regression "${names[@]}") \
		>"$OUT/isolation.log" 2>&1 && rc=0 || rc=$?
	cat "$OUT/isolation.log"
	tally_regress "$OUT/isolation.log" "$rc"
	[ ! -s "$OUT/isolation/regression.diffs" ] || cat "$OUT/isolation/regression.diffs"
}

# run_pgtap: the pgTAP files, through pg_prove
run_pgtap() {
	local names files=() n total bad
	mapfile -t names < <(select_names test/pgtap sql)
	[ ${#names[@]} -gt 0 ] || return 0
	for n in "${names[@]}"; do files+=("$TOP/test/pgtap/$n.sql"); done
	say "pg_prove: ${#files[@]} files"
	"$(pg_bindir)/psql" -qX -d postgres -c 'CREATE DATABASE enspiral_tap' >/dev/null
	pg_prove -h "$PGHOST" -p "$PGPORT" -U postgres -d enspiral_tap "${files[@]}" \
		>"$OUT/pgtap.log" 2>&1 || true
	cat "$OUT/pgtap.log"
	total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$OUT/pgtap.log")
	total=${total:-0}
	bad=$(sed -n 's/.*Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$OUT/pgtap.log" |
		awk '{s += $1} END {print s + 0}')
	# a file that died or missed its plan counts as one failure of its own
	if grep -q '^Result: FAIL' "$OUT/pgtap.log" && [ "$bad" -eq 0 ]; then bad=1; fi
	passed=$((passed + total - bad))
	failed=$((failed + bad))
}

# lint_step NAME CMD...: one lint check, counted as one test
lint_step() {
	local name=$1
	shift
	say "lint: $name"
	if "$@" >"$OUT/lint_$name.log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		cat "$OUT/lint_$name.log"
	fi
}

# run_lint: cppcheck over src/ reports nothing (make cppcheck); the SQLSTATE
# list, the codes used and doc/errors.md agree (tools/errcodes.sh check);
# the settings registry and doc/settings.md agree (tools/settings.sh check);
# every table shows its triggers where it is created (tools/triggers.pl check);
# every relative link in the docs points at a file (tools/doclinks.sh);
# META.json follows PGXN's meta spec and the tree (tools/check_meta.pl);
# no install script inserts into enspiral's tables with INSERT ... SELECT
# (tools/no_insert_select.pl)
run_lint() {
	lint_step cppcheck make -C "$TOP" -s cppcheck
	lint_step errcodes bash "$TOP/tools/errcodes.sh" check
	lint_step settings bash "$TOP/tools/settings.sh" check
	lint_step triggers perl "$TOP/tools/triggers.pl" check
	lint_step doclinks bash "$TOP/tools/doclinks.sh"
	lint_step meta perl "$TOP/tools/check_meta.pl" "$TOP"
	lint_step insert_select perl "$TOP/tools/no_insert_select.pl" "$TOP"
}

# run_smoke: short runs of the proof harness (doc/proof-and-benchmarks.md): benchmarks,
# fuzzer, backup/restore, upgrade path and crash-and-restore
run_smoke() {
	local spec s envs name
	for spec in bench/smoke.sh: tools/fuzz_smoke.sh: tools/backup.sh:BACKUP_MODE=smoke \
		tools/upgrade.sh: tools/crash.sh:CRASH_MODE=smoke; do
		s=$TOP/${spec%%:*}
		envs=${spec#*:}
		[ -f "$s" ] || continue
		name=$(basename "$s" .sh)
		[[ $name =~ $ONLY ]] || [ "$ONLY" = . ] || continue
		say "smoke: $name"
		# shellcheck disable=SC2086
		if env $envs bash "$s" >"$OUT/$name.log" 2>&1; then
			passed=$((passed + 1))
			tail -n 20 "$OUT/$name.log"
		else
			failed=$((failed + 1))
			cat "$OUT/$name.log"
		fi
	done
}

# citus_schedule: the names of test/citus/schedule (regression files of
# test/sql and specs of test/specs that run sharded) matching ONLY
citus_schedule() {
	local n
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$TOP/test/citus/schedule" | while read -r n; do
		[ -n "$n" ] && [[ $n =~ $ONLY ]] && echo "$n"
	done
	return 0
}

# citus_compare NAME RESULT: compare what a single-server test printed on
# Citus, normalized by tools/citus_normalize.pl, with its single-server
# expected output; prints pg_regress's verdict line and writes the diff to
# $OUT/citus/single/NAME.diffs
citus_compare() {
	local out=$OUT/citus/single/$1
	if [ ! -f "$2" ]; then
		echo "test $1 ... FAILED (no output: $out.log)"
		return 1
	fi
	perl "$TOP/tools/citus_normalize.pl" <"$2" >"$out.normalized.out"
	if diff -U3 "$TOP/expected/$1.out" "$out.normalized.out" >"$out.diffs"; then
		rm -f "$out.diffs"
		echo "test $1 ... ok (sharded, as on a single server)"
	else
		echo "test $1 ... FAILED (sharded: $out.diffs)"
		return 1
	fi
}

# citus_single NAME: run one regression file (test/sql) or isolation spec
# (test/specs) written for a single server on the cluster, in a fresh
# database where CREATE EXTENSION enspiral also distributes it, and compare
# its output with the single-server expected output
citus_single() {
	local n=$1 db=s_$1 tool=regress/pg_regress
	# a database of its own (files run side by side), dropped after it
	[ ! -f "$TOP/test/specs/$n.spec" ] || tool=isolation/pg_isolation_regress
	citus_createdb "$db"
	citus_autodistribute "$db"
	# a spec's session waits on a worker, where PostgreSQL's wait check of
	# isolationtester does not look: Citus's (the one its own specs use)
	# sees the locks of the whole cluster
	[ "$tool" = regress/pg_regress ] ||
		citus_psql "$CITUS_PORT" "$db" "SELECT citus_internal.replace_isolation_tester_func()" >/dev/null
	# pg_regress's own comparison fails on what the normalization removes
	(cd "$TOP" && "$(pgxs_dir)/src/test/$tool" \
		--inputdir=test --outputdir="$OUT/citus/single/$n" \
		--bindir="$(pg_bindir)" --host=127.0.0.1 --port="$CITUS_PORT" \
		--user=postgres --dbname="$db" --use-existing "$n") >"$OUT/citus/single/$n.log" 2>&1 || true
	citus_dropdb "$db"
	citus_compare "$n" "$OUT/citus/single/$n/results/$n.out"
}

# run_citus: on a coordinator and two workers on 127.0.0.1 (doc/scaling.md),
# each file in a fresh database with citus on every node: the Citus
# regression files (test/citus/sql, expected outputs in test/citus/expected),
# then the single-server regression files and specs named in
# test/citus/schedule, with their single-server expected outputs.
# Skipped, with the reason, only when Citus is missing and cannot be built.
run_citus() {
	local names=() single=() n f rc
	for f in "$TOP"/test/citus/sql/*.sql; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .sql)
		[[ $n =~ $ONLY ]] && names+=("$n")
	done
	mapfile -t single < <(citus_schedule)
	[ $((${#names[@]} + ${#single[@]})) -gt 0 ] || return 0
	if ! citus_available; then
		say "citus: SKIPPED: Citus is not installed and cannot be built here (needs root and $CITUS_VENDOR/build.sh)"
		skipped=$((skipped + ${#names[@]} + ${#single[@]}))
		return 0
	fi
	citus_ensure
	say "citus: a coordinator and two workers, ${#names[@]} Citus files, ${#single[@]} single-server files and specs"
	mkdir -p "$OUT/citus/single"
	(
		rc=0
		citus_start
		citus_template
		for n in "${names[@]}"; do
			citus_createdb "$n"
			(cd "$TOP" && "$(pgxs_dir)/src/test/regress/pg_regress" \
				--inputdir=test/citus --outputdir="$OUT/citus/$n" \
				--bindir="$(pg_bindir)" --host=127.0.0.1 --port="$CITUS_PORT" \
				--user=postgres --dbname="$n" --use-existing "$n") || rc=1
		done
		# CITUS_JOBS files at a time (2 by default): most of a file's time
		# is spent waiting for the nodes
		for n in "${single[@]}"; do
			# the feed's specs run alone: events_since returns only ids below
			# the oldest transaction running in the database on the node,
			# and nothing else then runs on the nodes
			if [[ $n == iso_events_* ]]; then
				wait
				citus_single "$n" >"$OUT/citus/single/$n.verdict" 2>&1
				continue
			fi
			citus_single "$n" >"$OUT/citus/single/$n.verdict" 2>&1 &
			while [ "$(jobs -rp | wc -l)" -ge "${CITUS_JOBS:-2}" ]; do wait -n || true; done
		done
		wait
		for n in "${single[@]}"; do
			cat "$OUT/citus/single/$n.verdict"
			grep -q '\.\.\. ok' "$OUT/citus/single/$n.verdict" || rc=1
		done
		if [[ citus_backup =~ $ONLY ]]; then
			(citus_backup_test) || rc=1
		fi
		if [[ citus_upgrade =~ $ONLY ]]; then
			(citus_upgrade_test) || rc=1
		fi
		if citus_crashed; then
			say "a Citus node's log shows a crashed backend:"
			grep -aE -B5 'terminated by signal' "$CITUS_DIR"/*.log >&2 || true
			rc=1
		fi
		exit "$rc"
	) >"$OUT/citus.log" 2>&1 && rc=0 || rc=$?
	cat "$OUT/citus.log"
	tally_regress "$OUT/citus.log" "$rc"
	cat "$OUT"/citus/*/regression.diffs "$OUT"/citus/single/*.diffs 2>/dev/null || true
}

main() {
	ensure_deps test
	build_install
	rm -rf "$OUT"
	mkdir -p "$OUT"
	cluster_start "fsync = off" "synchronous_commit = off" "full_page_writes = off"
	kind_on lint && run_lint
	kind_on regress && run_regress
	kind_on isolation && run_isolation
	kind_on pgtap && run_pgtap
	kind_on smoke && run_smoke
	kind_on citus && run_citus
	if grep -aE 'terminated by signal|server process .* was terminated' "$CLUSTER_DIR/server.log" >/dev/null; then
		say "the server log shows a crashed backend:"
		grep -aE -B5 'terminated by signal' "$CLUSTER_DIR/server.log" >&2 || true
		failed=$((failed + 1))
	fi
	echo
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main "$@"
