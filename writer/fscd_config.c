/* fscd's configuration: one table of settings, read from a config file with libinih and from
 * the command line with getopt_long, into one struct fscd_config. */
#define _GNU_SOURCE
#include "fscd_config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "fsc_shm_table.h"

/* --help states these defaults in words */
_Static_assert(FSC_SLOT_SIZE_DEFAULT == 512, "--help says the default slot size is 512");
_Static_assert(FSCD_DEFAULT_CAPACITY == 16384, "--help says the default capacity is 16384");
_Static_assert(FSCD_DEFAULT_POLL_INTERVAL_MS == 2000, "--help says the default poll is 2000");

#define FSCD_POLL_INTERVAL_MIN_MS 10u
#define FSCD_POLL_INTERVAL_MAX_MS 3600000u

/* getopt values of the settings without a short flag, and of the command-line-only options */
enum {
	FSCD_OPT_SLOT_SIZE = 256,
	FSCD_OPT_POLL_INTERVAL,
	FSCD_OPT_CONFIG,
	FSCD_OPT_POLL,
	FSCD_OPT_STAT_THREADS,
	FSCD_OPT_REQUEST_WINDOW,
	FSCD_OPT_JOURNAL_KIB,
};

/* Applies one value; returns NULL, or what a valid value looks like. in_file: the value
 * comes from the config file rather than the command line. */
typedef const char *(*fscd_setting_fn)(struct fscd_config *cfg, const char *value, bool in_file);

struct fscd_setting {
	const char *key;  /* config-file key and long option name */
	int opt;	  /* short option letter, or an FSCD_OPT_* value */
	const char *arg;  /* the value's name in --help */
	const char *help; /* description for --help; '\n' separates lines */
	fscd_setting_fn set;
	const char *fail; /* the word for a rejected value: "invalid" unless set */
};

static int fscd_config_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static const char *fscd_strlist_push(struct fscd_strlist *l, const char *value)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return "out of memory";
	l->v = v;
	if (!(l->v[l->n] = strdup(value)))
		return "out of memory";
	l->n++;
	return NULL;
}

static void fscd_strlist_free(struct fscd_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct fscd_strlist){0};
}

static const char *fscd_config_set_watch(struct fscd_config *cfg, const char *v, bool in_file)
{
	if (!*v)
		return "the path of a directory or file";
	if (in_file && v[0] != '/')
		return "an absolute path (relative to what? a config file has no working "
		       "directory)";
	return fscd_strlist_push(&cfg->watch, v);
}

static const char *fscd_config_set_exclude(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	return *v ? fscd_strlist_push(&cfg->exclude, v) : "a glob such as *.tmp or /srv/*/cache";
}

static const char *fscd_config_set_include(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	return *v ? fscd_strlist_push(&cfg->include, v) : "a glob such as *.log";
}

static const char *fscd_config_set_max_depth(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	uint64_t n;
	if (fscd_config_parse_u64(v, &n) < 0 || n > UINT_MAX)
		return "a number of levels below each root (1: its entries only), 0 for unlimited";
	cfg->max_depth = (unsigned)n;
	return NULL;
}

static const char *fscd_config_set_name(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	if (!fsc_shm_name_valid(v))
		return "use 1-64 of [A-Za-z0-9._-], not starting with '.'";
	char *name = strdup(v);
	if (!name)
		return "out of memory";
	free(cfg->name);
	cfg->name = name;
	return NULL;
}

static const char *fscd_config_set_capacity(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	uint64_t n;
	if (fscd_config_parse_u64(v, &n) < 0 || n == 0)
		return "a positive number of entries";
	cfg->capacity = n;
	return NULL;
}

static const char *fscd_config_set_slot_size(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	uint64_t n;
	/* the range is checked where the table is made, so that the message names the limits */
	if (fscd_config_parse_u64(v, &n) < 0 || n > UINT32_MAX)
		return "a number of bytes: a multiple of 64 from 256 to 4352";
	cfg->slot_size = (uint32_t)n;
	return NULL;
}

static const char *fscd_config_set_poll_interval(struct fscd_config *cfg, const char *v,
						 bool in_file)
{
	(void)in_file;
	uint64_t n;
	if (fscd_config_parse_u64(v, &n) < 0 || n < FSCD_POLL_INTERVAL_MIN_MS ||
	    n > FSCD_POLL_INTERVAL_MAX_MS)
		return "a number of milliseconds from 10 to 3600000";
	cfg->poll_interval_ms = (unsigned)n;
	return NULL;
}

