/* fsc-stat: what does fsc answer for these paths? A small reader built only on the public
 * API (fsc.h): for each path it prints the table's answer (hit, negative, miss, unavailable)
 * and, for a record, what the record says. --watch MS repeats the lookups every MS ms and
 * prints a line whenever an answer changes: watch your logs grow.
 *
 * Exit status: 0 every path was answered (whatever the answer); 1 no usable table (fsc_open
 * failed) or an output error; 2 a usage error. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsc.h"
#include "fsc_json.h"
#include "fsc_tool_arg.h"

#define FSC_STAT_EXIT_OK      0
#define FSC_STAT_EXIT_FAIL    1
#define FSC_STAT_EXIT_USAGE   2
#define FSC_STAT_WATCH_MAX_MS 3600000L

struct fsc_stat_opts {
	const char *name;
	bool json;
	long watch_ms; /* 0: answer once */
	char **paths;
	int npaths;
};

/* One answer of the table for one path. */
struct fsc_stat_answer {
	int result;
	struct stat st;
	struct fsc_info info;
};

static volatile sig_atomic_t fsc_stat_stop;

static void fsc_stat_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: fsc-stat [--name NAME] [--json] [--watch MS] PATH...\n"
	    "\n"
	    "Print what the fsc table NAME answers for each PATH, without any system call on\n"
	    "the lookup: hit (the cached record), negative (cached \"does not exist\"), miss\n"
	    "(not in the table) or unavailable (no live writer keeps the table current).\n"
	    "Paths are looked up as spelled: fscd stores absolute paths without \"//\", \".\",\n"
	    "\"..\" or a trailing '/', and any other spelling is a miss.\n"
	    "\n"
	    "  -n, --name NAME  table name (default \"default\"), as given to fscd --name\n"
	    "  -j, --json       one JSON object per path per line (see fsc-shmdump --help for\n"
	    "                   how paths are escaped)\n"
	    "  -w, --watch MS   look again every MS milliseconds (1-%ld) and print a line\n"
	    "                   whenever a path's answer changes; stop with Ctrl-C\n"
	    "  -h, --help       show this help\n"
	    "  -V, --version    show the version\n"
	    "\n"
	    "Fields: size (bytes), mode (octal), mtime (UTC), ino, change_seq (the table's\n"
	    "sequence number at the record's last change), verified_age_ms (since fscd last\n"
	    "confirmed the record), flags (negative, polled, stale, writing).\n"
	    "Exit status: 0 all paths answered; 1 no usable table; 2 usage error.\n",
	    FSC_STAT_WATCH_MAX_MS);
}

static int fsc_stat_usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "fsc-stat: %s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "",
		arg ? "'" : "");
	fsc_stat_usage(stderr);
	return FSC_STAT_EXIT_USAGE;
}

