/* The read side of a slot: everything a lookup executes, inline, so that a hit is straight-
 * line code with no call (XXH3 included, through XXH_INLINE_ALL). Stores nothing. */
#ifndef FSC_SHM_READ_H
#define FSC_SHM_READ_H

#include <linux/futex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "fsc_shm_format.h"
#include "fsc_shm_seqlock.h"

/* A reader gives up on a slot after this many tries; the caller then answers from stat(2).
 * A try that finds the writer mid-write first pauses the CPU (about 10-40 ns), so the limit
 * spans roughly 40-160 us: a rewrite takes 2-5 us when contended and up to about 75 us when the
 * writer is preempted in it (bench/scaling_readers measured both). Running out means the
 * writer stalled or died mid-write, or the object is being scribbled on. */
#define FSC_SLOT_READ_TRIES 4096

/* A path prepared for lookup: its hash, length and bytes, compared in place a word at a time
 * (no copy); the last, partial word is built once, zero-padded as slots store it. */
struct fsc_shm_key {
	uint64_t hash;
	uint32_t len;
	uint32_t words; /* (len + 7) / 8 */
	const char *path;
	uint64_t tail; /* word words-1 */
};

/* What a slot says besides the stat fields (taken under the seqlock with them). */
struct fsc_shm_record {
	uint64_t change_seq;
	uint64_t verified_ns;
	uint32_t flags;
};

/* Loads the stat words straight into *st: no intermediate record. Relaxed atomic loads, as
 * every load inside a seqlock read section must be. */
static inline void fsc_shm_slot_load_stat(const struct fsc_shm_slot *s, struct stat *st)
{
	/* written out: GCC does not unroll a loop of atomic loads, and this is a fifth of a hit */
#define FSC_LD(i) atomic_load_explicit(&s->st[i], memory_order_relaxed)
	const uint64_t w[FSC_ST_WORDS] = {FSC_LD(0), FSC_LD(1), FSC_LD(2),  FSC_LD(3),
					  FSC_LD(4), FSC_LD(5), FSC_LD(6),  FSC_LD(7),
					  FSC_LD(8), FSC_LD(9), FSC_LD(10), FSC_LD(11)};
#undef FSC_LD
	_Static_assert(FSC_ST_WORDS == 12, "one load per stat word above");
	fsc_shm_stat_unpack(w, st);
}

enum fsc_slot_match {
	FSC_SLOT_MATCH_EMPTY, /* end of the probe chain: the key is not in the table */
	FSC_SLOT_MATCH_OTHER, /* tombstone or another key: keep probing */
	FSC_SLOT_MATCH_FOUND, /* the key, record copied */
	FSC_SLOT_MATCH_BUSY,  /* the writer kept rewriting the slot: give up this lookup */
};

static inline uint64_t fsc_shm_hash(uint64_t seed, const void *path, size_t len)
{
	return XXH3_64bits_withSeed(path, len, seed);
}

/* len must be at least 1. */
static inline void fsc_shm_key_init(struct fsc_shm_key *k, uint64_t seed, const char *path,
				    size_t len)
{
	uint32_t words = (uint32_t)((len + 7) / 8);
	size_t off = (size_t)(words - 1) * 8;
	k->hash = fsc_shm_hash(seed, path, len);
	k->len = (uint32_t)len;
	k->words = words;
	k->path = path;
	k->tail = 0;
	memcpy(&k->tail, path + off, len - off);
}

/* Word i of the key as slots store it. */
static inline uint64_t fsc_shm_key_word(const struct fsc_shm_key *k, uint32_t i)
{
	uint64_t w;
	if (i + 1 == k->words)
		return k->tail;
	memcpy(&w, k->path + (size_t)i * 8, 8); /* one unaligned load */
	return w;
}

/* True while the writer thread that published the table is alive (robust futex word). */
static inline bool fsc_shm_writer_alive(const struct fsc_shm_header *hdr)
{
	/* The futex word of a glibc mutex is its first int (the writer asserts this). relaxed:
	 * it is a hint checked on every lookup; a reader that just misses the kernel clearing it
	 * serves one answer that was right an instant ago. */
	const _Atomic uint32_t *word = (const _Atomic uint32_t *)(const void *)hdr->liveness_mutex;
	uint32_t v = atomic_load_explicit(word, memory_order_relaxed);
	return (v & FUTEX_TID_MASK) != 0 && (v & FUTEX_OWNER_DIED) == 0;
}

