/* Shared helpers of the whole-process fscd benchmarks (fscd_latency, fscd_crawl, fscd_cpu,
 * scenario_monitors, inotify_direct, watchman_h2h): their common options (read by the table
 * parser of fscd_bench_opts.h), the frame of their report (fscd_bench_report.c), fscd run
 * through the process harness (tests/harness/fsc_harness.h), a process's CPU time, trees of
 * files, appends at a paced rate, and percentiles. Each driver prints one JSON object on
 * stdout and a human summary on stderr; fscd_bench_json_* write to stdout.
 */
#ifndef FSCD_BENCH_UTIL_H
#define FSCD_BENCH_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "fsc.h"
#include "fscd_bench_opts.h"
#include "fsc_harness.h"
#include "fsc_shm_format.h"

#define FSCD_BENCH_NS_PER_MS FSC_HARNESS_NS_PER_MS
#define FSCD_BENCH_NS_PER_S  FSC_HARNESS_NS_PER_S

/* Prints "fscd_<tool>: <message>" on stderr and exits with status 1. */
void fscd_bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define FSCD_BENCH_K_MAX 8 /* values of --monitors */

/* Options every driver takes: --fscd PATH, --dir PARENT, --name TABLE. And those that several
 * share, offered by the drivers that set a default for them before parsing (0: not offered):
 * --dirs D --files F (the shape of the tree, fscd_bench_make_tree), --rounds N,
 * --monitors 1,4,16 (K, how many monitor processes) and --capacity N (fscd's table). */
struct fscd_bench_common {
	const char *fscd; /* the fscd binary (default: the one this build made) */
	const char *dir;  /* parent of the temporary trees (default /tmp) */
	const char *name; /* table name (default fscb-<tool>-<pid>) */
	char name_buf[FSC_ADDR_MAX + 1];
	int dirs, files, rounds;
	int monitors[FSCD_BENCH_K_MAX], nmonitors; /* nmonitors -1: a malformed list */
	uint64_t capacity;
};
/* Parses argv by the driver's opts (ended by an entry with name NULL) and the common options
 * into c: its fscd, dir and name are set here first (tool names the table and the messages),
 * the defaults of the shared options are the driver's, set before. prog names the driver in
 * the usage text. A bad option or argument is fscd_bench_usage(); checking the values is the
 * driver's. */
void fscd_bench_parse(struct fscd_bench_common *c, const char *prog, const char *tool,
		      const struct fscd_bench_opt *opts, int argc, char **argv);
/* The report every driver writes: one JSON object on stdout, opened here with its name and
 * what it measures (then the driver's fields), and a human summary on stderr. */
void fscd_bench_json_begin(const char *benchmark, const char *what);
/* Writes "key":[item(ctx, 0),...,item(ctx, n - 1)], the items separated by commas. */
void fscd_bench_json_array(const char *key, int n, void (*item)(const void *ctx, int i),
			   const void *ctx);

/* fscd as the drivers run it (tests/harness does the work): `fscd --name NAME --watch ROOT
 * --capacity CAP --log-level warn`, its stdout and stderr appended to log (NULL: /dev/null),
 * SIGTERM to it if this process dies. Returns 0 or -1. */
int fscd_bench_daemon_start(struct fsc_harness_fscd *d, const char *fscd, const char *name,
			    const char *root, uint64_t capacity, const char *log);
/* Polls fsc_open(name) every 200 us until it gives a live table; NULL on timeout or if the
 * daemon exited. */
fsc_t *fscd_bench_wait_live(const struct fsc_harness_fscd *d, uint64_t timeout_ns);
/* Both, with the driver's options: dies unless the table is published within timeout_ns. */
fsc_t *fscd_bench_daemon_up(struct fsc_harness_fscd *d, const struct fscd_bench_common *c,
			    const char *root, uint64_t capacity, const char *log,
			    uint64_t timeout_ns);
/* SIGTERM, reap (SIGKILL after 10 s); removes a table left behind. Returns the wait status. */
int fscd_bench_daemon_stop(struct fsc_harness_fscd *d);
/* Stops fscd; its log is removed if it exited with status 0, else named (and, if fatal, the
 * driver dies). Returns the wait status. */
int fscd_bench_daemon_down(struct fsc_harness_fscd *d, bool fatal);
/* Polls the entries counter of the table every 200 us until it reaches expected. 0, or -1 on
 * timeout or when no table is published. */
int fscd_bench_wait_entries(const char *name, uint64_t expected, uint64_t timeout_ns);

/* CPU time of a process: utime+stime from /proc/PID/stat (clock ticks, shown in ns) and the
 * scheduler's run time summed over its threads' schedstat (ns, finer grained). */
struct fscd_bench_cpu {
	uint64_t stat_ns;
	uint64_t sched_ns; /* 0 if schedstat is not available */
};
int fscd_bench_cpu_read(pid_t pid, struct fscd_bench_cpu *out);
/* fscd's header counters and CPU time now; dies if fscd or its table is gone. */
void fscd_bench_snapshot(const struct fsc_harness_fscd *d, uint64_t ctr[FSC_CTR_COUNT],
			 struct fscd_bench_cpu *cpu);

/* Percentiles (nearest rank) of n samples in ns; sorts v. */
struct fscd_bench_pct {
	size_t n;
	uint64_t min, p50, p90, p99, max;
	double mean;
};
void fscd_bench_percentiles(uint64_t *v, size_t n, struct fscd_bench_pct *out);
/* Writes "key":{"n":..,"min_UNIT":..,"p50_UNIT":..,...}, the values divided by 1000 (samples
 * in ns shown in us, or in ps shown in ns). */
void fscd_bench_json_pct(FILE *f, const char *key, const struct fscd_bench_pct *p,
			 const char *unit);
#define fscd_bench_json_pct_us(f, key, p) fscd_bench_json_pct(f, key, p, "us")

/* Trees: ROOT/d-DDD/f-NNNN, dirs x files empty regular files. */
char *fscd_bench_mkdtemp(const char *parent, const char *tag); /* malloc'd path, or exits */
void fscd_bench_file_path(char *buf, size_t size, const char *root, int dir, int file);
/* The dirs x files paths of the tree, dir-major (the order of a scan): malloc'd, or exits. */
char **fscd_bench_tree_paths(const char *root, int dirs, int files);
int fscd_bench_make_tree(const char *root, int dirs, int files);
void fscd_bench_rmtree(const char *root);

/* Appends one byte at a time, round robin over the files of a tree, paced to rate per second
 * by a thread of its own. A backlog of more than 10 ms (the thread was not scheduled) is
 * dropped rather than written in one burst; writes counts what was really written. */
struct fscd_bench_storm {
	int *fds;
	int nfds;
	double rate;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	_Atomic uint64_t writes;
	_Atomic uint64_t errors;
};
int fscd_bench_storm_start(struct fscd_bench_storm *s, const char *root, int dirs, int files,
			   double rate);
uint64_t fscd_bench_storm_writes(struct fscd_bench_storm *s);
void fscd_bench_storm_stop(struct fscd_bench_storm *s);

/* One line of machine description for the JSON: nproc, load average, kernel. */
void fscd_bench_json_machine(FILE *f);

#endif
