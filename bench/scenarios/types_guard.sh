#!/usr/bin/env bash
# Cost of the lifecycle guard: bulk UPDATEs of a proposal_state column on a
# table guarded by enspiral.guard_lifecycle() (C) against the same table
# without a trigger, against PostgreSQL's own C row trigger
# suppress_redundant_updates_trigger() (the cost of any row trigger), and against an equivalent PL/pgSQL trigger that calls
# enspiral.check_transition().  Every UPDATE moves every row open <-> closed
# (both allowed), so all rows pass through the guard.  Best of RUNS runs.
#
# Env: PGHOST/PGPORT/PGUSER of a live throwaway cluster with enspiral
# installed; BENCH_MODE=smoke (a few seconds) or full.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=/dev/null
source "$TOP/tools/common.sh"
BIN=$(pg_bindir)
DB=bench_types_$$

case "${BENCH_MODE:-smoke}" in
	smoke) ROWS=20000 RUNS=1 ;;
	full) ROWS=300000 RUNS=3 ;;
	*) die "BENCH_MODE must be smoke or full" ;;
esac

"$BIN/createdb" "$DB"
trap '"$BIN/dropdb" --if-exists "$DB" >/dev/null 2>&1 || true' EXIT

psql_db() { "$BIN/psql" -qXAt -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

psql_db -v rows="$ROWS" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION enspiral CASCADE;
CREATE FUNCTION plain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enspiral.check_transition(OLD.state, NEW.state, 'row ' || OLD.id);
    RETURN NEW;
END $$;
CREATE TABLE t_none (id int PRIMARY KEY, state enspiral.proposal_state) WITH (fillfactor = 50);
CREATE TABLE t_c (LIKE t_none INCLUDING ALL) WITH (fillfactor = 50);
CREATE TABLE t_plpgsql (LIKE t_none INCLUDING ALL) WITH (fillfactor = 50);
CREATE TABLE t_builtin (LIKE t_none INCLUDING ALL) WITH (fillfactor = 50);
CREATE TRIGGER builtin BEFORE UPDATE ON t_builtin FOR EACH ROW
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
SELECT enspiral.adopt_lifecycle('t_c', 'state') IS NOT NULL AS adopted \gset
CREATE TRIGGER guard BEFORE UPDATE ON t_plpgsql FOR EACH ROW EXECUTE FUNCTION plain_guard();
INSERT INTO t_none SELECT i, 'open' FROM generate_series(1, :rows) i;
INSERT INTO t_c SELECT * FROM t_none;
INSERT INTO t_plpgsql SELECT * FROM t_none;
INSERT INTO t_builtin SELECT * FROM t_none;
VACUUM ANALYZE;
-- elapsed milliseconds of one statement
CREATE FUNCTION elapsed_ms(sql text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE sql;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
SQL

# best_rate TABLE: best rows/s over RUNS toggling updates (each its own transaction)
best_rate() {
	local best=0 ms rate i
	for ((i = 0; i < RUNS * 2; i++)); do
		ms=$(psql_db -c "SELECT elapsed_ms(\$\$UPDATE $1 SET state = CASE WHEN state = 'open' THEN 'closed' ELSE 'open' END::enspiral.proposal_state\$\$)")
		rate=$(awk -v r="$ROWS" -v ms="$ms" 'BEGIN { printf "%d", r / (ms / 1000) }')
		[ "$rate" -gt "$best" ] && best=$rate
		psql_db -c "VACUUM $1" >/dev/null
	done
	echo "$best"
}

# a refused move must still be refused (the benchmark measures a live guard)
if psql_db -c "UPDATE t_c SET state = 'draft' WHERE id = 1" >/dev/null 2>&1; then
	die "the guard did not refuse open -> draft"
fi

none=$(best_rate t_none)
c=$(best_rate t_c)
pl=$(best_rate t_plpgsql)
bi=$(best_rate t_builtin)
echo "rows per UPDATE: $ROWS, best of $RUNS (x2 directions)"
echo "RESULT|lifecycle guard (C trigger) vs no trigger, bulk UPDATE|$c|$none|rows/s"
echo "RESULT|lifecycle guard (C trigger) vs built-in C trigger (suppress_redundant_updates_trigger)|$c|$bi|rows/s"
echo "RESULT|lifecycle guard (C trigger) vs PL/pgSQL trigger calling check_transition|$c|$pl|rows/s"
