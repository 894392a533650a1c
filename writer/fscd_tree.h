/* fscd's view of the watched trees: inotify watches on directories, the scans that publish
 * what is in them, and the handling of events. Single-threaded; owns the inotify fd. */
#ifndef FSCD_TREE_H
#define FSCD_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsc_writer.h"

struct fscd_tree;

/* Creates the inotify instance; roots longer than path_max are refused. 0 or -errno. */
int fscd_tree_create(struct fscd_tree **out, uint32_t path_max);
/* The table that scans and events publish into; set before the first scan. */
void fscd_tree_set_writer(struct fscd_tree *t, struct fsc_writer *w);
struct fscd_filter;
/* Which paths are cached and traversed (excludes, includes, depth); f must outlive t. */
void fscd_tree_set_filter(struct fscd_tree *t, const struct fscd_filter *f);
void fscd_tree_destroy(struct fscd_tree *t);
int fscd_tree_fd(const struct fscd_tree *t);

/* Adds a root: a directory (cached with everything below it) or a file (watched through its
 * parent directory). Returns 0, or -errno with a message logged naming the path. */
int fscd_tree_add_root(struct fscd_tree *t, const char *path);
/* Scans every root: watches and publishes everything below them. */
void fscd_tree_scan_all(struct fscd_tree *t);
/* Reads and applies the pending inotify events; refreshes each changed path once. */
void fscd_tree_process_events(struct fscd_tree *t);
/* Periodic upkeep (about once a second): roots that were deleted and have come back are
 * watched and scanned again. */
void fscd_tree_tick(struct fscd_tree *t);

#endif
