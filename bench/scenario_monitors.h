/* The headline scenario (scenario_monitors.c: options, phases, main). Its processes
 * (scenario_monitors_procs.c): one appender that grows the hot log files at a paced rate, and
 * K monitors that know the size of every file each period: with stat(2) or fsc_stat of every
 * file, or (scenario_journal.c) by reading fsc's change journal and fsc_stat-ing what changed.
 * They report through MAP_SHARED anonymous memory made by the parent before it forks them, so
 * all of them are separate processes whose CPU time the parent reads from /proc. The report
 * (scenario_monitors_report.c): JSON on stdout, a summary on stderr.
 */
#ifndef SCENARIO_MONITORS_H
#define SCENARIO_MONITORS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fscd_bench_util.h"

/* Append times kept per hot file: 10 s of history at 100 appends/s per file. */
#define SCEN_STAMP_RING 1024u

/* How a monitor learns the sizes. */
enum scen_mode {
	SCEN_MODE_STAT,	   /* stat(2) of every file each period */
	SCEN_MODE_FSC,	   /* fsc_stat of every file each period */
	SCEN_MODE_JOURNAL, /* each period, fsc_stat of the files the change journal names */
	SCEN_NMODES
};

/* "stat", "fsc", "journal" */
const char *scen_mode_name(enum scen_mode mode);

/* The files of the scenario. */
struct scen_files {
	char **paths; /* every file, in scan order */
	int n;
	int *hot_of;	  /* per path: the index of the hot file it is, or -1 */
	char **hot_paths; /* the hot files (pointers into paths) */
	int nhot;
};

/* Written by the appender, read by the monitors and the parent. */
struct scen_appender_shared {
	atomic_bool stop;
	_Atomic uint64_t appends, errors, dropped; /* dropped: behind by more than 10 ms */
	/* stamp[h * SCEN_STAMP_RING + s % SCEN_STAMP_RING]: CLOCK_MONOTONIC ns taken just before
	 * the write(2) that made hot file h s bytes long (one byte per append). */
	_Atomic uint64_t stamp[];
};

/* Shared by the parent and the monitors of one phase. */
struct scen_phase_shared {
	uint64_t window_begin_ns, window_end_ns; /* set before the monitors are forked */
	atomic_bool stop;
};

/* One monitor's report, followed by its delay samples. Counts cover the window: scans that
 * began in it, and appends made in it. */
struct scen_monitor_report {
	_Atomic uint64_t last_scan_begin_ns; /* of the last scan completed */
	uint64_t scans, scan_ns_sum, scan_ns_max;
	uint64_t late_scans; /* scans that ended after the next tick was due */
	uint64_t stat_errors;
	uint64_t nsamples, dropped_samples; /* dropped: more than sample_cap */
	uint64_t lost_samples;		    /* append time overwritten before it was read */
	uint64_t verify_hits, verify_total; /* fsc mode, after the window: fsc_lookup hits */
	uint64_t back_to_back_scan_ns;	    /* a scan right after another, before the loop */
	int open_errno;			    /* fsc_open (or the first fsc_journal_start) failed */
	/* journal mode, over the ticks that began in the window: */
	uint64_t journal_entries;	 /* FSC_CHANGE entries read */
	uint64_t journal_own_entries;	 /* of those, naming one of the scenario's files */
	uint64_t journal_lookups;	 /* fsc_stat calls made for them (rescans not included) */
	uint64_t journal_lost;		 /* FSC_CURSOR_LOST, each followed by a full rescan */
	uint64_t journal_rescan_lookups; /* fsc_stat calls of those rescans */
	uint64_t journal_start_errors;	 /* fsc_journal_start failed after a lost cursor */
	uint64_t journal_tick_entries_max;
	uint64_t delay_ns[];
};

struct scen_monitor_args {
	const struct scen_files *files;
	const struct scen_appender_shared *app;
	struct scen_phase_shared *phase;
	struct scen_monitor_report *report;
	uint64_t sample_cap;
	enum scen_mode mode;
	const char *table;  /* fsc table to read (fsc and journal modes) */
	bool journal_dedup; /* journal: one fsc_stat per changed file per tick, after the drain */
	uint64_t period_ns, first_tick_ns;
};

