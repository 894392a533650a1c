/* Trust at attach (shm/PROTOCOL.md "Trust"): a reader believes only tables and journals owned by
 * root, itself or a uid it was told to trust, that nobody else may write, with a heartbeat that
 * is not from the future; and opening never blocks on what another user put at the name. Each
 * case is an attack an unprivileged local user could make on a root reader; the tests that need
 * another uid skip unless run as root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_harness.h"
#include "fsc_shm_map.h"
#include "fsc_test_fscd.h"
#include "fsc_test_run.h"
#include "fsc_test_util.h"

#define NOBODY	      65534
#define OPEN_BOUND_NS (2 * 1000000000ull) /* "never blocks": far above a normal open */

/* A table forged by another user: the records an attacker would like a root reader to believe
 * (PROTOCOL.md "Trust": /etc/shadow world-readable and empty, a setuid file that is not there). */
struct forger {
	pid_t pid;
	int release; /* closing it lets the forger exit (and its table go with it) */
};

static void forge_records(struct fsc_writer *w)
{
	struct stat st = {.st_mode = S_IFREG | 06777, .st_size = 31337, .st_nlink = 1};
	struct stat shadow = {.st_mode = S_IFREG | 0666, .st_size = 0, .st_nlink = 1};
	fsc_writer_put(w, "/etc/shadow", 11, &shadow, 0);
	fsc_writer_put(w, "/nonexistent-setuid", 19, &st, 0);
	fsc_writer_put_negative(w, "/etc/passwd", 11);
}

/* Forks a process that publishes a live table under name with forged records, owned by uid
 * NOBODY, says so on a pipe, and keeps it live (as NOBODY) until released. With own_dir, the
 * forger makes the table's directory itself (uid NOBODY's own, in /dev/shm) and publishes
 * there as NOBODY: the reader must refuse the directory. Without, the table is made in the
 * test's own object directory, where only root may create anything, and then handed to
 * NOBODY (as a table left by an fscd that ran as that user would be): the reader must refuse
 * the table's owner. */
static struct forger forge_as_nobody(const char *name, const char *own_dir)
{
	int ready[2], release[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(release), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(release[1]);
		bool drop_first = own_dir != NULL;
		if (drop_first && (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) ||
				   mkdir(own_dir, 0755) < 0))
			_exit(2);
		struct fsc_writer_opts o = {.name = name, .capacity = 64, .group = (gid_t)-1};
		struct fsc_writer *w;
		const char *why;
		if (fsc_writer_open(&w, &o, &why))
			_exit(3);
		char oname[FSC_SHM_OBJECT_NAME_MAX];
		if (!drop_first && (fsc_shm_object_name(oname, sizeof(oname), name) ||
				    chown(oname, NOBODY, NOBODY) || setgroups(0, NULL) ||
				    setgid(NOBODY) || setuid(NOBODY)))
			_exit(5);
		forge_records(w);
		fsc_writer_heartbeat(w);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		char c;
		while (read(release[0], &c, 1) > 0) /* until the parent closes its end */
			;
		fsc_writer_close(w);
		if (own_dir)
			rmdir(own_dir);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return (struct forger){.pid = pid, .release = release[1]};
}

