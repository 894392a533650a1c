/* fsc-watch's command line: what it means (struct fsc_watch_opts), its parsing and checks,
 * the --help text and the exit statuses. */
#ifndef FSC_WATCH_OPTS_H
#define FSC_WATCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fsc_watch_ignore.h"

/* Exit statuses (--help lists them). With --once, fsc-watch exits with COMMAND's status. */
#define FSC_WATCH_EXIT_OK     0	  /* stopped by SIGINT/SIGTERM/SIGHUP, or --once without COMMAND */
#define FSC_WATCH_EXIT_FAIL   1	  /* a runtime error: fscd failed, no journal, fork failed */
#define FSC_WATCH_EXIT_USAGE  2	  /* bad option, bad glob, unknown kind or signal */
#define FSC_WATCH_EXIT_PATH   3	  /* a PATH cannot be watched: missing, or not served by --name */
#define FSC_WATCH_EXIT_NOEXEC 127 /* COMMAND cannot be run (not found, not executable) */

#define FSC_WATCH_DEBOUNCE_MS_DEFAULT 50
#define FSC_WATCH_DEBOUNCE_MS_MAX     3600000
#define FSC_WATCH_STOP_TIMEOUT_MS     5000

enum fsc_watch_on_busy {
	FSC_WATCH_BUSY_QUEUE,	   /* one more run after the running one ends */
	FSC_WATCH_BUSY_RESTART,	   /* stop the running one, then run again */
	FSC_WATCH_BUSY_SIGNAL,	   /* send it --signal */
	FSC_WATCH_BUSY_DO_NOTHING, /* let it run; forget the changes */
};

struct fsc_watch_opts {
	char **paths; /* -w, as given, then made absolute and canonical by _resolve */
	size_t npaths;
	char **exts; /* -e, without the dots; NULL-terminated when nexts > 0 */
	size_t nexts;
	struct fsc_watch_ignore ignore;	     /* the defaults, then -i's globs */
	struct fsc_watch_ignore user_ignore; /* -i's globs while parsing */
	bool default_ignores;
	uint32_t on_kinds; /* FSC_KIND_* bits that count; 0: every kind */
	uint64_t debounce_ms;
	enum fsc_watch_on_busy on_busy;
	int busy_signal; /* --signal */
	int stop_signal;
	uint64_t stop_timeout_ms;
	bool postpone, once, clear, json, verbose;
	const char *name; /* --name: this table must serve the paths */
	bool private_fscd;
	char **command; /* NULL-terminated; NULL: print the changes */
};

/* Parses argv into o. 0 to go on; -1 after --help or --version (exit 0); or an exit status
 * (FSC_WATCH_EXIT_USAGE) after printing what was wrong. */
int fsc_watch_opts_parse(struct fsc_watch_opts *o, int argc, char **argv);
/* Makes every path absolute and canonical (realpath: fscd keys name no symlinks). 0, or
 * FSC_WATCH_EXIT_PATH after saying which path cannot be watched and why. */
int fsc_watch_opts_resolve(struct fsc_watch_opts *o);
void fsc_watch_opts_usage(FILE *out);
void fsc_watch_opts_free(struct fsc_watch_opts *o);
/* A signal's number from "TERM", "SIGTERM", "term" or "15"; -1 if none. */
int fsc_watch_signal_parse(const char *s);

#endif
