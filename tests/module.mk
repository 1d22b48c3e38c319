# Test binaries: tests/<tier>/test_*.c, each linked with libmembench.a and cmocka.
# Other modules add their own binaries to TEST_BINS under $(B)/tests/<tier>/.
TEST_TIER_SRC := $(wildcard tests/unit/test_*.c tests/integration/test_*.c \
	tests/stress/test_*.c tests/fuzz/test_*.c)
TEST_BINS += $(TEST_TIER_SRC:tests/%.c=$(B)/tests/%)
$(B)/tests/%: $(B)/obj/tests/%.o $(B)/libmembench.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -rdynamic -o $@ $^ $(LIBS) -lcmocka
-include $(TEST_TIER_SRC:%.c=$(B)/obj/%.d)
