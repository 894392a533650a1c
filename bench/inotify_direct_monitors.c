/* The monitor processes of inotify_direct (see inotify_direct.c) and what the parent reads
 * about them: watches in /proc/PID/fdinfo, kernel objects in /sys/kernel/slab. */
#define _GNU_SOURCE
#include "inotify_direct.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDIR_DIR_MASK                                                                              \
	(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |          \
	 IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define IDIR_FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)

struct idir_shared {
	atomic_bool go, release;
	atomic_int ready;
	struct idir_report rep[IDIR_MONITORS_MAX];
};

uint64_t idir_cpu_now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * FSCD_BENCH_NS_PER_S + (uint64_t)ts.tv_nsec;
}

long long idir_read_number(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

long long idir_slab(const char *cache, const char *field)
{
	char path[256];
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/%s", cache, field);
	return idir_read_number(path);
}

uint64_t idir_count_watches(pid_t pid)
{
	char path[128], target[64], *line = NULL;
	size_t cap = 0;
	uint64_t n = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%.20s", (int)pid, e->d_name);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len < 0 || (target[len] = '\0', strcmp(target, "anon_inode:inotify") != 0))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%.20s", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		while (f && getline(&line, &cap, f) > 0)
			n += strncmp(line, "inotify wd:", 11) == 0;
		if (f)
			fclose(f);
	}
	closedir(d);
	free(line);
	return n;
}

static void idir_watch(struct idir_walk *w, const char *path, uint32_t mask)
{
	if (w->fd < 0) /* a walk without watches */
		return;
	if (inotify_add_watch(w->fd, path, mask) >= 0) {
		w->rep->watches++;
	} else {
		if (!w->rep->watch_failures++)
			w->rep->watch_errno = errno;
	}
}

static void idir_add_file(struct idir_walk *w, const char *path)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 1024;
		w->paths = realloc(w->paths, w->cap * sizeof(*w->paths));
	}
	if (!w->paths || !(w->paths[w->n++] = strdup(path)))
		fscd_bench_die("out of memory");
	if (w->file_watches)
		idir_watch(w, path, IDIR_FILE_MASK);
}

void idir_walk_dir(struct idir_walk *w, const char *dir)
{
	if (!w->file_watches)
		idir_watch(w, dir, IDIR_DIR_MASK);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unsigned char type = e->d_type;
		struct stat st;
		if (type == DT_UNKNOWN && lstat(path, &st) == 0)
			type = S_ISDIR(st.st_mode)   ? DT_DIR
			       : S_ISREG(st.st_mode) ? DT_REG
						     : DT_UNKNOWN;
		if (type == DT_DIR)
			idir_walk_dir(w, path);
		else if (type == DT_REG)
			idir_add_file(w, path);
	}
	closedir(d);
}

/* A monitor process: waits for the start, sets up, reports, holds its watches until told. */
static void idir_monitor_run(const char *root, bool file_watches, struct idir_shared *sh, int idx)
{
	struct idir_report *rep = &sh->rep[idx];
	while (!atomic_load(&sh->go))
		fsc_harness_sleep_ns(50000);
	uint64_t cpu0 = idir_cpu_now_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = fsc_harness_now_ns();
	struct idir_walk w = {.file_watches = file_watches, .rep = rep};
	w.fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w.fd < 0)
		_exit(3);
	idir_walk_dir(&w, root);
	uint64_t t1 = fsc_harness_now_ns();
	off_t *size = calloc(w.n ? w.n : 1, sizeof(*size));
	for (size_t i = 0; i < w.n; i++) {
		struct stat st;
		if (size && stat(w.paths[i], &st) == 0)
			size[i] = st.st_size;
	}
	uint64_t t2 = fsc_harness_now_ns();
	rep->walk_ns = t1 - t0;
	rep->stat_ns = t2 - t1;
	rep->cpu_ns = idir_cpu_now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	rep->files = w.n;
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->release))
		fsc_harness_sleep_ns(FSCD_BENCH_NS_PER_MS);
	_exit(0);
}

