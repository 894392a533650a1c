/* The report of the whole-process drivers (fscd_bench_util.h): the JSON frame, percentiles and
 * the machine description. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fscd_bench_util.h"

void fscd_bench_json_begin(const char *benchmark, const char *what)
{
	printf("{\"benchmark\":\"%s\",\"what\":\"%s\",", benchmark, what);
}

void fscd_bench_json_array(const char *key, int n, void (*item)(const void *ctx, int i),
			   const void *ctx)
{
	printf("\"%s\":[", key);
	for (int i = 0; i < n; i++) {
		printf(i ? "," : "");
		item(ctx, i);
	}
	printf("]");
}

static int fscd_bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t fscd_bench_rank(const uint64_t *sorted, size_t n, double p)
{
	size_t k = (size_t)(p * (double)n + 0.999999); /* nearest rank, 1-based */
	if (k < 1)
		k = 1;
	return sorted[(k > n ? n : k) - 1];
}

void fscd_bench_percentiles(uint64_t *v, size_t n, struct fscd_bench_pct *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), fscd_bench_cmp_u64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	out->mean = sum / (double)n;
	out->min = v[0];
	out->p50 = fscd_bench_rank(v, n, 0.50);
	out->p90 = fscd_bench_rank(v, n, 0.90);
	out->p99 = fscd_bench_rank(v, n, 0.99);
	out->max = v[n - 1];
}

void fscd_bench_json_pct(FILE *f, const char *key, const struct fscd_bench_pct *p, const char *unit)
{
	const char *u = unit;
	fprintf(f,
		"\"%s\":{\"n\":%zu,\"min_%s\":%.1f,\"p50_%s\":%.1f,\"p90_%s\":%.1f,"
		"\"p99_%s\":%.1f,\"max_%s\":%.1f,\"mean_%s\":%.1f}",
		key, p->n, u, (double)p->min / 1e3, u, (double)p->p50 / 1e3, u,
		(double)p->p90 / 1e3, u, (double)p->p99 / 1e3, u, (double)p->max / 1e3, u,
		p->mean / 1e3);
}

void fscd_bench_json_machine(FILE *f)
{
	double load[3] = {0, 0, 0};
	struct utsname u;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	getloadavg(load, 3);
	fprintf(f, "\"machine\":{\"nproc\":%ld,\"loadavg_1m\":%.2f,\"kernel\":\"%s\"}",
		sysconf(_SC_NPROCESSORS_ONLN), load[0], u.release);
}
