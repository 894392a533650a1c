/* What the table's audience may see (t->audience; rules in fscd_audience.h and shm/PROTOCOL.md
 * "Audience"): the directories it cannot search, learnt from every scan, listing and refresh
 * of a directory and, above the roots, from an lstat of each ancestor at start and at every
 * upkeep tick; the writer's gate, which keeps everything below them out of the table; and,
 * when a directory's mode, owner, group or ACL changes what may be seen, hiding the subtree
 * at once or rescanning it. Loop thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

static bool audience_gate(void *ctx, const char *path, size_t len)
{
	const struct fscd_tree *t = ctx;
	return fscd_audience_may_show(&t->audience, path, len);
}

bool fscd_tree_may_show(const struct fscd_tree *t, const char *path, size_t len)
{
	return fscd_audience_may_show(&t->audience, path, len);
}

void fscd_tree_audience_free(struct fscd_tree *t)
{
	fscd_audience_free(&t->audience);
}

static void remove_one(void *ctx, const char *path, size_t len)
{
	struct fscd_tree *t = ctx;
	fsc_writer_remove(t->w, path, len); /* a DROPPED entry: "ask stat(2)" */
}

/* Everything strictly below dir leaves the table: records and negative entries alike (a
 * negative would say ENOENT where stat(2) now says EACCES). A walk of the table: the names a
 * directory lists (fscd_dir's kids) hold no negative entries and no polled directories'. */
static void hide_below(struct fscd_tree *t, const char *dir, size_t len)
{
	struct fscd_pending gone = {0};
	fscd_tree_collect_under(t, dir, len, FSCD_UNDER_NEGATIVES | FSCD_UNDER_STRICTLY, &gone);
	size_t n = fscd_pending_count(&gone);
	fscd_pending_flush(&gone, remove_one, t);
	fscd_pending_free(&gone);
	fscd_log(FSCD_LOG_DEBUG, "%s: its audience may no longer search it: %zu entries hidden",
		 dir, n);
}

/* Records whether the audience may search dir; returns true if that changed and matters
 * (dir itself is shown), so that what is below it must be hidden or published. */
static bool audience_record(struct fscd_tree *t, const char *dir, size_t len, bool can)
{
	bool could = fscd_audience_set(&t->audience, dir, len, can);
	return could != can && fscd_audience_may_show(&t->audience, dir, len);
}

/* The same from dir's lstat st; *can: whether the audience may search it. */
static bool audience_note(struct fscd_tree *t, const char *dir, size_t len, const struct stat *st,
			  bool *can)
{
	*can = fscd_audience_can_search(&t->audience, dir, st);
	return audience_record(t, dir, len, *can);
}

void fscd_tree_audience_scanned(struct fscd_tree *t, const char *dir, const struct stat *st)
{
	if (!fscd_audience_filters(&t->audience))
		return;
	bool can;
	/* nothing more to do: the scan refreshes everything below dir, through the gate */
	audience_note(t, dir, strlen(dir), st, &can);
}

bool fscd_tree_audience_saw_dir(struct fscd_tree *t, const char *dir, size_t len,
				const struct stat *st)
{
	bool can;
	if (!fscd_audience_filters(&t->audience) || !audience_note(t, dir, len, st, &can))
		return false;
	if (can) {
		fscd_log(FSCD_LOG_DEBUG, "%s: its audience may search it now: publishing below it",
			 dir);
		return true;
	}
	hide_below(t, dir, len);
	return false;
}

void fscd_tree_audience_gone(struct fscd_tree *t, const char *dir)
{
	fscd_audience_forget_under(&t->audience, dir, strlen(dir));
}

/* An ancestor of roots, dir, may be searched now: scan again every root below it. */
static void publish_roots_below(struct fscd_tree *t, const char *dir, size_t len)
{
	fscd_log(FSCD_LOG_INFO, "%s may be searched by the table's audience now: publishing", dir);
	for (size_t i = 0; i < t->roots.n; i++) {
		const struct fscd_root *r = &t->roots.v[i];
		if (!fscd_path_under(r->path, dir, len) || strlen(r->path) == len)
			continue;
		if (r->name)
			fscd_tree_queue(t, r->path, strlen(r->path));
		else if (r->present)
			fscd_tree_scan_dir(t, r->dir, 0, true);
	}
}

/* One directory above a root (outside every root's tree, where nothing else looks at it). */
static void check_ancestor(struct fscd_tree *t, const char *dir, size_t len)
{
	struct stat st;
	bool can;
	if (lstat(dir, &st) == 0)
		can = fscd_audience_can_search(&t->audience, dir, &st);
	else /* gone: nothing below it to show anyway; else it cannot be told: not searchable */
		can = errno == ENOENT || errno == ENOTDIR;
	if (!audience_record(t, dir, len, can))
		return;
	if (can) {
		publish_roots_below(t, dir, len);
	} else {
		fscd_log(FSCD_LOG_INFO,
			 "%s may not be searched by the table's audience: nothing below it is "
			 "published",
			 dir);
		hide_below(t, dir, len);
	}
}

/* A root's path's ancestors count like any directory in the tree (shm/PROTOCOL.md
 * "Audience"); those inside another root's tree are that tree's business. */
void fscd_tree_audience_tick(struct fscd_tree *t)
{
	if (!fscd_audience_filters(&t->audience))
		return;
	char buf[PATH_MAX];
	for (size_t i = 0; i < t->roots.n; i++) {
		const char *path = t->roots.v[i].path;
		size_t plen = strlen(path);
		if (plen >= sizeof(buf))
			continue;
		memcpy(buf, path, plen + 1);
		if (plen > 1 && fscd_roots_depth_of(t, "/") < 0)
			check_ancestor(t, "/", 1);
		for (size_t j = 1; j < plen; j++) {
			if (path[j] != '/')
				continue;
			buf[j] = '\0';
			if (fscd_roots_depth_of(t, buf) < 0)
				check_ancestor(t, buf, j);
			buf[j] = '/';
		}
	}
}

int fscd_tree_set_audience(struct fscd_tree *t, mode_t mode, gid_t group)
{
	fscd_audience_free(&t->audience);
	int rc = fscd_audience_init(&t->audience, mode, group, geteuid());
	if (rc) {
		fscd_log(FSCD_LOG_ERROR, "cannot work out who reads the table: %s", strerror(-rc));
		return rc;
	}
	char who[128];
	fscd_audience_describe(&t->audience, who, sizeof(who));
	if (!fscd_audience_filters(&t->audience)) {
		fscd_log(FSCD_LOG_DEBUG, "the table is read by %s: every path may be published",
			 who);
		return 0;
	}
	fscd_log(FSCD_LOG_INFO,
		 "the table is read by %s: paths below directories they cannot search are not "
		 "published",
		 who);
	fsc_writer_set_gate(t->w, audience_gate, t);
	fscd_tree_audience_tick(t);
	return 0;
}
