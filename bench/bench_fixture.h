/* The lookup benchmark's fixture: a real tree of files, a table holding their records and a
 * reader attached to it, built once so every benchmark in a run uses the same paths.
 *
 * Plain C with no C11 atomics in sight (fsc_writer.h stays out of this header) so that the
 * C++ shim (bench_lookup.cc) can include it inside extern "C".
 *
 * Layout: <parent>/fsc_bench_XXXXXX/dir-DD/access-NNNN.log, ndirs x files_per_dir regular
 * files (44-byte paths under /tmp). Hit path i is file i; miss path i is
 * <same dir>/absent-NNNN.log, which exists neither on disk nor in the table.
 */
#ifndef FSC_BENCH_FIXTURE_H
#define FSC_BENCH_FIXTURE_H

#include <stddef.h>

#include "fsc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fsc_bench_fixture;

struct fsc_bench_opts {
	const char *parent;   /* directory to create the tree in; NULL = $TMPDIR or /tmp */
	const char *table;    /* table name; NULL = "fscbench.<pid>" */
	size_t ndirs;	      /* 0 = 100 */
	size_t files_per_dir; /* 0 = 100 */
	unsigned slot_size;   /* table slot size; 0 = the writer's default (512) */
};

/* Creates the tree, stats every file, publishes the records with the writer API, starts the
 * heartbeat thread and attaches a reader with fsc_open. Then checks every hit path is
 * FSC_HIT (with a record equal to stat(2)'s) and every miss path FSC_MISS (and ENOENT on
 * disk). Returns 0, or -1 with *why set (everything made so far is removed again). */
int fsc_bench_fixture_setup(struct fsc_bench_fixture **out, const struct fsc_bench_opts *opts,
			    const char **why);
/* Stops the heartbeat, closes the reader and the writer (which unlinks the table) and
 * removes the tree. NULL is fine. */
void fsc_bench_fixture_teardown(struct fsc_bench_fixture *f);

size_t fsc_bench_count(const struct fsc_bench_fixture *f);
const char *const *fsc_bench_hit_paths(const struct fsc_bench_fixture *f);
const char *const *fsc_bench_miss_paths(const struct fsc_bench_fixture *f);
fsc_t *fsc_bench_reader(const struct fsc_bench_fixture *f);
const char *fsc_bench_root(const struct fsc_bench_fixture *f);
const char *fsc_bench_table(const struct fsc_bench_fixture *f);
/* Slots in the table (load factor = count / slots) and their size, for the report. */
unsigned long long fsc_bench_slot_count(const struct fsc_bench_fixture *f);
unsigned fsc_bench_slot_size(const struct fsc_bench_fixture *f);

/* Counts the paths whose fsc_lookup answer is not want (FSC_HIT for hit paths, FSC_MISS for
 * miss paths); if first_bad is not NULL it receives the first such index and the answer. */
size_t fsc_bench_check(const struct fsc_bench_fixture *f, int hits, size_t *first_bad, int *answer);

#ifdef __cplusplus
}
#endif

#endif
