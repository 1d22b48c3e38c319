# Allocator plug-ins: allocators/adapters/<name>.c -> $(B)/plugins/mb-<name>.so.
# An adapter whose library (its header, from the Debian -dev package) is missing
# is not built; `membench list allocators` then says which package brings it.
# PLUGIN_LIBS_<name>: the plug-in's link flags (it links its allocator, so
# preloading the plug-in loads the allocator too).
PLUGINS += $(B)/plugins/mb-system.so $(B)/plugins/mb-generic.so

# adapter name, header that proves the -dev package, link flags
define mb_adapter
ifneq ($$(wildcard /usr/include/$(2) /usr/local/include/$(2)),)
PLUGINS += $$(B)/plugins/mb-$(1).so
PLUGIN_LIBS_$(1) := $(3)
endif
endef
$(eval $(call mb_adapter,jemalloc,jemalloc/jemalloc.h,-ljemalloc))
$(eval $(call mb_adapter,tcmalloc,gperftools/tcmalloc.h,-ltcmalloc_minimal))
$(eval $(call mb_adapter,mimalloc,mimalloc.h,-lmimalloc))
$(eval $(call mb_adapter,tbbmalloc,tbb/scalable_allocator.h,-ltbbmalloc))
PLUGIN_LIBS_generic := -ldl

$(B)/plugins/mb-%.so: allocators/adapters/%.c allocators/include/membench_alloc.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< -Wl,--no-as-needed $(PLUGIN_LIBS_$*) -Wl,--as-needed

# Plug-ins and a malloc replacement that only the tests load
# (tests/integration/test_alloc_plugins.c), in $(B)/tests/plugins/.
TP := $(B)/tests/plugins
TP_SRC := tests/integration/plugin_fixtures
TEST_BINS += $(TP)/libtinymalloc.so $(TP)/libtinymalloc-nousable.so $(TP)/mb-badabi.so \
	$(TP)/mb-nofree.so $(TP)/mb-badstack.so $(TP)/mb-badselftest.so $(TP)/not-a-plugin.so
$(TP)/libtinymalloc.so: $(TP_SRC)/tinymalloc.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $<
$(TP)/libtinymalloc-nousable.so: $(TP_SRC)/tinymalloc.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DTINY_NO_USABLE -shared -o $@ $<
$(TP)/mb-badabi.so $(TP)/mb-nofree.so $(TP)/mb-badstack.so $(TP)/mb-badselftest.so: \
		$(TP_SRC)/badplugin.c allocators/include/membench_alloc.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(BAD_FLAG_$(notdir $@)) -shared -o $@ $<
BAD_FLAG_mb-badabi.so := -DBAD_ABI
BAD_FLAG_mb-nofree.so := -DBAD_NO_FREE
BAD_FLAG_mb-badstack.so := -DBAD_STACK
BAD_FLAG_mb-badselftest.so := -DBAD_SELFTEST
# a file with a .so name that is no ELF object at all
$(TP)/not-a-plugin.so: $(TP_SRC)/badplugin.c
	@mkdir -p $(@D)
	cp $< $@

# Does memory sampling move ns/op? (analysis/METRICS.md, "Sampling cost")
.PHONY: bench-sampling
bench-sampling: build
	scripts/bench-sampling.sh $(B)
