#!/usr/bin/env bash
# Shared by the generators of documentation tables (tools/errcodes.sh,
# tools/settings.sh); sourced, not run.

# replace_between_markers DOC NAME NOTE TABLE: print DOC with the lines
# between "<!-- NAME:BEGIN" and "<!-- NAME:END" replaced by the comment NOTE
# and the lines of the file TABLE
replace_between_markers() {
	local doc=$1 name=$2 note=$3 tbl=$4
	grep -q "^<!-- $name:BEGIN" "$doc" && grep -q "^<!-- $name:END" "$doc" ||
		{ echo "${doc#"$TOP"/}: $name markers missing" >&2; return 1; }
	awk -v tbl="$tbl" -v b="^<!-- $name:BEGIN" -v e="^<!-- $name:END" -v note="<!-- $note -->" '
		$0 ~ b { print; print note; while ((getline l < tbl) > 0) print l; skip = 1; next }
		$0 ~ e { skip = 0 }
		!skip' "$doc"
}
