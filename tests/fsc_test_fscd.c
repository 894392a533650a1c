#define _GNU_SOURCE
#include "fsc_test_fscd.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc_harness.h"
#include "fsc_test_util.h"

#define MS(ms) ((uint64_t)(ms)*FSC_HARNESS_NS_PER_MS)

pid_t fsc_test_fscd_start(const char *const *argv, const char *errfile)
{
	struct fsc_harness_fscd d;
	assert_int_equal(fsc_harness_fscd_start(&d, NULL, NULL, argv, NULL, errfile, 0), 0);
	return d.pid;
}

int fsc_test_fscd_wait(pid_t pid, int timeout_ms)
{
	return fsc_harness_wait_exit(pid, MS(timeout_ms));
}

int fsc_test_fscd_stop(pid_t pid)
{
	struct fsc_harness_fscd d = {.pid = pid};
	return fsc_harness_fscd_stop(&d, MS(10000));
}

fsc_t *fsc_test_open_new_generation(const char *name, const char *probe, uint64_t not_gen,
				    int timeout_ms)
{
	struct fsc_harness_live w = {.name = name,
				     .probe = probe,
				     .not_generation = not_gen,
				     .timeout_ns = MS(timeout_ms),
				     .poll_ns = MS(10)};
	fsc_t *c = fsc_harness_open_live(&w);
	if (!c)
		fail_msg("no live table '%s' serving %s (generation other than %llx) within %d ms",
			 name, probe ? probe : "-", (unsigned long long)not_gen, timeout_ms);
	return c;
}

fsc_t *fsc_test_open_when_live(const char *name, int timeout_ms)
{
	return fsc_test_open_new_generation(name, NULL, 0, timeout_ms);
}

bool fsc_test_agrees(fsc_t *c, const char *path, enum fsc_test_expect e, char *why, size_t n)
{
	struct stat real, cached;
	struct fsc_info info;
	int r = fsc_lookup(c, path, &cached, &info);
	if (e == FSC_EXPECT_MISS) {
		snprintf(why, n, "%s: expected miss, got %s", path, fsc_result_name(r));
		return r == FSC_MISS;
	}
	if (e == FSC_EXPECT_NEGATIVE) {
		bool gone = lstat(path, &real) < 0 && errno == ENOENT;
		snprintf(why, n, "%s: expected negative, got %s (file %s)", path,
			 fsc_result_name(r), gone ? "absent" : "present");
		return gone && r == FSC_NEGATIVE;
	}
	if (lstat(path, &real) < 0) {
		snprintf(why, n, "%s: lstat failed: %s", path, strerror(errno));
		return false;
	}
	if (r != FSC_HIT) {
		snprintf(why, n, "%s: expected hit, got %s", path, fsc_result_name(r));
		return false;
	}
	const char *field;
	if (!fsc_test_stat_equal(&cached, &real, &field)) {
		snprintf(why, n, "%s: cached %s differs from lstat()", path, field);
		return false;
	}
	return true;
}

void fsc_test_wait_agree(fsc_t *c, const char *const *paths, enum fsc_test_expect e, int timeout_ms)
{
	uint64_t end = fsc_test_now_ms() + (uint64_t)timeout_ms;
	char why[512];
	for (;;) {
		bool all = true;
		for (size_t i = 0; paths[i] && all; i++)
			all = fsc_test_agrees(c, paths[i], e, why, sizeof(why));
		if (all)
			return;
		if (fsc_test_now_ms() > end)
			fail_msg("table did not converge within %d ms: %s", timeout_ms, why);
		fsc_harness_sleep_ns(MS(2));
	}
}

void fsc_test_write_file(const char *path, const char *data, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

const char *fsc_test_read_file(const char *path)
{
	static char buf[65536];
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return buf;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

uint64_t fsc_test_counter(const char *name, int counter)
{
	uint64_t ctr[FSC_CTR_COUNT];
	assert_true(counter >= 0 && counter < FSC_CTR_COUNT);
	assert_int_equal(fsc_harness_counters(name, ctr), 0);
	return ctr[counter];
}

const char *fsc_test_counters_describe(const char *name, char *buf, size_t n)
{
	uint64_t ctr[FSC_CTR_COUNT];
	snprintf(buf, n, "no table");
	if (fsc_harness_counters(name, ctr) != 0)
		return buf;
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < FSC_CTR_COUNT && used < n; i++)
		if (ctr[i])
			used += (size_t)snprintf(buf + used, n - used, " %s=%llu",
						 fsc_shm_counter_name((enum fsc_counter)i),
						 (unsigned long long)ctr[i]);
	return buf;
}

int fsc_test_fscd_run(const char *const *argv, const char **out, const char **err)
{
	static char outf[64], errf[64];
	snprintf(outf, sizeof(outf), "/tmp/fsc_run_%d.out", (int)getpid());
	snprintf(errf, sizeof(errf), "/tmp/fsc_run_%d.err", (int)getpid());
	struct fsc_harness_fscd d;
	assert_int_equal(fsc_harness_fscd_start(&d, NULL, NULL, argv, outf, errf, 0), 0);
	int status = fsc_harness_wait_exit(d.pid, MS(20000));
	assert_true(status != -1 && WIFEXITED(status));
	static char outbuf[65536], errbuf[65536];
	snprintf(outbuf, sizeof(outbuf), "%s", fsc_test_read_file(outf));
	snprintf(errbuf, sizeof(errbuf), "%s", fsc_test_read_file(errf));
	unlink(outf);
	unlink(errf);
	*out = outbuf;
	*err = errbuf;
	return WEXITSTATUS(status);
}

void fsc_test_daemon_prepare(struct fsc_test_daemon *d, const char *tag)
{
	memset(d, 0, sizeof(*d));
	fsc_test_name(d->name, sizeof(d->name), tag);
	d->root = fsc_test_tmpdir(tag);
	snprintf(d->errlog, sizeof(d->errlog), "%s.err", d->root);
}

void fsc_test_daemon_start(struct fsc_test_daemon *d, const char *probe, int timeout_ms)
{
	const char *argv[16] = {"fscd", "--name", d->name, "--watch", d->root};
	for (size_t i = 0; i < 8 && d->extra[i]; i++)
		argv[5 + i] = d->extra[i];
	d->fscd = fsc_test_fscd_start(argv, d->errlog);
	d->c = fsc_test_open_new_generation(d->name, probe, 0, timeout_ms);
}

void fsc_test_daemon_stop(struct fsc_test_daemon *d)
{
	fsc_close(d->c);
	d->c = NULL;
	int status = fsc_test_fscd_stop(d->fscd);
	fsc_test_rmtree(d->root);
	unlink(d->errlog);
	free(d->root);
	d->root = NULL;
	/* a crash of fscd is a failure: a clean stop exits 0 and removes its objects */
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fsc_test_shm_leftovers(d->name, true), 0);
}
