#!/usr/bin/env bash
# Fuzz tier: the libFuzzer target for the YAML loader (tests/fuzz/fuzz_yaml.c),
# seeded with every shipped config and workload; see scripts/fuzz.sh.
set -euo pipefail
MEMBENCH_PLUGIN_DIR=${MB_BUILD_DIR:-build}/plugins exec scripts/fuzz.sh fuzz_yaml \
	configs/*.yaml workloads/*.yaml
