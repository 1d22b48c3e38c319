/*
 * `membench trial`: its arguments, with defaults from the workload file for a
 * trial run by hand. The trial itself is trial.c; see trial.h.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "parse.h"
#include "topology.h"
#include "trial.h"
#include "workload.h"

static const struct option trial_opts[] = {
	{"workload", required_argument, NULL, 'w'}, {"plugin", required_argument, NULL, 'p'},
	{"threads", required_argument, NULL, 't'},  {"seed", required_argument, NULL, 's'},
	{"ops", required_argument, NULL, 'o'},      {"warmup", required_argument, NULL, 'u'},
	{"samples", required_argument, NULL, 'n'},  {"result-fd", required_argument, NULL, 'f'},
	{"memory-profile", no_argument, NULL, 'm'}, {"drain-wait-ns", required_argument, NULL, 'd'},
	{"counters", required_argument, NULL, 'c'}, {"pin", required_argument, NULL, 'P'},
	{"membind", required_argument, NULL, 'M'},  {"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const char trial_usage[] =
	"usage: membench trial --workload FILE [--plugin SO] [--threads N] [--seed S]\n"
	"                      [--ops N] [--warmup N] [--samples N] [--result-fd FD]\n"
	"                      [--memory-profile] [--drain-wait-ns NS]\n"
	"                      [--counters EV,EV...|cachegrind] [--pin none|compact|scatter]\n"
	"                      [--membind none|local|interleave]\n"
	"Internal: runs one trial in this process and writes its measurements as JSON\n"
	"to FD (default 1). `membench run` starts one per trial with the plug-in in\n"
	"LD_PRELOAD. Exit: 0 measured, 2 bad arguments, 3 plug-in refused, 4 out of memory.\n";

int mb_cmd_trial(int argc, char **argv)
{
	mb_trial_args_t a = {.threads = 0, .result_fd = 1, .samples = 200};
	uint64_t thr = 0;
	int have_ops = 0, have_warmup = 0, c;
	char err[160];
	while ((c = getopt_long(argc, argv, "h", trial_opts, NULL)) != -1) {
		uint64_t v = 0;
		if (c == 'P' || c == 'M') {
			const char *const *names = c == 'P' ? mb_pin_names : mb_membind_names;
			int k = 0;
			while (names[k] && strcmp(names[k], optarg))
				k++;
			if (!names[k]) {
				fprintf(stderr, "membench trial: --%s: no policy '%s'\n",
					c == 'P' ? "pin" : "membind", optarg);
				return 2;
			}
			*(c == 'P' ? &a.pin : &a.membind) = k;
			continue;
		}
		if (c != 'w' && c != 'p' && c != 'h' && c != '?' && c != 'c' && c != 'm' &&
		    mb_parse_uint(optarg, &v, err, sizeof(err))) {
			fprintf(stderr, "membench trial: %s\n", err);
			return 2;
		}
		switch (c) {
		case 'w': a.workload = optarg; break;
		case 'p': a.plugin = optarg; break;
		case 't': thr = v; break;
		case 's': a.seed = v; break;
		case 'o': a.ops = v, have_ops = 1; break;
		case 'u': a.warmup = v, have_warmup = 1; break;
		case 'n': a.samples = v; break;
		case 'f': a.result_fd = (int)v; break;
		case 'm': a.memory_profile = true; break;
		case 'd': a.drain_wait_ns = v; break;
		case 'c': a.counters = optarg; break;
		case 'h': fputs(trial_usage, stdout); return 0;
		default: fputs(trial_usage, stderr); return 2;
		}
	}
	if (!a.workload || optind != argc) {
		fputs(trial_usage, stderr);
		return 2;
	}
	if (!have_ops || !thr || !a.seed || !have_warmup) {
		/* defaults from the workload file itself, for running a trial by hand */
		mb_yctx_t y = {0};
		mb_workload_t *wl = mb_workload_load(&y, a.workload);
		if (!wl)
			return 2;
		a.ops = have_ops ? a.ops : wl->ops;
		a.warmup = have_warmup ? a.warmup : wl->warmup;
		thr = thr ? thr : wl->threads;
		a.seed = a.seed ? a.seed : wl->seed ? wl->seed : 42;
		mb_workload_free(wl);
	}
	if (thr > 1024) {
		fprintf(stderr, "membench trial: --threads must be 1..1024\n");
		return 2;
	}
	a.threads = (unsigned)thr;
	return mb_trial_run(&a);
}
