/* fsc-watch's command line (see fsc_watch_opts.h). */
#define _GNU_SOURCE
#include "fsc_watch_opts.h"
#include "fsc_tool_arg.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fsc.h"

enum {
	FSC_WATCH_OPT_ON = 256,
	FSC_WATCH_OPT_ON_BUSY,
	FSC_WATCH_OPT_SIGNAL,
	FSC_WATCH_OPT_STOP_SIGNAL,
	FSC_WATCH_OPT_STOP_TIMEOUT,
	FSC_WATCH_OPT_NO_DEFAULT_IGNORES,
	FSC_WATCH_OPT_PRIVATE,
};

static void fsc_watch_opts_usage_notes(FILE *out);

void fsc_watch_opts_usage(FILE *out)
{
	fputs("usage: fsc-watch [-w PATH]... [options] [--] [COMMAND [ARG...]]\n"
	      "\n"
	      "Run COMMAND once at start and again whenever files under PATH change (default\n"
	      "PATH: the current directory), reading fscd's change journal: no inotify watch\n"
	      "of its own when an fscd serves PATH; else it starts a private fscd for PATH.\n"
	      "Without COMMAND (or with --json) it prints one line per change to stdout.\n"
	      "\n"
	      "  -w, --watch PATH     a directory (with everything below it, new directories\n"
	      "                       included) or a file; repeatable\n"
	      "  -e, --exts LIST      only files ending in these extensions: -e c,h (then no\n"
	      "                       directory counts)\n"
	      "  -i, --ignore GLOB    ignore paths matching GLOB (see below); repeatable\n"
	      "      --no-default-ignores  also watch .git .hg .svn .bzr _darcs CVS .jj and\n"
	      "                       editor files (.*.sw? .sw? 4913 *~ #*# .#*)\n"
	      "      --on KINDS       only these kinds of change count (comma-separated):\n"
	      "                       create, modify, delete, move, attrib, close-write\n"
	      "  -d, --debounce MS    wait until changes pause for MS ms (default 50; at most\n"
	      "                       20 times that, or 2 s longer while a file is being written)\n"
	      "      --on-busy MODE   changes while COMMAND runs: queue (default: one more run\n"
	      "                       when it ends), restart (stop it, run again), signal (send\n"
	      "                       it --signal), do-nothing\n"
	      "  -r, --restart        --on-busy restart\n"
	      "  -s, --signal SIG     the signal of --on-busy signal (default HUP; alone it\n"
	      "                       means --on-busy signal)\n"
	      "      --stop-signal SIG  how to stop COMMAND (default TERM)\n"
	      "      --stop-timeout T   SIGKILL if it has not stopped after T (default 5s;\n"
	      "                       500ms, 2s, 1.5)\n"
	      "  -p, --postpone       do not run COMMAND at start, only after a change\n"
	      "  -1, --once           run once after the first change, then exit with\n"
	      "                       COMMAND's status (without COMMAND: print, exit 0)\n"
	      "  -c, --clear          clear the screen before each run\n"
	      "  -j, --json           print each change as a JSON line, also with COMMAND\n"
	      "  -n, --name NAME      read the fscd table NAME, which must serve every PATH\n"
	      "                       (default: \"default\" if it serves them, else private)\n"
	      "      --private        always start a private fscd\n"
	      "  -v, --verbose        say which fscd serves, each run and each stop on stderr\n"
	      "  -h, --help           show this help\n"
	      "  -V, --version        show the version\n"
	      "\n",
	      out);
	fsc_watch_opts_usage_notes(out);
}

/* The second half of --help: how COMMAND runs, what it is told, output, globs, fscd, exit
 * statuses. */
