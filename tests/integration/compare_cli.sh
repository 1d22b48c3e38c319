#!/usr/bin/env bash
# membench compare on the real fixture: identical runs and spread-sized noise
# exit 0, an injected regression (every value moved past the cell's whole
# min-max range, plus 10% of its median) exits 1 with a REGRESSION line per
# cell, and the CSV and JSON outputs parse.
set -euo pipefail
B=${MB_BUILD_DIR:-build}
M=$B/membench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
base=tests/fixtures/run-real
# edit a copy of ns_per_op in every trial: mode reg = + (max - min) + 10% of the
# median of its cell; noise = redrawn uniformly within the cell's own relative
# spread around its median (fixed seed)
derive() { # mode dest
	cp -r "$base" "$2"
	python3 - "$1" "$2" <<'PY'
import json, os, random, sys
mode, d = sys.argv[1], sys.argv[2]
rnd = random.Random(11)
recs = {}
for n in sorted(os.listdir(d + "/trials")):
    recs[n] = json.load(open(f"{d}/trials/{n}"))
cells = {}
for n, t in recs.items():
    cells.setdefault((t["workload"], t["allocator"], t["threads"]), []).append(t["result"]["ns_per_op"])
for n, t in recs.items():
    v = cells[(t["workload"], t["allocator"], t["threads"])]
    med = sorted(v)[len(v) // 2]
    half = (max(v) - min(v)) / 2 / med
    r = t["result"]
    if mode == "reg":
        r["ns_per_op"] += max(v) - min(v) + 0.1 * med
    else:  # redraw each value from the cell's own range
        r["ns_per_op"] = med * (1 + rnd.uniform(-half, half))
    json.dump(t, open(f"{d}/trials/{n}", "w"))
PY
}
derive reg "$tmp/reg"
derive noise "$tmp/noise"

"$M" compare "$base" "$base" >"$tmp/same.txt" || fail "identical runs exit $?"
grep -q 'no significant regression' "$tmp/same.txt" || fail "identical: no verdict line"

rc=0
"$M" compare --metric ns_per_op "$base" "$tmp/noise" >"$tmp/noise.txt" || rc=$?
[ $rc -eq 0 ] || { cat "$tmp/noise.txt"; fail "noise of the spread's size exit $rc"; }

rc=0
"$M" compare --threshold 5 --csv "$tmp/c.csv" --json "$tmp/c.json" "$base" "$tmp/reg" \
	>"$tmp/reg.txt" || rc=$?
[ $rc -eq 1 ] || { cat "$tmp/reg.txt"; fail "injected regression exit $rc"; }
for a in system jemalloc; do
	for c in t1 t2; do
		grep -q "^REGRESSION churn/$a/$c ns_per_op: .*p=0.0022" "$tmp/reg.txt" ||
			{ cat "$tmp/reg.txt"; fail "no REGRESSION line for $a/$c"; }
	done
done
python3 -c "
import csv, json, sys
rows = list(csv.DictReader(open('$tmp/c.csv')))
j = json.load(open('$tmp/c.json'))
reg = [r for r in rows if r['regression'] == '1']
assert len(reg) == 4 and all(r['metric'] == 'ns_per_op' for r in reg), reg
assert j['regressions'] == 4 and len(j['rows']) == len(rows)
assert all(float(r['p']) < 0.05 for r in reg)
" || fail "CSV/JSON output"

# a threshold above every shift: significant but not past it, exit 0
"$M" compare --quiet --threshold 1000 "$base" "$tmp/reg" >/dev/null || fail "threshold 1000 exit $?"
# usage errors exit 2
rc=0; "$M" compare "$base" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "one folder: exit $rc"
echo "compare: ok"
