/* fscd's configuration: one table of settings, read from a config file with libinih and from
 * the command line with getopt_long, into one struct fscd_config. */
#define _GNU_SOURCE
#include "fscd_config.h"

#include "fsc_shm_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "fsc_shm_table.h"

/* --help states these defaults in words */
_Static_assert(FSC_SLOT_SIZE_DEFAULT == 512, "--help says the default slot size is 512");
_Static_assert(FSCD_DEFAULT_CAPACITY == 16384, "--help says the default capacity is 16384");
_Static_assert(FSCD_DEFAULT_POLL_INTERVAL_MS == 2000, "--help says the default poll is 2000");
_Static_assert(FSCD_CONFIG_LINE_MAX == 197 && FSCD_CONFIG_FILE_MAX == 1024 * 1024,
	       "--help and fscd.conf state the config file's limits");

#include "fscd_config_settings.h"

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
	      "pid) and publishes a new table that readers follow; if not (or if the object\n"
	      "directory has no room for the new table next to the old one), it logs why and\n"
	      "keeps running as it was. If the restarted fscd still cannot start (a root gone\n"
	      "meanwhile, a table name it cannot publish), it logs why and restarts once more\n"
	      "with the previous configuration.\n"
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
	      "must be absolute; lines are at most 197 bytes, the file at most 1 MiB, with no NUL\n"
	      "bytes. Example: /etc/fscd.conf\n"
	      "\n"
	      "A second fscd started with the same --name takes the table over; the first exits.\n"
	      "Inspect a live table with: fsc-shmdump --name NAME [--entries] [--json]\n",
	      out);
}

/* Reading the config file. It is read whole first, and only if it is a regular file of at
 * most FSCD_CONFIG_FILE_MAX bytes: a device, a FIFO or a huge file is refused before anything
 * is read (/dev/zero would never end). Every line is then checked for NUL bytes (which would
 * silently end a line as C sees it) and for length (libinih would split a longer line), so
 * that such a file is an error naming its line. The reader then hands libinih one line at a
 * time, so the handler knows the line it is called for, and it strips leading blanks (an
 * indented line is a setting like any other, never a continuation of the one before). */
struct fscd_ini {
	const char *text; /* the whole file */
	size_t len, pos;
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
	if (s->pos >= s->len)
		return NULL;
	const char *line = s->text + s->pos;
	const char *nl = memchr(line, '\n', s->len - s->pos);
	size_t len = nl ? (size_t)(nl - line) + 1 : s->len - s->pos;
	s->pos += len;
	s->lineno++;
	size_t blanks = 0;
	while (blanks < len && (line[blanks] == ' ' || line[blanks] == '\t'))
		blanks++;
	len -= blanks;
	if (len + 1 > (size_t)num) { /* fscd_config_check_text keeps lines shorter */
		fscd_ini_fail(s, "line too long (max %d bytes): shorten it", num - 3);
		len = 0; /* libinih sees a blank line */
	}
	memcpy(str, line + blanks, len);
	str[len] = '\0';
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

static const char *fscd_file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* Reads the whole of path, a regular file of at most FSCD_CONFIG_FILE_MAX bytes, into a
 * NUL-terminated buffer (*len bytes before the NUL). NULL with err filled if it cannot. */
static char *fscd_config_file_slurp(const char *path, size_t *len, struct fscd_config_error *err)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below) */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err->msg, sizeof(err->msg),
			 "cannot read config file %s: %s (check --config)", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > FSCD_CONFIG_FILE_MAX) {
		if (!S_ISREG(st.st_mode))
			snprintf(err->msg, sizeof(err->msg),
				 "config file %s is %s: --config takes a regular text file "
				 "(such as /etc/fscd.conf)",
				 path, fscd_file_kind(st.st_mode));
		else
			snprintf(err->msg, sizeof(err->msg),
				 "config file %s is %lld bytes, more than the %d a config file "
				 "may have: is it the right file?",
				 path, (long long)st.st_size, FSCD_CONFIG_FILE_MAX);
		close(fd);
		return NULL;
	}
	/* one byte more than allowed: a file that grew since fstat is refused, not cut */
	char *buf = malloc(FSCD_CONFIG_FILE_MAX + 2);
	size_t n = 0;
	ssize_t got = 1;
	while (buf && n <= FSCD_CONFIG_FILE_MAX &&
	       ((got = read(fd, buf + n, FSCD_CONFIG_FILE_MAX + 1 - n)) > 0 ||
		(got < 0 && errno == EINTR)))
		n += got > 0 ? (size_t)got : 0;
	int read_errno = errno;
	close(fd);
	if (!buf || got < 0 || n > FSCD_CONFIG_FILE_MAX) {
		snprintf(err->msg, sizeof(err->msg), "cannot read config file %s: %s", path,
			 !buf	   ? "out of memory"
			 : got < 0 ? strerror(read_errno)
				   : "it grew past the size a config file may have");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Every line of text: no NUL byte, at most FSCD_CONFIG_LINE_MAX bytes. */
static bool fscd_config_check_text(const char *text, size_t len, const char *path,
				   struct fscd_config_error *err)
{
	int lineno = 1;
	for (size_t pos = 0; pos < len; lineno++) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		const char *nul = memchr(line, '\0', n);
		if (nul) {
			snprintf(err->msg, sizeof(err->msg),
				 "%s:%d: NUL byte at column %zu: a config file is text (is it the "
				 "right file?); remove the byte",
				 path, lineno, (size_t)(nul - line) + 1);
			return false;
		}
		if (n > FSCD_CONFIG_LINE_MAX) {
			snprintf(err->msg, sizeof(err->msg),
				 "%s:%d: line too long (max %d bytes): shorten it", path, lineno,
				 FSCD_CONFIG_LINE_MAX);
			return false;
		}
		pos += n + 1;
	}
	return true;
}

