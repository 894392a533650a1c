/* watchman_h2h: what its two files share (the run, the options, the results). */
#ifndef WATCHMAN_H2H_H
#define WATCHMAN_H2H_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fscd_bench_util.h"
#include "watchman_client.h"

#define H2H_SAMPLE_CAP_NS  (30 * FSCD_BENCH_NS_PER_S) /* a change never seen: give up */
#define H2H_READY_CAP_NS   (120 * FSCD_BENCH_NS_PER_S)
#define H2H_TARGET	   "target.log"
#define H2H_FIELDS	   "\"fields\":[\"name\",\"size\",\"mtime_ms\"]"
#define H2H_WARMUP_QUERIES 50 /* per kind of watchman query, not kept */
#define H2H_REQUEST_MAX	   8192

enum h2h_query {
	H2H_PATH_NOSYNC,
	H2H_PATH_SYNC,
	H2H_SCAN_NOSYNC
};
enum h2h_local {
	H2H_FSC_LOOKUP,
	H2H_FSC_STAT,
	H2H_STAT
};
enum h2h_watcher {
	H2H_SEE_FSC,
	H2H_SEE_WM_NOSYNC,
	H2H_SEE_WM_SYNC,
	H2H_SEE_WM_SUBSCRIPTION
};

struct h2h_opts {
	struct fscd_bench_common common;
	const char *watchman;
	int queries, scan_queries, samples;
	uint64_t gap_ns[2]; /* MIN, MAX */
	int settle_ms;	    /* -1: watchman's default */
	bool subscription;
	bool run_cost, run_latency; /* --only */
};

struct h2h_run {
	const struct h2h_opts *o;
	char *root, *state_dir;
	char root_json[4096]; /* root escaped for a JSON string */
	int nfiles;
	char **paths;	   /* absolute; the watchman name is paths[i] + rel_offset */
	size_t rel_offset; /* strlen(root) + 1 */
	struct fsc_harness_fscd fscd;
	fsc_t *c;
	struct wm_server wm;
	struct wm_conn q;
	char wm_version[64];
	char target[4096];
	int target_fd;
	off_t size; /* the target's size on disk */
	uint64_t rng;
	uint64_t fscd_ready_ns, wm_ready_ns;
	struct fscd_bench_cpu cpu0[2], cpu1[2]; /* fscd, watchman over the measurements */
};

struct h2h_cost {
	const char *method;
	struct fscd_bench_pct pct; /* picoseconds per answer */
};

struct h2h_latency {
	const char *method;
	struct fscd_bench_pct pct; /* ns */
	uint64_t requests;	   /* lookups, queries or notifications read */
};

static inline uint64_t h2h_random(uint64_t *state)
{
	uint64_t x = *state; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* Prints the end of a log on stderr (nothing if it cannot be read). */
void h2h_dump_log(const char *what, const char *path);

/* Dies with the end of watchman's log: the cleanup at exit removes it. */
#define h2h_die(r, ...)                                                                            \
	do {                                                                                       \
		h2h_dump_log("watchman", (r)->wm.log);                                             \
		fscd_bench_die(__VA_ARGS__);                                                       \
	} while (0)

/* The watchman request asking for the size and mtime of name (relative to the root). */
void h2h_wm_request(const struct h2h_run *r, const char *name, enum h2h_query kind, char *buf,
		    size_t size);
/* (a) n watchman queries of random files; picoseconds per answer. */
void h2h_cost_watchman(struct h2h_run *r, enum h2h_query kind, int n, struct h2h_cost *out);
/* (a) out[H2H_FSC_LOOKUP..H2H_STAT]: passes over the whole tree in random order. */
void h2h_cost_local(struct h2h_run *r, struct h2h_cost out[3]);
/* (b) o->samples appends to the target, each followed by asking until it shows. */
void h2h_latency(struct h2h_run *r, enum h2h_watcher how, struct h2h_latency *out);

#endif
