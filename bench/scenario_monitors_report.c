/* The report of scenario_monitors: one JSON object on stdout, a summary on stderr. */
#include <stdio.h>
#include <string.h>

#include "scenario_monitors.h"

static double scen_ms_per_s(uint64_t ns, double window_s)
{
	return (double)ns / 1e6 / window_s;
}

/* Monitors, plus fscd in fsc and journal modes: the CPU the ratios compare (ms per second of
 * wall time). */
static double scen_total_ms(const struct scen_result *x)
{
	return scen_ms_per_s(scen_cpu_ns(&x->monitors) + scen_cpu_ns(&x->fscd), x->window_s);
}

static double scen_appender_ms(const struct scen_result *x)
{
	return scen_ms_per_s(scen_cpu_ns(&x->appender), x->window_s);
}

static double scen_scans_per_s(const struct scen_run *r, const struct scen_result *x)
{
	return (double)x->scans / (double)x->k / ((double)r->o->window_ns / 1e9);
}

static bool scen_behind(const struct scen_run *r, const struct scen_result *x)
{
	return x->scans_per_s_min < 0.95 * (1e9 / (double)r->o->period_ns);
}

/* a / b as a JSON number after ,"key": (null when b is 0: a monitor that used no CPU). */
static void scen_json_ratio(const char *key, double a, double b)
{
	if (b > 0)
		printf(",\"%s\":%.2f", key, a / b);
	else
		printf(",\"%s\":null", key);
}

static double scen_per_s_per_monitor(uint64_t n, const struct scen_result *x)
{
	return (double)n / x->window_s / (double)x->k;
}

static void scen_json_journal(const struct scen_run *r, const struct scen_result *x)
{
	printf(",\"journal\":{\"lookups_per_tick\":\"%s\",\"entries\":%llu,"
	       "\"entries_per_s_per_monitor\":%.1f,\"own_entries\":%llu,\"lookups\":%llu,"
	       "\"lookups_per_s_per_monitor\":%.1f,\"entries_max_per_tick\":%llu,"
	       "\"cursors_lost\":%llu,\"rescan_lookups\":%llu,\"start_errors\":%llu}",
	       r->o->journal_dedup ? "one_per_changed_file" : "one_per_entry",
	       (unsigned long long)x->journal_entries,
	       scen_per_s_per_monitor(x->journal_entries, x),
	       (unsigned long long)x->journal_own_entries, (unsigned long long)x->journal_lookups,
	       scen_per_s_per_monitor(x->journal_lookups, x),
	       (unsigned long long)x->journal_tick_entries_max, (unsigned long long)x->journal_lost,
	       (unsigned long long)x->journal_rescan_lookups,
	       (unsigned long long)x->journal_start_errors);
}

