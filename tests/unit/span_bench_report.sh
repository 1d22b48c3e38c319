#!/usr/bin/env bash
# make bench-span's report (allocators/span/bench/report.awk) on made-up samples:
# the median of the same-rep ratios, its confidence interval (the 2nd smallest to
# the 2nd largest of 9 reps: 96%), and a ratio target's verdict, marked "within
# the noise" when that interval holds the target.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# batch: span's ns/object over jemalloc's in each of 9 reps is ratio[rep]; mimalloc
# is 1.5 x span everywhere.
targets() { # ratios... -> the report's Targets rows
	{
		printf 'rep\tcase\talloc\tns_per_op\tcpu_ns_per_op\tbase_kb\tpeak_kb\tstatus\talloc_cpu_ns_per_op\tfree_cpu_ns_per_op\n'
		local r=0
		for x in "$@"; do
			r=$((r + 1))
			printf '%d\tbatch\tjemalloc\t1000\t1000\t10\t100\tok\t-\t-\n' $r
			awk -v r=$r -v x="$x" 'BEGIN {
				printf "%d\tbatch\tmimalloc\t%g\t%g\t10\t100\tok\t-\t-\n", r, 1500 * x, 1500 * x
				printf "%d\tbatch\tspan\t%g\t%g\t10\t90\tok\t-\t-\n", r, 1000 * x, 1000 * x }'
		done
	} >"$tmp/samples.tsv"
	printf 'alloc\tmetric\tvalue\n' >"$tmp/counts.tsv"
	: >"$tmp/meta"
	awk -v allocs="jemalloc mimalloc span" -v reps=$# -v cases="batch" -v meta="$tmp/meta" \
		-f allocators/span/bench/report.awk "$tmp/samples.tsv" "$tmp/counts.tsv" |
		grep '^| batch ns/object <= 0.65'
}

row=$(targets 0.50 0.55 0.58 0.60 0.62 0.63 0.64 0.70 0.90)
[[ $row == *"0.62 x jemalloc (reps 0.50-0.90; 96% CI 0.55-0.70)"* ]] || fail "median and CI: $row"
[[ $row == *"**pass** (within the noise: the CI holds 0.65)"* ]] || fail "noisy pass: $row"

row=$(targets 0.50 0.52 0.55 0.56 0.57 0.58 0.59 0.60 0.80)
[[ $row == *"96% CI 0.52-0.60)"* && $row == *"| **pass** |" ]] || fail "clear pass: $row"

row=$(targets 0.60 0.70 0.71 0.72 0.73 0.74 0.75 0.76 0.77)
[[ $row == *"96% CI 0.70-0.76)"* && $row == *"| **FAIL** |" ]] || fail "clear fail: $row"

row=$(targets 0.60 0.61 0.62 0.66 0.67 0.68 0.69 0.70 0.71)
[[ $row == *"**FAIL** (within the noise: the CI holds 0.65)"* ]] || fail "noisy fail: $row"

row=$(targets 0.50 0.60 0.70 0.80 0.90)
[[ $row == *"94% CI 0.50-0.90)"* ]] || fail "5 reps: the whole range at 94%: $row"
echo "ok: medians, confidence intervals and verdicts"
