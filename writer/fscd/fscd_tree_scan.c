/* Scans: a directory is watched before it is read, so nothing created during the scan is
 * missed; it and everything in it are queued for a refresh, and subdirectories scanned in
 * turn. The filter (excludes, depth limit) decides what is cached and traversed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

/* Queues every entry of the open directory dh (path, at depth) and scans its subdirectories. */
static void scan_entries(struct fscd_tree *t, DIR *dh, const char *path, unsigned depth)
{
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
			fscd_tree_queue(t, child, clen);
		if (child != buf)
			free(child);
	}
	free(buf);
}

void fscd_tree_scan_dir(struct fscd_tree *t, const char *path, unsigned depth, bool check_fs)
{
	if (!fscd_filter_wants(t->filter, path, true, depth))
		return;
	/* a scan of a big tree can outlast the readers' writer timeout: keep beating */
	fsc_writer_heartbeat(t->w);
	if (fscd_tree_poll_instead(t, path, depth, check_fs, NULL))
		return;
	fscd_tree_queue(t, path, strlen(path));
	struct fscd_dir *d = fscd_dir_watch_all(t, path, depth);
	if (!d) {
		/* no watch to be had: poll it rather than go blind */
		if (errno == ENOSPC || errno == ENOMEM)
			fscd_tree_poll_add(t, path, depth, FSCD_POLL_WATCH_LIMIT, NULL);
		return;
	}
	/* a rescan (after an overflow) found a watch for a directory polled for want of one */
	fscd_tree_poll_watched(t, path);
	DIR *dh = opendir(path);
	if (!dh) {
		if (errno != ENOENT && errno != ENOTDIR)
			fscd_log(FSCD_LOG_WARN, "cannot read directory %s: %s", path,
				 strerror(errno));
		return;
	}
	scan_entries(t, dh, path, depth);
	closedir(dh);
}

/* A directory's mode or owner changed: what fscd could not watch or stat below it (permission
 * denied) may be within reach now, and what it could may not be. Rescanning it re-adds the
 * watches (the same ones where they exist) and refreshes every entry. */
void fscd_tree_rescan_dir(struct fscd_tree *t, const char *dir)
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

/* After IN_Q_OVERFLOW events were lost: re-verify every record and rescan every root. The
 * table keeps serving throughout; each record is rewritten as it is checked. */
void fscd_tree_reverify_all(struct fscd_tree *t)
{
	fsc_writer_count(t->w, FSC_CTR_RESCANS, 1);
	fscd_tree_queue_all(t);
	fscd_tree_scan_all(t);
	fscd_roots_queue_rescan(t); /* journal readers learn that events were lost here */
}
