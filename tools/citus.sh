# Shell functions for a throwaway Citus cluster (a coordinator and two
# workers on 127.0.0.1), used by the citus kind of tools/test.sh and by
# bench/citus_latency.sh. Source it after common.sh; it does nothing on its own.
#
#   citus_available        true when Citus 13.2.2 is installed or can be built
#   citus_ensure           build Citus from ../shared/vendor/citus when missing
#                          and copy it into the private PostgreSQL copy
#   citus_start            start the three nodes; sets CITUS_DIR, CITUS_PORT
#                          (coordinator), CITUS_WORKER_PORTS; stops on exit
#   citus_createdb DB      a database with citus on every node, workers added
#   citus_autodistribute DB  CREATE EXTENSION enspiral distributes it too
#   citus_dropdb DB        drop DB on every node
#   citus_stop             stop the nodes and remove their directories
#
# Ports are picked free from 55400-55499 (CITUS_PORT_BASE overrides the base).

CITUS_VENDOR=${CITUS_VENDOR:-$TOP/../shared/vendor/citus}
[ -d "$CITUS_VENDOR" ] || CITUS_VENDOR=/work/shared/vendor/citus
CITUS_SHARDS=${CITUS_SHARDS:-4}

# citus_sys_lib: path of citus.so in the system PostgreSQL
citus_sys_lib() { echo "$("$SYS_PG_CONFIG" --pkglibdir)/citus.so"; }

# citus_available: Citus is installed, or its source and build script are here
# and we may install packages (root)
citus_available() {
	[ -f "$(citus_sys_lib)" ] && return 0
	[ -f "$CITUS_VENDOR/build.sh" ] && [ "$(id -u)" -eq 0 ] && [ -z "${ENSPIRAL_NO_APT:-}" ]
}

# citus_ensure: install Citus into the system PostgreSQL when missing, then
# into the private copy (made before Citus was installed, or never)
citus_ensure() {
	local root lib
	if [ ! -f "$(citus_sys_lib)" ]; then
		say "building Citus from $CITUS_VENDOR (about 2 minutes)"
		bash "$CITUS_VENDOR/build.sh" >&2
	fi
	root=$(pg_root)
	[ -n "$root" ] || return 0
	lib="$root/usr/lib/postgresql/$PG_MAJOR/lib"
	if [ ! -f "$lib/citus.so" ] || ! cmp -s "$(citus_sys_lib)" "$lib/citus.so"; then
		cp -a "$(dirname "$(citus_sys_lib)")"/citus*.so "$lib/"
		cp -a "$(dirname "$(citus_sys_lib)")"/citus_decoders "$lib/" 2>/dev/null || true
		cp -a /usr/share/postgresql/"$PG_MAJOR"/extension/citus* \
			"$root/usr/share/postgresql/$PG_MAJOR/extension/"
		chmod -R a+rX "$root"
	fi
}

# citus_free_port: print a port of 55400-55499 nobody listens on
citus_free_port() {
	local base=${CITUS_PORT_BASE:-55400} p i
	for i in $(seq 0 99); do
		p=$((base + (RANDOM + i) % 100))
		[[ " ${CITUS_USED_PORTS:-} " == *" $p "* ]] && continue
		# nobody listens on it and no socket uses it as its local port
		# (an outgoing connection's port would make the bind fail)
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			! grep -qi "^ *[0-9]*: [0-9A-F]*:$(printf '%04X' "$p") " /proc/net/tcp 2>/dev/null; then
			CITUS_USED_PORTS="${CITUS_USED_PORTS:-} $p"
			echo "$p"
			return 0
		fi
	done
	die "no free port in $base-$((base + 99))"
}

