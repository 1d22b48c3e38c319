#!/usr/bin/env bash
# Runs one libFuzzer target of the fuzz tier (tests/fuzz/*.sh): 20 s under
# MB_TEST_SHORT=1, else 10 min, from a fresh corpus seeded with the files given.
# Fails on any crash, failed check, sanitizer report or leak the fuzzer finds;
# the input that caused it is kept in $B/fuzz/.
#   scripts/fuzz.sh NAME [SEED_FILE...]      runs $MB_BUILD_DIR/fuzz/NAME
set -euo pipefail
B=${MB_BUILD_DIR:-build}
bin=$B/fuzz/${1:?usage: scripts/fuzz.sh NAME [SEED_FILE...]}
shift
[ -x "$bin" ] || { echo "fuzz: $bin not built (needs clang with libFuzzer: make deps)"; exit 1; }
secs=600
[ "${MB_TEST_SHORT:-0}" = 1 ] && secs=20
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
[ $# -eq 0 ] || cp "$@" "$corpus"/
"$bin" -max_total_time=$secs -max_len=4096 -timeout=30 -artifact_prefix="$B/fuzz/" \
	"$corpus" 2>&1 | tail -n 5
