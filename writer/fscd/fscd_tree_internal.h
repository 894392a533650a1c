/* fscd's tree state, shared by the files that make up the tree. Not for others: the rest of
 * fscd uses fscd_tree.h.
 *
 * One owner file per concern. Each concern's fields sit in its own sub-struct of struct
 * fscd_tree; only the owner file writes them, and other files go through the owner's
 * functions declared below (reading a field is allowed where a comment says so).
 *
 *   fscd_tree.c          the tree itself: create, destroy, the settings every part reads
 *                        (writer, filter, path limit), the upkeep tick, and what the
 *                        request path may ask (fscd_tree_can_cache, fscd_tree_writer)
 *   fscd_tree_dirs.c     t->watches: the inotify fd, the watched directories (struct
 *                        fscd_dir) and their two indexes, by watch descriptor and by path;
 *                        the names each directory published (to drop them when it goes)
 *   fscd_tree_roots.c    t->roots: the roots, whether each is present, watching them again
 *   fscd_tree_scan.c     scans: watch a directory, queue it and everything in it; the full
 *                        re-verification (no state of its own)
 *   fscd_tree_refresh.c  t->refresh: the pending set (paths to re-stat at the end of a pass)
 *                        and the lstat that publishes a path's record (for requests:
 *                        fscd_tree_cache_path)
 *   fscd_tree_events.c   reading and applying inotify events (no state of its own)
 *   fscd_tree_poll.c     t->polling: the polled directories, the stat workers, the interval
 *   fscd_recovery.c      t->recovery: overflow back-off and the backstop sweep
 *   fscd_tree_audience.c t->audience: the directories the table's audience cannot search,
 *                        the writer's gate that keeps what is below them unpublished, and
 *                        hiding or publishing a subtree when that changes
 */
#ifndef FSCD_TREE_INTERNAL_H
#define FSCD_TREE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>

#include "fsc_writer.h"
#include "fscd_audience.h"
#include "fscd_filter.h"
#include "fscd_path.h"
#include "fscd_pending.h"
#include "fscd_poll.h"
#include "fscd_tree.h"
#include "fscd_workers.h"

/* Written by fscd_tree_dirs.c only; other files of the tree read these fields. */
struct fscd_dir {
	struct cds_lfht_node by_path; /* in the watches' by_path index while indexed */
	struct rcu_head rcu;
	bool indexed;
	int wd;
	bool recursive; /* everything below is cached (subject to the filter) */
	unsigned depth; /* 0 for a root, 1 for its subdirectories, ... */
	int root;	/* index of the root this directory is, or -1 */
	char *path;
	size_t path_len; /* strlen(path) */
	char **names;	 /* for a directory watched only for file roots: their names */
	size_t nnames;
	/* The names of its entries published as existing while it was watched, NUL-separated:
	 * what turns negative when it is moved away or deleted, found without a walk of the
	 * table. Names since gone or evicted stay until the list is pruned as it grows. */
	char *kids;
	size_t kids_len, kids_cap;
	size_t kids_pruned; /* kids_len after the last prune */
};

/* fscd_tree_dirs.c */
struct fscd_watches {
	int ifd;
	struct fscd_dir **by_wd; /* indexed by watch descriptor */
	size_t cap;
	struct cds_lfht *by_path; /* the same directories by path */
	uint64_t seed;		  /* of by_path's hash */
	bool enospc_reported;
};

/* fscd_tree_roots.c */
struct fscd_root {
	char *path;   /* canonical (realpath) */
	char *dir;    /* the directory watched for it (itself, or a file root's parent) */
	char *name;   /* file roots: the file's name in dir */
	bool present; /* its directory is being watched */
};

struct fscd_roots {
	struct fscd_root *v;
	size_t n;
};

/* fscd_tree_refresh.c */
struct fscd_refresh {
	struct fscd_pending pending;
	uint64_t stat_error_logged_ns; /* last "cannot stat" line, for rate limiting */
};

/* fscd_tree_poll.c: directories polled instead of watched */
struct fscd_polling {
	struct fscd_poll index;	      /* index.count: read by fscd_tree_events.c */
	struct fscd_workers *workers; /* NULL until fscd_tree_poll_start */
	uint64_t interval_ns;
};

/* fscd_recovery.c */
struct fscd_recovery {
	uint64_t reverify_due_ns; /* a full re-verification is owed from then on (0: none) */
	uint64_t last_reverify_ns;
	uint64_t last_overflow_ns;
	uint64_t backoff_ns;	  /* least time between two full re-verifications */
	uint64_t backstop_cursor; /* slot the backstop sweep continues from */
};

