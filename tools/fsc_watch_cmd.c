/* fsc-watch's command runner (see fsc_watch_cmd.h). */
#define _GNU_SOURCE
#include "fsc_watch_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FSC_WATCH_ENV_NAME "FSC_CHANGED="
/* While stopping, how often to look whether the group emptied without a SIGCHLD here (a
 * member that was reaped by another member, its parent). */
#define FSC_WATCH_GROUP_POLL_NS (20 * 1000000ull)

extern char **environ;

uint64_t fsc_watch_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int fsc_watch_cmd_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/* The environment for the command: fsc-watch's, with FSC_CHANGED replaced (or removed when
 * changed is NULL). Built before fork: the child of a threaded process may not malloc. */
static char **fsc_watch_cmd_env(const char *changed, char **entry)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], FSC_WATCH_ENV_NAME, strlen(FSC_WATCH_ENV_NAME)) != 0)
			env[k++] = environ[i];
	*entry = NULL;
	if (changed) {
		if (asprintf(entry, "%s%s", FSC_WATCH_ENV_NAME, changed) < 0) {
			free(env);
			return NULL;
		}
		env[k++] = *entry;
	}
	env[k] = NULL;
	return env;
}

/* In the child, between fork and exec: only async-signal-safe calls. Reports an exec failure
 * on errfd and exits 127. */
static void fsc_watch_cmd_child(const struct fsc_watch_cmd_spec *spec, char **env, int errfd)
{
	setpgid(0, 0);
	/* the leader goes when fsc-watch dies (SIGKILL, a crash): checked after the prctl, so
	 * a parent that died before it is seen too */
	pid_t parent = getppid();
	prctl(PR_SET_PDEATHSIG, spec->death_signal);
	if (getppid() != parent)
		raise(spec->death_signal);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL); /* fsc-watch ignores it; an ignored signal stays so in exec */
	if (spec->stdin_null) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd >= 0 && fd != STDIN_FILENO) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
	}
	execvpe(spec->argv[0], spec->argv, env);
	int err = errno;
	ssize_t w = write(errfd, &err, sizeof(err));
	(void)w;
	_exit(127);
}

int fsc_watch_cmd_start(struct fsc_watch_cmd *c, const struct fsc_watch_cmd_spec *spec)
{
	char *entry = NULL;
	char **env = fsc_watch_cmd_env(spec->changed, &entry);
	int pipefd[2];
	if (!env)
		return ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		int err = errno;
		free(env);
		free(entry);
		return err;
	}
	pid_t pid = fork();
	if (pid == 0)
		fsc_watch_cmd_child(spec, env, pipefd[1]);
	int err = pid < 0 ? errno : 0;
	close(pipefd[1]);
	free(env);
	free(entry);
	if (pid < 0) {
		close(pipefd[0]);
		return err;
	}
	/* also here: whichever of parent and child runs first, the group exists before the
	 * parent signals it */
	setpgid(pid, pid);
	ssize_t r;
	do
		r = read(pipefd[0], &err, sizeof(err)); /* EOF: the exec closed the pipe */
	while (r < 0 && errno == EINTR);
	close(pipefd[0]);
	c->status = 0;
	if (r == (ssize_t)sizeof(err)) {
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		c->status = 127;
		return err ? err : ENOEXEC;
	}
	c->pid = pid;
	c->pgid = pid;
	if (c->ngroups < FSC_WATCH_GROUPS_MAX)
		c->groups[c->ngroups++] = pid;
	return 0;
}

bool fsc_watch_cmd_reaped(struct fsc_watch_cmd *c, pid_t pid, int wstatus)
{
	if (pid != c->pid || c->pid == 0)
		return false;
	c->pid = 0;
	c->status = fsc_watch_cmd_exit_code(wstatus);
	return true;
}

/* ESRCH: no process (not even a zombie) is in the group; EPERM means one is, run by another
 * user now (a set-uid program) */
static bool fsc_watch_group_empty(pid_t pgid)
{
	return kill(-pgid, 0) != 0 && errno == ESRCH;
}

bool fsc_watch_cmd_group_check(struct fsc_watch_cmd *c)
{
	unsigned k = 0;
	for (unsigned i = 0; i < c->ngroups; i++)
		if (!fsc_watch_group_empty(c->groups[i]))
			c->groups[k++] = c->groups[i];
	c->ngroups = k;
	if (c->pgid != 0 && (k == 0 || c->groups[k - 1] != c->pgid))
		c->pgid = 0;
	if (k == 0)
		c->stopping = false;
	return k == 0;
}

void fsc_watch_cmd_signal(struct fsc_watch_cmd *c, int sig)
{
	fsc_watch_cmd_group_check(c);
	if (c->pgid != 0)
		kill(-c->pgid, sig);
}

static void fsc_watch_groups_kill(const struct fsc_watch_cmd *c, int sig)
{
	for (unsigned i = 0; i < c->ngroups; i++)
		kill(-c->groups[i], sig);
}

void fsc_watch_cmd_stop(struct fsc_watch_cmd *c, int sig, uint64_t timeout_ms, bool kill_now)
{
	if (fsc_watch_cmd_group_check(c))
		return;
	if (!c->stopping) {
		c->stopping = true;
		c->killed = false;
		c->kill_at_ns = fsc_watch_now_ns() + timeout_ms * 1000000ull;
		fsc_watch_groups_kill(c, sig);
		if (sig != SIGCONT && sig != SIGKILL) /* a stopped job acts on it once continued */
			fsc_watch_groups_kill(c, SIGCONT);
	}
	if (kill_now)
		c->kill_at_ns = 0;
	fsc_watch_cmd_stop_poll(c, fsc_watch_now_ns());
}

bool fsc_watch_cmd_stop_poll(struct fsc_watch_cmd *c, uint64_t now_ns)
{
	if (fsc_watch_cmd_group_check(c))
		return true;
	if (c->stopping && !c->killed && now_ns >= c->kill_at_ns) {
		c->killed = true;
		fsc_watch_groups_kill(c, SIGKILL);
	}
	return false;
}

uint64_t fsc_watch_cmd_next_ns(const struct fsc_watch_cmd *c, uint64_t now_ns)
{
	if (!c->stopping || c->ngroups == 0)
		return UINT64_MAX;
	uint64_t next = now_ns + FSC_WATCH_GROUP_POLL_NS;
	if (!c->killed && c->kill_at_ns < next)
		next = c->kill_at_ns;
	return next;
}