static const char *fscd_config_set_poll(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	if (v[0] != '/')
		return "an absolute directory path";
	/* the tree names directories by their real paths: match those (a directory that does
	 * not exist yet is kept as written) */
	char *real = realpath(v, NULL);
	const char *fail = fscd_strlist_push(&cfg->poll, real ? real : v);
	free(real);
	return fail;
}

static const char *fscd_config_set_stat_threads(struct fscd_config *cfg, const char *v,
						bool in_file)
{
	(void)in_file;
	uint64_t n;
	if (fscd_config_parse_u64(v, &n) < 0 || n < 1 || n > 64)
		return "a number of threads from 1 to 64";
	cfg->stat_threads = (unsigned)n;
	return NULL;
}

static const char *fscd_config_set_request_window(struct fscd_config *cfg, const char *v,
						  bool in_file)
{
	(void)in_file;
	uint64_t n;
	if (fscd_config_parse_u64(v, &n) < 0 || n > FSCD_POLL_INTERVAL_MAX_MS)
		return "a number of milliseconds up to 3600000; 0 admits every request";
	cfg->request_window_ms = (unsigned)n;
	return NULL;
}

static const char *fscd_config_set_journal_kib(struct fscd_config *cfg, const char *v,
					       bool in_file)
{
	(void)in_file;
	uint64_t n;
	if (fscd_config_parse_u64(v, &n) < 0 || (n && (n < 64 || n > 1048576)))
		return "0 (no journal) or a number of KiB from 64 to 1048576";
	cfg->journal_kib = (unsigned)n;
	return NULL;
}

static const char *fscd_config_set_mode(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	char *end;
	long m = strtol(v, &end, 8);
	if (!*v || *end || m <= 0 || m > 0777)
		return "an octal mode such as 0640";
	cfg->mode = (mode_t)m;
	return NULL;
}

static const char *fscd_config_set_group(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	struct group *g = *v ? getgrnam(v) : NULL;
	uint64_t gid;
	if (g)
		cfg->group = g->gr_gid;
	else if (*v && fscd_config_parse_u64(v, &gid) == 0 && gid < (gid_t)-1)
		cfg->group = (gid_t)gid;
	else
		return "no such group (list them with: getent group)";
	return NULL;
}

static const char *fscd_config_set_log_level(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	int lvl = fscd_log_parse_level(v);
	if (lvl < 0)
		return "error, warn, info or debug";
	cfg->log_level = (enum fscd_log_level)lvl;
	return NULL;
}

static const struct fscd_setting fscd_settings[] = {
    {"watch", 'w', "PATH",
     "directory (cached with everything below it) or file (watched through its\n"
     "directory) to cache; repeatable, at least one",
     fscd_config_set_watch, NULL},
    {"exclude", 'x', "GLOB",
     "do not cache paths matching GLOB (fnmatch(3)), tried on the full path and on\n"
     "the base name; an excluded directory is not traversed; repeatable",
     fscd_config_set_exclude, NULL},
    {"include", 'i', "GLOB",
     "cache only files matching GLOB (full path or base name); directories are\n"
     "still traversed; repeatable (default: every file)",
     fscd_config_set_include, NULL},
    {"max-depth", 'd', "N",
     "cache at most N levels below each root (1: the root's entries only);\n"
     "0 for unlimited (default 0)",
     fscd_config_set_max_depth, NULL},
    {"name", 'n', "NAME", "table name, /dev/shm/fsc.NAME (default: default)", fscd_config_set_name,
     NULL},
    {"capacity", 'c', "N", "most entries kept; CLOCK evicts beyond it (default 16384)",
     fscd_config_set_capacity, NULL},
    {"slot-size", FSCD_OPT_SLOT_SIZE, "BYTES",
     "bytes per entry, 256..4352, multiple of 64; longest cacheable path is\n"
     "BYTES-136 (default 512)",
     fscd_config_set_slot_size, NULL},
    {"poll-interval", FSCD_OPT_POLL_INTERVAL, "MS",
     "how often to re-check paths on filesystems inotify cannot see (NFS, FUSE,\n"
     "/proc), in milliseconds, 10..3600000 (default 2000)",
     fscd_config_set_poll_interval, NULL},
    {"poll", FSCD_OPT_POLL, "DIR",
     "poll DIR and everything below it at the poll interval instead of watching it\n"
     "(for filesystems that look local but change behind inotify's back);\n"
     "repeatable. NFS, CIFS, FUSE, 9p, /proc, ... are polled without it",
     fscd_config_set_poll, NULL},
    {"stat-threads", FSCD_OPT_STAT_THREADS, "N",
     "threads that list and stat polled directories, so a hung network mount\n"
     "never stalls the rest (default 2)",
     fscd_config_set_stat_threads, NULL},
    {"request-window", FSCD_OPT_REQUEST_WINDOW, "MS",
     "readers' misses ask fscd to cache a path under a root; it is admitted on\n"
     "its second request within MS milliseconds, so one-off scans stay out;\n"
     "0 admits on the first request (default 10000)",
     fscd_config_set_request_window, NULL},
    {"journal-kib", FSCD_OPT_JOURNAL_KIB, "KIB",
     "size of the change journal readers follow (fsc_journal_next), rounded up\n"
     "to a power of two, 64..1048576; 0 keeps none (default 4096)",
     fscd_config_set_journal_kib, NULL},
    {"mode", 'm', "OCTAL", "table permissions (default 0640; never world-writable)",
     fscd_config_set_mode, NULL},
    {"group", 'g', "GROUP", "group owning the table (readers in it may map it)",
     fscd_config_set_group, "unknown"},
    {"log-level", 'l', "LEVEL", "error, warn, info or debug (default info)",
     fscd_config_set_log_level, NULL},
};
#define FSCD_NSETTINGS (sizeof(fscd_settings) / sizeof(*fscd_settings))