struct fscd_tree {
	/* fscd_tree.c, set up before the first scan; every part reads them */
	struct fsc_writer *w;
	const struct fscd_filter *filter; /* NULL: everything */
	uint32_t path_max;
	/* one owner file each (see the top of this file) */
	struct fscd_watches watches;
	struct fscd_roots roots;
	struct fscd_refresh refresh;
	struct fscd_polling polling;
	struct fscd_recovery recovery;
	struct fscd_audience audience;
};

/* fscd_tree_dirs.c: the watched directories */
/* The inotify instance and empty indexes. 0 or -errno (logged). */
int fscd_dirs_init(struct fscd_tree *t);
/* Frees every directory and the indexes; closes the inotify fd. */
void fscd_dirs_destroy(struct fscd_tree *t);
struct fscd_dir *fscd_dir_of(struct fscd_tree *t, int wd);
/* The watched directory with this path, or NULL. */
struct fscd_dir *fscd_dir_find(struct fscd_tree *t, const char *path);
/* The watched directory with the lowest watch descriptor whose path is this (one moved away
 * whose watch is not gone yet included), or NULL. */
struct fscd_dir *fscd_dir_first(struct fscd_tree *t, const char *path);
/* Watches directory path (again) for everything in it, at depth below its root. NULL with
 * errno set (ENOSPC, ENOMEM: no watch to be had) if inotify refused. */
struct fscd_dir *fscd_dir_watch_all(struct fscd_tree *t, const char *path, unsigned depth);
/* Watches directory path (again) for the file root name in it. NULL with errno as above. */
struct fscd_dir *fscd_dir_watch_name(struct fscd_tree *t, const char *path, const char *name);
/* d is the directory of root i (fscd_tree_roots.c): its loss marks the root absent. */
void fscd_dir_set_root(struct fscd_dir *d, int i);
bool fscd_dir_wants(const struct fscd_dir *d, const char *name);
/* The watch wd is gone: forget its directory. */
void fscd_dir_forget(struct fscd_tree *t, int wd);
/* Removes the watch of every directory at or below path and forgets them. */
void fscd_dirs_unwatch_under(struct fscd_tree *t, const char *path);
/* path (len: strlen(path)) was just published as existing: the watched directory it is in
 * lists its name. */
void fscd_dir_note_entry(struct fscd_tree *t, const char *path, size_t len);
/* Queues every watched directory at or below path, and every entry they list, that the
 * table holds as existing: a refresh turns what is gone negative. */
void fscd_dirs_queue_under(struct fscd_tree *t, const char *path);

/* fscd_tree_roots.c: the roots */
/* Watches (or polls) every root and queues what is in them. */
void fscd_roots_watch_all(struct fscd_tree *t);
/* Roots that were deleted and have come back are watched and scanned again. */
void fscd_roots_watch_returned(struct fscd_tree *t);
/* Root i's directory is no longer watched (deleted, moved away). */
void fscd_roots_lost(struct fscd_tree *t, int i);
/* The depth of path below the root it lies under (a file root: exactly it), or -1. */
int fscd_roots_depth_of(const struct fscd_tree *t, const char *path);
/* Queues every root with FSC_CK_RESCAN: its journal entry says events were lost below it. */
void fscd_roots_queue_rescan(struct fscd_tree *t);
void fscd_roots_free(struct fscd_tree *t);

/* fscd_tree_scan.c: scans */
/* Watches dir, then queues it and everything in it; recurses into subdirectories. depth: 0
 * for a root. check_fs: first see whether it must be polled instead (a mount point of
 * another filesystem, --poll); false for a directory just found to be watchable. */
void fscd_tree_scan_dir(struct fscd_tree *t, const char *path, unsigned depth, bool check_fs);
/* A directory's mode or owner changed: scans it again if it is in a watched tree. */
void fscd_tree_rescan_dir(struct fscd_tree *t, const char *dir);
/* Queues every tracked path for re-verification and rescans every root. */
void fscd_tree_reverify_all(struct fscd_tree *t);

/* fscd_tree_refresh.c: the pending set and what a refresh publishes */
/* Queues path (len: strlen(path)) to be refreshed at the end of the pass. */
void fscd_tree_queue(struct fscd_tree *t, const char *path, size_t len);
/* The same, for an event that saw seen (FSC_CK_* bits) happen to path: its journal entry
 * says so, and FSC_CK_MODIFY / FSC_CK_CLOSE_WRITE / FSC_CK_MOVED_TO set or clear the record's
 * FSC_REC_WRITING (the last of them in the batch decides). */
