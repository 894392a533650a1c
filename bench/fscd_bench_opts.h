/* The command line of the benchmark drivers: each describes its options in a table (name,
 * argument, kind, where it goes); one parser reads argv by it and one usage text is made from
 * it. No dependency on fscd or fsc: sim_eviction uses it as the fscd drivers do (through
 * fscd_bench_parse, which adds their common options).
 */
#ifndef FSCD_BENCH_OPTS_H
#define FSCD_BENCH_OPTS_H

#include <stdbool.h>

/* One option of a driver: --NAME [ARG], stored into dst as kind says. */
enum fscd_bench_kind {
	FSCD_BENCH_INT,	   /* int */
	FSCD_BENCH_U64,	   /* uint64_t */
	FSCD_BENCH_DOUBLE, /* double */
	FSCD_BENCH_MS,	   /* uint64_t nanoseconds, given in milliseconds */
	FSCD_BENCH_STR,	   /* const char * */
	FSCD_BENCH_SET,	   /* bool set to true, no argument */
	FSCD_BENCH_CLEAR,  /* bool set to false, no argument */
	FSCD_BENCH_INTS,   /* int[max] of "1,4,16", the count in *count (-1 if malformed) */
	FSCD_BENCH_GAP_US, /* uint64_t[2] nanoseconds, given as "MIN,MAX" microseconds */
	FSCD_BENCH_FN,	   /* fn(dst, arg): false if arg is bad */
};
struct fscd_bench_opt {
	const char *name; /* without the dashes */
	const char *arg;  /* its argument in the usage text; NULL for a flag */
	enum fscd_bench_kind kind;
	void *dst;
	int max, *count;			/* FSCD_BENCH_INTS */
	bool (*fn)(void *dst, const char *arg); /* FSCD_BENCH_FN */
};
/* Parses argv (GNU long options, no positional arguments) by the tables (each ended by an
 * entry with name NULL; the list ended by NULL); prog names the driver in the usage text. A
 * bad option or argument (a number with trailing junk, say) is fscd_bench_usage(); checking
 * the values is the driver's. */
void fscd_bench_opts_parse(const char *prog, const struct fscd_bench_opt *const tables[], int argc,
			   char **argv);
/* Prints the usage text made from the tables and exits with status 2. */
void fscd_bench_usage(void) __attribute__((noreturn));
/* Parses a comma-separated list of positive integers ("1,4,16") into out, at most max of
 * them. Returns how many, or -1 if s is malformed or longer. */
int fscd_bench_parse_int_list(const char *s, int *out, int max);

#endif
