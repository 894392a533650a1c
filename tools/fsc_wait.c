/* fsc-wait: wait until files are completely written (or gone), from fscd's change journal.
 * A path is looked at once after a journal cursor is taken, then again only when the journal
 * names it: the wait itself is a futex sleep, with no polling and about no CPU. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsc_json.h"
#include "fsc_tool_arg.h"
#include "fsc_wait.h"

#define FSC_WAIT_QUIET_MAX_MS 86400000L
#define FSC_WAIT_REPROBE_MS   1000 /* a writer holding a file open: probe this often */
#define FSC_WAIT_RESTART_MS   5000 /* fscd gone: how long to wait for one to come back */

struct fsc_wait_opts {
	const char *name; /* --name; NULL: "default" if it serves, else a private fscd */
	double timeout_s; /* < 0: for ever */
	long quiet_ms;
	bool gone, json, verbose;
	struct fsc_wait_path *paths;
	int npaths;
};

static void fsc_wait_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: fsc-wait [--timeout SEC] [--quiet MS] [--gone] [--name NAME] [--json] [-v] "
	    "PATH...\n"
	    "\n"
	    "Wait until every PATH is complete: a regular file whose last writer has finished,\n"
	    "and print each PATH as it completes. Complete means: the fscd serving PATH\n"
	    "saw no modification after the file's last close after writing, or after its\n"
	    "arrival by rename or link (a file that exists and is not being written counts at\n"
	    "once); no process has it open for writing (a read lease, F_SETLEASE, is granted);\n"
	    "the table's record matches the file (fscd has applied every event about it);\n"
	    "and, with --quiet, it has not changed for MS milliseconds.\n"
	    "\n"
	    "  -t, --timeout SEC  give up after SEC seconds (decimals allowed; default: never)\n"
	    "  -q, --quiet MS     also require MS milliseconds (up to %ld) without a change:\n"
	    "                     use it for writers that close and reopen the file, with MS\n"
	    "                     longer than their longest pause\n"
	    "  -g, --gone         wait until each PATH no longer exists instead\n"
	    "  -n, --name NAME    read table NAME (as given to fscd --name), which must serve\n"
	    "                     every PATH (default: \"default\" if it does, else a private\n"
	    "                     fscd)\n"
	    "  -j, --json         one JSON object per line: {\"path\",\"arg\",\"state\"} with "
	    "state\n"
	    "                     complete (and \"size\"), gone, or timeout (and \"reason\")\n"
	    "  -v, --verbose      say which table is read and when a private fscd is started\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n"
	    "\n"
	    "Waiting costs no polling: fsc-wait sleeps on fscd's change journal (a futex) and\n"
	    "looks at a PATH again only when fscd reports a change to it. The one exception: a\n"
	    "file a writer holds open is probed again every %d ms, since closing a writable\n"
	    "mmap makes no event.\n"
	    "\n"
	    "What is checked when the lease probe is not permitted (another user's file, and\n"
	    "fsc-wait without CAP_LEASE) or not supported (NFS and other network filesystems):\n"
	    "only what fscd saw, i.e. no write since the last close after writing. A writer that\n"
	    "holds the file open without writing, or writes through mmap, is then not seen.\n"
	    "fscd cannot see writes made on another machine to a network filesystem (it polls\n"
	    "those: use --quiet), and of several writers of one file the first close counts.\n"
	    "\n"
	    "fscd: the table \"default\" (or --name) is read when it serves every PATH with a\n"
	    "change journal. Else, without --name, fsc-wait starts fscd as its child, with a\n"
	    "private table, watching each PATH's directory (the nearest one that exists),\n"
	    "stopped at exit with nothing left behind, on SIGINT, SIGTERM and SIGHUP too\n"
	    "(fsc-wait then ends by that signal). It runs FSC_WAIT_FSCD if set, else the\n"
	    "fscd next to fsc-wait's own executable (then ../writer/fscd/fscd and\n"
	    "../sbin/fscd), else fscd from PATH.\n"
	    "Exit status: 0 every PATH complete (or gone); 1 timeout; 2 usage error; 3 table\n"
	    "NAME (--name) does not serve a PATH (no such table, PATH outside its roots, or no\n"
	    "change journal); 4 other errors (fscd went away and none came back, the private\n"
	    "fscd could not be started or failed).\n",
	    FSC_WAIT_QUIET_MAX_MS, FSC_WAIT_REPROBE_MS);
}

static int fsc_wait_usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "fsc-wait: %s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "",
		arg ? "'" : "");
	fprintf(stderr, "Try 'fsc-wait --help'.\n");
	return FSC_WAIT_EXIT_USAGE;
}

/* "/dir/name" with dir resolved (symlinks, "..") and name kept: the table keys a symlink as
 * itself (it does not cache it), so the last component is not followed. NULL if the
 * directory cannot be resolved and the path is not absolute. */
