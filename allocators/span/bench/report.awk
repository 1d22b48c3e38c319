# The Markdown report of `make bench-span`, from run.sh's samples.tsv and counts.tsv.
#   awk -v allocs="glibc jemalloc ..." -v reps=5 -v cases="pairs16 ..." -v meta=FILE \
#       -f report.awk samples.tsv counts.tsv
# Times are given as ratios: for each rep, allocator / reference in that same rep
# (the runs were adjacent in time), then the median over reps. Portable awk (mawk).

function median(a, n,    i, j, t) { # of a[1..n]; sorts a
	if (n == 0)
		return ""
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# median over reps of ns(c, x) / ns(c, y) in the same rep; "" if no rep has both.
# Sets rmin, rmax: the smallest and largest of those ratios; rlo, rhi, rcov: the
# median's confidence interval (median_ci).
function ratio(c, x, y) { return ratio_of(ns, c, x, y) }

# the same for any per-rep array arr[c, x, rep] (cpu: CPU time in every case)
function ratio_of(arr, c, x, y,    r, n, v, m) {
	n = 0
	for (r = 1; r <= reps; r++)
		if ((c, x, r) in arr && (c, y, r) in arr && arr[c, y, r] > 0)
			v[++n] = arr[c, x, r] / arr[c, y, r]
	m = median(v, n) # sorts v
	rmin = v[1]; rmax = v[n]
	median_ci(v, n)
	return m
}

# The distribution-free confidence interval of the median of sorted v[1..n]:
# [v[k], v[n + 1 - k]] covers it with probability 1 - 2 P(Binomial(n, 1/2) < k);
# k is the largest that keeps that >= 95% (k = 1, the whole range, when n is too
# small for 95%: 5 reps give 94%). Sets rlo, rhi and rcov (percent).
function median_ci(v, n,    k, i, coef, cdf) {
	if (n == 0) {
		rlo = rhi = rcov = ""
		return
	}
	coef = 1; cdf = 0.5 ^ n; k = 1 # cdf = P(B <= k - 1)
	for (i = 1; 2 * i < n + 1; i++) {
		coef = coef * (n - i + 1) / i # C(n, i)
		if (1 - 2 * (cdf + coef * 0.5 ^ n) < 0.95)
			break
		cdf += coef * 0.5 ^ n
		k = i + 1
	}
	rlo = v[k]; rhi = v[n + 1 - k]; rcov = 100 * (1 - 2 * cdf)
}

# a ratio with its range over reps: "0.85 (0.71-1.10)"
function rrange(v) { return v == "" ? "n/a" : rfmt(v) " (" rfmt(rmin) "-" rfmt(rmax) ")" }

function med(arr, c, x,    r, n, v) { # median over reps of arr[c, x, rep]
	n = 0
	for (r = 1; r <= reps; r++)
		if ((c, x, r) in arr)
			v[++n] = arr[c, x, r]
	return median(v, n)
}

function fmt(v, f) { return v == "" ? "n/a" : sprintf(f, v) }

# A ratio with three significant digits at most, never rounded to 0.00.
function rfmt(v) { return v == "" ? "n/a" : v >= 100 ? sprintf("%.0f", v) : v >= 0.1 ? sprintf("%.2f", v) : sprintf("%.2g", v) }

# The cell for a case that produced no number: why not.
function why(c, x,    r) {
	for (r = 1; r <= reps; r++)
		if ((c, x, r) in bad)
			return bad[c, x, r]
	return "n/a"
}

function cnt(x, m) { return (x SUBSEP m) in count ? count[x, m] : "" }

# a ratio target's measured cell: "1.05 x mimalloc (reps 0.89-1.20; 96% CI
# 0.92-1.15)"; call right after ratio(), which sets rmin, rmax, rlo, rhi, rcov
function xof(v, who) {
	return v == "" ? "n/a" : sprintf("%s x %s (reps %s-%s; %.0f%% CI %s-%s)", rfmt(v), who,
		rfmt(rmin), rfmt(rmax), rcov, rfmt(rlo), rfmt(rhi))
}

function verdict(ok) { return ok == "" ? "n/a" : ok ? "**pass**" : "**FAIL**" }

# The verdict on a ratio target "<= t", judged on the median as the target is
# stated, marked when the median's confidence interval holds t (the reps do not
# decide it: another run may well give the other verdict); right after ratio().
function rverdict(v, t) {
	if (v == "")
		return "n/a"
	if (rlo <= t && t < rhi)
		return verdict(v <= t) " (within the noise: the CI holds " t ")"
	return verdict(v <= t)
}

BEGIN {
	FS = "\t"
	na = split(allocs, A, " ")
	nc = split(cases, C, " ")
	ref = "jemalloc"
	for (i = 1; i <= na; i++)
		have[A[i]] = 1
	if (!("jemalloc" in have))
		ref = A[1]
	desc["pairs16"] = "16 B malloc+free pair (another 16 B object alive)"
	desc["pairs64"] = "64 B malloc+free pair (another alive)"
	desc["pairs256"] = "256 B malloc+free pair (another alive)"
	desc["batch"] = "1M objects 8-512 B, all allocated, freed in random order (per object)"
	desc["batch2"] = "batch's round again in the same process, the second one measured (per object)"
	desc["xthread"] = "2 threads: malloc on one, free on the other (per object)"
	desc["large64k"] = "64 KiB malloc+free pair (another alive)"
	desc["large1m"] = "1 MiB malloc+free pair (another alive)"
	desc["holes1m"] = "1 MiB malloc+free pair among 1000 free 1 MiB holes between live 1 MiB objects"
	desc["realloc"] = "realloc doubling 8 B -> 64 MiB (per realloc call)"
	desc["grow"] = "a buffer doubled by malloc+copy+free 4 KiB -> 256 MiB (per step; see its peak RSS)"
	desc["stacks"] = "100k 2 KiB stacks, a tenth grown to 8 KiB, all freed (per stack)"
}

FNR == 1 { file++; next }
# Time of a case: CPU time where one thread does the work (waiting for a CPU that
# another process holds is not the allocator's cost: a shared machine); wall time
# for the 2-thread case, whose cost includes the threads waiting on each other.
file == 1 {
	if ($8 == "ok") {
		ns[$2, $3, $1] = $2 == "xthread" ? $4 : $5
		cpu[$2, $3, $1] = $5
		base[$2, $3, $1] = $6
		peak[$2, $3, $1] = $7
		growth[$2, $3, $1] = $7 - $6
		if ($9 != "-" && $9 != "") {
			acpu[$2, $3, $1] = $9
			fcpu[$2, $3, $1] = $10
		}
	} else
		bad[$2, $3, $1] = $8
}
file == 2 { count[$1, $2] = $3 }

END {
	while ((getline line < meta) > 0)
		print line == "" ? "" : "- " line
	print ""
	printf "### Time as a ratio to %s (median over %d reps of the same-rep ratio; < 1 is faster)\n\n", ref, reps
	print "Time is the process's CPU time (user + system, page faults included), except for"
	print "xthread: wall time. See samples.tsv for both in every case.\n"
	hdr = "| case |"; sep = "| --- |"
	for (i = 1; i <= na; i++) { hdr = hdr " " A[i] " |"; sep = sep " ---: |" }
	print hdr; print sep
	for (k = 1; k <= nc; k++) {
		c = C[k]; row = "| " c " |"
		for (i = 1; i <= na; i++) {
			v = ratio(c, A[i], ref)
			row = row " " (v == "" ? why(c, A[i]) : rfmt(v)) " |"
		}
		print row
	}
	print ""
	print "### Median ns/op (absolute, for scale only: a noisy shared VM; compare the ratios)\n"
	print "CPU time per op, except xthread: wall time per op.\n"
	print hdr; print sep
	for (k = 1; k <= nc; k++) {
		c = C[k]; row = "| " c " |"
		for (i = 1; i <= na; i++) {
			v = med(ns, c, A[i])
			row = row " " (v == "" ? why(c, A[i]) : sprintf(v < 100 ? "%.1f" : "%.0f", v)) " |"
		}
		print row
	}
	print ""
	if ("span" in have) {
		print "### span / other (median over reps of the same-rep ratio, and its range; < 1: span is faster)\n"
		h2 = "| case |"; s2 = "| --- |"
		for (i = 1; i <= na; i++)
			if (A[i] != "span") { h2 = h2 " span/" A[i] " |"; s2 = s2 " ---: |" }
		print h2; print s2
		for (k = 1; k <= nc; k++) {
			c = C[k]; row = "| " c " |"
			for (i = 1; i <= na; i++)
				if (A[i] != "span")
					row = row " " rrange(ratio(c, "span", A[i])) " |"
			print row
		}
		print ""
	}
	nb = 0
	for (k = 1; k <= nc; k++)
		if (C[k] == "batch" || C[k] == "batch2")
			B[++nb] = C[k]
	if (nb) {
		print "### Batch in two parts: CPU ns per object, medians over reps\n"
		print "The allocation part (every object allocated, its first byte written) and the free"
		print "part (all freed in random order) of the same measured runs.\n"
		print hdr; print sep
		for (k = 1; k <= nb; k++)
			for (j = 1; j <= 2; j++) {
				row = "| " B[k] (j == 1 ? ": allocations" : ": frees") " |"
				for (i = 1; i <= na; i++) {
					v = j == 1 ? med(acpu, B[k], A[i]) : med(fcpu, B[k], A[i])
					row = row " " (v == "" ? why(B[k], A[i]) : sprintf("%.0f", v)) " |"
				}
				print row
			}
		print ""
	}
	print "### Peak RSS of the measured phase, MiB: VmHWM (growth over the RSS at its start)\n"
	print "Read from /proc/self/status inside the benchmark process; medians over reps.\n"
	print hdr; print sep
	for (k = 1; k <= nc; k++) {
		c = C[k]; row = "| " c " |"
		for (i = 1; i <= na; i++) {
			p = med(peak, c, A[i]); g = med(growth, c, A[i])
			row = row " " (p == "" ? why(c, A[i]) : sprintf("%.1f (%.1f)", p / 1024, g / 1024)) " |"
		}
		print row
	}
	print ""
	print "### Deterministic counts (differences of an N and a 2N run: start-up cancels)\n"
	h3 = hdr; sub(/^\| case \|/, "| count |", h3)
	print h3; print sep
	row = "| instructions per 64 B malloc+free pair (callgrind) |"
	for (i = 1; i <= na; i++) row = row " " (cnt(A[i], "instr_pair64") == "" ? "n/a" : cnt(A[i], "instr_pair64")) " |"
	print row
	row = "| the same, less spanbench's own loop: inside the allocator |"
	for (i = 1; i <= na; i++) row = row " " (cnt(A[i], "instr_pair64_alloc") == "" ? "n/a" : cnt(A[i], "instr_pair64_alloc")) " |"
	print row
	split("large64k large1m", L, " ")
	for (j = 1; j <= 2; j++) {
		row = "| mmap / munmap / madvise calls per " (L[j] == "large64k" ? "64 KiB" : "1 MiB") " pair (strace) |"
		for (i = 1; i <= na; i++) {
			m = cnt(A[i], L[j] "_mmap"); n = cnt(A[i], L[j] "_pairs")
			if (m == "" || m == "failed" || n == "")
				row = row " " (m == "" ? "n/a" : m) " |"
			else
				row = row sprintf(" %.3f / %.3f / %.3f |", m / n,
					cnt(A[i], L[j] "_munmap") / n, cnt(A[i], L[j] "_madvise") / n)
		}
		print row
	}
	print ""

	print "### Targets for span\n"
	print "| target | measured | result |"
	print "| --- | --- | --- |"
	if (!("span" in have)) {
		print "| all | span did not run (see SKIPPED above) | n/a |"
		exit 0
	}
	# The brief's reference counts (mimalloc 44, jemalloc/tcmalloc 67, glibc 129) are
	# the allocator's own instructions: spanbench's loop (~12) excluded.
	v = cnt("span", "instr_pair64_alloc")
	ok = (v == "" || v == "failed") ? "" : v + 0 <= 45
	printf "| <= 45 instructions per 64 B pair, inside the allocator (callgrind) | %s (mimalloc %s, jemalloc %s) | %s |\n", \
		v == "" ? "n/a" : v, cnt("mimalloc", "instr_pair64_alloc") == "" ? "n/a" : cnt("mimalloc", "instr_pair64_alloc"), \
		cnt("jemalloc", "instr_pair64_alloc") == "" ? "n/a" : cnt("jemalloc", "instr_pair64_alloc"), verdict(ok)
	v = cnt("span", "instr_pair64")
	printf "| (for information) the same with spanbench's loop | %s (mimalloc %s) | - |\n", v == "" ? "n/a" : v, \
		cnt("mimalloc", "instr_pair64") == "" ? "n/a" : cnt("mimalloc", "instr_pair64")
	v = ratio("batch", "span", "mimalloc")
	printf "| batch ns/object <= mimalloc's | %s | %s |\n", xof(v, "mimalloc"), rverdict(v, 1)
	v = ratio("batch", "span", "jemalloc")
	printf "| batch ns/object <= 0.65 x jemalloc's | %s | %s |\n", xof(v, "jemalloc"), rverdict(v, 0.65)
	p = med(peak, "batch", "span"); q = med(peak, "batch", "jemalloc")
	ok = (p == "" || q == "") ? "" : p <= 0.97 * q
	printf "| batch peak RSS (VmHWM) <= 0.97 x jemalloc's | %s | %s |\n", (p == "" || q == "") ? "n/a" : \
		sprintf("%.3f x jemalloc (%.1f vs %.1f MiB)", p / q, p / 1024, q / 1024), verdict(ok)
	p = med(growth, "batch", "span"); q = med(growth, "batch", "jemalloc")
	ok = (p == "" || q == "" || q <= 0) ? "" : p <= 0.97 * q
	printf "| same, growth over the phase's start RSS | %s | %s |\n", \
		(p == "" || q == "" || q <= 0) ? "n/a" : sprintf("%.3f x jemalloc", p / q), verdict(ok)
	v = ratio("xthread", "span", "jemalloc")
	printf "| cross-thread free <= 1.1 x jemalloc's (wall time) | %s | %s |\n", xof(v, "jemalloc"), rverdict(v, 1.1)
	# wall time of two threads on a busy 2-core machine is noisy: CPU time beside it
	v = ratio_of(cpu, "xthread", "span", "jemalloc")
	printf "| (for information) the same in CPU time (both threads) | %s | - |\n", xof(v, "jemalloc")
	v = ratio("stacks", "span", "mimalloc")
	printf "| stack lifecycle <= mimalloc's | %s | %s |\n", xof(v, "mimalloc"), rverdict(v, 1)
	m = cnt("span", "large64k_mmap"); n = cnt("span", "large64k_pairs")
	# "never an mmap per call": at most one stray mmap over the N extra pairs
	ok = (m == "" || m == "failed" || n == "") ? "" : m + 0 <= 1
	printf "| 64 KiB pairs never an mmap per call (strace) | %s mmap, %s munmap, %s madvise calls over %s pairs | %s |\n", \
		m == "" ? "n/a" : m, cnt("span", "large64k_munmap") == "" ? "n/a" : cnt("span", "large64k_munmap"), \
		cnt("span", "large64k_madvise") == "" ? "n/a" : cnt("span", "large64k_madvise"), n == "" ? "n/a" : n, verdict(ok)
}
