#!/usr/bin/env bash
# Real programs on the span drop-in: each runs with $MB_BUILD_DIR/lib/libspan-malloc.so
# preloaded and its output is checked, against what the program must print or against
# the same program run without the preload. One line per check, "ok" or "FAIL", then
# "N passed, N failed"; exit status 1 on any failure (a missing drop-in is one).
#
#   tests/integration/span_realprogs.sh    MB_BUILD_DIR defaults to build
#
# Part of `make test`'s integration tier. Sanitizer builds (build-address,
# build-undefined, build-thread) build no drop-in: there the script says so and
# passes, the plain build being the one that runs the programs.
#
# Checks: the preload takes; python3 (allocation-heavy, PYTHONMALLOC=malloc); sqlite3
# (200k rows, an index, PRAGMA integrity_check); gcc compiling and running a C file;
# git (init, add, commit, log, fsck); sort of a generated 1M-line file.
set -u
B=${MB_BUILD_DIR:-build}
SO=$B/lib/libspan-malloc.so
TIMEOUT=${MB_REALPROGS_TIMEOUT:-300} # s per program; a hang is a failure
passed=0 failed=0

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

case "$(basename "$B")" in
build-*)
	echo "skipped: $B is a sanitizer build, which has no drop-in"
	exit 0
	;;
esac
if [ ! -f "$SO" ]; then
	fail "drop-in" "$SO is not built (run make; MB_BUILD_DIR=$B)"
	finish
fi
SO=$(cd "$(dirname "$SO")" && pwd)/$(basename "$SO")
export LC_ALL=C
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# span CMD...: CMD with the drop-in preloaded, under a time limit; the exit status of
# CMD (124 on a time-out). The preload is set on CMD only, not on timeout.
span() { timeout "$TIMEOUT" env LD_PRELOAD="$SO" "$@"; }
# why RC: a failure's reason from an exit status
why() {
	case $1 in
	124) echo "timed out after ${TIMEOUT}s" ;;
	13[4-9]) echo "killed by signal $(($1 - 128)) ($(kill -l $(($1 - 128)) 2>/dev/null))" ;;
	*) echo "exit status $1" ;;
	esac
}
# loads PROG: the dynamic loader would map the drop-in into PROG (a statically linked
# program ignores LD_PRELOAD and would pass without testing span). ld.so only lists
# the objects, as ldd does; PROG does not run.
loads() {
	local p
	p=$(command -v "$1") || return 1
	LD_TRACE_LOADED_OBJECTS=1 LD_PRELOAD="$SO" "$p" 2>/dev/null </dev/null | grep -q libspan-malloc.so
}
# tail of a log, on one line
err() { tail -c 400 "$1" 2>/dev/null | tr '\n' ' '; }

# --- the preload takes: the drop-in is mapped and provides malloc -------------------
if span cat /proc/self/maps >"$dir/maps" 2>"$dir/err" && grep -q libspan-malloc.so "$dir/maps"; then
	ok "preload: libspan-malloc.so is mapped into a preloaded process"
else
	fail "preload" "libspan-malloc.so not mapped into cat ($(err "$dir/err"))"
	finish # nothing below would test span
fi

# --- python3 ---------------------------------------------------------------------------
cat >"$dir/alloc.py" <<'EOF'
# Allocation-heavy: many small objects of many sizes, growing and shrinking
# containers, and a digest of everything, so any corruption changes the output.
import hashlib, json, random, sys
rng = random.Random(42)
h = hashlib.sha256()
live = {}
for i in range(300000):
    k = rng.randrange(50000)
    if k in live and rng.random() < 0.4:
        del live[k]
    else:
        live[k] = [str(i) * rng.randrange(1, 40), {"i": i, "t": (k, i % 7)}, bytearray(rng.randrange(1, 600))]
for k in sorted(live):
    s, d, b = live[k]
    h.update(f"{k}:{s}:{d['i']}:{d['t']}:{len(b)};".encode())
