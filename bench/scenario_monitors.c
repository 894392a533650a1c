/* The headline scenario: K monitoring processes each know the size of 10,000 log files 10
 * times a second while 1% of the files grow; with stat(2) of every file (baseline, mode stat)
 * against fsc_stat of every file on the table of a real fscd watching the tree (fsc), and
 * against reading fsc's change journal and fsc_stat-ing only the files it names (journal; see
 * scenario_journal.c). The modes run in one invocation, one after the other for each K (stat,
 * fsc, journal), on the same tree and the same append load.
 *
 * Tree ROOT/d-DDD/f-NNNN, dirs x files. Hot file h is d-(h % dirs)/f-(h / dirs). An appender
 * process appends one byte at a time, round robin over the hot files, paced to rate appends
 * per second per hot file, and records the CLOCK_MONOTONIC time of each append in shared
 * memory. Each monitor process scans every file once per period (ticks staggered over the
 * monitors) and, when a hot file has grown, takes one delay sample per append it had not
 * seen: the time it saw the new size minus the time of the append.
 *
 * Measured over a window after a warm-up: CPU time (schedstat run time) of the monitors, of
 * fscd (fsc and journal modes; fscd is started for each such phase and stopped after it) and
 * of the appender; scans (journal: ticks) per second each monitor achieved against the
 * 1/period target; the notice delay percentiles. The ratios are baseline total / fsc total and
 * baseline total / journal total, where total = monitors (+ fscd); the appender is the same
 * load in every mode and reported apart (and also added to every side).
 *
 *   scenario_monitors [--dirs D] [--files F] [--hot N] [--rate PER_S] [--monitors 1,4,16]
 *                     [--period-ms MS] [--warmup-ms MS] [--window-ms MS]
 *                     [--modes stat,fsc,journal | --only MODE] [--journal-dedup]
 *                     [--capacity N] [--fscd PATH] [--dir PARENT] [--name TABLE]
 *
 * --journal-dedup: a journal monitor looks at each file the journal named once per tick, after
 * reading to the end, instead of once per entry.
 *
 * stdout: one JSON object; stderr: a summary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fscd_bench_util.h"
#include "scenario_monitors.h"

#define SCEN_FSCD_TIMEOUT_NS  (60 * FSCD_BENCH_NS_PER_S)
#define SCEN_DRAIN_TIMEOUT_NS (20 * FSCD_BENCH_NS_PER_S)
#define SCEN_PHASE_HEADER     256 /* bytes before the first monitor report */

/* What the parent reads at each end of the window. */
struct scen_snapshot {
	struct fscd_bench_cpu monitors, fscd, appender;
	uint64_t appends, t_ns;
	uint64_t ctr[FSC_CTR_COUNT];
};

/* A comma-separated list of mode names into o->modes; false if a name is unknown. */
static bool scen_parse_modes(void *dst, const char *list)
{
	struct scen_opts *o = dst;
	memset(o->modes, 0, sizeof(o->modes));
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list);
	char *save = NULL;
	bool any = false;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int m = 0;
		while (m < SCEN_NMODES && strcmp(t, scen_mode_name((enum scen_mode)m)))
			m++;
		if (m == SCEN_NMODES)
			return false;
		o->modes[m] = any = true;
	}
	return any;
}

/* --only MODE: one name of --modes. */
static bool scen_parse_only(void *dst, const char *mode)
{
	return !strchr(mode, ',') && scen_parse_modes(dst, mode);
}

