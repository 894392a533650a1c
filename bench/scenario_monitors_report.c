/* The report of scenario_monitors: one JSON object on stdout, a summary on stderr. */
#include <stdio.h>
#include <string.h>

#include "scenario_monitors.h"

static double scen_ms_per_s(uint64_t ns, double window_s)
{
	return (double)ns / 1e6 / window_s;
}

/* Monitors, plus fscd in fsc mode: the CPU the ratio compares (ms per second of wall time). */
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

static void scen_json_phase(const struct scen_run *r, const struct scen_result *x)
{
	double w = x->window_s;
	printf("{\"k\":%d,\"mode\":\"%s\",\"window_s\":%.3f,", x->k, x->fsc ? "fsc" : "stat", w);
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
	if (x->fsc)
		printf(",\"fscd\":{\"published_ms\":%.1f,\"all_entries_ms\":%.1f,"
		       "\"setup_cpu_ms\":%.1f,\"events_per_s\":%.0f,\"stats_per_s\":%.0f,"
		       "\"overflows\":%llu},\"table_hits_after_window\":%llu,"
		       "\"lookups_after_window\":%llu",
		       (double)x->fscd_published_ns / 1e6, (double)x->fscd_all_entries_ns / 1e6,
		       (double)x->fscd_setup_cpu_ns / 1e6, (double)x->fscd_events / w,
		       (double)x->fscd_stats / w, (unsigned long long)x->fscd_overflows,
		       (unsigned long long)x->verify_hits, (unsigned long long)x->verify_total);
	printf("}");
}

static const struct scen_result *scen_find(const struct scen_run *r, int k, bool fsc)
{
	for (int i = 0; i < r->nres; i++)
		if (r->res[i].k == k && r->res[i].fsc == fsc)
			return &r->res[i];
	return NULL;
}

/* Baseline over fsc for each K that ran in both modes; returns the ratio at SCEN_TARGET_K
 * (0 if it did not run). */
static double scen_json_comparison(const struct scen_run *r)
{
	double target = 0;
	printf("\"comparison\":[");
	for (int i = 0, n = 0; i < r->o->nmonitors; i++) {
		const struct scen_result *b = scen_find(r, r->o->monitors[i], false);
		const struct scen_result *f = scen_find(r, r->o->monitors[i], true);
		if (!b || !f)
			continue;
		double ratio = scen_total_ms(b) / scen_total_ms(f);
		double with_app = (scen_total_ms(b) + scen_appender_ms(b)) /
				  (scen_total_ms(f) + scen_appender_ms(f));
		double monitors_only = (double)scen_cpu_ns(&b->monitors) / b->window_s /
				       ((double)scen_cpu_ns(&f->monitors) / f->window_s);
		if (b->k == SCEN_TARGET_K)
			target = ratio;
		printf(
		    "%s{\"k\":%d,\"stat_total_cpu_ms_per_s\":%.2f,\"fsc_total_cpu_ms_per_s\":%.2f,"
		    "\"ratio\":%.2f,\"ratio_with_appender_on_both_sides\":%.2f,"
		    "\"ratio_monitors_only\":%.2f,\"stat_delay_p50_ms\":%.1f,"
		    "\"stat_delay_p99_ms\":%.1f,\"fsc_delay_p50_ms\":%.1f,"
		    "\"fsc_delay_p99_ms\":%.1f,\"stat_behind_schedule\":%s}",
		    n++ ? "," : "", b->k, scen_total_ms(b), scen_total_ms(f), ratio, with_app,
		    monitors_only, b->delay.p50 / 1e6, b->delay.p99 / 1e6, f->delay.p50 / 1e6,
		    f->delay.p99 / 1e6, scen_behind(r, b) ? "true" : "false");
	}
	printf("]");
	return target;
}

