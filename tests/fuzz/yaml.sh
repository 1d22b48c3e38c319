#!/usr/bin/env bash
# Fuzz tier: runs the libFuzzer target for the YAML loader, seeded with every
# shipped config and workload. Short (20 s) under MB_TEST_SHORT=1, else 10 min.
# Fails on any crash, sanitizer report or leak the fuzzer finds.
set -euo pipefail
B=${MB_BUILD_DIR:-build}
bin=$B/fuzz/fuzz_yaml
[ -x "$bin" ] || { echo "fuzz: $bin not built (needs clang with libFuzzer: make deps)"; exit 1; }
secs=600
[ "${MB_TEST_SHORT:-0}" = 1 ] && secs=20
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp configs/*.yaml workloads/*.yaml "$corpus"/
MEMBENCH_PLUGIN_DIR=$B/plugins "$bin" -max_total_time=$secs -max_len=4096 \
	-artifact_prefix="$B/fuzz/" "$corpus" 2>&1 | tail -n 5
