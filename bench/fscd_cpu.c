/* fscd CPU per event rate: what keeping a table current costs fscd.
 *
 * fscd watches a tree of D x F files. For each rate, a thread appends one byte at a time,
 * round robin over the files, paced to that many writes per second (each write is one
 * IN_MODIFY event on another name, so the kernel cannot merge them). After a warm-up, fscd's
 * CPU time is read at both ends of a fixed window: utime+stime from /proc/PID/stat (10 ms
 * ticks) and the scheduler's run time summed over its threads' schedstat (ns).
 * Rates run in a shuffled order, --reps times each; medians over the reps are reported.
 * Rate 0 is fscd idle (heartbeat, upkeep, backstop sweep): the "net" figures subtract it.
 *
 *   fscd_cpu [--rates R1,R2,...] [--dirs D] [--files F] [--window-ms MS] [--reps N]
 *            [--fscd PATH] [--dir PARENT] [--name TABLE]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fscd_bench_util.h"

#define FSCD_CPU_RATES_MAX 16
#define FSCD_CPU_REPS_MAX  20
#define FSCD_CPU_WARMUP_NS (500 * FSCD_BENCH_NS_PER_MS)

struct fscd_cpu_opts {
	struct fscd_bench_common common;
	double rates[FSCD_CPU_RATES_MAX];
	int nrates, reps;
	uint64_t window_ns;
};

/* One window at one rate; per-second figures. */
struct fscd_cpu_sample {
	double writes_s, events_s, stats_s, cpu_ms_s_sched, cpu_ms_s_stat;
	uint64_t overflows, write_errors;
};

struct fscd_cpu_run {
	const struct fscd_cpu_opts *o;
	const char *root;
	struct fsc_harness_fscd d;
	struct fscd_cpu_sample s[FSCD_CPU_RATES_MAX][FSCD_CPU_REPS_MAX];
};

static bool fscd_cpu_parse_rates(void *dst, const char *list)
{
	struct fscd_cpu_opts *o = dst;
	char *copy = strdup(list), *save = NULL;
	o->nrates = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nrates == FSCD_CPU_RATES_MAX || atof(t) < 0) {
			free(copy);
			return false;
		}
		o->rates[o->nrates++] = atof(t);
	}
	free(copy);
	return o->nrates > 0;
}

static void fscd_cpu_parse(struct fscd_cpu_opts *o, int argc, char **argv)
{
	*o = (struct fscd_cpu_opts){.common = {.dirs = 10, .files = 100}, .reps = 3};
	o->window_ns = 5 * FSCD_BENCH_NS_PER_S;
	fscd_cpu_parse_rates(o, "0,1000,10000,50000,100000");
	const struct fscd_bench_opt opts[] = {
	    {.name = "rates",
	     .arg = "R1,R2,...",
	     .kind = FSCD_BENCH_FN,
	     .dst = o,
	     .fn = fscd_cpu_parse_rates},
	    {.name = "window-ms", .arg = "MS", .kind = FSCD_BENCH_MS, .dst = &o->window_ns},
	    {.name = "reps", .arg = "N", .kind = FSCD_BENCH_INT, .dst = &o->reps},
	    {.name = NULL}};
	fscd_bench_parse(&o->common, "fscd_cpu", "cpu", opts, argc, argv);
	if (o->common.dirs < 1 || o->common.files < 1 || o->reps < 1 ||
	    o->reps > FSCD_CPU_REPS_MAX || o->window_ns < 100 * FSCD_BENCH_NS_PER_MS)
		fscd_bench_usage();
}

