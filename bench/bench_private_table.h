/* The practical floor for a lookup: a private, in-process open-addressing table over the same
 * keys as an fsc table, with nothing shared. Same hash (XXH3-64, inline, with a seed), same
 * load factor (slot count: the next power of two >= 2 x entries, as fsc_shm_geometry picks),
 * linear probing, a full key compare against the table's own copy of the key, and a struct
 * stat copied out per hit. No seqlock, no liveness check, no hint: what is left is the price of
 * a hash lookup itself. Benchmark-only; single-threaded.
 *
 * Plain C with no atomics, so the C++ shim can include it inside extern "C". */
#ifndef BENCH_PRIVATE_TABLE_H
#define BENCH_PRIVATE_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bench_private_table;

/* A table for up to max_entries keys; NULL if out of memory. */
struct bench_private_table *bench_private_create(size_t max_entries, uint64_t seed);
void bench_private_destroy(struct bench_private_table *t);

/* Stores a copy of key with its record; st NULL stores a negative entry ("does not exist").
 * 0, -EEXIST (key already there), -ENOSPC (max_entries reached) or -ENOMEM. */
int bench_private_put(struct bench_private_table *t, const char *key, const struct stat *st);

/* FSC_HIT (record copied into *st), FSC_NEGATIVE or FSC_MISS, like fsc_lookup. */
int bench_private_lookup(const struct bench_private_table *t, const char *path, struct stat *st);

size_t bench_private_slot_count(const struct bench_private_table *t);

#ifdef __cplusplus
}
#endif

#endif
