/* What a table serves: fscd's roots and filters, published in the table object so that a
 * reader can tell whether a path is covered before relying on the table (fsc_covers) and
 * tools can show them. PROTOCOL.md ("What is served") describes the region:
 *
 *   [slots_offset + slot_count * slot_size, + header.served_size)   the served region
 *
 * The region starts with struct fsc_served_head, then head.count items back to back, each a
 * 4-byte item header (type: enum fsc_served_type, 16 bits; len, 16 bits) and len bytes of
 * text (no NUL). The writer stores it before the table is published and never after. A
 * reader copies the whole region into private memory, validates the copy and keeps only
 * that (fsc_shm_served_parse): the shared bytes are never read twice, so a scribble cannot
 * change what was checked. A region that fails validation makes the table invalid (EPROTO).
 */
#ifndef FSC_SHM_SERVED_H
#define FSC_SHM_SERVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsc_shm_format.h"
#include "fsc_shm_table.h"

#define FSC_SERVED_MAGIC    0x44565253u /* "SRVD" as little-endian bytes */
#define FSC_SERVED_VERSION  1u
#define FSC_SERVED_MAX	    (64u * 1024u) /* bytes of a region, at most */
#define FSC_SERVED_TEXT_MAX 4095u	  /* bytes of one root or glob */

enum fsc_served_type {
	FSC_SERVED_ROOT_DIR = 1,  /* a directory root: it and everything below it */
	FSC_SERVED_ROOT_FILE = 2, /* a file root: exactly this path */
	FSC_SERVED_EXCLUDE = 3,	  /* fnmatch glob: paths (and directories' contents) left out */
	FSC_SERVED_INCLUDE = 4,	  /* fnmatch glob: if any, only files matching one are served */
};

struct fsc_served_head {
	uint32_t magic;
	uint32_t version;
	uint32_t size;	    /* bytes of the region in use (head and items), <= served_size */
	uint32_t count;	    /* items */
	uint32_t max_depth; /* deepest level served below a directory root; 0 = unlimited */
	uint32_t reserved;  /* 0 */
};

/* What the writer publishes (fscd's roots, canonical, and filters). */
struct fsc_served_spec {
	const char *const *roots;
	const bool *root_is_file;
	size_t nroots;
	const char *const *exclude;
	size_t nexclude;
	const char *const *include;
	size_t ninclude;
	unsigned max_depth;
};

/* A reader's validated private copy (one allocation: free() it). */
struct fsc_served {
	unsigned max_depth;
	size_t nroots, nexclude, ninclude;
	const char **roots; /* NUL-terminated; root_is_file[i] says which kind */
	const bool *root_is_file;
	const char **exclude;
	const char **include;
};

/* Encodes spec into buf (size bytes): returns the bytes used, rounded up to 8, or 0 if it
 * does not fit in size (or FSC_SERVED_MAX) or an item is longer than FSC_SERVED_TEXT_MAX.
 * buf NULL: only computes the bytes needed. */
uint32_t fsc_shm_served_encode(void *buf, size_t size, const struct fsc_served_spec *spec);

/* The served region of a validated table (layout from fsc_shm_header_validate) mapped at
 * table with mapped_size bytes: *out is NULL if the table publishes none, else a private
 * copy to free(). 0, -EPROTO with *why (damaged region), or -ENOMEM. */
int fsc_shm_served_parse(const struct fsc_shm_header *table, uint64_t mapped_size,
			 const struct fsc_shm_layout *layout, struct fsc_served **out,
			 const char **why);

enum fsc_served_answer {
	FSC_SERVED_NO = 0,
	FSC_SERVED_YES = 1,
	FSC_SERVED_IF_DIR = 2, /* matches no include glob: served only if it is a directory */
};

/* Does s cover path (absolute, len bytes)? YES if it equals a file root, or lies under a
 * directory root at a '/' boundary (or is the root itself) within max_depth, with no
 * component below the root excluded and, if there are includes, its path or name matching
 * one (else IF_DIR: fscd serves every directory it traverses). Exclusion wins, as in fscd.
 * No system call. */
enum fsc_served_answer fsc_shm_served_covers(const struct fsc_served *s, const char *path,
					     size_t len);

#endif