static void scen_parse(struct scen_opts *o, int argc, char **argv)
{
	*o = (struct scen_opts){.common = {.dirs = 100,
					   .files = 100,
					   .monitors = {1, 4, 16},
					   .nmonitors = 3,
					   .capacity = 16384},
				.hot = 100,
				.rate = 100,
				.period_ns = 100 * FSCD_BENCH_NS_PER_MS,
				.warmup_ns = 2000 * FSCD_BENCH_NS_PER_MS,
				.window_ns = 8000 * FSCD_BENCH_NS_PER_MS,
				.modes = {true, true, true}};
	const struct fscd_bench_opt opts[] = {
	    {.name = "hot", .arg = "N", .kind = FSCD_BENCH_INT, .dst = &o->hot},
	    {.name = "rate", .arg = "PER_S", .kind = FSCD_BENCH_DOUBLE, .dst = &o->rate},
	    {.name = "period-ms", .arg = "MS", .kind = FSCD_BENCH_MS, .dst = &o->period_ns},
	    {.name = "warmup-ms", .arg = "MS", .kind = FSCD_BENCH_MS, .dst = &o->warmup_ns},
	    {.name = "window-ms", .arg = "MS", .kind = FSCD_BENCH_MS, .dst = &o->window_ns},
	    {.name = "modes",
	     .arg = "stat,fsc,journal",
	     .kind = FSCD_BENCH_FN,
	     .dst = o,
	     .fn = scen_parse_modes},
	    {.name = "only", .arg = "MODE", .kind = FSCD_BENCH_FN, .dst = o, .fn = scen_parse_only},
	    {.name = "journal-dedup",
	     .arg = NULL,
	     .kind = FSCD_BENCH_SET,
	     .dst = &o->journal_dedup},
	    {.name = NULL}};
	fscd_bench_parse(&o->common, "scenario_monitors", "scenario", opts, argc, argv);
	for (int i = 0; i < o->common.nmonitors; i++)
		if (o->common.monitors[i] > SCEN_MONITORS_MAX)
			fscd_bench_usage();
	if (o->common.dirs < 1 || o->common.dirs > 1000 || o->common.files < 1 ||
	    o->common.files > 10000 || o->hot < 1 || o->hot > o->common.dirs * o->common.files ||
	    o->rate <= 0 || o->common.nmonitors < 1 || !o->period_ns || !o->window_ns)
		fscd_bench_usage();
	uint64_t need =
	    (uint64_t)o->common.dirs * (uint64_t)o->common.files + (uint64_t)o->common.dirs + 1;
	if (o->common.capacity < need)
		fscd_bench_die("--capacity %llu is below the %llu entries of the tree",
			       (unsigned long long)o->common.capacity, (unsigned long long)need);
}

static void scen_make_files(struct scen_run *r)
{
	const struct scen_opts *o = r->o;
	struct scen_files *f = &r->files;
	f->n = o->common.dirs * o->common.files;
	f->nhot = o->hot;
	f->paths = fscd_bench_tree_paths(r->root, o->common.dirs, o->common.files);
	f->hot_of = malloc((size_t)f->n * sizeof(*f->hot_of));
	f->hot_paths = calloc((size_t)f->nhot, sizeof(*f->hot_paths));
	if (!f->hot_of || !f->hot_paths)
		fscd_bench_die("out of memory");
	for (int i = 0; i < f->n; i++)
		f->hot_of[i] = -1;
	for (int h = 0; h < f->nhot; h++) {
		int i = (h % o->common.dirs) * o->common.files + h / o->common.dirs;
		f->hot_of[i] = h;
		f->hot_paths[h] = f->paths[i];
	}
	if (fscd_bench_make_tree(r->root, o->common.dirs, o->common.files) < 0)
		fscd_bench_die("cannot make the tree under %s: %s", r->root, strerror(errno));
}

static void *scen_map_shared(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fscd_bench_die("mmap %zu bytes: %s", bytes, strerror(errno));
	return p;
}

static void scen_cpu_add(struct fscd_bench_cpu *sum, pid_t pid, const char *who)
{
	struct fscd_bench_cpu c;
	if (fscd_bench_cpu_read(pid, &c) < 0)
		fscd_bench_die("%s (pid %d) is gone", who, (int)pid);
	sum->stat_ns += c.stat_ns;
	sum->sched_ns += c.sched_ns;
}

