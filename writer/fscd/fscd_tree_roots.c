/* fscd's roots (t->roots): the directories and files it was asked to serve, whether each is
 * being watched, and watching a deleted one again once it is back. Loop thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

static int root_watch(struct fscd_tree *t, size_t i)
{
	struct fscd_root *r = &t->roots.v[i];
	struct fscd_dir *d = NULL;
	if (r->name) {
		if (!fscd_tree_poll_instead(t, r->dir, 0, true, r->name)) {
			d = fscd_dir_watch_name(t, r->dir, r->name);
			if (!d && (errno == ENOSPC || errno == ENOMEM))
				fscd_tree_poll_add(t, r->dir, 0, FSCD_POLL_WATCH_LIMIT, r->name);
		}
		fscd_tree_queue(t, r->path, strlen(r->path));
	} else {
		fscd_tree_scan_dir(t, r->dir, 0, true);
		d = fscd_dir_first(t, r->dir);
	}
	if (d)
		fscd_dir_set_root(d, (int)i);
	else if (!fscd_tree_poll_set_root(t, r->dir, (int)i))
		return -1;
	r->present = true;
	return 0;
}

void fscd_roots_watch_all(struct fscd_tree *t)
{
	for (size_t i = 0; i < t->roots.n; i++)
		root_watch(t, i);
}

void fscd_roots_watch_returned(struct fscd_tree *t)
{
	for (size_t i = 0; i < t->roots.n; i++) {
		struct stat st;
		if (t->roots.v[i].present || lstat(t->roots.v[i].dir, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		fscd_log(FSCD_LOG_INFO, "%s is back: watching it again", t->roots.v[i].dir);
		root_watch(t, i);
	}
}

void fscd_roots_lost(struct fscd_tree *t, int i)
{
	t->roots.v[i].present = false;
}

int fscd_roots_depth_of(const struct fscd_tree *t, const char *path)
{
	for (size_t i = 0; i < t->roots.n; i++) {
		const struct fscd_root *root = &t->roots.v[i];
		size_t len = strlen(root->path);
		if (root->name ? strcmp(path, root->path) == 0
			       : fscd_path_under(path, root->path, len)) {
			int depth = 0;
			for (const char *p = path + len; *p; p++)
				depth += *p == '/';
			return depth;
		}
	}
	return -1;
}

int fscd_tree_add_root(struct fscd_tree *t, const char *path)
{
	char *real = realpath(path, NULL);
	struct stat st;
	if (!real || stat(real, &st) < 0) {
		int e = errno;
		/* EINTR: a stop request interrupted a stat hung on a dead mount (start-up catches
		 * SIGTERM without SA_RESTART); nothing is wrong with the path, and fscd says why
		 * it stops */
		if (e == EINTR)
			fscd_log(FSCD_LOG_DEBUG, "checking %s was interrupted", path);
		else
			fscd_log(FSCD_LOG_ERROR, "cannot watch %s: %s (check the path)", path,
				 strerror(e));
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
	struct fscd_root *roots = realloc(t->roots.v, (t->roots.n + 1) * sizeof(*roots));
	if (!roots) {
		free(real);
		return -ENOMEM;
	}
	t->roots.v = roots;
	struct fscd_root *r = &t->roots.v[t->roots.n++];
	*r = (struct fscd_root){.path = real};
	if (S_ISDIR(st.st_mode)) {
		r->dir = strdup(real);
	} else {
		r->dir = fscd_path_parent(real);
		r->name = strdup(strrchr(real, '/') + 1);
	}
	return 0;
}

size_t fscd_tree_root_count(const struct fscd_tree *t)
{
	return t->roots.n;
}

const char *fscd_tree_root_path(const struct fscd_tree *t, size_t i, bool *is_file)
{
	*is_file = t->roots.v[i].name != NULL;
	return t->roots.v[i].path;
}

void fscd_roots_queue_rescan(struct fscd_tree *t)
{
	for (size_t i = 0; i < t->roots.n; i++)
		fscd_tree_queue_seen(t, t->roots.v[i].path, strlen(t->roots.v[i].path),
				     FSC_CK_RESCAN);
}

void fscd_roots_free(struct fscd_tree *t)
{
	for (size_t i = 0; i < t->roots.n; i++) {
		free(t->roots.v[i].path);
		free(t->roots.v[i].dir);
		free(t->roots.v[i].name);
	}
	free(t->roots.v);
}
