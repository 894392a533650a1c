/* Squatting (README "Trust", PROTOCOL.md "Objects" and "Requests"): another user cannot stop
 * fscd by creating objects at the private names it builds tables and journals under, nor
 * receive the paths root readers miss on by binding the request socket's address first.
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
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_format.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"

#define NOBODY	   65534
#define WAIT_MS	   15000
#define NEXT_PIDS  50 /* pids squatted after the last one the kernel handed out */
#define SQUAT_MAX  (2 * NEXT_PIDS + 8)
#define SERIALS	   4 /* build serials squatted at fscd's own pid, for the reload */
#define ENTRY_SIZE 160

/* The entries a squatter made in /dev/shm, removed (as root) at the end. */
struct squats {
	char entry[SQUAT_MAX][ENTRY_SIZE];
	int n;
};

static void squat_add(struct squats *s, const char *fmt, const char *name, long pid, int serial)
{
	assert_true(s->n < SQUAT_MAX);
	snprintf(s->entry[s->n++], ENTRY_SIZE, fmt, name, pid, serial);
}

/* In a child of uid 65534: creates every entry of s[from..] as an empty object of its own.
 * The child exits 0 if it made them all. */
static void squat_make(const struct squats *s, int from)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(2);
		for (int i = from; i < s->n; i++) {
			char path[ENTRY_SIZE + 16];
			snprintf(path, sizeof(path), "%s/%s", FSC_SHM_DIR, s->entry[i]);
			int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0 && errno != EEXIST)
				_exit(3);
			if (fd >= 0)
				close(fd);
		}
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Every squatted entry is still there, still uid 65534's (fscd never removes another user's
 * object), and is removed now. */
static void squat_remove(const struct squats *s)
{
	for (int i = 0; i < s->n; i++) {
		char path[ENTRY_SIZE + 16];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", FSC_SHM_DIR, s->entry[i]);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_uid, NOBODY);
		assert_int_equal(unlink(path), 0);
	}
}

static long last_pid(void)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "r");
	assert_non_null(f);
	long pid = 0;
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	return pid;
}

static uint64_t generation_of(fsc_t *c, const char *path)
{
	struct fsc_info info;
	assert_int_equal(fsc_lookup(c, path, NULL, &info), FSC_HIT);
	return info.generation;
}

/* The names an fscd took its build objects under before they were random: the table's
 * "fsc.<name>.new.<pid>.<serial>" and the journal's "fsc-journal.<name>.new.<pid>", for the
 * next pids. fscd starts, serves, and reloads on SIGHUP (same pid: its own pid's names too). */
static void test_squatted_build_names_do_not_stop_fscd(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* needs root to become another user */
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "squat");
	const char *probe = fsc_test_path(d.root, "probe");
	fsc_test_write_file(probe, "x", O_EXCL);
	static struct squats s;
	s.n = 0;
	long last = last_pid();
	for (long p = last + 1; p <= last + NEXT_PIDS; p++) {
		squat_add(&s, FSC_SHM_PREFIX "%s.new.%ld.%d", d.name, p, 0);
		squat_add(&s, "fsc-journal.%s.new.%ld", d.name, p, 0);
	}
	squat_make(&s, 0);
	fsc_test_daemon_start(&d, probe, WAIT_MS);
	if (d.fscd <= last || d.fscd > last + NEXT_PIDS)
		print_message("fscd got pid %d, past the %d squatted after %ld: only the reload "
			      "below meets a squatted name\n",
			      (int)d.fscd, NEXT_PIDS, last);
	uint64_t gen = generation_of(d.c, probe);

	/* a reload restarts in place: the same pid, and (before) serials from 0 again */
	int first_reload = s.n;
	for (int serial = 0; serial < SERIALS; serial++)
		if (d.fscd <= last || d.fscd > last + NEXT_PIDS || serial > 0)
			squat_add(&s, FSC_SHM_PREFIX "%s.new.%ld.%d", d.name, d.fscd, serial);
	squat_make(&s, first_reload);
	assert_int_equal(kill(d.fscd, SIGHUP), 0);
	fsc_t *c = fsc_test_open_new_generation(d.name, probe, gen, WAIT_MS);
	assert_int_equal(fsc_test_fscd_wait(d.fscd, 0), -1); /* the same process, still running */
	fsc_test_assert_stat_is_stat(c, probe);
	fsc_close(c);
	assert_non_null(strstr(fsc_test_read_file(d.errlog), "restarting in place"));
	squat_remove(&s);
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
	    cmocka_unit_test(test_squatted_build_names_do_not_stop_fscd),
	    cmocka_unit_test(test_squatted_request_socket_gets_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
