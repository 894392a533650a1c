/* The appender and monitor processes of scenario_monitors (see scenario_monitors.h). */
#define _GNU_SOURCE
#include "scenario_monitors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fscd_bench_util.h"

#define SCEN_APPENDER_TICK_NS (1 * FSCD_BENCH_NS_PER_MS)

/* fork(2) for a child that must not outlive the benchmark. */
static pid_t scen_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) /* died before PDEATHSIG was set */
			_exit(1);
	}
	return pid;
}

void scen_sleep_until(uint64_t when_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(when_ns / FSCD_BENCH_NS_PER_S),
			      .tv_nsec = (long)(when_ns % FSCD_BENCH_NS_PER_S)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

size_t scen_report_stride(uint64_t sample_cap)
{
	size_t bytes = sizeof(struct scen_monitor_report) + sample_cap * sizeof(uint64_t);
	return (bytes + 63) & ~(size_t)63;
}

/* One append to hot file h, whose size the appender tracks in *size. The time goes into the
 * ring before the write, so whoever sees the new size also finds its time. */
static void scen_append_one(struct scen_appender_shared *app, int h, int fd, uint64_t *size)
{
	uint64_t next = *size + 1;
	size_t slot = (size_t)h * SCEN_STAMP_RING + next % SCEN_STAMP_RING;
	atomic_store_explicit(&app->stamp[slot], fsc_harness_now_ns(), memory_order_release);
	if (write(fd, "x", 1) == 1) {
		*size = next;
		atomic_fetch_add_explicit(&app->appends, 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&app->errors, 1, memory_order_relaxed);
	}
}

static void scen_appender_run(const struct scen_files *f, struct scen_appender_shared *app,
			      double rate_per_s)
{
	int *fds = calloc((size_t)f->nhot, sizeof(*fds));
	uint64_t *size = calloc((size_t)f->nhot, sizeof(*size));
	if (!fds || !size)
		_exit(2);
	for (int h = 0; h < f->nhot; h++) {
		struct stat st;
		fds[h] = open(f->hot_paths[h], O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fds[h] < 0 || fstat(fds[h], &st) < 0)
			_exit(2);
		size[h] = (uint64_t)st.st_size;
	}
	const uint64_t backlog_max = (uint64_t)(rate_per_s / 100.0) + 1; /* 10 ms of appends */
	uint64_t start = fsc_harness_now_ns(), done = 0;
	int next = 0;
	while (!atomic_load_explicit(&app->stop, memory_order_relaxed)) {
		uint64_t due =
		    (uint64_t)((double)(fsc_harness_now_ns() - start) * rate_per_s / 1e9);
		if (due > done + backlog_max) {
			atomic_fetch_add_explicit(&app->dropped, due - backlog_max - done,
						  memory_order_relaxed);
			done = due - backlog_max;
		}
		for (; done < due; done++) {
			scen_append_one(app, next, fds[next], &size[next]);
			next = next + 1 < f->nhot ? next + 1 : 0;
		}
		fsc_harness_sleep_ns(SCEN_APPENDER_TICK_NS);
	}
	_exit(0);
}

pid_t scen_spawn_appender(const struct scen_files *f, struct scen_appender_shared *app,
			  double rate_per_s)
{
	pid_t pid = scen_fork();
	if (pid == 0)
		scen_appender_run(f, app, rate_per_s);
	return pid;
}

const char *scen_mode_name(enum scen_mode mode)
{
	static const char *const names[SCEN_NMODES] = {"stat", "fsc", "journal"};
	return (unsigned)mode < SCEN_NMODES ? names[mode] : "?";
}

/* Hot file h grew from old to size bytes, seen at seen_ns: one delay sample per append in
 * between whose time falls in the window. */
static void scen_notice(struct scen_monitor *m, int h, off_t old, off_t size, uint64_t seen_ns)
{
	struct scen_monitor_report *r = m->a->report;
	const struct scen_phase_shared *p = m->a->phase;
	if (size < old) /* truncated: not in this workload */
		return;
	if (size - old >= (off_t)SCEN_STAMP_RING) {
		r->lost_samples += (uint64_t)(size - old);
		return;
	}
	for (off_t s = old + 1; s <= size; s++) {
		size_t slot = (size_t)h * SCEN_STAMP_RING + (uint64_t)s % SCEN_STAMP_RING;
		uint64_t t = atomic_load_explicit(&m->a->app->stamp[slot], memory_order_acquire);
		if (t == 0 || t > seen_ns) { /* overwritten by a later append */
			r->lost_samples++;
			continue;
		}
		if (t < p->window_begin_ns || t >= p->window_end_ns)
			continue;
		if (r->nsamples < m->a->sample_cap)
			r->delay_ns[r->nsamples++] = seen_ns - t;
		else
			r->dropped_samples++;
	}
}

void scen_update(struct scen_monitor *m, int i, off_t size, bool record, uint64_t seen_ns)
{
	if (size == m->last[i])
		return;
	int h = m->a->files->hot_of[i];
	if (record && h >= 0)
		scen_notice(m, h, m->last[i], size, seen_ns);
	m->last[i] = size;
}

void scen_scan(struct scen_monitor *m, bool record)
{
	const struct scen_files *f = m->a->files;
	struct stat st;
	for (int i = 0; i < f->n; i++) {
		int rc = m->c ? fsc_stat(m->c, f->paths[i], &st) : stat(f->paths[i], &st);
		if (rc < 0) {
			if (record)
				m->a->report->stat_errors++;
			continue;
		}
		if (st.st_size == m->last[i])
			continue;
		scen_update(m, i, st.st_size, record, fsc_harness_now_ns());
	}
}

/* One scan per tick. A scan that ends after the next tick was due is late; the next one then
 * starts at once (a monitor trying to keep up), and the schedule continues from there. */
static void scen_monitor_loop(struct scen_monitor *m)
{
	const struct scen_monitor_args *a = m->a;
	struct scen_monitor_report *r = a->report;
	uint64_t tick = a->first_tick_ns;
	while (!atomic_load_explicit(&a->phase->stop, memory_order_relaxed)) {
		scen_sleep_until(tick);
		uint64_t begin = fsc_harness_now_ns();
		bool in_window =
		    begin >= a->phase->window_begin_ns && begin < a->phase->window_end_ns;
		if (m->j)
			scen_journal_tick(m, in_window);
		else
			scen_scan(m, true);
		uint64_t end = fsc_harness_now_ns();
		tick += a->period_ns;
		if (in_window) {
			r->scans++;
			r->scan_ns_sum += end - begin;
			r->scan_ns_max =
			    end - begin > r->scan_ns_max ? end - begin : r->scan_ns_max;
			r->late_scans += end > tick;
		}
		if (end > tick)
			tick = end;
		atomic_store_explicit(&r->last_scan_begin_ns, begin, memory_order_release);
	}
}

static void scen_monitor_run(const struct scen_monitor_args *a)
{
	struct scen_monitor m = {.a = a};
	if (a->mode != SCEN_MODE_STAT) {
		m.c = fsc_open(a->table);
		if (!m.c) {
			a->report->open_errno = errno;
			_exit(3);
		}
	}
	m.last = calloc((size_t)a->files->n, sizeof(*m.last));
	if (!m.last)
		_exit(2);
	if (a->mode == SCEN_MODE_JOURNAL) { /* a cursor, then the sizes */
		if (scen_journal_init(&m) < 0) {
			a->report->open_errno = errno;
			_exit(4);
		}
	} else {
		scen_scan(&m, false); /* learn the sizes */
	}
	for (int i = 0; i < 3; i++) { /* the fastest of three scans in a row: warm caches */
		uint64_t t0 = fsc_harness_now_ns();
		scen_scan(&m, false);
		uint64_t took = fsc_harness_now_ns() - t0;
		if (!i || took < a->report->back_to_back_scan_ns)
			a->report->back_to_back_scan_ns = took;
	}
	scen_monitor_loop(&m);
	if (m.c) {
		struct stat st;
		for (int i = 0; i < a->files->n; i++)
			a->report->verify_hits +=
			    fsc_lookup(m.c, a->files->paths[i], &st, NULL) == FSC_HIT;
		a->report->verify_total = (uint64_t)a->files->n;
		scen_journal_free(&m);
		fsc_close(m.c);
	}
	_exit(0);
}

pid_t scen_spawn_monitor(const struct scen_monitor_args *a)
{
	pid_t pid = scen_fork();
	if (pid == 0)
		scen_monitor_run(a);
	return pid;
}
