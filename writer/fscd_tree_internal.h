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
#include "fscd_pending.h"
#include "fscd_tree.h"

#define FSCD_WATCH_MASK                                                                            \
	(IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO |             \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

struct fscd_dir {
	int wd;
	bool recursive; /* everything below is cached (subject to the filter) */
	unsigned depth; /* 0 for a root, 1 for its subdirectories, ... */
	int root;	/* index of the root this directory is, or -1 */
	char *path;
	char **names; /* for a directory watched only for file roots: their names */
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
	struct fscd_root *roots;
	size_t nroots;
	struct fscd_pending pending;
	bool enospc_reported;
	struct fscd_recovery recovery;
};

/* Publishes what lstat says about path now (fscd_pending_flush callback; ctx is the tree). */
void fscd_tree_refresh(void *ctx, const char *path);
/* Queues every tracked path for re-verification and rescans every root. */
void fscd_tree_reverify_all(struct fscd_tree *t);

/* fscd_recovery.c */
/* An IN_Q_OVERFLOW was read at now: owe a full re-verification, sooner or later. */
void fscd_recovery_note_overflow(struct fscd_tree *t, uint64_t now);
/* Runs an owed re-verification once its backoff allows. */
void fscd_recovery_run_due(struct fscd_tree *t, uint64_t now);
/* Queues the next share of the slow sweep over every tracked entry. */
void fscd_recovery_backstop(struct fscd_tree *t);

#endif
