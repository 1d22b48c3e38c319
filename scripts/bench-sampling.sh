#!/usr/bin/env bash
# Does memory sampling move the timing? Two measurements:
#
# 1. Wall clock. Runs the same suite with sample_points 0 and 200 (and 200 with
#    memory_profile: true, the mode that keeps usable bytes), interleaved (the
#    order rotates every repetition), REPS times, and prints per allocator the
#    median ns/op of each mode and its ratio to sample_points 0. When the
#    repetitions of one mode already spread by more than 2% (a shared or noisy
#    machine) the verdict is "inconclusive", not pass or fail.
# 2. Deterministic: the same trial under callgrind's cache simulator, counting
#    only inside the timed path (the replays of the pattern's tape), with 0 and 200
#    samples; the estimated cycles (Ir + 10 x L1 misses + 100 x LL misses) show
#    what the samples taken between chunks cost the next chunk. Skipped when
#    valgrind is missing or SIM=0.
#
# Exit 1 when either measurement shows a move of 2% or more.
#   scripts/bench-sampling.sh BUILD_DIR
# Environment: REPS (default 7), ALLOCATORS (default: system and every
# installed external allocator), WORKLOAD (default churn), SCALE (ops_scale,
# default 1), THREADS (default 1), RT=1: run the suites under SCHED_FIFO
# (chrt -f 1; root), so that other jobs on a shared machine cannot preempt
# them and the wall clock shows the sampling's effect and not the neighbours'.
set -uo pipefail
B=${1:-build}
REPS=${REPS:-7}
WORKLOAD=${WORKLOAD:-churn}
SCALE=${SCALE:-1}
THREADS=${THREADS:-1}
if [ -z "${ALLOCATORS:-}" ]; then
	ALLOCATORS=system
	for a in jemalloc tcmalloc mimalloc tbbmalloc; do
		[ -f "$B/plugins/mb-$a.so" ] && ALLOCATORS="$ALLOCATORS, $a"
	done
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
modes=(s0 s200 prof)
declare -A extra=([s0]="sample_points: 0" [s200]="sample_points: 200"
	[prof]=$'sample_points: 200\nmemory_profile: true')
for m in "${modes[@]}"; do
	cat >"$tmp/$m.yaml" <<EOS
name: $m
workloads: [$WORKLOAD]
allocators: [$ALLOCATORS]
threads: [$THREADS]
repetitions: 1
ops_scale: $SCALE
drain_wait: 0s
${extra[$m]}
EOS
done
echo "bench-sampling: $WORKLOAD, threads $THREADS, ops_scale $SCALE, $REPS repetitions, allocators: $ALLOCATORS"
for r in $(seq 1 "$REPS"); do
	# rotate the order every repetition, so no mode always runs first
	for k in 0 1 2; do
		m=${modes[$(((k + r) % 3))]}
		${RT:+chrt -f 1} "$B/membench" run --quiet --output "$tmp/res-$m-$r" "$tmp/$m.yaml" >/dev/null
	done
done
python3 - "$tmp" "$REPS" <<'EOP'
import glob, json, statistics, sys
tmp, reps = sys.argv[1], int(sys.argv[2])
runs = {}
for f in glob.glob(f"{tmp}/res-*/*/trials/*.json"):
    mode = f[len(tmp) + 5:].split("-")[0]
    t = json.load(open(f))
    if t["status"] != "ok":
        sys.exit(f"trial {f} not ok: {t['status']}")
    r = t["result"]
    runs.setdefault((t["allocator"], mode), []).append((r["ns_per_op"], r["cpu_ns_per_op"]))
def fig(al, mode, k, how):
    return how(v[k] for v in runs[(al, mode)])
worst, noisy = 0.0, 0.0
print("ns/op: wall clock (the figure results report); cpu: the worker thread's CPU time")
print("per op (not inflated while the thread is preempted). median over repetitions.")
print(f"{'allocator':<11} {'wall s0':>8} {'s200':>8} {'s200/s0':>8} | {'cpu s0':>8} {'s200':>8} "
      f"{'s200/s0':>8} | {'prof/s0 wall':>12} {'cpu':>6}")
