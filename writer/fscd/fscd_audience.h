/* Who may read the table (its audience), which directories that audience may search, and so
 * which paths fscd may publish: a reader must learn nothing it could not learn with stat(2).
 * shm/PROTOCOL.md "Audience" states the rules; this file applies them. No knowledge of the
 * tree: fscd_tree_audience.c feeds it the directories fscd sees. Loop thread only. */
#ifndef FSCD_AUDIENCE_H
#define FSCD_AUDIENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

enum fscd_audience_kind {
	FSCD_AUDIENCE_ROOT,	/* only root reads the table: nothing to hide */
	FSCD_AUDIENCE_USER,	/* only fscd's own (non-root) user */
	FSCD_AUDIENCE_GROUP,	/* the members of the table's group */
	FSCD_AUDIENCE_EVERYONE, /* every user (the table is world-readable) */
};

struct fscd_audience_dir; /* an entry of the set of unsearchable directories */

struct fscd_audience {
	enum fscd_audience_kind kind;
	uid_t owner;   /* fscd's effective uid: the table's owner */
	gid_t gid;     /* GROUP: the table's group */
	gid_t *groups; /* USER: the owner's groups (effective gid first) */
	size_t ngroups;
	/* the directories the audience cannot search, by path (a chained hash set, made at the
	 * first such directory) */
	struct fscd_audience_dir **buckets;
	size_t nbuckets, count;
	uint64_t seed;
};

/* The audience of a table made with mode (0: 0640) and group ((gid_t)-1: fscd's effective
 * gid) by a process of effective uid euid. 0, or -ENOMEM. All zeros (no call) is ROOT. */
int fscd_audience_init(struct fscd_audience *a, mode_t mode, gid_t group, uid_t euid);
void fscd_audience_free(struct fscd_audience *a);
/* Does this audience need paths filtered at all? */
bool fscd_audience_filters(const struct fscd_audience *a);
/* One line for the log: who reads the table. */
void fscd_audience_describe(const struct fscd_audience *a, char *buf, size_t n);

/* May the audience search directory dir, whose lstat is st? Reads dir's POSIX access ACL if
 * it has one; a directory whose ACL cannot be read or understood counts as unsearchable. */
bool fscd_audience_can_search(const struct fscd_audience *a, const char *dir,
			      const struct stat *st);

/* The set of directories the audience cannot search. */
/* Records whether dir (len: strlen(dir)) is searchable; returns whether it was before. */
bool fscd_audience_set(struct fscd_audience *a, const char *dir, size_t len, bool searchable);
/* Is dir recorded as unsearchable? */
bool fscd_audience_hidden_dir(const struct fscd_audience *a, const char *dir, size_t len);
/* Forgets dir and every directory below it (gone: deleted or moved away). */
void fscd_audience_forget_under(struct fscd_audience *a, const char *dir, size_t len);
/* May path (an absolute key, len: strlen) be shown: is every directory above it, from "/" to
 * its parent, searchable as far as the set knows? (Not path itself: a directory the audience
 * cannot search is still shown when its parent is searchable, as stat(2) would.) */
bool fscd_audience_may_show(const struct fscd_audience *a, const char *path, size_t len);

#endif