static void fsc_watch_opts_usage_notes(FILE *out)
{
	fputs("COMMAND runs in a process group of its own, stdin from /dev/null if fsc-watch's\n"
	      "is a terminal. Stopping it (restart, Ctrl-C, SIGTERM or SIGHUP to fsc-watch)\n"
	      "sends the stop signal to the whole group, SIGKILL after the stop timeout, and\n"
	      "waits until no process of the group is left before going on (a restarted server\n"
	      "never finds its old worker still on the port). A process that leaves the group\n"
	      "(setsid) is not stopped. A second Ctrl-C sends SIGKILL at once. When fsc-watch\n"
	      "exits, no process of any run's group is left (if SIGKILL ends it, only the\n"
	      "running leader is sent the stop signal).\n"
	      "Files COMMAND writes below PATH are changes too: keep them out with -i (or\n"
	      "write them elsewhere), or every run causes the next.\n"
	      "\n"
	      "Environment of COMMAND: FSC_CHANGED holds the absolute paths changed since the\n"
	      "last run, one per line, each once, without files that came and went in between\n"
	      "(an editor's temporary file); a last line \"...\" (not a path) means the list is\n"
	      "incomplete: more than 1024 paths or 64 KiB, or fscd lost track (its journal ring\n"
	      "overran, it restarted, it rescanned a directory), and anything below the\n"
	      "directories listed may have changed. At the first run it is not set.\n"
	      "\n"
	      "Output without COMMAND: \"KINDS PATH\" per change that counts, at once\n"
	      "(`read kinds path` splits it; bytes that are not printable ASCII as \\xHH),\n"
	      "KINDS as create,modify,attrib,close-write,delete,moved-from,moved-to,dir,rescan;\n"
	      "\"lost PATH\" for each watched PATH when fscd lost track (anything below it may\n"
	      "have changed). With --json: {\"path\":\"/abs\",\"kinds\":[\"create\",\"modify\"]}\n"
	      "(paths escaped as fsc-shmdump --help says), and {\"path\":PATH,\"kinds\":[],\n"
	      "\"lost\":true} when fscd lost track.\n"
	      "\n"
	      "Globs (-i) are gitignore-like, matched against the path below PATH: `*.o` or\n"
	      "`build` (no '/') match a name at any depth; `/build` and `src/gen` (a '/') only\n"
	      "from PATH; `**` is any number of directories (`src/**/*.c`); a trailing '/'\n"
	      "matches directories only; `!GLOB` re-includes (the last match decides). A\n"
	      "directory matched is ignored with everything below it: `build`, `build/` and\n"
	      "`build/**` all work. Only names are matched: nothing is read from .gitignore.\n"
	      "\n"
	      "fscd: the table \"default\" (or --name) is used when it serves every PATH. Else\n"
	      "fsc-watch starts fscd as its child, with a private table, stopped at exit with\n"
	      "nothing left behind. It runs FSC_WATCH_FSCD if set, else the fscd next to\n"
	      "fsc-watch's own executable (then ../writer/fscd/fscd, the build tree, and\n"
	      "../sbin/fscd), else fscd from PATH.\n"
	      "\n"
	      "Exit status: 0 stopped by a signal (or --once without COMMAND); with --once,\n"
	      "COMMAND's status (128+N if killed by signal N); 1 a runtime error (fscd failed,\n"
	      "fork failed); 2 a usage error (bad option, glob, kind or signal); 3 a PATH that\n"
	      "does not exist or that --name does not serve; 127 COMMAND cannot be run.\n",
	      out);
}

static int fsc_watch_usage_error(const char *what, const char *arg, const char *why)
{
	fprintf(stderr, "fsc-watch: %s%s%s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "",
		arg ? "'" : "", why ? ": " : "", why ? why : "");
	fputs("(fsc-watch --help lists the options)\n", stderr);
	return FSC_WATCH_EXIT_USAGE;
}

int fsc_watch_signal_parse(const char *s)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (end != s && !*end)
		return !errno && n >= 1 && n <= SIGRTMAX ? (int)n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && strcasecmp(abbrev, s) == 0)
			return sig;
	}
	return -1;
}

/* "5", "1.5", "5s", "500ms": milliseconds, or -1. */
static long long fsc_watch_duration_parse(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0 || !(v <= 86400.0 * 1000))
		return -1;
	if (strcmp(end, "ms") == 0)
		return (long long)v;
	if (*end && strcmp(end, "s") != 0)
		return -1;
	return v * 1000 <= 86400.0 * 1000 ? (long long)(v * 1000) : -1;
}

static int fsc_watch_kinds_parse(struct fsc_watch_opts *o, const char *list)
{
	static const struct {
		const char *name;
		uint32_t kinds;
	} names[] = {
	    {"create", FSC_KIND_CREATE}, {"modify", FSC_KIND_MODIFY},
	    {"delete", FSC_KIND_DELETE}, {"move", FSC_KIND_MOVED_FROM | FSC_KIND_MOVED_TO},
	    {"attrib", FSC_KIND_ATTRIB}, {"close-write", FSC_KIND_CLOSE_WRITE},
	};
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return fsc_watch_usage_error("out of memory parsing --on", list, NULL);
	int rc = 0;
	for (char *k = strtok_r(copy, ",", &save); k && !rc; k = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof(names) / sizeof(*names) && strcmp(names[i].name, k) != 0)
			i++;
		if (i == sizeof(names) / sizeof(*names))
			rc = fsc_watch_usage_error(
			    "unknown kind", k,
			    "--on takes create, modify, delete, move, attrib, close-write");
		else
			o->on_kinds |= names[i].kinds;
	}
	if (!rc && o->on_kinds == 0)
		rc = fsc_watch_usage_error("--on needs at least one kind, not", list, NULL);
	free(copy);
	return rc;
}

