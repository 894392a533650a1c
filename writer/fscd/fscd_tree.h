/* fscd's view of the watched trees: inotify watches on directories, the scans that publish
 * what is in them, the handling of events, and the directories polled instead. Loop thread
 * only (the stat workers it starts for polling are its own business); owns the inotify fd. */
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
/* The roots added (canonical paths, owned by t), for the table to say what it serves. */
size_t fscd_tree_root_count(const struct fscd_tree *t);
const char *fscd_tree_root_path(const struct fscd_tree *t, size_t i, bool *is_file);
/* Scans every root: watches and publishes everything below them. */
void fscd_tree_scan_all(struct fscd_tree *t);
/* Reads and applies the pending inotify events; refreshes each changed path once. */
size_t fscd_tree_process_events(struct fscd_tree *t); /* returns the events read */
/* Polling (fscd_tree_poll.c): starts the stat workers that list polled directories. */
int fscd_tree_poll_start(struct fscd_tree *t, unsigned threads);
/* Readable when listings have completed: then call fscd_tree_poll_results. -1 before start. */
int fscd_tree_poll_fd(const struct fscd_tree *t);
/* Publishes the completed listings. */
void fscd_tree_poll_results(struct fscd_tree *t);
/* Every heartbeat tick: submits the listings that are due, notices those that hang. */
void fscd_tree_poll_tick(struct fscd_tree *t);
/* false if a worker is stuck (and still reads the polled-directory index) */
bool fscd_tree_poll_stop(struct fscd_tree *t);
/* Before publishing: waits up to timeout_ms for the first listing of every polled directory
 * (a hung one is published later, when it answers). */
void fscd_tree_poll_settle(struct fscd_tree *t, unsigned timeout_ms);
/* Periodic upkeep (about once a second): roots that were deleted and have come back are
 * watched and scanned again; an owed re-verification runs; the backstop sweep goes on. */
void fscd_tree_tick(struct fscd_tree *t);

/* For readers' requests (fscd_requests.c). */
/* May fscd cache path (len: strlen(path))? Only if it is cacheable in the table, lies under
 * a root, sits in a directory fscd watches (so that its record will be kept current) and
 * passes the filter. */
bool fscd_tree_can_cache(struct fscd_tree *t, const char *path, size_t len);
/* Publishes what lstat says about path now. */
void fscd_tree_cache_path(struct fscd_tree *t, const char *path);
/* The table the tree publishes into (fscd_tree_set_writer). */
struct fsc_writer *fscd_tree_writer(const struct fscd_tree *t);

#endif