# citus_node NAME PORT: initdb and start one node
citus_node() {
	local d=$CITUS_DIR/$1
	as_pg "$(pg_bindir)/initdb" -D "$d" -U postgres -A trust -E UTF8 --locale=C --no-sync \
		>"$CITUS_DIR/initdb-$1.log" 2>&1 || { cat "$CITUS_DIR/initdb-$1.log" >&2; die "initdb failed"; }
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$CITUS_DIR'"
		echo "port = $2"
		echo "shared_preload_libraries = 'citus'"
		echo "citus.node_conninfo = 'sslmode=disable'"
		echo "max_connections = 60"
		echo "max_prepared_transactions = 60"
		echo "shared_buffers = 32MB"
		echo "log_line_prefix = '%m [%p] %e '"
		# the zone pg_regress and pg_isolation_regress give their sessions:
		# Citus does not pass a client's TimeZone to the sessions it opens
		# on the workers, so a worker in another zone computed dates
		# (current_date, a joined_at's day) that disagreed with the
		# client's for hours each day (from 00:00 to 08:00 UTC the catalyst
		# rules refused terms that start "today"); doc/scaling.md, Deploy
		echo "timezone = 'PST8PDT'"
		echo "fsync = off"
		echo "synchronous_commit = off"
		echo "full_page_writes = off"
		echo "citus.shard_count = $CITUS_SHARDS"
		echo "citus.log_remote_commands = off"
		# what doc/scaling.md asks of every node: trigger functions on a
		# shard read rows of the same group through the distributed tables
		echo "citus.allow_nested_distributed_execution = on"
		# and this: enspiral's library in every session, so its commit-time
		# check and its SET CONSTRAINTS hook (src/core_commit_rules.c) are
		# there before the session's first write through the coordinator
		echo "session_preload_libraries = 'enspiral'"
		# a maintenance daemon per database (each test file has its own)
		echo "max_worker_processes = 64"
	} >>"$d/postgresql.conf"
	echo "host all all 127.0.0.1/32 trust" >"$d/pg_hba.conf.new"
	cat "$d/pg_hba.conf" >>"$d/pg_hba.conf.new"
	mv "$d/pg_hba.conf.new" "$d/pg_hba.conf"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$d/pg_hba.conf"
	citus_node_start "$1" "$2"
}

# citus_node_start NAME PORT: start one node; when another process took the
# port between the check and the bind, move to another free port (up to 5
# times) and print the port the node listens on
citus_node_start() {
	local d=$CITUS_DIR/$1 port=$2 try
	for try in 1 2 3 4 5; do
		if as_pg "$(pg_bindir)/pg_ctl" -D "$d" -l "$CITUS_DIR/$1.log" -w -t 60 start >/dev/null; then
			echo "$port" >"$CITUS_DIR/$1.port"
			return 0
		fi
		grep -q "Address already in use" "$CITUS_DIR/$1.log" 2>/dev/null || break
		port=$(citus_free_port)
		echo "port = $port" >>"$d/postgresql.conf"
		: >"$CITUS_DIR/$1.log"
	done
	cat "$CITUS_DIR/$1.log" >&2
	die "citus node $1 did not start"
}

# citus_start: a coordinator and two workers; stopped by citus_stop on exit
citus_start() {
	local p
	CITUS_DIR=$(mktemp -d /tmp/enspiral-citus.XXXXXX)
	chmod 755 "$CITUS_DIR"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$CITUS_DIR"
	trap citus_stop EXIT
	# each port is checked free just before its node starts, and a node
	# whose port was taken meanwhile moves on (citus_node_start)
	citus_node coordinator "$(citus_free_port)"
	CITUS_PORT=$(cat "$CITUS_DIR/coordinator.port")
	CITUS_USED_PORTS="$CITUS_PORT"
	for p in 1 2; do
		citus_node "worker$p" "$(citus_free_port)"
		CITUS_USED_PORTS="$CITUS_USED_PORTS $(cat "$CITUS_DIR/worker$p.port")"
	done
	# in ascending order: shards are placed in node order, so a test sees
	# the same placement (and the same ids drawn on the workers) every run
	CITUS_WORKER_PORTS=$(cat "$CITUS_DIR"/worker*.port | sort -n | tr '\n' ' ')
	export PGHOST=127.0.0.1 PGPORT=$CITUS_PORT PGUSER=postgres PGDATABASE=postgres
}

