/* The tree itself: making and freeing it, the settings every part reads, the upkeep tick, and
 * what the request path may ask of it. Which file owns which part: fscd_tree_internal.h. */
#define _GNU_SOURCE
#include "fscd_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fscd_tree_internal.h"

int fscd_tree_create(struct fscd_tree **out, uint32_t path_max)
{
	struct fscd_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->path_max = path_max;
	rcu_register_thread(); /* this thread reads the polled-directory index */
	int rc = fscd_tree_poll_init(t);
	if (rc == 0) {
		rc = fscd_dirs_init(t);
		if (rc)
			fscd_tree_poll_destroy(t);
	}
	if (rc) {
		rcu_unregister_thread();
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void fscd_tree_set_writer(struct fscd_tree *t, struct fsc_writer *w)
{
	t->w = w;
}

void fscd_tree_set_filter(struct fscd_tree *t, const struct fscd_filter *f)
{
	t->filter = f;
	fscd_tree_poll_set_interval(t, f);
}

struct fsc_writer *fscd_tree_writer(const struct fscd_tree *t)
{
	return t->w;
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
		close(fscd_tree_fd(left_behind));
		return;
	}
	fscd_dirs_destroy(t);
	fscd_tree_poll_destroy(t);
	rcu_unregister_thread();
	fscd_roots_free(t);
	fscd_refresh_free(t);
	fscd_tree_audience_free(t);
	free(t);
}

void fscd_tree_scan_all(struct fscd_tree *t)
{
	fscd_roots_watch_all(t);
	fscd_tree_refresh_queued(t);
}

void fscd_tree_tick(struct fscd_tree *t)
{
	fscd_roots_watch_returned(t);
	fscd_tree_audience_tick(t);
	fscd_recovery_run_due(t, fsc_writer_now_ns());
	fscd_recovery_backstop(t);
	fscd_tree_refresh_queued(t);
}

/* A path in a directory fscd does not watch (excluded, past the depth limit, behind a
 * symlink, polled) would be a record nothing keeps current. */
bool fscd_tree_can_cache(struct fscd_tree *t, const char *path, size_t len)
{
	if (!fsc_shm_path_cacheable(path, len, t->path_max))
		return false;
	int depth = fscd_roots_depth_of(t, path);
	if (depth < 0)
		return false;
	const char *slash = strrchr(path, '/'); /* cacheable: absolute, so there is one */
	char *dir = fscd_path_parent(path);
	struct fscd_dir *d = dir ? fscd_dir_find(t, dir) : NULL;
	free(dir);
	if (!d || !fscd_dir_wants(d, slash + 1))
		return false;
	if (!d->recursive)
		return true; /* a file root, named explicitly */
	struct stat st;
	bool is_dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
	return fscd_filter_wants(t->filter, path, is_dir, (unsigned)depth);
}
