/* The option tables of the benchmark drivers (fscd_bench_opts.h). */
#define _GNU_SOURCE
#include "fscd_bench_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FSCD_BENCH_OPTS_MAX   32
#define FSCD_BENCH_USAGE_COLS 88

static const char *fscd_bench_prog = "bench";
static const struct fscd_bench_opt *const *fscd_bench_tables;

/* Appends " [--name ARG]" to the usage line, starting a new one where it would be too long. */
static void fscd_bench_usage_item(const struct fscd_bench_opt *o, size_t *col, size_t indent)
{
	char item[128];
	snprintf(item, sizeof(item), "[--%s%s%s]", o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
	if (*col + 1 + strlen(item) > FSCD_BENCH_USAGE_COLS) {
		fprintf(stderr, "\n%*s", (int)indent, "");
		*col = indent;
	} else {
		fputc(' ', stderr);
		(*col)++;
	}
	fputs(item, stderr);
	*col += strlen(item);
}

void fscd_bench_usage(void)
{
	size_t indent = strlen("usage: ") + strlen(fscd_bench_prog) + 1;
	size_t col = indent - 1; /* what "usage: PROG" took */
	fprintf(stderr, "usage: %s", fscd_bench_prog);
	for (int t = 0; fscd_bench_tables && fscd_bench_tables[t]; t++)
		for (const struct fscd_bench_opt *o = fscd_bench_tables[t]; o->name; o++)
			fscd_bench_usage_item(o, &col, indent);
	fputc('\n', stderr);
	exit(2);
}

/* Whole-string numbers: trailing junk, an empty string or a range error is false. */
static bool fscd_bench_u64(const char *arg, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	*out = v;
	return !errno && end != arg && !*end && arg[0] != '-';
}

static bool fscd_bench_int(const char *arg, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	*out = (int)v;
	return !errno && end != arg && !*end && v >= -2147483647L - 1 && v <= 2147483647L;
}

static bool fscd_bench_double(const char *arg, double *out)
{
	char *end;
	*out = strtod(arg, &end);
	return end != arg && !*end;
}

/* "MIN,MAX" microseconds into ns[0], ns[1]. */
static bool fscd_bench_gap_us(const char *arg, uint64_t ns[2])
{
	unsigned long lo, hi;
	if (sscanf(arg, "%lu,%lu", &lo, &hi) != 2 || lo > hi)
		return false;
	ns[0] = lo * 1000;
	ns[1] = hi * 1000;
	return true;
}

/* Stores arg into o->dst; false if it is malformed. */
static bool fscd_bench_store(const struct fscd_bench_opt *o, const char *arg)
{
	uint64_t ms;
	switch (o->kind) {
	case FSCD_BENCH_INT:
		return fscd_bench_int(arg, o->dst);
	case FSCD_BENCH_U64:
		return fscd_bench_u64(arg, o->dst);
	case FSCD_BENCH_DOUBLE:
		return fscd_bench_double(arg, o->dst);
	case FSCD_BENCH_MS:
		if (!fscd_bench_u64(arg, &ms))
			return false;
		*(uint64_t *)o->dst = ms * 1000000ull;
		return true;
	case FSCD_BENCH_STR:
		*(const char **)o->dst = arg;
		return true;
	case FSCD_BENCH_SET:
	case FSCD_BENCH_CLEAR:
		*(bool *)o->dst = o->kind == FSCD_BENCH_SET;
		return true;
	case FSCD_BENCH_INTS:
		*o->count = fscd_bench_parse_int_list(arg, o->dst, o->max);
		return true; /* the driver checks the count */
	case FSCD_BENCH_GAP_US:
		return fscd_bench_gap_us(arg, o->dst);
	case FSCD_BENCH_FN:
		return o->fn(o->dst, arg);
	}
	return false;
}

void fscd_bench_opts_parse(const char *prog, const struct fscd_bench_opt *const tables[], int argc,
			   char **argv)
{
	const struct fscd_bench_opt *all[FSCD_BENCH_OPTS_MAX];
	struct option lo[FSCD_BENCH_OPTS_MAX + 1];
	int n = 0, ch;
	fscd_bench_prog = prog;
	fscd_bench_tables = tables;
	for (int t = 0; tables[t]; t++)
		for (const struct fscd_bench_opt *o = tables[t]; o->name; o++) {
			if (n == FSCD_BENCH_OPTS_MAX)
				abort(); /* a driver with more options than this parser holds */
			all[n] = o;
			lo[n] = (struct option){o->name, o->arg ? required_argument : no_argument,
						NULL, 256 + n};
			n++;
		}
	lo[n] = (struct option){NULL, 0, NULL, 0};
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch < 256 || ch >= 256 + n || !fscd_bench_store(all[ch - 256], optarg))
			fscd_bench_usage();
	}
	if (optind != argc)
		fscd_bench_usage();
}

int fscd_bench_parse_int_list(const char *s, int *out, int max)
{
	int n = 0;
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || v < 1 || v > 1000000 || n == max || (*end && *end != ','))
			return -1;
		out[n++] = (int)v;
		s = *end ? end + 1 : end;
	}
	return n;
}
