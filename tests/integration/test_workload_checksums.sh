#!/usr/bin/env bash
# Every shipped workload gives the same operation stream on every allocator:
# the same checksum, counts and live requested bytes at every sample point.
# Runs each workload (small) on every built plug-in plus a test plug-in built
# here, which lays objects out differently (a 16-byte header) and has its own
# stack_alloc/stack_free, so a stream that depended on addresses or on the
# allocator's entries would differ. Also: a drain phase ends with nothing live.
set -eu
B=${MB_BUILD_DIR:-build}
M=$B/membench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0}

cat >"$tmp/hdr.c" <<'C'
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "membench_alloc.h"
static int init(void) { return 0; }
static void *m(size_t n, unsigned f) { (void)f; char *p = malloc(n + 16); return p ? p + 16 : NULL; }
static void fr(void *p, size_t n) { (void)n; if (p) free((char *)p - 16); }
static void *re(void *p, size_t o, size_t n) { void *q = m(n, 0); if (q && p) memcpy(q, p, o < n ? o : n); fr(p, o); return q; }
static size_t us(void *p) { (void)p; return 0; }
static void *sa(size_t n) { void *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); return p == MAP_FAILED ? NULL : p; }
static void sf(void *p, size_t n) { munmap(p, n); }
const mb_alloc_ops_t membench_allocator = { .abi_version = MB_ALLOC_ABI_VERSION,
	.name = "testhdr", .init = init, .malloc = m, .free = fr, .realloc = re,
	.usable_size = us, .stack_alloc = sa, .stack_free = sf };
C
cc -shared -fPIC -O1 -Iallocators/include -o "$tmp/mb-testhdr.so" "$tmp/hdr.c"

plugins=("$tmp/mb-testhdr.so")
# ThreadSanitizer cannot run with a foreign, uninstrumented malloc preloaded:
# there only the plug-ins built here (instrumented) take part
for p in "$B"/plugins/mb-*.so; do
	[ -f "$p" ] || continue
	case "$(basename "$B"):$(basename "$p")" in
	build-thread:mb-system.so | build-thread:mb-span.so | build-thread:mb-generic.so) ;;
	build-thread:*) continue ;;
	esac
	plugins+=("$(pwd)/$p")
done

summary() { # workload plugin -> one line: checksum allocs frees live series, phases' live
	LD_PRELOAD="$2" "$M" trial --workload "$1" --plugin "$2" --ops "$3" --warmup 1000 \
		--threads 2 --seed 7 --samples 8 |
		python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["stream"]
print(s["checksum"], s["allocs"], s["frees"], s["alloc_bytes"], s["local_bytes"],
      d["series"]["live_requested"], [p["live_requested"] for p in d["phases"]])'
}

fail=0
for wl in workloads/*.yaml; do
	case $(basename "$wl") in large-slice*|slice*|*1m*|*big*) ops=400 ;; *) ops=20000 ;; esac
	ref=$(summary "$wl" "${plugins[0]}" $ops)
	for p in "${plugins[@]:1}"; do
		got=$(summary "$wl" "$p" $ops)
		if [ "$got" != "$ref" ]; then
			echo "FAIL $wl: $(basename "$p") differs from testhdr"
			echo "  testhdr: $ref"
			echo "  $(basename "$p"): $got"
			fail=1
		fi
	done
	echo "ok   $wl on ${#plugins[@]} allocators: ${ref%% *}"
done

# cross-thread frees change who frees an object, never which objects are made:
# their coins come from an rng of their own (live.h), so the allocations (per
# size class), frame bytes and kernel counters are those of the same run
# without them
allocs() { # workload plugin ops -> the allocation side of the stream
	LD_PRELOAD="$2" "$M" trial --workload "$1" --plugin "$2" --ops "$3" --warmup 1000 \
		--threads 2 --seed 7 --samples 8 |
		python3 -c 'import json,sys; s=json.load(sys.stdin)["stream"]
print(s["allocs"], s["alloc_bytes"], s["local_bytes"], s["kernel"],
      [(b["allocs"], b["bytes"]) for b in s["by_size"]])'
}
for wl in escape-heavy request; do
	sed '/^cross_thread_frees:/d' "workloads/$wl.yaml" >"$tmp/$wl-x0.yaml"
	sed '/^cross_thread_frees:/d' "workloads/$wl.yaml" >"$tmp/$wl-x.yaml"
	echo "cross_thread_frees: 0" >>"$tmp/$wl-x0.yaml"
	echo "cross_thread_frees: 0.3" >>"$tmp/$wl-x.yaml"
	a=$(allocs "$tmp/$wl-x0.yaml" "${plugins[0]}" 20000)
	b=$(allocs "$tmp/$wl-x.yaml" "${plugins[0]}" 20000)
	if [ "$a" != "$b" ]; then
		echo "FAIL $wl: cross_thread_frees changed the allocations"
		echo "  without: $a"
		echo "  with:    $b"
		fail=1
	else
		echo "ok   $wl: the same allocations with and without cross-thread frees"
	fi
done

# with cross-thread frees and paced GC on, a drain phase ends with nothing live
ref=$(summary workloads/request.yaml "${plugins[0]}" 20000)
last=$(echo "$ref" | sed 's/.*\[\(.*\)\]$/\1/' | awk -F', ' '{print $NF}')
[ "$last" = 0 ] || { echo "FAIL request: live after the drain phase is $last, not 0"; fail=1; }
exit $fail
