#!/usr/bin/env bash
# The driver of `make bench-span`: runs spanbench under each allocator (preloaded),
# interleaved across repetitions, then the deterministic counts (callgrind
# instructions, strace mmap calls), and prints the Markdown report (report.awk).
# See ../BENCH.md for what each number means.
#
#   allocators/span/bench/run.sh
#
# Environment:
#   MB_BUILD_DIR       build dir holding bench/spanbench and lib/libspan-malloc.so (build)
#   MB_BENCH_REPS      repetitions of every timed case (9; the report gives medians)
#   MB_BENCH_ALLOCS    allocators, in order (glibc jemalloc tcmalloc mimalloc span)
#   MB_BENCH_CASES     timed cases (all of them)
#   MB_BENCH_SKIP_SPAN non-empty: skip span, with this as the reason (set by make
#                      when the drop-in failed to build)
#   MB_BENCH_REV       the revision to print when the tree is not a git checkout
#                      (a `git archive` export of a commit, built and run apart from
#                      a worktree with uncommitted edits)
# Writes $MB_BUILD_DIR/bench/{span-bench.md,samples.tsv,counts.tsv,callgrind.*.out}.
# Exit status: 0 when the report was written (whatever it says), 1 when it could not
# run at all. An allocator whose library is missing is skipped and the report says
# why; a case that crashes or times out is reported as such.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${MB_BUILD_DIR:-build}
REPS=${MB_BENCH_REPS:-9}
read -r -a allocs <<<"${MB_BENCH_ALLOCS:-glibc jemalloc tcmalloc mimalloc span}"
read -r -a cases <<<"${MB_BENCH_CASES:-pairs16 pairs64 pairs256 batch batch2 xthread large64k large1m holes1m realloc grow stacks}"
BIN=$B/bench/spanbench
OUT=$B/bench
CASE_TIMEOUT=120 # s; a hung case is recorded and the run goes on

[ -x "$BIN" ] || { echo "run.sh: $BIN not built (make $BIN)" >&2; exit 1; }
mkdir -p "$OUT"
# One run at a time: two would share the two cores and each other's output files.
if command -v flock >/dev/null; then
	exec 9>"$OUT/.bench-span.lock"
	flock -n 9 || { echo "bench-span: waiting for another run to finish ($OUT/.bench-span.lock)" >&2; flock 9; }
fi
# The revision, taken now: make has just built the drop-in from this tree (-dirty:
# with uncommitted changes to allocators/span, which the drop-in then includes).
if git rev-parse --git-dir >/dev/null 2>&1; then
	rev=$(git rev-parse --short=12 HEAD)$(git diff --quiet HEAD -- allocators/span || echo -dirty)
else
	rev="${MB_BENCH_REV:-unknown} (not a git checkout)"
fi
t_date=$(date -u '+%Y-%m-%d %H:%M UTC')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say() { echo "bench-span: $*" >&2; }

# The path of a shared library on this machine, by soname, or nothing.
find_lib() {
	local p ma d
	p=$({ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } |
		awk -v s="$1" '$1 == s { print $NF; exit }')
	if [ -z "$p" ]; then
		ma=$(${CC:-cc} -print-multiarch 2>/dev/null)
		for d in "/usr/lib/$ma" "/lib/$ma" /usr/lib64 /usr/lib; do
			[ -e "$d/$1" ] && { p=$d/$1; break; }
		done
	fi
	echo "$p"
}

