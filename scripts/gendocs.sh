#!/usr/bin/env bash
# Regenerates the schema tables inside the READMEs from the option tables
# (`membench docs ...`). A block is delimited by
#   <!-- BEGIN GENERATED: membench docs WHAT -->  ...  <!-- END GENERATED -->
# With --check, changes nothing and exits 1 when any block is out of date.
set -euo pipefail
B=${MB_BUILD_DIR:-build}
check=0
[ "${1:-}" = --check ] && check=1
status=0
for f in README.md configs/README.md workloads/README.md analysis/*.md harness/*.md; do
	[ -f "$f" ] || continue
	grep -q '<!-- BEGIN GENERATED: membench docs' "$f" || continue
	out=$(mktemp)
	awk -v exe="$B/membench" '
		/<!-- BEGIN GENERATED: membench docs / {
			print
			what = $0
			sub(/.*membench docs /, "", what); sub(/ -->.*/, "", what)
			cmd = exe " docs " what
			while ((cmd | getline line) > 0) print line
			close(cmd)
			skip = 1; next
		}
		/<!-- END GENERATED -->/ { skip = 0 }
		!skip { print }' "$f" >"$out"
	if ! cmp -s "$f" "$out"; then
		if [ $check = 1 ]; then
			echo "$f: generated schema tables are out of date (run: make docs)"
			diff -u "$f" "$out" | head -20 || true
			status=1
		else
			cp "$out" "$f"
			echo "updated $f"
		fi
	fi
	rm -f "$out"
done
exit $status
