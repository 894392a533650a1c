/* Shared helpers of the whole-process fscd benchmarks (fscd_latency, fscd_crawl, fscd_cpu):
 * run the real fscd binary, wait for its table, read the header counters, read a process's
 * CPU time, make and remove trees of files, append to files at a paced rate, and summarise
 * samples as percentiles. Each driver prints one JSON object on stdout and a human summary on
 * stderr; these helpers never print to stdout.
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
#include "fsc_shm_format.h"

#define FSCD_BENCH_NS_PER_MS 1000000ull
#define FSCD_BENCH_NS_PER_S  1000000000ull

uint64_t fscd_bench_now_ns(void); /* CLOCK_MONOTONIC */
void fscd_bench_sleep_ns(uint64_t ns);
/* Prints "fscd_<tool>: <message>" on stderr and exits with status 1. */
void fscd_bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Options every driver takes: --fscd PATH, --dir PARENT, --name TABLE. */
struct fscd_bench_common {
	const char *fscd; /* the fscd binary (default: the one this build made) */
	const char *dir;  /* parent of the temporary trees (default /tmp) */
	const char *name; /* table name (default fscb-<tool>-<pid>) */
	char name_buf[FSC_NAME_MAX + 1];
};
void fscd_bench_common_init(struct fscd_bench_common *c, const char *tool);
/* Takes getopt's opt 'f' (--fscd), 'd' (--dir) or 'n' (--name) into c; false for any other. */
bool fscd_bench_common_opt(struct fscd_bench_common *c, int opt, const char *arg);

/* A running fscd. */
struct fscd_bench_daemon {
	pid_t pid;
	char name[FSC_NAME_MAX + 1];
	char log[512]; /* its stderr */
};
/* Starts `fscd --name NAME --watch ROOT --capacity CAP --log-level warn` with its stderr in
 * log (NULL: /dev/null). fscd gets SIGTERM if this process dies. Returns 0 or -1. */
int fscd_bench_daemon_start(struct fscd_bench_daemon *d, const char *fscd, const char *name,
			    const char *root, uint64_t capacity, const char *log);
/* SIGTERM, reap (SIGKILL after 10 s); removes a table left behind. Returns the wait status. */
int fscd_bench_daemon_stop(struct fscd_bench_daemon *d);
/* Polls fsc_open(name) every 200 us until it gives a live table; NULL on timeout or if the
 * daemon exited. */
fsc_t *fscd_bench_wait_live(const struct fscd_bench_daemon *d, uint64_t timeout_ns);
/* Copies the header counters of the table published as name (enum fsc_counter order).
 * Returns 0, or -1 if no table is published. */
int fscd_bench_counters(const char *name, uint64_t out[FSC_CTR_COUNT]);

/* CPU time of a process: utime+stime from /proc/PID/stat (clock ticks, shown in ns) and the
 * scheduler's run time summed over its threads' schedstat (ns, finer grained). */
struct fscd_bench_cpu {
	uint64_t stat_ns;
	uint64_t sched_ns; /* 0 if schedstat is not available */
};
int fscd_bench_cpu_read(pid_t pid, struct fscd_bench_cpu *out);

/* Percentiles (nearest rank) of n samples in ns; sorts v. */
struct fscd_bench_pct {
	size_t n;
	uint64_t min, p50, p90, p99, max;
	double mean;
};
void fscd_bench_percentiles(uint64_t *v, size_t n, struct fscd_bench_pct *out);
/* Writes "key":{"n":..,"min_us":..,"p50_us":..,...} (values in microseconds). */
void fscd_bench_json_pct_us(FILE *f, const char *key, const struct fscd_bench_pct *p);

/* Trees: ROOT/d-DDD/f-NNNN, dirs x files empty regular files. */
char *fscd_bench_mkdtemp(const char *parent, const char *tag); /* malloc'd path, or exits */
void fscd_bench_file_path(char *buf, size_t size, const char *root, int dir, int file);
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

/* Polls the entries counter of the table published as name every 200 us until it reaches
 * expected. Returns 0, or -1 on timeout or when no table is published. */
int fscd_bench_wait_entries(const char *name, uint64_t expected, uint64_t timeout_ns);
/* Parses a comma-separated list of positive integers ("1,4,16") into out, at most max of
 * them. Returns how many, or -1 if s is malformed or longer. */
int fscd_bench_parse_int_list(const char *s, int *out, int max);

#endif