static const struct fscd_setting *fscd_setting_by_key(const char *key)
{
	for (size_t i = 0; i < FSCD_NSETTINGS; i++)
		if (strcmp(fscd_settings[i].key, key) == 0)
			return &fscd_settings[i];
	return NULL;
}

static const struct fscd_setting *fscd_setting_by_opt(int opt)
{
	for (size_t i = 0; i < FSCD_NSETTINGS; i++)
		if (fscd_settings[i].opt == opt)
			return &fscd_settings[i];
	return NULL;
}

static const char *fscd_setting_fail(const struct fscd_setting *s)
{
	return s->fail ? s->fail : "invalid";
}

static void fscd_config_usage_setting(FILE *out, const struct fscd_setting *s)
{
	char flag[64];
	if (s->opt < 256)
		snprintf(flag, sizeof(flag), "-%c, --%s %s", s->opt, s->key, s->arg);
	else
		snprintf(flag, sizeof(flag), "    --%s %s", s->key, s->arg);
	fprintf(out, "  %-28s %s = %s\n", flag, s->key, s->arg);
	for (const char *line = s->help; *line;) {
		size_t len = strcspn(line, "\n");
		fprintf(out, "        %.*s\n", (int)len, line);
		line += len + (line[len] == '\n');
	}
}

void fscd_config_usage(FILE *out)
{
	fputs("usage: fscd --watch PATH [--watch PATH ...] [options]\n"
	      "       fscd --config FILE [options]\n"
	      "\n"
	      "Watch PATHs with inotify and publish their files' stat records in a shared-memory\n"
	      "table that programs read through libfsc (fsc_stat, fsc_lookup) with no syscall.\n"
	      "Runs in the foreground and logs to stderr; SIGTERM or SIGINT stops it cleanly.\n"
	      "SIGHUP re-reads the configuration: if it is valid, fscd restarts in place (same\n"
	      "pid) and publishes a new table that readers follow; if not, it logs why and keeps\n"
	      "running as it was.\n"
	      "\n"
	      "settings: a flag, or a 'key = value' line in the config file\n"
	      "  flag                         config-file key\n",
	      out);
	for (size_t i = 0; i < FSCD_NSETTINGS; i++)
		fscd_config_usage_setting(out, &fscd_settings[i]);
	fputs("\n"
	      "other options:\n"
	      "      --config FILE            read settings from FILE first; flags override its\n"
	      "                               values; watch, exclude, include, poll accumulate\n"
	      "  -h, --help                   this text\n"
	      "  -V, --version                version\n"
	      "\n"
	      "config file: one 'key = value' per line, keys as above, no [sections]; a line\n"
	      "starting with # or ; is a comment, and so is ' ;' and what follows it; watch paths\n"
	      "must be absolute; lines are at most 197 characters. Example: /etc/fscd.conf\n"
	      "\n"
	      "A second fscd started with the same --name takes the table over; the first exits.\n"
	      "Inspect a live table with: fsc-shmdump --name NAME [--entries] [--json]\n",
	      out);
}

/* Reading the config file. The reader hands libinih one line at a time, so the handler knows
 * the line it is called for, and it strips leading blanks (an indented line is a setting
 * like any other, never a continuation of the one before). */
