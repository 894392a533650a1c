/* fscd's settings, from built-in defaults, a config file (--config FILE, INI syntax read with
 * libinih) and command-line flags, in that order of precedence. One table of settings serves
 * both the file and the flags, so a config-file key is always its flag's long name. */
#ifndef FSCD_CONFIG_H
#define FSCD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "fscd_log.h"

#define FSCD_DEFAULT_NAME	       "default"
#define FSCD_DEFAULT_CAPACITY	       16384
#define FSCD_DEFAULT_POLL_INTERVAL_MS  2000u
#define FSCD_DEFAULT_STAT_THREADS      2u
#define FSCD_DEFAULT_REQUEST_WINDOW_MS 10000u
#define FSCD_DEFAULT_JOURNAL_KIB       4096u
#define FSCD_DEFAULT_BATCH_MS	       50u

/* The config file: a regular file of at most this many bytes, lines of at most this many
 * bytes (the newline aside; libinih's line buffer), no NUL byte anywhere. */
#define FSCD_CONFIG_FILE_MAX (1024 * 1024)
#define FSCD_CONFIG_LINE_MAX 197

struct fscd_strlist {
	char **v; /* owned strings */
	size_t n;
};

struct fscd_config {
	char *name;		     /* table name */
	struct fscd_strlist watch;   /* roots: directories or files */
	struct fscd_strlist exclude; /* fnmatch(3) globs, see fscd_filter.h */
	struct fscd_strlist include; /* fnmatch(3) globs for files; empty = all */
	unsigned max_depth;	     /* 0 = unlimited */
	uint64_t capacity;	     /* most entries kept */
	uint32_t slot_size;	     /* 0 = the table default */
	unsigned poll_interval_ms;   /* for filesystems inotify cannot see */
	struct fscd_strlist poll;    /* directories polled even where inotify works */
	unsigned stat_threads;	     /* workers for stats that may block (polled paths) */
	unsigned request_window_ms;  /* on-demand: a second request within it admits */
	unsigned journal_kib;	     /* change journal ring, KiB; 0 = none */
	unsigned batch_ms;	     /* longest interval between passes under load */
	mode_t mode;		     /* 0 = the table default (0640) */
	gid_t group;		     /* (gid_t)-1 = the creator's */
	enum fscd_log_level log_level;
	char *config_file; /* --config FILE, or NULL */
	char *config_text; /* what was read from it (config_len bytes), or NULL */
	size_t config_len;
};

/* A configuration error, for the caller to print or log ("fscd: " + msg). usage_hint: the
 * command line was wrong, so "Try 'fscd --help'." should follow. */
struct fscd_config_error {
	char msg[1024];
	bool usage_hint;
};

enum fscd_config_status {
	FSCD_CONFIG_RUN,   /* cfg is complete and valid */
	FSCD_CONFIG_EXIT,  /* --help or --version was printed: exit 0 */
	FSCD_CONFIG_ERROR, /* err says what is wrong: exit 2 */
};

/* Fills cfg from defaults < the --config file < the flags in argv (argv is not modified).
 * Repeatable settings (watch, exclude, include) accumulate over the file and the flags.
 * quiet: getopt prints nothing (for a reload, whose argv was already accepted once).
 * cfg always needs fscd_config_free afterwards, whatever the status. */
enum fscd_config_status fscd_config_load(struct fscd_config *cfg, int argc, char *const *argv,
					 bool quiet, struct fscd_config_error *err);
void fscd_config_free(struct fscd_config *cfg);
/* The next fscd_config_load reads the text of its --config file from source instead (a file
 * holding what an earlier load read: see fscd_reload.h); the file's name is still config_file. */
void fscd_config_read_text_from(const char *source);
/* fscd --help: every setting with its flag, its config-file key and its default. */
void fscd_config_usage(FILE *out);

#endif
