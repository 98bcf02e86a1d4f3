# Shared shell functions for tools/demo.sh, tools/test.sh and bench/run.sh.
# Source it; it does nothing on its own.
#
# Environment:
#   PG_MAJOR          PostgreSQL major version to build against (default 15)
#   ENSPIRAL_PGROOT   if set, install into a private, relocated copy of the
#                     PostgreSQL installation under this directory instead of
#                     the system one (lets several checkouts test side by side)
#   ENSPIRAL_NO_APT   if set, never call apt-get (fail instead)

set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SYS_PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config

# say MSG: progress line on stderr
say() { printf '== %s\n' "$*" >&2; }

# die MSG: fail with a message
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_deps [test]: install the Debian packages the build (and tests) need.
# Each package is detected by the file the build or the tests actually use:
# pg_config and pgxs.mk come with postgresql-client-15, so the server headers
# are detected by postgres.h under pg_config --includedir-server.
ensure_deps() {
	local want=() pkgs incdir
	incdir=$("$SYS_PG_CONFIG" --includedir-server 2>/dev/null || echo "/usr/include/postgresql/$PG_MAJOR/server")
	[ -x "$SYS_PG_CONFIG" ] && [ -f "$incdir/postgres.h" ] &&
		[ -f "/usr/lib/postgresql/$PG_MAJOR/lib/pgxs/src/makefiles/pgxs.mk" ] ||
		want+=("postgresql-server-dev-$PG_MAJOR")
	[ -x "/usr/lib/postgresql/$PG_MAJOR/bin/initdb" ] || want+=("postgresql-$PG_MAJOR")
	command -v make >/dev/null || want+=(make)
	command -v gcc >/dev/null || want+=(gcc)
	if [ "${1:-}" = test ]; then
		[ -f "/usr/share/postgresql/$PG_MAJOR/extension/pgtap.control" ] || want+=("postgresql-$PG_MAJOR-pgtap")
		command -v pg_prove >/dev/null || want+=(libtap-parser-sourcehandler-pgtap-perl)
		command -v cppcheck >/dev/null || want+=(cppcheck)
	fi
	[ -f "/usr/share/postgresql/$PG_MAJOR/extension/btree_gist.control" ] || want+=(postgresql-contrib)
	[ ${#want[@]} -eq 0 ] && return 0
	[ -z "${ENSPIRAL_NO_APT:-}" ] || die "missing packages: ${want[*]}"
	[ "$(id -u)" -eq 0 ] || die "missing packages (${want[*]}); run as root to install them"
	pkgs="${want[*]}"
	say "installing $pkgs"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
}

# pg_root: prefix under which PostgreSQL (and the extension) is installed
pg_root() { echo "${ENSPIRAL_PGROOT:-}"; }

# pg_bindir: directory of the server binaries that the tests run
pg_bindir() { echo "$(pg_root)/usr/lib/postgresql/$PG_MAJOR/bin"; }

# pgxs_dir: directory with pg_regress and pg_isolation_regress
pgxs_dir() { echo "/usr/lib/postgresql/$PG_MAJOR/lib/pgxs"; }

# prepare_private_root: make the relocated copy of PostgreSQL once
prepare_private_root() {
	local root
	root=$(pg_root)
	[ -n "$root" ] || return 0
	if [ ! -x "$root/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ]; then
		say "making a private PostgreSQL copy in $root"
		mkdir -p "$root/usr/lib/postgresql" "$root/usr/share/postgresql"
		cp -a "/usr/lib/postgresql/$PG_MAJOR" "$root/usr/lib/postgresql/"
		cp -a "/usr/share/postgresql/$PG_MAJOR" "$root/usr/share/postgresql/"
	fi
	# extensions installed on the system after the copy was made (pgTAP,
	# installed by ensure_deps on a fresh machine) are copied in too
	cp -an "/usr/share/postgresql/$PG_MAJOR/extension/." "$root/usr/share/postgresql/$PG_MAJOR/extension/"
	chmod -R a+rX "$root"
}

# build_install: compile and install the extension
build_install() {
	say "building enspiral"
	make -C "$TOP" -s PG_CONFIG="$SYS_PG_CONFIG" >/dev/null
	prepare_private_root
	if [ -n "$(pg_root)" ]; then
		make -C "$TOP" -s PG_CONFIG="$SYS_PG_CONFIG" install DESTDIR="$(pg_root)" >/dev/null
	else
		make -C "$TOP" -s PG_CONFIG="$SYS_PG_CONFIG" install >/dev/null
	fi
}

# as_pg CMD...: run a command as the postgres OS user (initdb refuses root)
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# cluster_start [extra postgresql.conf lines...]: start a throwaway cluster
# listening on a Unix socket only; sets CLUSTER_DIR, PGHOST, PGPORT, PGUSER
cluster_start() {
	CLUSTER_DIR=$(mktemp -d /tmp/enspiral-cluster.XXXXXX)
	chmod 755 "$CLUSTER_DIR"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$CLUSTER_DIR"
	as_pg "$(pg_bindir)/initdb" -D "$CLUSTER_DIR/data" -U postgres -A trust \
		-E UTF8 --locale=C --no-sync >"$CLUSTER_DIR/initdb.log" 2>&1 ||
		{ cat "$CLUSTER_DIR/initdb.log" >&2; die "initdb failed"; }
	PGPORT=$((20000 + RANDOM % 20000))
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$CLUSTER_DIR'"
		echo "port = $PGPORT"
		echo "max_connections = 100"
		echo "max_prepared_transactions = 10"
		echo "log_line_prefix = '%m [%p] %e '"
		echo "timezone = 'UTC'"
		for line in "$@"; do echo "$line"; done
	} >>"$CLUSTER_DIR/data/postgresql.conf"
	as_pg "$(pg_bindir)/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" \
		-w -t 60 start >/dev/null || { cat "$CLUSTER_DIR/server.log" >&2; die "server did not start"; }
	export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres PGDATABASE=postgres
	trap cluster_stop EXIT
}

# cluster_stop: stop and remove the throwaway cluster (runs on any exit)
cluster_stop() {
	[ -n "${CLUSTER_DIR:-}" ] || return 0
	as_pg "$(pg_bindir)/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	if [ -n "${KEEP_CLUSTER_LOG:-}" ]; then
		cp "$CLUSTER_DIR/server.log" "$KEEP_CLUSTER_LOG" 2>/dev/null || true
	fi
	rm -rf "$CLUSTER_DIR"
	CLUSTER_DIR=
}