static int fsc_watch_exts_parse(struct fsc_watch_opts *o, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;
	if (!copy)
		return fsc_watch_usage_error("out of memory parsing --exts", list, NULL);
	for (char *e = strtok_r(copy, ",", &save); e && !rc; e = strtok_r(NULL, ",", &save)) {
		while (*e == '.')
			e++;
		if (!*e || strchr(e, '/')) {
			rc = fsc_watch_usage_error("bad extension in --exts", list,
						   "give names such as c,h or .c,.h");
			break;
		}
		char **grown = realloc(o->exts, (o->nexts + 2) * sizeof(*grown));
		char *dup = strdup(e);
		if (!grown || !dup) {
			free(dup);
			if (grown)
				o->exts = grown;
			rc = fsc_watch_usage_error("out of memory parsing --exts", list, NULL);
			break;
		}
		o->exts = grown;
		o->exts[o->nexts++] = dup;
		o->exts[o->nexts] = NULL;
	}
	free(copy);
	return rc;
}

static int fsc_watch_path_add(struct fsc_watch_opts *o, const char *path)
{
	char **grown = realloc(o->paths, (o->npaths + 1) * sizeof(*grown));
	char *dup = strdup(path);
	if (!grown || !dup) {
		free(dup);
		if (grown)
			o->paths = grown;
		return fsc_watch_usage_error("out of memory adding", path, NULL);
	}
	o->paths = grown;
	o->paths[o->npaths++] = dup;
	return 0;
}

static int fsc_watch_on_busy_parse(struct fsc_watch_opts *o, const char *mode)
{
	static const char *const modes[] = {"queue", "restart", "signal", "do-nothing"};
	for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++)
		if (strcmp(modes[i], mode) == 0) {
			o->on_busy = (enum fsc_watch_on_busy)i;
			return 0;
		}
	return fsc_watch_usage_error("unknown --on-busy mode", mode,
				     "queue, restart, signal or do-nothing");
}

/* The options that only switch something on (or off): true if c is one of them. */
static bool fsc_watch_opt_flag(struct fsc_watch_opts *o, int c)
{
	switch (c) {
	case FSC_WATCH_OPT_NO_DEFAULT_IGNORES:
		o->default_ignores = false;
		return true;
	case 'p':
		o->postpone = true;
		return true;
	case '1':
		o->once = true;
		return true;
	case 'c':
		o->clear = true;
		return true;
	case 'j':
		o->json = true;
		return true;
	case FSC_WATCH_OPT_PRIVATE:
		o->private_fscd = true;
		return true;
	case 'v':
		o->verbose = true;
		return true;
	default:
		return false;
	}
}

/* One option (getopt_long's c with optarg): 0, -1 (help/version printed) or an exit status. */
static int fsc_watch_opt_one(struct fsc_watch_opts *o, int c, bool *busy_given)
{
	const char *why = NULL;
	long long v;
	switch (c) {
	case 'w':
		return fsc_watch_path_add(o, optarg);
	case 'e':
		return fsc_watch_exts_parse(o, optarg);
	case 'i': /* added after the defaults, so that a `!GLOB` can re-include one of them */
		if (fsc_watch_ignore_add(&o->user_ignore, optarg, &why) == 0)
			return 0;
		return fsc_watch_usage_error("bad glob", optarg, why ? why : strerror(errno));
	case FSC_WATCH_OPT_ON:
		return fsc_watch_kinds_parse(o, optarg);
	case 'd':
		if (!fsc_arg_integer(optarg, 0, FSC_WATCH_DEBOUNCE_MS_MAX, &v))
			return fsc_watch_usage_error(
			    "--debounce needs milliseconds (0-3600000), not", optarg, NULL);
		o->debounce_ms = (uint64_t)v;
		return 0;
	case FSC_WATCH_OPT_ON_BUSY:
		*busy_given = true;
		return fsc_watch_on_busy_parse(o, optarg);
	case 'r':
		*busy_given = true;
		o->on_busy = FSC_WATCH_BUSY_RESTART;
		return 0;
	case 's':
	case FSC_WATCH_OPT_STOP_SIGNAL: {
		int sig = fsc_watch_signal_parse(optarg);
		if (sig < 0)
			return fsc_watch_usage_error("unknown signal", optarg,
						     "give a name (TERM, HUP, INT) or a number");
		if (c == 's')
			o->busy_signal = sig;
		else
			o->stop_signal = sig;
		return 0;
	}
	case FSC_WATCH_OPT_STOP_TIMEOUT:
		v = fsc_watch_duration_parse(optarg);
		if (v < 0)
			return fsc_watch_usage_error(
			    "--stop-timeout needs a time (5, 1.5s, 500ms), not", optarg, NULL);
		o->stop_timeout_ms = (uint64_t)v;
		return 0;
	case 'n':
		o->name = optarg;
		return 0;
	case 'h':
		fsc_watch_opts_usage(stdout);
		return -1;
	case 'V':
		printf("fsc-watch %s\n", FSC_VERSION);
		return -1;
	default:
		fputs("(fsc-watch --help lists the options)\n", stderr);
		return FSC_WATCH_EXIT_USAGE;
	}
}

