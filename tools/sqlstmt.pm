# sqlstmt.pm: split SQL text into statements for the build tools
# (tools/update_functions.pl, tools/update_parts.pl).  Knows dollar-quoted
# bodies, single-quoted strings with '' inside, and -- comments; that is all
# the extension's own scripts use.
package sqlstmt;
use strict;
use warnings;

# statement_end(TEXT, POS): offset just past the ';' ending the statement at POS
sub statement_end {
	my ($s, $pos) = @_;
	my $len = length $s;
	while ($pos < $len) {
		my $c = substr($s, $pos, 1);
		if ($c eq ';') { return $pos + 1; }
		if ($c eq "'") {
			$pos++;
			while ($pos < $len) {
				if (substr($s, $pos, 1) eq "'") {
					if (substr($s, $pos + 1, 1) eq "'") { $pos += 2; next; }
					last;
				}
				$pos++;
			}
			$pos++;
			next;
		}
		if ($c eq '-' && substr($s, $pos, 2) eq '--') {
			my $nl = index($s, "\n", $pos);
			$pos = $nl < 0 ? $len : $nl + 1;
			next;
		}
		if ($c eq '$' && substr($s, $pos) =~ /^(\$[A-Za-z_]*\$)/) {
			my $tag = $1;
			my $close = index($s, $tag, $pos + length $tag);
			die "unterminated $tag\n" if $close < 0;
			$pos = $close + length $tag;
			next;
		}
		$pos++;
	}
	die "unterminated statement\n";
}

# function_key(STMT): "enspiral.name(params)" of a CREATE [OR REPLACE]
# FUNCTION statement, whitespace collapsed, or undef
sub function_key {
	my ($stmt) = @_;
	return undef unless $stmt =~ /^CREATE (?:OR REPLACE )?FUNCTION (enspiral\.\w+)\s*\(/;
	my $name = $1;
	my $pos = $+[0];
	my $depth = 1;
	my $start = $pos;
	while ($depth > 0 && $pos < length $stmt) {
		my $c = substr($stmt, $pos, 1);
		$depth++ if $c eq '(';
		$depth-- if $c eq ')';
		$pos++;
	}
	my $params = substr($stmt, $start, $pos - 1 - $start);
	$params =~ s/\s+/ /g;
	$params =~ s/^ | $//g;
	return "$name($params)";
}

# install_functions(TEXT): hash key => [create-or-replace stmt, comment stmt]
# and the keys in the order of the text
sub install_functions {
	my ($sql) = @_;
	my (%fn, @order, $last);
	while ($sql =~ /^(CREATE FUNCTION enspiral\.|COMMENT ON FUNCTION enspiral\.)/mg) {
		my $start = $-[0];
		my $end = statement_end($sql, $start);
		my $stmt = substr($sql, $start, $end - $start);
		if ($stmt =~ /^CREATE/) {
			$stmt =~ s/^CREATE FUNCTION/CREATE OR REPLACE FUNCTION/;
			$last = function_key($stmt);
			die "duplicate function $last\n" if exists $fn{$last};
			$fn{$last} = [$stmt, ''];
			push @order, $last;
		} else {
			die "COMMENT ON FUNCTION without a function before it\n" unless defined $last;
			$fn{$last}[1] .= "$stmt\n";
		}
		pos($sql) = $end;
	}
	return (\%fn, \@order);
}

1;
