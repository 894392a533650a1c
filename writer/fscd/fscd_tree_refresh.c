/* Refreshing (t->refresh): the pending set of paths to re-stat at the end of a pass, and the
 * refresh of one path, which publishes what lstat says about it now. Loop thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

void fscd_tree_queue(struct fscd_tree *t, const char *path, size_t len)
{
	fscd_pending_add_len(&t->refresh.pending, path, len);
}

void fscd_tree_queue_seen(struct fscd_tree *t, const char *path, size_t len, uint32_t seen)
{
	fscd_pending_add_seen(&t->refresh.pending, path, len, seen);
}

/* The record flags a refresh publishes for a file that exists: FSC_REC_WRITING as the last
 * event about writing says (see FSCD_SEEN_WRITING), else as the record had it. */
static uint32_t refreshed_flags(uint32_t old_flags, uint32_t seen, const struct stat *st)
{
	bool writing = (old_flags & FSC_REC_WRITING) != 0;
	if (seen & FSCD_SEEN_WRITING)
		writing = true;
	if (seen & FSCD_SEEN_DONE)
		writing = false;
	return writing && S_ISREG(st->st_mode) ? FSC_REC_WRITING : 0;
}

struct inode_visit {
	uint64_t dev, ino;
	const char *except;
	struct fscd_pending *out;
};

static void collect_inode(void *ctx, const char *path, size_t len, uint32_t flags,
			  const struct stat *st)
{
	struct inode_visit *v = ctx;
	if (!(flags & FSC_REC_NEGATIVE) && (uint64_t)st->st_dev == v->dev &&
	    (uint64_t)st->st_ino == v->ino && strcmp(path, v->except) != 0)
		fscd_pending_add_len(v->out, path, len);
}

/* old_flags: the record's flags before (0 if none); seen: what events said (pending set). */
static void refresh_one(struct fscd_tree *t, const char *path, size_t len, uint32_t old_flags,
			uint32_t seen, struct stat *st, int *err)
{
	fsc_writer_count(t->w, FSC_CTR_STATS, 1);
	*err = lstat(path, st) == 0 ? 0 : errno;
	uint64_t now_ns = fsc_writer_now_ns();
	uint32_t ck = seen & FSC_CK_MASK;
	if (*err == 0) {
		if (S_ISLNK(st->st_mode))
			fsc_writer_remove_seen(t->w, path, len, ck);
		else
			fsc_writer_put_seen(t->w, path, len, st,
					    refreshed_flags(old_flags, seen, st), now_ns, ck);
	} else if (*err == ENOENT || *err == ENOTDIR) {
		fsc_writer_put_seen(t->w, path, len, NULL, 0, now_ns, ck);
	} else {
		/* EACCES and the like: stat(2) would fail for readers too, but maybe not for
		 * every reader; never serve a guess */
		fsc_writer_count(t->w, FSC_CTR_STAT_ERRORS, 1);
		fsc_writer_remove_seen(t->w, path, len, ck);
		uint64_t now = fsc_writer_now_ns();
		uint64_t *logged = &t->refresh.stat_error_logged_ns;
		if (now - *logged > 10000000000ull || !*logged) {
			*logged = now; /* at most one line per 10 s */
			fscd_log(FSCD_LOG_WARN,
				 "cannot stat %s: %s; not cached, readers' fsc_stat asks stat(2) "
				 "(counter writer_stat_errors counts every such path)",
				 path, strerror(*err));
		}
	}
}

static void refresh_link(void *ctx, const char *path, size_t len)
{
	struct fscd_tree *t = ctx;
	struct stat ignored;
	int err;
	uint32_t flags = 0;
	fsc_writer_contains(t->w, path, len, &flags);
	if (!fscd_tree_poll_owns(t, path))
		refresh_one(t, path, len, flags, 0, &ignored, &err);
}

static void refresh_inode_links(struct fscd_tree *t, const struct stat *st, const char *except)
{
	struct fscd_pending links = {0};
	struct inode_visit v = {.dev = (uint64_t)st->st_dev,
				.ino = (uint64_t)st->st_ino,
				.except = except,
				.out = &links};
	fsc_writer_foreach(t->w, collect_inode, &v);
	fscd_pending_flush(&links, refresh_link, t);
	fscd_pending_free(&links);
}

static bool multiply_linked(const struct stat *st)
{
	return !S_ISDIR(st->st_mode) && st->st_nlink > 1;
}

/* Publishes what lstat says about path: a record, a negative entry, or nothing (symlinks,
 * whose target may change where no watch sees it, are left to stat(2)). A link count change
 * is reported by the kernel only on the inode, not to directory watches: when the inode had
 * or has other names, the records of those names are refreshed too. */
