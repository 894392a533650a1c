/* fscd: the writer daemon. Owns inotify, re-stats a path only when the kernel says it
 * changed, and publishes the records into the shared-memory table readers map. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fsc_writer.h"
#include "fscd_log.h"
#include "fscd_tree.h"

#define FSCD_DEFAULT_CAPACITY 16384
#define FSCD_TICKS_PER_UPKEEP 10 /* heartbeat ticks (100 ms) between upkeep passes */

struct fscd_config {
	const char *name;
	const char **watch;
	size_t nwatch;
	uint64_t capacity;
	uint32_t slot_size;
	mode_t mode;
	gid_t group;
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: fscd --watch PATH [--watch PATH ...] [options]\n"
	    "\n"
	    "Watch PATHs with inotify and publish their files' stat records in a shared-memory\n"
	    "table that programs read through libfsc (fsc_stat, fsc_lookup) with no syscall.\n"
	    "A directory is cached with everything below it; a file through its directory.\n"
	    "Runs in the foreground and logs to stderr; SIGTERM or SIGINT stops it cleanly.\n"
	    "\n"
	    "options:\n"
	    "  -w, --watch PATH      directory or file to cache (repeatable; at least one)\n"
	    "  -n, --name NAME       table name, /dev/shm/fsc.NAME (default: default)\n"
	    "  -c, --capacity N      most entries kept; CLOCK evicts beyond it (default %d)\n"
	    "      --slot-size BYTES bytes per entry, 256..4352, multiple of 64; longest\n"
	    "                        cacheable path is BYTES-136 (default %u)\n"
	    "  -m, --mode OCTAL      table permissions (default 0640; never world-writable)\n"
	    "  -g, --group GROUP     group owning the table (readers in it may map it)\n"
	    "  -l, --log-level L     error, warn, info or debug (default info)\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         version\n"
	    "\n"
	    "A second fscd started with the same --name takes the table over; the first exits.\n"
	    "Inspect a live table with: fsc-shmdump --name NAME [--entries] [--json]\n",
	    FSCD_DEFAULT_CAPACITY, FSC_SLOT_SIZE_DEFAULT);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_option(struct fscd_config *cfg, int opt, const char *arg)
{
	uint64_t v;
	switch (opt) {
	case 'w': {
		const char **n = realloc(cfg->watch, (cfg->nwatch + 1) * sizeof(*n));
		if (!n)
			return -1;
		cfg->watch = n;
		cfg->watch[cfg->nwatch++] = arg;
		return 0;
	}
	case 'n':
		cfg->name = arg;
		return fsc_shm_name_valid(arg) ? 0
					       : (fprintf(stderr,
							  "fscd: invalid --name '%s': use 1-64 of "
							  "[A-Za-z0-9._-], not starting with '.'\n",
							  arg),
						  -1);
	case 'c':
		if (parse_u64(arg, &cfg->capacity) == 0 && cfg->capacity > 0)
			return 0;
		fprintf(stderr, "fscd: invalid --capacity '%s': a positive number of entries\n",
			arg);
		return -1;
	case 'S':
		if (parse_u64(arg, &v) == 0 && v <= UINT32_MAX) {
			cfg->slot_size = (uint32_t)v;
			return 0;
		}
		fprintf(stderr, "fscd: invalid --slot-size '%s'\n", arg);
		return -1;
	case 'm': {
		char *end;
		long m = strtol(arg, &end, 8);
		if (*arg && !*end && m > 0 && m <= 0777) {
			cfg->mode = (mode_t)m;
			return 0;
		}
		fprintf(stderr, "fscd: invalid --mode '%s': an octal mode such as 0640\n", arg);
		return -1;
	}
	case 'g': {
		struct group *g = getgrnam(arg);
		if (g) {
			cfg->group = g->gr_gid;
			return 0;
		}
		fprintf(stderr, "fscd: unknown --group '%s'\n", arg);
		return -1;
	}
	case 'l': {
		int lvl = fscd_log_parse_level(arg);
		if (lvl >= 0) {
			fscd_log_set_level((enum fscd_log_level)lvl);
			return 0;
		}
		fprintf(stderr, "fscd: invalid --log-level '%s': error, warn, info or debug\n",
			arg);
		return -1;
	}
	default:
		return -1;
	}
}

/* Returns 0 to run, 1 to exit 0 (help/version), -1 for a usage error (exit 2). */
static int parse_args(int argc, char **argv, struct fscd_config *cfg)
{
	static const struct option opts[] = {
	    {"watch", required_argument, NULL, 'w'},
	    {"name", required_argument, NULL, 'n'},
	    {"capacity", required_argument, NULL, 'c'},
	    {"slot-size", required_argument, NULL, 'S'},
	    {"mode", required_argument, NULL, 'm'},
	    {"group", required_argument, NULL, 'g'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "w:n:c:m:g:l:hV", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == 'V') {
			printf("fscd %s (table ABI %u)\n", FSC_VERSION, FSC_SHM_ABI_VERSION);
			return 1;
		}
		if (opt == '?' || parse_option(cfg, opt, optarg) < 0)
			goto usage_error;
	}
	if (optind < argc) {
		fprintf(stderr, "fscd: unexpected argument '%s' (did you mean --watch %s?)\n",
			argv[optind], argv[optind]);
		goto usage_error;
	}
	if (cfg->nwatch == 0) {
		fprintf(stderr, "fscd: nothing to watch: give at least one --watch PATH\n");
		goto usage_error;
	}
	return 0;
usage_error:
	fprintf(stderr, "Try 'fscd --help'.\n");
	return -1;
}

