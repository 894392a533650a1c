#define _GNU_SOURCE
#include "fscd_bench_util.h"
#include "fsc_shm_journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsc_shm_table.h"

#ifndef FSCD_PATH
#define FSCD_PATH "fscd"
#endif

static const char *fscd_bench_tool = "bench";

uint64_t fscd_bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * FSCD_BENCH_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void fscd_bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / FSCD_BENCH_NS_PER_S),
			      .tv_nsec = (long)(ns % FSCD_BENCH_NS_PER_S)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void fscd_bench_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fscd_%s: ", fscd_bench_tool);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

void fscd_bench_common_init(struct fscd_bench_common *c, const char *tool)
{
	fscd_bench_tool = tool;
	snprintf(c->name_buf, sizeof(c->name_buf), "fscb-%s-%d", tool, (int)getpid());
	c->fscd = FSCD_PATH;
	c->dir = "/tmp";
	c->name = c->name_buf;
}

bool fscd_bench_common_opt(struct fscd_bench_common *c, int opt, const char *arg)
{
	switch (opt) {
	case 'f':
		c->fscd = arg;
		return true;
	case 'd':
		c->dir = arg;
		return true;
	case 'n':
		c->name = arg;
		return true;
	default:
		return false;
	}
}

static void fscd_bench_exec_child(const char *fscd, const char *const *argv, const char *log)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	execv(fscd, (char *const *)argv);
	_exit(127);
}

int fscd_bench_daemon_start(struct fscd_bench_daemon *d, const char *fscd, const char *name,
			    const char *root, uint64_t capacity, const char *log)
{
	char cap[32];
	snprintf(cap, sizeof(cap), "%llu", (unsigned long long)capacity);
	const char *argv[] = {"fscd",	    "--name", name,	     "--watch", root,
			      "--capacity", cap,      "--log-level", "warn",	NULL};
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->log, sizeof(d->log), "%s", log ? log : "/dev/null");
	pid_t parent = getpid();
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (d->pid == 0) {
		if (getppid() != parent) /* died before PDEATHSIG was set */
			_exit(1);
		fscd_bench_exec_child(fscd, argv, log);
	}
	return 0;
}

/* The table and its change journal: what a SIGKILLed fscd leaves behind. */
static void fscd_bench_unlink_table(const char *name)
{
	char oname[FSC_SHM_OBJECT_NAME_MAX + 16];
	if (fsc_shm_object_name(oname, sizeof(oname), name) == 0)
		shm_unlink(oname);
	if (fsc_shm_journal_name(oname, sizeof(oname), name) == 0)
		shm_unlink(oname);
}

int fscd_bench_daemon_stop(struct fscd_bench_daemon *d)
{
	int status = -1;
	if (d->pid <= 0)
		return status;
	kill(d->pid, SIGCONT); /* in case a driver left it stopped */
	kill(d->pid, SIGTERM);
	uint64_t end = fscd_bench_now_ns() + 10 * FSCD_BENCH_NS_PER_S;
	while (waitpid(d->pid, &status, WNOHANG) == 0) {
		if (fscd_bench_now_ns() > end) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			break;
		}
		fscd_bench_sleep_ns(FSCD_BENCH_NS_PER_MS);
	}
	d->pid = 0;
	fscd_bench_unlink_table(d->name); /* a clean exit unlinks it already */
	return status;
}

fsc_t *fscd_bench_wait_live(const struct fscd_bench_daemon *d, uint64_t timeout_ns)
{
	uint64_t end = fscd_bench_now_ns() + timeout_ns;
	do {
		fsc_t *c = fsc_open(d->name);
		if (c)
			return c;
		int status;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			return NULL;
		fscd_bench_sleep_ns(200000);
	} while (fscd_bench_now_ns() < end);
	return NULL;
}

int fscd_bench_counters(const char *name, uint64_t out[FSC_CTR_COUNT])
{
	char oname[FSC_SHM_OBJECT_NAME_MAX];
	if (fsc_shm_object_name(oname, sizeof(oname), name) != 0)
		return -1;
	int fd = shm_open(oname, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	const struct fsc_shm_header *h = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (h == MAP_FAILED)
		return -1;
	for (int i = 0; i < FSC_CTR_COUNT; i++)
		out[i] = atomic_load_explicit(&h->counters[i], memory_order_relaxed);
	munmap((void *)h, sizeof(*h));
	return 0;
}

static int fscd_bench_read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Run time of every thread of pid (their /proc/PID/task/TID/schedstat), 0 if unknown. A
 * thread that exited between two reads drops out of the sum: fscd's threads live as long as
 * it does. */
static uint64_t fscd_bench_sched_ns(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return 0;
	uint64_t sum = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		unsigned long long run;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
		if (fscd_bench_read_small(path, buf, sizeof(buf)) == 0 &&
		    sscanf(buf, "%llu", &run) == 1)
			sum += run;
	}
	closedir(dir);
	return sum;
}

int fscd_bench_cpu_read(pid_t pid, struct fscd_bench_cpu *out)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (fscd_bench_read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	unsigned long long utime, stime;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return -1;
	long tck = sysconf(_SC_CLK_TCK);
	out->stat_ns = (utime + stime) * (FSCD_BENCH_NS_PER_S / (uint64_t)(tck > 0 ? tck : 100));
	out->sched_ns = fscd_bench_sched_ns(pid);
	return 0;
}

static int fscd_bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t fscd_bench_rank(const uint64_t *sorted, size_t n, double p)
{
	size_t k = (size_t)(p * (double)n + 0.999999); /* nearest rank, 1-based */
	if (k < 1)
		k = 1;
	return sorted[(k > n ? n : k) - 1];
}