static void scen_json_phase(const void *ctx, int i)
{
	const struct scen_run *r = ctx;
	const struct scen_result *x = &r->res[i];
	double w = x->window_s;
	printf("{\"k\":%d,\"mode\":\"%s\",\"window_s\":%.3f,", x->k, scen_mode_name(x->mode), w);
	printf("\"cpu_ms_per_s\":{\"total\":%.2f,\"monitors\":%.2f,\"per_monitor\":%.2f,"
	       "\"fscd\":%.2f,\"appender\":%.2f,\"monitors_by_stat_ticks\":%.1f,"
	       "\"fscd_by_stat_ticks\":%.1f},",
	       scen_total_ms(x), scen_ms_per_s(scen_cpu_ns(&x->monitors), w),
	       scen_ms_per_s(scen_cpu_ns(&x->monitors), w) / x->k,
	       scen_ms_per_s(scen_cpu_ns(&x->fscd), w), scen_appender_ms(x),
	       scen_ms_per_s(x->monitors.stat_ns, w), scen_ms_per_s(x->fscd.stat_ns, w));
	printf("\"scans\":{\"target_per_s_per_monitor\":%.1f,\"per_s_per_monitor\":%.2f,"
	       "\"per_s_slowest_monitor\":%.2f,\"behind_schedule\":%s,\"late_scans\":%llu,"
	       "\"scan_ms_mean\":%.2f,\"scan_ms_max\":%.2f,\"scan_ms_back_to_back\":%.2f,"
	       "\"stat_errors\":%llu},",
	       1e9 / (double)r->o->period_ns, scen_scans_per_s(r, x), x->scans_per_s_min,
	       scen_behind(r, x) ? "true" : "false", (unsigned long long)x->late_scans,
	       x->scans ? (double)x->scan_ns_sum / (double)x->scans / 1e6 : 0.0,
	       (double)x->scan_ns_max / 1e6, (double)x->back_to_back_scan_ns / 1e6,
	       (unsigned long long)x->stat_errors);
	printf("\"appends_per_s\":%.0f,", (double)x->appends / w);
	fscd_bench_json_pct_us(stdout, "notice_delay", &x->delay);
	printf(",\"samples_lost\":%llu,\"samples_dropped\":%llu", (unsigned long long)x->lost,
	       (unsigned long long)x->dropped);
	if (x->mode != SCEN_MODE_STAT)
		printf(",\"fscd\":{\"published_ms\":%.1f,\"all_entries_ms\":%.1f,"
		       "\"setup_cpu_ms\":%.1f,\"events_per_s\":%.0f,\"stats_per_s\":%.0f,"
		       "\"overflows\":%llu},\"table_hits_after_window\":%llu,"
		       "\"lookups_after_window\":%llu",
		       (double)x->fscd_published_ns / 1e6, (double)x->fscd_all_entries_ns / 1e6,
		       (double)x->fscd_setup_cpu_ns / 1e6, (double)x->fscd_events / w,
		       (double)x->fscd_stats / w, (unsigned long long)x->fscd_overflows,
		       (unsigned long long)x->verify_hits, (unsigned long long)x->verify_total);
	if (x->mode == SCEN_MODE_JOURNAL)
		scen_json_journal(r, x);
	printf("}");
}

static const struct scen_result *scen_find(const struct scen_run *r, int k, enum scen_mode mode)
{
	for (int i = 0; i < r->nres; i++)
		if (r->res[i].k == k && r->res[i].mode == mode)
			return &r->res[i];
	return NULL;
}

/* The phases of K in stat (*b), fsc (*f) and journal (*j) mode, NULL where one did not run;
 * true if there is a baseline and something to compare it with. */
static bool scen_compared(const struct scen_run *r, int k, const struct scen_result **b,
			  const struct scen_result **f, const struct scen_result **j)
{
	*b = scen_find(r, k, SCEN_MODE_STAT);
	*f = scen_find(r, k, SCEN_MODE_FSC);
	*j = scen_find(r, k, SCEN_MODE_JOURNAL);
	return *b && (*f || *j);
}

/* The fields comparing baseline b with x (mode fsc or journal) in a comparison entry. */
static void scen_json_versus(const struct scen_result *b, const struct scen_result *x)
{
	const char *m = scen_mode_name(x->mode);
	bool fsc = x->mode == SCEN_MODE_FSC; /* the fsc fields keep their first names */
	char key[64];
	snprintf(key, sizeof(key), "%s_total_cpu_ms_per_s", m);
	printf(",\"%s\":%.2f", key, scen_total_ms(x));
	snprintf(key, sizeof(key), "ratio%s%s", fsc ? "" : "_", fsc ? "" : m);
	scen_json_ratio(key, scen_total_ms(b), scen_total_ms(x));
	snprintf(key, sizeof(key), "ratio%s%s_with_appender_on_both_sides", fsc ? "" : "_",
		 fsc ? "" : m);
	scen_json_ratio(key, scen_total_ms(b) + scen_appender_ms(b),
			scen_total_ms(x) + scen_appender_ms(x));
	snprintf(key, sizeof(key), "ratio%s%s_monitors_only", fsc ? "" : "_", fsc ? "" : m);
	scen_json_ratio(key, (double)scen_cpu_ns(&b->monitors) / b->window_s,
			(double)scen_cpu_ns(&x->monitors) / x->window_s);
	printf(",\"%s_delay_p50_ms\":%.1f,\"%s_delay_p99_ms\":%.1f", m, x->delay.p50 / 1e6, m,
	       x->delay.p99 / 1e6);
}

