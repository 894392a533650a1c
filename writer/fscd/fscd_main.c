/* fscd: the writer daemon. Owns inotify, re-stats a path only when the kernel says it
 * changed, and publishes the records into the shared-memory table readers map. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fsc_writer.h"
#include "fscd_config.h"
#include "fscd_filter.h"
#include "fscd_log.h"
#include "fscd_reload.h"
#include "fscd_requests.h"
#include "fscd_reserve.h"
#include "fscd_tree.h"

#define FSCD_TICKS_PER_UPKEEP 10   /* heartbeat ticks (100 ms) between upkeep passes */
#define FSCD_SETTLE_MS	      5000 /* longest wait for polled directories before publishing */

struct fscd_loop {
	int epfd, sigfd, timerfd;
};

/* Everything one serving fscd holds, for the event loop and a reload. */
struct fscd_daemon {
	const struct fscd_config *cfg;
	int argc;
	char **argv; /* as given: a reload re-reads them, and re-executes with them */
	struct fscd_filter filter;
	struct fsc_writer *w;
	struct fscd_tree *tree;
	struct fscd_requests *requests;
	struct fscd_loop loop;
	uint64_t compaction_failures_seen; /* FSC_CTR_REBUILD_FAILURES at the last report */
};

/* A compaction that could not be published (object directory full) changes no answer, but misses
 * get slower until it can: say so once per new failure streak, with the reason. */
static void fscd_report_compaction_failures(struct fscd_daemon *d)
{
	uint64_t n = fsc_writer_header(d->w)->counters[FSC_CTR_REBUILD_FAILURES];
	if (n == d->compaction_failures_seen)
		return;
	if (d->compaction_failures_seen == 0 || n - d->compaction_failures_seen > 1)
		fscd_log(FSCD_LOG_WARN,
			 "cannot publish a compacted table: %s; answers stay correct but lookups "
			 "of absent paths get slower until it can (retrying every second)",
			 fsc_writer_last_error(d->w) ? fsc_writer_last_error(d->w) : "unknown");
	d->compaction_failures_seen = n;
}

