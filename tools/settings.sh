#!/usr/bin/env bash
# The settings registry src/settings.txt is the one declaration of every
# group, proposal and round setting; this script derives the rest from it
# and checks that nothing drifted (as tools/errcodes.sh does for SQLSTATEs).
#
#   bash tools/settings.sh header   print the C registry (the Makefile writes
#                                   it to src/enspiral_settings.h, included by
#                                   src/core_settings.c only)
#   bash tools/settings.sh doc      rewrite the tables of doc/settings.md
#                                   between its SETTINGS markers
#   bash tools/settings.sh check    fail (exit 1, one line per problem) when
#                                   src/settings.txt is malformed, a key is
#                                   not named in the docs of its section, or
#                                   doc/settings.md is stale
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$TOP/tools/markers.sh"
LIST=$TOP/src/settings.txt
DOC=$TOP/doc/settings.md

# entries: "scope docs key type lower upper default methods meaning" for
# every setting line, validated
entries() {
	awk '
		/^[ \t]*(#|$)/ { next }
		/^Section:/ {
			scope = $2; docs = $3
			if (scope !~ /^(group|proposal|rule|round)$/) {
				printf "src/settings.txt:%d: unknown scope %s\n", NR, scope > "/dev/stderr"; bad = 1
			}
			next
		}
		{
			if (scope == "" || NF < 7 || $1 !~ /^[a-z][a-z0-9_]*$/ ||
				$2 !~ /^(int|number|pct|bool|right|actright|amount|label|share|timestamptz|word:[a-z_|]+)\??$/ ||
				$3 !~ /^(-|>?-?[0-9]+)$/ || $4 !~ /^(-|-?[0-9]+)$/ ||
				$5 !~ /^(@noptions|@method|@anonymous|@none|true|false|null|-?[0-9]+|"[a-z_]+")$/ ||
				$6 !~ /^(-|all|[a-z,]+)$/) {
				printf "src/settings.txt:%d: malformed line: %s\n", NR, $0 > "/dev/stderr"; bad = 1; next
			}
			k = (scope == "rule" ? "proposal" : scope) ":" $1
			if (k in seen) { printf "src/settings.txt:%d: %s declared twice\n", NR, $1 > "/dev/stderr"; bad = 1 }
			seen[k] = 1
			meaning = $0
			sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", meaning)
			print scope "\t" docs "\t" $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" meaning
		}
		END { exit bad }' "$LIST"
}

# header: the C registry, one EnspiralSetting per line
header() {
	local rows
	rows=$(entries)
	echo "/* src/enspiral_settings.h: generated from src/settings.txt by tools/settings.sh; do not edit. */"
	echo "#ifndef ENSPIRAL_SETTINGS_H"
	echo "#define ENSPIRAL_SETTINGS_H"
	echo
	awk -F'\t' '$4 ~ /^word:/ {
		w = $4; sub(/^word:/, "", w); sub(/\?$/, "", w)
		n = split(w, words, "|")
		printf "static const char *const setting_words_%s_%s[] = {", $1, $3
		for (i = 1; i <= n; i++) printf "\"%s\", ", words[i]
		print "NULL};"
	}' <<<"$rows"
	echo
	echo "static const EnspiralSetting enspiral_settings[] = {"
	awk -F'\t' '
		function cstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
		function methods(m,    n, parts, i, out) {
			if (m == "-") return "0"
			if (m == "all") return "SETTING_ALL_METHODS"
			n = split(m, parts, ",")
			out = ""
			for (i = 1; i <= n; i++) out = out (i > 1 ? " | " : "") "SETTING_METHOD(METHOD_" toupper(parts[i]) ")"
			return out
		}
		{
			type = $4; nullable = (type ~ /\?$/) ? "true" : "false"; sub(/\?$/, "", type)
			words = "NULL"
			if (type ~ /^word:/) { words = "setting_words_" $1 "_" $3; type = "word" }
			lower = $5; open = "false"
			if (lower ~ /^>/) { open = "true"; sub(/^>/, "", lower) }
			printf "\t{SETTINGS_%s, %s, SETTING_%s, %s, %s, %s, %s, %s, %s, %s},\n",
				toupper($1), cstr($3), toupper(type), nullable,
				lower == "-" ? "NULL" : cstr(lower), open,
				$6 == "-" ? "NULL" : cstr($6), cstr($7), methods($8), words
		}' <<<"$rows"
	echo "};"
	echo
	echo "#endif							/* ENSPIRAL_SETTINGS_H */"
}

