/* Squatting (README "Trust", PROTOCOL.md "Objects", "Trust" and "Requests"): another user
 * cannot take the names fscd publishes or builds under (they live in a directory only fscd's
 * user may write, which readers and fscd check), cannot get a reader to believe objects in a
 * directory of its own or one anyone may write, and cannot receive the paths root readers
 * miss on by binding the request socket's address first.
 * The squatter is a real process of uid 65534; the tests need root to become it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_format.h"
#include "fsc_shm_table.h"
#include "fsc_harness.h"
#include "fsc_test_run.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define NOBODY	65534
#define WAIT_MS 15000

/* Runs fn(arg) in a child process of uid/gid 65534; returns its exit status. */
static int as_nobody(int (*fn)(const void *), const void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(90);
		_exit(fn(arg));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* What a squatter tries at every name of table name: a file, a directory and a FIFO, at the
 * public names and at build names. 0 if every attempt failed with EACCES. */
static int squat_try(const void *arg)
{
	const char *name = arg;
	struct fsc_shm_addr a;
	if (fsc_shm_addr_parse(name, &a))
		return 10;
	const char *fmts[] = {"fsc.%s", "fsc-journal.%s", "fsc.%s.new.1.0", "fsc-journal.%s.new.1",
			      "fsc.%s.hints.1"};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char entry[FSC_NAME_MAX + 32], path[FSC_ADDR_MAX + 64];
		snprintf(entry, sizeof(entry), fmts[i], a.base);
		snprintf(path, sizeof(path), "%s/%s", a.dir, entry);
		errno = 0;
		if (open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644) >= 0 || errno != EACCES)
			return 11;
		if (mkdir(path, 0755) == 0 || errno != EACCES)
			return 12;
		if (mkfifo(path, 0644) == 0 || errno != EACCES)
			return 13;
	}
	return 0;
}

/* The public names (the table's, the journal's) and the build names, before fscd ever
 * started: in the object directory only fscd's user (here root) may create anything, so
 * another user cannot take them, and fscd then starts and serves at them. (With objects in
 * /dev/shm, a file or directory there first stopped fscd publishing for good.) */
static void test_names_cannot_be_taken_before_fscd(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* needs root to become another user */
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "squat");
	const char *probe = fsc_test_path(d.root, "probe");
	fsc_test_write_file(probe, "x", O_EXCL);
	assert_int_equal(as_nobody(squat_try, d.name), 0);
	fsc_test_daemon_start(&d, probe, WAIT_MS);
	fsc_test_assert_stat_is_stat(d.c, probe);
	fsc_test_daemon_stop(&d);
}

/* A directory of uid 65534's own, 0755: where a squatter could publish anything. */
static int make_own_dir(const void *arg)
{
	return mkdir(arg, 0755) == 0 ? 0 : 20;
}

/* A forged "table" in the squatter's directory: a copy of a real table's bytes, the
 * squatter's file (made by root here, who may read the 0640 table, then given away). */
static void forge_copy(const char *from, const char *to)
{
	char buf[1 << 16];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(in >= 0 && out >= 0);
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	assert_int_equal(fchown(out, NOBODY, NOBODY), 0);
	close(in);
	close(out);
}

/* Readers check the object directory before anything in it: a directory another user owns
 * (with a table there that is byte for byte a real one, but the squatter's file), one anyone
 * may write, and a symlink to a good one are all refused, at fsc_open and by fsc-shmdump
 * with the reason; fsc_stat then calls stat(2). fscd refuses to publish there, saying why. */
