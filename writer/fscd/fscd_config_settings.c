/* fscd's settings: one table (key, flag, help, parser) that both the config file and the
 * command line go through (fscd_config.c), and the parser of each value. */
#define _GNU_SOURCE
#include "fscd_config_settings.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fsc_shm_table.h"

#define FSCD_POLL_INTERVAL_MIN_MS 10u
#define FSCD_POLL_INTERVAL_MAX_MS 3600000u

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

const char *fscd_strlist_push(struct fscd_strlist *l, const char *value)
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

void fscd_strlist_free(struct fscd_strlist *l)
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
	if (!fsc_shm_table_name_valid(v))
		return "use 1-64 of [A-Za-z0-9._-], not starting with '.', or an absolute DIR/NAME";
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

static const char *fscd_config_set_journal_kib(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	uint64_t n;
	if (fscd_config_parse_u64(v, &n) < 0 || (n && (n < 64 || n > 1048576)))
		return "0 (no journal) or a number of KiB from 64 to 1048576";
	cfg->journal_kib = (unsigned)n;
	return NULL;
}

static const char *fscd_config_set_batch_ms(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	uint64_t n;
	if (fscd_config_parse_u64(v, &n) < 0 || n < 2 || n > 1000)
		return "a number of milliseconds from 2 to 1000";
	cfg->batch_ms = (unsigned)n;
	return NULL;
}

static const char *fscd_config_set_mode(struct fscd_config *cfg, const char *v, bool in_file)
{
	(void)in_file;
	char *end;
	long m = strtol(v, &end, 8);
	if (!*v || *end || m <= 0 || m > 0777)
		return "an octal mode such as 0640";
	if (m & 0022) /* readers refuse such a table: its group or others could forge it */
		return "a mode that is not group- or world-writable (readers refuse such a "
		       "table), such as 0640 or 0644";
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

static const struct fscd_setting fscd_settings_table[] = {
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
    {"name", 'n', "NAME",
     "table name (default: default) in the object directory ($FSC_DIR, else /run/fsc for root, "
     "$XDG_RUNTIME_DIR/fsc for others), or an absolute DIR/NAME",
     fscd_config_set_name, NULL},
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
    {"batch-ms", FSCD_OPT_BATCH_MS, "MS",
     "longest wait between two passes over a sustained stream of changes; a\n"
     "change after a quiet spell is passed on at once; 2..1000 (default 50)",
     fscd_config_set_batch_ms, NULL},
    {"mode", 'm', "OCTAL", "table permissions (default 0640; never group- or world-writable)",
     fscd_config_set_mode, NULL},
    {"group", 'g', "GROUP", "group owning the table (readers in it may map it)",
     fscd_config_set_group, "unknown"},
    {"log-level", 'l', "LEVEL", "error, warn, info or debug (default info)",
     fscd_config_set_log_level, NULL},
};
_Static_assert(sizeof(fscd_settings_table) / sizeof(*fscd_settings_table) == FSCD_NSETTINGS,
	       "FSCD_NSETTINGS counts the settings");
const struct fscd_setting *const fscd_settings = fscd_settings_table;

const struct fscd_setting *fscd_setting_by_key(const char *key)
{
	for (size_t i = 0; i < FSCD_NSETTINGS; i++)
		if (strcmp(fscd_settings[i].key, key) == 0)
			return &fscd_settings[i];
	return NULL;
}

const struct fscd_setting *fscd_setting_by_opt(int opt)
{
	for (size_t i = 0; i < FSCD_NSETTINGS; i++)
		if (fscd_settings[i].opt == opt)
			return &fscd_settings[i];
	return NULL;
}

const char *fscd_setting_fail(const struct fscd_setting *s)
{
	return s->fail ? s->fail : "invalid";
}
