#!/usr/bin/env bash
# span's committed size-class table is exactly what its generator writes
# (the same check as `make check-gen`). Run by tests/run.sh from the repo root.
set -euo pipefail
gen="${MB_BUILD_DIR:-build}/span/mksizeclasses"
"$gen" | diff -u allocators/span/sizeclasses.c -
