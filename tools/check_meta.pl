#!/usr/bin/env perl
# Check META.json against the PGXN Meta Spec 1.0 (https://pgxn.org/meta/spec.txt)
# and against the tree: required keys and their types, SemVer versions, known
# license, prereq phases, relationships and version ranges, tags, and that
# every path in "provides" is a committed file.  The distribution version and
# every provided extension's version must equal enspiral.control's
# default_version.  Prints one line per problem; exits 1 if there is any.
use strict;
use warnings;
use JSON::PP;

my $top = $ARGV[0] // '.';
chdir $top or die "cannot enter $top: $!\n";
my @errors;
sub bad { push @errors, "META.json: @_" }

open my $fh, '<', 'META.json' or die "META.json: $!\n";
my $meta = eval { JSON::PP->new->decode(do { local $/; <$fh> }) };
die "META.json is not valid JSON: $@" unless $meta;

my $semver = qr/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
my $term = qr/^[^\/\\\s[:cntrl:]]{2,}$/;
my $range_one = qr/(?:(?:[=!]=|[<>]=?)\s*)?(?:(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?|0)/;
my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd
  gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5
  postgresql qpl_1_0 ssleay sun zlib open_source restricted unrestricted unknown);
my %top_keys = map { $_ => 1 } qw(name version abstract maintainer license provides meta-spec
  description generated_by tags no_index prereqs release_status resources);

my ($control) = do { open my $c, '<', 'enspiral.control' or die "enspiral.control: $!\n";
	map { /^default_version\s*=\s*'([^']*)'/ ? $1 : () } <$c> };
# the files of the distribution: the committed ones in a git checkout (what
# make dist packs), the files present in an unpacked archive
my %committed = -e '.git'
  ? (map { chomp; $_ => 1 } `git ls-files`)
  : (map { chomp; s{^\./}{}; $_ => 1 } `find . -type f -o -type l`);

sub str { my ($v) = @_; defined $v && !ref $v && length $v }

for my $k (qw(name version abstract maintainer license provides meta-spec)) {
	bad("missing mandatory field '$k'") unless exists $meta->{$k};
}
for my $k (keys %$meta) {
	bad("unknown field '$k' (custom fields start with x_)") unless $top_keys{$k} || $k =~ /^[xX]_./;
}
bad("name must be a term") unless str($meta->{name}) && $meta->{name} =~ $term;
bad("version must be SemVer") unless str($meta->{version}) && $meta->{version} =~ $semver;
bad("version $meta->{version} differs from enspiral.control's default_version $control")
  if str($meta->{version}) && $meta->{version} ne $control;
for my $k (qw(abstract description generated_by)) {
	bad("$k must be a non-empty string") if exists $meta->{$k} && !str($meta->{$k});
}
my $m = $meta->{maintainer};
bad("maintainer must be a string or a non-empty array of strings")
  unless str($m) || (ref $m eq 'ARRAY' && @$m && !grep { !str($_) } @$m);
my $l = $meta->{license};
bad("license must be a known license name")
  unless (str($l) && $licenses{$l}) || (ref $l eq 'ARRAY' && @$l && !grep { !$licenses{$_} } @$l)
  || (ref $l eq 'HASH' && %$l);
my $p = $meta->{provides};
if (ref $p ne 'HASH' || !%$p) { bad("provides must be a non-empty object") }
else {
	for my $ext (sort keys %$p) {
		my $e = $p->{$ext};
		bad("provides key '$ext' must be a term") unless $ext =~ $term;
		if (ref $e ne 'HASH') { bad("provides.$ext must be an object"); next }
		for my $k (keys %$e) {
			bad("provides.$ext: unknown field '$k'") unless $k =~ /^(file|version|abstract|docfile)$/ || $k =~ /^[xX]_./;
		}
		bad("provides.$ext.version must be SemVer equal to $control")
		  unless str($e->{version}) && $e->{version} =~ $semver && $e->{version} eq $control;
		for my $k (qw(file docfile)) {
			next if $k eq 'docfile' && !exists $e->{$k};
			bad("provides.$ext.$k '" . ($e->{$k} // '') . "' is not a file of the distribution")
			  unless str($e->{$k}) && $committed{$e->{$k}};
		}
	}
}
my $ms = $meta->{'meta-spec'};
bad("meta-spec.version must be 1.0.x")
  unless ref $ms eq 'HASH' && str($ms->{version}) && $ms->{version} =~ /^1\.0\.\d+$/;
bad("meta-spec.url must be https://pgxn.org/meta/spec.txt")
  if ref $ms eq 'HASH' && exists $ms->{url} && $ms->{url} !~ m{^https?://pgxn\.org/meta/spec\.txt$};
if (exists $meta->{prereqs}) {
	my $pr = $meta->{prereqs};
	if (ref $pr ne 'HASH' || !%$pr) { bad("prereqs must be a non-empty object") }
	else {
		for my $phase (sort keys %$pr) {
			bad("prereqs: unknown phase '$phase'") unless $phase =~ /^(configure|build|test|runtime|develop|[xX]_.*)$/;
			my $rels = $pr->{$phase};
			next unless ref $rels eq 'HASH';
			for my $rel (sort keys %$rels) {
				bad("prereqs.$phase: unknown relationship '$rel'") unless $rel =~ /^(requires|recommends|suggests|conflicts|[xX]_.*)$/;
				my $deps = $rels->{$rel};
				next unless ref $deps eq 'HASH';
				for my $d (sort keys %$deps) {
					my $v = $deps->{$d};
					bad("prereqs.$phase.$rel.$d: bad version range '$v'")
					  unless defined $v && !ref $v && ("$v" eq '0' || $v =~ /^$range_one(?:,\s*$range_one)*$/);
				}
			}
		}
	}
}
if (exists $meta->{tags}) {
	my $t = $meta->{tags};
	bad("tags must be a non-empty array of 2..255-character strings without / or \\")
	  unless ref $t eq 'ARRAY' && @$t && !grep { !str($_) || length($_) < 2 || length($_) > 255 || m{[/\\[:cntrl:]]} } @$t;
}
bad("release_status must be stable, testing or unstable")
  if exists $meta->{release_status} && ($meta->{release_status} // '') !~ /^(stable|testing|unstable)$/;
if (exists $meta->{no_index}) {
	my $n = $meta->{no_index};
	bad("no_index must be an object of file and directory lists")
	  unless ref $n eq 'HASH' && !grep { !/^(file|directory|[xX]_.*)$/ } keys %$n;
}

print "$_\n" for @errors;
exit(@errors ? 1 : 0);