for al in sorted({a for a, _ in runs}):
    w0, w2, wp = (fig(al, m, 0, statistics.median) for m in ("s0", "s200", "prof"))
    c0, c2, cp = (fig(al, m, 1, statistics.median) for m in ("s0", "s200", "prof"))
    worst = max(worst, abs(w2 / w0 - 1))
    for m in ("s0", "s200"):
        v = [x[0] for x in runs[(al, m)]]
        noisy = max(noisy, (max(v) - min(v)) / statistics.median(v))
    print(f"{al:<11} {w0:>8.2f} {w2:>8.2f} {w2 / w0:>8.4f} | {c0:>8.2f} {c2:>8.2f} {c2 / c0:>8.4f}"
          f" | {wp / w0:>12.4f} {cp / c0:>6.4f}")
print("prof = sample_points 200 + memory_profile (usable_size on every alloc and free):")
print("its extra cost is in its ns/op by design; such trials are marked memory_profile.")
verdict = ("inconclusive: fewer than 3 repetitions, the noise cannot be judged" if reps < 3 else
           "inconclusive: repetitions of one mode spread by %.1f%%, more than the 2%% to detect"
           % (100 * noisy) if noisy > 0.02 else "ok" if worst < 0.02 else "TOO MUCH")
print(f"wall clock: largest move from sampling (s200 vs s0) {100 * worst:.2f}%: {verdict}")
sys.exit(1 if verdict == "TOO MUCH" else 0)
EOP
rc=$?
[ "${SIM:-1}" = 0 ] && exit $rc
if ! command -v valgrind >/dev/null; then
	echo "deterministic check skipped: valgrind not installed"
	exit $rc
fi
# 2. callgrind: OPS measured operations after WARMUP, in the measured window only
# (the harness's replays of the pattern's operation tape: timed_replay)
SIM_OPS=${SIM_OPS:-400000}
wl=workloads/$WORKLOAD.yaml
[ -f "$wl" ] || wl=$WORKLOAD
echo
echo "deterministic: callgrind cache simulation of the measured replays, $SIM_OPS operations, 0 vs 200 samples"
printf '%-11s %14s %14s %9s %9s %9s\n' allocator "cycles(est) s0" "s200" s200/s0 "Ir ratio" prof/s0
sim_bad=0
for al in ${ALLOCATORS//,/ }; do
	for n in 0 200 prof; do
		args=(--samples $n)
		[ $n = prof ] && args=(--samples 200 --memory-profile)
		LD_PRELOAD="$PWD/$B/plugins/mb-$al.so" valgrind --tool=callgrind --cache-sim=yes \
			--toggle-collect=timed_replay --callgrind-out-file="$tmp/cg.$al.$n" \
			"$B/membench" trial --workload "$wl" --threads 1 --ops "$SIM_OPS" \
			--warmup $((SIM_OPS / 4)) "${args[@]}" >/dev/null 2>"$tmp/cg.err"
	done
	line=$(python3 - "$tmp/cg.$al.0" "$tmp/cg.$al.200" "$tmp/cg.$al.prof" <<'EOP'
import sys
def est(path):
    for l in open(path):
        if l.startswith("events:"):
            names = l.split()[1:]
        if l.startswith("summary:"):
            v = dict(zip(names, map(int, l.split()[1:])))
    l1 = v["I1mr"] + v["D1mr"] + v["D1mw"]
    ll = v["ILmr"] + v["DLmr"] + v["DLmw"]
    return v["Ir"] + 10 * l1 + 100 * ll, v["Ir"]
(c0, i0), (c2, i2), (cp, ip) = est(sys.argv[1]), est(sys.argv[2]), est(sys.argv[3])
print(f"{c0} {c2} {c2 / c0:.4f} {i2 / i0:.4f} {cp / c0:.4f} {int(abs(c2 / c0 - 1) >= 0.02)}")
EOP
)
	set -- $line
	printf '%-11s %14s %14s %9s %9s %9s\n' "$al" "$1" "$2" "$3" "$4" "$5"
	[ "$6" = 1 ] && sim_bad=1
done
if [ $sim_bad = 1 ]; then
	echo "deterministic: sampling moves the step path's estimated cycles by 2% or more: TOO MUCH"
	exit 1
fi
echo "deterministic: every allocator's step path moves by less than 2%: ok"
echo "(prof/s0: what keeping usable bytes costs the step path, estimated cycles)"
exit $rc