void scen_report_json(const struct scen_run *r)
{
	const struct scen_opts *o = r->o;
	printf("{\"benchmark\":\"scenario_monitors\",\"what\":\"K monitor processes each get "
	       "the size of every file once per period, stat(2) (mode stat) or fsc_stat on the "
	       "table of an fscd watching the tree (mode fsc), while an appender process grows "
	       "the hot files; CPU is schedstat run time over the window; total = monitors + "
	       "fscd; ratio = stat total / fsc total; notice delay = from just before an append "
	       "to the monitor's first scan showing it, bounded by the polling period in both "
	       "modes\",");
	printf("\"dirs\":%d,\"files_per_dir\":%d,\"files\":%d,\"hot_files\":%d,"
	       "\"appends_per_s_per_hot_file\":%.1f,\"target_appends_per_s\":%.0f,"
	       "\"period_ms\":%.1f,\"warmup_ms\":%.0f,\"window_ms\":%.0f,\"capacity\":%llu,"
	       "\"fscd\":\"%s\",",
	       o->dirs, o->files, r->files.n, o->hot, o->rate, o->rate * o->hot,
	       (double)o->period_ns / 1e6, (double)o->warmup_ns / 1e6, (double)o->window_ns / 1e6,
	       (unsigned long long)o->capacity, o->common.fscd);
	fscd_bench_json_machine(stdout);
	printf(",\"phases\":[");
	for (int i = 0; i < r->nres; i++) {
		printf(i ? "," : "");
		scen_json_phase(r, &r->res[i]);
	}
	printf("],");
	double ratio = scen_json_comparison(r);
	printf(",\"target\":{\"k\":%d,\"min_ratio\":%.0f,\"ratio\":%.2f,\"met\":%s}}\n",
	       SCEN_TARGET_K, SCEN_TARGET_RATIO, ratio,
	       ratio >= SCEN_TARGET_RATIO ? "true" : (ratio > 0 ? "false" : "null"));
}

void scen_report_text(const struct scen_run *r)
{
	fprintf(stderr,
		"%d files (%d x %d), %d hot at %.0f appends/s each, period %.0f ms, "
		"window %.1f s\n",
		r->files.n, r->o->dirs, r->o->files, r->o->hot, r->o->rate,
		(double)r->o->period_ns / 1e6, (double)r->o->window_ns / 1e9);
	for (int i = 0; i < r->nres; i++) {
		const struct scen_result *x = &r->res[i];
		double w = x->window_s;
		fprintf(
		    stderr,
		    "K=%-2d %-4s total %7.1f ms/s (monitors %7.1f, fscd %5.1f) | appender "
		    "%4.1f ms/s, %.0f appends/s | scans/s per monitor %.2f (slowest %.2f)%s, "
		    "scan %.2f ms (back to back %.2f) | delay p50 %.1f ms p99 %.1f ms (n=%zu)\n",
		    x->k, x->fsc ? "fsc" : "stat", scen_total_ms(x),
		    scen_ms_per_s(scen_cpu_ns(&x->monitors), w),
		    scen_ms_per_s(scen_cpu_ns(&x->fscd), w), scen_appender_ms(x),
		    (double)x->appends / w, scen_scans_per_s(r, x), x->scans_per_s_min,
		    scen_behind(r, x) ? " BEHIND SCHEDULE" : "",
		    x->scans ? (double)x->scan_ns_sum / (double)x->scans / 1e6 : 0.0,
		    (double)x->back_to_back_scan_ns / 1e6, x->delay.p50 / 1e6, x->delay.p99 / 1e6,
		    x->delay.n);
	}
	for (int i = 0; i < r->o->nmonitors; i++) {
		const struct scen_result *b = scen_find(r, r->o->monitors[i], false);
		const struct scen_result *f = scen_find(r, r->o->monitors[i], true);
		if (b && f)
			fprintf(stderr, "K=%-2d stat/fsc total CPU: %.1fx\n", b->k,
				scen_total_ms(b) / scen_total_ms(f));
	}
}
