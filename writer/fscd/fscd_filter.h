/* Which paths below a watch root fscd caches: exclude and include globs, a depth limit, and
 * the poll interval for what inotify cannot see. Built from the configuration by fscd_main.c;
 * the tree consults it while scanning and on events. */
#ifndef FSCD_FILTER_H
#define FSCD_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct fscd_filter {
	/* fnmatch(3) patterns, each tried against the full path (FNM_PATHNAME: '*' and '?'
	 * stay within one component) and against the base name. An excluded file is not
	 * cached; an excluded directory is neither cached nor traversed. */
	const char *const *exclude;
	size_t nexclude;
	/* If any: only FILES matching one of these are cached. Directories are always
	 * traversed (unless excluded), so "*.log" finds logs at any depth. */
	const char *const *include;
	size_t ninclude;
	/* Deepest level cached below a root (its entries are level 1); 0 = unlimited. */
	unsigned max_depth;
	/* How often to re-stat paths on filesystems inotify cannot see (NFS, FUSE, /proc). */
	unsigned poll_interval_ms;
	/* Directories polled like those, though inotify could watch them (--poll). */
	const char *const *poll;
	size_t npoll;
	/* If set and it returns true, nothing below a root is wanted any more: fscd is being
	 * stopped while it starts, and its first scan should end soon. */
	bool (*stop)(void);
};

/* Should path (absolute, as it will be keyed) be cached, and if a directory, traversed?
 * depth: 0 for a root itself (always wanted: roots are explicit), 1 for its entries, etc.
 * f may be NULL (everything wanted). Exclusion wins over inclusion. */
bool fscd_filter_wants(const struct fscd_filter *f, const char *path, bool is_dir, unsigned depth);

/* Is dir (absolute) one of the --poll directories or below one? */
bool fscd_filter_forces_poll(const struct fscd_filter *f, const char *dir);

#endif
