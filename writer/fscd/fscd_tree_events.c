/* Reading and applying inotify events: each changed path is queued, and refreshed once at the
 * end of the pass; a directory created is scanned, one deleted or moved away is dropped with
 * everything below it. Loop thread only. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

/* A directory was deleted or moved away: stop watching everything below it, so that nothing
 * done to it elsewhere reaches its old paths, and refresh every record below it (they turn
 * negative at the end of this pass). The watched directories list what they published, so
 * this costs what is below path, not a walk of the whole table (which, on a large table,
 * took seconds the first time its pages were touched). Polled directories below it list
 * theirs elsewhere: if there were any, the table is walked after all. */
static void drop_subtree(struct fscd_tree *t, const char *path)
{
	fscd_dirs_queue_under(t, path); /* before the watches go, and their lists with them */
	fscd_dirs_unwatch_under(t, path);
	size_t polled = t->polling.index.count;
	fscd_tree_poll_forget(t, path);
	if (t->polling.index.count != polled)
		fscd_tree_queue_under(t, path);
}

/* The watched directory d itself was deleted or moved away. */
static void dir_gone(struct fscd_tree *t, const struct fscd_dir *d, uint32_t mask)
{
	if (d->root < 0)
		return;
	fscd_log(FSCD_LOG_WARN, "watched directory %s was %s; watching for it to come back",
		 d->path, mask & IN_MOVE_SELF ? "moved" : "deleted");
	char *p = strdup(d->path);
	if (p) {
		drop_subtree(t, p);
		free(p);
	}
}

/* What an event on an entry of a watched directory says happened to it (FSC_CK_* bits). */
static uint32_t event_seen(uint32_t mask)
{
	static const struct {
		uint32_t in, ck;
	} map[] = {
	    {IN_CREATE, FSC_CK_CREATE},	    {IN_MODIFY, FSC_CK_MODIFY},
	    {IN_ATTRIB, FSC_CK_ATTRIB},	    {IN_CLOSE_WRITE, FSC_CK_CLOSE_WRITE},
	    {IN_DELETE, FSC_CK_DELETE},	    {IN_MOVED_FROM, FSC_CK_MOVED_FROM},
	    {IN_MOVED_TO, FSC_CK_MOVED_TO}, {IN_ISDIR, FSC_CK_DIR},
	};
	uint32_t seen = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (mask & map[i].in)
			seen |= map[i].ck;
	return seen;
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
		dir_gone(t, d, ev->mask);
		return;
	}
	/* A directory's own record (mtime, size, nlink) changes with its entries, and with
	 * chmod & co. on it (an event with no name); only directories cached whole have one. */
	if (d->recursive &&
	    (ev->len == 0 || (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))))
		fscd_tree_queue(t, d->path, d->path_len);
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
		fscd_tree_queue_seen(t, child, len, event_seen(ev->mask));
	}
	if (child != buf)
		free(child);
}

/* Reads at most this many buffers of events per pass before publishing what they changed:
 * under a storm read() never runs dry, and every other changed path would wait. */
#define FSCD_READS_PER_PASS 16

size_t fscd_tree_process_events(struct fscd_tree *t)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t events = 0;
	for (int reads = 0; reads < FSCD_READS_PER_PASS; reads++) {
		ssize_t n = read(fscd_tree_fd(t), buf, sizeof(buf));
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
	fscd_tree_refresh_queued(t);
	return events;
}