# --- which allocators can run: lib[name] (empty for glibc), want[name] -------------
declare -A lib want stack
ran=() skipped=() span_sum=
for a in "${allocs[@]}"; do
	case $a in
	glibc) lib[$a]= want[$a]=libc.so.6 ;;
	jemalloc) lib[$a]=$(find_lib libjemalloc.so.2) ;;
	tcmalloc)
		lib[$a]=$(find_lib libtcmalloc_minimal.so.4)
		[ -n "${lib[$a]}" ] || lib[$a]=$(find_lib libtcmalloc.so.4) ;;
	mimalloc) lib[$a]=$(find_lib libmimalloc.so.2) ;;
	span)
		lib[$a]=
		if [ -n "${MB_BENCH_SKIP_SPAN:-}" ]; then
			skipped+=("span: $MB_BENCH_SKIP_SPAN"); continue
		elif [ -f "$B/lib/libspan-malloc.so" ]; then
			# A private copy: a rebuild during the run must not mix two versions.
			mkdir -p "$tmp/lib" && cp "$B/lib/libspan-malloc.so" "$tmp/lib/" &&
				lib[$a]=$tmp/lib/libspan-malloc.so
			span_sum=$(sha256sum "$tmp/lib/libspan-malloc.so" | cut -c1-12)
		fi ;;
	*) say "unknown allocator '$a'"; exit 1 ;;
	esac
	if [ "$a" != glibc ] && [ -z "${lib[$a]}" ]; then
		case $a in
		span) skipped+=("span: $B/lib/libspan-malloc.so is not built") ;;
		*) skipped+=("$a: its library is not installed (no $a soname in ldconfig -p)") ;;
		esac
		continue
	fi
	[ "$a" = glibc ] || want[$a]=$(basename "${lib[$a]}")
	# The preload must be what provides malloc; otherwise we would measure glibc.
	LD_PRELOAD=${lib[$a]} "$BIN" stacks 10 >"$tmp/line" 2>&1
	got=$(sed -n 's/.*malloc_lib=\([^ ]*\).*/\1/p' "$tmp/line")
	stack[$a]=$(sed -n 's/.* stack=\([^ ]*\).*/\1/p' "$tmp/line")
	if [ "$got" != "${want[$a]}" ]; then
		skipped+=("$a: preloading ${want[$a]} did not take (malloc comes from '${got:-nothing: it crashed}')")
		continue
	fi
	ran+=("$a")
