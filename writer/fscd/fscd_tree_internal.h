/* fscd's tree state, shared by the files that make up the tree (fscd_tree.c: watches, scans
 * and events; fscd_recovery.c: overflow recovery and the backstop sweep). Not for others. */
#ifndef FSCD_TREE_INTERNAL_H
#define FSCD_TREE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/inotify.h>

#include "fsc_writer.h"
#include "fscd_filter.h"
#include "fscd_path.h"
#include "fscd_pending.h"
#include "fscd_poll.h"
#include "fscd_tree.h"
#include "fscd_workers.h"

#define FSCD_WATCH_MASK                                                                            \
	(IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO |             \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

struct fscd_dir {
	struct cds_lfht_node by_path; /* in fscd_tree.dirs_by_path while indexed */
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
};

struct fscd_root {
	char *path;   /* canonical (realpath) */
	char *dir;    /* the directory watched for it (itself, or a file root's parent) */
	char *name;   /* file roots: the file's name in dir */
	bool present; /* its directory is being watched */
};

struct fscd_recovery {
	uint64_t reverify_due_ns; /* a full re-verification is owed from then on (0: none) */
	uint64_t last_reverify_ns;
	uint64_t last_overflow_ns;
	uint64_t backoff_ns;	  /* least time between two full re-verifications */
	uint64_t backstop_cursor; /* slot the backstop sweep continues from */
};

struct fscd_tree {
	int ifd;
	struct fsc_writer *w;
	const struct fscd_filter *filter; /* NULL: everything */
	uint32_t path_max;
	struct fscd_dir **dirs; /* indexed by watch descriptor */
	size_t dirs_cap;
	struct cds_lfht *dirs_by_path; /* the same directories by path (fscd_tree_dirs.c) */
	struct fscd_root *roots;
	size_t nroots;
	struct fscd_pending pending;
	bool enospc_reported;
	uint64_t stat_error_logged_ns; /* last "cannot stat" line, for rate limiting */
	struct fscd_recovery recovery;
	/* directories polled instead of watched (fscd_tree_poll.c) */
	struct fscd_poll poll;
	struct fscd_workers *workers; /* NULL until fscd_tree_poll_start */
	uint64_t poll_interval_ns;
};

/* fscd_tree_dirs.c: the watched directories */
struct fscd_dir *fscd_dir_of(struct fscd_tree *t, int wd);
/* The watched directory with this path, or NULL. */
struct fscd_dir *fscd_dir_find(struct fscd_tree *t, const char *path);
/* Watches directory path (again); for a file root, name is the file to follow in it. NULL
 * with errno set (ENOSPC, ENOMEM: no watch to be had) if inotify refused. */
struct fscd_dir *fscd_dir_watch(struct fscd_tree *t, const char *path, bool recursive,
				const char *name);
bool fscd_dir_wants(const struct fscd_dir *d, const char *name);
/* The watch wd is gone: forget its directory. */
void fscd_dir_forget(struct fscd_tree *t, int wd);
/* Frees d (after a grace period: the path index may still reach it). */
void fscd_dir_free(struct fscd_tree *t, struct fscd_dir *d);

/* fscd_tree.c */
/* Watches dir, then queues it and everything in it; recurses into subdirectories. depth: 0
 * for a root. check_fs: first see whether it must be polled instead (a mount point of
 * another filesystem, --poll); false for a directory just found to be watchable. */
void fscd_tree_scan_dir(struct fscd_tree *t, const char *path, unsigned depth, bool check_fs);
/* Turns every record at or below prefix negative without a stat (the directory is gone). */
void fscd_tree_negate_under(struct fscd_tree *t, const char *prefix);

/* Publishes what lstat says about path now (ctx is the tree). */
void fscd_tree_refresh(void *ctx, const char *path);
/* Queues every tracked path for re-verification and rescans every root. */
void fscd_tree_reverify_all(struct fscd_tree *t);

/* fscd_tree_poll.c */
/* Should dir be polled rather than watched (--poll, a filesystem inotify cannot see, a mount
 * point to be checked)? If so it is registered for polling and true returned. */
bool fscd_tree_poll_instead(struct fscd_tree *t, const char *dir, unsigned depth, bool check_fs,
			    const char *only);
/* Polls dir from now on (e.g. no watch could be had); only: a file root's name in it. */
struct fscd_polled *fscd_tree_poll_add(struct fscd_tree *t, const char *dir, unsigned depth,
				       enum fscd_poll_reason reason, const char *only);
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

#endif