blob = json.dumps({str(k): v[0] for k, v in live.items()}, sort_keys=True)
h.update(json.loads(blob).__repr__().encode())
big = [x * 3 for x in range(2000000)]
h.update(str(sum(big)).encode())
maps = open("/proc/self/maps").read()
print(len(live), h.hexdigest(), "span-loaded" if "libspan-malloc.so" in maps else "span-NOT-loaded")
EOF
if ! command -v python3 >/dev/null; then
	fail "python3" "python3 not installed"
else
	PYTHONMALLOC=malloc python3 "$dir/alloc.py" >"$dir/py.want" 2>"$dir/err"
	PYTHONMALLOC=malloc span python3 "$dir/alloc.py" >"$dir/py.got" 2>>"$dir/err"
	rc=$?
	want=$(sed 's/ span-NOT-loaded$/ span-loaded/' "$dir/py.want")
	if [ $rc -ne 0 ]; then
		fail "python3" "$(why $rc): $(err "$dir/err")"
	elif [ "$(cat "$dir/py.got")" != "$want" ]; then
		fail "python3" "output '$(cat "$dir/py.got")', want '$want'"
	else
		ok "python3: allocation-heavy script (PYTHONMALLOC=malloc), digest matches"
	fi
fi

# --- sqlite3 ---------------------------------------------------------------------------
sql="
PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO t SELECT i, (i * 7919) % 100003, printf('row-%d-', i) || substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26) FROM n;
CREATE INDEX t_k ON t(k);
DELETE FROM t WHERE id % 5 = 0;
UPDATE t SET v = v || v WHERE id % 3 = 0;
VACUUM;
SELECT count(*), sum(k), sum(length(v)) FROM t;
SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY k DESC, id LIMIT 5);
PRAGMA integrity_check;"
if ! command -v sqlite3 >/dev/null; then
	fail "sqlite3" "sqlite3 not installed"
elif ! loads sqlite3; then
	fail "sqlite3" "$(command -v sqlite3) would not load the drop-in (statically linked?)"
else
	sqlite3 "$dir/want.db" "$sql" >"$dir/sq.want" 2>"$dir/err"
	span sqlite3 "$dir/got.db" "$sql" >"$dir/sq.got" 2>>"$dir/err"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "sqlite3" "$(why $rc): $(err "$dir/err")"
	elif [ "$(tail -1 "$dir/sq.got")" != ok ]; then
		fail "sqlite3" "integrity_check says '$(tail -1 "$dir/sq.got")'"
	elif ! grep -q '^160000|' "$dir/sq.got"; then
		fail "sqlite3" "want 160000 rows, got '$(sed -n 2p "$dir/sq.got")'"
	elif ! cmp -s "$dir/sq.got" "$dir/sq.want"; then
		fail "sqlite3" "output differs from the run without the drop-in"
	else
		ok "sqlite3: 200k rows inserted, indexed, vacuumed; integrity_check ok"
	fi
fi

# --- gcc -------------------------------------------------------------------------------
cat >"$dir/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}
int main(void)
{
	unsigned n = 1000000, seed = 12345, sum = 0;
	unsigned *v = malloc(n * sizeof *v);
	char **s = calloc(n / 10, sizeof *s);
	if (v == NULL || s == NULL)
		return 1;
	for (unsigned i = 0; i < n; i++)
		v[i] = seed = seed * 1103515245u + 12345u;
	qsort(v, n, sizeof *v, cmp);
	for (unsigned i = 1; i < n; i++)
		if (v[i - 1] > v[i])
			return 2;
	for (unsigned i = 0; i < n / 10; i++) {
		s[i] = malloc(1 + v[i] % 300);
		memset(s[i], 'a' + i % 26, 1 + v[i] % 300);
		s[i] = realloc(s[i], 1 + v[i] % 900);
	}
	for (unsigned i = 0; i < n / 10; i++) {
		sum = sum * 31 + (unsigned char)s[i][0] + v[i * 10];
		free(s[i]);
	}
	printf("sorted %u, checksum %u\n", n, sum);
	free(s);
	free(v);
	return 0;
}
EOF
if ! command -v gcc >/dev/null; then
	fail "gcc" "gcc not installed"
elif ! loads gcc || ! loads "$(gcc -print-prog-name=cc1)"; then
	fail "gcc" "gcc or its cc1 would not load the drop-in (statically linked?)"
