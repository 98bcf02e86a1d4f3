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

# the lines of the output, each as [what Citus printed, normalized]
my @lines;
my $local_only = 0;
my $context = 0;	# a CONTEXT line that opened the context was removed
while (my $line = <STDIN>) {
	if ($line =~ /^(CONTEXT:  )?while executing command on [0-9.]+:[0-9]+$/
		|| $line =~ /^(CONTEXT:  )?SQL statement "SELECT enspiral\.[a-z_]+\((?:pg_catalog\.max\()?g\.group_id[,)].*FROM enspiral\.groups g WHERE g\.group_id OPERATOR\(pg_catalog\.=\) \$1"$/) {
		$context ||= defined $1;
		next;
	}
	# the next line of the context opens it instead
	if ($context && $line =~ /^(?:SQL statement "|PL\/pgSQL function |SQL function "|PL\/pgSQL expression )/) {
		$line = "CONTEXT:  $line";
	}
	$context = 0;
	if ($line =~ /^WARNING:  ".*" has dependency (?:on unsupported object ".*"|to ".*" that is not in Citus' metadata)$/) {
		$local_only = 1;
		next;
	}
	if ($local_only && $line =~ /^(?:DETAIL:  ".*" will be created only locally|HINT:  Distribute ".*" first to distribute ".*")$/) {
		next;
	}
	$local_only = 0;
	my $orig = $line;
	$line =~ s/(?<![0-9])(?<![0-9]\.)([0-9]{15,19})(?![0-9]|\.[0-9])/worker_id($1)/ge;
	$line =~ s/\b([a-z][a-z0-9_]*)_1[0-9]{5}\b/$1/g;
	push @lines, [$orig, $line];
}

# split_row LINE NCOLS: the cells of a row of psql's aligned table, or ()
# when the line does not split into NCOLS cells
sub split_row {
	my ($line, $ncols) = @_;
	chomp(my $l = $line);
	return () unless $l =~ s/^ //;
	my @cells = split / \| /, $l, -1;
	# an empty last cell leaves the row ending in " |"
	push @cells, '' if @cells == $ncols - 1 && $cells[-1] =~ s/ \|$//;
	return @cells == $ncols ? @cells : ();
}

# realign FIRST LAST: rewrite the aligned table of lines FIRST (header) to
# LAST (last row) with the column widths of its normalized values, as psql
# prints it: headers centred, a column right-aligned when its cells were
# (numbers), the last column's left-aligned cells not padded.  A table
# whose cells hold "|", line breaks or other than ASCII is left as it is.
sub realign {
	my ($first, $last) = @_;
	my @block = @lines[$first .. $last];
	return if grep { $_->[0] =~ /[^\x00-\x7f]|\+$|\+\|/ || $_->[1] =~ /[^\x00-\x7f]/ } @block;
	my $ncols = () = $block[1][0] =~ /\+/g;
	$ncols++;
	my (@rows, @padded_left, @padded_right, @text);
	for my $i (0, 2 .. $#block) {
		my @cells = split_row($block[$i][1], $ncols);
		my @orig = split_row($block[$i][0], $ncols);
		return unless @cells && @orig;
		if ($i > 0) {
			for my $c (0 .. $ncols - 1) {
				$padded_left[$c] = 1 if $orig[$c] =~ /^ +\S/;
				$padded_right[$c] = 1 if $orig[$c] =~ /\S +$/;
				$text[$c] = 1 if $orig[$c] =~ /\S/ && $orig[$c] !~ /^ *-?[0-9.]+$/;
			}
		}
		s/^ +| +$//g for @cells;
		push @rows, \@cells;
	}
	my @w = (0) x $ncols;
	for my $r (@rows) {
		for my $c (0 .. $ncols - 1) {
			$w[$c] = length($r->[$c]) if length($r->[$c]) > $w[$c];
		}
	}
	# right-aligned: padded on the left, or (every cell as wide as the
	# column) numbers only
	my @right = map { !$padded_right[$_] && ($padded_left[$_] || !$text[$_]) } 0 .. $ncols - 1;
	my $header = shift @rows;
	my @h = map {
		my $pad = $w[$_] - length($header->[$_]);
		(' ' x int($pad / 2)) . $header->[$_] . (' ' x ($pad - int($pad / 2)))
	} 0 .. $ncols - 1;
	$lines[$first][1] = ' ' . join(' | ', @h) . " \n";
	$lines[$first + 1][1] = join('+', map { '-' x ($_ + 2) } @w) . "\n";
	for my $i (0 .. $#rows) {
		my $r = $rows[$i];
		my @out = map {
			my $pad = ' ' x ($w[$_] - length($r->[$_]));
			$right[$_] ? $pad . $r->[$_] : ($_ == $ncols - 1 ? $r->[$_] : $r->[$_] . $pad)
		} 0 .. $ncols - 1;
		$lines[$first + 2 + $i][1] = ' ' . join(' | ', @out) . "\n";
	}
}

# psql's aligned tables whose values the normalization changed are aligned
# again: the width of an id drawn on a worker (15 digits and more) or of a
# shard name is not the width a single server prints
for (my $i = 0; $i + 1 < @lines; $i++) {
	next unless $lines[$i + 1][0] =~ /^-+(?:\+-+)*\n$/ && $lines[$i][0] =~ /^ /;
	my $j = $i + 2;
	$j++ while $j < @lines && $lines[$j][0] !~ /^\([0-9]+ rows?\)\n$/;
	last if $j >= @lines;
	realign($i, $j - 1) if grep { $_->[0] ne $_->[1] } @lines[$i .. $j - 1];
	$i = $j;
}

print $_->[1] for @lines;