/* 0 to go on, -1 after --help/--version (exit 0), or FSC_STAT_EXIT_USAGE */
static int fsc_stat_opts_parse(struct fsc_stat_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, 'n'},  {"json", no_argument, NULL, 'j'},
	    {"watch", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},     {NULL, 0, NULL, 0},
	};
	*o = (struct fsc_stat_opts){.name = "default"};
	int c;
	while ((c = getopt_long(argc, argv, "n:jw:hV", longopts, NULL)) != -1) {
		long long n;
		switch (c) {
		case 'n':
			o->name = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'w':
			if (!fsc_arg_integer(optarg, 1, FSC_STAT_WATCH_MAX_MS, &n))
				return fsc_stat_usage_error(
				    "--watch needs milliseconds between 1 and "
				    "3600000, not",
				    optarg);
			o->watch_ms = (long)n;
			break;
		case 'h':
			fsc_stat_usage(stdout);
			return -1;
		case 'V':
			printf("fsc-stat %s\n", FSC_VERSION);
			return -1;
		default:
			fsc_stat_usage(stderr);
			return FSC_STAT_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return fsc_stat_usage_error("no PATH given", NULL);
	o->paths = argv + optind;
	o->npaths = argc - optind;
	return 0;
}

/* Says why there is no table to read, and what to do. Returns the exit status. */
static int fsc_stat_open_error(const char *name, int err)
{
	if (err == EINVAL)
		return fsc_stat_usage_error("invalid table name (use 1-64 characters of "
					    "[A-Za-z0-9._-], not starting with '.'):",
					    name);
	const char *why = "";
	if (err == ENOENT)
		why = " (no table by that name is published)";
	else if (err == ESRCH)
		why = " (its writer has stopped or died)";
	else if (err == EPROTO)
		why = " (not a valid fsc table, or another ABI: inspect it with fsc-shmdump)";
	else if (err == EPERM)
		why = " (it is owned by a user this reader does not trust)";
	fprintf(stderr, "fsc-stat: cannot open table %s: %s%s; ", name, strerror(err), why);
	if (err == EACCES)
		fprintf(stderr, "run as the table's owner or a member of its group\n");
	else if (err == EPERM)
		fprintf(stderr,
			"if that user runs your fscd, set FSC_TRUSTED_UIDS to its uid or "
			"name (fsc-shmdump --name %s shows the owner's table)\n",
			name);
	else
		fprintf(stderr, "start fscd --name %s --watch DIR\n", name);
	return FSC_STAT_EXIT_FAIL;
}

static uint64_t fsc_stat_now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ms since the record was verified (CLOCK_MONOTONIC, the writer's clock) */
static int64_t fsc_stat_verified_age_ms(const struct fsc_info *info)
{
	uint64_t now = fsc_stat_now_ns(CLOCK_MONOTONIC);
	if (now >= info->verified_ns)
		return (int64_t)((now - info->verified_ns) / 1000000u);
	return -(int64_t)((info->verified_ns - now) / 1000000u);
}

static bool fsc_stat_has_record(int result)
{
	return result == FSC_HIT || result == FSC_NEGATIVE;
}

/* Did the answer change in a way worth a line? (The verified age always changes.) */
static bool fsc_stat_answer_same(const struct fsc_stat_answer *a, const struct fsc_stat_answer *b)
{
	if (a->result != b->result)
		return false;
	if (!fsc_stat_has_record(a->result))
		return true;
	if (a->info.change_seq != b->info.change_seq || a->info.flags != b->info.flags ||
	    a->info.generation != b->info.generation)
		return false;
	return a->result != FSC_HIT ||
	       (a->st.st_size == b->st.st_size && a->st.st_mode == b->st.st_mode &&
		a->st.st_ino == b->st.st_ino && a->st.st_mtim.tv_sec == b->st.st_mtim.tv_sec &&
		a->st.st_mtim.tv_nsec == b->st.st_mtim.tv_nsec);
}

static const char *fsc_stat_flags_text(uint32_t flags, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", (flags & FSC_FLAG_NEGATIVE) ? ",negative" : "",
		 (flags & FSC_FLAG_POLLED) ? ",polled" : "",
		 (flags & FSC_FLAG_STALE) ? ",stale" : "",
		 (flags & FSC_FLAG_WRITING) ? ",writing" : "");
	return buf[0] ? buf + 1 : "-";
}

static void fsc_stat_print_text(const char *path, const struct fsc_stat_answer *a, bool stamp)
{
	if (stamp) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		printf("%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		       ts.tv_nsec / 1000000);
	}
	fsc_text_write_escaped(stdout, path, strlen(path));
	printf(": %s", fsc_result_name(a->result));
	if (a->result == FSC_HIT) {
		char mtime[48];
		fsc_time_format_utc(mtime, sizeof(mtime), (int64_t)a->st.st_mtim.tv_sec,
				    (int64_t)a->st.st_mtim.tv_nsec);
		printf(" size=%" PRId64 " mode=%#o mtime=%s ino=%" PRIu64, (int64_t)a->st.st_size,
		       (unsigned)a->st.st_mode, mtime, (uint64_t)a->st.st_ino);
	}
	if (fsc_stat_has_record(a->result)) {
		char flags[64];
		printf(" change_seq=%" PRIu64 " verified_age_ms=%" PRId64 " flags=%s",
		       a->info.change_seq, fsc_stat_verified_age_ms(&a->info),
		       fsc_stat_flags_text(a->info.flags, flags, sizeof(flags)));
	}
	putchar('\n');
}

static void fsc_stat_print_json(const char *path, const struct fsc_stat_answer *a)
{
	struct fsc_json j;
	fsc_json_init(&j, stdout);
	fsc_json_object_begin(&j, NULL);
	fsc_json_string(&j, "path", path);
	fsc_json_string(&j, "result", fsc_result_name(a->result));
	if (a->result == FSC_HIT) {
		char mode[24], mtime[48];
		fsc_json_i64(&j, "size", (int64_t)a->st.st_size);
		snprintf(mode, sizeof(mode), "%#o", (unsigned)a->st.st_mode);
		fsc_json_string(&j, "mode", mode);
		fsc_json_i64(&j, "mtime_sec", (int64_t)a->st.st_mtim.tv_sec);
		fsc_json_i64(&j, "mtime_nsec", (int64_t)a->st.st_mtim.tv_nsec);
		fsc_time_format_utc(mtime, sizeof(mtime), (int64_t)a->st.st_mtim.tv_sec,
				    (int64_t)a->st.st_mtim.tv_nsec);
		fsc_json_string(&j, "mtime", mtime);
		fsc_json_u64(&j, "ino", (uint64_t)a->st.st_ino);
	}
	if (fsc_stat_has_record(a->result)) {
		fsc_json_u64(&j, "change_seq", a->info.change_seq);
		fsc_json_i64(&j, "verified_age_ms", fsc_stat_verified_age_ms(&a->info));
		fsc_json_u64(&j, "generation", a->info.generation);
		fsc_json_array_begin(&j, "flags");
		if (a->info.flags & FSC_FLAG_NEGATIVE)
			fsc_json_string(&j, NULL, "negative");
		if (a->info.flags & FSC_FLAG_POLLED)
			fsc_json_string(&j, NULL, "polled");
		if (a->info.flags & FSC_FLAG_STALE)
			fsc_json_string(&j, NULL, "stale");
		if (a->info.flags & FSC_FLAG_WRITING)
			fsc_json_string(&j, NULL, "writing");
		fsc_json_array_end(&j);
	}
	fsc_json_object_end(&j);
	putchar('\n');
}

static void fsc_stat_answer_get(fsc_t *c, const char *path, struct fsc_stat_answer *a)
{
	memset(a, 0, sizeof(*a));
	a->result = fsc_lookup(c, path, &a->st, &a->info);
}

static void fsc_stat_answer_print(const struct fsc_stat_opts *o, const char *path,
				  const struct fsc_stat_answer *a)
{
	if (o->json)
		fsc_stat_print_json(path, a);
	else
		fsc_stat_print_text(path, a, o->watch_ms > 0);
}

static void fsc_stat_on_signal(int sig)
{
	(void)sig;
	fsc_stat_stop = 1;
}

/* Looks every path up every watch_ms until SIGINT/SIGTERM; prints the answers that change. */
static int fsc_stat_watch(const struct fsc_stat_opts *o, fsc_t *c)
{
	struct fsc_stat_answer *last = calloc((size_t)o->npaths, sizeof(*last));
	if (!last) {
		fprintf(stderr, "fsc-stat: out of memory watching %d paths\n", o->npaths);
		return FSC_STAT_EXIT_FAIL;
	}
	struct sigaction sa = {.sa_handler = fsc_stat_on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct timespec period = {.tv_sec = o->watch_ms / 1000,
				  .tv_nsec = (o->watch_ms % 1000) * 1000000L};
	for (bool first = true; !fsc_stat_stop; first = false) {
		for (int i = 0; i < o->npaths; i++) {
			struct fsc_stat_answer a;
			fsc_stat_answer_get(c, o->paths[i], &a);
			if (first || !fsc_stat_answer_same(&a, &last[i])) {
				fsc_stat_answer_print(o, o->paths[i], &a);
				last[i] = a;
			}
		}
		if (fflush(stdout) != 0)
			break;
		nanosleep(&period, NULL); /* a signal cuts it short; the loop test sees it */
	}
	free(last);
	return FSC_STAT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct fsc_stat_opts o;
	int rc = fsc_stat_opts_parse(&o, argc, argv);
	if (rc)
		return rc < 0 ? FSC_STAT_EXIT_OK : rc;
	fsc_t *c = fsc_open(o.name);
	if (!c)
		return fsc_stat_open_error(o.name, errno);
	if (o.watch_ms > 0) {
		rc = fsc_stat_watch(&o, c);
	} else {
		for (int i = 0; i < o.npaths; i++) {
			struct fsc_stat_answer a;
			fsc_stat_answer_get(c, o.paths[i], &a);
			fsc_stat_answer_print(&o, o.paths[i], &a);
		}
	}
	fsc_close(c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "fsc-stat: cannot write the answers of table %s: %s\n", o.name,
			strerror(errno));
		return FSC_STAT_EXIT_FAIL;
	}
	return rc;
}
