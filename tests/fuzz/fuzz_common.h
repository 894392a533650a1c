/* Shared by the fuzz targets of the read side (fuzz_table.c, fuzz_journal.c): turning an input
 * into an object, putting it in a POSIX shm object of this process's own, and checking.
 *
 * An input is one flags byte, then the object's bytes. FUZZ_ZERO_EXTEND pads the object with
 * zeros up to the size its header records (at most FUZZ_OBJECT_MAX), so that a seed can be
 * stored without its trailing zeros; without it the bytes are the object as they are, and a
 * truncated object stays truncated. Each target gives the other bits their meaning. */
#ifndef FSC_FUZZ_COMMON_H
#define FSC_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ZERO_EXTEND 0x01u
#define FUZZ_OBJECT_MAX	 (512u * 1024u) /* bytes; beyond this an input is taken as it is */

/* An invariant of the read side: a failure aborts, which libFuzzer reports as a crash and
 * saves the input for. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fsc_fuzz_fail(#cond, __FILE__, __LINE__);                                  \
	} while (0)

_Noreturn void fsc_fuzz_fail(const char *what, const char *file, int line);

/* The object an input describes, in a heap buffer of exactly its size (so AddressSanitizer
 * sees a read one byte past it), 64-byte aligned as a mapping's first byte is. */
struct fsc_fuzz_object {
	unsigned char *bytes; /* NULL for an empty object */
	size_t size;
	unsigned flags; /* the input's first byte (0 for an empty input) */
};

/* Builds *o from an input. The object_size field sits at byte 16 of both a table and a journal
 * header; that is the size FUZZ_ZERO_EXTEND pads to. */
void fsc_fuzz_object_build(const uint8_t *data, size_t n, struct fsc_fuzz_object *o);
void fsc_fuzz_object_free(struct fsc_fuzz_object *o);

/* The table name this process uses, "fuzz-<pid>": the objects are /fsc.fuzz-<pid> and
 * /fsc-journal.fuzz-<pid>, created 0600 by this process on first use, rewritten for every
 * input and unlinked at exit (a run that crashes leaves them: tools/dev.sh removes them). */
const char *fsc_fuzz_name(void);
/* Makes shm object `object` (a shm_open name) hold exactly bytes[0, size). */
void fsc_fuzz_shm_write(const char *object, const void *bytes, size_t size);
/* Rewrites bytes[0, size) at the start of an object written before, keeping its size. */
void fsc_fuzz_shm_patch(const char *object, const void *bytes, size_t size);

/* The 8 bytes at p (any alignment), as the native-endian word the format stores. */
static inline uint64_t fsc_fuzz_word(const unsigned char *p)
{
	uint64_t w;
	__builtin_memcpy(&w, p, 8);
	return w;
}

/* CLOCK_MONOTONIC_COARSE, the clock libfsc compares heartbeats with. */
uint64_t fsc_fuzz_now_coarse_ns(void);

#endif