# table: the Markdown tables of doc/settings.md, one per section
table() {
	awk '
		/^[ \t]*(#|$)/ { next }
		/^Section:/ {
			title = $0; sub(/^Section:[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", title)
			n = split($3, docs, ",")
			refs = ""
			for (i = 1; i <= n; i++) refs = refs (i > 1 ? ", " : "") "[" docs[i] "](" docs[i] ")"
			scope = $2
			printf "%s### %s\n\nScope `%s`; described in %s.\n\n", (nsec++ ? "\n" : ""), title, scope, refs
			if (scope == "proposal" || scope == "rule")
				print "| key | type | range | default | methods | meaning |\n|---|---|---|---|---|---|"
			else
				print "| key | type | range | default | meaning |\n|---|---|---|---|---|"
			next
		}
		{
			meaning = $0
			sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", meaning)
			type = $2; nullable = ""
			if (type ~ /\?$/) { nullable = " or null"; sub(/\?$/, "", type) }
			range = ""
			if (type ~ /^word:/) { w = substr(type, 6); gsub(/\|/, "`, `", w); range = "`" w "`"; type = "word" }
			else if (type == "right") range = "`anyone`, `member`, `author`, `author_or_admin`, `admin`"
			else if (type == "actright") { range = "`anyone`, `member`, `author`, `author_or_admin`, `admin`, `proposal`"; type = "right" }
			else if (type == "share") range = "`\"n/d\"`, 1 <= n <= d <= 1000000000"
			else if (type == "timestamptz") range = "a timestamp with a UTC offset, e.g. `\"2027-03-01T12:00:00Z\"`"
			else if ($3 != "-" || $4 != "-") {
				lo = $3
				if (lo ~ /^>/) { sub(/^>/, "", lo); range = "> " lo " and <= " $4 }
				else range = lo " .. " $4
			}
			d = $5
			if (d == "@noptions") d = "the number of options"
			else if (d == "@method") d = "by method"
			else if (d == "@anonymous") d = "`false` when anonymous, else `true`"
			else if (d == "@none") d = "(not stored)"
			else d = "`" d "`"
			if (scope == "proposal" || scope == "rule")
				printf "| `%s` | %s%s | %s | %s | %s | %s |\n", $1, type, nullable, range, d, $6, meaning
			else
				printf "| `%s` | %s%s | %s | %s | %s |\n", $1, type, nullable, range, d, meaning
		}' "$LIST"
}

# render_doc: doc/settings.md with the tables between the markers replaced
render_doc() {
	local tbl
	tbl=$(mktemp)
	table >"$tbl"
	replace_between_markers "$DOC" SETTINGS \
		"generated from src/settings.txt by tools/settings.sh doc; do not edit" "$tbl" ||
		{ rm -f "$tbl"; return 1; }
	rm -f "$tbl"
}

check() {
	local bad=0 rows scope docs key d found
	rows=$(entries) || return 1
	# every key is named (in backquotes) in a document of its section
	while IFS=$'\t' read -r scope docs key _; do
		found=0
		for d in ${docs//,/ }; do
			[ -f "$TOP/doc/$d" ] || { echo "src/settings.txt: doc/$d (section $scope) does not exist"; bad=1; continue; }
			grep -q "\`$key\`" "$TOP/doc/$d" && found=1
		done
		[ $found = 1 ] || { echo "$scope setting $key is not described in doc/${docs//,/ or doc/}"; bad=1; }
	done <<<"$rows"
	if ! render_doc | cmp -s - "$DOC"; then
		echo "doc/settings.md is stale: run bash tools/settings.sh doc"
		bad=1
	fi
	return $bad
}

case "${1:-}" in
header) header ;;
doc)
	out=$(render_doc)
	printf '%s\n' "$out" >"$DOC"
	;;
check) check ;;
*)
	echo "usage: $0 header|doc|check" >&2
	exit 2
	;;
esac
