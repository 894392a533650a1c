/* fscd's watched directories (t->watches): the inotify instance, and the directories watched
 * in it indexed by watch descriptor (events name one) and by path (a reader's request names a
 * path: is its directory watched?). Directory watches only: the watch count grows with
 * directories, not files; a file root is watched through its parent with a name filter. Each
 * directory also lists the names of the entries it published, so that its move or deletion
 * finds them without a walk of the table. Loop thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

#include <urcu.h>

#define FSCD_WATCH_MASK                                                                            \
	(IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO |             \
	 IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW |            \
	 IN_EXCL_UNLINK)

int fscd_dirs_init(struct fscd_tree *t)
{
	struct fscd_watches *ws = &t->watches;
	ws->seed = fscd_path_hash_seed();
	ws->by_path = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (!ws->by_path)
		return -ENOMEM;
	ws->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ws->ifd < 0) {
		int e = errno;
		fscd_log(FSCD_LOG_ERROR, "cannot create an inotify instance: %s%s", strerror(e),
			 e == EMFILE ? " (raise fs.inotify.max_user_instances)" : "");
		cds_lfht_destroy(ws->by_path, NULL);
		return -e;
	}
	return 0;
}

int fscd_tree_fd(const struct fscd_tree *t)
{
	return t->watches.ifd;
}

struct fscd_dir *fscd_dir_of(struct fscd_tree *t, int wd)
{
	return wd >= 0 && (size_t)wd < t->watches.cap ? t->watches.by_wd[wd] : NULL;
}

static void dir_free_now(struct fscd_dir *d)
{
	for (size_t i = 0; i < d->nnames; i++)
		free(d->names[i]);
	free(d->names);
	free(d->kids);
	free(d->path);
	free(d);
}

static void dir_free_rcu(struct rcu_head *head)
{
	dir_free_now(caa_container_of(head, struct fscd_dir, rcu));
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
	cds_lfht_del(t->watches.by_path, &d->by_path);
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
	struct cds_lfht_node *old =
	    cds_lfht_add_replace(t->watches.by_path, fscd_path_hash(d->path, t->watches.seed),
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
	cds_lfht_lookup(t->watches.by_path, fscd_path_hash(path, t->watches.seed), dir_match, path,
			&it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	rcu_read_unlock();
	return n ? caa_container_of(n, struct fscd_dir, by_path) : NULL;
}

/* Frees d (after a grace period: the path index may still reach it). */
static void dir_free(struct fscd_tree *t, struct fscd_dir *d)
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
		fscd_roots_lost(t, d->root);
	t->watches.by_wd[wd] = NULL;
	dir_free(t, d);
	fsc_writer_count(t->w, FSC_CTR_WATCHES, (uint64_t)-1);
}

void fscd_dirs_unwatch_under(struct fscd_tree *t, const char *path)
{
	size_t len = strlen(path);
	for (size_t wd = 0; wd < t->watches.cap; wd++) {
		struct fscd_dir *d = t->watches.by_wd[wd];
		if (d && fscd_path_under(d->path, path, len)) {
			inotify_rm_watch(t->watches.ifd, (int)wd);
			fscd_dir_forget(t, (int)wd);
		}
	}
}

struct fscd_dir *fscd_dir_first(struct fscd_tree *t, const char *path)
{
	for (size_t wd = 0; wd < t->watches.cap; wd++)
		if (t->watches.by_wd[wd] && strcmp(t->watches.by_wd[wd]->path, path) == 0)
			return t->watches.by_wd[wd];
	return NULL;
}

void fscd_dir_set_root(struct fscd_dir *d, int i)
{
	d->root = i;
}

void fscd_dirs_destroy(struct fscd_tree *t)
{
	struct fscd_watches *ws = &t->watches;
	for (size_t wd = 0; wd < ws->cap; wd++)
		if (ws->by_wd[wd])
			dir_free(t, ws->by_wd[wd]);
	rcu_barrier(); /* every call_rcu free has run: the index holds no node any more */
	cds_lfht_destroy(ws->by_path, NULL);
	free(ws->by_wd);
	close(ws->ifd);
}

static struct fscd_dir *dir_slot(struct fscd_tree *t, int wd)
{
	struct fscd_watches *ws = &t->watches;
	if ((size_t)wd >= ws->cap) {
		size_t cap = ws->cap ? ws->cap : 64;
		while (cap <= (size_t)wd)
			cap *= 2;
		struct fscd_dir **d = realloc(ws->by_wd, cap * sizeof(*d));
		if (!d)
			return NULL;
		memset(d + ws->cap, 0, (cap - ws->cap) * sizeof(*d));
		ws->by_wd = d;
		ws->cap = cap;
	}
	if (!ws->by_wd[wd]) {
		ws->by_wd[wd] = calloc(1, sizeof(struct fscd_dir));
		if (!ws->by_wd[wd])
			return NULL;
		ws->by_wd[wd]->wd = wd;
		ws->by_wd[wd]->root = -1;
		fsc_writer_count(t->w, FSC_CTR_WATCHES, 1);
	}
	return ws->by_wd[wd];
}

static void report_watch_failure(struct fscd_tree *t, const char *path, int err)
{
	fsc_writer_count(t->w, FSC_CTR_WATCH_FAILURES, 1);
	if (err == ENOSPC || err == ENOMEM) {
		if (!t->watches.enospc_reported)
			fscd_log(FSCD_LOG_ERROR,
				 "cannot watch %s: %s; polling it and every directory that cannot "
				 "be watched every %u ms instead (slower to notice changes, and "
				 "costlier). Raise fs.inotify.max_user_watches (sysctl)",
				 path,
				 err == ENOSPC ? "inotify watch limit reached"
					       : "out of kernel memory for watches",
				 fscd_tree_poll_interval_ms(t));
		t->watches.enospc_reported = true;
		return;
	}
	if (err != ENOENT && err != ENOTDIR)
		fscd_log(FSCD_LOG_WARN, "cannot watch %s: %s; changes below it are not seen", path,
			 strerror(err));
}

