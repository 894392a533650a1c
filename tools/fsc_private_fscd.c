/* The private fscd a tool starts when no running fscd serves its paths (fsc_private_fscd.h). */
#define _GNU_SOURCE
#include "fsc_private_fscd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsc_shm_dir.h"
#include "fsc_shm_table.h"

#define FSC_PRIVATE_FSCD_STOP_S 10

/* The private fscd as the signal handler sees it: set while one runs (fsc_private_fscd.h). */
static volatile sig_atomic_t fsc_private_fscd_running;

static uint64_t fsc_private_fscd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fsc_private_fscd_pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int fsc_private_fscd_code(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

/* SIGINT, SIGTERM and SIGHUP blocked (block) or as they were (old), around the moments the
 * handler's view of the private fscd changes. */
static void fsc_private_fscd_mask(bool block, sigset_t *old)
{
	if (!block) {
		sigprocmask(SIG_SETMASK, old, NULL);
		return;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, old);
}

/* The fscd binary (fsc_private_fscd.h), into buf; "fscd" means "look it up in PATH". */
static void fsc_private_fscd_find(const char *env_name, char *buf, size_t size)
{
	const char *env = getenv(env_name);
	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash = NULL;
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
	}
	if (slash) {
		*slash = '\0';
		static const char *const rel[] = {"fscd", "../writer/fscd/fscd", "../sbin/fscd"};
		for (size_t i = 0; i < sizeof(rel) / sizeof(*rel); i++) {
			snprintf(buf, size, "%s/%s", self, rel[i]);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, size, "fscd");
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void fsc_private_fscd_child(const char *bin, char *const *argv, int errfd, pid_t parent)
{
	setpgid(0, 0);
	/* it goes when the tool goes, however that happens; a parent gone before the prctl is
	 * seen by the check after it */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (strchr(bin, '/'))
		execv(bin, argv);
	else
		execvp(bin, argv);
	int err = errno;
	ssize_t w = write(errfd, &err, sizeof(err));
	(void)w;
	_exit(127);
}

/* fscd's command line for f and the roots; NULL when out of memory. */
static char **fsc_private_fscd_argv(const struct fsc_private_fscd *f, const char *const *roots,
				    size_t nroots, char *depth)
{
	char **argv = calloc(10 + 2 * nroots, sizeof(*argv));
	if (!argv)
		return NULL;
	size_t k = 0;
	argv[k++] = "fscd";
	argv[k++] = "--name";
	argv[k++] = (char *)f->name;
	argv[k++] = "--log-level";
	argv[k++] = f->verbose ? "info" : "warn";
	if (depth[0]) {
		argv[k++] = "--max-depth";
		argv[k++] = depth;
	}
	for (size_t i = 0; i < nroots; i++) {
		argv[k++] = "--watch";
		argv[k++] = (char *)roots[i];
	}
	return argv;
}

/* Forks and execs bin; the child's pid, or -1 with errno. *exec_err: exec's errno, or 0. */
static pid_t fsc_private_fscd_spawn(const char *bin, char **argv, int *exec_err)
{
	int pipefd[2];
	pid_t parent = getpid(), pid = -1;
	*exec_err = 0;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -1;
	sigset_t old;
	fsc_private_fscd_mask(true, &old);
	pid = fork();
	if (pid == 0)
		fsc_private_fscd_child(bin, argv, pipefd[1], parent);
	int err = errno;
	if (pid > 0)
		fsc_private_fscd_running = pid;
	fsc_private_fscd_mask(false, &old);
	close(pipefd[1]);
	ssize_t got = 0;
	while (pid > 0 && (got = read(pipefd[0], exec_err, sizeof(*exec_err))) < 0 &&
	       errno == EINTR)
		;
	close(pipefd[0]);
	if (got != (ssize_t)sizeof(*exec_err))
		*exec_err = 0;
	errno = err;
	return pid;
}

int fsc_private_fscd_start(struct fsc_private_fscd *f, const char *const *roots, size_t nroots,
			   int max_depth)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = fsc_private_fscd_now_ns() ^ ((uint64_t)getpid() << 32);
	snprintf(f->name, sizeof(f->name), "%s.%d.%016" PRIx64, f->tool, (int)getpid(), r);
	char bin[PATH_MAX + 32], depth[16] = "";
	fsc_private_fscd_find(f->env, bin, sizeof(bin));
	if (max_depth > 0)
		snprintf(depth, sizeof(depth), "%d", max_depth);
	char **argv = fsc_private_fscd_argv(f, roots, nroots, depth);
	if (!argv) {
		fprintf(stderr, "%s: out of memory starting fscd\n", f->tool);
		return -1;
	}
	int exec_err;
	pid_t pid = fsc_private_fscd_spawn(bin, argv, &exec_err);
	int err = errno;
	free(argv);
	if (pid < 0) {
		fprintf(stderr, "%s: cannot start fscd: %s\n", f->tool, strerror(err));
		return -1;
	}
	if (exec_err) {
		waitpid(pid, NULL, 0); /* it exits at once: 127 */
		fsc_private_fscd_running = 0;
		fprintf(stderr,
			"%s: no fscd serves the paths, and %s cannot run %s: %s (install fscd, "
			"or set %s to its path)\n",
			f->tool, f->tool, bin, strerror(exec_err), f->env);
		return -1;
	}
	f->pid = pid;
	if (f->verbose)
		fprintf(stderr, "%s: started a private fscd (%s, pid %d, table %s)\n", f->tool, bin,
			(int)pid, f->name);
	return 0;
}

int fsc_private_fscd_wait(struct fsc_private_fscd *f, long timeout_ms)
{
	uint64_t deadline = fsc_private_fscd_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	long pause_ms = 2;
	while (!(f->c = fsc_open(f->name))) {
		if (fsc_private_fscd_exited(f)) {
			fprintf(stderr,
				"%s: the private fscd exited (status %d) before serving; its "
				"messages above say why\n",
				f->tool, fsc_private_fscd_code(f->status));
			return -1;
		}
		if (fsc_private_fscd_now_ns() > deadline) {
			fsc_private_fscd_stop(f);
			errno = ETIMEDOUT;
			return -1;
		}
		fsc_private_fscd_pause_ms(pause_ms);
		if (pause_ms < 50)
			pause_ms *= 2;
	}
	return 0;
}

bool fsc_private_fscd_exited(struct fsc_private_fscd *f)
{
	int st;
	if (f->pid == 0 || f->reaped)
		return f->reaped;
	if (waitpid(f->pid, &st, WNOHANG) != f->pid)
		return false;
	return fsc_private_fscd_reaped(f, f->pid, st);
}

bool fsc_private_fscd_reaped(struct fsc_private_fscd *f, pid_t pid, int wstatus)
{
	if (f->pid == 0 || pid != f->pid || f->reaped)
		return false;
	f->reaped = true;
	f->status = wstatus;
	fsc_private_fscd_running = 0;
	return true;
}

/* SIGTERM to pid and its wait status, SIGKILL after FSC_PRIVATE_FSCD_STOP_S (*killed set):
 * async-signal-safe, for the handler too. -1 if it was reaped elsewhere. */
static int fsc_private_fscd_end(pid_t pid, bool *killed)
{
	int st;
	pid_t r;
	kill(pid, SIGTERM);
	uint64_t deadline = fsc_private_fscd_now_ns() + FSC_PRIVATE_FSCD_STOP_S * 1000000000ull;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && fsc_private_fscd_now_ns() < deadline)
		fsc_private_fscd_pause_ms(5);
	*killed = r == 0;
	if (r == 0) {
		kill(pid, SIGKILL);
		r = waitpid(pid, &st, 0);
	}
	return r == pid ? st : -1;
}

