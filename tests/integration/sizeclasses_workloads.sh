#!/usr/bin/env bash
# `membench sizeclasses --workload W` runs W's pattern on a counting allocator
# (one thread, recorded and replayed as in a trial) for every shipped
# workload: exit 0, the operations asked for, and heap allocations seen
# (none for many-goroutine-stacks, whose allocations are all stacks).
set -eu
B=${MB_BUILD_DIR:-build}
M=$B/membench
export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0}
fail=0
for wl in workloads/*.yaml; do
	name=$(basename "$wl" .yaml)
	if ! out=$("$M" sizeclasses --workload "$name" --ops 2000 2>&1); then
		echo "FAIL $name: exit status not 0"
		echo "$out" | tail -3
		fail=1
		continue
	fi
	head=$(echo "$out" | head -1)
	n=$(echo "$head" | sed -n 's/.* 2000 operations sampled, \([0-9]*\) heap allocations.*/\1/p')
	want_heap=1
	[ "$name" = many-goroutine-stacks ] && want_heap=0
	if [ -z "$n" ] || { [ $want_heap = 1 ] && [ "$n" -eq 0 ]; }; then
		echo "FAIL $name: $head"
		fail=1
	else
		echo "ok   $name: $n heap allocations in 2000 operations"
	fi
done
exit $fail
