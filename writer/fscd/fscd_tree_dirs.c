/* fscd's watched directories: indexed by watch descriptor (events name one) and by path
 * (a reader's request names a path: is its directory watched?). Loop thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <xxhash.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

#include <urcu.h>

struct fscd_dir *fscd_dir_of(struct fscd_tree *t, int wd)
{
	return wd >= 0 && (size_t)wd < t->dirs_cap ? t->dirs[wd] : NULL;
}

static void dir_free_now(struct fscd_dir *d)
{
	for (size_t i = 0; i < d->nnames; i++)
		free(d->names[i]);
	free(d->names);
	free(d->path);
	free(d);
}

static void dir_free_rcu(struct rcu_head *head)
{
	dir_free_now(caa_container_of(head, struct fscd_dir, rcu));
}

static unsigned long dir_hash(const struct fscd_tree *t, const char *path)
{
	return (unsigned long)XXH3_64bits_withSeed(path, strlen(path), t->poll.seed);
}

static int dir_match(struct cds_lfht_node *node, const void *key)
{
	return strcmp(caa_container_of(node, struct fscd_dir, by_path)->path, key) == 0;
}

static void dir_unindex(struct fscd_tree *t, struct fscd_dir *d)
{
	if (!d->indexed)
		return;
	rcu_read_lock();
	cds_lfht_del(t->dirs_by_path, &d->by_path);
	rcu_read_unlock();
	d->indexed = false;
}

/* (Re)files d under its current path; a stale holder of the path (a directory moved away
 * whose watch is not gone yet) loses the entry. */
static void dir_index(struct fscd_tree *t, struct fscd_dir *d)
{
	dir_unindex(t, d);
	if (!d->path)
		return;
	rcu_read_lock();
	struct cds_lfht_node *old = cds_lfht_add_replace(t->dirs_by_path, dir_hash(t, d->path),
							 dir_match, d->path, &d->by_path);
	rcu_read_unlock();
	if (old)
		caa_container_of(old, struct fscd_dir, by_path)->indexed = false;
	d->indexed = true;
}

struct fscd_dir *fscd_dir_find(struct fscd_tree *t, const char *path)
{
	struct cds_lfht_iter it;
	rcu_read_lock();
	cds_lfht_lookup(t->dirs_by_path, dir_hash(t, path), dir_match, path, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	rcu_read_unlock();
	return n ? caa_container_of(n, struct fscd_dir, by_path) : NULL;
}

void fscd_dir_free(struct fscd_tree *t, struct fscd_dir *d)
{
	dir_unindex(t, d);
	/* the index's nodes may still be traversed (its resizes run on the call_rcu thread):
	 * free after a grace period */
	call_rcu(&d->rcu, dir_free_rcu);
}

void fscd_dir_forget(struct fscd_tree *t, int wd)
{
	struct fscd_dir *d = fscd_dir_of(t, wd);
	if (!d)
		return;
	if (d->root >= 0)
		t->roots[d->root].present = false;
	t->dirs[wd] = NULL;
	fscd_dir_free(t, d);
	fsc_writer_count(t->w, FSC_CTR_WATCHES, (uint64_t)-1);
}

static struct fscd_dir *fscd_dir_slot(struct fscd_tree *t, int wd)
{
	if ((size_t)wd >= t->dirs_cap) {
		size_t cap = t->dirs_cap ? t->dirs_cap : 64;
		while (cap <= (size_t)wd)
			cap *= 2;
		struct fscd_dir **d = realloc(t->dirs, cap * sizeof(*d));
		if (!d)
			return NULL;
		memset(d + t->dirs_cap, 0, (cap - t->dirs_cap) * sizeof(*d));
		t->dirs = d;
		t->dirs_cap = cap;
	}
	if (!t->dirs[wd]) {
		t->dirs[wd] = calloc(1, sizeof(struct fscd_dir));
		if (!t->dirs[wd])
			return NULL;
		t->dirs[wd]->wd = wd;
		t->dirs[wd]->root = -1;
		fsc_writer_count(t->w, FSC_CTR_WATCHES, 1);
	}
	return t->dirs[wd];
}

static void report_watch_failure(struct fscd_tree *t, const char *path, int err)
{
	fsc_writer_count(t->w, FSC_CTR_WATCH_FAILURES, 1);
	if (err == ENOSPC || err == ENOMEM) {
		if (!t->enospc_reported)
			fscd_log(FSCD_LOG_ERROR,
				 "cannot watch %s: %s; polling it and every directory that cannot "
				 "be watched every %u ms instead (slower to notice changes, and "
				 "costlier). Raise fs.inotify.max_user_watches (sysctl)",
				 path,
				 err == ENOSPC ? "inotify watch limit reached"
					       : "out of kernel memory for watches",
				 (unsigned)(t->poll_interval_ns / 1000000));
		t->enospc_reported = true;
		return;
	}
	if (err != ENOENT && err != ENOTDIR)
		fscd_log(FSCD_LOG_WARN, "cannot watch %s: %s; changes below it are not seen", path,
			 strerror(err));
}

/* Watches directory path; for a file root, name is the file to follow in it. */
struct fscd_dir *fscd_dir_watch(struct fscd_tree *t, const char *path, bool recursive,
				const char *name)
{
	int wd = inotify_add_watch(t->ifd, path, FSCD_WATCH_MASK);
	if (wd < 0) {
		int err = errno;
		report_watch_failure(t, path, err);
		errno = err; /* callers fall back to polling on ENOSPC */
		return NULL;
	}
	struct fscd_dir *d = fscd_dir_slot(t, wd);
	if (!d)
		return NULL;
	if (!d->path || strcmp(d->path, path) != 0) {
		dir_unindex(t, d);
		free(d->path);
		d->path = strdup(path);
		d->path_len = d->path ? strlen(d->path) : 0;
		dir_index(t, d);
	}
	if (recursive) {
		d->recursive = true;
	} else if (name && !d->recursive) {
		char **names = realloc(d->names, (d->nnames + 1) * sizeof(*names));
		if (names) {
			d->names = names;
			d->names[d->nnames++] = strdup(name);
		}
	}
	return d;
}

bool fscd_dir_wants(const struct fscd_dir *d, const char *name)
{
	if (d->recursive)
		return true;
	for (size_t i = 0; i < d->nnames; i++)
		if (strcmp(d->names[i], name) == 0)
			return true;
	return false;
}
