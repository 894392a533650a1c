/* fsc-watch's main loop: when to run COMMAND, and what to do with it while changes come.
 *
 * It sleeps in poll() on a signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP) and the journal
 * thread's eventfd, with a timeout only while something is due: the end of the debounce, a
 * stop's SIGKILL, or a look at a group being stopped. Idle, it makes no system call.
 *
 * Debounce: changes are run on when none came for --debounce ms, but at most 20 debounce
 * periods after the first of them (a stream that never pauses still runs); while a changed
 * file is being written (FSC_FLAG_WRITING: modified and not yet closed) the run waits for its
 * close, up to 2 s past that limit. Deadlines are CLOCK_MONOTONIC.
 */
#ifndef FSC_WATCH_LOOP_H
#define FSC_WATCH_LOOP_H

#include <stdbool.h>

#include "fsc_watch_cmd.h"
#include "fsc_watch_fscd.h"
#include "fsc_watch_journal.h"
#include "fsc_watch_opts.h"
#include "fsc_watch_pending.h"

#define FSC_WATCH_DEBOUNCE_SPAN	  20   /* debounce periods after the first change, at most */
#define FSC_WATCH_WRITING_HOLD_MS 2000 /* past that, for a file still being written */

struct fsc_watch_loop {
	const struct fsc_watch_opts *o;
	struct fsc_watch_pending *pending;
	struct fsc_watch_journal *journal;
	struct fsc_private_fscd *fscd;
	struct fsc_watch_cmd cmd;
	int sigfd; /* signalfd of the blocked SIGCHLD, SIGINT, SIGTERM, SIGHUP */
	bool quitting;
	int exit_status;
	unsigned runs;	    /* runs started */
	unsigned quit_sigs; /* SIGINT/SIGTERM/SIGHUP received */
};

/* Runs until a signal stops fsc-watch, --once is done, or an error. Returns the exit status.
 * The cursor is taken and the journal thread runs before this is called. */
int fsc_watch_loop_run(struct fsc_watch_loop *l);

#endif
