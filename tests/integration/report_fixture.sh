#!/usr/bin/env bash
# membench report on the fixtures: every figure drawn where the run has the
# data (a figure missing from the full fixture fails), "not available in this
# run" where it has not, names HTML-escaped, warnings for the failed trial and
# one grouped line for the unavailable counters, and the text report without
# gnuplot.
set -euo pipefail
B=${MB_BUILD_DIR:-build}
M=$B/membench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. the full fixture: all eight figures, SVG and PNG
cp -r tests/fixtures/run-full "$tmp/full"
"$M" report "$tmp/full" >"$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt"; fail "report exit $?"; }
for f in a-time b-rss c-series d-frag e-latency f-counters g-sizeclass-waste h-span-occupancy; do
	[ -s "$tmp/full/plots/$f.svg" ] || fail "no $f.svg"
	[ -s "$tmp/full/plots/$f.png" ] || fail "no $f.png"
	head -c 8 "$tmp/full/plots/$f.png" | od -An -c | grep -q 'P   N   G' || fail "$f.png is not a PNG"
	grep -q '<svg' "$tmp/full/plots/$f.svg" || fail "$f.svg is not SVG"
done
h=$tmp/full/report.html
[ "$(grep -c '<svg class="fig"' "$h")" -eq 8 ] || fail "report.html should inline 8 figures"
grep -q 'sys&lt;b&gt;&amp;&quot;x&#39;' "$h" || fail "allocator name not escaped in HTML"
dups=$(grep -o " id=['\"][^'\"]*" "$h" | sort | uniq -d | head -3)
[ -z "$dups" ] || fail "duplicate ids in report.html: $dups"
! grep -q 'sys<b>' "$h" || fail "raw allocator name in HTML"
! grep -qE '(src|href)="(https?:|file:|plots/)' "$h" || fail "report.html is not self-contained"
grep -q 'churn__odd__t1__r9: crashed' "$h" || fail "failed trial not warned"
[ "$(grep -c 'class="na"' "$h")" -eq 0 ] || fail "a figure of the full fixture is not available"
grep -q 'counters PAPI_L1_DCM, PAPI_L2_DCM.* unavailable on [0-9]* of [0-9]* trials (every allocator)' "$h" ||
	fail "unavailable counters not warned as one group"
[ "$(grep 'class="warn"' "$h" | grep -c 'PAPI_L1_DCM')" -eq 1 ] || fail "unavailable counter warned more than once"
grep -q 'jemalloc: span occupancy per size class' "$tmp/full/plots/h-span-occupancy.body.gp" ||
	fail "occupancy heat map without jemalloc's classes"
grep -q "'jemalloc'" "$tmp/full/plots/g-sizeclass-waste.body.gp" || fail "jemalloc's class table not drawn"
grep -q 'topology' "$h" || fail "topology not shown"
grep -q 'sys\\<b\\>&"x' "$tmp/full/report.md" || fail "allocator name not escaped in Markdown"
grep -q '^| churn/system/t1 | 6/6 |' "$tmp/full/report.md" || fail "medians table missing in report.md"
grep -q 'report: .*report.html' "$tmp/out.txt" || fail "report path not printed"

# 2. a run without counters, class statistics or samples between chunks (the
# start and end samples remain): (f) and (h) are not drawn but labelled; (g)
# shows Go's table alone and says so
cp -r tests/fixtures/run-bare "$tmp/bare"
"$M" report -q "$tmp/bare" >/dev/null
for f in f-counters h-span-occupancy; do
	[ ! -e "$tmp/bare/plots/$f.svg" ] || fail "$f drawn without data"
done
[ -s "$tmp/bare/plots/a-time.svg" ] || fail "a-time not drawn on the bare run"
[ "$(grep -c 'Not available in this run' "$tmp/bare/report.html")" -ge 2 ] ||
	fail "missing sections not labelled"
grep -q 'table only (membench sizeclasses prints it)' "$tmp/bare/report.html" || fail "(g) does not say it has Go's table only"

# 3. without gnuplot: a clear message, and the reports all the same
cp -r tests/fixtures/run-real "$tmp/nogp"
MB_GNUPLOT=/nonexistent/gnuplot "$M" report "$tmp/nogp" >"$tmp/nogp.txt" 2>&1 ||
	fail "report without gnuplot exit $?"
grep -q 'gnuplot not found' "$tmp/nogp.txt" || fail "no gnuplot message"
grep -q 'churn/system/t1' "$tmp/nogp.txt" || fail "no text report without gnuplot"
[ -s "$tmp/nogp/report.html" ] && [ -s "$tmp/nogp/report.md" ] || fail "no reports without gnuplot"
[ -s "$tmp/nogp/plots/a-time.gp" ] || fail "scripts not kept for later"
! ls "$tmp/nogp/plots/"*.svg >/dev/null 2>&1 || fail "SVG without gnuplot?"

# 4. a damaged folder degrades: no manifest, a truncated trial file
cp -r tests/fixtures/run-real "$tmp/damaged"
rm "$tmp/damaged/manifest.json"
head -c 200 "$tmp/damaged/trials/churn__system__t1__r0.json" >"$tmp/damaged/trials/churn__system__t1__r9.json"
"$M" report --no-plots "$tmp/damaged" >"$tmp/damaged.txt" 2>&1 || fail "damaged folder: exit $?"
grep -q 'trials/churn__system__t1__r9.json: unreadable' "$tmp/damaged.txt" || fail "bad trial not warned"
grep -q 'manifest.json: unreadable' "$tmp/damaged/report.html" || fail "missing manifest not warned"
grep -q 'topology.*not available in this run' "$tmp/damaged/report.html" || fail "no topology note"
grep -q '^| churn/system/t1 | 6/6 |' "$tmp/damaged/report.md" || fail "good trials lost"

# 5. an allocator that lists a scan and a noscan span class per size (span's
# layout in membench_alloc.h): merged per size, the occupancy heat map is the
# same as from one entry per size. The split is made here from jemalloc's
# real classes and keeps their sums.
cp -r tests/fixtures/run-real "$tmp/one"
cp -r tests/fixtures/run-real "$tmp/split"
python3 - "$tmp/split/trials" <<'PY'
import json, os, sys
d = sys.argv[1]
for n in os.listdir(d):
    t = json.load(open(os.path.join(d, n)))
    cl = (t.get("result") or {}).get("allocator", {}).get("classes_end_of_measure")
    if not cl:
        continue
    out = []
    for c in cl:
        a = dict(c, spans=c["spans"] // 2, objects=min(c["objects"], c["spans"] // 2 * c["span_objects"]))
        b = dict(c, spans=c["spans"] - a["spans"], objects=c["objects"] - a["objects"], noscan=True)
        out += [a, b]
    t["result"]["allocator"]["classes_end_of_measure"] = out
    json.dump(t, open(os.path.join(d, n), "w"))
PY
"$M" report -q "$tmp/one" >/dev/null
"$M" report -q "$tmp/split" >/dev/null
[ -s "$tmp/one/plots/h-span-occupancy.dat" ] || fail "no occupancy data from jemalloc's classes"
cmp -s "$tmp/one/plots/h-span-occupancy.dat" "$tmp/split/plots/h-span-occupancy.dat" ||
	fail "scan/noscan span classes of one size not merged"

# 6. not a results folder: exit 2
rc=0
"$M" report "$tmp/none" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "report on a missing folder: exit $rc, want 2"
echo "report fixture: ok"
