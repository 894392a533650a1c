/* A FUSE mount for the tests (tests/fsc_test_fusefs.c): a real filesystem that inotify cannot
 * see, mirroring a backing directory with no caching, whose stats can be made to hang.
 *
 *	struct fsc_test_fuse m;
 *	if (!fsc_test_fuse_mount(&m, backing, mountpoint))
 *		skip();
 *	... changes to backing show at mountpoint at once, with no inotify event there ...
 *	fsc_test_fuse_hang(&m, true);  // getattr/lookup/readdir through the mount now block
 *	fsc_test_fuse_hang(&m, false); // and all resume
 *	fsc_test_fuse_unmount(&m);
 *
 * A stat hung on the mount behaves as on a dead hard NFS mount: it waits until released,
 * unless its thread gets a signal (a fatal one, or one it handles), which makes it fail with
 * EINTR. Without FUSE (FSC_HAVE_FUSE not defined) mounting always fails, so tests skip. */
#ifndef FSC_TEST_FUSE_H
#define FSC_TEST_FUSE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

/* statfs() f_type of every FUSE mount. */
#define FSC_TEST_FUSE_MAGIC 0x65735546

struct fsc_test_fuse {
	pid_t pid; /* the filesystem's process; 0 when not mounted */
	char backing[PATH_MAX];
	char mountpoint[PATH_MAX];
};

#ifdef FSC_HAVE_FUSE
/* Mounts backing (a directory) at mountpoint (made if missing), removing a stale
 * backing/.hang first; waits up to 10 s for the mount. Returns false, saying why on stderr,
 * if it cannot be done here: no /dev/fuse, mounting not permitted, the filesystem failed. */
bool fsc_test_fuse_mount(struct fsc_test_fuse *m, const char *backing, const char *mountpoint);
/* Releases hung requests, detaches the mount, stops the filesystem and reaps it, in bounded
 * time. Does nothing if m is not mounted. */
void fsc_test_fuse_unmount(struct fsc_test_fuse *m);
/* on: creates backing/.hang, so requests through the mount block; off: removes it. */
void fsc_test_fuse_hang(struct fsc_test_fuse *m, bool on);
#else
static inline bool fsc_test_fuse_mount(struct fsc_test_fuse *m, const char *backing,
				       const char *mountpoint)
{
	(void)backing;
	(void)mountpoint;
	m->pid = 0;
	return false;
}
static inline void fsc_test_fuse_unmount(struct fsc_test_fuse *m)
{
	(void)m;
}
static inline void fsc_test_fuse_hang(struct fsc_test_fuse *m, bool on)
{
	(void)m;
	(void)on;
}
#endif

#endif
