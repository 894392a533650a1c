/* The process harness of tests and benchmarks: start the real fscd, wait for the table it
 * publishes, read its header counters, stop it and clean up after it. Nothing here depends on
 * a test framework: functions return errors, the caller decides what a failure is (tests wrap
 * them into cmocka asserts in tests/fsc_test_fscd.c; the benchmark drivers call them
 * directly). Never prints to stdout.
 */
#ifndef FSC_HARNESS_H
#define FSC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fsc.h"
#include "fsc_shm_dir.h"
#include "fsc_shm_format.h"

#define FSC_HARNESS_NS_PER_MS 1000000ull
#define FSC_HARNESS_NS_PER_S  1000000000ull

/* The fscd binary this build made (the FSCD_PATH compile definition). */
extern const char fsc_harness_fscd_path[];

uint64_t fsc_harness_now_ns(void); /* CLOCK_MONOTONIC */
void fsc_harness_sleep_ns(uint64_t ns);

/* How fsc_harness_fscd_start runs the child. */
enum fsc_harness_flags {
	FSC_HARNESS_LOG_APPEND = 1 << 0, /* append to the files instead of truncating them */
	FSC_HARNESS_PDEATHSIG = 1 << 1,	 /* SIGTERM to fscd when this process dies */
};

/* A running fscd. */
struct fsc_harness_fscd {
	pid_t pid; /* 0: not running */
	char name[FSC_ADDR_MAX + 1];
	char log[512]; /* its stderr ("/dev/null" if none) */
};

/* Runs binary (NULL: fsc_harness_fscd_path) with argv (NULL-terminated, argv[0] as given),
 * its stdout in out and its stderr in log (either may be the same file; NULL: inherited, or
 * /dev/null with FSC_HARNESS_PDEATHSIG). name is the table it publishes (may be NULL).
 * Returns 0, or -1 with errno if fork failed. An exec that fails exits 127. */
int fsc_harness_fscd_start(struct fsc_harness_fscd *d, const char *binary, const char *name,
			   const char *const *argv, const char *out, const char *log,
			   unsigned flags);
/* Waits up to timeout_ns for pid to exit; its wait status, or -1 on timeout. */
int fsc_harness_wait_exit(pid_t pid, uint64_t timeout_ns);
/* SIGCONT (in case it was left stopped) and SIGTERM, then reaps it; SIGKILL if it has not
 * exited after timeout_ns. Returns the wait status; d->pid becomes 0. */
int fsc_harness_fscd_stop(struct fsc_harness_fscd *d, uint64_t timeout_ns);
/* Removes the table and change journal published as name (what a SIGKILLed fscd leaves
 * behind); returns how many there were. */
int fsc_harness_remove_leftovers(const char *name);

/* What fsc_harness_open_live waits for. */
struct fsc_harness_live {
	const char *name;	 /* the table */
	const char *probe;	 /* a path the table must serve as a hit, or NULL */
	uint64_t not_generation; /* with probe: a generation the hit must not come from (0) */
	pid_t pid;		 /* > 0: give up as soon as this process has exited */
	uint64_t timeout_ns, poll_ns;
};
/* Polls fsc_open (and the probe) until a live table as w asks serves; a reader of it, or NULL
 * on timeout or once w->pid has exited (then reaped: its status is lost). */
fsc_t *fsc_harness_open_live(const struct fsc_harness_live *w);

/* Copies the header counters of the table published as name (enum fsc_counter order).
 * 0, or a negative errno if there is no valid table. */
int fsc_harness_counters(const char *name, uint64_t out[FSC_CTR_COUNT]);
/* Polls the counters every poll_ns until counter reaches at_least. 0, or -1 on timeout or
 * when no table is published. */
int fsc_harness_wait_counter(const char *name, int counter, uint64_t at_least, uint64_t timeout_ns,
			     uint64_t poll_ns);

/* fs.inotify.max_queued_events: the limit an inotify instance gets when it is made. read:
 * the value or -1; write: true if it took. */
long fsc_harness_inotify_queue_read(void);
bool fsc_harness_inotify_queue_write(long limit);

#endif