else
	gcc -O2 -o "$dir/prog.want" "$dir/prog.c" 2>"$dir/err" && "$dir/prog.want" >"$dir/gcc.want"
	span gcc -O2 -Wall -Wextra -o "$dir/prog" "$dir/prog.c" 2>>"$dir/err"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "gcc" "compiling with the drop-in: $(why $rc): $(err "$dir/err")"
	else
		span "$dir/prog" >"$dir/gcc.got" 2>>"$dir/err"
		rc=$?
		if [ $rc -ne 0 ]; then
			fail "gcc" "running the program: $(why $rc): $(err "$dir/err")"
		elif ! cmp -s "$dir/gcc.got" "$dir/gcc.want" || [ ! -s "$dir/gcc.want" ]; then
			fail "gcc" "program printed '$(cat "$dir/gcc.got")', want '$(cat "$dir/gcc.want")'"
		else
			ok "gcc: compiled and ran a C program under the drop-in ($(cat "$dir/gcc.got"))"
		fi
	fi
fi

# --- git -------------------------------------------------------------------------------
if ! command -v git >/dev/null; then
	fail "git" "git not installed"
elif ! loads git; then
	fail "git" "$(command -v git) would not load the drop-in (statically linked?)"
else
	repo=$dir/repo
	g() { HOME=$dir GIT_CONFIG_NOSYSTEM=1 span git -C "$repo" -c user.name=membench \
		-c user.email=membench@example.invalid -c init.defaultBranch=main "$@"; }
	step=init
	mkdir -p "$repo" && g init -q 2>"$dir/err"
	rc=$?
	for i in 1 2 3; do
		[ $rc -eq 0 ] || break
		seq 1 $((i * 20000)) | sed "s/^/commit $i line /" >"$repo/file$i.txt"
		mkdir -p "$repo/d$i" && printf 'content %d\n' "$i" >"$repo/d$i/small"
		step="add $i" && g add -A 2>>"$dir/err" &&
			step="commit $i" && g commit -q -m "commit $i" 2>>"$dir/err"
		rc=$?
	done
	if [ $rc -eq 0 ]; then
		step=log && g log --format=%s >"$dir/log" 2>>"$dir/err" && step=gc && g gc -q 2>>"$dir/err" &&
			step=fsck && g fsck --full --strict >"$dir/fsck" 2>&1 && step=show &&
			g show HEAD:file2.txt >"$dir/show" 2>>"$dir/err"
		rc=$?
	fi
	if [ $rc -ne 0 ]; then
		fail "git" "git $step: $(why $rc): $(err "$dir/err") $(err "$dir/fsck")"
	elif [ "$(tr '\n' ,  <"$dir/log")" != "commit 3,commit 2,commit 1," ]; then
		fail "git" "log says '$(tr '\n' , <"$dir/log")'"
	elif ! cmp -s "$dir/show" "$repo/file2.txt"; then
		fail "git" "HEAD:file2.txt differs from the file"
	else
		ok "git: init, add, 3 commits, log, gc, fsck --full --strict, show"
	fi
fi

# --- sort ------------------------------------------------------------------------------
awk 'BEGIN { srand(7); for (i = 0; i < 1000000; i++)
	printf "%08x %d %s\n", int(rand() * 4294967295), i, substr("qwertyuiopasdfghjklzxcvbnm", 1 + i % 20) }' >"$dir/lines"
sort -k1,1 -k2n "$dir/lines" >"$dir/sorted.want" 2>"$dir/err"
# a small buffer and two threads: temporary files, merges, and allocation on two threads
span sort -S 4M --parallel=2 -T "$dir" -k1,1 -k2n "$dir/lines" >"$dir/sorted.got" 2>>"$dir/err"
rc=$?
if ! loads sort; then
	fail "sort" "$(command -v sort) would not load the drop-in (statically linked?)"
elif [ $rc -ne 0 ]; then
	fail "sort" "$(why $rc): $(err "$dir/err")"
elif ! cmp -s "$dir/sorted.got" "$dir/sorted.want"; then
	fail "sort" "output differs from sort without the drop-in"
else
	ok "sort: 1M lines (-S 4M --parallel=2), same output as without the drop-in"
fi

finish
