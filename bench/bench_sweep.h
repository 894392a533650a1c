/* The lookup sweep's fixture (bench_lookup_sweep.cc): fsc tables of a given number of entries
 * and path length filled with made-up records, the same keys in a private table (the floor),
 * and trees of real files for stat(2).
 *
 * Keys. Every path is exactly path_len bytes: <prefix><middle>/dNN/<tag>NNNNNNN, where NN is
 * the index mod 100, NNNNNNN the index (7 digits), tag 'f' (a record), 'n' (a negative entry)
 * or 'm' (absent), and <middle> a chain of directory names ("/pxxxx...", at most 24 bytes
 * each) that pads the path to its length. The prefix is the sweep's real root directory
 * (<parent>/sXXXXXX) when it fits in path_len, else empty (e.g. 20-byte paths: then the keys
 * name no real directory, which a table lookup cannot tell).
 *
 * Tables. A table of N entries holds N - N/8 records (hit keys 'f' 0..) and N/8 negative
 * entries ('n' 0..), inserted interleaved; its miss keys are as many 'm' paths as records, in
 * neither table. So the negative benchmark walks 1/7 as many slots as the hit one: at sizes
 * where the hit walk leaves the CPU caches, the negative walk may still fit. Hit key k's
 * record has st_ino = BENCH_SWEEP_INO_BASE + k and st_size = k, so a benchmark can check every
 * answer it times (and an fsc_stat that fell back to stat(2) would not pass). Capacity N,
 * the writer's default slot size (512 bytes), so the slot count is the next power of two
 * >= 2N as for fscd.
 *
 * Real trees (stat(2)). files real files 'f' 0..files-1 of one path length under the root, in
 * 100 directories; their absent keys are the 'm' paths of the same directories. When the
 * root's prefix fits, table keys 'f' 0..files-1 of that length are these very paths.
 *
 * Plain C, no atomics in sight, for the C++ shim. All functions run on the thread that built
 * the tables, except the heartbeat thread (one relaxed store per writer per 100 ms; no writer
 * call runs between bench_sweep_beat_start and bench_sweep_beat_stop, as in bench_fixture.c).
 */
#ifndef BENCH_SWEEP_H
#define BENCH_SWEEP_H

#include <stddef.h>

#include "bench_private_table.h"
#include "fsc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_SWEEP_INO_BASE 1000000000ull
#define BENCH_SWEEP_MAX_KEYS 10000000ull /* 7 digits of index */

struct bench_keyset {
	size_t count;
	const char **path; /* count paths, packed in arena (8-byte aligned, as a caller's) */
	char *arena;
};

struct fsc_writer;

struct bench_sweep_table {
	size_t entries;
	unsigned path_len;
	struct bench_keyset hit, negative, miss;
	fsc_t *reader;
	struct bench_private_table *private_table;
	unsigned long long slot_count;
	unsigned slot_size;
	int prefix_is_real; /* keys lie under the real root (else an empty prefix) */
	char name[128];
	struct fsc_writer *writer;
};

struct bench_stat_tree {
	unsigned path_len;
	struct bench_keyset exists, absent;
};

/* Makes the real root <parent>/sXXXXXX (parent NULL: $TMPDIR or /tmp) into root (size >= 256).
 * 0, or -1 with errno. */
int bench_sweep_root_make(char *root, size_t size, const char *parent);
/* Removes the root and everything below it. */
void bench_sweep_root_remove(const char *root);

/* Builds, publishes and attaches to a table <table_base>-n<entries>-l<path_len>, fills the
 * private table, and checks every key of both (answer and record). 0, or -1 with *why (and
 * errno). */
int bench_sweep_table_build(struct bench_sweep_table **out, const char *root,
			    const char *table_base, size_t entries, unsigned path_len,
			    const char **why);
/* Closes the reader and the writer (which unlinks the table) and frees everything. */
void bench_sweep_table_free(struct bench_sweep_table *t);

/* Creates files real files with paths of path_len bytes under root. 0; -1 with errno
 * ENAMETOOLONG if the root does not fit in path_len, or another errno with *why. */
int bench_stat_tree_build(struct bench_stat_tree **out, const char *root, size_t files,
			  unsigned path_len, const char **why);
/* Frees the tree's memory; its files go with bench_sweep_root_remove. */
void bench_stat_tree_free(struct bench_stat_tree *t);

/* Heartbeats every table built so far, every 100 ms, from a helper thread. 0 or -errno. */
int bench_sweep_beat_start(void);
void bench_sweep_beat_stop(void);

#ifdef __cplusplus
}
#endif

#endif
