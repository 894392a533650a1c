/* inotify_direct (inotify_direct.c: options, fscd, report, main) and its monitor processes
 * (inotify_direct_monitors.c): what a monitor with its own inotify pays to start.
 */
#ifndef INOTIFY_DIRECT_H
#define INOTIFY_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "fscd_bench_util.h"

#define IDIR_K_MAX	     FSCD_BENCH_K_MAX
#define IDIR_MONITORS_MAX    64
#define IDIR_ROUNDS_MAX	     15
#define IDIR_TIMEOUT_NS	     (120 * FSCD_BENCH_NS_PER_S)
#define IDIR_SETTLE_NS	     (300 * FSCD_BENCH_NS_PER_MS) /* freed marks leave the slab */
#define IDIR_MARK_CACHE	     "inotify_inode_mark"
#define IDIR_CONNECTOR_CACHE "fsnotify_mark_connector"

/* One monitor's setup, written by it into shared memory. */
struct idir_report {
	uint64_t walk_ns; /* inotify_init1, the walk and its inotify_add_watch calls */
	uint64_t stat_ns; /* a stat(2) of every file found */
	uint64_t cpu_ns;  /* CLOCK_PROCESS_CPUTIME_ID over both */
	uint64_t watches, watch_failures, files;
	int watch_errno; /* of the first failure */
};

/* The walk of one monitor: the files it found, and its watches. */
struct idir_walk {
	int fd; /* -1: no watches */
	bool file_watches;
	char **paths;
	size_t n, cap;
	struct idir_report *rep;
};

/* One round of one configuration; times are medians over its monitors. */
struct idir_round {
	uint64_t setup_ns, setup_max_ns, walk_ns, stat_ns, cpu_ns, cpu_sum_ns, all_ready_ns;
	uint64_t watches, watches_fdinfo, failures;
	uint64_t mark_bytes, connector_bytes; /* slab growth while the monitors held watches */
	int watch_errno;
};

uint64_t idir_cpu_now_ns(clockid_t clock);
/* The first number in the file at path, or -1. */
long long idir_read_number(const char *path);
/* First number of /sys/kernel/slab/CACHE/FIELD, or -1. */
long long idir_slab(const char *cache, const char *field);
/* In-use objects times object size of a slab cache, or -1. */
long long idir_slab_bytes(const char *cache);
/* after - before, 0 if either is unknown or the cache shrank. */
uint64_t idir_growth(long long before, long long after);
/* Watches held by pid: "inotify wd:" lines in the fdinfo of its inotify descriptors. */
uint64_t idir_count_watches(pid_t pid);
/* Adds the regular files under dir to w->paths, and watches as w asks. */
void idir_walk_dir(struct idir_walk *w, const char *dir);
uint64_t idir_median(const uint64_t *v, size_t n); /* n <= IDIR_MONITORS_MAX */
/* K monitors with their own inotify start at once on the tree at root; x gets their setup,
 * the watches they held and the kernel memory that appeared meanwhile. */
void idir_round(const char *root, bool file_watches, int k, struct idir_round *x);

#endif
