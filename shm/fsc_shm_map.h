/* Mapping a published object for reading: the one place that opens a table, journal or
 * hit-hint object on the read side. Readers (libfsc), tools, benchmarks and tests all attach
 * through these functions, so the checks an object must pass before anything in it is believed
 * are written once: shm/PROTOCOL.md, "Attaching", lists them. Nothing here stores into an
 * object. */
#ifndef FSC_SHM_MAP_H
#define FSC_SHM_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "fsc_shm_journal.h"
#include "fsc_shm_table.h"

/* One mapping of a whole object. */
struct fsc_shm_mapping {
	void *base;  /* the mapping, or NULL */
	size_t size; /* the object's size when it was mapped (fstat) */
};

/* Maps shm object `object` (a shm_open name such as "/fsc.default") read-only, in full.
 * The open never blocks (O_NONBLOCK: a FIFO squatted at the name is refused, not waited on)
 * and never follows a symlink. Refused with -EPROTO and *why set: anything but a regular
 * object, a world-writable object, one smaller than min_size bytes (or empty). Otherwise 0
 * with *out filled, or -errno of the failed call (-ENOENT: nothing at that name). For a raw
 * view of an object that has no validating helper (tests read a hint segment this way). */
int fsc_shm_map_object(const char *object, uint64_t min_size, struct fsc_shm_mapping *out,
		       const char **why);

/* The table published under table_name: mapped, and its header validated into *layout
 * (fsc_shm_header_validate). 0, -EINVAL (bad name), -EPROTO with *why, or -errno. */
int fsc_shm_map_table(const char *table_name, struct fsc_shm_mapping *out,
		      struct fsc_shm_layout *layout, const char **why);

/* The change journal of table_name, validated into *layout (fsc_shm_journal_validate). */
int fsc_shm_map_journal(const char *table_name, struct fsc_shm_mapping *out,
			struct fsc_journal_layout *layout, const char **why);

/* The writable hit-hint segment of the table with layout l, mapped read-write: used only if
 * the reader's own effective uid owns it, nobody else may open it (mode & 077 == 0) and it is
 * exactly slot_count bytes. Anyone who could write it could truncate it, and a hit on a
 * truncated mapping is a SIGBUS. 0, or -errno / -EPROTO (then hits just do not inform CLOCK). */
int fsc_shm_map_hints(const char *table_name, const struct fsc_shm_layout *l,
		      struct fsc_shm_mapping *out);

/* Unmaps (a no-op on an empty mapping) and empties *m. */
void fsc_shm_unmap(struct fsc_shm_mapping *m);

#endif
