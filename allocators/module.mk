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
