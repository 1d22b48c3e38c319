#!/usr/bin/env bash
# Installs the Debian packages membench needs, when any is missing.
# Idempotent: with everything present it only runs dpkg-query and exits 0.
# Exit 0: all present. Exit 1: something missing and we could not install it.
set -euo pipefail

# One line per package: what it brings. Keep this list the single source of truth.
PACKAGES=(
  build-essential          # cc, make
  pkg-config
  libyaml-dev              # config and workload loading
  libjansson-dev           # JSON results
  libsqlite3-dev sqlite3   # results/history.sqlite
  libhwloc-dev hwloc       # topology and pinning
  libpapi-dev papi-tools   # cache counters
  gnuplot-nox              # plots
  libcmocka-dev            # unit and integration tests
  valgrind                 # cachegrind mode, callgrind benchmarks
  clang libclang-rt-14-dev # the fuzz tier (libFuzzer)
  libjemalloc-dev libjemalloc2
  libgoogle-perftools-dev libtcmalloc-minimal4 # tcmalloc (gperftools)
  libmimalloc-dev libmimalloc2.0
  libtbb-dev libtbbmalloc2 # tbbmalloc
  chromium                 # the report check renders report.html
  python3 git              # the span drop-in's real-program test
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: not root; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A stale or empty package list makes install fail; refresh once, then install.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