struct fscd_ini {
	FILE *f;
	const char *path;
	int lineno;   /* of the line last read */
	int err_line; /* of the first error the handler or reader found; 0 = none */
	struct fscd_config *cfg;
	struct fscd_config_error *err;
};

__attribute__((format(printf, 2, 3))) static void fscd_ini_fail(struct fscd_ini *s, const char *fmt,
								...)
{
	if (s->err_line)
		return; /* the first error is the one reported */
	s->err_line = s->lineno;
	int n = snprintf(s->err->msg, sizeof(s->err->msg), "%s:%d: ", s->path, s->lineno);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err->msg + n, sizeof(s->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

static char *fscd_ini_read(char *str, int num, void *stream)
{
	struct fscd_ini *s = stream;
	if (!fgets(str, num, s->f))
		return NULL;
	s->lineno++;
	size_t len = strlen(str);
	if (len + 1 == (size_t)num && str[len - 1] != '\n' && !feof(s->f)) {
		int c;
		while ((c = getc(s->f)) != EOF && c != '\n')
			;
		fscd_ini_fail(s, "line longer than %d characters: shorten it", num - 3);
		str[0] = '\0'; /* libinih sees a blank line */
		return str;
	}
	size_t blanks = strspn(str, " \t");
	memmove(str, str + blanks, len - blanks + 1);
	return str;
}

static int fscd_ini_on_setting(void *user, const char *section, const char *key, const char *value)
{
	struct fscd_ini *s = user;
	if (*section) {
		fscd_ini_fail(s,
			      "'%s' is in section [%s]: the config file has no sections; "
			      "remove the [%s] line",
			      key, section, section);
		return 0;
	}
	const struct fscd_setting *st = fscd_setting_by_key(key);
	if (!st) {
		fscd_ini_fail(s, "unknown setting '%s' (see fscd --help)", key);
		return 0;
	}
	const char *expected = st->set(s->cfg, value, true);
	if (expected) {
		fscd_ini_fail(s, "%s %s '%s': %s", fscd_setting_fail(st), key, value, expected);
		return 0;
	}
	return 1;
}

static bool fscd_config_read_file(struct fscd_config *cfg, const char *path,
				  struct fscd_config_error *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err->msg, sizeof(err->msg),
			 "cannot read config file %s: %s (check --config)", path, strerror(errno));
		return false;
	}
	struct fscd_ini s = {.f = f, .path = path, .cfg = cfg, .err = err};
	int rc = ini_parse_stream(fscd_ini_read, &s, fscd_ini_on_setting, &s);
	int read_errno = ferror(f) ? errno : 0;
	fclose(f);
	if (read_errno) {
		snprintf(err->msg, sizeof(err->msg), "cannot read config file %s: %s", path,
			 strerror(read_errno));
		return false;
	}
	if (rc > 0 && (!s.err_line || rc < s.err_line)) {
		/* a line libinih could not parse: the handler never saw it */
		snprintf(err->msg, sizeof(err->msg),
			 "%s:%d: not a setting: write 'key = value' (or a comment starting with #)",
			 path, rc);
		return false;
	}
	if (rc < 0 && !s.err_line) {
		snprintf(err->msg, sizeof(err->msg), "cannot read config file %s: out of memory",
			 path);
		return false;
	}
	return s.err_line == 0 && rc == 0;
}

/* getopt_long's tables, from the settings table */
struct fscd_getopt {
	struct option longopts[FSCD_NSETTINGS + 4];
	char shortopts[2 * FSCD_NSETTINGS + 8];
};

static void fscd_getopt_init(struct fscd_getopt *g)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < FSCD_NSETTINGS; i++) {
		const struct fscd_setting *s = &fscd_settings[i];
		g->longopts[n++] = (struct option){s->key, required_argument, NULL, s->opt};
		if (s->opt < 256) {
			g->shortopts[k++] = (char)s->opt;
			g->shortopts[k++] = ':';
		}
	}
	g->longopts[n++] = (struct option){"config", required_argument, NULL, FSCD_OPT_CONFIG};
	g->longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	g->longopts[n++] = (struct option){"version", no_argument, NULL, 'V'};
	g->longopts[n] = (struct option){NULL, 0, NULL, 0};
	memcpy(g->shortopts + k, "hV", 3);
}

