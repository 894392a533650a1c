/* fsc-watch: run a command when files change, from fscd's change journal.
 *
 *   fsc-watch [-w PATH]... [options] [--] [COMMAND [ARG...]]
 *
 * The parts, one file each: the command line (fsc_watch_opts.c), the ignore globs
 * (fsc_watch_ignore.c) and the filter applying them (fsc_watch_filter.c), the fscd to read
 * or the private one to start (fsc_watch_fscd.c, with fsc_private_fscd.c), the journal
 * thread (fsc_watch_journal.c), the changes waiting for a run (fsc_watch_pending.c), the
 * process-group runner (fsc_watch_cmd.c) and the main loop (fsc_watch_loop.c).
 * `fsc-watch --help` documents the behaviour and the exit statuses (fsc_watch_opts.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "fsc_watch_loop.h"

/* Everything fsc-watch holds, reachable until exit (the journal thread uses it to the end). */
static struct {
	struct fsc_watch_opts opts;
	struct fsc_private_fscd fscd;
	struct fsc_watch_pending pending;
	struct fsc_watch_journal journal;
	struct fsc_watch_loop loop;
} fsc_watch;

/* SIGCHLD, SIGINT, SIGTERM and SIGHUP blocked in every thread, read from a signalfd by the
 * loop; SIGPIPE ignored (a closed stdout is an error return). -1 on failure. */
static int fsc_watch_signals_setup(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* The end: stops the private fscd, with stdout closed to the journal thread first. */
static int fsc_watch_finish(int status)
{
	/* held until exit: the thread prints nothing more (a "lost" line as fscd stops) */
	pthread_mutex_lock(&fsc_watch.journal.out_lock);
	atomic_store(&fsc_watch.journal.closing, true);
	if (fsc_private_fscd_stop(&fsc_watch.fscd) != 0 && status == FSC_WATCH_EXIT_OK)
		status = FSC_WATCH_EXIT_FAIL;
	if (fflush(stdout) != 0 && errno != EPIPE && status == FSC_WATCH_EXIT_OK) {
		fprintf(stderr, "fsc-watch: cannot write to stdout: %s\n", strerror(errno));
		status = FSC_WATCH_EXIT_FAIL;
	}
	exit(status);
}

int main(int argc, char **argv)
{
	struct fsc_watch_opts *o = &fsc_watch.opts;
	int rc = fsc_watch_opts_parse(o, argc, argv);
	if (rc)
		return rc < 0 ? FSC_WATCH_EXIT_OK : rc;
	rc = fsc_watch_opts_resolve(o);
	if (rc)
		return rc;
	if (fsc_watch_pending_init(&fsc_watch.pending) != 0 ||
	    pthread_mutex_init(&fsc_watch.journal.out_lock, NULL) != 0) {
		fprintf(stderr, "fsc-watch: out of memory\n");
		return FSC_WATCH_EXIT_FAIL;
	}
	/* before any signal is blocked: a Ctrl-C while the private fscd scans ends fsc-watch,
	 * and the fscd with it (its PR_SET_PDEATHSIG) */
	rc = fsc_watch_fscd_attach(&fsc_watch.fscd, o);
	if (rc)
		return rc;
	/* members of COMMAND's group orphaned by its leader become fsc-watch's children, so
	 * that the last one's exit is seen (fsc_watch_cmd.h) */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int sigfd = fsc_watch_signals_setup();
	int notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sigfd < 0 || notify_fd < 0) {
		fprintf(stderr, "fsc-watch: cannot set up signals and wake-ups: %s\n",
			strerror(errno));
		return fsc_watch_finish(FSC_WATCH_EXIT_FAIL);
	}
	struct fsc_watch_journal *j = &fsc_watch.journal;
	j->c = fsc_watch.fscd.c;
	j->name = fsc_watch.fscd.name;
	j->o = o;
	j->pending = &fsc_watch.pending;
	j->notify_fd = notify_fd;
	j->print = !o->command || o->json;
	if (fsc_watch_journal_start(j) != 0)
		return fsc_watch_finish(FSC_WATCH_EXIT_FAIL);
	if (o->verbose)
		fprintf(stderr, "fsc-watch: watching %zu path%s from table %s\n", o->npaths,
			o->npaths == 1 ? "" : "s", fsc_watch.fscd.name);
	fsc_watch.loop = (struct fsc_watch_loop){
	    .o = o,
	    .pending = &fsc_watch.pending,
	    .journal = j,
	    .fscd = &fsc_watch.fscd,
	    .sigfd = sigfd,
	};
	return fsc_watch_finish(fsc_watch_loop_run(&fsc_watch.loop));
}