static pid_t idir_spawn(const char *root, bool file_watches, struct idir_shared *sh, int idx)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		idir_monitor_run(root, file_watches, sh, idx);
	}
	return pid;
}

uint64_t idir_median(const uint64_t *v, size_t n)
{
	uint64_t sorted[IDIR_MONITORS_MAX > IDIR_ROUNDS_MAX ? IDIR_MONITORS_MAX : IDIR_ROUNDS_MAX];
	struct fscd_bench_pct p;
	memcpy(sorted, v, n * sizeof(*v));
	fscd_bench_percentiles(sorted, n, &p);
	return p.p50;
}

long long idir_slab_bytes(const char *cache)
{
	long long objects = idir_slab(cache, "objects"), size = idir_slab(cache, "object_size");
	return objects < 0 || size < 0 ? -1 : objects * size;
}

uint64_t idir_growth(long long before, long long after)
{
	return before < 0 || after < before ? 0 : (uint64_t)(after - before);
}

/* Times of the monitors' reports into x (medians over monitors, sums, maxima). */
static void idir_summarise(const struct idir_shared *sh, int k, struct idir_round *x)
{
	uint64_t setup[IDIR_MONITORS_MAX], walk[IDIR_MONITORS_MAX], stat_t[IDIR_MONITORS_MAX],
	    cpu[IDIR_MONITORS_MAX];
	for (int i = 0; i < k; i++) {
		const struct idir_report *rep = &sh->rep[i];
		setup[i] = rep->walk_ns + rep->stat_ns;
		walk[i] = rep->walk_ns;
		stat_t[i] = rep->stat_ns;
		cpu[i] = rep->cpu_ns;
		x->setup_max_ns = setup[i] > x->setup_max_ns ? setup[i] : x->setup_max_ns;
		x->cpu_sum_ns += rep->cpu_ns;
		x->watches += rep->watches;
		x->failures += rep->watch_failures;
		if (rep->watch_failures && !x->watch_errno)
			x->watch_errno = rep->watch_errno;
	}
	x->setup_ns = idir_median(setup, (size_t)k);
	x->walk_ns = idir_median(walk, (size_t)k);
	x->stat_ns = idir_median(stat_t, (size_t)k);
	x->cpu_ns = idir_median(cpu, (size_t)k);
}

void idir_round(const char *root, bool file_watches, int k, struct idir_round *x)
{
	memset(x, 0, sizeof(*x));
	fsc_harness_sleep_ns(IDIR_SETTLE_NS);
	long long mark0 = idir_slab_bytes(IDIR_MARK_CACHE);
	long long conn0 = idir_slab_bytes(IDIR_CONNECTOR_CACHE);
	struct idir_shared *sh =
	    mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fscd_bench_die("mmap: %s", strerror(errno));
	pid_t pids[IDIR_MONITORS_MAX];
	for (int i = 0; i < k; i++)
		if ((pids[i] = idir_spawn(root, file_watches, sh, i)) < 0)
			fscd_bench_die("fork: %s", strerror(errno));
	uint64_t t0 = fsc_harness_now_ns();
	atomic_store(&sh->go, true);
	while (atomic_load(&sh->ready) < k) {
		if (fsc_harness_now_ns() - t0 > IDIR_TIMEOUT_NS)
			fscd_bench_die("monitors not set up after 120 s");
		fsc_harness_sleep_ns(100000);
	}
	x->all_ready_ns = fsc_harness_now_ns() - t0;
	x->mark_bytes = idir_growth(mark0, idir_slab_bytes(IDIR_MARK_CACHE));
	x->connector_bytes = idir_growth(conn0, idir_slab_bytes(IDIR_CONNECTOR_CACHE));
	for (int i = 0; i < k; i++)
		x->watches_fdinfo += idir_count_watches(pids[i]);
	atomic_store(&sh->release, true);
	for (int i = 0; i < k; i++) {
		int status;
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			fscd_bench_die("monitor %d failed (status %d)", i, status);
	}
	idir_summarise(sh, k, x);
	munmap(sh, sizeof(*sh));
}