static char *fsc_wait_canonical(const char *arg)
{
	char *copy = strdup(arg);
	if (!copy)
		return NULL;
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	const char *dir = slash ? (slash == copy ? "/" : copy) : ".";
	if (slash)
		*slash = '\0';
	char *out = NULL, real[PATH_MAX];
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || base[0] == '\0') {
		out = realpath(arg, NULL);
	} else if (realpath(dir, real)) {
		if (asprintf(&out, "%s/%s", strcmp(real, "/") == 0 ? "" : real, base) < 0)
			out = NULL;
	} else if (arg[0] == '/') {
		out = strdup(arg); /* its directory does not exist yet: as given */
	}
	free(copy);
	return out;
}

static bool fsc_wait_parse_timeout(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 1e9)
		return false;
	*out = v;
	return true;
}

/* 0 to go on, -1 after --help/--version (exit 0), or FSC_WAIT_EXIT_USAGE */
static int fsc_wait_opts_parse(struct fsc_wait_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {{"timeout", required_argument, NULL, 't'},
						 {"quiet", required_argument, NULL, 'q'},
						 {"gone", no_argument, NULL, 'g'},
						 {"name", required_argument, NULL, 'n'},
						 {"json", no_argument, NULL, 'j'},
						 {"verbose", no_argument, NULL, 'v'},
						 {"help", no_argument, NULL, 'h'},
						 {"version", no_argument, NULL, 'V'},
						 {NULL, 0, NULL, 0}};
	*o = (struct fsc_wait_opts){.timeout_s = -1};
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+t:q:gn:jvhV", longopts, NULL)) != -1) {
		long long n;
		switch (opt) {
		case 't':
			if (!fsc_wait_parse_timeout(optarg, &o->timeout_s))
				return fsc_wait_usage_error("--timeout needs seconds >= 0, got",
							    optarg);
			break;
		case 'q':
			if (!fsc_arg_integer(optarg, 0, FSC_WAIT_QUIET_MAX_MS, &n))
				return fsc_wait_usage_error("--quiet needs milliseconds, got",
							    optarg);
			o->quiet_ms = (long)n;
			break;
		case 'g':
			o->gone = true;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fsc_wait_usage(stdout);
			return -1;
		case 'V':
			printf("fsc-wait %s\n", FSC_VERSION);
			return -1;
		default:
			return fsc_wait_usage_error("unknown option or missing argument",
						    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return fsc_wait_usage_error("no PATH given", NULL);
	o->npaths = argc - optind;
	o->paths = calloc((size_t)o->npaths, sizeof(*o->paths));
	if (!o->paths)
		return fsc_wait_usage_error("out of memory", NULL);
	for (int i = 0; i < o->npaths; i++) {
		o->paths[i].arg = argv[optind + i];
		o->paths[i].path = fsc_wait_canonical(argv[optind + i]);
		if (!o->paths[i].path)
			return fsc_wait_usage_error(
			    "cannot resolve the directory of (give an absolute path)",
			    argv[optind + i]);
	}
	return 0;
}

static uint64_t fsc_wait_clock_ns(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The state of the wait: the table, the cursor, what is left. */
struct fsc_wait {
	struct fsc_wait_opts *o;
	struct fsc_private_fscd fscd; /* the table read (.c, .name) and a private fscd, if any */
	fsc_t *c;
	fsc_cursor_t cur;
	uint64_t deadline; /* CLOCK_MONOTONIC ns; UINT64_MAX: none */
	bool *dirty;	   /* per path: look at it again */
	enum fsc_wait_state *state;
};

static void fsc_wait_report(const struct fsc_wait *w, const struct fsc_wait_path *p,
			    const char *state, const char *reason)
{
	if (w->o->json) {
		struct fsc_json j;
		fsc_json_init(&j, stdout);
		fsc_json_object_begin(&j, NULL);
		fsc_json_string(&j, "path", p->path);
		fsc_json_string(&j, "arg", p->arg);
		fsc_json_string(&j, "state", state);
		if (strcmp(state, "complete") == 0)
			fsc_json_u64(&j, "size", (uint64_t)p->st.st_size);
		if (reason)
			fsc_json_string(&j, "reason", reason);
		fsc_json_object_end(&j);
		fputc('\n', stdout);
	} else if (!reason) {
		printf("%s\n", p->arg);
	}
	fflush(stdout);
}

static const char *fsc_wait_reason(const struct fsc_wait *w, enum fsc_wait_state s)
{
	if (!w->c)
		return "the private fscd had not served yet";
	switch (s) {
	case FSC_WAIT_BUSY:
		return "a process holds it open for writing, or fscd has not caught up with it";
	case FSC_WAIT_QUIET:
		return "changed within --quiet";
	default:
		return w->o->gone ? "still exists" : "absent, not a regular file, or being written";
	}
}

static int fsc_wait_timed_out(const struct fsc_wait *w)
{
	for (int i = 0; i < w->o->npaths; i++) {
		const struct fsc_wait_path *p = &w->o->paths[i];
		if (p->done)
			continue;
		const char *why = fsc_wait_reason(w, w->state[i]);
		fprintf(stderr, "fsc-wait: timed out waiting for %s: %s\n", p->arg, why);
		if (w->o->json)
			fsc_wait_report(w, p, "timeout", why);
	}
	return FSC_WAIT_EXIT_TIMEOUT;
}

/* Says that the private fscd ended: nothing will serve the paths any more. */
static int fsc_wait_private_gone(const struct fsc_wait *w)
{
	fprintf(stderr,
		"fsc-wait: the private fscd exited (status %d); its messages above say why\n",
		WIFEXITED(w->fscd.status) ? WEXITSTATUS(w->fscd.status)
					  : 128 + WTERMSIG(w->fscd.status));
	return FSC_WAIT_EXIT_ERROR;
}

/* A cursor at the journal's end, waiting up to FSC_WAIT_RESTART_MS for an fscd to serve
 * (a takeover or restart is under way). 0, or an exit status. */
static int fsc_wait_cursor(struct fsc_wait *w)
{
	uint64_t give_up = fsc_wait_clock_ns(CLOCK_MONOTONIC) + FSC_WAIT_RESTART_MS * 1000000ull;
	const char *name = w->fscd.name;
	for (;;) {
		if (fsc_journal_start(w->c, &w->cur) == 0)
			return 0;
		if (errno == ENOENT) {
			fprintf(stderr,
				"fsc-wait: the fscd serving table %s keeps no change journal "
				"(--journal-kib 0): restart it with a journal\n",
				name);
			return FSC_WAIT_EXIT_NOT_SERVED;
		}
		if (fsc_private_fscd_exited(&w->fscd))
			return fsc_wait_private_gone(w);
		if (fsc_wait_clock_ns(CLOCK_MONOTONIC) > give_up) {
			fprintf(stderr,
				"fsc-wait: no fscd serves table %s any more (%s): start fscd "
				"--name %s again\n",
				name, strerror(errno), name);
			return FSC_WAIT_EXIT_ERROR;
		}
		struct timespec ts = {0, 100000000}; /* only while fscd is away */
		nanosleep(&ts, NULL);
	}
}

/* Looks at every dirty path; returns how many are left and the wait in ms until one of them
 * must be looked at again without news (--quiet passing, a writer's lease), or -1. */
static int fsc_wait_check_dirty(struct fsc_wait *w, int *left)
{
	uint64_t now = fsc_wait_clock_ns(CLOCK_REALTIME);
	uint64_t quiet_ns = (uint64_t)w->o->quiet_ms * 1000000ull;
	int64_t again_ms = -1;
	*left = 0;
	for (int i = 0; i < w->o->npaths; i++) {
		struct fsc_wait_path *p = &w->o->paths[i];
		if (p->done)
			continue;
		if (w->dirty[i]) {
			w->dirty[i] = false;
			w->state[i] = fsc_wait_check(w->c, p, w->o->gone, quiet_ns, now);
		}
		if (w->state[i] == FSC_WAIT_DONE) {
			p->done = true;
			fsc_wait_report(w, p, w->o->gone ? "gone" : "complete", NULL);
			continue;
		}
		(*left)++;
		int64_t ms = -1;
		if (w->state[i] == FSC_WAIT_BUSY)
			ms = FSC_WAIT_REPROBE_MS;
		else if (w->state[i] == FSC_WAIT_QUIET)
			ms = p->quiet_until_ns > now
				 ? (int64_t)((p->quiet_until_ns - now) / 1000000u) + 1
				 : 0;
		if (ms >= 0 && (again_ms < 0 || ms < again_ms))
			again_ms = ms;
	}
	return (int)(again_ms > INT_MAX ? INT_MAX : again_ms);
}

/* Reads the journal past the cursor, marking the paths it names dirty. true if any is. */
static bool fsc_wait_drain(struct fsc_wait *w, bool *lost)
{
	static struct fsc_change ch;
	bool any = false;
	*lost = false;
	for (;;) {
		int r = fsc_journal_next(w->c, &w->cur, &ch);
		if (r == FSC_CAUGHT_UP)
			return any;
		if (r != FSC_CHANGE) {
			*lost = true; /* fell a ring behind, or fscd restarted: look at all again */
			return true;
		}
		uint64_t now = fsc_wait_clock_ns(CLOCK_REALTIME);
		for (int i = 0; i < w->o->npaths; i++) {
			/* a rescan (fscd lost events) may have changed anything */
			if (!(ch.kinds & FSC_KIND_RESCAN) && strcmp(ch.path, w->o->paths[i].path))
				continue;
			w->dirty[i] = any = true;
			w->o->paths[i].last_change_ns = now;
		}
	}
}

static void fsc_wait_mark(struct fsc_wait *w, bool all)
{
	for (int i = 0; i < w->o->npaths; i++)
		if (all || w->state[i] == FSC_WAIT_BUSY || w->state[i] == FSC_WAIT_QUIET)
			w->dirty[i] = true;
}

static int fsc_wait_loop(struct fsc_wait *w)
{
	/* the cursor first: a change after it is either seen by the first look or read
	 * from the journal, so nothing falls between the look and the wait */
	int rc = fsc_wait_cursor(w);
	if (rc)
		return rc;
	fsc_wait_mark(w, true);
	for (;;) {
		int left, again_ms = fsc_wait_check_dirty(w, &left);
		if (left == 0)
			return FSC_WAIT_EXIT_OK;
		uint64_t now = fsc_wait_clock_ns(CLOCK_MONOTONIC);
		if (now >= w->deadline)
			return fsc_wait_timed_out(w); /* even while changes keep coming */
		bool lost;
		if (fsc_wait_drain(w, &lost)) {
			if (lost && (rc = fsc_wait_cursor(w)) != 0)
				return rc;
			if (lost)
				fsc_wait_mark(w, true);
			continue;
		}
		uint64_t left_ms = w->deadline == UINT64_MAX
				       ? UINT64_MAX
				       : (w->deadline - now + 999999) / 1000000u;
		int ms = again_ms >= 0 && (uint64_t)again_ms < left_ms ? again_ms
			 : left_ms > INT_MAX			       ? -1
								       : (int)left_ms;
		int r = fsc_journal_wait(w->c, &w->cur, ms);
		if (r == FSC_CAUGHT_UP)
			fsc_wait_mark(w, false); /* time for the probes and quiet periods */
		/* FSC_CHANGE: drained above; FSC_CURSOR_LOST: the drain reports it */
	}
}

/* The time left before --timeout in ms, or -1 for none. */
static long fsc_wait_left_ms(const struct fsc_wait *w)
{
	if (w->deadline == UINT64_MAX)
		return -1;
	uint64_t now = fsc_wait_clock_ns(CLOCK_MONOTONIC);
	return now >= w->deadline ? 0 : (long)((w->deadline - now) / 1000000u);
}

int main(int argc, char **argv)
{
	struct fsc_wait_opts o;
	int rc = fsc_wait_opts_parse(&o, argc, argv);
	if (rc)
		return rc < 0 ? FSC_WAIT_EXIT_OK : rc;
	/* the lease probe holds a lease for microseconds; a writer opening the file then
	 * would send SIGIO, whose default action ends the process */
	signal(SIGIO, SIG_IGN);
	struct fsc_wait w = {.o = &o, .deadline = UINT64_MAX};
	if (o.timeout_s >= 0)
		w.deadline =
		    fsc_wait_clock_ns(CLOCK_MONOTONIC) + (uint64_t)(o.timeout_s * 1e9 + 0.5);
	w.dirty = calloc((size_t)o.npaths, sizeof(*w.dirty));
	w.state = calloc((size_t)o.npaths, sizeof(*w.state));
	if (!w.dirty || !w.state) {
		fprintf(stderr, "fsc-wait: out of memory\n");
		return FSC_WAIT_EXIT_ERROR;
	}
	/* a private fscd is stopped, its objects removed, however fsc-wait is asked to end */
	if (fsc_private_fscd_stop_on_signals() != 0) {
		fprintf(stderr, "fsc-wait: cannot handle signals: %s\n", strerror(errno));
		return FSC_WAIT_EXIT_ERROR;
	}
	rc = fsc_wait_fscd_attach(&w.fscd, o.name, o.verbose, o.paths, o.npaths,
				  fsc_wait_left_ms(&w));
	w.c = w.fscd.c;
	if (rc == FSC_WAIT_EXIT_TIMEOUT)
		fsc_wait_timed_out(&w); /* before its private fscd served */
	if (rc == 0)
		rc = fsc_wait_loop(&w);
	if (rc == FSC_WAIT_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
		fprintf(stderr, "fsc-wait: cannot write to stdout: %s\n", strerror(errno));
		rc = FSC_WAIT_EXIT_ERROR;
	}
	fsc_close(w.c);
	fsc_private_fscd_stop(&w.fscd);
	for (int i = 0; i < o.npaths; i++)
		free(o.paths[i].path);
	free(o.paths);
	free(w.dirty);
	free(w.state);
	return rc;
}
