#!/usr/bin/perl
# Rewrite an output of a regression file or isolation spec run on Citus
# (tools/test.sh, the citus kind) into what the same run prints on a single
# server, for the differences that are not behaviour (doc/scaling.md):
#
#   - Citus adds "while executing command on HOST:PORT" to the CONTEXT of
#     an error raised on a worker: the line (or a CONTEXT made of it alone)
#     is removed;
#   - an id drawn on a worker comes from the worker's own range, (node
#     group << 48) + n: it is printed as n, the id a single server draws
#     (for node groups 1 to 15 and n below 2^40: 2^53 stays 2^53);
#   - a rule that fires on a shard names the shard (enspiral.members_102064,
#     a constraint memberships_..._excl_102112): the shard id suffix (Citus
#     numbers shards from 102008) is removed;
#   - a group-first call that is not delegated (inside a transaction block)
#     is forwarded to the group's node (src/core_forward.c) as one SQL
#     statement: an error raised there carries that statement as an extra
#     CONTEXT line, which is removed;
#   - Citus warns that a helper object the test creates for itself (a
#     function in pg_temp, a view over a local table) is created only on the
#     coordinator: the WARNING and its DETAIL and HINT are removed.
#
# Usage: perl tools/citus_normalize.pl < results.out > normalized.out
use strict;
use warnings;

my $range = 2**48;

# worker_id N: N drawn on a worker as the id a single server draws
sub worker_id {
	my ($n) = @_;
	my ($group, $id) = (int($n / $range), $n % $range);
	return ($group >= 1 && $group <= 15 && $id >= 1 && $id < 2**40) ? $id : $n;
}

my $local_only = 0;
while (my $line = <STDIN>) {
	next if $line =~ /^(?:CONTEXT:  )?while executing command on [0-9.]+:[0-9]+$/;
	next if $line =~ /^(?:CONTEXT:  )?SQL statement "SELECT enspiral\.[a-z_]+\(g\.group_id, .*\) FROM enspiral\.groups g WHERE g\.group_id OPERATOR\(pg_catalog\.=\) \$1"$/;
	if ($line =~ /^WARNING:  ".*" has dependency (?:on unsupported object ".*"|to ".*" that is not in Citus' metadata)$/) {
		$local_only = 1;
		next;
	}
	if ($local_only && $line =~ /^(?:DETAIL:  ".*" will be created only locally|HINT:  Distribute ".*" first to distribute ".*")$/) {
		next;
	}
	$local_only = 0;
	$line =~ s/(?<![0-9])(?<![0-9]\.)([0-9]{15,19})(?![0-9]|\.[0-9])/worker_id($1)/ge;
	$line =~ s/\b([a-z][a-z0-9_]*)_1[0-9]{5}\b/$1/g;
	print $line;
}
