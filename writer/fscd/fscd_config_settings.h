/* fscd's settings table (fscd_config_settings.c): every setting's key, flag, help and parser.
 * Internal to fscd_config*.c. */
#ifndef FSCD_CONFIG_SETTINGS_H
#define FSCD_CONFIG_SETTINGS_H

#include <stdbool.h>

#include "fscd_config.h"

/* getopt values of the settings without a short flag, and of the command-line-only options */
enum {
	FSCD_OPT_SLOT_SIZE = 256,
	FSCD_OPT_POLL_INTERVAL,
	FSCD_OPT_CONFIG,
	FSCD_OPT_POLL,
	FSCD_OPT_STAT_THREADS,
	FSCD_OPT_REQUEST_WINDOW,
	FSCD_OPT_JOURNAL_KIB,
	FSCD_OPT_BATCH_MS,
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

#define FSCD_NSETTINGS 16 /* entries of fscd_settings (checked where it is defined) */
extern const struct fscd_setting *const fscd_settings; /* FSCD_NSETTINGS of them */

const struct fscd_setting *fscd_setting_by_key(const char *key);
const struct fscd_setting *fscd_setting_by_opt(int opt);
/* The word for a rejected value of s. */
const char *fscd_setting_fail(const struct fscd_setting *s);
const char *fscd_strlist_push(struct fscd_strlist *l, const char *value);
void fscd_strlist_free(struct fscd_strlist *l);

#endif
