/* fsc-watch's journal reader: a thread that follows fscd's change journal, keeps the changes
 * the filter passes in the pending set, prints them (without COMMAND, or with --json), and
 * wakes the main loop through an eventfd.
 *
 * Why a thread: the main loop must wait for signals (SIGCHLD, Ctrl-C) and for the journal at
 * once, with a debounce deadline. fsc_journal_wait blocks on a futex that a signal does not
 * end (it only cuts a slice short), so waiting on it in slices from the main loop would
 * either add up to a slice of latency to every Ctrl-C and child exit or wake often while
 * idle. The thread blocks on the futex alone; the main loop blocks in poll() on a signalfd
 * and the eventfd. Idle, both sleep: fsc_journal_wait wakes twice a second to check that
 * fscd is alive, nothing else.
 *
 * A lost cursor (ring overrun, fscd restarted, died or silent) is "anything may have
 * changed": the thread takes a new cursor first, then marks the pending set incomplete, so
 * the run that follows sees every change made before the new cursor, and the cursor every
 * one after. If no new cursor can be had (fscd gone), it retries every 100 ms, and marks the
 * set once it has one: changes made while fscd was away are never missed.
 */
#ifndef FSC_WATCH_JOURNAL_H
#define FSC_WATCH_JOURNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fsc.h"
#include "fsc_watch_opts.h"
#include "fsc_watch_pending.h"

struct fsc_watch_journal {
	fsc_t *c;
	const char *name; /* the table, for messages */
	const struct fsc_watch_opts *o;
	struct fsc_watch_pending *pending;
	int notify_fd;		   /* eventfd the main loop polls */
	bool print;		   /* print each change to stdout */
	pthread_mutex_t out_lock;  /* stdout; the main loop holds it from its exit on */
	atomic_bool output_failed; /* stdout could not be written (a closed pipe) */
	atomic_bool closing;	   /* fsc-watch is ending: fscd going away is no news */
	fsc_cursor_t cursor;	   /* the thread's once started */
	pthread_t thread;
};

/* Takes the cursor (in the caller: changes made after this returns are reported) and starts
 * the thread. 0, or an errno after saying why on stderr (ENOENT: fscd keeps no journal). */
int fsc_watch_journal_start(struct fsc_watch_journal *j);

#endif
