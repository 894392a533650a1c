/* Watches and scans. Directory watches only: the watch count grows with directories, not
 * files; a file root is watched through its parent with a name filter. A directory is
 * watched before it is read, so nothing created during the scan is missed. */
#define _GNU_SOURCE
#include "fscd_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

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

static void refresh_one(struct fscd_tree *t, const char *path, size_t len, struct stat *st,
			int *err)
{
	fsc_writer_count(t->w, FSC_CTR_STATS, 1);
	*err = lstat(path, st) == 0 ? 0 : errno;
	if (*err == 0) {
		if (S_ISLNK(st->st_mode))
			fsc_writer_remove(t->w, path, len);
		else
			fsc_writer_put(t->w, path, len, st, 0);
	} else if (*err == ENOENT || *err == ENOTDIR) {
		fsc_writer_put_negative(t->w, path, len);
	} else {
		/* EACCES and the like: stat(2) would fail for readers too, but maybe not for
		 * every reader; never serve a guess */
		fsc_writer_count(t->w, FSC_CTR_STAT_ERRORS, 1);
		fsc_writer_remove(t->w, path, len);
		uint64_t now = fsc_writer_now_ns();
		if (now - t->stat_error_logged_ns > 10000000000ull || !t->stat_error_logged_ns) {
			t->stat_error_logged_ns = now; /* at most one line per 10 s */
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
	if (!fscd_tree_poll_owns(t, path))
		refresh_one(t, path, len, &ignored, &err);
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

/* A directory's mode or owner changed: what fscd could not watch or stat below it (permission
 * denied) may be within reach now, and what it could may not be. Rescanning it re-adds the
 * watches (the same ones where they exist) and re-checks every entry. */
static void rescan_after_access_change(struct fscd_tree *t, const char *dir)
{
	struct fscd_dir *d = fscd_dir_find(t, dir);
	unsigned depth;
	if (d) {
		depth = d->depth;
	} else {
		char *parent = fscd_path_parent(dir);
		struct fscd_dir *p = parent ? fscd_dir_find(t, parent) : NULL;
		free(parent);
		if (!p || !p->recursive)
			return;
		depth = p->depth + 1;
	}
	fscd_tree_scan_dir(t, dir, depth, true);
}

/* Publishes what lstat says about path: a record, a negative entry, or nothing (symlinks,
 * whose target may change where no watch sees it, are left to stat(2)). A link count change
 * is reported by the kernel only on the inode, not to directory watches: when the inode had
 * or has other names, the records of those names are re-checked too. */
static void refresh_len(void *ctx, const char *path, size_t len)
{
	struct fscd_tree *t = ctx;
	if (fscd_tree_poll_owns(t, path))
		return; /* the workers keep it current; a stat here could hang the loop */
	struct stat old, now;
	uint32_t flags = 0;
	bool had = fsc_writer_get(t->w, path, len, &old, &flags) && !(flags & FSC_REC_NEGATIVE);
	int err;
	refresh_one(t, path, len, &now, &err);
	if (had && multiply_linked(&old))
		refresh_inode_links(t, &old, path);
	if (err == 0 && had && S_ISDIR(now.st_mode) &&
	    (old.st_mode != now.st_mode || old.st_uid != now.st_uid || old.st_gid != now.st_gid))
		rescan_after_access_change(t, path);
	if (err == 0 && multiply_linked(&now) &&
	    !(had && old.st_dev == now.st_dev && old.st_ino == now.st_ino && multiply_linked(&old)))
		refresh_inode_links(t, &now, path);
}

void fscd_tree_refresh(void *ctx, const char *path)
{
	refresh_len(ctx, path, strlen(path));
}

/* The filter (excludes, depth limit) decides what is cached and traversed. */
void fscd_tree_scan_dir(struct fscd_tree *t, const char *path, unsigned depth, bool check_fs)
{
	if (!fscd_filter_wants(t->filter, path, true, depth))
		return;
	/* a scan of a big tree can outlast the readers' writer timeout: keep beating */
	fsc_writer_heartbeat(t->w);
	if (fscd_tree_poll_instead(t, path, depth, check_fs, NULL))
		return;
	fscd_pending_add(&t->pending, path);
	struct fscd_dir *d = fscd_dir_watch(t, path, true, NULL);
	if (!d) {
		/* no watch to be had: poll it rather than go blind */
		if (errno == ENOSPC || errno == ENOMEM)
			fscd_tree_poll_add(t, path, depth, FSCD_POLL_WATCH_LIMIT, NULL);
		return;
	}
	/* a rescan (after an overflow) found a watch for a directory polled for want of one */
	struct fscd_polled *was = t->poll.count ? fscd_poll_find(&t->poll, path) : NULL;
	if (was && was->reason == FSCD_POLL_WATCH_LIMIT) {
		fscd_poll_remove(&t->poll, was);
		fsc_writer_set_counter(t->w, FSC_CTR_POLLED_DIRS, t->poll.count);
	}
	d->depth = depth;
	DIR *dh = opendir(path);
	if (!dh) {
		if (errno != ENOENT && errno != ENOTDIR)
			fscd_log(FSCD_LOG_WARN, "cannot read directory %s: %s", path,
				 strerror(errno));
		return;
	}
	/* one buffer for every entry's path (not on the stack: this recurses) */
	struct dirent *e;
	size_t plen = strlen(path), size = plen + 2 + sizeof(e->d_name);
	char *buf = malloc(size);
	while ((e = readdir(dh)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t clen;
		char *child =
		    fscd_path_join_into(buf, buf ? size : 0, path, plen, e->d_name, &clen);
		if (!child)
			continue;
		bool is_dir = e->d_type == DT_DIR;
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;
			is_dir = lstat(child, &st) == 0 && S_ISDIR(st.st_mode);
		}
		if (is_dir)
			fscd_tree_scan_dir(t, child, depth + 1, true);
		else if (fscd_filter_wants(t->filter, child, false, depth + 1))
			fscd_pending_add_len(&t->pending, child, clen);
		if (child != buf)
			free(child);
	}
	free(buf);
	closedir(dh);
}

struct subtree_visit {
	const char *prefix;
	size_t len;
	struct fscd_pending *out;
};

static void collect_under(void *ctx, const char *path, size_t len, uint32_t flags,
			  const struct stat *st)
{
	(void)st;
	struct subtree_visit *v = ctx;
	if (!(flags & FSC_REC_NEGATIVE) && fscd_path_under(path, v->prefix, v->len))
		fscd_pending_add_len(v->out, path, len);
}

/* A directory was deleted or moved away: stop watching everything below it and re-check
 * every record below it (they turn negative). */
static void drop_subtree(struct fscd_tree *t, const char *path)
{
	size_t len = strlen(path);
	for (size_t wd = 0; wd < t->dirs_cap; wd++) {
		struct fscd_dir *d = t->dirs[wd];
		if (d && fscd_path_under(d->path, path, len)) {
			inotify_rm_watch(t->ifd, (int)wd);
			fscd_dir_forget(t, (int)wd);
		}
	}
	fscd_tree_poll_forget(t, path);
	struct subtree_visit v = {.prefix = path, .len = len, .out = &t->pending};
	fsc_writer_foreach(t->w, collect_under, &v);
}

static void negate_one(void *ctx, const char *path, size_t len)
{
	struct fscd_tree *t = ctx;
	fsc_writer_put_negative(t->w, path, len);
}

void fscd_tree_negate_under(struct fscd_tree *t, const char *prefix)
{
	struct fscd_pending gone = {0};
	struct subtree_visit v = {.prefix = prefix, .len = strlen(prefix), .out = &gone};
	fsc_writer_foreach(t->w, collect_under, &v);
	fscd_pending_flush(&gone, negate_one, t);
	fscd_pending_free(&gone);
}

static void handle_event(struct fscd_tree *t, const struct inotify_event *ev)
{
	struct fscd_dir *d = fscd_dir_of(t, ev->wd);
	if (!d)
		return;
	if (ev->mask & IN_IGNORED) {
		fscd_dir_forget(t, ev->wd);
		return;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (d->root >= 0) {
			fscd_log(FSCD_LOG_WARN,
				 "watched directory %s was %s; watching for it to "
				 "come back",
				 d->path, ev->mask & IN_MOVE_SELF ? "moved" : "deleted");
			char *p = strdup(d->path);
			if (p) {
				drop_subtree(t, p);
				free(p);
			}
		}
		return;
	}
	/* A directory's own record (mtime, size, nlink) changes with its entries, and with
	 * chmod & co. on it (an event with no name); only directories cached whole have one. */
	if (d->recursive &&
	    (ev->len == 0 || (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))))
		fscd_pending_add_len(&t->pending, d->path, d->path_len);
	if (ev->len == 0 || !fscd_dir_wants(d, ev->name))
		return;
	char buf[PATH_MAX];
	size_t len;
	char *child = fscd_path_join_into(buf, sizeof(buf), d->path, d->path_len, ev->name, &len);
	if (!child)
		return;
	bool is_dir = (ev->mask & IN_ISDIR) != 0;
	if (is_dir && (ev->mask & (IN_DELETE | IN_MOVED_FROM)))
		drop_subtree(t, child);
	/* a file root's directory has no depth of its own: the named file is wanted */
	if (!d->recursive || fscd_filter_wants(t->filter, child, is_dir, d->depth + 1)) {
		if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && d->recursive)
			fscd_tree_scan_dir(t, child, d->depth + 1, true);
		fscd_pending_add_len(&t->pending, child, len);
	}
	if (child != buf)
		free(child);
}

static void collect_all(void *ctx, const char *path, size_t len, uint32_t flags,
			const struct stat *st)
{
	(void)st;
	(void)flags;
	fscd_pending_add_len(ctx, path, len);
}

/* After IN_Q_OVERFLOW events were lost: re-verify every record and rescan every root. The
 * table keeps serving throughout; each record is rewritten as it is checked. */
void fscd_tree_reverify_all(struct fscd_tree *t)
{
	fsc_writer_count(t->w, FSC_CTR_RESCANS, 1);
	fsc_writer_foreach(t->w, collect_all, &t->pending);
	fscd_tree_scan_all(t);
}

/* Reads at most this many buffers of events per pass before publishing what they changed:
 * under a storm read() never runs dry, and every other changed path would wait. */
#define FSCD_READS_PER_PASS 16

size_t fscd_tree_process_events(struct fscd_tree *t)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t events = 0;
	for (int reads = 0; reads < FSCD_READS_PER_PASS; reads++) {
		ssize_t n = read(t->ifd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			fsc_writer_count(t->w, FSC_CTR_EVENTS, 1);
			events++;
			if (ev->mask & IN_Q_OVERFLOW)
				fscd_recovery_note_overflow(t, fsc_writer_now_ns());
			else
				handle_event(t, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	fscd_recovery_run_due(t, fsc_writer_now_ns());
	/* coalescing: a path changed many times since the last pass is stat'ed once */
	fscd_pending_flush(&t->pending, refresh_len, t);
	return events;
}

static int root_watch(struct fscd_tree *t, size_t i)
{
	struct fscd_root *r = &t->roots[i];
	struct fscd_dir *d = NULL;
	if (r->name) {
		if (!fscd_tree_poll_instead(t, r->dir, 0, true, r->name)) {
			d = fscd_dir_watch(t, r->dir, false, r->name);
			if (!d && (errno == ENOSPC || errno == ENOMEM))
				fscd_tree_poll_add(t, r->dir, 0, FSCD_POLL_WATCH_LIMIT, r->name);
		}
		fscd_pending_add(&t->pending, r->path);
	} else {
		fscd_tree_scan_dir(t, r->dir, 0, true);
		d = NULL;
		for (size_t wd = 0; wd < t->dirs_cap && !d; wd++)
			if (t->dirs[wd] && strcmp(t->dirs[wd]->path, r->dir) == 0)
				d = t->dirs[wd];
	}
	struct fscd_polled *polled = d ? NULL : fscd_poll_find(&t->poll, r->dir);
	if (polled)
		polled->root = (int)i; /* stays polled while deleted, to be seen coming back */
	else if (!d)
		return -1;
	else
		d->root = (int)i;
	r->present = true;
	return 0;
}

void fscd_tree_scan_all(struct fscd_tree *t)
{
	for (size_t i = 0; i < t->nroots; i++)
		root_watch(t, i);
	fscd_pending_flush(&t->pending, refresh_len, t);
}

void fscd_tree_tick(struct fscd_tree *t)
{
	for (size_t i = 0; i < t->nroots; i++) {
		struct stat st;
		if (t->roots[i].present || lstat(t->roots[i].dir, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		fscd_log(FSCD_LOG_INFO, "%s is back: watching it again", t->roots[i].dir);
		root_watch(t, i);
	}
	fscd_recovery_run_due(t, fsc_writer_now_ns());
	fscd_recovery_backstop(t);
	fscd_pending_flush(&t->pending, refresh_len, t);
}

int fscd_tree_add_root(struct fscd_tree *t, const char *path)
{
	char *real = realpath(path, NULL);
	struct stat st;
	if (!real || stat(real, &st) < 0) {
		int e = errno;
		fscd_log(FSCD_LOG_ERROR, "cannot watch %s: %s (check the path)", path, strerror(e));
		free(real);
		return -e;
	}
	if (strlen(real) > t->path_max) {
		fscd_log(FSCD_LOG_ERROR,
			 "cannot watch %s: path longer than the table's %u-byte "
			 "path limit (use a larger --slot-size)",
			 real, t->path_max);
		free(real);
		return -ENAMETOOLONG;
	}
	struct fscd_root *roots = realloc(t->roots, (t->nroots + 1) * sizeof(*roots));
	if (!roots) {
		free(real);
		return -ENOMEM;
	}
	t->roots = roots;
	struct fscd_root *r = &t->roots[t->nroots++];
	*r = (struct fscd_root){.path = real};
	if (S_ISDIR(st.st_mode)) {
		r->dir = strdup(real);
	} else {
		r->dir = fscd_path_parent(real);
		r->name = strdup(strrchr(real, '/') + 1);
	}
	return 0;
}

void fscd_tree_set_writer(struct fscd_tree *t, struct fsc_writer *w)
{
	t->w = w;
}

void fscd_tree_set_filter(struct fscd_tree *t, const struct fscd_filter *f)
{
	t->filter = f;
	t->poll_interval_ns =
	    (uint64_t)(f && f->poll_interval_ms ? f->poll_interval_ms : 2000) * 1000000ull;
}

int fscd_tree_create(struct fscd_tree **out, uint32_t path_max)
{
	struct fscd_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->path_max = path_max;
	t->poll_interval_ns = 2000000000ull;
	rcu_register_thread(); /* this thread reads the polled-directory index */
	t->dirs_by_path = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (!t->dirs_by_path || fscd_poll_init(&t->poll) < 0) {
		if (t->dirs_by_path)
			cds_lfht_destroy(t->dirs_by_path, NULL);
		rcu_unregister_thread();
		free(t);
		return -ENOMEM;
	}
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd < 0) {
		int e = errno;
		fscd_log(FSCD_LOG_ERROR, "cannot create an inotify instance: %s%s", strerror(e),
			 e == EMFILE ? " (raise fs.inotify.max_user_instances)" : "");
		fscd_poll_destroy(&t->poll);
		cds_lfht_destroy(t->dirs_by_path, NULL);
		rcu_unregister_thread();
		free(t);
		return -e;
	}
	*out = t;
	return 0;
}

void fscd_tree_destroy(struct fscd_tree *t)
{
	if (!t)
		return;
	if (!fscd_tree_poll_stop(t)) {
		/* a worker stuck on a dead mount may still look entries up when it returns: the
		 * tree stays as it is for the little time left before the process exits (and
		 * stays reachable, so leak checkers do not call it lost) */
		static struct fscd_tree *volatile left_behind;
		left_behind = t;
		close(left_behind->ifd);
		return;
	}
	for (size_t wd = 0; wd < t->dirs_cap; wd++)
		if (t->dirs[wd])
			fscd_dir_free(t, t->dirs[wd]);
	fscd_poll_destroy(&t->poll); /* waits for every call_rcu free, the directories' too */
	cds_lfht_destroy(t->dirs_by_path, NULL);
	rcu_unregister_thread();
	free(t->dirs);
	for (size_t i = 0; i < t->nroots; i++) {
		free(t->roots[i].path);
		free(t->roots[i].dir);
		free(t->roots[i].name);
	}
	free(t->roots);
	fscd_pending_free(&t->pending);
	close(t->ifd);
	free(t);
}

int fscd_tree_fd(const struct fscd_tree *t)
{
	return t->ifd;
}