static void test_untrusted_object_directories_are_refused(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* needs root to become another user */
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "sqdir");
	const char *probe = fsc_test_path(d.root, "probe");
	fsc_test_write_file(probe, "x", O_EXCL);
	fsc_test_daemon_start(&d, probe, WAIT_MS);
	char real[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_object_name(real, sizeof(real), d.name), 0);
	struct fsc_shm_addr a;
	assert_int_equal(fsc_shm_addr_parse(d.name, &a), 0);

	char theirs[FSC_DIR_MAX], forged[FSC_SHM_OBJECT_NAME_MAX], addr[FSC_ADDR_MAX + 1];
	snprintf(theirs, sizeof(theirs), "/dev/shm/fsc-squat.%d", (int)getpid());
	assert_int_equal(as_nobody(make_own_dir, theirs), 0);
	snprintf(forged, sizeof(forged), "%s/fsc.%s", theirs, a.base);
	forge_copy(real, forged);
	snprintf(addr, sizeof(addr), "%s/%s", theirs, a.base);
	errno = 0;
	assert_null(fsc_open(addr));
	assert_int_equal(errno, EPERM);
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", addr, (char *)NULL);
	assert_int_not_equal(r.status, 0);
	assert_non_null(strstr(r.err, "does not trust"));
	fsc_test_run_free(&r);

	/* root's own directory, but writable by everyone (even sticky): refused too */
	char open_dir[FSC_DIR_MAX];
	snprintf(open_dir, sizeof(open_dir), "/dev/shm/fsc-open.%d", (int)getpid());
	assert_int_equal(mkdir(open_dir, 0755), 0);
	assert_int_equal(chmod(open_dir, 01777), 0);
	snprintf(addr, sizeof(addr), "%s/%s", open_dir, a.base);
	snprintf(forged, sizeof(forged), "%s/fsc.%s", open_dir, a.base);
	assert_int_equal(link(real, forged), 0); /* the real table, in the wrong place */
	errno = 0;
	assert_null(fsc_open(addr));
	assert_int_equal(errno, EPROTO);
	fsc_test_run_tool(&r, fsc_harness_fscd_path, "--name", addr, "--watch", d.root,
			  (char *)NULL);
	assert_int_not_equal(r.status, 0);
	assert_non_null(strstr(r.err, "writable by its group or others"));
	fsc_test_run_free(&r);
	assert_int_equal(unlink(forged), 0);

	/* a symlink to the good directory */
	char link_dir[FSC_DIR_MAX];
	snprintf(link_dir, sizeof(link_dir), "/dev/shm/fsc-link.%d", (int)getpid());
	assert_int_equal(symlink(a.dir, link_dir), 0);
	snprintf(addr, sizeof(addr), "%s/%s", link_dir, a.base);
	errno = 0;
	assert_null(fsc_open(addr));
	assert_true(errno == ENOTDIR || errno == ELOOP); /* O_NOFOLLOW | O_DIRECTORY */

	/* the refused reader still answers right: stat(2) */
	fsc_test_assert_stat_is_stat(NULL, probe);
	assert_int_equal(unlink(link_dir), 0);
	assert_int_equal(rmdir(open_dir), 0);
	char theirs_table[FSC_SHM_OBJECT_NAME_MAX];
	snprintf(theirs_table, sizeof(theirs_table), "%s/fsc.%s", theirs, a.base);
	assert_int_equal(unlink(theirs_table), 0);
	assert_int_equal(rmdir(theirs), 0);
	fsc_test_daemon_stop(&d);
}

/* The abstract address fscd bound before it was random. */
static void old_request_addr(const char *name, struct sockaddr_un *addr, socklen_t *len)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	int n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1,
			 FSC_SHM_PREFIX "%s.requests", name);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* Nothing waits on the squatter's socket. */
static void assert_squatter_got_nothing(int sock)
{
	char buf[4200]; /* FSC_REQUEST_MAX and more */
	errno = 0;
	ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
	if (n >= 0)
		fail_msg("the squatter received a reader's request: '%.*s'", (int)n, buf);
	assert_int_equal(errno, EAGAIN);
}

/* fsc_stat on a missed path: the request it sends is in fscd's socket (or the squatter's)
 * once sendto returns; waits for fscd to have handled it. */
static void miss_and_settle(struct fsc_test_daemon *d, int squatter, const char *path)
{
	uint64_t before = fsc_test_counter(d->name, FSC_CTR_REQUESTS);
	assert_int_equal(fsc_lookup(d->c, path, NULL, NULL), FSC_MISS);
	struct stat st;
	assert_int_equal(fsc_stat(d->c, path, &st), -1);
	assert_squatter_got_nothing(squatter);
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	while (fsc_test_counter(d->name, FSC_CTR_REQUESTS) < before + 1) {
		if (fsc_test_now_ms() > end)
			fail_msg("fscd did not get the request for %s", path);
		fsc_test_pause_ms(1);
	}
}

/* uid 65534 binds the request address of old before fscd starts: a root reader's misses do
 * not reach it, and fscd still caches a path on its second request. */
static void test_squatted_request_socket_gets_nothing(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* needs root to become another user */
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "squatreq");
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(sock >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the squatter binds the socket; the test keeps it to see what arrives */
		struct sockaddr_un addr;
		socklen_t len;
		old_request_addr(d.name, &addr, &len);
		if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(2);
		_exit(bind(sock, (struct sockaddr *)&addr, len) == 0 ? 0 : 3);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	d.extra[0] = "--request-window";
	d.extra[1] = "10000";
	fsc_test_daemon_start(&d, NULL, WAIT_MS);

	const char *later = fsc_test_path(d.root, "appears-later.log");
	miss_and_settle(&d, sock, later);
	assert_int_equal(fsc_lookup(d.c, later, NULL, NULL), FSC_MISS); /* remembered only */
	uint64_t admitted = fsc_test_counter(d.name, FSC_CTR_REQUESTS_ADMITTED);
	miss_and_settle(&d, sock, later);
	assert_int_equal(fsc_test_counter(d.name, FSC_CTR_REQUESTS_ADMITTED), admitted + 1);
	assert_int_equal(fsc_lookup(d.c, later, NULL, NULL), FSC_NEGATIVE);
	/* fscd's own bind never met the squatter: nothing to warn about */
	assert_null(strstr(fsc_test_read_file(d.errlog), "request socket"));
	close(sock);
	fsc_test_daemon_stop(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_cannot_be_taken_before_fscd),
	    cmocka_unit_test(test_untrusted_object_directories_are_refused),
	    cmocka_unit_test(test_squatted_request_socket_gets_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