done
[ ${#ran[@]} -gt 0 ] || { say "no allocator can run"; exit 1; }
say "allocators: ${ran[*]}; reps: $REPS; cases: ${cases[*]}"
for s in "${skipped[@]}"; do say "SKIPPED $s"; done

# --- timed cases: rep-major, allocator order rotated each rep (A B C, B C A, ...) ---
samples=$tmp/samples.tsv
printf 'rep\tcase\talloc\tns_per_op\tcpu_ns_per_op\tbase_kb\tpeak_kb\tstatus\talloc_cpu_ns_per_op\tfree_cpu_ns_per_op\n' >"$samples"
t_start=$SECONDS
n=${#ran[@]}
for ((rep = 1; rep <= REPS; rep++)); do
	for c in "${cases[@]}"; do
		for ((k = 0; k < n; k++)); do
			a=${ran[$(((k + rep - 1) % n))]}
			timeout "$CASE_TIMEOUT" env LD_PRELOAD="${lib[$a]}" "$BIN" "$c" >"$tmp/line" 2>"$tmp/err"
			rc=$?
			line=$(cat "$tmp/line")
			if [ $rc -eq 0 ] && [[ $line == *" ns_per_op="* ]]; then
				ns=${line##* ns_per_op=} ns=${ns%% *}
				cpu=${line##* cpu_ns_per_op=} cpu=${cpu%% *}
				base=${line##* base_kb=} base=${base%% *}
				peak=${line##* peak_kb=} peak=${peak%% *}
				acpu=- fcpu=- # the two parts of batch's time, where a case splits it
				if [[ $line == *" alloc_cpu_ns_per_op="* ]]; then
					acpu=${line##* alloc_cpu_ns_per_op=} acpu=${acpu%% *}
					fcpu=${line##* free_cpu_ns_per_op=} fcpu=${fcpu%% *}
				fi
				status=ok
			else
				ns=- cpu=- base=- peak=- acpu=- fcpu=-
				if [ $rc -eq 124 ]; then status=timeout; else status="exit$rc"; fi
				say "$a $c rep $rep: $status: $(head -c 300 "$tmp/err")"
			fi
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$c" "$a" "$ns" "$cpu" "$base" "$peak" \
				"$status" "$acpu" "$fcpu" >>"$samples"
		done
	done
	say "rep $rep/$REPS done ($((SECONDS - t_start)) s)"
done

# --- deterministic counts: differences of an N and a 2N run, so start-up cancels ---
counts=$tmp/counts.tsv
printf 'alloc\tmetric\tvalue\n' >"$counts"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2"; }

# Instructions per 64 B pair: callgrind's "Collected" total, (I(2N) - I(N)) / N;
# and the same less spanbench's own loop (case_pairs' self cost, by
# callgrind_annotate), which leaves what the allocator itself executes.
CG_N=100000
callgrind_ir() { # lib n -> "instructions loop_instructions iters" or nothing
	LD_PRELOAD=$1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
		"$BIN" pairs64 "$2" >"$tmp/cgline" 2>"$tmp/cgerr" || return 1
	local loop
	loop=$(callgrind_annotate --threshold=100 "$tmp/cg.out" 2>/dev/null |
		awk '/spanbench\.c:case_pairs / { gsub(",", "", $1); print $1; exit }')
	echo "$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/cgerr") ${loop:-0} $(field iters "$tmp/cgline")"
}
if command -v valgrind >/dev/null; then
	for a in "${ran[@]}"; do
		read -r i1 l1 n1 <<<"$(callgrind_ir "${lib[$a]}" $CG_N)"
		read -r i2 l2 n2 <<<"$(callgrind_ir "${lib[$a]}" $((2 * CG_N)))"
		cp "$tmp/cg.out" "$OUT/callgrind.$a.out" 2>/dev/null
		if [ -n "${i1:-}" ] && [ -n "${i2:-}" ] && [ -n "${n2:-}" ]; then
			awk -v a="$a" -v i1="$i1" -v i2="$i2" -v l1="$l1" -v l2="$l2" -v n1="$n1" -v n2="$n2" 'BEGIN {
				printf "%s\tinstr_pair64\t%.1f\n", a, (i2 - i1) / (n2 - n1)
				if (l2 > 0)
					printf "%s\tinstr_pair64_alloc\t%.1f\n", a, (i2 - i1 - (l2 - l1)) / (n2 - n1)
			}' >>"$counts"
		else
			say "callgrind failed for $a: $(tail -c 300 "$tmp/cgerr")"
			printf '%s\tinstr_pair64\tfailed\n' "$a" >>"$counts"
		fi
	done
	say "callgrind done ($((SECONDS - t_start)) s)"
else
	say "valgrind not installed: no instruction counts"
fi

# mmap/munmap/madvise calls per large pair, from strace, (C(2N) - C(N)) / N
ST_N=500000 # half the timed run: long enough for a time-paced scavenger to act
strace_calls() { # lib case n -> "mmap munmap madvise iters"
	strace -qq -f -e trace=mmap,munmap,madvise -E LD_PRELOAD="$1" -o "$tmp/st" \
		"$BIN" "$2" "$3" >"$tmp/stline" 2>/dev/null || return 1
	local s out=
	for s in mmap munmap madvise; do
		out+="$(grep -cE "^[0-9]+ +$s\(" "$tmp/st") "
	done
	echo "$out$(field iters "$tmp/stline")"
}
if command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
	for a in "${ran[@]}"; do
		for c in large64k large1m; do
			read -r m1 u1 d1 n1 <<<"$(strace_calls "${lib[$a]}" $c $ST_N)"
			read -r m2 u2 d2 n2 <<<"$(strace_calls "${lib[$a]}" $c $((2 * ST_N)))"
			if [ -n "${n1:-}" ] && [ -n "${n2:-}" ]; then
				printf '%s\t%s_mmap\t%s\n%s\t%s_munmap\t%s\n%s\t%s_madvise\t%s\n' \
					"$a" $c $((m2 - m1)) "$a" $c $((u2 - u1)) "$a" $c $((d2 - d1)) >>"$counts"
				printf '%s\t%s_pairs\t%s\n' "$a" $c $((n2 - n1)) >>"$counts"
			else
				printf '%s\t%s_mmap\tfailed\n' "$a" $c >>"$counts"
			fi
		done
	done
	say "strace done ($((SECONDS - t_start)) s)"
else
	say "strace not usable here: no mmap counts"
fi

# --- the report ---------------------------------------------------------------------
{
	echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs, Linux $(uname -r)"
	echo "date: $t_date; git: $rev"
	[ -n "${span_sum:-}" ] && echo "span drop-in: $B/lib/libspan-malloc.so, sha256 $span_sum (copied at the start of the run)"
	echo "libraries: $(for a in "${ran[@]}"; do printf '%s=%s (stacks: %s); ' "$a" "${want[$a]}" "${stack[$a]}"; done)"
	for s in "${skipped[@]}"; do echo "SKIPPED $s"; done
} >"$tmp/meta"
awk -v allocs="${ran[*]}" -v reps="$REPS" -v cases="${cases[*]}" -v meta="$tmp/meta" \
	-f "$here/report.awk" "$samples" "$counts" >"$tmp/span-bench.md" || exit 1
mv -f "$samples" "$counts" "$tmp/span-bench.md" "$OUT/"
cat "$OUT/span-bench.md"
say "report: $OUT/span-bench.md (samples: $OUT/samples.tsv; $((SECONDS - t_start)) s in all)"