static void forger_release(struct forger *f)
{
	close(f->release);
	int st;
	assert_int_equal(waitpid(f->pid, &st, 0), f->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Runs fsc-shmdump --name name (a tool that blocks fails the test after 30 s); returns its
 * exit status and its stderr in err (a static buffer). */
static int shmdump(const char *name, const char **err)
{
	static char buf[4096];
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", name, (char *)NULL);
	snprintf(buf, sizeof(buf), "%s", r.err);
	fsc_test_run_free(&r);
	*err = buf;
	return r.status;
}

static void skip_unless_root(void)
{
	if (geteuid() != 0)
		skip(); /* only root can be the victim and make another user's objects */
}

/* A live table another user published in a directory of its own is refused by a root reader
 * (told to read there): no forged answer. Trusting that user is what makes it readable. */
static void test_foreign_table_refused(void **state)
{
	(void)state;
	skip_unless_root();
	char base[64], dir[64], name[160];
	fsc_test_name(base, sizeof(base), "forged");
	snprintf(dir, sizeof(dir), "/dev/shm/fsc-forge.%d", (int)getpid());
	snprintf(name, sizeof(name), "%s/%s", dir, base);
	unsetenv(FSC_TRUST_ENV);
	struct forger f = forge_as_nobody(name, dir);
	errno = 0;
	assert_null(fsc_open(name));
	assert_int_equal(errno, EPERM);
	/* fsc_stat with no handle is stat(2): the truth about /etc/shadow, not the forgery */
	struct stat st;
	assert_int_equal(fsc_stat(NULL, "/etc/passwd", &st), 0);
	const char *err;
	assert_int_not_equal(shmdump(name, &err), 0);
	assert_non_null(strstr(err, "does not trust"));
	/* the same table with its owner trusted: it was refused for its owner alone */
	assert_int_equal(setenv(FSC_TRUST_ENV, "65534", 1), 0);
	fsc_t *c = fsc_open(name);
	assert_non_null(c);
	assert_int_equal(fsc_lookup(c, "/etc/shadow", &st, NULL), FSC_HIT);
	assert_int_equal(st.st_size, 0);
	fsc_close(c);
	/* a broken variable is an error, never "trust everyone" */
	assert_int_equal(setenv(FSC_TRUST_ENV, "65534,", 1), 0);
	errno = 0;
	assert_null(fsc_open(name));
	assert_int_equal(errno, EINVAL);
	unsetenv(FSC_TRUST_ENV);
	forger_release(&f);
}

/* A root reader whose own fscd went away never re-attaches to what another user publishes at
 * the name next: lookups say UNAVAILABLE and fsc_stat asks stat(2). */
static void test_foreign_successor_refused(void **state)
{
	(void)state;
	skip_unless_root();
	char name[64];
	fsc_test_name(name, sizeof(name), "succ");
	unsetenv(FSC_TRUST_ENV);
	struct fsc_writer *w = fsc_test_writer(name, 64);
	struct stat real, st;
	assert_int_equal(stat("/etc/passwd", &real), 0);
	assert_int_equal(fsc_writer_put(w, "/etc/passwd", 11, &real, 0), 0);
	fsc_t *c = fsc_open(name);
	assert_non_null(c);
	assert_int_equal(fsc_lookup(c, "/etc/passwd", &st, NULL), FSC_HIT);
	fsc_writer_close(w); /* the trusted writer stops and removes its name */
	struct forger f = forge_as_nobody(name, NULL);
	fsc_test_pause_ms(150); /* past the reader's 100 ms re-attach back-off */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fsc_lookup(c, "/etc/passwd", &st, NULL), FSC_UNAVAILABLE);
		/* the forgery says /etc/passwd is absent; fsc_stat says what stat(2) says */
		assert_int_equal(fsc_stat(c, "/etc/passwd", &st), 0);
		assert_int_equal(st.st_ino, real.st_ino);
		assert_int_equal(fsc_stat(c, "/nonexistent-setuid", &st), -1);
		assert_int_equal(errno, ENOENT);
		fsc_test_pause_ms(120);
	}
	fsc_close(c);
	forger_release(&f);
}

/* Maps name's table read-write (root owns it here) for the tests that tamper with it. */
static struct fsc_shm_header *map_rw(const char *name, int *fd_out, size_t *size)
{
	char oname[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_object_name(oname, sizeof(oname), name), 0);
	int fd = open(oname, O_RDWR, 0);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	*fd_out = fd;
	*size = (size_t)st.st_size;
	return p;
}

/* Its group could truncate a group-writable table under every reader (SIGBUS) or rewrite it:
 * refused, as a world-writable one is. */
