# Allocator plug-ins: allocators/adapters/<name>.c -> $(B)/plugins/mb-<name>.so.
# An adapter whose library's pkg-config/-dev package is missing is not built;
# `membench list allocators` then says which package brings it.
PLUGINS += $(B)/plugins/mb-system.so
$(B)/plugins/mb-%.so: allocators/adapters/%.c allocators/include/membench_alloc.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< $(PLUGIN_LIBS_$*)