/* A monitor process's state (scenario_monitors_procs.c, scenario_journal.c). */
struct scen_journal;
struct scen_monitor {
	const struct scen_monitor_args *a;
	fsc_t *c; /* NULL: stat(2) */
	off_t *last;
	struct scen_journal *j; /* journal mode */
};

/* Gets the size of every file; record: note the growth of hot files as delay samples. */
void scen_scan(struct scen_monitor *m, bool record);
/* File i is size bytes long, seen at seen_ns: notes the growth of a hot file as delay samples
 * (if record) and remembers the size. */
void scen_update(struct scen_monitor *m, int i, off_t size, bool record, uint64_t seen_ns);
/* Journal mode (scenario_journal.c). init: takes a cursor, then the baseline (a scan);
 * 0, or -1 with errno from fsc_journal_start. tick: drains the journal and looks at the files
 * it names; record: count and sample (the tick began in the window). */
int scen_journal_init(struct scen_monitor *m);
void scen_journal_tick(struct scen_monitor *m, bool record);
void scen_journal_free(struct scen_monitor *m);

/* Forks the appender: rate_per_s one-byte appends a second in all, round robin over the hot
 * files, until app->stop. Returns its pid, or -1. */
pid_t scen_spawn_appender(const struct scen_files *f, struct scen_appender_shared *app,
			  double rate_per_s);
/* Forks a monitor that scans every file each period from first_tick_ns on, until
 * phase->stop. Returns its pid, or -1. Exit status 0; 3: fsc_open failed, 4: the first
 * fsc_journal_start failed (errno in report->open_errno). */
pid_t scen_spawn_monitor(const struct scen_monitor_args *a);
/* clock_nanosleep until CLOCK_MONOTONIC when_ns; at once if that is past. */
void scen_sleep_until(uint64_t when_ns);
/* Bytes one monitor report takes with room for sample_cap samples (a multiple of 64). */
size_t scen_report_stride(uint64_t sample_cap);

/* The parent's side. */
#define SCEN_K_MAX	  FSCD_BENCH_K_MAX
#define SCEN_MONITORS_MAX 256 /* largest K */
#define SCEN_TARGET_K	  4
#define SCEN_TARGET_RATIO 20.0

struct scen_opts {
	struct fscd_bench_common common;
	int hot;
	double rate; /* appends per second per hot file */
	uint64_t period_ns, warmup_ns, window_ns;
	bool modes[SCEN_NMODES]; /* which modes run, each K in the order of enum scen_mode */
	bool journal_dedup;
};

struct scen_result {
	int k;
	enum scen_mode mode;
	double window_s;
	struct fscd_bench_cpu monitors, fscd, appender; /* over the window */
	uint64_t appends, fscd_events, fscd_stats, fscd_overflows;
	uint64_t scans, late_scans, scan_ns_sum, scan_ns_max, stat_errors;
	double scans_per_s_min; /* of the slowest monitor */
	uint64_t lost, dropped, verify_hits, verify_total;
	uint64_t back_to_back_scan_ns; /* mean over the monitors */
	struct fscd_bench_pct delay;
	uint64_t fscd_published_ns, fscd_all_entries_ns, fscd_setup_cpu_ns;
	uint64_t journal_entries, journal_own_entries, journal_lookups, journal_lost;
	uint64_t journal_rescan_lookups, journal_start_errors, journal_tick_entries_max;
};

struct scen_run {
	const struct scen_opts *o;
	char *root;
	struct scen_files files;
	struct scen_appender_shared *app;
	size_t app_bytes;
	pid_t appender;
	uint64_t sample_cap;
	struct scen_result res[SCEN_NMODES * SCEN_K_MAX];
	int nres;
};

/* CPU time of a snapshot difference: schedstat run time, or clock ticks without it. */
static inline uint64_t scen_cpu_ns(const struct fscd_bench_cpu *c)
{
	return c->sched_ns ? c->sched_ns : c->stat_ns;
}

void scen_report_json(const struct scen_run *r);
void scen_report_text(const struct scen_run *r);

#endif
