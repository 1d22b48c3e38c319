# span, the in-repo Go-style allocator: library, plug-in, drop-in, tests.
# See allocators/span/README.md.
#   $(B)/libspan.a               the library face (span.h)
#   $(B)/plugins/mb-span.so      the membench plug-in
#   $(B)/lib/libspan-malloc.so   the LD_PRELOAD malloc (unsanitised builds only)
#   $(B)/tests/unit/span_*, $(B)/tests/stress/span_stress, $(B)/fuzz/fuzz_span
SPAN_DIR := allocators/span
SPAN_SRC := $(addprefix $(SPAN_DIR)/,malloc.c mheap.c mtreap.c mscav.c mlarge.c mcentral.c mcache.c stack.c \
	sys.c mstats.c sizeclasses.c)
SPAN_OBJ := $(SPAN_SRC:%.c=$(B)/obj/%.o)
SPAN_FACE_OBJ := $(B)/obj/$(SPAN_DIR)/plugin.o $(B)/obj/$(SPAN_DIR)/dropin.o
SPAN_TEST_DIR := $(SPAN_DIR)/tests
SPAN_UNIT := $(patsubst $(SPAN_TEST_DIR)/%.c,%,$(wildcard $(SPAN_TEST_DIR)/span_*.c))
SPAN_UNIT := $(filter-out span_stress span_dropin span_plugin,$(SPAN_UNIT))
SPAN_UNIT_BINS := $(SPAN_UNIT:%=$(B)/tests/unit/%)
SPAN_GEN := $(B)/span/mksizeclasses

# Hidden internals (only span_* and the faces' entry points are exported) and
# initial-exec TLS: the thread cache pointer is one %fs-relative load.
$(SPAN_OBJ) $(SPAN_FACE_OBJ): ALL_CFLAGS += -fvisibility=hidden -ftls-model=initial-exec
# The drop-in defines malloc itself: no builtin knowledge of it may rewrite
# calloc's malloc + memset into a call to calloc.
$(B)/obj/$(SPAN_DIR)/dropin.o: ALL_CFLAGS += -fno-builtin
$(B)/obj/$(SPAN_TEST_DIR)/%.o: ALL_CFLAGS += -I$(SPAN_DIR)

$(B)/libspan.a: $(SPAN_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(B)/plugins/mb-span.so: $(B)/obj/$(SPAN_DIR)/plugin.o $(SPAN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -shared -o $@ $^ -pthread

$(B)/lib/libspan-malloc.so: $(B)/obj/$(SPAN_DIR)/dropin.o $(SPAN_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $^ -pthread

$(SPAN_UNIT_BINS): $(B)/tests/unit/%: $(B)/obj/$(SPAN_TEST_DIR)/%.o $(B)/libspan.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ -lcmocka -pthread

# The plug-in test loads the real mb-span.so with dlopen, as a trial does.
$(B)/tests/unit/span_plugin: $(B)/obj/$(SPAN_TEST_DIR)/span_plugin.o | $(B)/plugins/mb-span.so
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $< -lcmocka -ldl -pthread

$(B)/tests/stress/span_stress: $(B)/obj/$(SPAN_TEST_DIR)/span_stress.o $(B)/libspan.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $^ -lcmocka -pthread

# The drop-in test links the drop-in itself: its malloc serves the whole
# process, cmocka and libc included.
$(B)/tests/unit/span_dropin: $(B)/obj/$(SPAN_TEST_DIR)/span_dropin.o $(B)/lib/libspan-malloc.so
	@mkdir -p $(@D)
	$(CC) -o $@ $< -L$(B)/lib -lspan-malloc -Wl,-rpath,'$$ORIGIN/../../lib' -lcmocka -pthread

# The library face's fuzz target (its own ASan + UBSan build of the sources);
# tests/fuzz/span.sh runs it.
ifneq ($(HAVE_FUZZ_CC),)
TEST_BINS += $(B)/fuzz/fuzz_span
$(B)/fuzz/fuzz_span: $(SPAN_TEST_DIR)/fuzz_span.c $(SPAN_SRC) $(wildcard $(SPAN_DIR)/*.h $(SPAN_TEST_DIR)/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(filter-out -Wno-format-truncation,$(WARN)) -I$(SPAN_DIR) -o $@ $< $(SPAN_SRC)
endif

$(SPAN_GEN): $(SPAN_DIR)/mksizeclasses.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_SAN) -o $@ $<

PLUGINS += $(B)/libspan.a $(B)/plugins/mb-span.so
TEST_BINS += $(SPAN_GEN) $(SPAN_UNIT_BINS) $(B)/tests/unit/span_plugin \
	$(B)/tests/stress/span_stress
ifeq ($(SANITIZER),)
PLUGINS += $(B)/lib/libspan-malloc.so
TEST_BINS += $(B)/tests/unit/span_dropin
endif

.PHONY: span span-gen span-check-gen span-stress
span: $(B)/libspan.a $(B)/plugins/mb-span.so $(if $(SANITIZER),,$(B)/lib/libspan-malloc.so)

# `make gen` rewrites the table; `make check-gen` (and tests/unit/span_gen.sh
# in `make test`) fails when the committed file differs from the output.
gen: span-gen
span-gen: $(SPAN_GEN)
	$(SPAN_GEN) > $(SPAN_DIR)/sizeclasses.c.tmp && mv $(SPAN_DIR)/sizeclasses.c.tmp $(SPAN_DIR)/sizeclasses.c
check-gen: span-check-gen
span-check-gen: $(SPAN_GEN)
	$(SPAN_GEN) | diff -u $(SPAN_DIR)/sizeclasses.c -

# `make stress`: the long run (minutes) of the multi-threaded stress test.
stress: span-stress
span-stress: $(B)/tests/stress/span_stress
	MB_TEST_SHORT=0 $(B)/tests/stress/span_stress

-include $(SPAN_OBJ:.o=.d) $(SPAN_FACE_OBJ:.o=.d) \
	$(patsubst $(SPAN_TEST_DIR)/%.c,$(B)/obj/$(SPAN_TEST_DIR)/%.d,$(wildcard $(SPAN_TEST_DIR)/*.c))

# `make bench-span` (the benchmark beside the drop-in), when present.
include $(wildcard $(SPAN_DIR)/bench/bench.mk)
