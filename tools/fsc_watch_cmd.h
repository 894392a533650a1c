/* fsc-watch's command runner: COMMAND in a process group of its own, signalled and stopped as
 * a whole.
 *
 * Stopping sends the stop signal (and SIGCONT, so that a stopped job can act on it) to the
 * whole group, SIGKILL to the group once the stop timeout has passed, and counts the stop as
 * done only when no process of the group is left: not the leader alone, every child it
 * started (a server's worker still holding its port). fsc-watch is a child subreaper
 * (PR_SET_CHILD_SUBREAPER), so members orphaned by the leader's exit become its children:
 * the last member's exit is a SIGCHLD here, and fsc_watch_cmd_group_check then finds the
 * group empty. A process that leaves the group (setsid, setpgid) is no longer the command's.
 *
 * None of these block, except fsc_watch_cmd_start for the instant of the child's execve.
 */
#ifndef FSC_WATCH_CMD_H
#define FSC_WATCH_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FSC_WATCH_GROUPS_MAX 32

struct fsc_watch_cmd {
	pid_t pid;  /* the running leader; 0 when none runs */
	pid_t pgid; /* the last run's group while any member may be alive; 0 when empty */
	/* every run's group with members left (a leader that exited may leave children: with
	 * --on-busy queue the next run starts anyway); stops and the exit stop them all */
	pid_t groups[FSC_WATCH_GROUPS_MAX];
	unsigned ngroups;
	int status;	     /* the last leader's exit status: 0-255, or 128 + its signal */
	bool stopping;	     /* a stop was begun and a group is not empty yet */
	bool killed;	     /* SIGKILL was sent to the groups */
	uint64_t kill_at_ns; /* CLOCK_MONOTONIC instant of the SIGKILL, while stopping */
};

/* How to start a command. */
struct fsc_watch_cmd_spec {
	char *const *argv;   /* argv[0] is looked up in PATH (execvp) */
	const char *changed; /* FSC_CHANGED for it; NULL: not set */
	bool stdin_null;     /* stdin from /dev/null (fsc-watch's stdin is a terminal) */
	int death_signal;    /* sent to the leader if fsc-watch dies (PR_SET_PDEATHSIG) */
};

/* Starts spec->argv in a new process group (its pid is the group id). 0, or an errno: from
 * fork, or from execve in the child (the child then exited 127 and was reaped; c->status is
 * 127). */
int fsc_watch_cmd_start(struct fsc_watch_cmd *c, const struct fsc_watch_cmd_spec *spec);
/* For each child fsc-watch reaps: true if pid was the leader (c->status is its status). */
bool fsc_watch_cmd_reaped(struct fsc_watch_cmd *c, pid_t pid, int wstatus);
/* Forgets each group once no process is left in it (kill(-pgid, 0) says ESRCH). True if
 * every group is empty (or there was none). */
bool fsc_watch_cmd_group_check(struct fsc_watch_cmd *c);
/* Sends sig to every process of the last run's group (nothing if it is empty). */
void fsc_watch_cmd_signal(struct fsc_watch_cmd *c, int sig);
/* Begins stopping every group: sig and SIGCONT now, SIGKILL after timeout_ms. A stop
 * already under way goes on (kill_now: SIGKILL at once, for a second Ctrl-C). */
void fsc_watch_cmd_stop(struct fsc_watch_cmd *c, int sig, uint64_t timeout_ms, bool kill_now);
/* Drives a stop: SIGKILL when it is due. True when every group is empty (stop done). */
bool fsc_watch_cmd_stop_poll(struct fsc_watch_cmd *c, uint64_t now_ns);
/* When fsc_watch_cmd_stop_poll next needs a call while stopping (the SIGKILL, or a look at
 * the group for members that are not fsc-watch's children), as a CLOCK_MONOTONIC instant;
 * UINT64_MAX when not stopping. */
uint64_t fsc_watch_cmd_next_ns(const struct fsc_watch_cmd *c, uint64_t now_ns);
/* An exit status (as from waitpid) as one number: the code, or 128 + the signal. */
int fsc_watch_cmd_exit_code(int wstatus);
uint64_t fsc_watch_now_ns(void); /* CLOCK_MONOTONIC */

#endif