/* Where the next load reads the --config file's text instead of the file, or NULL. */
static const char *fscd_config_source;

void fscd_config_read_text_from(const char *source)
{
	fscd_config_source = source;
}

static bool fscd_config_read_file(struct fscd_config *cfg, const char *path,
				  struct fscd_config_error *err)
{
	size_t len;
	char *text =
	    fscd_config_file_slurp(fscd_config_source ? fscd_config_source : path, &len, err);
	fscd_config_source = NULL;
	if (!text)
		return false;
	if (!fscd_config_check_text(text, len, path, err)) {
		free(text);
		return false;
	}
	struct fscd_ini s = {.text = text, .len = len, .path = path, .cfg = cfg, .err = err};
	int rc = ini_parse_stream(fscd_ini_read, &s, fscd_ini_on_setting, &s);
	free(cfg->config_text);
	cfg->config_text = text; /* kept: a reload that fails goes back to it */
	cfg->config_len = len;
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

/* The table name as its address, "DIR/NAME" (shm/fsc_shm_dir.h), resolved once: logs, the
 * writer, leftovers and a reload's comparison all speak of the same place. */
static bool fscd_config_resolve_name(struct fscd_config *cfg, struct fscd_config_error *err)
{
	char addr[FSC_ADDR_MAX + 1];
	int rc = fsc_shm_addr_resolve_for(cfg->name, addr, sizeof(addr), FSC_SHM_WRITER);
	char *copy = rc ? NULL : strdup(addr);
	if (!copy) {
		snprintf(err->msg, sizeof(err->msg),
			 rc ? "table '%s': cannot find its object directory: %s (FSC_DIR and "
			      "XDG_RUNTIME_DIR must be absolute paths of at most %d bytes)"
			    : "table '%s': out of memory",
			 cfg->name, strerror(-rc), FSC_DIR_MAX);
		return false;
	}
	free(cfg->name);
	cfg->name = copy;
	return true;
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
	    .batch_ms = FSCD_DEFAULT_BATCH_MS,
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
	if (st == FSCD_CONFIG_RUN && !fscd_config_resolve_name(cfg, err))
		st = FSCD_CONFIG_ERROR;
	return st;
}

void fscd_config_free(struct fscd_config *cfg)
{
	free(cfg->name);
	free(cfg->config_file);
	free(cfg->config_text);
	fscd_strlist_free(&cfg->watch);
	fscd_strlist_free(&cfg->exclude);
	fscd_strlist_free(&cfg->include);
	fscd_strlist_free(&cfg->poll);
	*cfg = (struct fscd_config){0};
}
