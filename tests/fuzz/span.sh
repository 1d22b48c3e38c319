#!/usr/bin/env bash
# Fuzz tier: the libFuzzer target for span's library face
# (allocators/span/tests/fuzz_span.c: random call sequences checked against a
# model of the live blocks, and the cheap counters against the slow walk), from
# an empty corpus; see scripts/fuzz.sh.
set -euo pipefail
exec scripts/fuzz.sh fuzz_span
