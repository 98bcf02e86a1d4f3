#!/usr/bin/env bash
# Per-call latency of enspiral single-node and on Citus, measured in the
# same run on the same machine (doc/scaling.md): a coordinator and two
# workers on 127.0.0.1; database "single" on the coordinator holds enspiral
# with local tables (no citus), database "sharded" holds it distributed
# (enspiral.distribute(), 4 shards), and each call is timed by pgbench over
# TCP from one client.
#
#   ENSPIRAL_PGROOT=/tmp/pgroot-x bash bench/citus_latency.sh [SECONDS]
#
# Prints one line per call: RESULT|<call>|<sharded ms>|<single ms>|ms
source "$(dirname "${BASH_SOURCE[0]}")/../tools/common.sh"
source "$TOP/tools/citus.sh"

SECS=${1:-10}
MEMBERS=50

# psql_on DB SQL: one value from the coordinator
psql_on() { "$(pg_bindir)/psql" -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$CITUS_PORT" -U postgres -d "$1" -c "$2"; }

# setup DB: a group, $MEMBERS members, an open consent proposal; prints
# "group proposal first_member"
setup() {
	local db=$1 g p m r b
	g=$(psql_on "$db" "SELECT enspiral.create_group('bench')")
	m=$(psql_on "$db" "SELECT enspiral.add_member($g, 'm0')")
	# m0 is the group's admin: an add_member under enspiral.actor = m0 checks it
	psql_on "$db" "SELECT enspiral.grant_role($g, $m, 'admin')" >/dev/null
	for i in $(seq 1 $((MEMBERS - 1))); do psql_on "$db" "SELECT enspiral.add_member($g, 'm$i')" >/dev/null; done
	p=$(psql_on "$db" "SELECT enspiral.propose($g, $m, 'bench', 'consent')")
	psql_on "$db" "SELECT enspiral.open_proposal($g, $p, now() + interval '1 day', NULL)" >/dev/null
	r=$(psql_on "$db" "SELECT enspiral.create_round($g, 'bench', 1000000000000, now(), now() + interval '1 day')")
	b=$(psql_on "$db" "SELECT enspiral.create_bucket($r, $m, 'bench', 1, 1000000000000)")
	psql_on "$db" "SELECT enspiral.allocate($g, $r, NULL, NULL)" >/dev/null
	psql_on "$db" "SELECT enspiral.open_bucket($g, $b)" >/dev/null
	echo "$g $p $m $b"
}

# latency DB NAME SQL...: average latency in ms of one client running the
# script (with ACTOR set: every session acts as that member, as
# PGOPTIONS='-c enspiral.actor=...' makes it)
latency() {
	local db=$1 name=$2 f
	shift 2
	f=$(mktemp)
	printf '%s\n' "\\set i random(0, $((MEMBERS - 1)))" "$@" >"$f"
	PGOPTIONS=${ACTOR:+-c enspiral.actor=$ACTOR} "$(pg_bindir)/pgbench" -n -h 127.0.0.1 -p "$CITUS_PORT" -U postgres -c 1 -T "$SECS" \
		-D g="$G" -D p="$P" -D m="$M" -D b="$B" -f "$f" "$db" 2>&1 |
		sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p'
	rm -f "$f"
}

build_install
citus_ensure
citus_start
citus_createdb sharded
psql_on postgres "CREATE DATABASE single" >/dev/null
psql_on single "SET client_min_messages = warning; CREATE EXTENSION enspiral CASCADE" >/dev/null
psql_on sharded "SET client_min_messages = warning; CREATE EXTENSION enspiral CASCADE" >/dev/null
psql_on sharded "SELECT count(*) FROM enspiral.distribute()" >/dev/null

declare -A res
for db in single sharded; do
	read -r G P M B <<<"$(setup "$db")"
	res[$db,vote]=$(latency "$db" vote "SELECT enspiral.vote(:g, :p, :m + :i, '\"agree\"', NULL);")
	res[$db,is_member]=$(latency "$db" is_member "SELECT enspiral.is_member(:g, :m + :i, now());")
	res[$db,member_id]=$(latency "$db" member_id "SELECT enspiral.member_id(:g, 'm' || :i);")
	res[$db,add_member]=$(latency "$db" add_member "\\set k random(1, 1000000000)" \
		"SELECT enspiral.add_member(:g, 'x' || :k);")
	res[$db,add_member_actor]=$(ACTOR=$M latency "$db" add_member_actor "\\set k random(1, 1000000000)" \
		"SELECT enspiral.add_member(:g, 'y' || :k);")
	res[$db,contribute]=$(latency "$db" contribute \
		"SELECT enspiral.contribute(:g, :b, :m + :i, 1, NULL);")
	res[$db,vote_block]=$(latency "$db" vote_block "BEGIN;" \
		"SELECT enspiral.vote(:g, :p, :m + :i, '\"agree\"', NULL);" "COMMIT;")
	res[$db,select1]=$(latency "$db" select1 "SELECT 1;")
done
for call in select1 member_id is_member add_member add_member_actor vote vote_block contribute; do
	echo "RESULT|$call|${res[sharded,$call]}|${res[single,$call]}|ms"
done