/* Is a heartbeat stamped at beat (writer's CLOCK_MONOTONIC) fresh at now (the reader's coarse
 * clock, which may trail it by a tick)? Silent longer than timeout_ns: stopped or hung. Ahead
 * of now by more than FSC_HEARTBEAT_AHEAD_MAX_NS: a forged beat meant to look live for ever. */
static inline bool fsc_shm_heartbeat_fresh(uint64_t beat, uint64_t now, uint64_t timeout_ns)
{
	return now >= beat ? now - beat <= timeout_ns : beat - now <= FSC_HEARTBEAT_AHEAD_MAX_NS;
}

/* Does the slot's path equal the key? Full words by unaligned loads from the key, then the
 * zero-padded tail: no per-word test for "last word". Relaxed loads (seqlock section). */
static inline bool fsc_shm_slot_path_equals(const struct fsc_shm_slot *s,
					    const struct fsc_shm_key *k)
{
	uint32_t full = k->words - 1;
	for (uint32_t w = 0; w < full; w++) {
		uint64_t mine;
		memcpy(&mine, k->path + (size_t)w * 8, 8);
		if (atomic_load_explicit(&s->path[w], memory_order_relaxed) != mine)
			return false;
	}
	return atomic_load_explicit(&s->path[full], memory_order_relaxed) == k->tail;
}

/* Reads one slot under its seqlock for key; retries a torn read a bounded number of times.
 * *st is scratch until FSC_SLOT_MATCH_FOUND is returned. retries, if not NULL, is increased
 * by the number of attempts discarded (a benchmark counts them); libfsc passes NULL, and as
 * this is inlined the counting then compiles to nothing. */
static inline enum fsc_slot_match fsc_shm_slot_read(const struct fsc_shm_slot *s,
						    const struct fsc_shm_key *k,
						    struct fsc_shm_record *out, struct stat *st,
						    uint64_t *retries)
{
	for (int attempt = 0; attempt < FSC_SLOT_READ_TRIES;
	     attempt++, retries ? (void)++*retries : (void)0) {
		uint64_t s0 = fsc_shm_seqlock_read_begin(&s->seq);
		if (fsc_shm_seqlock_is_writing(s0)) {
			/* let the writer's core finish; do not hammer the line */
			fsc_shm_cpu_relax();
			continue;
		}
		uint64_t meta = atomic_load_explicit(&s->meta, memory_order_relaxed);
		uint32_t state = fsc_shm_meta_state(meta);
		if (state != FSC_SLOT_LIVE) {
			/* EMPTY ends the chain only if this was a consistent read: validate */
			if (fsc_shm_seqlock_read_retry(&s->seq, s0))
				continue;
			return state == FSC_SLOT_EMPTY ? FSC_SLOT_MATCH_EMPTY
						       : FSC_SLOT_MATCH_OTHER;
		}
		uint64_t hash = atomic_load_explicit(&s->hash, memory_order_relaxed);
		if (hash != k->hash || fsc_shm_meta_path_len(meta) != k->len) {
			/* Another key. Skipping it needs no validation: a key present for the whole
			 * lookup keeps its hash and length in its slot, so a torn read of this slot
			 * cannot be the key we look for (see PROTOCOL.md, invariant 4). */
			return FSC_SLOT_MATCH_OTHER;
		}
		bool same = fsc_shm_slot_path_equals(s, k);
		out->change_seq = atomic_load_explicit(&s->change_seq, memory_order_relaxed);
		out->verified_ns = atomic_load_explicit(&s->verified_ns, memory_order_relaxed);
		out->flags = fsc_shm_meta_flags(meta);
		fsc_shm_slot_load_stat(s, st); /* may be torn: used only if validated below */
		if (fsc_shm_seqlock_read_retry(&s->seq, s0))
			continue;
		return same ? FSC_SLOT_MATCH_FOUND : FSC_SLOT_MATCH_OTHER;
	}
	return FSC_SLOT_MATCH_BUSY;
}

#endif