/* Watches directory path; for a file root, name is the file to follow in it. */
static struct fscd_dir *dir_watch(struct fscd_tree *t, const char *path, bool recursive,
				  const char *name)
{
	int wd = inotify_add_watch(t->watches.ifd, path, FSCD_WATCH_MASK);
	if (wd < 0) {
		int err = errno;
		report_watch_failure(t, path, err);
		errno = err; /* callers fall back to polling on ENOSPC */
		return NULL;
	}
	struct fscd_dir *d = dir_slot(t, wd);
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

struct fscd_dir *fscd_dir_watch_all(struct fscd_tree *t, const char *path, unsigned depth)
{
	struct fscd_dir *d = dir_watch(t, path, true, NULL);
	if (d)
		d->depth = depth;
	return d;
}

struct fscd_dir *fscd_dir_watch_name(struct fscd_tree *t, const char *path, const char *name)
{
	return dir_watch(t, path, false, name);
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

/* The entries a directory lists (d->kids) */

#define FSCD_KIDS_PRUNE_MIN 4096 /* bytes of names below which a list is never pruned */

/* Does the table hold dir/name as existing? buf: PATH_MAX bytes for the path. */
static bool kid_positive(struct fscd_tree *t, const struct fscd_dir *d, const char *name, char *buf,
			 size_t *len)
{
	char *p = fscd_path_join_into(buf, PATH_MAX, d->path, d->path_len, name, len);
	if (p != buf) {
		free(p); /* longer than any path the table holds */
		return false;
	}
	struct stat st;
	uint32_t flags = 0;
	return fsc_writer_get(t->w, buf, *len, &st, &flags) && !(flags & FSC_REC_NEGATIVE);
}

static int name_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keeps each name once, and only those the table still holds as existing. */
static void kids_prune(struct fscd_tree *t, struct fscd_dir *d)
{
	size_t n = 0;
	for (size_t off = 0; off < d->kids_len; off += strlen(d->kids + off) + 1)
		n++;
	char **v = malloc(n * sizeof(*v));
	char *kept = malloc(d->kids_len);
	if (!v || !kept) {
		free(v);
		free(kept);
		return; /* stays as it is: a superset is still correct */
	}
	n = 0;
	for (size_t off = 0; off < d->kids_len; off += strlen(d->kids + off) + 1)
		v[n++] = d->kids + off;
	qsort(v, n, sizeof(*v), name_ptr_cmp);
	char buf[PATH_MAX];
	size_t used = 0, len;
	for (size_t i = 0; i < n; i++) {
		if ((i > 0 && strcmp(v[i], v[i - 1]) == 0) || !kid_positive(t, d, v[i], buf, &len))
			continue;
		size_t nlen = strlen(v[i]) + 1;
		memcpy(kept + used, v[i], nlen);
		used += nlen;
	}
	free(v);
	free(d->kids);
	d->kids = kept;
	d->kids_cap = d->kids_len;
	d->kids_len = d->kids_pruned = used;
}

void fscd_dir_note_entry(struct fscd_tree *t, const char *path, size_t len)
{
	const char *slash = memrchr(path, '/', len);
	if (!slash || slash + 1 == path + len)
		return;
	char parent[PATH_MAX];
	size_t plen = slash == path ? 1 : (size_t)(slash - path); /* "/x" is in "/" */
	if (plen >= sizeof(parent))
		return;
	memcpy(parent, path, plen);
	parent[plen] = '\0';
	struct fscd_dir *d = fscd_dir_find(t, parent);
	if (!d)
		return;
	const char *name = slash + 1;
	size_t nlen = (size_t)(path + len - name) + 1;
	if (d->kids_len + nlen > d->kids_cap && d->kids_len >= FSCD_KIDS_PRUNE_MIN &&
	    d->kids_len >= 2 * d->kids_pruned)
		kids_prune(t, d); /* duplicates and names gone: amortised over the growth */
	if (d->kids_len + nlen > d->kids_cap) {
		size_t cap = d->kids_cap ? d->kids_cap : 256;
		while (cap < d->kids_len + nlen)
			cap *= 2;
		char *k = realloc(d->kids, cap);
		if (!k)
			return; /* then a move of d finds it by the refresh of its parent's entries
				 */
		d->kids = k;
		d->kids_cap = cap;
	}
	memcpy(d->kids + d->kids_len, name, nlen - 1);
	d->kids[d->kids_len + nlen - 1] = '\0';
	d->kids_len += nlen;
}

static void queue_if_positive(struct fscd_tree *t, const char *path, size_t len)
{
	struct stat st;
	uint32_t flags = 0;
	if (fsc_writer_get(t->w, path, len, &st, &flags) && !(flags & FSC_REC_NEGATIVE))
		fscd_tree_queue(t, path, len);
}

void fscd_dirs_queue_under(struct fscd_tree *t, const char *path)
{
	size_t plen = strlen(path);
	char buf[PATH_MAX];
	for (size_t wd = 0; wd < t->watches.cap; wd++) {
		struct fscd_dir *d = t->watches.by_wd[wd];
		if (!d || !d->path || !fscd_path_under(d->path, path, plen))
			continue;
		queue_if_positive(t, d->path, d->path_len);
		size_t len;
		for (size_t off = 0; off < d->kids_len; off += strlen(d->kids + off) + 1)
			if (kid_positive(t, d, d->kids + off, buf, &len))
				fscd_tree_queue(t, buf, len);
	}
}
