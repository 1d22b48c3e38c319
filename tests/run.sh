#!/usr/bin/env bash
# Runs the test tiers and prints one closing line, "N passed, N failed".
#   tests/run.sh BUILD_DIR [TIER...]     tiers: unit integration stress fuzz
# Defaults to every tier, stress and fuzz in their short form (MB_TEST_SHORT=1).
# Each tier is a folder: $B/tests/<tier>/* executables (cmocka binaries: their own
# counts are read) and tests/<tier>/*.sh scripts (one test each, by exit status).
set -u
B=${1:?usage: tests/run.sh BUILD_DIR [TIER...]}
shift
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(unit integration stress fuzz)
# a runaway test must not take the machine down with it
ulimit -u 4096 2>/dev/null || true
export MB_TEST_SHORT=${MB_TEST_SHORT-1}
export MB_BUILD_DIR=$B
passed=0 failed=0 failures=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run_one() { # name, command...
	local name=$1 out="$log/out"
	shift
	local t0=$SECONDS
	"$@" >"$out" 2>&1
	local rc=$?
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$out" | tail -1)
	if [ -n "$p$f" ]; then
		p=${p:-0} f=${f:-0}
		# a binary that reported no failure but exited non-zero still failed
		[ "$f" -eq 0 ] && [ $rc -ne 0 ] && f=1
	elif [ $rc -eq 0 ]; then p=1 f=0; else p=0 f=1; fi
	passed=$((passed + p)) failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		echo "FAIL $name (exit $rc, $((SECONDS - t0))s):"
		tail -n 40 "$out" | sed 's/^/    /'
	else
		echo "ok   $name: $p passed ($((SECONDS - t0))s)"
	fi
}

for tier in "${tiers[@]}"; do
	echo "== $tier"
	for t in "$B/tests/$tier"/*; do
		[ -f "$t" ] && [ -x "$t" ] && run_one "$tier/$(basename "$t")" "$t"
	done
	for t in tests/"$tier"/*.sh; do
		[ -f "$t" ] && run_one "$tier/$(basename "$t")" bash "$t"
	done
done
echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
