/* fsc-watch's filter: does one journal entry count as a change of what the user watches?
 * Applies the watched roots, the ignore globs, --exts and --on to a path and its kinds. */
#ifndef FSC_WATCH_FILTER_H
#define FSC_WATCH_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsc_watch_opts.h"

enum fsc_watch_verdict {
	FSC_WATCH_SKIP,	  /* not a change fsc-watch reports */
	FSC_WATCH_PASS,	  /* a change of this path */
	FSC_WATCH_RESCAN, /* fscd rescanned at or above a root: anything below may have changed */
};

/* Judges the journal entry (path, its length, kinds) against the options o (paths resolved).
 * Directories: an entry of a directory whose only kinds are modify, attrib or close-write is
 * skipped (a directory's times change whenever an entry in it does, and that entry is
 * reported itself); its creation, deletion and moves count. With --exts only files with one
 * of the extensions count (and rescans). With --on only entries with one of those kinds
 * count (and rescans). An entry fscd could not classify (kinds 0) counts only without --on,
 * and not if the path is a directory now (lstat: the one system call here). */
enum fsc_watch_verdict fsc_watch_filter(const struct fsc_watch_opts *o, const char *path,
					size_t len, uint32_t kinds);

#endif