static void fscd_cpu_window(struct fscd_cpu_run *r, double rate, struct fscd_cpu_sample *out)
{
	struct fscd_bench_storm storm;
	if (fscd_bench_storm_start(&storm, r->root, r->o->common.dirs, r->o->common.files, rate) <
	    0)
		fscd_bench_die("cannot open the files under %s", r->root);
	fsc_harness_sleep_ns(FSCD_CPU_WARMUP_NS);
	uint64_t c0[FSC_CTR_COUNT], c1[FSC_CTR_COUNT];
	struct fscd_bench_cpu cpu0, cpu1;
	fscd_bench_snapshot(&r->d, c0, &cpu0);
	uint64_t w0 = fscd_bench_storm_writes(&storm), t0 = fsc_harness_now_ns();
	fsc_harness_sleep_ns(r->o->window_ns);
	uint64_t t1 = fsc_harness_now_ns(), w1 = fscd_bench_storm_writes(&storm);
	fscd_bench_snapshot(&r->d, c1, &cpu1);
	out->write_errors = atomic_load(&storm.errors);
	fscd_bench_storm_stop(&storm);
	double s = (double)(t1 - t0) / 1e9;
	out->writes_s = (double)(w1 - w0) / s;
	out->events_s = (double)(c1[FSC_CTR_EVENTS] - c0[FSC_CTR_EVENTS]) / s;
	out->stats_s = (double)(c1[FSC_CTR_STATS] - c0[FSC_CTR_STATS]) / s;
	out->overflows = c1[FSC_CTR_OVERFLOWS] - c0[FSC_CTR_OVERFLOWS];
	out->cpu_ms_s_sched = (double)(cpu1.sched_ns - cpu0.sched_ns) / 1e6 / s;
	out->cpu_ms_s_stat = (double)(cpu1.stat_ns - cpu0.stat_ns) / 1e6 / s;
	/* let the queue drain before the next rate */
	fsc_harness_sleep_ns(100 * FSCD_BENCH_NS_PER_MS);
}

