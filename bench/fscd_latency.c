/* fscd change-to-visible latency: how long after a write(2) a reader sees the new size.
 *
 * fscd watches a tree of storm files plus one target file. Each sample appends one byte to
 * the target and spins on fsc_lookup until the table shows the new size; the sample is
 * CLOCK_MONOTONIC from just before the write to just after the first lookup showing it.
 * Samples are spaced by a random gap so they do not lock onto fscd's 2 ms pass timer.
 * Conditions: "rest" (nothing else changes) and "storm" (a thread appends to the storm files,
 * round robin, at a paced rate: that many inotify events per second on other files).
 *
 *   fscd_latency [--samples N] [--storm-rate PER_S] [--storm-dirs D] [--storm-files F]
 *                [--gap-us MIN,MAX] [--spin yield|busy] [--only rest|storm]
 *                [--fscd PATH] [--dir PARENT] [--name TABLE]
 *
 * stdout: one JSON object; stderr: a summary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fscd_bench_util.h"

#define FSCD_LAT_SAMPLE_CAP_NS (30 * FSCD_BENCH_NS_PER_S) /* a sample never seen: give up */
#define FSCD_LAT_WARMUP_NS     (500 * FSCD_BENCH_NS_PER_MS)

struct fscd_lat_opts {
	struct fscd_bench_common common;
	int samples;
	double storm_rate;
	int storm_dirs, storm_files;
	uint64_t gap_ns[2]; /* MIN, MAX */
	bool busy_spin;
	const char *only; /* NULL: both conditions */
};

struct fscd_lat_result {
	const char *condition;
	double target_rate;
	struct fscd_bench_pct pct;
	double window_s;
	uint64_t writes, write_errors;
	uint64_t ctr[FSC_CTR_COUNT]; /* deltas over the window */
	struct fscd_bench_cpu cpu;   /* fscd's CPU over the window */
	uint64_t lookups, unavailable;
};

struct fscd_lat_run {
	const struct fscd_lat_opts *o;
	struct fsc_harness_fscd d;
	fsc_t *c;
	char target[4096];
	int target_fd;
	off_t size; /* the target's size on disk */
	uint64_t rng;
	uint64_t *lat;
};

static bool fscd_lat_spin(void *dst, const char *arg)
{
	*(bool *)dst = strcmp(arg, "busy") == 0;
	return true;
}

static void fscd_lat_parse(struct fscd_lat_opts *o, int argc, char **argv)
{
	*o = (struct fscd_lat_opts){.samples = 2000,
				    .storm_rate = 100000,
				    .storm_dirs = 10,
				    .storm_files = 100,
				    .gap_ns = {2 * FSCD_BENCH_NS_PER_MS, 5 * FSCD_BENCH_NS_PER_MS}};
	const struct fscd_bench_opt opts[] = {
	    {.name = "samples", .arg = "N", .kind = FSCD_BENCH_INT, .dst = &o->samples},
	    {.name = "storm-rate",
	     .arg = "PER_S",
	     .kind = FSCD_BENCH_DOUBLE,
	     .dst = &o->storm_rate},
	    {.name = "storm-dirs", .arg = "D", .kind = FSCD_BENCH_INT, .dst = &o->storm_dirs},
	    {.name = "storm-files", .arg = "F", .kind = FSCD_BENCH_INT, .dst = &o->storm_files},
	    {.name = "gap-us", .arg = "MIN,MAX", .kind = FSCD_BENCH_GAP_US, .dst = o->gap_ns},
	    {.name = "spin",
	     .arg = "yield|busy",
	     .kind = FSCD_BENCH_FN,
	     .dst = &o->busy_spin,
	     .fn = fscd_lat_spin},
	    {.name = "only", .arg = "rest|storm", .kind = FSCD_BENCH_STR, .dst = &o->only},
	    {.name = NULL}};
	fscd_bench_parse(&o->common, "fscd_latency", "latency", opts, argc, argv);
	if (o->samples < 1 || o->storm_dirs < 1 || o->storm_files < 1)
		fscd_bench_usage();
}