void fscd_bench_percentiles(uint64_t *v, size_t n, struct fscd_bench_pct *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), fscd_bench_cmp_u64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	out->mean = sum / (double)n;
	out->min = v[0];
	out->p50 = fscd_bench_rank(v, n, 0.50);
	out->p90 = fscd_bench_rank(v, n, 0.90);
	out->p99 = fscd_bench_rank(v, n, 0.99);
	out->max = v[n - 1];
}

void fscd_bench_json_pct_us(FILE *f, const char *key, const struct fscd_bench_pct *p)
{
	fprintf(f,
		"\"%s\":{\"n\":%zu,\"min_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,"
		"\"p99_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f}",
		key, p->n, (double)p->min / 1e3, (double)p->p50 / 1e3, (double)p->p90 / 1e3,
		(double)p->p99 / 1e3, (double)p->max / 1e3, p->mean / 1e3);
}

char *fscd_bench_mkdtemp(const char *parent, const char *tag)
{
	char *path;
	if (asprintf(&path, "%s/fscd_%s_XXXXXX", parent, tag) < 0)
		fscd_bench_die("out of memory");
	if (!mkdtemp(path))
		fscd_bench_die("mkdtemp %s: %s", path, strerror(errno));
	return path;
}

void fscd_bench_file_path(char *buf, size_t size, const char *root, int dir, int file)
{
	snprintf(buf, size, "%s/d-%03d/f-%04d", root, dir, file);
}

int fscd_bench_make_tree(const char *root, int dirs, int files)
{
	char path[4096], name[32];
	for (int d = 0; d < dirs; d++) {
		snprintf(path, sizeof(path), "%s/d-%03d", root, d);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -1;
		for (int i = 0; i < files; i++) { /* one syscall per file; existing ones are kept */
			snprintf(name, sizeof(name), "f-%04d", i);
			if (mknodat(dfd, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST) {
				close(dfd);
				return -1;
			}
		}
		close(dfd);
	}
	return 0;
}

static int fscd_bench_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void fscd_bench_rmtree(const char *root)
{
	nftw(root, fscd_bench_rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static void *fscd_bench_storm_run(void *arg)
{
	struct fscd_bench_storm *s = arg;
	const uint64_t backlog_max = (uint64_t)(s->rate / 100.0) + 1; /* 10 ms of writes */
	uint64_t start = fscd_bench_now_ns(), sched = 0;
	unsigned next = 0;
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t due = (uint64_t)((double)(fscd_bench_now_ns() - start) * s->rate / 1e9);
		if (due > sched + backlog_max)
			sched = due - backlog_max;
		for (; sched < due; sched++) {
			if (write(s->fds[next], "x", 1) == 1)
				atomic_fetch_add_explicit(&s->writes, 1, memory_order_relaxed);
			else
				atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
			next = next + 1 < (unsigned)s->nfds ? next + 1 : 0;
		}
		fscd_bench_sleep_ns(100000);
	}
	return NULL;
}

int fscd_bench_storm_start(struct fscd_bench_storm *s, const char *root, int dirs, int files,
			   double rate)
{
	memset(s, 0, sizeof(*s));
	s->rate = rate;
	s->fds = calloc((size_t)dirs * (size_t)files, sizeof(int));
	if (!s->fds)
		return -1;
	char path[4096];
	/* file-major order: consecutive writes go to different directories and names, so the
	 * kernel cannot merge them into one queued event */
	for (int i = 0; i < files; i++) {
		for (int d = 0; d < dirs; d++) {
			fscd_bench_file_path(path, sizeof(path), root, d, i);
			int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (fd < 0) {
				fscd_bench_storm_stop(s);
				return -1;
			}
			s->fds[s->nfds++] = fd;
		}
	}
	if (rate > 0) {
		if (pthread_create(&s->thread, NULL, fscd_bench_storm_run, s) != 0) {
			fscd_bench_storm_stop(s);
			return -1;
		}
		s->running = true;
	}
	return 0;
}

uint64_t fscd_bench_storm_writes(struct fscd_bench_storm *s)
{
	return atomic_load_explicit(&s->writes, memory_order_relaxed);
}

void fscd_bench_storm_stop(struct fscd_bench_storm *s)
{
	if (s->running) {
		atomic_store(&s->stop, true);
		pthread_join(s->thread, NULL);
		s->running = false;
	}
	for (int i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	free(s->fds);
	s->fds = NULL;
	s->nfds = 0;
}

void fscd_bench_json_machine(FILE *f)
{
	double load[3] = {0, 0, 0};
	struct utsname u;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	getloadavg(load, 3);
	fprintf(f, "\"machine\":{\"nproc\":%ld,\"loadavg_1m\":%.2f,\"kernel\":\"%s\"}",
		sysconf(_SC_NPROCESSORS_ONLN), load[0], u.release);
}

int fscd_bench_wait_entries(const char *name, uint64_t expected, uint64_t timeout_ns)
{
	uint64_t ctr[FSC_CTR_COUNT];
	uint64_t end = fscd_bench_now_ns() + timeout_ns;
	for (;;) {
		if (fscd_bench_counters(name, ctr) < 0)
			return -1;
		if (ctr[FSC_CTR_ENTRIES] >= expected)
			return 0;
		if (fscd_bench_now_ns() > end)
			return -1;
		fscd_bench_sleep_ns(200000);
	}
}

int fscd_bench_parse_int_list(const char *s, int *out, int max)
{
	int n = 0;
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || v < 1 || v > 1000000 || n == max || (*end && *end != ','))
			return -1;
		out[n++] = (int)v;
		s = *end ? end + 1 : end;
	}
	return n;
}
