#!/usr/bin/env bash
# The SQLSTATE list src/errcodes.txt is the one source of truth; this script
# derives everything else from it and checks that nothing drifted.
#
#   bash tools/errcodes.sh header   print the C header (the Makefile writes it
#                                   to src/enspiral_errcodes.h)
#   bash tools/errcodes.sh doc      rewrite the table of doc/errors.md between
#                                   its ERRCODES markers
#   bash tools/errcodes.sh check    fail (exit 1, one line per problem) when a
#                                   code used in src/ or sql/install/ or named
#                                   in the docs is not listed, a listed code is
#                                   used nowhere, a code is defined outside the
#                                   list, or doc/errors.md is stale
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$TOP/tools/markers.sh"
LIST=$TOP/src/errcodes.txt
DOC=$TOP/doc/errors.md
GENERATED=src/enspiral_errcodes.h

# entries: "code macro condition meaning" for every code line, validated
entries() {
	awk '
		/^[ \t]*(#|$)/ { next }
		/^Section:/ { next }
		{
			if ($1 !~ /^NS[0-9A-Z][0-9A-Z][0-9A-Z]$/ || $2 !~ /^ERRCODE_ENSPIRAL_[A-Z0-9_]+$/ ||
				$3 !~ /^[a-z0-9_]+$/ || NF < 4) {
				printf "src/errcodes.txt:%d: malformed line: %s\n", NR, $0 > "/dev/stderr"; bad = 1; next
			}
			if ($1 in code) { printf "src/errcodes.txt:%d: %s listed twice\n", NR, $1 > "/dev/stderr"; bad = 1 }
			if ($2 in macro) { printf "src/errcodes.txt:%d: %s listed twice\n", NR, $2 > "/dev/stderr"; bad = 1 }
			code[$1] = 1; macro[$2] = 1
			print
		}
		END { exit bad }' "$LIST"
}

# header: the C header with one MAKE_SQLSTATE macro per code
header() {
	entries >/dev/null
	echo "/* $GENERATED: generated from src/errcodes.txt by tools/errcodes.sh; do not edit. */"
	echo "#ifndef ENSPIRAL_ERRCODES_H"
	echo "#define ENSPIRAL_ERRCODES_H"
	awk '
		/^[ \t]*(#|$)/ { next }
		/^Section:/ { sub(/^Section:[ \t]*/, ""); printf "\n/* %s */\n", $0; next }
		{
			c = $1
			printf "#define %s\tMAKE_SQLSTATE(\x27%s\x27,\x27%s\x27,\x27%s\x27,\x27%s\x27,\x27%s\x27)\n", \
				$2, substr(c, 1, 1), substr(c, 2, 1), substr(c, 3, 1), substr(c, 4, 1), substr(c, 5, 1)
		}' "$LIST"
	echo
	echo "#endif							/* ENSPIRAL_ERRCODES_H */"
}

# table: the Markdown table of the codes, one block per section
table() {
	awk '
		/^[ \t]*(#|$)/ { next }
		/^Section:/ {
			sub(/^Section:[ \t]*/, "")
			printf "%s**%s**\n\n| SQLSTATE | condition | C macro | raised when |\n|---|---|---|---|\n", (n++ ? "\n" : ""), $0
			next
		}
		{
			meaning = $0
			sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", meaning)
			printf "| %s | %s | `%s` | %s |\n", $1, $3, $2, meaning
		}' "$LIST"
}

# render_doc: doc/errors.md with the table between the markers replaced
render_doc() {
	local tbl
	tbl=$(mktemp)
	table >"$tbl"
	replace_between_markers "$DOC" ERRCODES \
		"generated from src/errcodes.txt by tools/errcodes.sh doc; do not edit" "$tbl" ||
		{ rm -f "$tbl"; return 1; }
	rm -f "$tbl"
}

# c_files: the hand-written C sources and headers (not the generated header)
c_files() {
	local f
	for f in "$TOP"/src/*.c "$TOP"/src/*.h; do
		[ "$f" = "$TOP/$GENERATED" ] || echo "$f"
	done
}

# used_codes: every NSxxx literal in the C and SQL sources, and every code
# reached through an ERRCODE_ENSPIRAL_* macro in C ("MACRO:name" when the
# macro is not listed)
used_codes() {
	local m
	mapfile -t cf < <(c_files)
	grep -ohE '\bNS[0-9][0-9A-Z]{2}\b' "${cf[@]}" "$TOP"/sql/install/*.sql \
		"$TOP"/sql/update/*/*.sql 2>/dev/null || true
	for m in $(grep -ohE '\bERRCODE_ENSPIRAL_[A-Z0-9_]+' "${cf[@]}" | sort -u); do
		entries | awk -v m="$m" '$2 == m { print $1; found = 1 } END { if (!found) print "MACRO:" m }'
	done
}

check() {
	local bad=0 listed used doc_codes c f
	listed=$(entries | awk '{print $1}' | sort -u) || return 1
	used=$(used_codes | sort -u)
	for c in $used; do
		case $c in
		MACRO:*) echo "${c#MACRO:} is used in src/ but not listed in src/errcodes.txt"; bad=1 ;;
		*) grep -qx "$c" <<<"$listed" || { echo "$c is used in src/ or sql/ but not listed in src/errcodes.txt"; bad=1; } ;;
		esac
	done
	for c in $listed; do
		grep -qx "$c" <<<"$used" || { echo "$c is listed in src/errcodes.txt but raised nowhere in src/ or sql/install/"; bad=1; }
	done
	# codes may be defined only by the generated header
	for f in $(c_files); do
		if grep -nE "MAKE_SQLSTATE\('N'" "$f" >/dev/null; then
			echo "$(basename "$f") defines an NS code by hand; add it to src/errcodes.txt instead"
			bad=1
		fi
	done
	# the documentation names only listed codes
	doc_codes=$(cd "$TOP" && grep -ohE '\bNS[0-9][0-9A-Z]{2}\b' README.md doc/*.md 2>/dev/null | sort -u || true)
	for c in $doc_codes; do
		grep -qx "$c" <<<"$listed" || { echo "$c is named in README.md or doc/ but not listed in src/errcodes.txt"; bad=1; }
	done
	if ! render_doc | cmp -s - "$DOC"; then
		echo "doc/errors.md is stale: run bash tools/errcodes.sh doc"
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
