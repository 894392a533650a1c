/* Per-slot seqlock in the form that is correct under the C11 memory model (Boehm, MSPC 2012):
 * every protected field is an _Atomic word accessed with relaxed loads/stores, and ordering
 * comes only from the sequence word and fences. One writer per table (single producer), any
 * number of readers (many consumers); readers never store, so this works on PROT_READ maps.
 *
 * Reader:  s0 = fsc_shm_seqlock_read_begin(&seq);  (odd -> writer active, retry later)
 *          relaxed loads of the data;
 *          if (fsc_shm_seqlock_read_retry(&seq, s0)) the copy may be torn: discard and retry.
 * Writer:  s = fsc_shm_seqlock_write_begin(&seq); relaxed stores; fsc_shm_seqlock_write_end(&seq,
 * s);
 */
#ifndef FSC_SHM_SEQLOCK_H
#define FSC_SHM_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A spin-wait hint: lets a sibling hyper-thread run and eases the cache line's traffic. */
static inline void fsc_shm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static inline uint64_t fsc_shm_seqlock_read_begin(const _Atomic uint64_t *seq)
{
	/* acquire: the data loads that follow cannot be hoisted above this load, so if s0 is
	 * even and matches at the end, none of them read a value stored after s0 was written. */
	return atomic_load_explicit(seq, memory_order_acquire);
}

static inline bool fsc_shm_seqlock_is_writing(uint64_t s)
{
	return (s & 1u) != 0;
}

static inline bool fsc_shm_seqlock_read_retry(const _Atomic uint64_t *seq, uint64_t s0)
{
	/* acquire fence: orders the relaxed data loads before the re-load of seq below. Without
	 * it a data load could be satisfied after a concurrent write_begin and still see the old
	 * seq here, passing a torn copy as consistent. */
	atomic_thread_fence(memory_order_acquire);
	/* relaxed is enough after the fence: any writer store the data loads observed is
	 * ordered (by the writer's release fence) after its odd seq store, which this load must
	 * then see or a later value. */
	return fsc_shm_seqlock_is_writing(s0) ||
	       atomic_load_explicit(seq, memory_order_relaxed) != s0;
}

static inline uint64_t fsc_shm_seqlock_write_begin(_Atomic uint64_t *seq)
{
	/* Only the writer stores seq, so its own relaxed load reads its own last store. */
	uint64_t s = atomic_load_explicit(seq, memory_order_relaxed);
	atomic_store_explicit(seq, s + 1, memory_order_relaxed);
	/* release fence: the odd sequence becomes visible before any of the data stores that
	 * follow, so a reader that sees a new data value also sees seq changed. */
	atomic_thread_fence(memory_order_release);
	return s + 1;
}

static inline void fsc_shm_seqlock_write_end(_Atomic uint64_t *seq, uint64_t odd)
{
	/* release: every data store of this write happens-before a reader's acquire load that
	 * sees the new even value, so a reader that sees s+2 at begin sees complete data. */
	atomic_store_explicit(seq, odd + 1, memory_order_release);
}

#endif
