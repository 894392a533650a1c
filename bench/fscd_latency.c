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
#include <getopt.h>
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
	uint64_t gap_min_ns, gap_max_ns;
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
	struct fscd_bench_daemon d;
	fsc_t *c;
	char target[4096];
	int target_fd;
	off_t size; /* the target's size on disk */
	uint64_t rng;
	uint64_t *lat;
};

static void fscd_lat_usage(void)
{
	fprintf(stderr, "usage: fscd_latency [--samples N] [--storm-rate PER_S] [--storm-dirs D] "
			"[--storm-files F]\n"
			"       [--gap-us MIN,MAX] [--spin yield|busy] [--only rest|storm]\n"
			"       [--fscd PATH] [--dir PARENT] [--name TABLE]\n");
	exit(2);
}

static void fscd_lat_parse(struct fscd_lat_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {{"samples", required_argument, NULL, 's'},
						 {"storm-rate", required_argument, NULL, 'r'},
						 {"storm-dirs", required_argument, NULL, 'D'},
						 {"storm-files", required_argument, NULL, 'F'},
						 {"gap-us", required_argument, NULL, 'g'},
						 {"spin", required_argument, NULL, 'p'},
						 {"only", required_argument, NULL, 'o'},
						 {"fscd", required_argument, NULL, 'f'},
						 {"dir", required_argument, NULL, 'd'},
						 {"name", required_argument, NULL, 'n'},
						 {NULL, 0, NULL, 0}};
	*o = (struct fscd_lat_opts){.samples = 2000,
				    .storm_rate = 100000,
				    .storm_dirs = 10,
				    .storm_files = 100,
				    .gap_min_ns = 2 * FSCD_BENCH_NS_PER_MS,
				    .gap_max_ns = 5 * FSCD_BENCH_NS_PER_MS};
	fscd_bench_common_init(&o->common, "latency");
	unsigned long gmin, gmax;
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->samples = atoi(optarg);
			break;
		case 'r':
			o->storm_rate = atof(optarg);
			break;
		case 'D':
			o->storm_dirs = atoi(optarg);
			break;
		case 'F':
			o->storm_files = atoi(optarg);
			break;
		case 'g':
			if (sscanf(optarg, "%lu,%lu", &gmin, &gmax) != 2 || gmin > gmax)
				fscd_lat_usage();
			o->gap_min_ns = gmin * 1000;
			o->gap_max_ns = gmax * 1000;
			break;
		case 'p':
			o->busy_spin = strcmp(optarg, "busy") == 0;
			break;
		case 'o':
			o->only = optarg;
			break;
		default:
			if (!fscd_bench_common_opt(&o->common, ch, optarg))
				fscd_lat_usage();
		}
	}
	if (o->samples < 1 || o->storm_dirs < 1 || o->storm_files < 1 || optind != argc)
		fscd_lat_usage();
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
		uint64_t now = fscd_bench_now_ns();
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
	uint64_t span = o->gap_max_ns - o->gap_min_ns + 1;
	for (int i = 0; i < o->samples; i++) {
		fscd_bench_sleep_ns(o->gap_min_ns + fscd_lat_random(&r->rng) % span);
		uint64_t t0 = fscd_bench_now_ns();
		if (write(r->target_fd, "x", 1) != 1)
			fscd_bench_die("write %s: %s", r->target, strerror(errno));
		r->size++;
		r->lat[i] = fscd_lat_wait_size(r, t0, res) - t0;
	}
}

static void fscd_lat_snapshot(struct fscd_lat_run *r, uint64_t ctr[FSC_CTR_COUNT],
			      struct fscd_bench_cpu *cpu)
{
	if (fscd_bench_counters(r->d.name, ctr) < 0 || fscd_bench_cpu_read(r->d.pid, cpu) < 0)
		fscd_bench_die("fscd (table %s) is gone; see %s", r->d.name, r->d.log);
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
	fscd_bench_sleep_ns(FSCD_LAT_WARMUP_NS);
	uint64_t c0[FSC_CTR_COUNT], c1[FSC_CTR_COUNT];
	struct fscd_bench_cpu cpu0, cpu1;
	fscd_lat_snapshot(r, c0, &cpu0);
	uint64_t w0 = fscd_bench_storm_writes(&storm), t0 = fscd_bench_now_ns();
	fscd_lat_sample_all(r, res);
	uint64_t t1 = fscd_bench_now_ns(), w1 = fscd_bench_storm_writes(&storm);
	fscd_lat_snapshot(r, c1, &cpu1);
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

static void fscd_lat_json_result(const struct fscd_lat_result *res)
{
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
	printf("{\"benchmark\":\"fscd_latency\",\"what\":\"CLOCK_MONOTONIC from before a 1-byte "
	       "write(2) append to a watched file until the first fsc_lookup that shows the new "
	       "size; storm = paced 1-byte appends round robin over other files of the same "
	       "tree\",");
	printf("\"samples\":%d,\"gap_us\":[%llu,%llu],\"spin\":\"%s\",\"storm_files\":%d,"
	       "\"fscd\":\"%s\",",
	       o->samples, (unsigned long long)(o->gap_min_ns / 1000),
	       (unsigned long long)(o->gap_max_ns / 1000),
	       o->busy_spin ? "busy" : "sched_yield between lookups",
	       o->storm_dirs * o->storm_files, o->common.fscd);
	fscd_bench_json_machine(stdout);
	printf(",\"conditions\":[");
	for (int i = 0; i < n; i++) {
		printf(i ? "," : "");
		fscd_lat_json_result(&res[i]);
	}
	printf("]}\n");
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
	if (fscd_bench_daemon_start(&r->d, o->common.fscd, o->common.name, root, cap, log) < 0)
		fscd_bench_die("cannot start %s", o->common.fscd);
	r->c = fscd_bench_wait_live(&r->d, 30 * FSCD_BENCH_NS_PER_S);
	if (!r->c)
		fscd_bench_die("fscd did not publish table %s; see %s", o->common.name, log);
	struct fscd_lat_result ignored = {0};
	r->size = 0;
	fscd_lat_wait_size(r, fscd_bench_now_ns(), &ignored); /* the initial crawl is done */
	r->rng = 0x9e3779b97f4a7c15ull ^ fscd_bench_now_ns();
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
	int status = fscd_bench_daemon_stop(&r.d);
	close(r.target_fd);
	fscd_bench_rmtree(root);
	if (status == 0)
		unlink(r.d.log);
	else
		fprintf(stderr, "fscd exited with status %d; its log: %s\n", status, r.d.log);
	free(r.lat);
	free(root);
	return 0;
}
