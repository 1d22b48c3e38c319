#!/usr/bin/env bash
# Counters end to end: PAPI events recorded with their reason when the machine
# cannot count them (the trial runs on), a software event that moves, pinning
# and topology in the results, and the cachegrind mode giving identical counts
# on two runs of a tiny workload. Config mistakes: file:line:col, exit 2.
set -euo pipefail
B=${MB_BUILD_DIR:-build}
MB=$(cd "$B" && pwd)/membench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# a sanitizer build writes results only when told to (marked as such), and
# valgrind cannot run an ASan or TSan binary: there the cachegrind part is off
san=0
case "$(basename "$B")" in build-address|build-thread) san=1 ;; esac

cat >"$tmp/papi.yaml" <<YAML
name: ctr-papi
workloads: [churn]
allocators: [system]
threads: [2]
repetitions: 1
ops_scale: 0.02
sample_points: 5
pin: scatter
counters: [PAPI_TOT_CYC, perf::PAGE-FAULTS, NO_SUCH_EVENT_ANYWHERE]
output: $tmp/res
YAML
"$MB" run --quiet --debug-results "$tmp/papi.yaml" || fail "papi suite exited $?"
python3 - "$tmp/res/latest" <<'PY' || fail "papi-mode results"
import json, sys, glob
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
assert m["topology"]["pus"] >= 1 and m["topology"]["caches"], m["topology"]
assert m["placement"] == {"pin": "scatter", "membind": "none"}, m["placement"]
(f,) = glob.glob(d + "/trials/*.json")
t = json.load(open(f))
assert t["status"] == "ok", t["status"]
r = t["result"]
c = r["counters"]
assert r["counters_mode"] == "papi"
cyc = c["PAPI_TOT_CYC"]
# counted where there is a PMU; otherwise PAPI's reason, never a zero
assert ("value" in cyc and cyc["value"] > 0) or \
       ("value" not in cyc and cyc["unavailable"].startswith("PAPI_")), cyc
assert c["perf::PAGE-FAULTS"]["value"] > 0, c["perf::PAGE-FAULTS"]
assert "value" not in c["NO_SUCH_EVENT_ANYWHERE"], c["NO_SUCH_EVENT_ANYWHERE"]
assert c["NO_SUCH_EVENT_ANYWHERE"]["unavailable"]
ps = r["placement"]["threads"]
assert len(ps) == 2 and all(p["pu_os"] >= 0 and p["bind_error"] is None for p in ps), ps
if m["topology"]["pus"] >= 2:   # scatter puts two workers on two PUs
    assert ps[0]["pu_os"] != ps[1]["pu_os"], ps
assert r["ns_per_op"] > 0
PY

if [ $san -eq 0 ]; then
cat >"$tmp/cg.yaml" <<YAML
name: ctr-cg
workloads: [churn]
allocators: [system]
threads: [1]
repetitions: 2
ops_scale: 0.01
timeout: 5s
counters: cachegrind
output: $tmp/res
YAML
"$MB" run --quiet --debug-results "$tmp/cg.yaml" || fail "cachegrind suite exited $?"
python3 - "$tmp/res/latest" <<'PY' || fail "cachegrind-mode results"
import json, sys, glob
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
assert m["counters"]["mode"] == "cachegrind", m["counters"]
runs = [json.load(open(f)) for f in sorted(glob.glob(d + "/trials/*.json"))]
assert len(runs) == 2
for t in runs:
    assert t["status"] == "ok", (t["status"], t["stderr_tail"])
    r = t["result"]
    assert r["ns_per_op"] is None and r["timing_meaningful"] is False
    for k in ("PAPI_TOT_INS", "PAPI_L1_DCM"):
        assert r["counters"][k]["simulated"] is True, r["counters"]
    ev = r["cachesim"]["events"]
    assert ev["Ir"] > 10 * r["ops"] and ev["D1mr"] + ev["D1mw"] > 0, ev
a, b = (t["result"]["cachesim"]["events"] for t in runs)
assert a == b, (a, b)
assert runs[0]["result"]["counters"] == runs[1]["result"]["counters"]
open(sys.argv[1] + "/../first.json", "w").write(json.dumps(a))
PY
# and from another folder, with a longer environment: still the same counts
root=$PWD
(cd "$tmp" && MB_TEST_NOISE=$(printf '%0137d' 0) "$MB" run --quiet --debug-results \
	--workloads "$root/workloads" "$tmp/cg.yaml") || fail "second cachegrind run"
python3 - "$tmp/res/latest" <<'PY' || fail "cachegrind counts differ between runs"
import json, sys, glob
first = json.load(open(sys.argv[1] + "/../first.json"))
for f in glob.glob(sys.argv[1] + "/trials/*.json"):
    ev = json.load(open(f))["result"]["cachesim"]["events"]
    assert ev == first, (ev, first)
PY
fi

# config mistakes
printf 'workloads: [churn]\nallocators: [system]\ncounters: [cachegrind, PAPI_TOT_INS]\n' >"$tmp/bad1.yaml"
set +e
out=$("$MB" validate "$tmp/bad1.yaml" 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "mixed cachegrind list: exit $rc"
grep -q "bad1.yaml:3:[0-9]*: counters: 'cachegrind' stands alone" <<<"$out" || fail "message: $out"
printf 'workloads: [churn]\nallocators: [system]\nmembind: local\n' >"$tmp/bad2.yaml"
set +e
out=$("$MB" validate "$tmp/bad2.yaml" 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "membind without pin: exit $rc"
grep -q "bad2.yaml:3:[0-9]*: membind: local" <<<"$out" || fail "message: $out"
echo ok
