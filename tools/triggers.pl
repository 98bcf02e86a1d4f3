#!/usr/bin/perl
# triggers.pl: make the triggers of every table visible where the table is
# defined.  Triggers on one table are created in several install parts (its
# guard next to it, its event trigger in 70_events.sql, its chain or effect
# triggers later); above each "CREATE TABLE enspiral.x" this keeps a
# generated comment listing every trigger on x and the part creating it:
#
#   -- @triggers (tools/triggers.pl): x_guard (30_decisions), x_events (70_events)
#
#   perl tools/triggers.pl fix     rewrite the comments in sql/install/*.sql
#   perl tools/triggers.pl check   fail when a comment is missing or stale
#                                  (the lint kind of tools/test.sh runs it)
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use sqlstmt;

my $top = "$FindBin::Bin/..";
my @parts = sort glob("$top/sql/install/*.sql");
my $mode = shift // '';
die "usage: $0 fix|check\n" unless $mode eq 'fix' || $mode eq 'check';

# read_file(PATH): the whole file
sub read_file {
	my ($path) = @_;
	open my $fh, '<', $path or die "$path: $!\n";
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

# every trigger: table => [ "name (part)", ... ] in install order
my %on;
for my $path (@parts) {
	my $s = read_file($path);
	(my $part = $path) =~ s{.*/(\w+)\.sql$}{$1};
	while ($s =~ /^CREATE (?:CONSTRAINT )?TRIGGER\s+(\w+)/mg) {
		my ($name, $start) = ($1, $-[0]);
		my $stmt = substr($s, $start, sqlstmt::statement_end($s, $start) - $start);
		$stmt =~ /\bON\s+enspiral\.(\w+)/ or die "$part: trigger $name: no table\n";
		push @{ $on{$1} }, "$name ($part)";
	}
}

# comment(TABLE): the generated comment lines for a table (wrapped at 79)
sub comment {
	my ($table) = @_;
	my @names = @{ $on{$table} // [] };
	return '' unless @names;
	my @lines;
	my $line = '-- @triggers (tools/triggers.pl):';
	for my $n (@names) {
		my $item = " $n,";
		if (length($line) + length($item) > 79) {
			push @lines, $line;
			$line = '--  ';
		}
		$line .= $item;
	}
	$line =~ s/,$//;
	push @lines, $line;
	return join('', map { "$_\n" } @lines);
}

my $bad = 0;
my %seen;
for my $path (@parts) {
	my $s = read_file($path);
	my $out = $s;
	# drop the old comments, then put fresh ones above each CREATE TABLE
	$out =~ s/^-- \@triggers \(tools\/triggers\.pl\):.*\n(?:--  .*\n)*//mg;
	$out =~ s/^(CREATE TABLE enspiral\.(\w+))/$seen{$2} = 1; comment($2) . $1/mge;
	next if $out eq $s;
	(my $rel = $path) =~ s{^\Q$top\E/}{};
	if ($mode eq 'fix') {
		open my $fh, '>', $path or die "$path: $!\n";
		print $fh $out;
		close $fh;
	} else {
		print "$rel: the \@triggers comments are stale: run perl tools/triggers.pl fix\n";
		$bad = 1;
	}
}
for my $table (sort keys %on) {
	next if $seen{$table};
	print "triggers on enspiral.$table, which no install part creates with CREATE TABLE\n";
	$bad = 1;
}
exit $bad;
