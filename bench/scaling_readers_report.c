/* scaling_readers' report: medians over rounds, JSON on f (stdout) and a table (stderr). */
#define _GNU_SOURCE
#include "scaling_readers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct totals {
	double lookups_per_s;	 /* sum over readers of lookups / their own window */
	double per_reader_per_s; /* mean over readers */
	double cpu_share;	 /* mean over readers of CPU time / window */
	double per_cpu_s;	 /* lookups per CPU-second: the cost of one, time-sharing aside */
	uint64_t lookups, wrong, retries, retried_lookups, unavailable, traps;
};

static struct totals totals_of(const struct experiment *e, const struct run_result *r)
{
	struct totals t = {0};
	uint64_t cpu_ns = 0;
	for (unsigned i = 0; i < e->readers; i++) {
		const struct reader_result *x = &r->reader[i];
		double secs = (double)x->elapsed_ns / 1e9;
		t.lookups_per_s += secs > 0 ? (double)x->lookups / secs : 0;
		t.cpu_share += secs > 0 ? (double)x->cpu_ns / 1e9 / secs / e->readers : 0;
		t.lookups += x->lookups;
		t.wrong += x->wrong;
		t.retries += x->retries;
		t.retried_lookups += x->retried_lookups;
		t.unavailable += x->unavailable;
		t.traps += x->traps;
		cpu_ns += x->cpu_ns;
	}
	t.per_reader_per_s = t.lookups_per_s / e->readers;
	t.per_cpu_s = cpu_ns ? (double)t.lookups * 1e9 / (double)cpu_ns : 0;
	return t;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), compare_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct summary {
	double lookups_per_s, per_reader_per_s, cpu_share, per_cpu_s, updates_per_s; /* medians */
	struct totals sum; /* counts summed over rounds */
	size_t hints_set_min;
	uint64_t put_max_ns, puts_slow; /* longest over rounds, summed */
};

static struct summary summarize(const struct setup *s, const struct experiment *e, size_t i,
				const struct run_result (*results)[EXPERIMENTS_MAX])
{
	double agg[ROUNDS_MAX], per[ROUNDS_MAX], cpu[ROUNDS_MAX], upd[ROUNDS_MAX], pcs[ROUNDS_MAX];
	struct summary m = {.hints_set_min = SIZE_MAX};
	for (unsigned r = 0; r < s->opt.rounds; r++) {
		struct totals t = totals_of(e, &results[r][i]);
		agg[r] = t.lookups_per_s;
		per[r] = t.per_reader_per_s;
		cpu[r] = t.cpu_share;
		pcs[r] = t.per_cpu_s;
		upd[r] = results[r][i].updates_per_s;
		m.sum.lookups += t.lookups;
		m.sum.wrong += t.wrong;
		m.sum.retries += t.retries;
		m.sum.retried_lookups += t.retried_lookups;
		m.sum.unavailable += t.unavailable;
		m.sum.traps += t.traps;
		if (results[r][i].hints_set < m.hints_set_min)
			m.hints_set_min = results[r][i].hints_set;
		if (results[r][i].put_max_ns > m.put_max_ns)
			m.put_max_ns = results[r][i].put_max_ns;
		m.puts_slow += results[r][i].puts_slow;
	}
	m.lookups_per_s = median(agg, s->opt.rounds);
	m.per_reader_per_s = median(per, s->opt.rounds);
	m.cpu_share = median(cpu, s->opt.rounds);
	m.per_cpu_s = median(pcs, s->opt.rounds);
	m.updates_per_s = median(upd, s->opt.rounds);
	return m;
}

static const char *hint_policy_name(const struct experiment *e)
{
	if (e->loop == LOOP_LIBFSC)
		return "libfsc (if clear)";
	return e->hint == HINT_ALWAYS ? "always" : e->hint == HINT_IF_CLEAR ? "if clear" : "none";
}

static void json_experiment(FILE *f, const struct experiment *e)
{
	fprintf(f,
		"\"experiment\": \"%s\", \"readers\": %u, \"loop\": \"%s\", "
		"\"update_rate_target\": %u, \"clear_hints\": %s, \"trap_hint_stores\": %s, "
		"\"hot_keys\": %zu, \"hint_store\": \"%s\"",
		e->name, e->readers, e->loop == LOOP_LIBFSC ? "fsc_lookup" : "counted_read_path",
		e->update_rate, e->clear_hints ? "true" : "false", e->trap ? "true" : "false",
		e->hot_keys, hint_policy_name(e));
}

static void json_counts(FILE *f, const struct totals *t)
{
	fprintf(f,
		"\"lookups\": %" PRIu64 ", \"wrong_answers\": %" PRIu64 ", \"retries\": %" PRIu64
		", \"retried_lookups\": %" PRIu64 ", \"unavailable\": %" PRIu64
		", \"hint_store_traps\": %" PRIu64,
		t->lookups, t->wrong, t->retries, t->retried_lookups, t->unavailable, t->traps);
}

