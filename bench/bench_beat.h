/* The heartbeat threads of the in-process benchmarks (bench_fixture.c, bench_sweep.c) sleep on
 * a condition variable made with CLOCK_MONOTONIC between beats: one wait, written once. */
#ifndef BENCH_BEAT_H
#define BENCH_BEAT_H

#include <pthread.h>
#include <time.h>

/* Waits on cond (lock held, its clock CLOCK_MONOTONIC) for ns nanoseconds (< 1 s) at most. */
static inline void bench_beat_wait(pthread_cond_t *cond, pthread_mutex_t *lock, long ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += ns;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cond, lock, &ts);
}

#endif