/* Removes what is left of table name's objects where fscd publishes them (a table, a journal,
 * hint segments, one being built); how many there were. */
static int fsc_private_fscd_sweep(const char *name)
{
	char addr[FSC_ADDR_MAX + 1];
	if (fsc_shm_addr_resolve_for(name, addr, sizeof(addr), FSC_SHM_WRITER) != 0)
		return 0;
	char *slash = strrchr(addr, '/');
	*slash = '\0';
	DIR *d = opendir(addr[0] ? addr : "/");
	const char *base = slash + 1;
	int count = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (fsc_shm_entry_of(e->d_name, base))
			count += unlinkat(dirfd(d), e->d_name, 0) == 0;
	if (d)
		closedir(d);
	return count;
}

int fsc_private_fscd_stop(struct fsc_private_fscd *f)
{
	if (f->pid == 0)
		return 0;
	if (!f->reaped) {
		sigset_t old;
		bool killed;
		fsc_private_fscd_mask(true, &old);
		int st = fsc_private_fscd_end(f->pid, &killed);
		fsc_private_fscd_running = 0;
		fsc_private_fscd_mask(false, &old);
		if (killed)
			fprintf(stderr,
				"%s: the private fscd (pid %d) did not stop within %d s; killed "
				"it\n",
				f->tool, (int)f->pid, FSC_PRIVATE_FSCD_STOP_S);
		f->reaped = true;
		/* ended by the SIGTERM sent: before fscd handled it, at its start */
		f->status = st == -1 || (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) ? 0 : st;
	}
	pid_t pid = f->pid;
	f->pid = 0;
	int left = fsc_private_fscd_sweep(f->name);
	if (left)
		fprintf(stderr, "%s: removed %d object%s the private fscd left (table %s)\n",
			f->tool, left, left == 1 ? "" : "s", f->name);
	if (WIFEXITED(f->status) && WEXITSTATUS(f->status) == 0)
		return 0;
	fprintf(stderr, "%s: the private fscd (pid %d) ended with status %d\n", f->tool, (int)pid,
		fsc_private_fscd_code(f->status));
	return -1;
}

static void fsc_private_fscd_on_signal(int sig)
{
	int saved = errno;
	pid_t pid = fsc_private_fscd_running;
	bool killed;
	if (pid > 0)
		fsc_private_fscd_end(pid, &killed);
	fsc_private_fscd_running = 0;
	signal(sig, SIG_DFL);
	raise(sig); /* delivered when the handler returns: the process ends by it */
	errno = saved;
}

int fsc_private_fscd_stop_on_signals(void)
{
	struct sigaction sa = {.sa_handler = fsc_private_fscd_on_signal};
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	return 0;
}

bool fsc_private_fscd_serves(fsc_t *c, const char *const *paths, size_t npaths, const char **missed,
			     const char **why)
{
	*missed = NULL;
	for (size_t i = 0; i < npaths; i++)
		if (fsc_covers(c, paths[i]) != 1) {
			*missed = paths[i];
			*why = "not under its roots, or excluded by its filters";
			return false;
		}
	fsc_cursor_t probe;
	if (fsc_journal_start(c, &probe) != 0 && errno == ENOENT) {
		*why = "its fscd keeps no journal: --journal-kib 0";
		return false;
	}
	return true;
}
