/* SIGHUP: fscd restarts in place (execv of itself, same pid: systemd's MAINPID) to apply a
 * new configuration, and a reload never leaves the name unserved. The old image checks the
 * new configuration and reserves its room first (refusing the reload, and serving on, if
 * either fails); what can still fail only in the new image (a root gone in between, a table
 * name it cannot publish over, a descriptor or thread it cannot have) makes the new image
 * restart in place once more with the previous configuration: the same argv, and the text of
 * the config file the old image had read, handed over the exec in an unnamed file. */
#ifndef FSCD_RELOAD_H
#define FSCD_RELOAD_H

#include <stdbool.h>

#include "fsc_writer.h"
#include "fscd_config.h"

/* Re-reads the configuration from the same argv and --config file. Returns true if it is
 * valid and the object directory has room for its table (*renamed if it names another table,
 * *reserved the room, see fscd_reserve.h); logs why not otherwise. w: the table serving now. */
bool fscd_reload_check(const struct fscd_config *cur, int argc, char **argv, struct fsc_writer *w,
		       bool *renamed, int *reserved);
/* Restarts fscd in place with argv, handing over the previous configuration (cur) and the
 * room reserved; *w is closed first if renamed. Returns only if the exec failed: true to keep
 * serving *w, false if it was closed. */
bool fscd_reload_exec(const struct fscd_config *cur, char **argv, struct fsc_writer **w,
		      bool renamed, int reserved);
/* In the new image, first thing in main: takes what the image before handed over (so this
 * image knows it is a reload, and a fallback reads its config text from the previous one). */
void fscd_reload_adopt(void);
/* This image serves: it has nothing to fall back to from now on. */
void fscd_reload_done(void);
/* This image could not start serving. If it is a reload, restarts in place with the previous
 * configuration (returns only if the exec failed); otherwise returns at once. */
void fscd_reload_fall_back(char **argv);

#endif