/* Baseline over fsc and over journal for each K that ran in stat mode and another; returns
 * the ratios at SCEN_TARGET_K in target[mode] (0 if it did not run). */
static void scen_json_comparison(const struct scen_run *r, double target[SCEN_NMODES])
{
	printf("\"comparison\":[");
	for (int i = 0, n = 0; i < r->o->common.nmonitors; i++) {
		int k = r->o->common.monitors[i];
		const struct scen_result *b, *f, *j;
		if (!scen_compared(r, k, &b, &f, &j))
			continue;
		printf("%s{\"k\":%d,\"stat_total_cpu_ms_per_s\":%.2f", n++ ? "," : "", k,
		       scen_total_ms(b));
		if (f)
			scen_json_versus(b, f);
		if (j)
			scen_json_versus(b, j);
		if (f && j)
			scen_json_ratio("fsc_over_journal", scen_total_ms(f), scen_total_ms(j));
		printf(",\"stat_delay_p50_ms\":%.1f,\"stat_delay_p99_ms\":%.1f,"
		       "\"stat_behind_schedule\":%s}",
		       b->delay.p50 / 1e6, b->delay.p99 / 1e6,
		       scen_behind(r, b) ? "true" : "false");
		for (int m = SCEN_MODE_FSC; m < SCEN_NMODES; m++) {
			const struct scen_result *x = m == SCEN_MODE_FSC ? f : j;
			if (k == SCEN_TARGET_K && x && scen_total_ms(x) > 0)
				target[m] = scen_total_ms(b) / scen_total_ms(x);
		}
	}
	printf("]");
}

static const char *scen_met(double ratio)
{
	return ratio >= SCEN_TARGET_RATIO ? "true" : (ratio > 0 ? "false" : "null");
}

void scen_report_json(const struct scen_run *r)
{
	const struct scen_opts *o = r->o;
	fscd_bench_json_begin(
	    "scenario_monitors",
	    "K monitor processes each get the size of every file once per period, stat(2) of every "
	    "file (mode stat), fsc_stat of every file on the table of an fscd watching the tree "
	    "(mode fsc), or fsc_stat of the files named by fsc's change journal since the last "
	    "period, after a baseline and after any lost cursor (mode journal), while an appender "
	    "process grows the hot files; CPU is schedstat run time over the window; total = "
	    "monitors + fscd; ratio = stat total / fsc total, ratio_journal = stat total / journal "
	    "total; notice delay = from just before an append to the monitor's first look showing "
	    "it, bounded by the polling period in every mode");
	printf("\"dirs\":%d,\"files_per_dir\":%d,\"files\":%d,\"hot_files\":%d,"
	       "\"appends_per_s_per_hot_file\":%.1f,\"target_appends_per_s\":%.0f,"
	       "\"period_ms\":%.1f,\"warmup_ms\":%.0f,\"window_ms\":%.0f,\"capacity\":%llu,"
	       "\"fscd\":\"%s\",\"journal_lookups_per_tick\":\"%s\",",
	       o->common.dirs, o->common.files, r->files.n, o->hot, o->rate, o->rate * o->hot,
	       (double)o->period_ns / 1e6, (double)o->warmup_ns / 1e6, (double)o->window_ns / 1e6,
	       (unsigned long long)o->common.capacity, o->common.fscd,
	       o->journal_dedup ? "one_per_changed_file" : "one_per_entry");
	fscd_bench_json_machine(stdout);
	printf(",");
	fscd_bench_json_array("phases", r->nres, scen_json_phase, r);
	printf(",");
	double target[SCEN_NMODES] = {0};
	scen_json_comparison(r, target);
	printf(",\"target\":{\"k\":%d,\"min_ratio\":%.0f,\"ratio\":%.2f,\"met\":%s,"
	       "\"ratio_journal\":%.2f,\"met_journal\":%s}}\n",
	       SCEN_TARGET_K, SCEN_TARGET_RATIO, target[SCEN_MODE_FSC],
	       scen_met(target[SCEN_MODE_FSC]), target[SCEN_MODE_JOURNAL],
	       scen_met(target[SCEN_MODE_JOURNAL]));
}

