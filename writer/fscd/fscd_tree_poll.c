/* Polling: directories inotify cannot watch are listed again every poll interval.
 *
 * Which: those on filesystems inotify cannot see (statfs f_type: NFS, CIFS/SMB, FUSE, 9p,
 * Ceph, AFS, /proc, sysfs: changes made on another host or inside the filesystem's server
 * raise no inotify event here); those no watch could be had for (the per-user watch limit,
 * ENOSPC); those named with --poll; and everything below any of them.
 *
 * How: the loop thread schedules a listing of each polled directory on the stat workers
 * (fscd_workers.h), at most one at a time per directory, and applies the results: records
 * flagged FSC_REC_POLLED with the time of the stat as verified time, so a reader can ask for
 * a maximum age (fsc_stat_fresh); names gone since the last listing become negative. The loop
 * itself never stats a polled path: that stat could hang on a dead server. A listing that
 * has not come back by its deadline marks the directory's records stale, which readers see
 * (FSC_FLAG_STALE; fsc_stat falls back to stat(2)).
 *
 * This file owns t->polling: the index of polled directories, the workers, the interval. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "fscd_log.h"
#include "fscd_tree_internal.h"

/* A listing this late (and at least twice the interval) is stalled: its records go stale. */
#define FSCD_POLL_STALL_NS	   5000000000ull
#define FSCD_POLL_STALLED_DEVS_MAX 16

/* Filesystem types whose changes inotify does not report (magic numbers from statfs(2) and
 * linux/magic.h). Changes made through this host's own system calls would be seen on some of
 * them, but those made by other clients or by the server would not. */
static const char *blind_fs_name(long f_type)
{
	switch ((unsigned long)f_type & 0xffffffffu) {
	case 0x6969:
		return "nfs";
	case 0x517b:
		return "smb";
	case 0xff534d42:
		return "cifs";
	case 0xfe534d42:
		return "smb2";
	case 0x65735546:
		return "fuse";
	case 0x01021997:
		return "9p";
	case 0x00c36400:
		return "ceph";
	case 0x5346414f:
		return "afs";
	case 0x0bd00bd0:
		return "lustre";
	case 0x01161970:
		return "gfs2";
	case 0x9fa0:
		return "proc";
	case 0x62656572:
		return "sysfs";
	default:
		return NULL;
	}
}

/* Is dir the root of a mount? Asked without going to a network server (AT_STATX_DONT_SYNC
 * answers from cached attributes), so that a dead mount point found in a scan cannot hang
 * the loop: the workers find out what it is. */