static void scen_snapshot(const struct scen_run *r, const pid_t *pids, int k,
			  const struct fsc_harness_fscd *d, struct scen_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < k; i++)
		scen_cpu_add(&s->monitors, pids[i], "a monitor");
	if (d->pid > 0) {
		scen_cpu_add(&s->fscd, d->pid, "fscd");
		if (fsc_harness_counters(d->name, s->ctr) < 0)
			fscd_bench_die("fscd's table %s is gone; see %s", d->name, d->log);
	}
	scen_cpu_add(&s->appender, r->appender, "the appender");
	s->appends = atomic_load(&r->app->appends);
	s->t_ns = fsc_harness_now_ns();
}

static void scen_cpu_delta(struct fscd_bench_cpu *out, const struct fscd_bench_cpu *a,
			   const struct fscd_bench_cpu *b)
{
	out->stat_ns = b->stat_ns - a->stat_ns;
	out->sched_ns = b->sched_ns - a->sched_ns;
}

static void scen_window_deltas(const struct scen_snapshot *a, const struct scen_snapshot *b,
			       struct scen_result *res)
{
	res->window_s = (double)(b->t_ns - a->t_ns) / 1e9;
	scen_cpu_delta(&res->monitors, &a->monitors, &b->monitors);
	scen_cpu_delta(&res->fscd, &a->fscd, &b->fscd);
	scen_cpu_delta(&res->appender, &a->appender, &b->appender);
	res->appends = b->appends - a->appends;
	res->fscd_events = b->ctr[FSC_CTR_EVENTS] - a->ctr[FSC_CTR_EVENTS];
	res->fscd_stats = b->ctr[FSC_CTR_STATS] - a->ctr[FSC_CTR_STATS];
	res->fscd_overflows = b->ctr[FSC_CTR_OVERFLOWS] - a->ctr[FSC_CTR_OVERFLOWS];
}

/* Starts fscd on the tree and waits until every file is in its table. */
static void scen_fscd_up(const struct scen_run *r, struct fsc_harness_fscd *d,
			 struct scen_result *res)
{
	const struct scen_opts *o = r->o;
	char log[4096];
	snprintf(log, sizeof(log), "%s.fscd.log", r->root);
	uint64_t t0 = fsc_harness_now_ns();
	fsc_t *c = fscd_bench_daemon_up(d, &o->common, r->root, o->common.capacity, log,
					SCEN_FSCD_TIMEOUT_NS);
	res->fscd_published_ns = fsc_harness_now_ns() - t0;
	uint64_t expected = (uint64_t)r->files.n + (uint64_t)o->common.dirs + 1;
	if (fscd_bench_wait_entries(d->name, expected, SCEN_FSCD_TIMEOUT_NS) < 0)
		fscd_bench_die("fscd did not serve the tree in table %s; see %s", d->name, log);
	res->fscd_all_entries_ns = fsc_harness_now_ns() - t0;
	struct fscd_bench_cpu cpu;
	if (fscd_bench_cpu_read(d->pid, &cpu) == 0)
		res->fscd_setup_cpu_ns = scen_cpu_ns(&cpu);
	fsc_close(c);
}

static void scen_fork_monitors(const struct scen_run *r, int k, enum scen_mode mode, char *mem,
			       size_t stride, pid_t *pids)
{
	uint64_t now = fsc_harness_now_ns();
	for (int i = 0; i < k; i++) {
		struct scen_monitor_args a = {
		    .files = &r->files,
		    .app = r->app,
		    .phase = (struct scen_phase_shared *)mem,
		    .report = (struct scen_monitor_report *)(mem + SCEN_PHASE_HEADER + stride * i),
		    .sample_cap = r->sample_cap,
		    .mode = mode,
		    .table = mode != SCEN_MODE_STAT ? r->o->common.name : NULL,
		    .journal_dedup = r->o->journal_dedup,
		    .period_ns = r->o->period_ns,
		    .first_tick_ns = now + r->o->period_ns * (uint64_t)i / (uint64_t)k};
		pids[i] = scen_spawn_monitor(&a);
		if (pids[i] < 0)
			fscd_bench_die("fork: %s", strerror(errno));
	}
}

