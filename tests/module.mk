# Test binaries: tests/<tier>/test_*.c, each linked with libmembench.a and cmocka.
# Other modules add their own binaries to TEST_BINS under $(B)/tests/<tier>/.
TEST_TIER_SRC := $(wildcard tests/unit/test_*.c tests/integration/test_*.c \
	tests/stress/test_*.c tests/fuzz/test_*.c)
TEST_BINS += $(TEST_TIER_SRC:tests/%.c=$(B)/tests/%)
$(B)/tests/%: $(B)/obj/tests/%.o $(B)/libmembench.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -rdynamic -o $@ $^ $(LIBS) -lcmocka
-include $(TEST_TIER_SRC:%.c=$(B)/obj/%.d)

# The fuzz target, built with clang's libFuzzer when clang is there (make deps
# installs it); tests/fuzz/yaml.sh runs it.
FUZZ_CC ?= clang
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
TEST_BINS += $(B)/fuzz/fuzz_yaml
$(B)/fuzz/fuzz_yaml: tests/fuzz/fuzz_yaml.c $(CORE_SRC) $(wildcard harness/*.h workloads/patterns/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -pthread \
		-Iallocators/include -Iharness -Iworkloads/patterns -Ianalysis $(PKG_CFLAGS) \
		-o $@ tests/fuzz/fuzz_yaml.c $(CORE_SRC) $(LIBS)
endif
