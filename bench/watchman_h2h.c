/* Watchman head to head: the same questions put to fscd (through libfsc) and to Watchman
 * (over its Unix socket), on one tree that both daemons watch for the whole run.
 *
 * (a) Cost per answer to "size and mtime of this file", for random files of a D x F tree.
 *     Local calls (fsc_lookup hit, fsc_stat hit, stat(2)): mean per call over one pass of
 *     the tree in random order, each kind's passes back to back, percentiles over passes.
 *     Watchman: one query per answer on one persistent connection, percentiles over queries:
 *     - path_nosync: the "path" generator naming the file, "sync_timeout": 0; answered from
 *       watchman's in-memory view, no filesystem round trip;
 *     - path_sync: the same with watchman's default sync: before answering, watchman creates
 *       a cookie file in the root and waits for inotify to report it, so the answer includes
 *       every change made before the query (its consistency guarantee, and the default);
 *     - scan_nosync: a ["name", FILE, "wholename"] expression without a generator, which
 *       watchman evaluates against every file it knows.
 * (b) Change-to-visible latency: append one byte to ROOT/target.log, then ask until the new
 *     size shows: fsc_lookup spinning (as fscd_latency does), path_nosync queries back to
 *     back, path_sync queries (the first should show it: the cookie orders it after the
 *     write), and a watchman subscription (notified after watchman's settle period, 20 ms by
 *     default; --settle-ms writes ROOT/.watchmanconfig to change it).
 *
 *   watchman_h2h [--dirs D] [--files F] [--queries N] [--scan-queries N] [--rounds N]
 *                [--samples N] [--gap-us MIN,MAX] [--settle-ms MS] [--no-subscription]
 *                [--only cost|latency] [--watchman PATH] [--fscd PATH] [--dir PARENT]
 *                [--name TABLE]
 *
 * stdout: one JSON object; stderr: a summary. Everything it starts and makes (fscd, a
 * private watchman server with its own socket, state and config, the tree, the table) is
 * stopped and removed on exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "watchman_h2h.h"

static struct h2h_run *h2h_cleanup_run; /* what the atexit handler tears down */

/* --only cost|latency */
static bool h2h_parse_only(void *dst, const char *part)
{
	struct h2h_opts *o = dst;
	o->run_cost = strcmp(part, "cost") == 0;
	o->run_latency = strcmp(part, "latency") == 0;
	return true;
}

static void h2h_parse(struct h2h_opts *o, int argc, char **argv)
{
	*o = (struct h2h_opts){.watchman = "watchman",
			       .common = {.dirs = 100, .files = 100, .rounds = 101},
			       .queries = 2000,
			       .scan_queries = 200,
			       .samples = 300,
			       .gap_ns = {2 * FSCD_BENCH_NS_PER_MS, 5 * FSCD_BENCH_NS_PER_MS},
			       .settle_ms = -1,
			       .subscription = true,
			       .run_cost = true,
			       .run_latency = true};
	const struct fscd_bench_opt opts[] = {
	    {.name = "queries", .arg = "N", .kind = FSCD_BENCH_INT, .dst = &o->queries},
	    {.name = "scan-queries", .arg = "N", .kind = FSCD_BENCH_INT, .dst = &o->scan_queries},
	    {.name = "samples", .arg = "N", .kind = FSCD_BENCH_INT, .dst = &o->samples},
	    {.name = "gap-us", .arg = "MIN,MAX", .kind = FSCD_BENCH_GAP_US, .dst = o->gap_ns},
	    {.name = "settle-ms", .arg = "MS", .kind = FSCD_BENCH_INT, .dst = &o->settle_ms},
	    {.name = "no-subscription",
	     .arg = NULL,
	     .kind = FSCD_BENCH_CLEAR,
	     .dst = &o->subscription},
	    {.name = "only",
	     .arg = "cost|latency",
	     .kind = FSCD_BENCH_FN,
	     .dst = o,
	     .fn = h2h_parse_only},
	    {.name = "watchman", .arg = "PATH", .kind = FSCD_BENCH_STR, .dst = &o->watchman},
	    {.name = NULL}};
	fscd_bench_parse(&o->common, "watchman_h2h", "wmh2h", opts, argc, argv);
	if (o->common.dirs < 1 || o->common.dirs > 1000 || o->common.files < 1 ||
	    o->common.files > 10000 || o->queries < 1 || o->scan_queries < 0 ||
	    o->common.rounds < 1 || o->samples < 1 || !(o->run_cost || o->run_latency))
		fscd_bench_usage();
}

