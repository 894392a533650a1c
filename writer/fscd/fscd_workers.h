/* fscd's stat workers: the threads that list and stat polled directories. A stat on a
 * network filesystem can block for minutes when the server is gone; done here, it holds up
 * one worker and the directory it was for, never the event loop that serves everything else.
 *
 * Jobs go to the workers through a wait-free queue (liburcu cds_wfcq) and come back through
 * another; an eventfd in the loop's epoll set says that results are waiting. Workers never
 * touch the table: the loop thread alone writes it (one writer, PROTOCOL.md). */
#ifndef FSCD_WORKERS_H
#define FSCD_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <urcu/wfcqueue.h>

/* One directory entry as a worker saw it. */
struct fscd_listed {
	char *name;
	int err; /* lstat: 0 or errno */
	struct stat st;
};

/* A directory to list: filled in by the loop, completed by a worker. */
struct fscd_scan_job {
	struct cds_wfcq_node node;
	/* Handoff between threads: the side that passes the job on stores the next stage with
	 * release before the enqueue, the side that takes it loads it with acquire after the
	 * dequeue. cds_wfcq already orders the contents (its enqueue is a full barrier), but in
	 * uninstrumented code TSan cannot see; this pair makes the handoff explicit and checked. */
	_Atomic int stage; /* FSCD_JOB_SUBMITTED, then FSCD_JOB_DONE */
	/* set by the loop */
	uint64_t dir_id; /* the polled directory that asked (fscd_poll.h); results of a
			    directory no longer polled under that id are dropped */
	char *path;
	/* set by the worker */
	bool cancelled;	     /* the directory stopped being polled before the job ran */
	uint64_t started_ns; /* before the first stat: what the records' verified time says */
	int err;	     /* lstat or opendir of the directory: 0 or errno */
	struct stat st;	     /* the directory's own lstat */
	long fs_type;	     /* fstatfs f_type of the directory, 0 if unknown */
	struct fscd_listed *entries;
	size_t nentries, cap;
};

enum {
	FSCD_JOB_NEW,
	FSCD_JOB_SUBMITTED,
	FSCD_JOB_DONE
};

struct fscd_workers;

/* Asked by a worker before it lists a directory, from an RCU read-side critical section:
 * is the job still wanted? (It may have waited while its directory stopped being polled.) */
typedef bool (*fscd_job_wanted_fn)(void *ctx, const struct fscd_scan_job *job);

/* Starts nthreads workers. 0 or -errno. */
int fscd_workers_start(struct fscd_workers **out, unsigned nthreads, fscd_job_wanted_fn wanted,
		       void *ctx);
/* Hands a job to the workers; it comes back through fscd_workers_take. */
void fscd_workers_submit(struct fscd_workers *wp, struct fscd_scan_job *job);
/* Readable (EPOLLIN) while completed jobs wait. */
int fscd_workers_fd(const struct fscd_workers *wp);
/* A completed job (the caller frees it), or NULL when none is waiting. */
struct fscd_scan_job *fscd_workers_take(struct fscd_workers *wp);
/* Stops the workers. One stuck in a system call that never returns (a dead mount) is left
 * behind, detached, with what it holds: the process is about to exit or start anew. Returns
 * false then: whatever the workers' wanted() callback reads must be left alone too. */
bool fscd_workers_stop(struct fscd_workers *wp);

struct fscd_scan_job *fscd_scan_job_new(uint64_t dir_id, const char *path);
void fscd_scan_job_free(struct fscd_scan_job *job);

#endif
