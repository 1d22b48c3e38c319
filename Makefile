# membench. `make run` and `make test` are the two commands; see README.md.
#
# Layout of the build: $(B)/membench (the binary), $(B)/plugins/mb-<name>.so
# (allocator plug-ins), $(B)/tests/ (test binaries). Each subsystem adds its own
# rules in a module.mk beside its sources; this file holds what they share.

SANITIZER ?=
ifeq ($(SANITIZER),)
B := build
OPT := -O2
else
B := build-$(SANITIZER)
OPT := -O1 -fno-omit-frame-pointer -fsanitize=$(SANITIZER)
endif

CC ?= cc
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wundef -Wno-unused-parameter -Wno-format-truncation -Werror
CFLAGS ?= $(OPT) -g
# MB_OPTIMISED is what the harness checks before it writes any result.
MB_BUILD_DEFS := -DMB_BUILD_FLAGS='"$(strip $(OPT))"' \
	$(if $(SANITIZER),-DMB_SANITIZER='"$(SANITIZER)"',-DMB_OPTIMISED=1)
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -fPIC -pthread -D_GNU_SOURCE \
	-Iallocators/include -Iharness -Iworkloads/patterns -Ianalysis $(MB_BUILD_DEFS)
LDFLAGS_SAN := $(if $(SANITIZER),-fsanitize=$(SANITIZER))

PKGS := yaml-0.1 jansson hwloc papi sqlite3
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS = $(PKG_LIBS) -ldl -lm -pthread

# Fuzz targets are built with clang's libFuzzer when clang is there (make deps
# installs it); tests/fuzz/*.sh run them.
FUZZ_CC ?= clang
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -pthread

GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

.PHONY: all deps build tool run test test-unit test-integration stress fuzz gen check-gen \
	docs check-docs clean asan ubsan tsan bench
.DEFAULT_GOAL := all

all: build

# The dependency step: installs missing Debian packages (idempotent, quick when present).
deps:
	@scripts/deps.sh

# --- the membench binary: harness + analysis + pattern kernels --------------------
CORE_SRC := $(filter-out harness/main.c,$(wildcard harness/*.c analysis/*.c workloads/patterns/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
$(B)/libmembench.a: $(CORE_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/harness/result.o: ALL_CFLAGS += -DMB_GIT_REV='"$(GIT_REV)"' -DMB_CC='"$(shell $(CC) --version | head -1)"'
$(B)/obj/harness/result.o: .FORCE
.PHONY: .FORCE

$(B)/membench: $(B)/obj/harness/main.o $(B)/libmembench.a
	$(CC) $(LDFLAGS_SAN) -rdynamic -o $@ $^ $(LIBS)

# build: everything; tool: what `membench run` needs (the binary and the plug-ins).
build: tool test-bins
tool: $(B)/membench plugins

PLUGINS :=
TEST_BINS :=
include $(sort $(wildcard allocators/module.mk allocators/*/module.mk workloads/module.mk \
	harness/module.mk analysis/module.mk tests/module.mk))

plugins: $(PLUGINS)
test-bins: $(TEST_BINS)

# --- the two commands -------------------------------------------------------------
CONFIG ?= configs/quick.yaml
run: deps
	@$(MAKE) --no-print-directory tool
	@rc=0; $(B)/membench run $(CONFIG) || rc=$$?; \
	if [ $$rc -le 1 ]; then $(B)/membench report --quiet results/latest || true; fi; exit $$rc

test: deps
	@$(MAKE) --no-print-directory build
	@tests/run.sh $(B) $(TEST_TIERS)

# One tier of `make test`; `make fuzz` runs the fuzz tier's long form (10 min
# for each target).
test-unit test-integration: deps
	@$(MAKE) --no-print-directory build
	@tests/run.sh $(B) $(@:test-%=%)
fuzz: deps
	@$(MAKE) --no-print-directory build
	@MB_TEST_SHORT=0 tests/run.sh $(B) fuzz

asan:
	$(MAKE) SANITIZER=address test
ubsan:
	$(MAKE) SANITIZER=undefined test
tsan:
	$(MAKE) SANITIZER=thread test

clean:
	rm -rf build build-*

-include $(CORE_OBJ:.o=.d) $(B)/obj/harness/main.d

# Regenerates the schema tables in the READMEs from the option tables.
docs: build
	@scripts/gendocs.sh