static void refresh_seen(void *ctx, const char *path, size_t len, uint32_t seen)
{
	struct fscd_tree *t = ctx;
	if (fscd_tree_poll_owns(t, path))
		return; /* the workers keep it current; a stat here could hang the loop */
	struct stat old, now;
	uint32_t flags = 0;
	bool had = fsc_writer_get(t->w, path, len, &old, &flags) && !(flags & FSC_REC_NEGATIVE);
	int err;
	refresh_one(t, path, len, flags, seen, &now, &err);
	/* new to the table, or kept by polling until now: its directory lists it, for when
	 * that directory is moved away or deleted */
	if (err == 0 && !S_ISLNK(now.st_mode) && (!had || (flags & FSC_REC_POLLED)))
		fscd_dir_note_entry(t, path, len);
	if (had && multiply_linked(&old))
		refresh_inode_links(t, &old, path);
	/* a directory the audience may search again is rescanned: its entries were hidden */
	bool publish =
	    err == 0 && S_ISDIR(now.st_mode) && fscd_tree_audience_saw_dir(t, path, len, &now);
	if (publish ||
	    (err == 0 && had && S_ISDIR(now.st_mode) &&
	     (old.st_mode != now.st_mode || old.st_uid != now.st_uid || old.st_gid != now.st_gid)))
		fscd_tree_rescan_dir(t, path);
	if (err == 0 && multiply_linked(&now) &&
	    !(had && old.st_dev == now.st_dev && old.st_ino == now.st_ino && multiply_linked(&old)))
		refresh_inode_links(t, &now, path);
}

void fscd_tree_cache_path(struct fscd_tree *t, const char *path)
{
	refresh_seen(t, path, strlen(path), 0);
}

void fscd_tree_refresh_queued(struct fscd_tree *t)
{
	/* coalescing: a path changed many times since the last pass is stat'ed once, its
	 * journal entry carrying every kind of change its events saw. A refresh may queue more
	 * (a directory rescanned: its mode lets readers see below it now): those go out in this
	 * pass too, not a second later. */
	for (int i = 0; i < 4 && fscd_pending_count(&t->refresh.pending); i++)
		fscd_pending_flush_seen(&t->refresh.pending, refresh_seen, t);
}

struct subtree_visit {
	const char *prefix;
	size_t len;
	unsigned what; /* FSCD_UNDER_* */
	struct fscd_pending *out;
};

static void collect_under(void *ctx, const char *path, size_t len, uint32_t flags,
			  const struct stat *st)
{
	(void)st;
	struct subtree_visit *v = ctx;
	if ((flags & FSC_REC_NEGATIVE) && !(v->what & FSCD_UNDER_NEGATIVES))
		return;
	if ((v->what & FSCD_UNDER_STRICTLY) && len == v->len)
		return;
	if (fscd_path_under(path, v->prefix, v->len))
		fscd_pending_add_len(v->out, path, len);
}

/* Slots looked at between two heartbeats: the first walk of a big table touches its pages
 * for the first time (about 2 s for 256 MiB here), longer than readers wait for a silent
 * writer. */
#define FSCD_WALK_SLOTS_PER_BEAT 65536

void fscd_tree_collect_under(struct fscd_tree *t, const char *prefix, size_t len, unsigned what,
			     struct fscd_pending *out)
{
	struct subtree_visit v = {.prefix = prefix, .len = len, .what = what, .out = out};
	uint64_t slots = fsc_writer_layout(t->w)->slot_count;
	for (uint64_t at = 0; at < slots; at += FSCD_WALK_SLOTS_PER_BEAT) {
		fsc_writer_heartbeat(t->w);
		fsc_writer_visit_range(t->w, at, FSCD_WALK_SLOTS_PER_BEAT, collect_under, &v);
	}
}

void fscd_tree_queue_under(struct fscd_tree *t, const char *prefix)
{
	fscd_tree_collect_under(t, prefix, strlen(prefix), 0, &t->refresh.pending);
}

static void negate_one(void *ctx, const char *path, size_t len)
{
	struct fscd_tree *t = ctx;
	fsc_writer_put_negative(t->w, path, len);
}

void fscd_tree_negate_under(struct fscd_tree *t, const char *prefix)
{
	struct fscd_pending gone = {0};
	fscd_tree_collect_under(t, prefix, strlen(prefix), 0, &gone);
	fscd_pending_flush(&gone, negate_one, t);
	fscd_pending_free(&gone);
}

static void collect_all(void *ctx, const char *path, size_t len, uint32_t flags,
			const struct stat *st)
{
	(void)st;
	(void)flags;
	fscd_pending_add_len(ctx, path, len);
}

static void collect_all_done(void *ctx, const char *path, size_t len, uint32_t flags,
			     const struct stat *st)
{
	(void)st;
	(void)flags;
	/* events were lost: a close after writing among them would leave FSC_REC_WRITING set
	 * for ever, so it is cleared; a writer still at it sets it again with its next write */
	fscd_pending_add_seen(ctx, path, len, FSCD_SEEN_DONE);
}

void fscd_tree_queue_all(struct fscd_tree *t)
{
	fsc_writer_foreach(t->w, collect_all_done, &t->refresh.pending);
}

uint64_t fscd_tree_queue_range(struct fscd_tree *t, uint64_t start, uint64_t count)
{
	return fsc_writer_visit_range(t->w, start, count, collect_all, &t->refresh.pending);
}

void fscd_refresh_free(struct fscd_tree *t)
{
	fscd_pending_free(&t->refresh.pending);
}
