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
#include <getopt.h>
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
	int nrates, dirs, files, reps;
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
	struct fscd_bench_daemon d;
	struct fscd_cpu_sample s[FSCD_CPU_RATES_MAX][FSCD_CPU_REPS_MAX];
};

static void fscd_cpu_usage(void)
{
	fprintf(stderr, "usage: fscd_cpu [--rates R1,R2,...] [--dirs D] [--files F] "
			"[--window-ms MS] [--reps N]\n"
			"       [--fscd PATH] [--dir PARENT] [--name TABLE]\n");
	exit(2);
}

static int fscd_cpu_parse_rates(struct fscd_cpu_opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	o->nrates = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nrates == FSCD_CPU_RATES_MAX || atof(t) < 0) {
			free(copy);
			return -1;
		}
		o->rates[o->nrates++] = atof(t);
	}
	free(copy);
	return o->nrates > 0 ? 0 : -1;
}

static void fscd_cpu_parse(struct fscd_cpu_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {{"rates", required_argument, NULL, 'r'},
						 {"dirs", required_argument, NULL, 'D'},
						 {"files", required_argument, NULL, 'F'},
						 {"window-ms", required_argument, NULL, 'w'},
						 {"reps", required_argument, NULL, 'R'},
						 {"fscd", required_argument, NULL, 'f'},
						 {"dir", required_argument, NULL, 'd'},
						 {"name", required_argument, NULL, 'n'},
						 {NULL, 0, NULL, 0}};
	*o = (struct fscd_cpu_opts){.dirs = 10, .files = 100, .reps = 3};
	o->window_ns = 5 * FSCD_BENCH_NS_PER_S;
	fscd_bench_common_init(&o->common, "cpu");
	fscd_cpu_parse_rates(o, "0,1000,10000,50000,100000");
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (fscd_cpu_parse_rates(o, optarg) < 0)
				fscd_cpu_usage();
			break;
		case 'D':
			o->dirs = atoi(optarg);
			break;
		case 'F':
			o->files = atoi(optarg);
			break;
		case 'w':
			o->window_ns = strtoull(optarg, NULL, 10) * FSCD_BENCH_NS_PER_MS;
			break;
		case 'R':
			o->reps = atoi(optarg);
			break;
		default:
			if (!fscd_bench_common_opt(&o->common, ch, optarg))
				fscd_cpu_usage();
		}
	}
	if (o->dirs < 1 || o->files < 1 || o->reps < 1 || o->reps > FSCD_CPU_REPS_MAX ||
	    o->window_ns < 100 * FSCD_BENCH_NS_PER_MS || optind != argc)
		fscd_cpu_usage();
}

static void fscd_cpu_snapshot(struct fscd_cpu_run *r, uint64_t ctr[FSC_CTR_COUNT],
			      struct fscd_bench_cpu *cpu)
{
	if (fscd_bench_counters(r->d.name, ctr) < 0 || fscd_bench_cpu_read(r->d.pid, cpu) < 0)
		fscd_bench_die("fscd (table %s) is gone; see %s", r->d.name, r->d.log);
}

static void fscd_cpu_window(struct fscd_cpu_run *r, double rate, struct fscd_cpu_sample *out)
{
	struct fscd_bench_storm storm;
	if (fscd_bench_storm_start(&storm, r->root, r->o->dirs, r->o->files, rate) < 0)
		fscd_bench_die("cannot open the files under %s", r->root);
	fscd_bench_sleep_ns(FSCD_CPU_WARMUP_NS);
	uint64_t c0[FSC_CTR_COUNT], c1[FSC_CTR_COUNT];
	struct fscd_bench_cpu cpu0, cpu1;
	fscd_cpu_snapshot(r, c0, &cpu0);
	uint64_t w0 = fscd_bench_storm_writes(&storm), t0 = fscd_bench_now_ns();
	fscd_bench_sleep_ns(r->o->window_ns);
	uint64_t t1 = fscd_bench_now_ns(), w1 = fscd_bench_storm_writes(&storm);
	fscd_cpu_snapshot(r, c1, &cpu1);
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
	fscd_bench_sleep_ns(100 * FSCD_BENCH_NS_PER_MS);
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

static void fscd_cpu_json_rate(const struct fscd_cpu_run *r, int i, double idle)
{
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
	printf("{\"benchmark\":\"fscd_cpu\",\"what\":\"fscd CPU time (schedstat run time, ms per "
	       "second of wall time) over a fixed window while a thread appends 1 byte per write, "
	       "round robin over the tree's files, at a paced rate; medians over reps; net = "
	       "minus the rate-0 (idle) figure\",");
	printf("\"files\":%d,\"dirs\":%d,\"window_s\":%.1f,\"reps\":%d,\"idle_cpu_ms_per_s\":%.2f,"
	       "\"fscd\":\"%s\",",
	       o->dirs * o->files, o->dirs, (double)o->window_ns / 1e9, o->reps, idle,
	       o->common.fscd);
	fscd_bench_json_machine(stdout);
	printf(",\"rates\":[");
	for (int i = 0; i < o->nrates; i++) {
		printf(i ? "," : "");
		fscd_cpu_json_rate(r, i, idle);
	}
	printf("]}\n");
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
	if (fscd_bench_make_tree(r->root, o->dirs, o->files) < 0)
		fscd_bench_die("cannot make the tree under %s: %s", r->root, strerror(errno));
	uint64_t files = (uint64_t)o->dirs * (uint64_t)o->files;
	uint64_t cap = files * 2 < 16384 ? 16384 : files * 2;
	if (fscd_bench_daemon_start(&r->d, o->common.fscd, o->common.name, r->root, cap, log) < 0)
		fscd_bench_die("cannot start %s", o->common.fscd);
	fsc_t *c = fscd_bench_wait_live(&r->d, 60 * FSCD_BENCH_NS_PER_S);
	if (!c)
		fscd_bench_die("fscd did not publish table %s; see %s", o->common.name, log);
	fsc_close(c); /* the table is published once the whole tree is in it */
	fscd_bench_sleep_ns(FSCD_CPU_WARMUP_NS);
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
	uint64_t rng = fscd_bench_now_ns() | 1;
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
	int status = fscd_bench_daemon_stop(&r.d);
	fscd_bench_rmtree(root);
	if (status == 0)
		unlink(r.d.log);
	else
		fprintf(stderr, "fscd exited with status %d; its log: %s\n", status, r.d.log);
	free(root);
	return 0;
}
