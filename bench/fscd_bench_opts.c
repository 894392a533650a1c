/* The command line and the report frame of the whole-process drivers (fscd_bench_util.h): one
 * parser for every driver's options, the usage text made from the same table; the opening of
 * the JSON report and its arrays. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fscd_bench_util.h"

#define FSCD_BENCH_OPTS_MAX   32
#define FSCD_BENCH_USAGE_COLS 88

static const char *fscd_bench_tool = "bench";
static const char *fscd_bench_prog = "fscd_bench";
static const struct fscd_bench_opt *fscd_bench_opts; /* the driver's, then the common ones */
static const struct fscd_bench_opt *fscd_bench_common_opts;

void fscd_bench_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fscd_%s: ", fscd_bench_tool);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

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
	for (const struct fscd_bench_opt *o = fscd_bench_opts; o && o->name; o++)
		fscd_bench_usage_item(o, &col, indent);
	for (const struct fscd_bench_opt *o = fscd_bench_common_opts; o && o->name; o++)
		fscd_bench_usage_item(o, &col, indent);
	fputc('\n', stderr);
	exit(2);
}

/* Stores arg into o->dst; false if it is malformed. */
static bool fscd_bench_store(const struct fscd_bench_opt *o, const char *arg)
{
	unsigned long lo, hi;
	switch (o->kind) {
	case FSCD_BENCH_INT:
		*(int *)o->dst = atoi(arg);
		return true;
	case FSCD_BENCH_U64:
		*(uint64_t *)o->dst = strtoull(arg, NULL, 10);
		return true;
	case FSCD_BENCH_DOUBLE:
		*(double *)o->dst = atof(arg);
		return true;
	case FSCD_BENCH_MS:
		*(uint64_t *)o->dst = strtoull(arg, NULL, 10) * FSCD_BENCH_NS_PER_MS;
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
		if (sscanf(arg, "%lu,%lu", &lo, &hi) != 2 || lo > hi)
			return false;
		((uint64_t *)o->dst)[0] = lo * 1000;
		((uint64_t *)o->dst)[1] = hi * 1000;
		return true;
	case FSCD_BENCH_FN:
		return o->fn(o->dst, arg);
	}
	return false;
}

/* getopt_long's table: the driver's options, then the common ones; val is the index + 256. */
static int fscd_bench_longopts(const struct fscd_bench_opt *all[], struct option *lo)
{
	int n = 0;
	for (const struct fscd_bench_opt *o = fscd_bench_opts; o->name; o++)
		all[n++] = o;
	for (const struct fscd_bench_opt *o = fscd_bench_common_opts; o->name; o++)
		all[n++] = o;
	for (int i = 0; i < n; i++)
		lo[i] = (struct option){all[i]->name, all[i]->arg ? required_argument : no_argument,
					NULL, 256 + i};
	lo[n] = (struct option){NULL, 0, NULL, 0};
	return n;
}

void fscd_bench_parse(struct fscd_bench_common *c, const char *prog, const char *tool,
		      const struct fscd_bench_opt *opts, int argc, char **argv)
{
	static struct fscd_bench_opt common[6];
	int n = 0;
	if (c->dirs > 0) {
		common[n++] = (struct fscd_bench_opt){
		    .name = "dirs", .arg = "D", .kind = FSCD_BENCH_INT, .dst = &c->dirs};
		common[n++] = (struct fscd_bench_opt){
		    .name = "files", .arg = "F", .kind = FSCD_BENCH_INT, .dst = &c->files};
	}
	common[n++] = (struct fscd_bench_opt){
	    .name = "fscd", .arg = "PATH", .kind = FSCD_BENCH_STR, .dst = &c->fscd};
	common[n++] = (struct fscd_bench_opt){
	    .name = "dir", .arg = "PARENT", .kind = FSCD_BENCH_STR, .dst = &c->dir};
	common[n++] = (struct fscd_bench_opt){
	    .name = "name", .arg = "TABLE", .kind = FSCD_BENCH_STR, .dst = &c->name};
	common[n] = (struct fscd_bench_opt){.name = NULL};
	fscd_bench_tool = tool;
	fscd_bench_prog = prog;
	fscd_bench_opts = opts;
	fscd_bench_common_opts = common;
	snprintf(c->name_buf, sizeof(c->name_buf), "fscb-%s-%d", tool, (int)getpid());
	c->fscd = fsc_harness_fscd_path;
	c->dir = "/tmp";
	c->name = c->name_buf;
	const struct fscd_bench_opt *all[FSCD_BENCH_OPTS_MAX];
	struct option lo[FSCD_BENCH_OPTS_MAX + 1];
	int ch;
	n = fscd_bench_longopts(all, lo);
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch < 256 || ch >= 256 + n || !fscd_bench_store(all[ch - 256], optarg))
			fscd_bench_usage();
	}
	if (optind != argc)
		fscd_bench_usage();
}

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
