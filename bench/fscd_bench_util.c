#define _GNU_SOURCE
#include "fscd_bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *fscd_bench_tool = "bench";

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

void fscd_bench_parse(struct fscd_bench_common *c, const char *prog, const char *tool,
		      const struct fscd_bench_opt *opts, int argc, char **argv)
{
	static struct fscd_bench_opt common[10];
	int n = 0;
	if (c->dirs > 0) {
		common[n++] = (struct fscd_bench_opt){
		    .name = "dirs", .arg = "D", .kind = FSCD_BENCH_INT, .dst = &c->dirs};
		common[n++] = (struct fscd_bench_opt){
		    .name = "files", .arg = "F", .kind = FSCD_BENCH_INT, .dst = &c->files};
	}
	if (c->rounds > 0)
		common[n++] = (struct fscd_bench_opt){
		    .name = "rounds", .arg = "N", .kind = FSCD_BENCH_INT, .dst = &c->rounds};
	if (c->nmonitors > 0)
		common[n++] = (struct fscd_bench_opt){.name = "monitors",
						      .arg = "1,4,16",
						      .kind = FSCD_BENCH_INTS,
						      .dst = c->monitors,
						      .max = FSCD_BENCH_K_MAX,
						      .count = &c->nmonitors};
	if (c->capacity > 0)
		common[n++] = (struct fscd_bench_opt){
		    .name = "capacity", .arg = "N", .kind = FSCD_BENCH_U64, .dst = &c->capacity};
	common[n++] = (struct fscd_bench_opt){
	    .name = "fscd", .arg = "PATH", .kind = FSCD_BENCH_STR, .dst = &c->fscd};
	common[n++] = (struct fscd_bench_opt){
	    .name = "dir", .arg = "PARENT", .kind = FSCD_BENCH_STR, .dst = &c->dir};
	common[n++] = (struct fscd_bench_opt){
	    .name = "name", .arg = "TABLE", .kind = FSCD_BENCH_STR, .dst = &c->name};
	common[n] = (struct fscd_bench_opt){.name = NULL};
	static const struct fscd_bench_opt *tables[3];
	tables[0] = opts;
	tables[1] = common;
	fscd_bench_tool = tool;
	snprintf(c->name_buf, sizeof(c->name_buf), "fscb-%s-%d", tool, (int)getpid());
	c->fscd = fsc_harness_fscd_path;
	c->dir = "/tmp";
	c->name = c->name_buf;
	fscd_bench_opts_parse(prog, tables, argc, argv);
}

int fscd_bench_daemon_start(struct fsc_harness_fscd *d, const char *fscd, const char *name,
			    const char *root, uint64_t capacity, const char *log)
{
	char cap[32];
	snprintf(cap, sizeof(cap), "%llu", (unsigned long long)capacity);
	const char *argv[] = {"fscd",	    "--name", name,	     "--watch", root,
			      "--capacity", cap,      "--log-level", "warn",	NULL};
	return fsc_harness_fscd_start(d, fscd, name, argv, log, log,
				      FSC_HARNESS_PDEATHSIG | FSC_HARNESS_LOG_APPEND);
}

fsc_t *fscd_bench_wait_live(const struct fsc_harness_fscd *d, uint64_t timeout_ns)
{
	struct fsc_harness_live w = {
	    .name = d->name, .pid = d->pid, .timeout_ns = timeout_ns, .poll_ns = 200000};
	return fsc_harness_open_live(&w);
}

fsc_t *fscd_bench_daemon_up(struct fsc_harness_fscd *d, const struct fscd_bench_common *c,
			    const char *root, uint64_t capacity, const char *log,
			    uint64_t timeout_ns)
{
	if (fscd_bench_daemon_start(d, c->fscd, c->name, root, capacity, log) < 0)
		fscd_bench_die("cannot start %s", c->fscd);
	fsc_t *r = fscd_bench_wait_live(d, timeout_ns);
	if (!r)
		fscd_bench_die("fscd did not publish table %s; see %s", c->name, d->log);
	return r;
}

int fscd_bench_daemon_stop(struct fsc_harness_fscd *d)
{
	if (d->pid <= 0)
		return -1;
	int status = fsc_harness_fscd_stop(d, 10 * FSCD_BENCH_NS_PER_S);
	fsc_harness_remove_leftovers(d->name); /* a clean exit unlinks them already */
	return status;
}

int fscd_bench_daemon_down(struct fsc_harness_fscd *d, bool fatal)
{
	int status = fscd_bench_daemon_stop(d);
	if (status == 0)
		unlink(d->log);
	else if (fatal)
		fscd_bench_die("fscd exited with status %d; see %s", status, d->log);
	else
		fprintf(stderr, "fscd exited with status %d; its log: %s\n", status, d->log);
	return status;
}

int fscd_bench_wait_entries(const char *name, uint64_t expected, uint64_t timeout_ns)
{
	return fsc_harness_wait_counter(name, FSC_CTR_ENTRIES, expected, timeout_ns, 200000);
}

void fscd_bench_snapshot(const struct fsc_harness_fscd *d, uint64_t ctr[FSC_CTR_COUNT],
			 struct fscd_bench_cpu *cpu)
{
	if (fsc_harness_counters(d->name, ctr) < 0 || fscd_bench_cpu_read(d->pid, cpu) < 0)
		fscd_bench_die("fscd (table %s) is gone; see %s", d->name, d->log);
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

char **fscd_bench_tree_paths(const char *root, int dirs, int files)
{
	int n = dirs * files;
	char **paths = calloc((size_t)n, sizeof(*paths));
	char path[4096];
	if (!paths)
		fscd_bench_die("out of memory");
	for (int i = 0; i < n; i++) {
		fscd_bench_file_path(path, sizeof(path), root, i / files, i % files);
		if (!(paths[i] = strdup(path)))
			fscd_bench_die("out of memory");
	}
	return paths;
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
	uint64_t start = fsc_harness_now_ns(), sched = 0;
	unsigned next = 0;
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t due = (uint64_t)((double)(fsc_harness_now_ns() - start) * s->rate / 1e9);
		if (due > sched + backlog_max)
			sched = due - backlog_max;
		for (; sched < due; sched++) {
			if (write(s->fds[next], "x", 1) == 1)
				atomic_fetch_add_explicit(&s->writes, 1, memory_order_relaxed);
			else
				atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
			next = next + 1 < (unsigned)s->nfds ? next + 1 : 0;
		}
		fsc_harness_sleep_ns(100000);
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