/* ---- set-up and tear-down ---- */

void h2h_dump_log(const char *what, const char *path)
{
	char buf[2048];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(stderr, "--- end of the %s log (%s) ---\n%s\n", what, path, buf);
	}
}

static void h2h_cleanup(void)
{
	struct h2h_run *r = h2h_cleanup_run;
	if (!r)
		return;
	h2h_cleanup_run = NULL;
	if (r->c)
		fsc_close(r->c);
	if (r->target_fd >= 0)
		close(r->target_fd);
	wm_conn_close(&r->q);
	int wm_status = wm_server_stop(&r->wm);
	int fscd_status = fscd_bench_daemon_stop(&r->fscd);
	if (fscd_status > 0) {
		fprintf(stderr, "fscd exited with status %d\n", fscd_status);
		h2h_dump_log("fscd", r->fscd.log);
	}
	if (wm_status != -1 && !WIFEXITED(wm_status))
		fprintf(stderr, "watchman ended with wait status %d\n", wm_status);
	if (r->state_dir)
		fscd_bench_rmtree(r->state_dir);
	if (r->root)
		fscd_bench_rmtree(r->root);
}

static void h2h_make_tree(struct h2h_run *r)
{
	const struct h2h_opts *o = r->o;
	if (fscd_bench_make_tree(r->root, o->common.dirs, o->common.files) < 0)
		fscd_bench_die("cannot make the tree under %s: %s", r->root, strerror(errno));
	r->nfiles = o->common.dirs * o->common.files;
	r->rel_offset = strlen(r->root) + 1;
	r->paths = fscd_bench_tree_paths(r->root, o->common.dirs, o->common.files);
	char path[4096];
	snprintf(r->target, sizeof(r->target), "%s/" H2H_TARGET, r->root);
	r->target_fd = open(r->target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (r->target_fd < 0)
		fscd_bench_die("open %s: %s", r->target, strerror(errno));
	if (wm_json_escape(r->root_json, sizeof(r->root_json), r->root) < 0)
		fscd_bench_die("root path too long: %s", r->root);
	if (o->settle_ms >= 0) { /* watchman reads it when the watch starts */
		snprintf(path, sizeof(path), "%s/.watchmanconfig", r->root);
		FILE *f = fopen(path, "w");
		if (!f || fprintf(f, "{\"settle\": %d}\n", o->settle_ms) < 0 || fclose(f) != 0)
			fscd_bench_die("cannot write %s", path);
	}
}

static void h2h_start_fscd(struct h2h_run *r)
{
	char log[4096];
	snprintf(log, sizeof(log), "%s/fscd.log", r->state_dir);
	uint64_t cap = (uint64_t)r->nfiles * 2 < 16384 ? 16384 : (uint64_t)r->nfiles * 2;
	uint64_t t0 = fsc_harness_now_ns();
	r->c = fscd_bench_daemon_up(&r->fscd, &r->o->common, r->root, cap, log,
				    30 * FSCD_BENCH_NS_PER_S);
	struct stat st;
	for (int i = -1; i < r->nfiles; i++) { /* until every file is a hit */
		const char *path = i < 0 ? r->target : r->paths[i];
		while (fsc_lookup(r->c, path, &st, NULL) != FSC_HIT) {
			if (fsc_harness_now_ns() - t0 > H2H_READY_CAP_NS)
				fscd_bench_die("fscd never cached %s", path);
			fsc_harness_sleep_ns(FSCD_BENCH_NS_PER_MS);
		}
	}
	r->fscd_ready_ns = fsc_harness_now_ns() - t0;
}

/* Watches the root and waits until a synced query lists every file. */
static void h2h_watch_root(struct h2h_run *r)
{
	char req[H2H_REQUEST_MAX], text[256];
	uint64_t t0 = fsc_harness_now_ns();
	snprintf(req, sizeof(req), "[\"watch\",\"%s\"]", r->root_json);
	const char *reply = wm_conn_call(&r->q, req);
	if (!reply || !wm_json_value(reply, "watch"))
		h2h_die(r, "watchman cannot watch %s: %s", r->root,
			reply && wm_json_string(reply, "error", text, sizeof(text)) ? text
										    : "no reply");
	long want = r->nfiles + 1 + (r->o->settle_ms >= 0), have = -1;
	snprintf(req, sizeof(req),
		 "[\"query\",\"%s\",{\"expression\":[\"type\",\"f\"],\"fields\":[\"size\"]}]",
		 r->root_json);
	while (have < want) {
		reply = wm_conn_call(&r->q, req);
		have = reply ? wm_reply_count_files(reply) : -1;
		if (have < 0 || fsc_harness_now_ns() - t0 > H2H_READY_CAP_NS)
			h2h_die(r, "watchman lists %ld of %ld files", have, want);
		if (have < want)
			fsc_harness_sleep_ns(10 * FSCD_BENCH_NS_PER_MS);
	}
	r->wm_ready_ns = fsc_harness_now_ns() - t0;
}

static void h2h_start_watchman(struct h2h_run *r)
{
	if (wm_server_start(&r->wm, r->o->watchman, r->state_dir) < 0)
		fscd_bench_die("cannot start %s (state dir %s)", r->o->watchman, r->state_dir);
	if (wm_conn_open(&r->q, r->wm.sock, r->wm.pid, 30 * FSCD_BENCH_NS_PER_S) < 0)
		h2h_die(r, "no watchman socket at %s", r->wm.sock);
	const char *reply = wm_conn_call(&r->q, "[\"version\"]");
	if (!reply || !wm_json_string(reply, "version", r->wm_version, sizeof(r->wm_version)))
		h2h_die(r, "watchman did not answer [\"version\"]");
	h2h_watch_root(r);
}

/* ---- report ---- */

static long h2h_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void h2h_json_requests(const struct h2h_run *r, char example[][3 * H2H_REQUEST_MAX])
{
	char req[H2H_REQUEST_MAX];
	for (int k = H2H_PATH_NOSYNC; k <= H2H_SCAN_NOSYNC; k++) {
		h2h_wm_request(r, "d-000/f-0000", (enum h2h_query)k, req, sizeof(req));
		wm_json_escape(example[k], 3 * H2H_REQUEST_MAX, req);
	}
}

static double h2h_p50(const struct h2h_cost *c)
{
	return (double)c->pct.p50;
}

static void h2h_json_head(const struct h2h_run *r)
{
	static char example[3][3 * H2H_REQUEST_MAX], argv_json[2048];
	const struct h2h_opts *o = r->o;
	h2h_json_requests(r, example);
	wm_json_escape(argv_json, sizeof(argv_json), r->wm.argv_text);
	fscd_bench_json_begin(
	    "watchman_h2h", "fscd (libfsc, shared memory) and Watchman (JSON over its Unix socket, "
			    "one persistent connection) watching the same tree: cost per answer to "
			    "'size and mtime of this file', and change-to-visible latency after a "
			    "1-byte append");
	printf("\"tree\":{\"dirs\":%d,\"files_per_dir\":%d,\"files\":%d},", o->common.dirs,
	       o->common.files, r->nfiles);
	printf("\"watchman\":{\"version\":\"%s\",\"command\":\"%s\",\"settle_ms\":%d,"
	       "\"settle_from\":\"%s\",\"query_path_nosync\":\"%s\",\"query_path_sync\":\"%s\","
	       "\"query_scan_nosync\":\"%s\",",
	       r->wm_version, argv_json, o->settle_ms >= 0 ? o->settle_ms : 20,
	       o->settle_ms >= 0 ? ".watchmanconfig" : "watchman default", example[0], example[1],
	       example[2]);
	printf("\"notes\":\"path_sync uses the default sync_timeout (60 s): a cookie file round "
	       "trip through the filesystem before the answer. empty_on_fresh_instance is not set: "
	       "these queries have no since clause, so every answer is a fresh-instance result "
	       "and that flag would empty it.\"},");
	printf(
	    "\"fscd\":\"%s\",\"ready_ms\":{\"fscd_from_exec\":%.1f,\"watchman_from_watch\":%.1f},",
	    o->common.fscd, (double)r->fscd_ready_ns / 1e6, (double)r->wm_ready_ns / 1e6);
}

static void h2h_json_costs(const struct h2h_cost *cost, int ncost)
{
	printf("\"per_answer\":{\"note\":\"local calls: mean per call of one pass over all files "
	       "in random order, percentiles over passes; watchman: one query per sample\",");
	for (int i = 0; i < ncost; i++) {
		fscd_bench_json_pct(stdout, cost[i].method, &cost[i].pct, "ns");
		printf(",");
	}
	printf("\"ratios_p50\":{\"watchman_nosync_over_fsc_lookup\":%.1f,"
	       "\"watchman_sync_over_fsc_lookup\":%.1f,\"watchman_nosync_over_stat\":%.1f,"
	       "\"watchman_sync_over_stat\":%.1f,\"stat_over_fsc_lookup\":%.1f}},",
	       h2h_p50(&cost[3]) / h2h_p50(&cost[0]), h2h_p50(&cost[4]) / h2h_p50(&cost[0]),
	       h2h_p50(&cost[3]) / h2h_p50(&cost[2]), h2h_p50(&cost[4]) / h2h_p50(&cost[2]),
	       h2h_p50(&cost[2]) / h2h_p50(&cost[0]));
}

static void h2h_json_latency(const struct h2h_opts *o, const struct h2h_latency *lat, int nlat)
{
	printf("\"latency\":{\"samples\":%d,\"gap_us\":[%llu,%llu]", o->samples,
	       (unsigned long long)(o->gap_ns[0] / 1000),
	       (unsigned long long)(o->gap_ns[1] / 1000));
	for (int i = 0; i < nlat; i++) {
		printf(",");
		fscd_bench_json_pct_us(stdout, lat[i].method, &lat[i].pct);
		printf(",\"%s_requests_per_sample\":%.2f", lat[i].method,
		       (double)lat[i].requests / (double)lat[i].pct.n);
	}
	printf("},");
}

static void h2h_json(const struct h2h_run *r, const struct h2h_cost *cost, int ncost,
		     const struct h2h_latency *lat, int nlat)
{
	h2h_json_head(r);
	if (ncost > 0)
		h2h_json_costs(cost, ncost);
	if (nlat > 0)
		h2h_json_latency(r->o, lat, nlat);
	printf(
	    "\"daemons\":{\"fscd\":{\"rss_kb\":%ld,\"cpu_ms\":%.1f},\"watchman\":{\"rss_kb\":%ld,"
	    "\"cpu_ms\":%.1f},\"note\":\"CPU from schedstat over the measurements; fscd's RSS "
	    "counts the table pages it touched\"},",
	    h2h_rss_kb(r->fscd.pid), (double)(r->cpu1[0].sched_ns - r->cpu0[0].sched_ns) / 1e6,
	    h2h_rss_kb(r->wm.pid), (double)(r->cpu1[1].sched_ns - r->cpu0[1].sched_ns) / 1e6);
	fscd_bench_json_machine(stdout);
	printf("}\n");
}

static void h2h_summary(const struct h2h_run *r, const struct h2h_cost *cost, int ncost,
			const struct h2h_latency *lat, int nlat)
{
	fprintf(stderr, "watchman %s vs fscd, %d files; ready: fscd %.0f ms, watchman %.0f ms\n",
		r->wm_version, r->nfiles, (double)r->fscd_ready_ns / 1e6,
		(double)r->wm_ready_ns / 1e6);
	if (ncost > 0)
		fprintf(stderr,
			"cost per answer (ns)          p50        p99   x fsc_lookup  x stat\n");
	for (int i = 0; i < ncost; i++)
		fprintf(stderr, "  %-24s %10.1f %10.1f %12.1f %7.2f\n", cost[i].method,
			(double)cost[i].pct.p50 / 1e3, (double)cost[i].pct.p99 / 1e3,
			h2h_p50(&cost[i]) / h2h_p50(&cost[0]),
			h2h_p50(&cost[i]) / h2h_p50(&cost[2]));
	if (nlat > 0)
		fprintf(stderr,
			"change-to-visible (us)        p50        p99        max  asks/sample"
			"  (watchman settle %d ms)\n",
			r->o->settle_ms >= 0 ? r->o->settle_ms : 20);
	for (int i = 0; i < nlat; i++)
		fprintf(stderr, "  %-24s %10.1f %10.1f %10.1f %8.1f\n", lat[i].method,
			(double)lat[i].pct.p50 / 1e3, (double)lat[i].pct.p99 / 1e3,
			(double)lat[i].pct.max / 1e3,
			(double)lat[i].requests / (double)lat[i].pct.n);
}

static void h2h_cpu_snapshot(struct h2h_run *r, struct fscd_bench_cpu cpu[2])
{
	if (fscd_bench_cpu_read(r->fscd.pid, &cpu[0]) < 0 ||
	    fscd_bench_cpu_read(r->wm.pid, &cpu[1]) < 0)
		h2h_die(r, "fscd or watchman is gone");
}

static int h2h_measure_cost(struct h2h_run *r, struct h2h_cost cost[6])
{
	const struct h2h_opts *o = r->o;
	h2h_cost_local(r, cost);
	h2h_cost_watchman(r, H2H_PATH_NOSYNC, o->queries, &cost[3]);
	h2h_cost_watchman(r, H2H_PATH_SYNC, o->queries, &cost[4]);
	if (o->scan_queries == 0)
		return 5;
	h2h_cost_watchman(r, H2H_SCAN_NOSYNC, o->scan_queries, &cost[5]);
	return 6;
}

static int h2h_measure_latency(struct h2h_run *r, struct h2h_latency lat[4])
{
	h2h_latency(r, H2H_SEE_FSC, &lat[0]);
	h2h_latency(r, H2H_SEE_WM_NOSYNC, &lat[1]);
	h2h_latency(r, H2H_SEE_WM_SYNC, &lat[2]);
	if (!r->o->subscription)
		return 3;
	h2h_latency(r, H2H_SEE_WM_SUBSCRIPTION, &lat[3]);
	return 4;
}

int main(int argc, char **argv)
{
	struct h2h_opts o;
	h2h_parse(&o, argc, argv);
	static struct h2h_run r;
	r = (struct h2h_run){.o = &o, .target_fd = -1, .q = {.fd = -1}};
	r.rng = 0x9e3779b97f4a7c15ull ^ fsc_harness_now_ns();
	h2h_cleanup_run = &r;
	atexit(h2h_cleanup);
	r.root = fscd_bench_mkdtemp(o.common.dir, "wmh2h");
	r.state_dir = fscd_bench_mkdtemp(o.common.dir, "wmstate");
	h2h_make_tree(&r);
	h2h_start_fscd(&r);
	h2h_start_watchman(&r);
	h2h_cpu_snapshot(&r, r.cpu0);
	struct h2h_cost cost[6];
	struct h2h_latency lat[4];
	int ncost = o.run_cost ? h2h_measure_cost(&r, cost) : 0;
	int nlat = o.run_latency ? h2h_measure_latency(&r, lat) : 0;
	h2h_cpu_snapshot(&r, r.cpu1);
	h2h_json(&r, cost, ncost, lat, nlat);
	h2h_summary(&r, cost, ncost, lat, nlat);
	h2h_cleanup();
	for (int i = 0; i < r.nfiles; i++)
		free(r.paths[i]);
	free(r.paths);
	free(r.root);
	free(r.state_dir);
	return 0;
}
