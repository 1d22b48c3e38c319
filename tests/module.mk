# Test binaries: tests/<tier>/test_*.c, each linked with libmembench.a and cmocka.
# Other modules add their own binaries to TEST_BINS under $(B)/tests/<tier>/.
TEST_TIER_SRC := $(wildcard tests/unit/test_*.c tests/integration/test_*.c \
	tests/stress/test_*.c tests/fuzz/test_*.c)
TEST_BINS += $(TEST_TIER_SRC:tests/%.c=$(B)/tests/%)
$(B)/tests/%: $(B)/obj/tests/%.o $(B)/libmembench.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -rdynamic -o $@ $^ $(LIBS) -lcmocka
-include $(TEST_TIER_SRC:%.c=$(B)/obj/%.d)

# The YAML loader's fuzz target; tests/fuzz/yaml.sh runs it.
ifneq ($(HAVE_FUZZ_CC),)
TEST_BINS += $(B)/fuzz/fuzz_yaml
$(B)/fuzz/fuzz_yaml: tests/fuzz/fuzz_yaml.c $(CORE_SRC) $(wildcard harness/*.h workloads/patterns/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) \
		-Iallocators/include -Iharness -Iworkloads/patterns -Ianalysis $(PKG_CFLAGS) \
		-o $@ tests/fuzz/fuzz_yaml.c $(CORE_SRC) $(LIBS)
endif