/* Waits until every monitor has completed a scan begun a period after the window, so the
 * appends of the window's last moments are seen; then stops and reaps them. */
static void scen_finish_monitors(char *mem, size_t stride, const pid_t *pids, int k)
{
	struct scen_phase_shared *ph = (struct scen_phase_shared *)mem;
	uint64_t end = fsc_harness_now_ns() + SCEN_DRAIN_TIMEOUT_NS;
	for (int i = 0; i < k; i++) {
		struct scen_monitor_report *rep =
		    (struct scen_monitor_report *)(mem + SCEN_PHASE_HEADER + stride * i);
		while (atomic_load(&rep->last_scan_begin_ns) < ph->window_end_ns &&
		       fsc_harness_now_ns() < end)
			fsc_harness_sleep_ns(FSCD_BENCH_NS_PER_MS);
	}
	atomic_store(&ph->stop, true);
	for (int i = 0; i < k; i++) {
		int status;
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			struct scen_monitor_report *rep =
			    (struct scen_monitor_report *)(mem + SCEN_PHASE_HEADER + stride * i);
			int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
			const char *what = code == 3   ? "fsc_open"
					   : code == 4 ? "fsc_journal_start (fscd --journal-kib 0?)"
						       : NULL;
			if (what)
				fscd_bench_die("monitor %d: %s failed: %s", i, what,
					       strerror(rep->open_errno));
			fscd_bench_die("monitor %d failed (wait status %d)", i, status);
		}
	}
}

/* Sums the monitors' reports into res, and the delay percentiles over all their samples. */
static void scen_collect(const struct scen_run *r, char *mem, size_t stride, int k,
			 struct scen_result *res)
{
	uint64_t total = 0;
	res->scans_per_s_min = -1;
	for (int i = 0; i < k; i++) {
		const struct scen_monitor_report *rep =
		    (const struct scen_monitor_report *)(mem + SCEN_PHASE_HEADER + stride * i);
		res->scans += rep->scans;
		res->late_scans += rep->late_scans;
		res->scan_ns_sum += rep->scan_ns_sum;
		res->scan_ns_max =
		    rep->scan_ns_max > res->scan_ns_max ? rep->scan_ns_max : res->scan_ns_max;
		res->stat_errors += rep->stat_errors;
		res->lost += rep->lost_samples;
		res->dropped += rep->dropped_samples;
		res->verify_hits += rep->verify_hits;
		res->verify_total += rep->verify_total;
		res->back_to_back_scan_ns += rep->back_to_back_scan_ns / (uint64_t)k;
		res->journal_entries += rep->journal_entries;
		res->journal_own_entries += rep->journal_own_entries;
		res->journal_lookups += rep->journal_lookups;
		res->journal_lost += rep->journal_lost;
		res->journal_rescan_lookups += rep->journal_rescan_lookups;
		res->journal_start_errors += rep->journal_start_errors;
		if (rep->journal_tick_entries_max > res->journal_tick_entries_max)
			res->journal_tick_entries_max = rep->journal_tick_entries_max;
		double per_s = (double)rep->scans / ((double)r->o->window_ns / 1e9);
		if (res->scans_per_s_min < 0 || per_s < res->scans_per_s_min)
			res->scans_per_s_min = per_s;
		total += rep->nsamples;
	}
	uint64_t *all = malloc((total ? total : 1) * sizeof(*all)), n = 0;
	if (!all)
		fscd_bench_die("out of memory");
	for (int i = 0; i < k; i++) {
		const struct scen_monitor_report *rep =
		    (const struct scen_monitor_report *)(mem + SCEN_PHASE_HEADER + stride * i);
		memcpy(all + n, rep->delay_ns, rep->nsamples * sizeof(*all));
		n += rep->nsamples;
	}
	fscd_bench_percentiles(all, (size_t)n, &res->delay);
	free(all);
}

