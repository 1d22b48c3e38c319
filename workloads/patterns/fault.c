/*
 * fault: a pattern that fails on purpose, to check that the harness records a
 * failing trial and carries on. Not a benchmark. Worker 0 runs `after_ops`
 * operations of plain churn, then fails in the way `mode` says; other workers
 * only churn.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pattern.h"

enum { FAULT_SEGV, FAULT_ABORT, FAULT_HANG, FAULT_OOM, FAULT_EXIT };
static const char *const fault_modes[] = {"segv", "abort", "hang", "oom", "exit", NULL};

typedef struct fault_params {
	int mode;
	uint64_t after_ops;
} fault_params_t;

static const mb_option_t fault_options[] = {
	{ .name = "mode", .type = MB_OPT_ENUM, .off = offsetof(fault_params_t, mode),
	  .values = fault_modes, .required = true,
	  .help = "how to fail: segv (SIGSEGV), abort (SIGABRT), hang (never return), "
		  "oom (touch memory until killed), exit (exit status 7)" },
	MB_OPT("after_ops", MB_OPT_UINT, fault_params_t, after_ops, "1000",
	       "operations of worker 0 before it fails"),
	MB_OPT_END,
};

typedef struct fault_state {
	uint64_t done;
	void *last;
} fault_state_t;

static int fault_thread_init(mb_worker_t *w)
{
	w->state = calloc(1, sizeof(fault_state_t));
	return w->state ? 0 : -12;
}

static void fail_now(int mode)
{
	switch (mode) {
	case FAULT_SEGV:
		raise(SIGSEGV);
		break;
	case FAULT_ABORT:
		abort();
	case FAULT_HANG:
		for (;;)
			pause();
	case FAULT_OOM:
		/* 64 MiB at a time, every page touched, never freed: grows RSS until
		 * the harness's memory limit kills the process */
		for (;;) {
			char *p = malloc(64u << 20);
			if (!p)
				_exit(4);
			memset(p, 0xa5, 64u << 20);
		}
	case FAULT_EXIT:
		_exit(7);
	}
}

static void fault_step(mb_worker_t *w, uint64_t nops)
{
	const fault_params_t *pr = w->params;
	fault_state_t *s = w->state;
	for (uint64_t i = 0; i < nops; i++, s->done++) {
		if (w->tid == 0 && s->done == pr->after_ops)
			fail_now(pr->mode);
		if (s->last)
			mb_free(w, s->last, 64);
		s->last = mb_alloc(w, 64, MB_NOSCAN);
	}
}

static void fault_drain(mb_worker_t *w)
{
	fault_state_t *s = w->state;
	if (s->last)
		mb_free(w, s->last, 64);
	s->last = NULL;
}

static void fault_thread_fini(mb_worker_t *w)
{
	free(w->state);
	w->state = NULL;
}

const mb_pattern_t mb_pattern_fault = {
	.name = "fault",
	.help = "fails on purpose (segv, abort, hang, oom, exit): checks the harness",
	.options = fault_options,
	.params_size = sizeof(fault_params_t),
	.thread_init = fault_thread_init,
	.step = fault_step,
	.drain = fault_drain,
	.thread_fini = fault_thread_fini,
};
