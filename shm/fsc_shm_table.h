/* fsc shared-memory table: naming, validation, geometry and the probe sequence (implemented
 * in fsc_shm_table.c). The read side of a slot (hashing, keys, fsc_shm_slot_read) is inline
 * in fsc_shm_read.h, included here; mapping an object for reading is fsc_shm_map.h.
 * Used by reader/ (libfsc), tools/ and writer/ alike; nothing here stores into a table.
 * The protocol these functions implement is written down in shm/PROTOCOL.md. */
#ifndef FSC_SHM_TABLE_H
#define FSC_SHM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsc_shm_dir.h"
#include "fsc_shm_format.h"
#include "fsc_shm_read.h"

/* Bytes of an object's path: directory, '/', prefix, name, suffix (build names are longest). */
#define FSC_SHM_OBJECT_NAME_MAX (FSC_DIR_MAX + 1 + 16 + FSC_NAME_MAX + 48)

/* What a reader keeps of a validated header: private copies, so the header can be ignored. */
struct fsc_shm_layout {
	uint64_t slot_count;
	uint64_t mask; /* slot_count - 1 */
	uint64_t slots_offset;
	uint64_t capacity;
	uint64_t hash_seed;
	uint64_t generation;
	uint64_t writer_timeout_ns;
	uint64_t request_nonce; /* 0: the writer takes no requests */
	uint32_t slot_size;
	uint32_t path_max;
	uint32_t max_probe;
};

/* Table names proper: 1..FSC_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '.'. */
bool fsc_shm_name_valid(const char *name);
/* A table name or an absolute "DIR/NAME" address (fsc_shm_dir.h). */
bool fsc_shm_table_name_valid(const char *name);
/* The path of one of table name's objects: "DIR/<prefix>NAME<suffix>", DIR the address's
 * directory (fsc_shm_dir.h). 0, -EINVAL (invalid name) or -ENAMETOOLONG. */
int fsc_shm_object_path(char *buf, size_t size, const char *name, const char *prefix,
			const char *suffix);
/* Is directory entry `entry` one of the objects of the table called base (a name proper):
 * "fsc.BASE", "fsc-journal.BASE", or either followed by '.' and more (hints, builds)? */
bool fsc_shm_entry_of(const char *entry, const char *base);
/* "DIR/fsc.NAME": the table object of name (a table name or address). */
int fsc_shm_object_name(char *buf, size_t size, const char *name);
/* "DIR/fsc.NAME.hints.<generation hex>": the writable hit-hint segment of one table. */
int fsc_shm_hints_name(char *buf, size_t size, const char *name, uint64_t generation);
/* The request socket of table name whose header carries nonce (abstract AF_UNIX datagram,
 * "fsc.<name>.requests.<nonce hex>", PROTOCOL.md "Requests"): fills addr and *len. 0, or
 * -EINVAL (invalid name), -ENOENT (nonce 0: the table's writer takes no requests). */
struct sockaddr_un;
int fsc_shm_request_addr(const char *name, uint64_t nonce, struct sockaddr_un *addr, unsigned *len);
#define FSC_REQUEST_MAX 4096 /* longest request datagram: one path, no terminator */

/* Slot count and object size for a capacity; 0 or -EINVAL (with *why set). */
int fsc_shm_geometry(uint64_t capacity, uint32_t slot_size, uint64_t *slot_count,
		     uint64_t *object_size, const char **why);

/* Checks every immutable header field against itself and against the object's real size.
 * Returns 0 and fills *out, or -EPROTO (foreign/corrupt object; *why says what). It does
 * not look at the state word: an object can be valid and retired. */
int fsc_shm_header_validate(const struct fsc_shm_header *hdr, uint64_t mapped_size,
			    struct fsc_shm_layout *out, const char **why);

/* Slot index of probe i (0 <= i < max_probe) for a key with this hash: linear probing from
 * the home slot hash & mask (PROTOCOL.md, "Placement"). The one place the sequence is written;
 * the reader's lookup, the writer's search and its victim choice all walk it. */
static inline uint64_t fsc_shm_probe_index(const struct fsc_shm_layout *l, uint64_t hash,
					   uint32_t i)
{
	return (hash + i) & l->mask;
}

static inline const struct fsc_shm_slot *
fsc_shm_slot_at(const void *table, const struct fsc_shm_layout *l, uint64_t index)
{
	/* index is always masked: a damaged hash or probe count cannot leave the slot array */
	return (const struct fsc_shm_slot *)((const unsigned char *)table + l->slots_offset +
					     (index & l->mask) * l->slot_size);
}

/* Can this path be a key? Absolute, at most path_max bytes, no empty, "." or ".." component
 * and no trailing '/': the writer only ever stores such paths, so anything else is a miss
 * that fsc_stat answers with the real stat(2) (whose semantics for those differ). */
bool fsc_shm_path_cacheable(const char *path, size_t len, uint32_t path_max);

const char *fsc_shm_counter_name(enum fsc_counter c);
const char *fsc_shm_state_name(uint32_t state);

#endif
