#!/usr/bin/env perl
# Check that no install script writes enspiral's tables with INSERT ... SELECT
# (or INSERT ... WITH).  On Citus, such an INSERT run through the coordinator
# (a transaction block, a call that is not delegated) reaches the shards as a
# COPY from the extension owner, which the guards take for the owner's restore
# (src/core_restore.c): the rows go in without their rules and events
# (doc/scaling.md).  Insert row by row with INSERT ... VALUES instead.
# Prints one line per statement found; exits 1 if there is any.
use strict;
use warnings;

my $top = $ARGV[0] // '.';
my $found = 0;
for my $file (sort glob "$top/sql/install/*.sql") {
	open my $fh, '<', $file or die "$file: $!\n";
	my $text = do { local $/; <$fh> };
	while ($text =~ /INSERT\s+INTO\s+enspiral\.(\w+)\s*(?:\([^)]*\))?\s*(SELECT|WITH)\b/gi) {
		my $line = 1 + (substr($text, 0, $-[0]) =~ tr/\n//);
		print "$file:$line: INSERT INTO enspiral.$1 ... $2 (insert row by row with VALUES)\n";
		$found = 1;
	}
}
exit $found;