void fscd_tree_queue_seen(struct fscd_tree *t, const char *path, size_t len, uint32_t seen);
/* Adds to out the paths of the table's records at or below prefix (len bytes): positive
 * records only, unless what has FSCD_UNDER_NEGATIVES; prefix itself too, unless
 * FSCD_UNDER_STRICTLY. A walk of the whole table, beating the heartbeat as it goes. */
#define FSCD_UNDER_NEGATIVES 1u
#define FSCD_UNDER_STRICTLY  2u
void fscd_tree_collect_under(struct fscd_tree *t, const char *prefix, size_t len, unsigned what,
			     struct fscd_pending *out);
/* Queues every positive record at or below prefix. */
void fscd_tree_queue_under(struct fscd_tree *t, const char *prefix);
/* Queues every record (for a full re-verification), clearing FSC_REC_WRITING. */
void fscd_tree_queue_all(struct fscd_tree *t);
/* Queues the live records in count slots from start; returns the slot to go on from. */
uint64_t fscd_tree_queue_range(struct fscd_tree *t, uint64_t start, uint64_t count);
/* Refreshes every queued path once, then empties the queue. */
void fscd_tree_refresh_queued(struct fscd_tree *t);
/* Turns every record at or below prefix negative without a stat (the directory is gone). */
void fscd_tree_negate_under(struct fscd_tree *t, const char *prefix);
void fscd_refresh_free(struct fscd_tree *t);

/* fscd_tree_poll.c: polling */
int fscd_tree_poll_init(struct fscd_tree *t);
/* Frees the index (after fscd_tree_poll_stop). */
void fscd_tree_poll_destroy(struct fscd_tree *t);
/* The poll interval from the filter (NULL or 0: 2 s). */
void fscd_tree_poll_set_interval(struct fscd_tree *t, const struct fscd_filter *f);
unsigned fscd_tree_poll_interval_ms(const struct fscd_tree *t);
/* Should dir be polled rather than watched (--poll, a filesystem inotify cannot see, a mount
 * point to be checked)? If so it is registered for polling and true returned. */
bool fscd_tree_poll_instead(struct fscd_tree *t, const char *dir, unsigned depth, bool check_fs,
			    const char *only);
/* Polls dir from now on (e.g. no watch could be had); only: a file root's name in it. */
struct fscd_polled *fscd_tree_poll_add(struct fscd_tree *t, const char *dir, unsigned depth,
				       enum fscd_poll_reason reason, const char *only);
/* dir could be watched after all: stops polling it if it was polled for want of a watch. */
void fscd_tree_poll_watched(struct fscd_tree *t, const char *dir);
/* If dir is polled, it is root i's directory (it stays polled while deleted, to be seen
 * coming back): returns true. */
bool fscd_tree_poll_set_root(struct fscd_tree *t, const char *dir, int i);
/* Is path a polled directory or in one? Then only the workers may stat it. */
bool fscd_tree_poll_owns(struct fscd_tree *t, const char *path);
/* Stops polling dir and everything below it (deleted or moved away). */
void fscd_tree_poll_forget(struct fscd_tree *t, const char *dir);

/* fscd_recovery.c */
/* An IN_Q_OVERFLOW was read at now: owe a full re-verification, sooner or later. */
void fscd_recovery_note_overflow(struct fscd_tree *t, uint64_t now);
/* Runs an owed re-verification once its backoff allows. */
void fscd_recovery_run_due(struct fscd_tree *t, uint64_t now);
/* Queues the next share of the slow sweep over every tracked entry. */
void fscd_recovery_backstop(struct fscd_tree *t);

/* fscd_tree_audience.c: what the table's audience may see */
/* A scan found directory dir (st: its lstat): records whether the audience may search it.
 * Nothing else: the scan refreshes everything below it, through the gate. */
void fscd_tree_audience_scanned(struct fscd_tree *t, const char *dir, const struct stat *st);
/* A refresh saw directory dir (len: strlen) as st. If the audience may no longer search it
 * (and may see dir itself), everything below it leaves the table now; if it may search it
 * again, returns true: the caller rescans dir. */
bool fscd_tree_audience_saw_dir(struct fscd_tree *t, const char *dir, size_t len,
				const struct stat *st);
/* dir and everything below it left the tree (deleted, moved away). */
void fscd_tree_audience_gone(struct fscd_tree *t, const char *dir);
/* Upkeep: re-checks the directories above the roots (lstat), hiding or publishing. */
void fscd_tree_audience_tick(struct fscd_tree *t);
void fscd_tree_audience_free(struct fscd_tree *t);

#endif
