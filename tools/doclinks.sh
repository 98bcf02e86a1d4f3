#!/usr/bin/env bash
# Every relative link in README.md, HACKING.md, CHANGELOG.md, doc/*.md and
# bench/README.md points at a file or directory that exists, and every
# "#anchor" into a Markdown file names one of its headings; and every ```sql
# block of README.md between the QUICKSTART markers appears verbatim in
# test/sql/quickstart.sql (a regression test), so the quick start cannot rot.
# Prints one line per problem and exits 1 if there is any.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"

# anchors FILE: GitHub's anchors of the headings of FILE, one per line
anchors() {
	grep -E '^#{1,6} ' "$1" | sed -E 's/^#+ +//' |
		tr '[:upper:]' '[:lower:]' | sed -E 's/[^[:alnum:] _-]//g; s/ /-/g'
}

bad=0
for f in README.md HACKING.md CHANGELOG.md doc/*.md bench/README.md; do
	[ -f "$f" ] || continue
	dir=$(dirname "$f")
	# [text](target) outside code spans; skip absolute URLs and mail links
	while IFS= read -r link; do
		case $link in http://* | https://* | mailto:*) continue ;; esac
		path=${link%%#*}
		anchor=
		[[ $link == *"#"* ]] && anchor=${link#*#}
		if [ -z "$path" ]; then target=$f; else target=$dir/$path; fi
		if [ ! -e "$target" ]; then
			echo "$f: link to missing $link"
			bad=1
			continue
		fi
		if [ -n "$anchor" ] && [[ $target == *.md ]] && ! anchors "$target" | grep -qxF "$anchor"; then
			echo "$f: link to missing heading $link"
			bad=1
		fi
	done < <(sed -E 's/`[^`]*`//g' "$f" | grep -oE '\]\([^) ]+\)' | sed -E 's/^\]\(//; s/\)$//')
done
# quick start blocks: each one is a substring of the regression test
perl -e '
	local $/;
	open my $r, "<", "README.md" or die; my $readme = <$r>;
	open my $t, "<", "test/sql/quickstart.sql" or die; my $test = <$t>;
	my ($qs) = $readme =~ /<!-- QUICKSTART:BEGIN -->(.*?)<!-- QUICKSTART:END -->/s
		or do { print "README.md: QUICKSTART markers missing\n"; exit 1 };
	my ($n, $bad) = (0, 0);
	while ($qs =~ /^```sql\n(.*?)^```$/msg) {
		$n++;
		next if index($test, $1) >= 0;
		print "README.md: quick start block $n is not in test/sql/quickstart.sql\n";
		$bad = 1;
	}
	if ($n == 0) { print "README.md: no sql block between the QUICKSTART markers\n"; $bad = 1 }
	exit $bad;
' || bad=1
exit $bad
