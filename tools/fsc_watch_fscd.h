/* Which fscd fsc-watch reads: the shared one that serves every watched path, or a private
 * one it starts as its child, with a table name of its own, and stops at exit.
 *
 * The private fscd: `fscd --name fsc-watch.<pid>.<16 random hex> --watch PATH...`, in a
 * process group of its own (Ctrl-C at the terminal is fsc-watch's to handle), stdout to
 * /dev/null (fsc-watch's stdout carries changes), stderr shared (its warnings are seen),
 * PR_SET_PDEATHSIG SIGTERM so that it ends with fsc-watch however fsc-watch ends. On SIGTERM
 * fscd removes its own shared-memory objects; fsc_watch_fscd_stop waits for that.
 *
 * The binary: $FSC_WATCH_FSCD if set; else fscd next to fsc-watch's own executable
 * (/proc/self/exe), then ../writer/fscd/fscd from there (the build tree), then ../sbin/fscd;
 * else fscd looked up in PATH.
 */
#ifndef FSC_WATCH_FSCD_H
#define FSC_WATCH_FSCD_H

#include <stdbool.h>
#include <sys/types.h>

#include "fsc.h"
#include "fsc_watch_opts.h"

struct fsc_watch_fscd {
	fsc_t *c;      /* a reader of the table used */
	char name[80]; /* its name */
	pid_t pid;     /* the private fscd; 0 when a shared one serves */
	int status;    /* the private fscd's wait status once reaped */
	bool reaped;
};

/* Finds the fscd to read for o's paths: --name's table (which must serve them all), or
 * "default" if it serves them, else a private fscd started now and waited for until its
 * table is published (its first scan done). 0, or an exit status after saying why on stderr
 * (FSC_WATCH_EXIT_PATH: --name does not serve a path; FSC_WATCH_EXIT_FAIL: fscd could not
 * be started or failed). */
int fsc_watch_fscd_attach(struct fsc_watch_fscd *f, const struct fsc_watch_opts *o);
/* For a child fsc-watch reaped: true if it was the private fscd (its status kept). */
bool fsc_watch_fscd_reaped(struct fsc_watch_fscd *f, pid_t pid, int wstatus);
/* Stops the private fscd (SIGTERM; SIGKILL after 10 s) and reaps it. Nothing for a shared
 * one. 0 if it exited cleanly (or there was none), -1 after saying what went wrong. */
int fsc_watch_fscd_stop(struct fsc_watch_fscd *f);

#endif
