/* fscd's stat workers: see fscd_workers.h. */
#define _GNU_SOURCE
#include "fscd_workers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "fsc_writer.h"
#include "fscd_log.h"

#define FSCD_WORKERS_MAX 64

struct fscd_workers {
	/* loop -> workers: many dequeuers, so the blocking dequeue with its internal lock */
	struct cds_wfcq_head todo_head;
	struct cds_wfcq_tail todo_tail;
	/* workers -> loop: wait-free enqueue from every worker, one dequeuer (the loop) */
	struct cds_wfcq_head done_head;
	struct cds_wfcq_tail done_tail;
	sem_t todo_count; /* one post per job submitted, plus one per worker at stop */
	int done_fd;	  /* eventfd: the loop's wake-up */
	/* relaxed: read by workers after sem_wait, whose wake-up orders it after the store */
	atomic_bool stopping;
	fscd_job_wanted_fn wanted;
	void *ctx;
	unsigned nthreads;
	pthread_t threads[FSCD_WORKERS_MAX];
};

struct fscd_scan_job *fscd_scan_job_new(uint64_t dir_id, const char *path)
{
	struct fscd_scan_job *job = calloc(1, sizeof(*job));
	if (!job || !(job->path = strdup(path))) {
		free(job);
		return NULL;
	}
	cds_wfcq_node_init(&job->node);
	job->dir_id = dir_id;
	return job;
}

void fscd_scan_job_free(struct fscd_scan_job *job)
{
	if (!job)
		return;
	for (size_t i = 0; i < job->nentries; i++)
		free(job->entries[i].name);
	free(job->entries);
	free(job->path);
	free(job);
}

static struct fscd_listed *job_entry_add(struct fscd_scan_job *job, const char *name)
{
	if (job->nentries == job->cap) {
		size_t cap = job->cap ? job->cap * 2 : 16;
		struct fscd_listed *e = realloc(job->entries, cap * sizeof(*e));
		if (!e)
			return NULL;
		job->entries = e;
		job->cap = cap;
	}
	struct fscd_listed *e = &job->entries[job->nentries];
	if (!(e->name = strdup(name)))
		return NULL;
	job->nentries++;
	return e;
}

/* Lists the directory and lstats each entry relative to it (one path walk for the
 * directory, not one per entry). Any of these calls may block on a dead mount. */
