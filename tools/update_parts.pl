#!/usr/bin/perl
# update_parts.pl --install INSTALL_PART... --parts UPDATE_PART...: print the
# update parts, replacing each line
#     -- @function enspiral.name(params)
# with that function's CREATE OR REPLACE and COMMENT from the install script.
# A part that needs a function before the end of the update (a trigger it
# creates, a data migration it runs) names it this way instead of carrying a
# second copy of its body; params are written as in the install script,
# whitespace aside.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use sqlstmt;

my (@install, @parts, $list);
for my $a (@ARGV) {
	if ($a eq '--install') { $list = \@install; next; }
	if ($a eq '--parts') { $list = \@parts; next; }
	die "usage: update_parts.pl --install FILE... --parts FILE...\n" unless $list;
	push @$list, $a;
}
my $slurp = sub { local $/; open my $f, '<', $_[0] or die "$_[0]: $!"; <$f> };
my ($fn) = sqlstmt::install_functions(join '', map { $slurp->($_) } @install);
for my $part (@parts) {
	my $text = $slurp->($part);
	$text =~ s{^-- \@function (.+?)\s*$}{
		my $key = $1;
		$key =~ s/\s+/ /g;
		die "$part: no install function $key\n" unless $fn->{$key};
		"$fn->{$key}[0]\n$fn->{$key}[1]"
	}mge;
	print $text;
}
