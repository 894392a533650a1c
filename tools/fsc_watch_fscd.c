/* Which fscd fsc-watch reads, and the private one it starts (see fsc_watch_fscd.h). */
#define _GNU_SOURCE
#include "fsc_watch_fscd.h"

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

#include "fsc_watch_cmd.h"

#define FSC_WATCH_FSCD_START_S 120 /* its first scan of a large tree may take a while */
#define FSC_WATCH_FSCD_STOP_S  10

static void fsc_watch_pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static bool fsc_watch_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* The fscd binary (see fsc_watch_fscd.h), into buf; "fscd" means "look it up in PATH". */
static void fsc_watch_fscd_find(char *buf, size_t size)
{
	const char *env = getenv("FSC_WATCH_FSCD");
	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			static const char *const rel[] = {"fscd", "../writer/fscd/fscd",
							  "../sbin/fscd"};
			for (size_t i = 0; i < sizeof(rel) / sizeof(*rel); i++) {
				snprintf(buf, size, "%s/%s", self, rel[i]);
				if (fsc_watch_executable(buf))
					return;
			}
		}
	}
	snprintf(buf, size, "fscd");
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void fsc_watch_fscd_child(const char *bin, char *const *argv, int errfd, pid_t parent)
{
	setpgid(0, 0);
	/* it goes when fsc-watch goes, however that happens; a parent gone before the prctl
	 * is seen by the check after it */
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

/* Starts the private fscd for o's paths: the one place that does. 0, or an exit status. */
static int fsc_watch_fscd_start(struct fsc_watch_fscd *f, const struct fsc_watch_opts *o)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = fsc_watch_now_ns() ^ ((uint64_t)getpid() << 32);
	snprintf(f->name, sizeof(f->name), "fsc-watch.%d.%016" PRIx64, (int)getpid(), r);
	char bin[PATH_MAX + 32];
	fsc_watch_fscd_find(bin, sizeof(bin));
	char **argv = calloc(8 + 2 * o->npaths, sizeof(*argv));
	if (!argv) {
		fprintf(stderr, "fsc-watch: out of memory starting fscd\n");
		return FSC_WATCH_EXIT_FAIL;
	}
	size_t k = 0;
	argv[k++] = "fscd";
	argv[k++] = "--name";
	argv[k++] = f->name;
	argv[k++] = "--log-level";
	argv[k++] = o->verbose ? "info" : "warn";
	for (size_t i = 0; i < o->npaths; i++) {
		argv[k++] = "--watch";
		argv[k++] = o->paths[i];
	}
	argv[k] = NULL;
	int pipefd[2];
	pid_t parent = getpid(), pid = -1;
	if (pipe2(pipefd, O_CLOEXEC) == 0) {
		pid = fork();
		if (pid == 0)
			fsc_watch_fscd_child(bin, argv, pipefd[1], parent);
		close(pipefd[1]);
	}
	int err = errno;
	free(argv);
	if (pid < 0) {
		fprintf(stderr, "fsc-watch: cannot start fscd: %s\n", strerror(err));
		return FSC_WATCH_EXIT_FAIL;
	}
	ssize_t got;
	while ((got = read(pipefd[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	f->pid = pid;
	if (got == (ssize_t)sizeof(err)) {
		fsc_watch_fscd_stop(f);
		fprintf(stderr,
			"fsc-watch: no fscd serves the watched paths, and fsc-watch cannot run "
			"%s: %s (install fscd, or set FSC_WATCH_FSCD to its path)\n",
			bin, strerror(err));
		return FSC_WATCH_EXIT_FAIL;
	}
	if (o->verbose)
		fprintf(stderr, "fsc-watch: started a private fscd (%s, pid %d, table %s)\n", bin,
			(int)pid, f->name);
	return 0;
}

/* Waits until the private fscd publishes its table (after its first scan). */
static int fsc_watch_fscd_wait(struct fsc_watch_fscd *f)
{
	uint64_t deadline = fsc_watch_now_ns() + FSC_WATCH_FSCD_START_S * 1000000000ull;
	long pause_ms = 2;
	while (!(f->c = fsc_open(f->name))) {
		int st;
		if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
			f->reaped = true;
			f->status = st;
			fprintf(
			    stderr,
			    "fsc-watch: the private fscd exited (status %d) before serving; its "
			    "messages above say why\n",
			    fsc_watch_cmd_exit_code(st));
			return FSC_WATCH_EXIT_FAIL;
		}
		if (fsc_watch_now_ns() > deadline) {
			fprintf(stderr,
				"fsc-watch: the private fscd did not publish its table within %d s "
				"(a very large tree?); giving up\n",
				FSC_WATCH_FSCD_START_S);
			fsc_watch_fscd_stop(f);
			return FSC_WATCH_EXIT_FAIL;
		}
		fsc_watch_pause_ms(pause_ms);
		if (pause_ms < 50)
			pause_ms *= 2;
	}
	return 0;
}

/* Does the table c serve every path, with a journal to follow? If not, *why says so. */
static bool fsc_watch_serves(fsc_t *c, const struct fsc_watch_opts *o, const char **missed,
			     const char **why)
{
	for (size_t i = 0; i < o->npaths; i++)
		if (fsc_covers(c, o->paths[i]) != 1) {
			*missed = o->paths[i];
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

int fsc_watch_fscd_attach(struct fsc_watch_fscd *f, const struct fsc_watch_opts *o)
{
	*f = (struct fsc_watch_fscd){0};
	if (!o->private_fscd) {
		const char *name = o->name ? o->name : "default", *missed = o->paths[0];
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->c = fsc_open(name);
		const char *why = f->c ? NULL : strerror(errno);
		if (f->c && fsc_watch_serves(f->c, o, &missed, &why)) {
			if (o->verbose)
				fprintf(stderr, "fsc-watch: reading the journal of table %s\n",
					name);
			return 0;
		}
		if (o->name) {
			fprintf(stderr,
				"fsc-watch: table %s does not serve %s (%s); start fscd --name %s "
				"--watch on it, or leave --name out\n",
				name, missed, why, name);
			fsc_close(f->c);
			f->c = NULL;
			return FSC_WATCH_EXIT_PATH;
		}
		if (o->verbose)
			fprintf(stderr, "fsc-watch: table %s does not serve %s (%s)\n", name,
				missed, why);
		fsc_close(f->c);
		f->c = NULL;
	}
	int rc = fsc_watch_fscd_start(f, o);
	return rc ? rc : fsc_watch_fscd_wait(f);
}

bool fsc_watch_fscd_reaped(struct fsc_watch_fscd *f, pid_t pid, int wstatus)
{
	if (f->pid == 0 || pid != f->pid || f->reaped)
		return false;
	f->reaped = true;
	f->status = wstatus;
	return true;
}

int fsc_watch_fscd_stop(struct fsc_watch_fscd *f)
{
	if (f->pid == 0)
		return 0;
	if (!f->reaped) {
		kill(f->pid, SIGTERM);
		uint64_t deadline = fsc_watch_now_ns() + FSC_WATCH_FSCD_STOP_S * 1000000000ull;
		int st;
		pid_t r;
		while ((r = waitpid(f->pid, &st, WNOHANG)) == 0 && fsc_watch_now_ns() < deadline)
			fsc_watch_pause_ms(5);
		if (r == 0) {
			fprintf(stderr,
				"fsc-watch: the private fscd (pid %d) did not stop within %d s; "
				"killing it: its objects of table %s may be left behind\n",
				(int)f->pid, FSC_WATCH_FSCD_STOP_S, f->name);
			kill(f->pid, SIGKILL);
			r = waitpid(f->pid, &st, 0);
		}
		f->reaped = true;
		f->status = r == f->pid ? st : 0;
	}
	pid_t pid = f->pid;
	f->pid = 0;
	if (WIFEXITED(f->status) && WEXITSTATUS(f->status) == 0)
		return 0;
	fprintf(stderr, "fsc-watch: the private fscd (pid %d) ended with status %d\n", (int)pid,
		fsc_watch_cmd_exit_code(f->status));
	return -1;
}
