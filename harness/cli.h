/* The subcommands of membench; each is `int mb_cmd_X(argc, argv)` returning the
 * exit status, with argv[0] the subcommand's name. */
#ifndef MB_CLI_H
#define MB_CLI_H

#include <stdio.h>

typedef struct mb_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	int internal;
} mb_cmd_t;

int mb_cmd_run(int argc, char **argv);      /* runner.c */
int mb_cmd_trial(int argc, char **argv);    /* trial_cmd.c */
int mb_cmd_validate(int argc, char **argv); /* inspect.c */
int mb_cmd_list(int argc, char **argv);     /* inspect.c */
int mb_cmd_docs(int argc, char **argv);     /* inspect.c */
int mb_cmd_probe(int argc, char **argv);    /* probe.c */
int mb_cmd_sizeclasses(int argc, char **argv); /* sizeclasses_cmd.c */
int mb_cmd_topology(int argc, char **argv); /* topology.c */
int mb_cmd_report(int argc, char **argv);   /* analysis/report.c */
int mb_cmd_compare(int argc, char **argv);  /* analysis/compare.c */
int mb_cmd_history(int argc, char **argv);  /* analysis/history.c */

/* True when argv has -h or --help (for commands without other options). */
int mb_wants_help(int argc, char **argv);

#endif