/* The defaults first, then -i's globs in their order: the last match decides. */
static int fsc_watch_opts_ignores(struct fsc_watch_opts *o)
{
	if (o->default_ignores && fsc_watch_ignore_add_defaults(&o->ignore) != 0)
		return -1;
	if (fsc_watch_ignore_append(&o->ignore, &o->user_ignore) != 0)
		return -1;
	fsc_watch_ignore_free(&o->user_ignore);
	return 0;
}

int fsc_watch_opts_parse(struct fsc_watch_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"watch", required_argument, NULL, 'w'},
	    {"exts", required_argument, NULL, 'e'},
	    {"ignore", required_argument, NULL, 'i'},
	    {"no-default-ignores", no_argument, NULL, FSC_WATCH_OPT_NO_DEFAULT_IGNORES},
	    {"on", required_argument, NULL, FSC_WATCH_OPT_ON},
	    {"debounce", required_argument, NULL, 'd'},
	    {"on-busy", required_argument, NULL, FSC_WATCH_OPT_ON_BUSY},
	    {"restart", no_argument, NULL, 'r'},
	    {"signal", required_argument, NULL, 's'},
	    {"stop-signal", required_argument, NULL, FSC_WATCH_OPT_STOP_SIGNAL},
	    {"stop-timeout", required_argument, NULL, FSC_WATCH_OPT_STOP_TIMEOUT},
	    {"postpone", no_argument, NULL, 'p'},
	    {"once", no_argument, NULL, '1'},
	    {"clear", no_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"name", required_argument, NULL, 'n'},
	    {"private", no_argument, NULL, FSC_WATCH_OPT_PRIVATE},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	*o = (struct fsc_watch_opts){
	    .default_ignores = true,
	    .debounce_ms = FSC_WATCH_DEBOUNCE_MS_DEFAULT,
	    .busy_signal = SIGHUP,
	    .stop_signal = SIGTERM,
	    .stop_timeout_ms = FSC_WATCH_STOP_TIMEOUT_MS,
	};
	bool busy_given = false, signal_given = false;
	int c;
	/* '+': options end at COMMAND, whose own options are its business */
	while ((c = getopt_long(argc, argv, "+w:e:i:d:rs:p1cjn:vhV", longopts, NULL)) != -1) {
		signal_given |= c == 's';
		if (fsc_watch_opt_flag(o, c))
			continue;
		int rc = fsc_watch_opt_one(o, c, &busy_given);
		if (rc)
			return rc;
	}
	if (signal_given && !busy_given)
		o->on_busy = FSC_WATCH_BUSY_SIGNAL;
	if (fsc_watch_opts_ignores(o) != 0)
		return fsc_watch_usage_error("out of memory adding the ignore globs", NULL, NULL);
	if (o->name && o->private_fscd)
		return fsc_watch_usage_error("--name and --private exclude each other", NULL, NULL);
	if (o->npaths == 0 && fsc_watch_path_add(o, ".") != 0)
		return FSC_WATCH_EXIT_USAGE;
	if (optind < argc)
		o->command = argv + optind;
	return 0;
}

int fsc_watch_opts_resolve(struct fsc_watch_opts *o)
{
	for (size_t i = 0; i < o->npaths; i++) {
		char *real = realpath(o->paths[i], NULL);
		if (!real) {
			int err = errno;
			fprintf(stderr, "fsc-watch: cannot watch '%s': %s (%s)\n", o->paths[i],
				strerror(err),
				err == ENOENT ? "give an existing file or directory with -w"
					      : "check the path and its permissions");
			return FSC_WATCH_EXIT_PATH;
		}
		free(o->paths[i]);
		o->paths[i] = real;
	}
	return 0;
}

void fsc_watch_opts_free(struct fsc_watch_opts *o)
{
	for (size_t i = 0; i < o->npaths; i++)
		free(o->paths[i]);
	free(o->paths);
	for (size_t i = 0; i < o->nexts; i++)
		free(o->exts[i]);
	free(o->exts);
	fsc_watch_ignore_free(&o->ignore);
	fsc_watch_ignore_free(&o->user_ignore);
	*o = (struct fsc_watch_opts){0};
}