static int fscd_cpu_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median over the reps of one field of the samples of rate i. */
static double fscd_cpu_median(const struct fscd_cpu_run *r, int i, size_t offset)
{
	double v[FSCD_CPU_REPS_MAX];
	int n = r->o->reps;
	for (int k = 0; k < n; k++)
		v[k] = *(const double *)((const char *)&r->s[i][k] + offset);
	qsort(v, (size_t)n, sizeof(*v), fscd_cpu_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define FSCD_CPU_MEDIAN(r, i, field) fscd_cpu_median(r, i, offsetof(struct fscd_cpu_sample, field))

/* Median CPU ms/s of fscd idle (rate 0), or -1 if rate 0 was not run. */
static double fscd_cpu_idle(const struct fscd_cpu_run *r)
{
	for (int i = 0; i < r->o->nrates; i++)
		if (r->o->rates[i] == 0)
			return FSCD_CPU_MEDIAN(r, i, cpu_ms_s_sched);
	return -1;
}

static void fscd_cpu_json_rate(const void *ctx, int i)
{
	const struct fscd_cpu_run *r = ctx;
	double idle = fscd_cpu_idle(r);
	double ev = FSCD_CPU_MEDIAN(r, i, events_s), cpu = FSCD_CPU_MEDIAN(r, i, cpu_ms_s_sched);
	uint64_t overflows = 0, errors = 0;
	for (int k = 0; k < r->o->reps; k++) {
		overflows += r->s[i][k].overflows;
		errors += r->s[i][k].write_errors;
	}
	printf("{\"target_writes_per_s\":%.0f,\"writes_per_s\":%.0f,\"events_per_s\":%.0f,"
	       "\"stats_per_s\":%.0f,\"cpu_ms_per_s\":%.2f,\"cpu_ms_per_s_stat_ticks\":%.1f,",
	       r->o->rates[i], FSCD_CPU_MEDIAN(r, i, writes_s), ev, FSCD_CPU_MEDIAN(r, i, stats_s),
	       cpu, FSCD_CPU_MEDIAN(r, i, cpu_ms_s_stat));
	if (ev >= 100) {
		printf("\"cpu_ms_per_s_per_1k_events_per_s\":%.2f,", cpu / (ev / 1000));
		if (idle >= 0)
			printf("\"net_cpu_ms_per_s_per_1k_events_per_s\":%.2f,",
			       (cpu - idle) / (ev / 1000));
	}
	printf("\"cpu_ms_per_s_reps\":[");
	for (int k = 0; k < r->o->reps; k++)
		printf("%s%.2f", k ? "," : "", r->s[i][k].cpu_ms_s_sched);
	printf("],\"overflows\":%llu,\"write_errors\":%llu}", (unsigned long long)overflows,
	       (unsigned long long)errors);
}

static void fscd_cpu_report(const struct fscd_cpu_run *r)
{
	const struct fscd_cpu_opts *o = r->o;
	double idle = fscd_cpu_idle(r);
	fscd_bench_json_begin(
	    "fscd_cpu", "fscd CPU time (schedstat run time, ms per second of wall time) over a "
			"fixed window while a thread appends 1 byte per write, round robin over "
			"the tree's files, at a paced rate; medians over reps; net = minus the "
			"rate-0 (idle) figure");
	printf("\"files\":%d,\"dirs\":%d,\"window_s\":%.1f,\"reps\":%d,\"idle_cpu_ms_per_s\":%.2f,"
	       "\"fscd\":\"%s\",",
	       o->common.dirs * o->common.files, o->common.dirs, (double)o->window_ns / 1e9,
	       o->reps, idle, o->common.fscd);
	fscd_bench_json_machine(stdout);
	printf(",");
	fscd_bench_json_array("rates", o->nrates, fscd_cpu_json_rate, r);
	printf("}\n");
	for (int i = 0; i < o->nrates; i++) {
		double ev = FSCD_CPU_MEDIAN(r, i, events_s);
		double cpu = FSCD_CPU_MEDIAN(r, i, cpu_ms_s_sched);
		fprintf(stderr,
			"rate %6.0f/s: %6.0f writes/s, %6.0f events/s, %6.0f stats/s, fscd CPU "
			"%6.1f ms/s",
			o->rates[i], FSCD_CPU_MEDIAN(r, i, writes_s), ev,
			FSCD_CPU_MEDIAN(r, i, stats_s), cpu);
		if (ev >= 100)
			fprintf(stderr, " = %.2f ms/s per 1k events/s (net of idle %.2f)",
				cpu / (ev / 1000), (cpu - idle) / (ev / 1000));
		fprintf(stderr, "\n");
	}
}

static void fscd_cpu_start(struct fscd_cpu_run *r)
{
	const struct fscd_cpu_opts *o = r->o;
	char log[4096];
	snprintf(log, sizeof(log), "%s.fscd.log", r->root);
	if (fscd_bench_make_tree(r->root, o->common.dirs, o->common.files) < 0)
		fscd_bench_die("cannot make the tree under %s: %s", r->root, strerror(errno));
	uint64_t files = (uint64_t)o->common.dirs * (uint64_t)o->common.files;
	uint64_t cap = files * 2 < 16384 ? 16384 : files * 2;
	fsc_t *c =
	    fscd_bench_daemon_up(&r->d, &o->common, r->root, cap, log, 60 * FSCD_BENCH_NS_PER_S);
	fsc_close(c); /* the table is published once the whole tree is in it */
	fsc_harness_sleep_ns(FSCD_CPU_WARMUP_NS);
}

int main(int argc, char **argv)
{
	static struct fscd_cpu_run r;
	struct fscd_cpu_opts o;
	fscd_cpu_parse(&o, argc, argv);
	r.o = &o;
	char *root = fscd_bench_mkdtemp(o.common.dir, "cpu");
	r.root = root;
	fscd_cpu_start(&r);
	int order[FSCD_CPU_RATES_MAX];
	uint64_t rng = fsc_harness_now_ns() | 1;
	for (int k = 0; k < o.reps; k++) {
		for (int i = 0; i < o.nrates; i++)
			order[i] = i;
		for (int i = o.nrates - 1; i > 0; i--) { /* Fisher-Yates, LCG */
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			int j = (int)((rng >> 33) % (uint64_t)(i + 1)), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < o.nrates; i++)
			fscd_cpu_window(&r, o.rates[order[i]], &r.s[order[i]][k]);
	}
	fscd_cpu_report(&r);
	fscd_bench_daemon_down(&r.d, false);
	fscd_bench_rmtree(root);
	free(root);
	return 0;
}
