/* fsc-watch's main loop (see fsc_watch_loop.h). */
#define _GNU_SOURCE
#include "fsc_watch_loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define FSC_WATCH_NS_PER_MS 1000000ull

static void fsc_watch_say(const struct fsc_watch_loop *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fsc_watch_say(const struct fsc_watch_loop *l, const char *fmt, ...)
{
	if (!l->o->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("fsc-watch: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void fsc_watch_stop_group(struct fsc_watch_loop *l, bool kill_now)
{
	if (fsc_watch_cmd_group_check(&l->cmd))
		return;
	if (!l->cmd.stopping)
		fsc_watch_say(l, "stopping %s (%u process group%s, the last %d) with SIG%s",
			      l->o->command[0], l->cmd.ngroups, l->cmd.ngroups == 1 ? "" : "s",
			      (int)l->cmd.groups[l->cmd.ngroups - 1],
			      sigabbrev_np(l->o->stop_signal));
	else if (kill_now)
		fsc_watch_say(l, "killing %u process group%s", l->cmd.ngroups,
			      l->cmd.ngroups == 1 ? "" : "s");
	fsc_watch_cmd_stop(&l->cmd, l->o->stop_signal, l->o->stop_timeout_ms, kill_now);
}

/* Stops what runs, then fsc-watch ends with status (the first reason given wins). */
static void fsc_watch_quit(struct fsc_watch_loop *l, int status)
{
	if (!l->quitting) {
		l->quitting = true;
		l->exit_status = status;
	}
	fsc_watch_stop_group(l, l->quit_sigs > 1);
}

static void fsc_watch_run(struct fsc_watch_loop *l)
{
	/* the first run looks at everything anyway: changes since the cursor are no news */
	char *changed = fsc_watch_pending_take(l->pending, l->o->paths, l->o->npaths);
	if (l->runs == 0 && !l->o->postpone && !l->o->once) {
		free(changed);
		changed = NULL;
	}
	if (l->o->clear) {
		pthread_mutex_lock(&l->journal->out_lock);
		fputs("\033[H\033[2J\033[3J", stdout);
		fflush(stdout);
		pthread_mutex_unlock(&l->journal->out_lock);
	}
	struct fsc_watch_cmd_spec spec = {
	    .argv = l->o->command,
	    .changed = changed,
	    .stdin_null = isatty(STDIN_FILENO) == 1,
	    .death_signal = l->o->stop_signal,
	};
	int err = fsc_watch_cmd_start(&l->cmd, &spec);
	free(changed);
	l->runs++;
	if (err) {
		bool exec = l->cmd.status == 127;
		fprintf(stderr, "fsc-watch: cannot run %s: %s%s\n", l->o->command[0], strerror(err),
			exec && err == ENOENT ? " (not found in PATH)" : "");
		fsc_watch_quit(l, exec ? FSC_WATCH_EXIT_NOEXEC : FSC_WATCH_EXIT_FAIL);
		return;
	}
	fsc_watch_say(l, "run %u: %s (pid %d)", l->runs, l->o->command[0], (int)l->cmd.pid);
}

static uint64_t fsc_watch_fire_at(const struct fsc_watch_loop *l,
				  const struct fsc_watch_pending_state *s)
{
	uint64_t deb = l->o->debounce_ms * FSC_WATCH_NS_PER_MS;
	uint64_t cap = s->first_ns + FSC_WATCH_DEBOUNCE_SPAN * deb;
	if (s->writing)
		return cap + FSC_WATCH_WRITING_HOLD_MS * FSC_WATCH_NS_PER_MS;
	return s->last_ns + deb < cap ? s->last_ns + deb : cap;
}

/* Changes are due while COMMAND (or what is left of its group) runs. Returns when the loop
 * next needs to look (UINT64_MAX: at the next event). */
static uint64_t fsc_watch_busy(struct fsc_watch_loop *l, uint64_t now)
{
	switch (l->o->on_busy) {
	case FSC_WATCH_BUSY_QUEUE: /* the run after this one takes them, at its SIGCHLD */
		return UINT64_MAX;
	case FSC_WATCH_BUSY_RESTART:
		fsc_watch_stop_group(l, false);
		return fsc_watch_cmd_next_ns(&l->cmd, now);
	case FSC_WATCH_BUSY_SIGNAL:
		fsc_watch_say(l, "sending SIG%s to process group %d",
			      sigabbrev_np(l->o->busy_signal), (int)l->cmd.pgid);
		fsc_watch_cmd_signal(&l->cmd, l->o->busy_signal);
		break;
	case FSC_WATCH_BUSY_DO_NOTHING:
		break;
	}
	fsc_watch_pending_clear(l->pending);
	return UINT64_MAX;
}

/* What is due at now: a stop to drive, changes to act on. Returns when to look next. */
static uint64_t fsc_watch_step(struct fsc_watch_loop *l, uint64_t now)
{
	if (l->cmd.stopping && !fsc_watch_cmd_stop_poll(&l->cmd, now))
		return fsc_watch_cmd_next_ns(&l->cmd, now);
	if (l->quitting)
		return UINT64_MAX;
	struct fsc_watch_pending_state s;
	fsc_watch_pending_peek(l->pending, &s);
	if (s.changes == 0)
		return UINT64_MAX;
	uint64_t fire = fsc_watch_fire_at(l, &s);
	if (now < fire)
		return fire;
	if (!l->o->command || (l->o->once && l->runs > 0)) {
		fsc_watch_pending_clear(l->pending); /* printed already */
		if (l->o->once && !l->o->command)
			fsc_watch_quit(l, FSC_WATCH_EXIT_OK);
		return UINT64_MAX;
	}
	if (l->cmd.pid != 0)
		return fsc_watch_busy(l, now);
	/* a restart also waits for what is left of earlier runs' groups: a server's worker */
	if (l->o->on_busy == FSC_WATCH_BUSY_RESTART && !fsc_watch_cmd_group_check(&l->cmd)) {
		fsc_watch_stop_group(l, false);
		return fsc_watch_cmd_next_ns(&l->cmd, now);
	}
	fsc_watch_run(l);
	return UINT64_MAX;
}

static void fsc_watch_reap(struct fsc_watch_loop *l)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (fsc_watch_cmd_reaped(&l->cmd, pid, st)) {
			fsc_watch_say(l, "%s exited with status %d", l->o->command[0],
				      l->cmd.status);
			if (l->o->once)
				fsc_watch_quit(l, l->cmd.status);
		} else if (fsc_private_fscd_reaped(l->fscd, pid, st)) {
			fprintf(
			    stderr,
			    "fsc-watch: the private fscd exited (status %d); its messages above "
			    "say why; stopping\n",
			    fsc_watch_cmd_exit_code(st));
			fsc_watch_quit(l, FSC_WATCH_EXIT_FAIL);
		}
		/* else an orphan of the command's group, handed to this subreaper */
	}
	fsc_watch_cmd_group_check(&l->cmd);
}

static void fsc_watch_signals(struct fsc_watch_loop *l)
{
	struct signalfd_siginfo si;
	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			fsc_watch_reap(l);
			continue;
		}
		l->quit_sigs++;
		fsc_watch_say(l, "SIG%s: stopping", sigabbrev_np((int)si.ssi_signo));
		fsc_watch_quit(l, FSC_WATCH_EXIT_OK);
	}
}

