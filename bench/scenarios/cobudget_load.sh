#!/usr/bin/env bash
# Co-budgeting load test: 16 pgbench clients contribute to 100 buckets from
# 1,000 members (half of the buckets and a tenth of the members start near
# their limits, so many contributions are refused; the round sets no
# max_per_member_per_bucket, which would add one indexed query per
# contribution), then verify_ledger must
# return no rows and no client may have seen a deadlock.  Reports
# contributions per second next to a plain INSERT of a bare transfer row
# (a table with the ledger's columns, defaults and indexes, but no trigger
# and no check constraint) in the same run, for two harnesses, each on its
# own round of the same shape: contribute() inside a PL/pgSQL exception
# block (a subtransaction per call, so that refusals do not stop the
# client), and try_contribute(), which returns NULL on a refusal (no
# subtransaction).  Both count calls, refusals included.  A last,
# unmeasured phase mixes contributions with cancel_bucket refunds on 100
# more buckets.
#
# Needs PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed.  BENCH_MODE=smoke runs 3 s per phase, full 60 s; BENCH_SECS
# overrides the phase length.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/common.sh"

MODE=${BENCH_MODE:-smoke}
case $MODE in
smoke) SECS=3 ;;
full) SECS=60 ;;
*) die "BENCH_MODE must be smoke or full" ;;
esac
SECS=${BENCH_SECS:-$SECS}	# a longer smoke run for profiling
CLIENTS=16
DB=enspiral_bench_cobudget
BIN=$(pg_bindir)
WORK=$(mktemp -d /tmp/enspiral-bench-cobudget.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

psql_q() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
psql_setup() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" -o /dev/null "$@"; }

"$BIN/dropdb" --if-exists "$DB"
"$BIN/createdb" "$DB"

say "cobudget_load: setting up 1,000 members and 100 buckets"
psql_setup <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
SELECT enspiral.create_group('bench');
SELECT count(enspiral.add_member(1, 'm' || i)) FROM generate_series(1, 1000) i;
-- members 1..900 get 100,000 each, members 901..1000 only 50: near overdraft
SELECT enspiral.create_round(1, 'load', 900 * 100000 + 100 * 50,
                             now() - interval '1 hour', now() + interval '1 day');
SELECT enspiral.allocate(1, array_agg(i::bigint ORDER BY i),
                         array_agg(CASE WHEN i <= 900 THEN 100000 ELSE 50 END::numeric ORDER BY i))
  FROM generate_series(1, 1000) i;
-- buckets 1..50 roomy; 51..100 start 30 below a max_goal of 1,000
SELECT count(enspiral.create_bucket(1, 1 + i % 1000, 'b' || i, 10,
                                    CASE WHEN i <= 50 THEN 1000000000 ELSE 1000 END))
  FROM generate_series(1, 100) i;
SELECT count(enspiral.open_bucket(i)) FROM generate_series(1, 100) i;
SELECT count(enspiral.contribute(i, i, 970)) FROM generate_series(51, 100) i;

-- the baseline: a table of the ledger's shape (columns, defaults, indexes)
-- without its rules (no trigger, no check constraint)
CREATE TABLE bench_plain (LIKE enspiral.transfers INCLUDING DEFAULTS INCLUDING INDEXES);
ALTER TABLE bench_plain ALTER transfer_id ADD GENERATED ALWAYS AS IDENTITY;
-- refusals are part of the load: count them instead of aborting the client
-- buckets 101..200 for the mixed phase (contributions racing cancels)
SELECT count(enspiral.create_bucket(1, i, 'x' || i, 10, 5000)) FROM generate_series(101, 200) i;
SELECT count(enspiral.open_bucket(i)) FROM generate_series(101, 200) i;
-- round 2: the same shape as round 1 (buckets 201..300, fresh member
-- accounts), for the second harness, so both harnesses start from the same
-- state
SELECT enspiral.create_round(1, 'load 2', 900 * 100000 + 100 * 50,
                             now() - interval '1 hour', now() + interval '1 day');
SELECT enspiral.allocate(2, array_agg(i::bigint ORDER BY i),
                         array_agg(CASE WHEN i <= 900 THEN 100000 ELSE 50 END::numeric ORDER BY i))
  FROM generate_series(1, 1000) i;
SELECT count(enspiral.create_bucket(2, 1 + i % 1000, 'c' || i, 10,
                                    CASE WHEN i <= 50 THEN 1000000000 ELSE 1000 END))
  FROM generate_series(1, 100) i;
SELECT count(enspiral.open_bucket(i)) FROM generate_series(201, 300) i;
SELECT count(enspiral.contribute(200 + i, i, 970)) FROM generate_series(51, 100) i;
CREATE FUNCTION bench_cancel(b bigint) RETURNS int
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enspiral.cancel_bucket(b);
    RETURN 1;
EXCEPTION WHEN SQLSTATE 'NS010' THEN
    RETURN 0;
END
$$;
CREATE FUNCTION bench_contribute(b bigint, m bigint, a bigint) RETURNS int
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enspiral.contribute(b, m, a);
    RETURN 1;
EXCEPTION WHEN SQLSTATE 'NS204' OR SQLSTATE 'NS205' OR SQLSTATE 'NS206'
            OR SQLSTATE 'NS207' THEN
    RETURN 0;
END
$$;
VACUUM ANALYZE;
SQL

cat >"$WORK/contribute.sql" <<'EOF'
\set b random(1, 100)
\set m random(1, 1000)
\set a random(1, 20)
SELECT bench_contribute(:b, :m, :a);
EOF
# the second harness: try_contribute returns NULL on a refusal instead of
# raising, so no savepoint (PL/pgSQL exception block) is needed per call
cat >"$WORK/try.sql" <<'EOF'
\set b random(201, 300)
\set m random(1, 1000)
\set a random(1, 20)
SELECT enspiral.try_contribute(:b, :m, :a);
EOF
cat >"$WORK/mixed.sql" <<'EOF'
\set b random(101, 200)
\set m random(1, 1000)
\set a random(1, 200)
SELECT bench_contribute(:b, :m, :a);
EOF
cat >"$WORK/cancel.sql" <<'EOF'
\set b random(101, 200)
SELECT bench_cancel(:b);
EOF
cat >"$WORK/plain.sql" <<'EOF'
\set b random(1, 100)
\set m random(1, 1000)
\set a random(1, 20)
INSERT INTO bench_plain (group_id, round_id, kind, from_account, to_account, amount)
VALUES (1, 1, 'contribute', :m, :b, :a);
EOF

# run_pgbench SCRIPT LOG SECONDS: CLIENTS clients; prints the transactions done
run_pgbench() {
	"$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$3" -f "$1" "$DB" >"$2" 2>&1 ||
		{ cat "$2" >&2; die "pgbench failed"; }
	sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$2"
}

# The machine is shared: the baseline runs half before and half after the
# governed run, so that drift in background load biases neither figure.
HALF=$(((SECS + 1) / 2))
contributions() { psql_q -c "SELECT count(*) FROM enspiral.transfers WHERE kind = 'contribute' AND round_id = $1"; }
before=$(contributions 1)
before2=$(contributions 2)
say "cobudget_load: plain INSERT, $CLIENTS clients, ${HALF}s"
plain1=$(run_pgbench "$WORK/plain.sql" "$WORK/plain1.log" "$HALF")
say "cobudget_load: governed contribute (savepoint wrapper), $CLIENTS clients, ${SECS}s"
txns=$(run_pgbench "$WORK/contribute.sql" "$WORK/governed.log" "$SECS")
say "cobudget_load: governed try_contribute, $CLIENTS clients, ${SECS}s"
txns2=$(run_pgbench "$WORK/try.sql" "$WORK/governed2.log" "$SECS")
say "cobudget_load: plain INSERT, $CLIENTS clients, ${HALF}s"
plain2=$(run_pgbench "$WORK/plain.sql" "$WORK/plain2.log" "$HALF")
after=$(contributions 1)
after2=$(contributions 2)
# mixed phase (not measured): contributions racing cancel_bucket refunds
MIXED=$(((SECS + 3) / 4))
say "cobudget_load: mixed contributions and cancels, $CLIENTS clients, ${MIXED}s"
"$BIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$MIXED" \
	-f "$WORK/mixed.sql@50" -f "$WORK/cancel.sql@1" "$DB" >"$WORK/mixed.log" 2>&1 ||
	{ cat "$WORK/mixed.log" >&2; die "pgbench (mixed) failed"; }
refunds=$(psql_q -c "SELECT count(*) FROM enspiral.transfers WHERE kind = 'refund'")
cancelled=$(psql_q -c "SELECT count(*) FROM enspiral.buckets WHERE state::text = 'cancelled'")
governed=$(awk -v n="$txns" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }')
governed2=$(awk -v n="$txns2" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }')
plain=$(awk -v a="$plain1" -v b="$plain2" -v s="$HALF" 'BEGIN { printf "%.0f", (a + b) / (2 * s) }')

status=0
if grep -qi 'deadlock' "$WORK"/*.log; then
	echo "a client saw a deadlock:"
	grep -i 'deadlock' "$WORK/governed.log"
	status=1
fi
if grep -qiE 'aborted|error' "$WORK/governed.log" "$WORK/governed2.log" "$WORK/mixed.log"; then
	echo "governed runs had client errors:"
	grep -iE 'aborted|error' "$WORK/governed.log" "$WORK/governed2.log" "$WORK/mixed.log" | head
	status=1
fi
problems=$(psql_q -c "SELECT count(*) FROM enspiral.verify_ledger(1)")
if [ "$problems" != 0 ]; then
	echo "verify_ledger found $problems problems:"
	psql_q -c "SELECT * FROM enspiral.verify_ledger(1) LIMIT 20"
	status=1
fi
funded=$(psql_q -c "SELECT count(*) FROM enspiral.buckets WHERE state::text = 'funded'")
echo "buckets funded: $funded, verify_ledger problems: $problems"
# report LABEL CALLS ACCEPTED CALLS_PER_S: one harness's figures
report() {
	echo "$1: calls: $2, accepted: $3, refused: $(($2 - $3)), governed / plain = $(awk -v g="$4" -v p="$plain" 'BEGIN { printf "%.2f", (p > 0 ? g / p : 0) }') (calls; accepted contributions per second: $(awk -v n="$3" -v s="$SECS" 'BEGIN { printf "%.0f", n / s }'))"
}
report "contribute in a savepoint wrapper" "$txns" "$((after - before))" "$governed"
report "try_contribute" "$txns2" "$((after2 - before2))" "$governed2"
echo "mixed phase: $cancelled buckets cancelled, $refunds refunds"
echo "RESULT|cobudget contribute in a PL/pgSQL savepoint wrapper, $CLIENTS clients (vs plain INSERT of a bare transfer row)|$governed|$plain|tps"
echo "RESULT|cobudget try_contribute (refusals as NULL, no savepoint), $CLIENTS clients (vs plain INSERT of a bare transfer row)|$governed2|$plain|tps"
"$BIN/dropdb" --if-exists "$DB" || true
exit $status
