/* A private fscd, started by a tool (fsc-watch, fsc-wait) as its child when no running fscd
 * serves its paths, with a table name of its own, and stopped with it, nothing left behind.
 *
 * fsc_private_fscd_serves says whether a table will do; if not, fsc_private_fscd_start runs
 * `fscd --name TOOL.<pid>.<16 random hex> [--max-depth N] --watch ROOT...` in a process
 * group of its own (Ctrl-C at the terminal is the tool's to handle), stdout to /dev/null (the
 * tool's stdout carries its output), stderr shared (its warnings are seen), PR_SET_PDEATHSIG
 * SIGTERM so that it ends with the tool however the tool ends. fsc_private_fscd_wait waits
 * until its table is published; fsc_private_fscd_stop sends SIGTERM (fscd then removes its
 * own objects), reaps it and removes whatever of its objects is still there.
 *
 * The binary: $ENV (the tool's variable: FSC_WATCH_FSCD, FSC_WAIT_FSCD) if set; else fscd
 * next to the tool's own executable (/proc/self/exe), then ../writer/fscd/fscd from there
 * (the build tree), then ../sbin/fscd; else fscd looked up in PATH.
 */
#ifndef FSC_PRIVATE_FSCD_H
#define FSC_PRIVATE_FSCD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fsc.h"

struct fsc_private_fscd {
	const char *tool; /* set by the caller: its name, in messages and in the table name */
	const char *env;  /* set by the caller: the variable naming the fscd binary */
	bool verbose;	  /* set by the caller: say what was started, at fscd's info level */
	fsc_t *c;	  /* a reader of the table used */
	char name[80];	  /* its name */
	pid_t pid;	  /* the private fscd; 0 when none runs */
	int status;	  /* its wait status once reaped */
	bool reaped;
};

/* Does table c serve every path (fsc_covers), with a journal to follow? If not, *missed is the
 * path not served (or NULL) and *why says why. */
bool fsc_private_fscd_serves(fsc_t *c, const char *const *paths, size_t npaths, const char **missed,
			     const char **why);
/* Starts the private fscd on roots (max_depth > 0: --max-depth). f's tool, env and verbose
 * set, the rest zero. 0, or -1 after saying why on stderr (nothing left running). */
int fsc_private_fscd_start(struct fsc_private_fscd *f, const char *const *roots, size_t nroots,
			   int max_depth);
/* Waits up to timeout_ms until its table is published (its first scan done) and opens f->c.
 * 0, or -1: after saying why on stderr, or with errno ETIMEDOUT, unsaid, when the time ran
 * out (then it is stopped). */
int fsc_private_fscd_wait(struct fsc_private_fscd *f, long timeout_ms);
/* Has the private fscd exited? Reaps it if so (its status kept). */
bool fsc_private_fscd_exited(struct fsc_private_fscd *f);
/* For a child the tool reaped itself: true if it was the private fscd (its status kept). */
bool fsc_private_fscd_reaped(struct fsc_private_fscd *f, pid_t pid, int wstatus);
/* Stops the private fscd (SIGTERM; SIGKILL after 10 s), reaps it and removes any of its
 * objects still in the object directory (f->c stays open: the caller closes it). Nothing for
 * none. 0 if it exited cleanly (or there
 * was none), -1 after saying what went wrong. */
int fsc_private_fscd_stop(struct fsc_private_fscd *f);
/* From now on SIGINT, SIGTERM and SIGHUP stop the private fscd (as _stop, from the handler:
 * SIGTERM, reaped, SIGKILL after 10 s) and then end the process by that signal. For tools
 * that block in calls a signal does not interrupt. -1 with errno if sigaction failed. */
int fsc_private_fscd_stop_on_signals(void);

#endif