static int fscd_loop_add(int epfd, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The signals the loop reads from its signalfd. Blocked from the start of main: one that
 * comes while fscd starts waits for the loop instead of killing fscd half-way (SIGHUP's
 * default action is to terminate; systemd may send it as soon as fscd is started). */
static void fscd_signals_block(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	sigprocmask(SIG_BLOCK, mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int fscd_loop_open(struct fscd_loop *l, int inotify_fd)
{
	sigset_t mask;
	fscd_signals_block(&mask);
	l->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct itimerspec its = {.it_interval = {0, FSC_HEARTBEAT_INTERVAL_NS},
				 .it_value = {0, FSC_HEARTBEAT_INTERVAL_NS}};
	if (l->sigfd < 0 || l->timerfd < 0 || l->epfd < 0 ||
	    timerfd_settime(l->timerfd, 0, &its, NULL) < 0 ||
	    fscd_loop_add(l->epfd, l->sigfd, EPOLLIN) < 0 ||
	    fscd_loop_add(l->epfd, l->timerfd, EPOLLIN) < 0 ||
	    fscd_loop_add(l->epfd, inotify_fd, EPOLLIN | EPOLLONESHOT) < 0) {
		fscd_log(FSCD_LOG_ERROR, "cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	return 0;
}

enum fscd_loop_exit {
	FSCD_LOOP_STOP,
	FSCD_LOOP_SUPERSEDED,
	FSCD_LOOP_FAILED, /* the table is closed already */
};

/* Returns true to keep running. */
static bool fscd_loop_on_timer(struct fscd_daemon *d, unsigned *ticks, enum fscd_loop_exit *why)
{
	uint64_t expirations;
	if (read(d->loop.timerfd, &expirations, sizeof(expirations)) < 0)
		return true;
	fsc_writer_heartbeat(d->w);
	fscd_tree_poll_tick(d->tree);
	if (++*ticks % FSCD_TICKS_PER_UPKEEP)
		return true;
	if (!fsc_writer_owns_name(d->w)) {
		*why = FSCD_LOOP_SUPERSEDED;
		return false;
	}
	fscd_tree_tick(d->tree);
	fscd_requests_bind(d->requests);
	fscd_report_compaction_failures(d);
	return true;
}

/* Returns true to keep running. */
static bool fscd_loop_on_signal(struct fscd_daemon *d, enum fscd_loop_exit *why)
{
	struct signalfd_siginfo si;
	if (read(d->loop.sigfd, &si, sizeof(si)) != sizeof(si))
		return true;
	if (si.ssi_signo == SIGHUP) {
		bool renamed;
		int reserved;
		if (!fscd_reload_check(d->cfg, d->argc, d->argv, d->w, &renamed, &reserved) ||
		    fscd_reload_exec(d->cfg, d->argv, &d->w, renamed, reserved))
			return true;
		*why = FSCD_LOOP_FAILED; /* the exec failed after the table was closed */
		return false;
	}
	fscd_log(FSCD_LOG_INFO, "signal %u: stopping", si.ssi_signo);
	*why = FSCD_LOOP_STOP;
	return false;
}

/* Least time between two passes over inotify events. Between passes the kernel queue keeps
 * filling and merges identical unread events, and a path changed many times in between is
 * re-stat'ed once. The inotify fd is EPOLLONESHOT and re-armed when the interval has passed.
 *
 * The interval adapts to the load. The first change after a quiet spell wakes fscd at once
 * (visible in microseconds), and a pass that found at most one event keeps the interval at
 * 2 ms. A pass that found more doubles it, up to --batch-ms (50 ms by default): under a
 * sustained stream each pass then pays its fixed part (wake-up, reads, epoll re-arm, journal
 * wake-up: about 40 us on this VM) 20 times a second instead of 500, and a file appended to
 * 100 times a second is re-stat'ed 20 times a second, not 100. Changes in such a stream then
 * wait up to 50 ms: the price of fscd costing about half as much CPU as at 20 ms in the
 * headline scenario (bench/RESULTS.md). A pass that read more than a quarter of the kernel's
 * default queue (16,384 events) halves the interval again, so a storm cannot overflow the
 * queue because fscd waited. */
#define FSCD_PASS_INTERVAL_MS  2
#define FSCD_PASS_QUIET_EVENTS 1
#define FSCD_PASS_STORM_EVENTS 4096

/* max_ms: --batch-ms (FSCD_DEFAULT_BATCH_MS) */
static unsigned fscd_pass_interval_next(unsigned ms, size_t events, unsigned max_ms)
{
	if (events <= FSCD_PASS_QUIET_EVENTS)
		return FSCD_PASS_INTERVAL_MS;
	if (events > FSCD_PASS_STORM_EVENTS)
		return ms / 2 > FSCD_PASS_INTERVAL_MS ? ms / 2 : FSCD_PASS_INTERVAL_MS;
	return ms * 2 < max_ms ? ms * 2 : max_ms;
}

/* Milliseconds epoll may wait: forever while inotify is armed, else until it may be. */
static int fscd_loop_timeout(bool armed, uint64_t rearm_at_ns)
{
	if (armed)
		return -1;
	uint64_t now = fsc_writer_now_ns();
	return now >= rearm_at_ns ? 0 : (int)((rearm_at_ns - now + 999999) / 1000000);
}

static enum fscd_loop_exit fscd_loop_run(struct fscd_daemon *d)
{
	unsigned ticks = 0;
	enum fscd_loop_exit why = FSCD_LOOP_STOP;
	bool armed = true;
	uint64_t rearm_at_ns = 0;
	unsigned pass_ms = FSCD_PASS_INTERVAL_MS;
	int ifd = fscd_tree_fd(d->tree);
	int pfd = fscd_tree_poll_fd(d->tree);
	int rfd = fscd_requests_fd(d->requests);
	for (;;) {
		struct epoll_event evs[4];
		int n = epoll_wait(d->loop.epfd, evs, 4, fscd_loop_timeout(armed, rearm_at_ns));
		if (n < 0 && errno == EINTR)
			continue;
		if (!armed && fsc_writer_now_ns() >= rearm_at_ns) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = ifd};
			armed = epoll_ctl(d->loop.epfd, EPOLL_CTL_MOD, ifd, &ev) == 0;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ifd) {
				size_t events = fscd_tree_process_events(d->tree);
				pass_ms =
				    fscd_pass_interval_next(pass_ms, events, d->cfg->batch_ms);
				armed = false; /* one-shot: fired and disarmed */
				rearm_at_ns = fsc_writer_now_ns() + pass_ms * 1000000ull;
			} else if (fd == pfd) {
				fscd_tree_poll_results(d->tree);
			} else if (fd == rfd) {
				fscd_requests_serve(d->requests, d->tree);
			} else if (fd == d->loop.timerfd) {
				if (!fscd_loop_on_timer(d, &ticks, &why))
					return why;
			} else if (fd == d->loop.sigfd) {
				if (!fscd_loop_on_signal(d, &why))
					return why;
			}
		}
		/* once per wake-up, not per change: journal waiters cost one syscall a batch */
		fsc_writer_journal_wake(d->w);
	}
}

/* What the table serves, for readers' fsc_covers and fsc-shmdump: the roots as the tree
 * resolved them, and the filters. The arrays are malloc'd; free spec->roots and
 * spec->root_is_file. false if out of memory. */
static bool fscd_served_spec(const struct fscd_config *cfg, const struct fscd_tree *tree,
			     struct fsc_served_spec *spec)
{
	size_t n = fscd_tree_root_count(tree);
	const char **roots = calloc(n + 1, sizeof(*roots));
	bool *is_file = calloc(n + 1, sizeof(*is_file));
	if (!roots || !is_file) {
		free(roots);
		free(is_file);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		roots[i] = fscd_tree_root_path(tree, i, &is_file[i]);
	*spec = (struct fsc_served_spec){.roots = roots,
					 .root_is_file = is_file,
					 .nroots = n,
					 .exclude = (const char *const *)cfg->exclude.v,
					 .nexclude = cfg->exclude.n,
					 .include = (const char *const *)cfg->include.v,
					 .ninclude = cfg->include.n,
					 .max_depth = cfg->max_depth};
	return true;
}

static int fscd_table_open(const struct fscd_config *cfg, uint64_t request_nonce,
			   const struct fscd_tree *tree, struct fsc_writer **w)
{
	struct fsc_served_spec spec;
	bool served = fscd_served_spec(cfg, tree, &spec);
	struct fsc_writer_opts o = {
	    .served = served ? &spec : NULL, /* none: readers' fsc_covers says 0 */
	    .name = cfg->name,
	    .capacity = cfg->capacity,
	    .slot_size = cfg->slot_size,
	    .mode = cfg->mode,
	    .group = cfg->group,
	    .defer_publish = true, /* published once the first scan has filled it */
	    .journal_bytes = (uint64_t)cfg->journal_kib * 1024,
	    .request_nonce = request_nonce, /* readers find the request socket by it */
	};
	const char *why = "";
	fscd_reserve_release(); /* the room the image before a reload kept for this table */
	uint64_t n, bytes;
	if (fsc_writer_remove_leftovers(cfg->name, &n, &bytes) == 0 && n)
		fscd_log(FSCD_LOG_INFO,
			 "removed %" PRIu64 " objects (%" PRIu64 " KiB) that dead fscd processes "
			 "left of table '%s'",
			 n, bytes / 1024, cfg->name);
	int rc = fsc_writer_open(w, &o, &why);
	if (served) {
		free((void *)spec.roots);
		free((void *)spec.root_is_file);
	}
	if (rc)
		fscd_log(FSCD_LOG_ERROR, "cannot publish table '%s': %s (%s)", cfg->name, why,
			 strerror(-rc));
	else if (fsc_writer_journal_error(*w))
		fscd_log(FSCD_LOG_WARN,
			 "no change journal for table '%s': %s (%s); serving without one: "
			 "readers that follow changes look at every file instead (free space, or "
			 "lower --journal-kib)",
			 cfg->name, fsc_writer_journal_error(*w), strerror(errno));
	return rc;
}

static void fscd_loop_close(struct fscd_loop *l)
{
	/* a failed start may leave some of them -1 */
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->timerfd >= 0)
		close(l->timerfd);
}

/* SIGTERM and SIGINT stay blocked while fscd starts (the loop reads them from its signalfd),
 * so start-up asks whether one is pending: between its stages, every 64 paths the scan
 * considers (through the filter) and every 100 ms while polled directories settle. While it
 * checks the roots, before any thread exists, they are caught instead: a stat hung on a
 * dead mount (FUSE, an NFS mount with intr) then fails with EINTR rather than wait for ever.
 * The signal taken, if any. */
static volatile sig_atomic_t fscd_startup_signal;

static void fscd_startup_on_signal(int sig)
{
	fscd_startup_signal = sig;
}

/* catch: true to catch SIGTERM and SIGINT in this thread (no SA_RESTART), false to block
 * them again for the signalfd. */
static void fscd_startup_catch(bool catch)
{
	struct sigaction sa = {.sa_handler = catch ? fscd_startup_on_signal : SIG_DFL};
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (!catch)
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (catch)
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static int fscd_stop_pending(void)
{
	sigset_t pending;
	if (fscd_startup_signal)
		return fscd_startup_signal;
	if (sigpending(&pending) < 0)
		return 0;
	return sigismember(&pending, SIGTERM) == 1  ? SIGTERM
	       : sigismember(&pending, SIGINT) == 1 ? SIGINT
						    : 0;
}

static bool fscd_startup_stopping(void)
{
	static unsigned calls;
	static bool stopping;
	if (!stopping && calls++ % 64 == 0)
		stopping = fscd_stop_pending() != 0;
	return stopping;
}

/* Waits up to FSCD_SETTLE_MS for the first listing of every polled directory, in slices
 * short enough to honour a stop. Returns false if stopped. */
static bool fscd_startup_settle(struct fscd_tree *tree)
{
	const uint64_t slice_ns = 100 * 1000000ull;
	uint64_t end = fsc_writer_now_ns() + FSCD_SETTLE_MS * 1000000ull;
	for (;;) {
		if (fscd_stop_pending())
			return false;
		uint64_t now = fsc_writer_now_ns();
		if (now >= end)
			return true;
		uint64_t ns = end - now < slice_ns ? end - now : slice_ns;
		fscd_tree_poll_settle(tree, (unsigned)((ns + 999999) / 1000000));
		if (fsc_writer_now_ns() < now + ns)
			return true; /* settled before its slice ran out */
	}
}

enum fscd_start {
	FSCD_START_SERVING,
	FSCD_START_FAILED,  /* logged why */
	FSCD_START_STOPPED, /* SIGTERM or SIGINT came first */
};

/* Everything before the loop: roots checked, event sources, a private table filled by the
 * first scan, then published. What it made is for the caller to release, whatever the
 * outcome. */
static enum fscd_start fscd_daemon_start(struct fscd_daemon *d)
{
	const struct fscd_config *cfg = d->cfg;
	/* Check every root before publishing: a mistyped path must not take the table over
	 * from a healthy fscd and then leave nobody serving it. */
	uint32_t slot_size = cfg->slot_size ? cfg->slot_size : FSC_SLOT_SIZE_DEFAULT;
	uint32_t path_max = slot_size > FSC_SLOT_FIXED_BYTES ? fsc_shm_slot_path_max(slot_size) : 0;
	if (fscd_tree_create(&d->tree, path_max) < 0)
		return FSCD_START_FAILED;
	fscd_tree_set_filter(d->tree, &d->filter);
	fscd_startup_catch(true);
	int rc = 0;
	for (size_t i = 0; i < cfg->watch.n && rc == 0 && !fscd_stop_pending(); i++)
		rc = fscd_tree_add_root(d->tree, cfg->watch.v[i]);
	fscd_startup_catch(false);
	if (rc < 0 && !fscd_stop_pending())
		return FSCD_START_FAILED;
	if (fscd_stop_pending())
		return FSCD_START_STOPPED;
	if (fscd_loop_open(&d->loop, fscd_tree_fd(d->tree)) < 0 ||
	    fscd_tree_poll_start(d->tree, cfg->stat_threads) < 0 ||
	    fscd_loop_add(d->loop.epfd, fscd_tree_poll_fd(d->tree), EPOLLIN) < 0 ||
	    fscd_requests_open(&d->requests, cfg->name, cfg->request_window_ms) < 0 ||
	    fscd_loop_add(d->loop.epfd, fscd_requests_fd(d->requests), EPOLLIN) < 0 ||
	    fscd_table_open(cfg, fscd_requests_nonce(d->requests), d->tree, &d->w))
		return fscd_stop_pending() ? FSCD_START_STOPPED : FSCD_START_FAILED;
	if (cfg->config_file)
		fscd_log(FSCD_LOG_INFO, "settings from %s, overridden by command-line flags",
			 cfg->config_file);
	fscd_tree_set_writer(d->tree, d->w);
	if (fscd_tree_set_audience(d->tree, cfg->mode, cfg->group) < 0)
		return FSCD_START_FAILED;
	/* Build, then publish: until the scan is done, readers keep the table of the fscd this
	 * one takes over from (or fall back to stat(2)), never a half-filled one. */
	fscd_tree_scan_all(d->tree);
	if (fscd_startup_stopping() || !fscd_startup_settle(d->tree))
		return FSCD_START_STOPPED;
	d->filter.stop = NULL; /* from now on the loop reads the signals */
	const char *why_not = "";
	rc = fsc_writer_publish(d->w, &why_not);
	if (rc) {
		fscd_log(FSCD_LOG_ERROR, "cannot publish table '%s': %s (%s)", cfg->name, why_not,
			 strerror(-rc));
		return FSCD_START_FAILED;
	}
	return FSCD_START_SERVING;
}

static void fscd_daemon_release(struct fscd_daemon *d)
{
	fscd_requests_close(d->requests);
	fscd_tree_destroy(d->tree);
	fscd_loop_close(&d->loop);
}

/* Serves until stopped; returns the exit code. */
static int fscd_daemon_serve(const struct fscd_config *cfg, int argc, char **argv)
{
	struct fscd_daemon d = {
	    .cfg = cfg,
	    .argc = argc,
	    .argv = argv,
	    .filter = {.exclude = (const char *const *)cfg->exclude.v,
		       .nexclude = cfg->exclude.n,
		       .include = (const char *const *)cfg->include.v,
		       .ninclude = cfg->include.n,
		       .max_depth = cfg->max_depth,
		       .poll_interval_ms = cfg->poll_interval_ms,
		       .poll = (const char *const *)cfg->poll.v,
		       .npoll = cfg->poll.n,
		       .stop = fscd_startup_stopping},
	    .loop = {-1, -1, -1},
	};
	enum fscd_start started = fscd_daemon_start(&d);
	if (started != FSCD_START_SERVING) {
		if (started == FSCD_START_STOPPED)
			fscd_log(FSCD_LOG_INFO,
				 "signal %d while starting: stopping before serving table '%s'",
				 fscd_stop_pending(), cfg->name);
		fscd_daemon_release(&d);
		fsc_writer_close(d.w); /* a table still private: removed */
		return started == FSCD_START_STOPPED ? 0 : 1;
	}
	fscd_reload_done();
	const struct fsc_shm_header *h = fsc_writer_header(d.w);
	fscd_log(FSCD_LOG_INFO,
		 "serving table '%s' (generation %" PRIx64 "): %" PRIu64 " entries, %" PRIu64
		 " directories watched, capacity %" PRIu64,
		 cfg->name, h->generation, h->counters[FSC_CTR_ENTRIES],
		 h->counters[FSC_CTR_WATCHES], h->capacity);
	enum fscd_loop_exit why = fscd_loop_run(&d);
	fscd_daemon_release(&d);
	if (why == FSCD_LOOP_FAILED)
		return 1;
	if (why == FSCD_LOOP_SUPERSEDED) {
		fscd_log(FSCD_LOG_INFO, "another fscd took over table '%s': exiting", cfg->name);
		fsc_writer_abandon(d.w);
	} else {
		fsc_writer_close(d.w);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fscd_config cfg;
	struct fscd_config_error err;
	int rc = 0;
	sigset_t mask;
	fscd_signals_block(&mask);
	fscd_reserve_adopt();
	fscd_reload_adopt();
	switch (fscd_config_load(&cfg, argc, argv, false, &err)) {
	case FSCD_CONFIG_RUN:
		fscd_log_set_level(cfg.log_level);
		rc = fscd_daemon_serve(&cfg, argc, argv);
		break;
	case FSCD_CONFIG_EXIT:
		break;
	case FSCD_CONFIG_ERROR:
		if (err.msg[0])
			fprintf(stderr, "fscd: %s\n", err.msg);
		if (err.usage_hint)
			fprintf(stderr, "Try 'fscd --help'.\n");
		rc = 2;
		break;
	}
	if (rc != 0)
		fscd_reload_fall_back(argv); /* a reload's new image: serve as before instead */
	fscd_config_free(&cfg);
	return rc;
}