/* First pass over the flags: --help, --version, --config and unknown options. */
static enum fscd_config_status fscd_config_pass_meta(struct fscd_config *cfg, int argc, char **args,
						     const struct fscd_getopt *g, bool quiet,
						     struct fscd_config_error *err)
{
	int opt;
	optind = 0; /* GNU: reinitialise completely */
	opterr = !quiet;
	while ((opt = getopt_long(argc, args, g->shortopts, g->longopts, NULL)) != -1) {
		if (opt == 'h') {
			fscd_config_usage(stdout);
			return FSCD_CONFIG_EXIT;
		}
		if (opt == 'V') {
			printf("fscd %s (table ABI %u)\n", FSC_VERSION, FSC_SHM_ABI_VERSION);
			return FSCD_CONFIG_EXIT;
		}
		if (opt == '?') {
			/* getopt has said what is wrong, unless quiet */
			snprintf(err->msg, sizeof(err->msg), "%s",
				 quiet ? "the command line is not valid (see fscd --help)" : "");
			err->usage_hint = true;
			return FSCD_CONFIG_ERROR;
		}
		if (opt == FSCD_OPT_CONFIG) {
			free(cfg->config_file);
			if (!(cfg->config_file = strdup(optarg))) {
				snprintf(err->msg, sizeof(err->msg), "out of memory");
				return FSCD_CONFIG_ERROR;
			}
		}
	}
	return FSCD_CONFIG_RUN;
}

/* Second pass: the settings, over what the config file said. */
static enum fscd_config_status fscd_config_pass_settings(struct fscd_config *cfg, int argc,
							 char **args, const struct fscd_getopt *g,
							 struct fscd_config_error *err)
{
	int opt;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, args, g->shortopts, g->longopts, NULL)) != -1) {
		const struct fscd_setting *s = fscd_setting_by_opt(opt);
		const char *expected = s ? s->set(cfg, optarg, false) : NULL;
		if (expected) {
			snprintf(err->msg, sizeof(err->msg), "%s --%s '%s': %s",
				 fscd_setting_fail(s), s->key, optarg, expected);
			err->usage_hint = true;
			return FSCD_CONFIG_ERROR;
		}
	}
	err->usage_hint = true;
	if (optind < argc) {
		snprintf(err->msg, sizeof(err->msg),
			 "unexpected argument '%s' (did you mean --watch %s?)", args[optind],
			 args[optind]);
		return FSCD_CONFIG_ERROR;
	}
	if (cfg->watch.n == 0) {
		snprintf(err->msg, sizeof(err->msg),
			 "nothing to watch: give at least one --watch PATH (or a 'watch = PATH' "
			 "line in the config file)");
		return FSCD_CONFIG_ERROR;
	}
	err->usage_hint = false;
	return FSCD_CONFIG_RUN;
}

static void fscd_config_defaults(struct fscd_config *cfg)
{
	*cfg = (struct fscd_config){
	    .name = strdup(FSCD_DEFAULT_NAME),
	    .capacity = FSCD_DEFAULT_CAPACITY,
	    .poll_interval_ms = FSCD_DEFAULT_POLL_INTERVAL_MS,
	    .stat_threads = FSCD_DEFAULT_STAT_THREADS,
	    .request_window_ms = FSCD_DEFAULT_REQUEST_WINDOW_MS,
	    .journal_kib = FSCD_DEFAULT_JOURNAL_KIB,
	    .group = (gid_t)-1,
	    .log_level = FSCD_LOG_INFO,
	};
}

enum fscd_config_status fscd_config_load(struct fscd_config *cfg, int argc, char *const *argv,
					 bool quiet, struct fscd_config_error *err)
{
	fscd_config_defaults(cfg);
	*err = (struct fscd_config_error){0};
	/* getopt_long permutes what it parses: work on a copy so that argv stays as given */
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args || !cfg->name) {
		free(args);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return FSCD_CONFIG_ERROR;
	}
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	struct fscd_getopt g;
	fscd_getopt_init(&g);
	enum fscd_config_status st = fscd_config_pass_meta(cfg, argc, args, &g, quiet, err);
	if (st == FSCD_CONFIG_RUN && cfg->config_file &&
	    !fscd_config_read_file(cfg, cfg->config_file, err))
		st = FSCD_CONFIG_ERROR;
	if (st == FSCD_CONFIG_RUN)
		st = fscd_config_pass_settings(cfg, argc, args, &g, err);
	free(args);
	return st;
}

void fscd_config_free(struct fscd_config *cfg)
{
	free(cfg->name);
	free(cfg->config_file);
	fscd_strlist_free(&cfg->watch);
	fscd_strlist_free(&cfg->exclude);
	fscd_strlist_free(&cfg->include);
	fscd_strlist_free(&cfg->poll);
	*cfg = (struct fscd_config){0};
}
