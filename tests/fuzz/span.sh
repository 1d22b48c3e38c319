#!/usr/bin/env bash
# Fuzz tier: runs the libFuzzer target for span's library face
# (allocators/span/tests/fuzz_span.c: random call sequences checked against a
# model of the live blocks, and the cheap counters against the slow walk).
# Short (20 s) under MB_TEST_SHORT=1, else 10 min. Fails on any failed check,
# crash or sanitizer report the fuzzer finds; the input is kept in $B/fuzz/.
set -euo pipefail
B=${MB_BUILD_DIR:-build}
bin=$B/fuzz/fuzz_span
[ -x "$bin" ] || { echo "fuzz: $bin not built (needs clang with libFuzzer: make deps)"; exit 1; }
secs=600
[ "${MB_TEST_SHORT:-0}" = 1 ] && secs=20
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
"$bin" -max_total_time=$secs -max_len=4096 -timeout=30 -artifact_prefix="$B/fuzz/" \
	"$corpus" 2>&1 | tail -n 5
