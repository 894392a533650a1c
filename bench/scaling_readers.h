/* scaling_readers: what the driver (scaling_readers.c: options, the writer, the experiments,
 * the report) and its reader processes (scaling_readers_child.c) share. See the comment at
 * the top of scaling_readers.c. */
#ifndef SCALING_READERS_H
#define SCALING_READERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "fsc_shm_table.h"

#define READERS_MAX	16
#define EXPERIMENTS_MAX 32
#define ROUNDS_MAX	9
#define TICK_NS		1000000ull /* writer: a batch of updates (and hint clearing) per tick */
#define KEY_STRIDE	64
#define BATCH		1024 /* lookups between looks at the stop flag */
#define INO_BASE	1000000000ull

enum reader_loop {
	LOOP_LIBFSC,
	LOOP_COUNTED
};

/* What a counting reader does with the hint byte of a slot it hit (libfsc: HINT_IF_CLEAR). */
enum hint_policy {
	HINT_NONE,
	HINT_IF_CLEAR, /* load, store 1 only if it is 0: repeat hits write nothing */
	HINT_ALWAYS,   /* store 1 on every hit: what the load-first saves */
};

struct experiment {
	char name[40];
	enum reader_loop loop;
	unsigned readers;
	unsigned update_rate;  /* writer updates per second */
	bool clear_hints;      /* writer zeroes every hint byte each tick */
	bool trap;	       /* readers count stores into their write-protected hint mapping */
	size_t hot_keys;       /* 0: readers and writer use every key; else keys [0, hot_keys) */
	enum hint_policy hint; /* LOOP_COUNTED only */
};

struct reader_result {
	uint64_t lookups, wrong, retries, retried_lookups, unavailable, traps;
	uint64_t elapsed_ns, cpu_ns;
	int failed;
};

/* MAP_SHARED anonymous memory: the parent and its reader children. During a window readers
 * only load phase; each stores its result once, at the end. */
struct shared_ctl {
	_Atomic unsigned ready;
	_Atomic int phase; /* 0 wait, 1 run, 2 stop */
	struct reader_result result[READERS_MAX];
};

struct run_result {
	struct reader_result reader[READERS_MAX];
	double updates_per_s;
	uint64_t put_max_ns; /* longest fsc_writer_put (wall time: includes any preemption) */
	uint64_t puts_slow;  /* puts that took longer than SLOW_PUT_NS */
	size_t hints_set;    /* key slots whose hint byte is set after the run */
};

struct options {
	size_t keys;
	unsigned window_ms, update_rate, rounds, reader_counts[8], nreader_counts;
	size_t hot_keys;
	char table[64];
};

struct fsc_writer;

struct setup {
	struct options opt;
	struct fsc_writer *writer;
	char *keys; /* opt.keys paths, KEY_STRIDE bytes apart */
	_Atomic uint8_t *hints;
	struct fsc_shm_layout layout;
	char hints_path[FSC_SHM_OBJECT_NAME_MAX + 16]; /* as /proc/self/maps names it */
	struct shared_ctl *ctl;
	uint64_t version;
};

static inline uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline const char *key_at(const struct setup *s, size_t i)
{
	return s->keys + i * KEY_STRIDE;
}

/* A forked reader: attaches, warms up, reports ready in s->ctl, runs its loop while the phase
 * is 1, stores its result in s->ctl->result[id] and exits (status 0: every answer a hit with
 * its own record). Never returns. */
void scaling_reader_main(const struct setup *s, const struct experiment *e, unsigned id)
    __attribute__((noreturn));

/* The report (scaling_readers_report.c): results[round][experiment]; load: the 1-minute load
 * average before and after. */
void scaling_report_json(FILE *f, const struct setup *s, const struct experiment *ex, size_t nex,
			 const struct run_result (*results)[EXPERIMENTS_MAX], const double load[2]);
void scaling_report_text(FILE *f, const struct setup *s, const struct experiment *ex, size_t nex,
			 const struct run_result (*results)[EXPERIMENTS_MAX]);

#endif