static void scen_text_journal(const struct scen_result *x)
{
	fprintf(stderr,
		"     journal: %.0f entries/s per monitor (%llu in all, %llu of the files, at "
		"most %llu in a tick), %.0f lookups/s per monitor, %llu cursors lost (%llu "
		"rescan lookups), %llu journal_start errors\n",
		scen_per_s_per_monitor(x->journal_entries, x),
		(unsigned long long)x->journal_entries, (unsigned long long)x->journal_own_entries,
		(unsigned long long)x->journal_tick_entries_max,
		scen_per_s_per_monitor(x->journal_lookups, x), (unsigned long long)x->journal_lost,
		(unsigned long long)x->journal_rescan_lookups,
		(unsigned long long)x->journal_start_errors);
}

static void scen_text_phase(const struct scen_run *r, const struct scen_result *x)
{
	double w = x->window_s;
	fprintf(stderr,
		"K=%-2d %-7s total %7.1f ms/s (monitors %7.1f, fscd %5.1f) | appender "
		"%4.1f ms/s, %.0f appends/s | scans/s per monitor %.2f (slowest %.2f)%s, "
		"scan %.2f ms (back to back %.2f) | delay p50 %.1f ms p99 %.1f ms (n=%zu)\n",
		x->k, scen_mode_name(x->mode), scen_total_ms(x),
		scen_ms_per_s(scen_cpu_ns(&x->monitors), w),
		scen_ms_per_s(scen_cpu_ns(&x->fscd), w), scen_appender_ms(x),
		(double)x->appends / w, scen_scans_per_s(r, x), x->scans_per_s_min,
		scen_behind(r, x) ? " BEHIND SCHEDULE" : "",
		x->scans ? (double)x->scan_ns_sum / (double)x->scans / 1e6 : 0.0,
		(double)x->back_to_back_scan_ns / 1e6, x->delay.p50 / 1e6, x->delay.p99 / 1e6,
		x->delay.n);
	if (x->mode == SCEN_MODE_JOURNAL)
		scen_text_journal(x);
}

void scen_report_text(const struct scen_run *r)
{
	fprintf(stderr,
		"%d files (%d x %d), %d hot at %.0f appends/s each, period %.0f ms, "
		"window %.1f s\n",
		r->files.n, r->o->common.dirs, r->o->common.files, r->o->hot, r->o->rate,
		(double)r->o->period_ns / 1e6, (double)r->o->window_ns / 1e9);
	for (int i = 0; i < r->nres; i++)
		scen_text_phase(r, &r->res[i]);
	for (int i = 0; i < r->o->common.nmonitors; i++) {
		int k = r->o->common.monitors[i];
		const struct scen_result *b, *f, *j;
		if (!scen_compared(r, k, &b, &f, &j))
			continue;
		fprintf(stderr, "K=%-2d", k);
		if (f)
			fprintf(stderr, " stat/fsc total CPU: %.1fx",
				scen_total_ms(b) / scen_total_ms(f));
		if (j)
			fprintf(stderr, "%s stat/journal total CPU: %.1fx", f ? "," : "",
				scen_total_ms(b) / scen_total_ms(j));
		if (f && j)
			fprintf(stderr, " (fsc/journal %.1fx)",
				scen_total_ms(f) / scen_total_ms(j));
		fprintf(stderr, "\n");
	}
}