static bool is_mount_point(const char *dir)
{
	struct statx stx;
	if (statx(AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
		return false;
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

int fscd_tree_poll_init(struct fscd_tree *t)
{
	t->polling.interval_ns = 2000000000ull;
	return fscd_poll_init(&t->polling.index) < 0 ? -ENOMEM : 0;
}

void fscd_tree_poll_destroy(struct fscd_tree *t)
{
	fscd_poll_destroy(&t->polling.index);
}

void fscd_tree_poll_set_interval(struct fscd_tree *t, const struct fscd_filter *f)
{
	t->polling.interval_ns =
	    (uint64_t)(f && f->poll_interval_ms ? f->poll_interval_ms : 2000) * 1000000ull;
}

unsigned fscd_tree_poll_interval_ms(const struct fscd_tree *t)
{
	return (unsigned)(t->polling.interval_ns / 1000000);
}

/* Is the directory that path is in polled? */
static bool parent_polled(struct fscd_tree *t, const char *path)
{
	if (t->polling.index.count == 0)
		return false;
	char *dir = fscd_path_parent(path);
	bool polled = dir && fscd_poll_find(&t->polling.index, dir) != NULL;
	free(dir);
	return polled;
}

struct fscd_polled *fscd_tree_poll_add(struct fscd_tree *t, const char *dir, unsigned depth,
				       enum fscd_poll_reason reason, const char *only)
{
	struct fscd_polled *existing;
	struct fscd_polled *e = fscd_poll_add(&t->polling.index, dir, reason, &existing);
	if (!e)
		return existing;
	e->depth = depth;
	e->due_ns = 0; /* list it at the next tick */
	if (only)
		e->only = strdup(only);
	fsc_writer_set_counter(t->w, FSC_CTR_POLLED_DIRS, t->polling.index.count);
	/* the top of a polled subtree is news; what is below it follows */
	bool top = depth == 0 || !parent_polled(t, dir);
	if (reason != FSCD_POLL_MOUNT_CHECK)
		fscd_log(top ? FSCD_LOG_INFO : FSCD_LOG_DEBUG, "polling %s every %u ms (%s)", dir,
			 fscd_tree_poll_interval_ms(t), fscd_poll_reason_name(reason));
	return e;
}

bool fscd_tree_poll_instead(struct fscd_tree *t, const char *dir, unsigned depth, bool check_fs,
			    const char *only)
{
	if (!check_fs)
		return false;
	if (fscd_filter_forces_poll(t->filter, dir))
		return fscd_tree_poll_add(t, dir, depth, FSCD_POLL_FORCED, only) != NULL;
	if (depth == 0) {
		/* a root: fscd was asked to serve it and has stat'ed it already */
		struct statfs sfs;
		const char *fs = statfs(dir, &sfs) == 0 ? blind_fs_name((long)sfs.f_type) : NULL;
		if (fs)
			fscd_log(FSCD_LOG_INFO, "%s is on %s, which inotify cannot see", dir, fs);
		return fs && fscd_tree_poll_add(t, dir, depth, FSCD_POLL_BLIND_FS, only) != NULL;
	}
	if (is_mount_point(dir))
		return fscd_tree_poll_add(t, dir, depth, FSCD_POLL_MOUNT_CHECK, NULL) != NULL;
	return false;
}

void fscd_tree_poll_watched(struct fscd_tree *t, const char *dir)
{
	struct fscd_polled *was =
	    t->polling.index.count ? fscd_poll_find(&t->polling.index, dir) : NULL;
	if (was && was->reason == FSCD_POLL_WATCH_LIMIT) {
		fscd_poll_remove(&t->polling.index, was);
		fsc_writer_set_counter(t->w, FSC_CTR_POLLED_DIRS, t->polling.index.count);
	}
}

bool fscd_tree_poll_set_root(struct fscd_tree *t, const char *dir, int i)
{
	struct fscd_polled *polled = fscd_poll_find(&t->polling.index, dir);
	if (polled)
		polled->root = i;
	return polled != NULL;
}

bool fscd_tree_poll_owns(struct fscd_tree *t, const char *path)
{
	return t->polling.index.count &&
	       (fscd_poll_find(&t->polling.index, path) || parent_polled(t, path));
}

void fscd_tree_poll_forget(struct fscd_tree *t, const char *dir)
{
	if (t->polling.index.count && fscd_poll_remove_under(&t->polling.index, dir))
		fsc_writer_set_counter(t->w, FSC_CTR_POLLED_DIRS, t->polling.index.count);
}

/* The records the last listing of e published (and e's own): fscd can vouch for none of
 * them while its listing hangs or fails. */
static void poll_mark_stale(struct fscd_tree *t, struct fscd_polled *e)
{
	if (!e->only)
		fsc_writer_mark_stale(t->w, e->path, strlen(e->path));
	for (size_t i = 0; i < e->nnames; i++) {
		char *child = fscd_path_join(e->path, e->names[i]);
		if (child)
			fsc_writer_mark_stale(t->w, child, strlen(child));
		free(child);
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int listed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fscd_listed *)a)->name, ((const struct fscd_listed *)b)->name);
}

/* A name of the previous listing is gone: negative, and below it too if it was a dir. */
static void poll_name_gone(struct fscd_tree *t, const char *dir, const char *name, uint64_t seen_ns)
{
	char *child = fscd_path_join(dir, name);
	if (!child)
		return;
	if (fscd_poll_find(&t->polling.index, child)) {
		fscd_tree_poll_forget(t, child);
		fscd_tree_negate_under(t, child);
	}
	fsc_writer_put_negative_at(t->w, child, strlen(child), FSC_REC_POLLED, seen_ns);
	free(child);
}

static void poll_forget_names(struct fscd_tree *t, struct fscd_polled *e, uint64_t seen_ns)
{
	for (size_t i = 0; i < e->nnames; i++) {
		poll_name_gone(t, e->path, e->names[i], seen_ns);
		free(e->names[i]);
	}
	free(e->names);
	e->names = NULL;
	e->nnames = 0;
}

/* The directory itself could not be listed. */
static void poll_dir_failed(struct fscd_tree *t, struct fscd_polled *e, int err, uint64_t seen_ns)
{
	if (err == ENOENT || err == ENOTDIR) {
		/* gone: everything it held is gone with it; a root stays polled, to be seen
		 * again when it comes back */
		poll_forget_names(t, e, seen_ns);
		if (!e->only)
			fsc_writer_put_negative_at(t->w, e->path, strlen(e->path), FSC_REC_POLLED,
						   seen_ns);
		return;
	}
	fsc_writer_count(t->w, FSC_CTR_STAT_ERRORS, 1);
	if (!e->stalled)
		fscd_log(FSCD_LOG_WARN,
			 "cannot list polled directory %s: %s; its records are "
			 "marked stale until it can be listed again",
			 e->path, strerror(err));
	e->stalled = true;
	poll_mark_stale(t, e);
}

/* One entry of a listing: a subdirectory is polled in its own right (its own listing writes
 * its record); anything else is published as lstat saw it. */
static void poll_apply_entry(struct fscd_tree *t, struct fscd_polled *e,
			     const struct fscd_listed *l, const char *child, uint64_t verified_ns)
{
	size_t len = strlen(child);
	if (l->err == 0 && S_ISDIR(l->st.st_mode)) {
		enum fscd_poll_reason r =
		    e->reason == FSCD_POLL_MOUNT_CHECK ? FSCD_POLL_BLIND_FS : e->reason;
		fscd_tree_poll_add(t, child, e->depth + 1, r, NULL);
	} else if (l->err == 0 && S_ISLNK(l->st.st_mode)) {
		fsc_writer_remove(t->w, child, len); /* left to stat(2), as when watched */
	} else if (l->err == 0) {
		fsc_writer_put_at(t->w, child, len, &l->st, FSC_REC_POLLED, verified_ns);
	} else if (l->err == ENOENT) {
		/* deleted since it was listed */
		fsc_writer_put_negative_at(t->w, child, len, FSC_REC_POLLED, verified_ns);
	} else {
		fsc_writer_count(t->w, FSC_CTR_STAT_ERRORS, 1);
		fsc_writer_remove(t->w, child, len);
	}
}

static bool poll_wants(struct fscd_tree *t, const struct fscd_polled *e, const char *child,
		       const struct fscd_listed *l)
{
	if (e->only)
		return strcmp(l->name, e->only) == 0;
	bool is_dir = l->err == 0 && S_ISDIR(l->st.st_mode);
	return fscd_filter_wants(t->filter, child, is_dir, e->depth + 1);
}

/* Publishes a listing; names of the previous listing missing from it become negative. */
static void poll_apply_listing(struct fscd_tree *t, struct fscd_polled *e,
			       struct fscd_scan_job *job)
{
	if (!e->only) {
		/* first: the entries below are published through the audience's gate */
		fscd_tree_audience_scanned(t, e->path, &job->st);
		fsc_writer_put_at(t->w, e->path, strlen(e->path), &job->st, FSC_REC_POLLED,
				  job->started_ns);
	}
	if (job->nentries > 1) /* an empty directory has no array at all */
		qsort(job->entries, job->nentries, sizeof(*job->entries), listed_cmp);
	char **names = calloc(job->nentries ? job->nentries : 1, sizeof(*names));
	size_t n = 0;
	for (size_t i = 0; names && i < job->nentries; i++) {
		struct fscd_listed *l = &job->entries[i];
		char *child = fscd_path_join(e->path, l->name);
		if (child && poll_wants(t, e, child, l)) {
			poll_apply_entry(t, e, l, child, job->started_ns);
			names[n++] = l->name;
			l->name = NULL; /* moved into names */
		}
		free(child);
	}
	if (!names) {
		poll_mark_stale(t, e); /* out of memory: cannot tell what is gone */
		return;
	}
	for (size_t i = 0; i < e->nnames; i++) {
		if (!bsearch(&e->names[i], names, n, sizeof(*names), name_cmp))
			poll_name_gone(t, e->path, e->names[i], job->started_ns);
		free(e->names[i]);
	}
	free(e->names);
	e->names = names;
	e->nnames = n;
}

/* A mount point's type is known: watch it after all, or poll it for good. */
static bool poll_mount_checked(struct fscd_tree *t, struct fscd_polled *e, long fs_type)
{
	const char *fs = blind_fs_name(fs_type);
	if (fs) {
		e->reason = FSCD_POLL_BLIND_FS;
		fscd_log(FSCD_LOG_INFO,
			 "%s is a mount of %s, which inotify cannot see: polling it "
			 "every %u ms",
			 e->path, fs, fscd_tree_poll_interval_ms(t));
		return false;
	}
	char *dir = strdup(e->path);
	unsigned depth = e->depth;
	fscd_poll_remove(&t->polling.index, e);
	fsc_writer_set_counter(t->w, FSC_CTR_POLLED_DIRS, t->polling.index.count);
	if (dir)
		fscd_tree_scan_dir(t, dir, depth, false);
	free(dir);
	return true;
}

static void poll_apply(struct fscd_tree *t, struct fscd_scan_job *job)
{
	struct fscd_polled *e = fscd_poll_find(&t->polling.index, job->path);
	if (!e || e->id != job->dir_id)
		return; /* no longer polled (or polled anew since): the listing is out of date */
	e->in_flight = false;
	e->due_ns = job->started_ns + t->polling.interval_ns;
	if (job->cancelled)
		return;
	fsc_writer_count(t->w, FSC_CTR_POLL_SCANS, 1);
	fsc_writer_count(t->w, FSC_CTR_STATS, job->nentries + 1);
	if (e->reason == FSCD_POLL_MOUNT_CHECK && !job->err &&
	    poll_mount_checked(t, e, job->fs_type))
		return;
	if (job->err) {
		poll_dir_failed(t, e, job->err, job->started_ns);
		return;
	}
	if (e->stalled)
		fscd_log(FSCD_LOG_INFO, "polled directory %s answers again", e->path);
	e->stalled = false;
	e->dev = job->st.st_dev;
	poll_apply_listing(t, e, job);
}

void fscd_tree_poll_results(struct fscd_tree *t)
{
	struct fscd_scan_job *job;
	while (t->polling.workers && (job = fscd_workers_take(t->polling.workers)) != NULL) {
		poll_apply(t, job);
		fscd_scan_job_free(job);
	}
}

struct poll_tick {
	struct fscd_tree *t;
	uint64_t now;
	dev_t stalled_devs[FSCD_POLL_STALLED_DEVS_MAX];
	size_t nstalled;
};

/* Notices listings that hang, and the filesystems they hang on. */
static void poll_check_stall(void *ctx, struct fscd_polled *e)
{
	struct poll_tick *k = ctx;
	uint64_t limit = 2 * k->t->polling.interval_ns;
	if (limit < FSCD_POLL_STALL_NS)
		limit = FSCD_POLL_STALL_NS;
	if (!e->in_flight || k->now - e->submitted_ns < limit)
		return;
	if (k->nstalled < FSCD_POLL_STALLED_DEVS_MAX)
		k->stalled_devs[k->nstalled++] = e->dev;
	if (e->stalled)
		return;
	e->stalled = true;
	fsc_writer_count(k->t->w, FSC_CTR_POLL_STALLS, 1);
	fscd_log(FSCD_LOG_WARN,
		 "listing %s has not returned for %" PRIu64 " s (network filesystem not "
		 "responding?); its records are marked stale",
		 e->path, (uint64_t)((k->now - e->submitted_ns) / 1000000000ull));
	poll_mark_stale(k->t, e);
}

/* Submits the listings that are due, except on a filesystem where one already hangs: the
 * workers would all end up stuck there, and other polled filesystems would starve. */
static void poll_submit_due(void *ctx, struct fscd_polled *e)
{
	struct poll_tick *k = ctx;
	if (e->in_flight || k->now < e->due_ns)
		return;
	for (size_t i = 0; e->dev && i < k->nstalled; i++)
		if (k->stalled_devs[i] == e->dev)
			return;
	struct fscd_scan_job *job = fscd_scan_job_new(e->id, e->path);
	if (!job)
		return;
	e->in_flight = true;
	e->submitted_ns = k->now;
	fscd_workers_submit(k->t->polling.workers, job);
}

static void poll_count_unlisted(void *ctx, struct fscd_polled *e)
{
	if (e->in_flight || e->due_ns == 0) /* due_ns is 0 until a first listing is applied */
		++*(size_t *)ctx;
}

void fscd_tree_poll_settle(struct fscd_tree *t, unsigned timeout_ms)
{
	uint64_t deadline = fsc_writer_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	while (t->polling.workers && t->polling.index.count) {
		struct poll_tick k = {.t = t, .now = fsc_writer_now_ns()};
		fscd_poll_foreach(&t->polling.index, poll_submit_due, &k);
		size_t unlisted = 0;
		fscd_poll_foreach(&t->polling.index, poll_count_unlisted, &unlisted);
		if (!unlisted || k.now >= deadline)
			return;
		struct pollfd pfd = {.fd = fscd_workers_fd(t->polling.workers), .events = POLLIN};
		uint64_t left_ms = (deadline - k.now) / 1000000 + 1;
		poll(&pfd, 1, left_ms < 100 ? (int)left_ms : 100);
		fscd_tree_poll_results(t);
	}
}

void fscd_tree_poll_tick(struct fscd_tree *t)
{
	if (!t->polling.workers || t->polling.index.count == 0)
		return;
	struct poll_tick k = {.t = t, .now = fsc_writer_now_ns()};
	fscd_poll_foreach(&t->polling.index, poll_check_stall, &k);
	fscd_poll_foreach(&t->polling.index, poll_submit_due, &k);
}

/* Workers ask this (in an RCU read-side section) before listing a directory. */
static bool poll_job_wanted(void *ctx, const struct fscd_scan_job *job)
{
	struct fscd_tree *t = ctx;
	return fscd_poll_has(&t->polling.index, job->path, job->dir_id);
}

int fscd_tree_poll_start(struct fscd_tree *t, unsigned threads)
{
	int rc = fscd_workers_start(&t->polling.workers, threads, poll_job_wanted, t);
	if (rc)
		fscd_log(FSCD_LOG_ERROR, "cannot start the stat workers: %s", strerror(-rc));
	return rc;
}

int fscd_tree_poll_fd(const struct fscd_tree *t)
{
	return t->polling.workers ? fscd_workers_fd(t->polling.workers) : -1;
}

bool fscd_tree_poll_stop(struct fscd_tree *t)
{
	bool all_stopped = fscd_workers_stop(t->polling.workers);
	t->polling.workers = NULL;
	return all_stopped;
}