static void json_run(FILE *f, const struct experiment *e, unsigned round,
		     const struct run_result *r)
{
	struct totals t = totals_of(e, r);
	fprintf(f, "    {");
	json_experiment(f, e);
	fprintf(f,
		", \"round\": %u, \"updates_per_s\": %.0f, \"aggregate_lookups_per_s\": %.0f, "
		"\"mean_per_reader_lookups_per_s\": %.0f, \"lookups_per_cpu_second\": %.0f, "
		"\"hints_set_after\": %zu, \"writer_put_max_us\": %.1f, "
		"\"writer_puts_over_10us\": %" PRIu64 ", ",
		round, r->updates_per_s, t.lookups_per_s, t.per_reader_per_s, t.per_cpu_s,
		r->hints_set, (double)r->put_max_ns / 1e3, r->puts_slow);
	json_counts(f, &t);
	fprintf(f, ",\n     \"per_reader\": [");
	for (unsigned i = 0; i < e->readers; i++) {
		const struct reader_result *x = &r->reader[i];
		double secs = (double)x->elapsed_ns / 1e9;
		fprintf(f,
			"%s{\"lookups_per_s\": %.0f, \"lookups\": %" PRIu64 ", \"seconds\": %.4f, "
			"\"cpu_seconds\": %.4f, \"retries\": %" PRIu64
			", \"hint_store_traps\": %" PRIu64 "}",
			i ? ", " : "", secs > 0 ? (double)x->lookups / secs : 0, x->lookups, secs,
			(double)x->cpu_ns / 1e9, x->retries, x->traps);
	}
	fprintf(f, "]}");
}

void scaling_report_json(FILE *f, const struct setup *s, const struct experiment *ex, size_t nex,
			 const struct run_result (*results)[EXPERIMENTS_MAX], const double load[2])
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	fprintf(f, "{\n  \"tool\": \"scaling_readers\",\n  \"online_cpus\": %ld,\n", cpus);
	fprintf(f,
		"  \"cpu_note\": \"%ld online CPUs: with more reader processes than that (and the "
		"writer), readers time-share CPUs; aggregate lookups/s cannot grow past %ld "
		"readers\",\n",
		cpus, cpus);
	fprintf(f, "  \"loadavg_before\": %.2f, \"loadavg_after\": %.2f,\n", load[0], load[1]);
	fprintf(f,
		"  \"config\": {\"keys\": %zu, \"path_example\": \"%s\", \"slot_count\": %" PRIu64
		", \"slot_size\": %u, \"window_ms\": %u, \"update_rate\": %u, \"rounds\": %u, "
		"\"hint_clear_interval_ms\": %.0f},\n",
		s->opt.keys, key_at(s, 0), s->layout.slot_count, s->layout.slot_size,
		s->opt.window_ms, s->opt.update_rate, s->opt.rounds, TICK_NS / 1e6);
	fprintf(f, "  \"summary\": [\n");
	for (size_t i = 0; i < nex; i++) {
		struct summary m = summarize(s, &ex[i], i, results);
		fprintf(f, "    {");
		json_experiment(f, &ex[i]);
		fprintf(f,
			", \"median_aggregate_lookups_per_s\": %.0f, "
			"\"median_per_reader_lookups_per_s\": %.0f, \"median_reader_cpu_share\": "
			"%.3f, \"median_lookups_per_cpu_second\": %.0f, \"median_updates_per_s\": "
			"%.0f, \"min_hints_set_after\": %zu, \"writer_put_max_us\": %.1f, "
			"\"writer_puts_over_10us\": %" PRIu64 ", ",
			m.lookups_per_s, m.per_reader_per_s, m.cpu_share, m.per_cpu_s,
			m.updates_per_s, m.hints_set_min, (double)m.put_max_ns / 1e3, m.puts_slow);
		json_counts(f, &m.sum);
		fprintf(f, "}%s\n", i + 1 < nex ? "," : "");
	}
	fprintf(f, "  ],\n  \"runs\": [\n");
	for (unsigned r = 0; r < s->opt.rounds; r++)
		for (size_t i = 0; i < nex; i++) {
			json_run(f, &ex[i], r, &results[r][i]);
			fprintf(f, "%s\n", r + 1 < s->opt.rounds || i + 1 < nex ? "," : "");
		}
	fprintf(f, "  ]\n}\n");
}

void scaling_report_text(FILE *f, const struct setup *s, const struct experiment *ex, size_t nex,
			 const struct run_result (*results)[EXPERIMENTS_MAX])
{
	fprintf(f,
		"%zu keys, %u ms windows, %u rounds (medians; counts summed), writer target %u "
		"updates/s, %ld online CPUs\n",
		s->opt.keys, s->opt.window_ms, s->opt.rounds, s->opt.update_rate,
		sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "%-21s %2s %10s %10s %4s %10s %5s %7s %7s %5s %6s %5s %5s %6s\n", "experiment",
		"rd", "lookups/s", "per reader", "cpu", "per cpu-s", "upd/s", "retries", "retried",
		"unavl", "traps", "hints", "slow", "max us");
	for (size_t i = 0; i < nex; i++) {
		struct summary m = summarize(s, &ex[i], i, results);
		fprintf(f,
			"%-21s %2u %10.0f %10.0f %4.2f %10.0f %5.0f %7" PRIu64 " %7" PRIu64
			" %5" PRIu64 " %6" PRIu64 " %5zu %5" PRIu64 " %6.0f\n",
			ex[i].name, ex[i].readers, m.lookups_per_s, m.per_reader_per_s, m.cpu_share,
			m.per_cpu_s, m.updates_per_s, m.sum.retries, m.sum.retried_lookups,
			m.sum.unavailable, m.sum.traps, m.hints_set_min, m.puts_slow,
			(double)m.put_max_ns / 1e3);
	}
	fprintf(f,
		"rd: readers; cpu: mean CPU share per reader; per cpu-s: lookups per CPU-second; "
		"retried: lookups that retried; unavl: FSC_UNAVAILABLE answers; traps: faults on "
		"stores into the write-protected hint segment; hints: key slots whose hint is "
		"set after the run (least over rounds); slow: writer puts over 10 us; max us: the "
		"longest put\n");
}
