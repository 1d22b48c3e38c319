# make bench-span: the span allocator side by side with glibc, jemalloc, tcmalloc
# and mimalloc, each preloaded into one small benchmark program. A benchmark, not a
# test: it prints a Markdown table (and writes it to $(B)/bench/span-bench.md) and
# fails only when it cannot run at all. See allocators/span/BENCH.md.
#
# Included by allocators/span/module.mk. Until it is, run it as
#     make -f Makefile -f allocators/span/bench/bench.mk bench-span
ifndef SPANBENCH_MK
SPANBENCH_MK := 1

SPANBENCH := $(B)/bench/spanbench
# Always optimised and never sanitised: its numbers are results.
SPANBENCH_CFLAGS := -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -pthread

$(SPANBENCH): allocators/span/bench/spanbench.c allocators/span/bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(SPANBENCH_CFLAGS) -o $@ $< -ldl

.PHONY: bench-span
# The drop-in is built first; if it cannot be, span is skipped (and says so) and the
# other allocators still run.
bench-span: $(SPANBENCH)
ifneq ($(SANITIZER),)
	$(error bench-span measures optimised, unsanitised builds only: run it without SANITIZER)
endif
	@if $(MAKE) --no-print-directory $(B)/lib/libspan-malloc.so; then skip=; \
	else skip="make could not build $(B)/lib/libspan-malloc.so"; fi; \
	MB_BUILD_DIR=$(B) MB_BENCH_SKIP_SPAN="$$skip" allocators/span/bench/run.sh

endif