static uint64_t fscd_lat_random(uint64_t *state)
{
	uint64_t x = *state; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* Spins until the table shows the target at size; returns when it was first seen. */
static uint64_t fscd_lat_wait_size(struct fscd_lat_run *r, uint64_t t0, struct fscd_lat_result *res)
{
	struct stat st;
	for (;;) {
		int got = fsc_lookup(r->c, r->target, &st, NULL);
		uint64_t now = fsc_harness_now_ns();
		res->lookups++;
		if (got == FSC_HIT && st.st_size == r->size)
			return now;
		if (got == FSC_UNAVAILABLE)
			res->unavailable++;
		if (now - t0 > FSCD_LAT_SAMPLE_CAP_NS)
			fscd_bench_die("size %lld of %s not visible after 30 s (last answer %s)",
				       (long long)r->size, r->target, fsc_result_name(got));
		if (!r->o->busy_spin)
			sched_yield();
	}
}

static void fscd_lat_sample_all(struct fscd_lat_run *r, struct fscd_lat_result *res)
{
	const struct fscd_lat_opts *o = r->o;
	uint64_t span = o->gap_ns[1] - o->gap_ns[0] + 1;
	for (int i = 0; i < o->samples; i++) {
		fsc_harness_sleep_ns(o->gap_ns[0] + fscd_lat_random(&r->rng) % span);
		uint64_t t0 = fsc_harness_now_ns();
		if (write(r->target_fd, "x", 1) != 1)
			fscd_bench_die("write %s: %s", r->target, strerror(errno));
		r->size++;
		r->lat[i] = fscd_lat_wait_size(r, t0, res) - t0;
	}
}

static void fscd_lat_condition(struct fscd_lat_run *r, const char *root, double rate,
			       struct fscd_lat_result *res)
{
	const struct fscd_lat_opts *o = r->o;
	struct fscd_bench_storm storm;
	memset(res, 0, sizeof(*res));
	res->condition = rate > 0 ? "storm" : "rest";
	res->target_rate = rate;
	if (fscd_bench_storm_start(&storm, root, o->storm_dirs, o->storm_files, rate) < 0)
		fscd_bench_die("cannot open the storm files under %s", root);
	fsc_harness_sleep_ns(FSCD_LAT_WARMUP_NS);
	uint64_t c0[FSC_CTR_COUNT], c1[FSC_CTR_COUNT];
	struct fscd_bench_cpu cpu0, cpu1;
	fscd_bench_snapshot(&r->d, c0, &cpu0);
	uint64_t w0 = fscd_bench_storm_writes(&storm), t0 = fsc_harness_now_ns();
	fscd_lat_sample_all(r, res);
	uint64_t t1 = fsc_harness_now_ns(), w1 = fscd_bench_storm_writes(&storm);
	fscd_bench_snapshot(&r->d, c1, &cpu1);
	res->write_errors = atomic_load(&storm.errors);
	fscd_bench_storm_stop(&storm);
	res->window_s = (double)(t1 - t0) / 1e9;
	res->writes = w1 - w0;
	for (int i = 0; i < FSC_CTR_COUNT; i++)
		res->ctr[i] = c1[i] - c0[i];
	res->cpu.stat_ns = cpu1.stat_ns - cpu0.stat_ns;
	res->cpu.sched_ns = cpu1.sched_ns - cpu0.sched_ns;
	fscd_bench_percentiles(r->lat, (size_t)o->samples, &res->pct);
}

static void fscd_lat_json_result(const void *results, int i)
{
	const struct fscd_lat_result *res = (const struct fscd_lat_result *)results + i;
	double w = res->window_s;
	printf("{\"condition\":\"%s\",", res->condition);
	fscd_bench_json_pct_us(stdout, "latency", &res->pct);
	printf(",\"window_s\":%.3f,\"lookups\":%llu,\"unavailable_answers\":%llu,", w,
	       (unsigned long long)res->lookups, (unsigned long long)res->unavailable);
	printf(
	    "\"storm\":{\"target_writes_per_s\":%.0f,\"writes_per_s\":%.0f,\"write_errors\":%llu},",
	    res->target_rate, (double)res->writes / w, (unsigned long long)res->write_errors);
	printf("\"fscd\":{\"events\":%llu,\"events_per_s\":%.0f,\"stats_per_s\":%.0f,"
	       "\"overflows\":%llu,\"rescans\":%llu,\"cpu_ms_per_s_stat\":%.1f,"
	       "\"cpu_ms_per_s_sched\":%.1f}}",
	       (unsigned long long)res->ctr[FSC_CTR_EVENTS], (double)res->ctr[FSC_CTR_EVENTS] / w,
	       (double)res->ctr[FSC_CTR_STATS] / w, (unsigned long long)res->ctr[FSC_CTR_OVERFLOWS],
	       (unsigned long long)res->ctr[FSC_CTR_RESCANS], (double)res->cpu.stat_ns / 1e6 / w,
	       (double)res->cpu.sched_ns / 1e6 / w);
}

static void fscd_lat_report(const struct fscd_lat_run *r, const struct fscd_lat_result *res, int n)
{
	const struct fscd_lat_opts *o = r->o;
	fscd_bench_json_begin(
	    "fscd_latency",
	    "CLOCK_MONOTONIC from before a 1-byte write(2) append to a watched file "
	    "until the first fsc_lookup that shows the new size; storm = paced "
	    "1-byte appends round robin over other files of the same tree");
	printf("\"samples\":%d,\"gap_us\":[%llu,%llu],\"spin\":\"%s\",\"storm_files\":%d,"
	       "\"fscd\":\"%s\",",
	       o->samples, (unsigned long long)(o->gap_ns[0] / 1000),
	       (unsigned long long)(o->gap_ns[1] / 1000),
	       o->busy_spin ? "busy" : "sched_yield between lookups",
	       o->storm_dirs * o->storm_files, o->common.fscd);
	fscd_bench_json_machine(stdout);
	printf(",");
	fscd_bench_json_array("conditions", n, fscd_lat_json_result, res);
	printf("}\n");
	for (int i = 0; i < n; i++) {
		const struct fscd_lat_result *x = &res[i];
		fprintf(stderr,
			"%-5s n=%zu  p50 %.0f us  p90 %.0f us  p99 %.0f us  max %.0f us | storm "
			"%.0f writes/s (target %.0f), fscd %.0f events/s, %.0f stats/s, "
			"%llu overflows, CPU %.0f ms/s\n",
			x->condition, x->pct.n, x->pct.p50 / 1e3, x->pct.p90 / 1e3,
			x->pct.p99 / 1e3, x->pct.max / 1e3, (double)x->writes / x->window_s,
			x->target_rate, (double)x->ctr[FSC_CTR_EVENTS] / x->window_s,
			(double)x->ctr[FSC_CTR_STATS] / x->window_s,
			(unsigned long long)x->ctr[FSC_CTR_OVERFLOWS],
			(double)x->cpu.sched_ns / 1e6 / x->window_s);
	}
}

static void fscd_lat_setup(struct fscd_lat_run *r, const char *root)
{
	const struct fscd_lat_opts *o = r->o;
	if (fscd_bench_make_tree(root, o->storm_dirs, o->storm_files) < 0)
		fscd_bench_die("cannot make the tree under %s: %s", root, strerror(errno));
	snprintf(r->target, sizeof(r->target), "%s/target.log", root);
	r->target_fd = open(r->target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (r->target_fd < 0)
		fscd_bench_die("open %s: %s", r->target, strerror(errno));
	char log[4096];
	snprintf(log, sizeof(log), "%s.fscd.log", root);
	uint64_t files = (uint64_t)o->storm_dirs * (uint64_t)o->storm_files;
	uint64_t cap = files * 2 < 16384 ? 16384 : files * 2;
	r->c = fscd_bench_daemon_up(&r->d, &o->common, root, cap, log, 30 * FSCD_BENCH_NS_PER_S);
	struct fscd_lat_result ignored = {0};
	r->size = 0;
	fscd_lat_wait_size(r, fsc_harness_now_ns(), &ignored); /* the initial crawl is done */
	r->rng = 0x9e3779b97f4a7c15ull ^ fsc_harness_now_ns();
	r->lat = calloc((size_t)o->samples, sizeof(*r->lat));
	if (!r->lat)
		fscd_bench_die("out of memory");
}

int main(int argc, char **argv)
{
	struct fscd_lat_opts o;
	fscd_lat_parse(&o, argc, argv);
	char *root = fscd_bench_mkdtemp(o.common.dir, "lat");
	struct fscd_lat_run r = {.o = &o};
	fscd_lat_setup(&r, root);
	struct fscd_lat_result res[2];
	int n = 0;
	if (!o.only || strcmp(o.only, "rest") == 0)
		fscd_lat_condition(&r, root, 0, &res[n++]);
	if (!o.only || strcmp(o.only, "storm") == 0)
		fscd_lat_condition(&r, root, o.storm_rate, &res[n++]);
	fscd_lat_report(&r, res, n);
	fsc_close(r.c);
	fscd_bench_daemon_down(&r.d, false);
	close(r.target_fd);
	fscd_bench_rmtree(root);
	free(r.lat);
	free(root);
	return 0;
}
