/* fsc-test-fusefs BACKING_DIR MOUNTPOINT: a FUSE filesystem for the tests, mirroring
 * BACKING_DIR (read-only) at MOUNTPOINT, in the foreground, until SIGTERM or unmount.
 *
 * It gives the tests a real filesystem that inotify cannot see: changes made to BACKING_DIR
 * show through the mount at once (no attribute, entry or negative caching) but raise no
 * inotify event on it. And its stats can be made to hang: while BACKING_DIR/.hang exists,
 * every getattr (hence every lookup) and readdir of a path not named .hang blocks, polling
 * every 10 ms, until the file is removed or the filesystem is told to exit. Requests are
 * served on many threads, so hung ones pile up and all resume together. .hang itself is
 * left out of the listing of the top directory. */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define HANG_NAME ".hang"

static int backing_fd = -1;
/* Set by the init callback (a libfuse thread), read by the signal handler (main thread):
 * atomics, lock-free on every target, so both are safe in a handler and race-free. */
static _Atomic(struct fuse *) the_fuse; /* set once serving */
static atomic_int stop_signal;		/* a stop signal came */

/* The backing path of a path in the mount, relative to backing_fd ("/" is "."). */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static bool named_hang(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	return strcmp(name, HANG_NAME) == 0;
}

static bool exiting(void)
{
	struct fuse_context *ctx = fuse_get_context();
	return ctx && ctx->fuse && fuse_session_exited(fuse_get_session(ctx->fuse));
}

/* Blocks while BACKING_DIR/.hang exists, unless path is named .hang or we are exiting.
 * Returns -EINTR if the caller was interrupted meanwhile (the kernel tells us when a signal
 * reaches it: a fatal one, or one it handles), else 0. */
static int hang_point(const char *path)
{
	const struct timespec tick = {0, 10 * 1000 * 1000};
	struct stat st;

	if (named_hang(path))
		return 0;
	while (fstatat(backing_fd, HANG_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 && !exiting()) {
		if (fuse_interrupted())
			return -EINTR;
		nanosleep(&tick, NULL);
	}
	return 0;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	struct fuse *f = fuse_get_context()->fuse;
	atomic_store(&the_fuse, f);
	if (atomic_load(&stop_signal)) /* came before we could act on it */
		fuse_exit(f);
	cfg->attr_timeout = 0;
	cfg->entry_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 1;
	return NULL;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	int err = hang_point(path);
	if (err)
		return err;
	if (fstatat(backing_fd, rel(path), st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	ssize_t n = readlinkat(backing_fd, rel(path), buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	int err = hang_point(path);
	if (err)
		return err;
	int fd = openat(backing_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		err = errno;
		close(fd);
		return -err;
	}
	bool top = strcmp(rel(path), ".") == 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (top && strcmp(e->d_name, HANG_NAME) == 0)
			continue;
		struct stat st = {.st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
		if (fill(buf, e->d_name, &st, 0, 0) != 0)
			break;
	}
	closedir(d);
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	int fd = openat(backing_fd, rel(path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	ssize_t n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	return fstatvfs(backing_fd, sv) == 0 ? 0 : -errno;
}

static const struct fuse_operations ops = {
    .init = fs_init,
    .getattr = fs_getattr,
    .readlink = fs_readlink,
    .readdir = fs_readdir,
    .open = fs_open,
    .read = fs_read,
    .release = fs_release,
    .statfs = fs_statfs,
};

/* Our own handlers, installed before fuse_main (which then leaves them alone): like libfuse's
 * they end the session loop, but they do not make fuse_main return an error (libfuse 3.14
 * exits 8 on a signal), so a stopped filesystem exits 0. */
static void on_stop(int sig)
{
	atomic_store(&stop_signal, sig);
	struct fuse *f = atomic_load(&the_fuse);
	if (f)
		fuse_exit(f);
}

static void catch_stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: the main loop's wait must see EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s BACKING_DIR MOUNTPOINT\n", argv[0]);
		return 2;
	}
	backing_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (backing_fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(errno));
		return 1;
	}
	char *fargv[16];
	int fargc = 0;
	fargv[fargc++] = argv[0];
	fargv[fargc++] = "-f";
	fargv[fargc++] = "-o";
	fargv[fargc++] = "fsname=fsc-test-fusefs,subtype=fsctest,default_permissions";
	if (geteuid() == 0) { /* root may let every user in, for tests that drop privileges */
		fargv[fargc++] = "-o";
		fargv[fargc++] = "allow_other";
	}
#if FUSE_VERSION >= FUSE_MAKE_VERSION(3, 12)
	/* Hung requests each hold a thread: allow many (the default is 10). Setting the idle
	 * limit too keeps libfuse 3.14 from complaining about its own default. */
	fargv[fargc++] = "-o";
	fargv[fargc++] = "max_threads=256,max_idle_threads=16";
#endif
	fargv[fargc++] = argv[2];
	fargv[fargc] = NULL;
	catch_stop_signals();
	/* Serves on many threads until a stop signal or an unmount, then unmounts. */
	int rc = fuse_main(fargc, fargv, &ops, NULL);
	close(backing_fd);
	return rc;
}
