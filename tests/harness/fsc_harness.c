#define _GNU_SOURCE
#include "fsc_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsc_shm_journal.h"
#include "fsc_shm_map.h"
#include "fsc_shm_table.h"

#ifndef FSCD_PATH
#error "FSCD_PATH (the fscd binary of the build) must be defined"
#endif

#define FSC_HARNESS_QUEUE_FILE "/proc/sys/fs/inotify/max_queued_events"

const char fsc_harness_fscd_path[] = FSCD_PATH;

uint64_t fsc_harness_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * FSC_HARNESS_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void fsc_harness_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / FSC_HARNESS_NS_PER_S),
			      .tv_nsec = (long)(ns % FSC_HARNESS_NS_PER_S)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* In the child: fd to the file at path (nothing if path is NULL). */
static void fsc_harness_redirect(int fd, const char *path, unsigned flags)
{
	if (!path)
		return;
	int mode = (flags & FSC_HARNESS_LOG_APPEND) ? O_APPEND : O_TRUNC;
	int f = open(path, O_WRONLY | O_CREAT | mode, 0644);
	if (f >= 0) {
		dup2(f, fd);
		close(f);
	}
}

/* In the child: the death signal, the output, exec. */
static void fsc_harness_exec(const char *binary, const char *const *argv, const char *out,
			     const char *log, unsigned flags, pid_t parent)
{
	if (flags & FSC_HARNESS_PDEATHSIG) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent) /* died before PDEATHSIG was set */
			_exit(1);
	}
	fsc_harness_redirect(STDERR_FILENO, log, flags);
	if (out && log && strcmp(out, log) == 0) /* one file, one offset */
		dup2(STDERR_FILENO, STDOUT_FILENO);
	else
		fsc_harness_redirect(STDOUT_FILENO, out, flags);
	execv(binary, (char *const *)argv);
	_exit(127);
}

int fsc_harness_fscd_start(struct fsc_harness_fscd *d, const char *binary, const char *name,
			   const char *const *argv, const char *out, const char *log,
			   unsigned flags)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name ? name : "");
	if (flags & FSC_HARNESS_PDEATHSIG) {
		out = out ? out : "/dev/null";
		log = log ? log : "/dev/null";
	}
	snprintf(d->log, sizeof(d->log), "%s", log ? log : "/dev/null");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		fsc_harness_exec(binary ? binary : fsc_harness_fscd_path, argv, out, log, flags,
				 parent);
	d->pid = pid;
	return 0;
}

int fsc_harness_wait_exit(pid_t pid, uint64_t timeout_ns)
{
	uint64_t end = fsc_harness_now_ns() + timeout_ns;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (fsc_harness_now_ns() > end)
			return -1;
		fsc_harness_sleep_ns(FSC_HARNESS_NS_PER_MS);
	}
}

int fsc_harness_fscd_stop(struct fsc_harness_fscd *d, uint64_t timeout_ns)
{
	int status = -1;
	if (d->pid <= 0)
		return status;
	kill(d->pid, SIGCONT);
	kill(d->pid, SIGTERM);
	status = fsc_harness_wait_exit(d->pid, timeout_ns);
	if (status == -1) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &status, 0);
	}
	d->pid = 0;
	return status;
}

int fsc_harness_remove_leftovers(const char *name)
{
	char oname[FSC_SHM_OBJECT_NAME_MAX + 16];
	int n = 0;
	if (fsc_shm_object_name(oname, sizeof(oname), name) == 0)
		n += unlink(oname) == 0;
	if (fsc_shm_journal_name(oname, sizeof(oname), name) == 0)
		n += unlink(oname) == 0;
	return n;
}

/* Does c serve w->probe as a hit from a generation other than w->not_generation? */
static bool fsc_harness_serves(fsc_t *c, const struct fsc_harness_live *w)
{
	struct fsc_info info;
	if (!w->probe)
		return true;
	return fsc_lookup(c, w->probe, NULL, &info) == FSC_HIT &&
	       info.generation != w->not_generation;
}

fsc_t *fsc_harness_open_live(const struct fsc_harness_live *w)
{
	uint64_t end = fsc_harness_now_ns() + w->timeout_ns;
	do {
		fsc_t *c = fsc_open(w->name);
		if (c && fsc_harness_serves(c, w))
			return c;
		fsc_close(c);
		int status;
		if (w->pid > 0 && waitpid(w->pid, &status, WNOHANG) == w->pid)
			return NULL;
		fsc_harness_sleep_ns(w->poll_ns);
	} while (fsc_harness_now_ns() < end);
	return NULL;
}

int fsc_harness_counters(const char *name, uint64_t out[FSC_CTR_COUNT])
{
	struct fsc_shm_mapping m;
	struct fsc_shm_layout layout;
	const char *why;
	int rc = fsc_shm_map_table(name, NULL, &m, &layout, &why);
	if (rc < 0)
		return rc;
	const struct fsc_shm_header *h = m.base;
	for (int i = 0; i < FSC_CTR_COUNT; i++)
		out[i] = atomic_load_explicit(&h->counters[i], memory_order_relaxed);
	fsc_shm_unmap(&m);
	return 0;
}

int fsc_harness_wait_counter(const char *name, int counter, uint64_t at_least, uint64_t timeout_ns,
			     uint64_t poll_ns)
{
	uint64_t ctr[FSC_CTR_COUNT];
	uint64_t end = fsc_harness_now_ns() + timeout_ns;
	for (;;) {
		if (fsc_harness_counters(name, ctr) < 0)
			return -1;
		if (ctr[counter] >= at_least)
			return 0;
		if (fsc_harness_now_ns() > end)
			return -1;
		fsc_harness_sleep_ns(poll_ns);
	}
}

long fsc_harness_inotify_queue_read(void)
{
	FILE *f = fopen(FSC_HARNESS_QUEUE_FILE, "r");
	long v = -1;
	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

bool fsc_harness_inotify_queue_write(long limit)
{
	FILE *f = fopen(FSC_HARNESS_QUEUE_FILE, "w");
	bool ok = f && fprintf(f, "%ld\n", limit) > 0;
	if (f)
		ok = fclose(f) == 0 && ok;
	return ok;
}