static void job_run(struct fscd_scan_job *job)
{
	job->started_ns = fsc_writer_now_ns();
	int dfd = open(job->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		job->err = errno == ELOOP ? ENOTDIR : errno; /* ELOOP: now a symlink */
		return;
	}
	struct statfs sfs;
	if (fstat(dfd, &job->st) < 0) {
		job->err = errno;
		close(dfd);
		return;
	}
	job->fs_type = fstatfs(dfd, &sfs) == 0 ? (long)sfs.f_type : 0;
	DIR *dh = fdopendir(dfd);
	if (!dh) {
		job->err = errno;
		close(dfd);
		return;
	}
	struct dirent *d;
	while ((d = readdir(dh)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		struct fscd_listed *e = job_entry_add(job, d->d_name);
		if (!e)
			break;
		e->err =
		    fstatat(dirfd(dh), d->d_name, &e->st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
	}
	closedir(dh);
}

static bool job_wanted(struct fscd_workers *wp, const struct fscd_scan_job *job)
{
	rcu_read_lock();
	bool wanted = wp->wanted(wp->ctx, job);
	rcu_read_unlock();
	return wanted;
}

static void *worker_main(void *arg)
{
	struct fscd_workers *wp = arg;
	rcu_register_thread(); /* the wanted() check reads the polled-directory index */
	for (;;) {
		while (sem_wait(&wp->todo_count) < 0 && errno == EINTR)
			;
		if (atomic_load_explicit(&wp->stopping, memory_order_relaxed))
			break;
		struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&wp->todo_head, &wp->todo_tail);
		if (!n)
			continue;
		struct fscd_scan_job *job = caa_container_of(n, struct fscd_scan_job, node);
		/* acquire: pairs with the loop's release in fscd_workers_submit */
		(void)atomic_load_explicit(&job->stage, memory_order_acquire);
		if (job_wanted(wp, job))
			job_run(job);
		else
			job->cancelled = true;
		/* the enqueue publishes the job's contents to the loop thread's dequeue: wfcq
		 * orders the node's link store after our writes (release) and the loop's read of
		 * the link before its reads (acquire). A node must be reinitialized (next = NULL)
		 * before it joins another queue: its old link would splice stale nodes in. */
		cds_wfcq_node_init(&job->node);
		/* release: the results above happen-before the loop's acquire in take() */
		atomic_store_explicit(&job->stage, FSCD_JOB_DONE, memory_order_release);
		cds_wfcq_enqueue(&wp->done_head, &wp->done_tail, &job->node);
		uint64_t one = 1;
		if (write(wp->done_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			fscd_log(FSCD_LOG_WARN, "stat worker cannot wake the loop: %s",
				 strerror(errno));
	}
	rcu_unregister_thread();
	return NULL;
}

int fscd_workers_start(struct fscd_workers **out, unsigned nthreads, fscd_job_wanted_fn wanted,
		       void *ctx)
{
	if (nthreads == 0 || nthreads > FSCD_WORKERS_MAX)
		return -EINVAL;
	struct fscd_workers *wp = calloc(1, sizeof(*wp));
	if (!wp)
		return -ENOMEM;
	cds_wfcq_init(&wp->todo_head, &wp->todo_tail);
	cds_wfcq_init(&wp->done_head, &wp->done_tail);
	wp->wanted = wanted;
	wp->ctx = ctx;
	wp->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wp->done_fd < 0 || sem_init(&wp->todo_count, 0, 0) < 0) {
		int e = errno;
		if (wp->done_fd >= 0)
			close(wp->done_fd);
		free(wp);
		return -e;
	}
	for (; wp->nthreads < nthreads; wp->nthreads++) {
		int e = pthread_create(&wp->threads[wp->nthreads], NULL, worker_main, wp);
		if (e) {
			fscd_log(FSCD_LOG_ERROR, "cannot start stat worker %u: %s", wp->nthreads,
				 strerror(e));
			fscd_workers_stop(wp);
			return -e;
		}
	}
	*out = wp;
	return 0;
}

void fscd_workers_submit(struct fscd_workers *wp, struct fscd_scan_job *job)
{
	cds_wfcq_node_init(&job->node);
	/* release: the job's fields happen-before the worker's acquire after its dequeue */
	atomic_store_explicit(&job->stage, FSCD_JOB_SUBMITTED, memory_order_release);
	cds_wfcq_enqueue(&wp->todo_head, &wp->todo_tail, &job->node);
	sem_post(&wp->todo_count);
}

int fscd_workers_fd(const struct fscd_workers *wp)
{
	return wp->done_fd;
}

struct fscd_scan_job *fscd_workers_take(struct fscd_workers *wp)
{
	uint64_t ignored;
	/* drain the wake-up first: a worker enqueueing after this read wakes us again */
	if (read(wp->done_fd, &ignored, sizeof(ignored)) < 0 && errno != EAGAIN)
		return NULL;
	/* one dequeuer (this thread): the lock-free variant needs no dequeue lock */
	struct cds_wfcq_node *n = __cds_wfcq_dequeue_blocking(&wp->done_head, &wp->done_tail);
	if (!n)
		return NULL;
	/* more may wait: keep the fd readable until the queue is empty */
	uint64_t one = 1;
	if (!cds_wfcq_empty(&wp->done_head, &wp->done_tail) &&
	    write(wp->done_fd, &one, sizeof(one)) < 0)
		(void)errno;
	struct fscd_scan_job *job = caa_container_of(n, struct fscd_scan_job, node);
	/* acquire: pairs with the worker's release before it enqueued the job */
	(void)atomic_load_explicit(&job->stage, memory_order_acquire);
	return job;
}

static void queue_free(struct cds_wfcq_head *h, struct cds_wfcq_tail *t)
{
	struct cds_wfcq_node *n;
	while ((n = __cds_wfcq_dequeue_blocking(h, t)) != NULL)
		fscd_scan_job_free(caa_container_of(n, struct fscd_scan_job, node));
}

bool fscd_workers_stop(struct fscd_workers *wp)
{
	if (!wp)
		return true;
	atomic_store_explicit(&wp->stopping, true, memory_order_relaxed);
	for (unsigned i = 0; i < wp->nthreads; i++)
		sem_post(&wp->todo_count);
	bool stuck = false;
	for (unsigned i = 0; i < wp->nthreads; i++) {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		if (pthread_timedjoin_np(wp->threads[i], NULL, &deadline) != 0) {
			pthread_detach(wp->threads[i]);
			stuck = true;
		}
	}
	if (stuck) {
		/* a stuck worker still holds a job and this structure: leave both */
		fscd_log(FSCD_LOG_WARN, "a stat worker is stuck in a system call (dead network "
					"mount?); leaving it behind");
		return false;
	}
	queue_free(&wp->todo_head, &wp->todo_tail);
	queue_free(&wp->done_head, &wp->done_tail);
	cds_wfcq_destroy(&wp->todo_head, &wp->todo_tail);
	cds_wfcq_destroy(&wp->done_head, &wp->done_tail);
	sem_destroy(&wp->todo_count);
	close(wp->done_fd);
	free(wp);
	return true;
}