struct fscd_loop {
	int epfd, sigfd, timerfd;
};

static int loop_add(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int loop_open(struct fscd_loop *l, int inotify_fd)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	l->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	struct itimerspec its = {.it_interval = {0, FSC_HEARTBEAT_INTERVAL_NS},
				 .it_value = {0, FSC_HEARTBEAT_INTERVAL_NS}};
	if (l->sigfd < 0 || l->timerfd < 0 || l->epfd < 0 ||
	    timerfd_settime(l->timerfd, 0, &its, NULL) < 0 || loop_add(l->epfd, l->sigfd) < 0 ||
	    loop_add(l->epfd, l->timerfd) < 0 || loop_add(l->epfd, inotify_fd) < 0) {
		fscd_log(FSCD_LOG_ERROR, "cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	return 0;
}

enum loop_exit {
	LOOP_STOP,
	LOOP_SUPERSEDED
};

/* Returns true to keep running. */
static bool on_timer(struct fscd_loop *l, struct fsc_writer *w, struct fscd_tree *tree,
		     unsigned *ticks, enum loop_exit *why)
{
	uint64_t expirations;
	if (read(l->timerfd, &expirations, sizeof(expirations)) < 0)
		return true;
	fsc_writer_heartbeat(w);
	if (++*ticks % FSCD_TICKS_PER_UPKEEP)
		return true;
	if (!fsc_writer_owns_name(w)) {
		*why = LOOP_SUPERSEDED;
		return false;
	}
	fscd_tree_tick(tree);
	return true;
}

static enum loop_exit run_loop(struct fscd_loop *l, struct fsc_writer *w, struct fscd_tree *tree)
{
	unsigned ticks = 0;
	enum loop_exit why = LOOP_STOP;
	for (;;) {
		struct epoll_event evs[4];
		int n = epoll_wait(l->epfd, evs, 4, -1);
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == fscd_tree_fd(tree)) {
				fscd_tree_process_events(tree);
			} else if (fd == l->timerfd) {
				if (!on_timer(l, w, tree, &ticks, &why))
					return why;
			} else if (fd == l->sigfd) {
				struct signalfd_siginfo si;
				if (read(l->sigfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					fscd_log(FSCD_LOG_INFO,
						 "SIGHUP: configuration reload is not "
						 "supported yet; restart fscd to change it");
					continue;
				}
				fscd_log(FSCD_LOG_INFO, "signal %u: stopping", si.ssi_signo);
				return LOOP_STOP;
			}
		}
	}
}

static int open_writer(const struct fscd_config *cfg, struct fsc_writer **w)
{
	struct fsc_writer_opts o = {
	    .name = cfg->name,
	    .capacity = cfg->capacity,
	    .slot_size = cfg->slot_size,
	    .mode = cfg->mode,
	    .group = cfg->group,
	};
	const char *why = "";
	int rc = fsc_writer_open(w, &o, &why);
	if (rc)
		fscd_log(FSCD_LOG_ERROR, "cannot publish table '%s': %s (%s)", cfg->name, why,
			 strerror(-rc));
	return rc;
}

/* Serves until stopped; returns the exit code. */
static int serve(const struct fscd_config *cfg)
{
	struct fsc_writer *w = NULL;
	struct fscd_tree *tree = NULL;
	struct fscd_loop loop;
	/* Check every root before publishing: a mistyped path must not take the table over
	 * from a healthy fscd and then leave nobody serving it. */
	uint32_t slot_size = cfg->slot_size ? cfg->slot_size : FSC_SLOT_SIZE_DEFAULT;
	uint32_t path_max = slot_size > FSC_SLOT_FIXED_BYTES ? fsc_slot_path_max(slot_size) : 0;
	if (fscd_tree_create(&tree, path_max) < 0)
		return 1;
	for (size_t i = 0; i < cfg->nwatch; i++) {
		if (fscd_tree_add_root(tree, cfg->watch[i]) < 0) {
			fscd_tree_destroy(tree);
			return 1;
		}
	}
	if (loop_open(&loop, fscd_tree_fd(tree)) < 0 || open_writer(cfg, &w)) {
		fscd_tree_destroy(tree);
		return 1;
	}
	fscd_tree_set_writer(tree, w);
	fscd_tree_scan_all(tree);
	const struct fsc_shm_header *h = fsc_writer_header(w);
	fscd_log(FSCD_LOG_INFO,
		 "serving table '%s' (generation %" PRIx64 "): %" PRIu64 " entries, %" PRIu64
		 " directories watched, capacity %" PRIu64,
		 cfg->name, h->generation, h->counters[FSC_CTR_ENTRIES],
		 h->counters[FSC_CTR_WATCHES], h->capacity);
	enum loop_exit why = run_loop(&loop, w, tree);
	fscd_tree_destroy(tree);
	if (why == LOOP_SUPERSEDED) {
		fscd_log(FSCD_LOG_INFO, "another fscd took over table '%s': exiting", cfg->name);
		fsc_writer_abandon(w);
	} else {
		fsc_writer_close(w);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fscd_config cfg = {
	    .name = "default", .capacity = FSCD_DEFAULT_CAPACITY, .group = (gid_t)-1};
	int pr = parse_args(argc, argv, &cfg);
	int rc = pr > 0 ? 0 : pr < 0 ? 2 : serve(&cfg);
	free(cfg.watch);
	return rc;
}