static void test_group_writable_refused(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "gw");
	struct fsc_writer *w = fsc_test_writer(name, 64);
	size_t size;
	int fd;
	struct fsc_shm_header *h = map_rw(name, &fd, &size);
	fsc_t *ok = fsc_open(name);
	assert_non_null(ok); /* 0640: fine */
	fsc_close(ok);
	assert_int_equal(fchmod(fd, 0660), 0);
	errno = 0;
	assert_null(fsc_open(name));
	assert_int_equal(errno, EPROTO);
	const char *err;
	assert_int_not_equal(shmdump(name, &err), 0);
	assert_non_null(strstr(err, "group-writable"));
	munmap(h, size);
	close(fd);
	fsc_writer_close(w);
}

/* A heartbeat far in the future would keep a dead writer's table "live" for ever. */
static void test_heartbeat_from_future_refused(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "beat");
	struct fsc_writer *w = fsc_test_writer(name, 64);
	struct stat st;
	fsc_test_fake_stat(&st, 1, 1);
	assert_int_equal(fsc_writer_put(w, "/f/a", 4, &st, 0), 0);
	fsc_t *c = fsc_open(name);
	assert_non_null(c);
	assert_int_equal(fsc_lookup(c, "/f/a", &st, NULL), FSC_HIT);
	size_t size;
	int fd;
	struct fsc_shm_header *h = map_rw(name, &fd, &size);
	atomic_store(&h->heartbeat_ns, UINT64_MAX);
	assert_int_equal(fsc_lookup(c, "/f/a", &st, NULL), FSC_UNAVAILABLE);
	errno = 0;
	assert_null(fsc_open(name));
	assert_int_equal(errno, ESRCH);
	/* just ahead (a reader's coarse clock trails the writer's) is still fresh */
	atomic_store(&h->heartbeat_ns, fsc_writer_now_ns() + 20000000ull);
	assert_int_equal(fsc_lookup(c, "/f/a", &st, NULL), FSC_HIT);
	fsc_close(c);
	munmap(h, size);
	close(fd);
	fsc_writer_close(w);
}

/* fsc_open of name in a child, timed: returns the errno it failed with (0: it succeeded). */
static int open_in_child(const char *name, uint64_t *took_ns)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	uint64_t t0 = fsc_harness_now_ns();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fsc_t *c = fsc_open(name);
		int e = c ? 0 : errno;
		_exit(write(p[1], &e, sizeof(e)) == sizeof(e) ? 0 : 1);
	}
	close(p[1]);
	int st = fsc_harness_wait_exit(pid, OPEN_BOUND_NS * 5);
	*took_ns = fsc_harness_now_ns() - t0;
	if (st < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("fsc_open(%s) blocked for 10 s", name);
	}
	int e = -1;
	assert_int_equal(read(p[0], &e, sizeof(e)), (ssize_t)sizeof(e));
	close(p[0]);
	return e;
}

/* A FIFO at the table's name must not make fsc_open or fsc-shmdump wait for a writer that
 * never comes. (In an object directory only fscd's user may write, only that user could make
 * one; but a reader told to look elsewhere must not hang either.) */
static void test_fifo_squat_does_not_block(void **state)
{
	(void)state;
	char name[64], path[FSC_SHM_OBJECT_NAME_MAX];
	fsc_test_name(name, sizeof(name), "fifo");
	assert_int_equal(fsc_shm_object_name(path, sizeof(path), name), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(path, NOBODY, NOBODY), 0);
	uint64_t took;
	int e = open_in_child(name, &took);
	assert_true(e == EPERM || e == EPROTO);
	assert_true(took < OPEN_BOUND_NS);
	const char *err;
	assert_int_not_equal(shmdump(name, &err), 0);
	/* a directory there (which fscd could not rename over) is refused the same way */
	unlink(path);
	assert_int_equal(mkdir(path, 0755), 0);
	e = open_in_child(name, &took);
	assert_true(e == EPROTO || e == EISDIR || e == EPERM);
	rmdir(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_foreign_table_refused),
	    cmocka_unit_test(test_foreign_successor_refused),
	    cmocka_unit_test(test_group_writable_refused),
	    cmocka_unit_test(test_heartbeat_from_future_refused),
	    cmocka_unit_test(test_fifo_squat_does_not_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
