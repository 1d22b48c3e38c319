#!/usr/bin/env bash
# History: `membench run` appends to <output>/history.sqlite; `membench history`
# prints trends and exits 1 on a step to the worse in the newest run.
set -euo pipefail
B=${MB_BUILD_DIR:-build}
M=$B/membench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# a real run appends itself (timed: not the simulated mode of configs/ci.yaml)
printf 'workloads: [churn]\nallocators: [system]\nthreads: [1, 2]\nrepetitions: 2\nops_scale: 0.05\nsample_points: 5\ncounters: off\n' >"$tmp/hist.yaml"
"$M" run --quiet --debug-results --output "$tmp/out" "$tmp/hist.yaml" || fail "run exit $?"
db=$tmp/out/history.sqlite
[ -s "$db" ] || fail "run did not create history.sqlite"
n=$(sqlite3 "$db" "SELECT count(*) FROM samples WHERE metric='ns_per_op'")
[ "$n" -eq 4 ] || fail "expected 4 ns_per_op samples, got $n"
[ "$(sqlite3 "$db" "SELECT value FROM meta WHERE key='schema_version'")" = 1 ] || fail "schema_version"

# six nightly runs from the fixture: five alike; in the newest every ns_per_op
# moves past its cell's whole range, plus 10% of the median
hdb=$tmp/h.sqlite
for i in 1 2 3 4 5 6; do
	cp -r tests/fixtures/run-real "$tmp/r$i"
	python3 - "$tmp/r$i" "$i" <<'PY'
import json, os, sys
d, i = sys.argv[1], int(sys.argv[2])
m = json.load(open(d + "/manifest.json"))
m["run_id"] = f"nightly-{i}"
m["started"] = f"2026-01-0{i}T02:00:00Z"
json.dump(m, open(d + "/manifest.json", "w"))
recs = {n: json.load(open(f"{d}/trials/{n}")) for n in os.listdir(d + "/trials")}
cells = {}
for t in recs.values():
    cells.setdefault(t["threads"], []).append(t["result"]["ns_per_op"])
for n, t in recs.items():
    v = cells[t["threads"]]
    if i == 6:
        t["result"]["ns_per_op"] += max(v) - min(v) + 0.1 * sorted(v)[len(v) // 2]
    json.dump(t, open(f"{d}/trials/{n}", "w"))
PY
	if [ $i -le 5 ]; then "$M" history --db "$hdb" --append "$tmp/r$i" >/dev/null; fi
done
"$M" history --db "$hdb" >"$tmp/before.txt" || { cat "$tmp/before.txt"; fail "stable history exit $?"; }
! grep -q STEP "$tmp/before.txt" || fail "step flagged on identical runs"
rc=0
"$M" history --db "$hdb" --append "$tmp/r6" --plot "$tmp/plots" >"$tmp/after.txt" || rc=$?
[ $rc -eq 1 ] || { cat "$tmp/after.txt"; fail "step to the worse exit $rc"; }
for c in t1 t2; do
	grep -q "churn/system/$c *ns_per_op *6 .*STEP +[0-9.]*% (worse" "$tmp/after.txt" ||
		{ cat "$tmp/after.txt"; fail "no STEP line for $c"; }
done
! grep -q 'peak_rss.*STEP' "$tmp/after.txt" || fail "STEP on an unchanged metric"
ls "$tmp/plots/"*.svg >/dev/null 2>&1 || fail "no trend plots"
# appending the same run again replaces it
"$M" history --db "$hdb" --append "$tmp/r6" >/dev/null || true
[ "$(sqlite3 "$hdb" "SELECT count(*) FROM runs")" -eq 6 ] || fail "re-append duplicated a run"
echo "history: ok"