static int fsc_watch_timeout_ms(uint64_t due, uint64_t now)
{
	if (due == UINT64_MAX)
		return -1;
	if (due <= now)
		return 0;
	uint64_t ms = (due - now + FSC_WATCH_NS_PER_MS - 1) / FSC_WATCH_NS_PER_MS;
	return ms > 3600000 ? 3600000 : (int)ms;
}

int fsc_watch_loop_run(struct fsc_watch_loop *l)
{
	if (l->o->command && !l->o->postpone && !l->o->once)
		fsc_watch_run(l);
	struct pollfd fds[2] = {
	    {.fd = l->sigfd, .events = POLLIN},
	    {.fd = l->journal->notify_fd, .events = POLLIN},
	};
	for (;;) {
		uint64_t due = fsc_watch_step(l, fsc_watch_now_ns());
		if (l->quitting && fsc_watch_cmd_group_check(&l->cmd))
			break;
		if (atomic_load(&l->journal->output_failed))
			fsc_watch_quit(l, FSC_WATCH_EXIT_OK); /* the reader of stdout went away */
		int n = poll(fds, 2, fsc_watch_timeout_ms(due, fsc_watch_now_ns()));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "fsc-watch: poll: %s\n", strerror(errno));
			fsc_watch_quit(l, FSC_WATCH_EXIT_FAIL);
		}
		if (n > 0 && (fds[0].revents & POLLIN))
			fsc_watch_signals(l);
		uint64_t wakeups;
		if (n > 0 && (fds[1].revents & POLLIN) &&
		    read(l->journal->notify_fd, &wakeups, sizeof(wakeups)) < 0 && errno != EAGAIN)
			fsc_watch_quit(l, FSC_WATCH_EXIT_FAIL);
	}
	return l->exit_status;
}