# citus_psql PORT DB SQL: run SQL on one node, quietly, stopping on error
citus_psql() {
	"$(pg_bindir)/psql" -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$2" -c "$3"
}

# citus_newdb DB: create DB on every node with citus, then register the
# coordinator and the workers in it
citus_newdb() {
	local port
	for port in $CITUS_PORT $CITUS_WORKER_PORTS; do
		citus_psql "$port" postgres "CREATE DATABASE $1" >/dev/null
		citus_psql "$port" "$1" "SET client_min_messages = warning; CREATE EXTENSION citus" >/dev/null
	done
	citus_psql "$CITUS_PORT" "$1" "SELECT citus_set_coordinator_host('127.0.0.1', $CITUS_PORT)" >/dev/null
	for port in $CITUS_WORKER_PORTS; do
		citus_psql "$CITUS_PORT" "$1" "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null
	done
}

# citus_template: make, once per cluster, the database citus_template on
# every node (citus, nodes registered, metadata synced) and close it to
# connections (Citus's maintenance daemon included), so that each node can
# copy it: a copy takes a fraction of a second, a new database with citus
# on three nodes several seconds
citus_template() {
	local port
	[ -z "${CITUS_TEMPLATE:-}" ] || return 0
	citus_newdb citus_template
	for port in $CITUS_PORT $CITUS_WORKER_PORTS; do
		citus_psql "$port" postgres "ALTER DATABASE citus_template WITH ALLOW_CONNECTIONS false;
			SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
			 WHERE datname = 'citus_template'" >/dev/null
	done
	CITUS_TEMPLATE=citus_template
}

# citus_createdb DB: a database with citus on every node, workers added (a
# copy of citus_template on each node)
citus_createdb() {
	local port try
	citus_template
	for port in $CITUS_PORT $CITUS_WORKER_PORTS; do
		# the maintenance daemon may still be leaving the template
		for try in 1 2 3 4 5; do
			citus_psql "$port" postgres "CREATE DATABASE $1 TEMPLATE $CITUS_TEMPLATE" \
				>/dev/null 2>"$CITUS_DIR/createdb-$1.err" && break
			grep -q 'is being accessed by other users' "$CITUS_DIR/createdb-$1.err" ||
				{ cat "$CITUS_DIR/createdb-$1.err" >&2; die "could not create database $1"; }
			[ "$try" -lt 5 ] || { cat "$CITUS_DIR/createdb-$1.err" >&2; die "could not create database $1"; }
			sleep 1
		done
	done
}

# citus_dropdb DB: drop DB on every node (each database with citus keeps a
# maintenance daemon and its connections on every node)
citus_dropdb() {
	local port
	for port in $CITUS_PORT $CITUS_WORKER_PORTS; do
		citus_psql "$port" postgres "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
	done
}

# citus_autodistribute DB: in DB, every CREATE EXTENSION enspiral runs
# enspiral.distribute() too (test/citus/autodistribute.sql), so that a
# regression file or spec written for a single server runs sharded unchanged
citus_autodistribute() {
	"$(pg_bindir)/psql" -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$CITUS_PORT" -U postgres \
		-d "$1" -f "$TOP/test/citus/autodistribute.sql" >/dev/null
}

# citus_crashed: true when a node's log shows a backend killed by a signal
citus_crashed() {
	grep -aE 'terminated by signal|server process .* was terminated' "$CITUS_DIR"/*.log >/dev/null
}

# citus_stop: stop every node and remove the directories (runs on any exit)
citus_stop() {
	local d
	[ -n "${CITUS_DIR:-}" ] || return 0
	for d in "$CITUS_DIR"/coordinator "$CITUS_DIR"/worker*; do
		[ -d "$d" ] || continue
		as_pg "$(pg_bindir)/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
	done
	if [ -n "${KEEP_CITUS_LOGS:-}" ]; then
		mkdir -p "$KEEP_CITUS_LOGS"
		cp "$CITUS_DIR"/*.log "$KEEP_CITUS_LOGS/" 2>/dev/null || true
	fi
	rm -rf "$CITUS_DIR"
	CITUS_DIR=
}