static void scen_phase(struct scen_run *r, int k, enum scen_mode mode, struct scen_result *res)
{
	const struct scen_opts *o = r->o;
	struct fsc_harness_fscd d = {0};
	bool fsc = mode != SCEN_MODE_STAT; /* runs an fscd */
	memset(res, 0, sizeof(*res));
	res->k = k;
	res->mode = mode;
	if (fsc)
		scen_fscd_up(r, &d, res);
	size_t stride = scen_report_stride(r->sample_cap);
	size_t bytes = SCEN_PHASE_HEADER + stride * (size_t)k;
	char *mem = scen_map_shared(bytes);
	struct scen_phase_shared *ph = (struct scen_phase_shared *)mem;
	ph->window_begin_ns = fsc_harness_now_ns() + o->warmup_ns;
	ph->window_end_ns = ph->window_begin_ns + o->window_ns;
	pid_t pids[SCEN_MONITORS_MAX];
	scen_fork_monitors(r, k, mode, mem, stride, pids);
	struct scen_snapshot s0, s1;
	scen_sleep_until(ph->window_begin_ns);
	scen_snapshot(r, pids, k, &d, &s0);
	scen_sleep_until(ph->window_end_ns);
	scen_snapshot(r, pids, k, &d, &s1);
	scen_window_deltas(&s0, &s1, res);
	scen_finish_monitors(mem, stride, pids, k);
	scen_collect(r, mem, stride, k, res);
	munmap(mem, bytes);
	if (fsc)
		fscd_bench_daemon_down(&d, true);
}

static void scen_setup(struct scen_run *r)
{
	const struct scen_opts *o = r->o;
	r->root = fscd_bench_mkdtemp(o->common.dir, "scenario");
	scen_make_files(r);
	/* every append a monitor can see in the window, plus slack */
	double window_s = (double)(o->window_ns + o->period_ns) / 1e9 + 1;
	r->sample_cap = (uint64_t)(o->rate * o->hot * window_s) + 1024;
	r->app_bytes = sizeof(*r->app) + (size_t)o->hot * SCEN_STAMP_RING * sizeof(uint64_t);
	r->app = scen_map_shared(r->app_bytes);
	r->appender = scen_spawn_appender(&r->files, r->app, o->rate * o->hot);
	if (r->appender < 0)
		fscd_bench_die("fork: %s", strerror(errno));
}

static void scen_teardown(struct scen_run *r)
{
	atomic_store(&r->app->stop, true);
	int status;
	waitpid(r->appender, &status, 0);
	if (atomic_load(&r->app->errors))
		fprintf(stderr, "appender: %llu write errors\n",
			(unsigned long long)atomic_load(&r->app->errors));
	munmap(r->app, r->app_bytes);
	fscd_bench_rmtree(r->root);
	for (int i = 0; i < r->files.n; i++)
		free(r->files.paths[i]);
	free(r->files.paths);
	free(r->files.hot_of);
	free(r->files.hot_paths);
	free(r->root);
}

int main(int argc, char **argv)
{
	static struct scen_run r;
	struct scen_opts o;
	scen_parse(&o, argc, argv);
	r.o = &o;
	scen_setup(&r);
	for (int i = 0; i < o.common.nmonitors; i++)
		for (int m = 0; m < SCEN_NMODES; m++)
			if (o.modes[m])
				scen_phase(&r, o.common.monitors[i], (enum scen_mode)m,
					   &r.res[r.nres++]);
	scen_teardown(&r);
	scen_report_json(&r);
	scen_report_text(&r);
	return 0;
}
