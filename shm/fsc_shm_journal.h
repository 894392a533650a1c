/* fsc change journal: the on-memory format, and the reader's half of its protocol.
 *
 * One journal object per fscd run (DIR/fsc-journal.<name>, fsc_shm_dir.h), separate from the
 * table so that it survives the table's replacements. The table header's journal_id names
 * the journal that goes with it (0: none). shm/PROTOCOL.md ("Change journal") explains the
 * protocol and the invariants; in short:
 *
 *   [0, ring_offset)            struct fsc_journal_header
 *   [ring_offset, + ring_size)  the ring: entries at 16-byte aligned byte positions
 *
 * A position is a byte count since the journal began (monotonic, never wraps in practice: 2^64
 * bytes); the entry at position p lives at ring offset p % ring_size and never straddles the
 * end of the ring (the writer pads to the end first). Every field a reader loads while the
 * writer may store is an _Atomic word of 8 bytes or less, loaded relaxed; ordering comes from
 * head (release/acquire) and from the reclaim word with fences, as in a seqlock.
 */
#ifndef FSC_SHM_JOURNAL_H
#define FSC_SHM_JOURNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsc_shm_format.h"

#define FSC_JOURNAL_MAGIC	0x31304c4e524a5346ull /* "FSJRNL01" as little-endian bytes */
#define FSC_JOURNAL_ABI_VERSION 2u		      /* 2: entries carry change kinds */
#define FSC_JOURNAL_PREFIX	"fsc-journal."
#define FSC_JOURNAL_ALIGN	16u
#define FSC_JOURNAL_RING_MIN	(64u * 1024u)		/* bytes */
#define FSC_JOURNAL_RING_MAX	(1024ull * 1024 * 1024) /* bytes */
#define FSC_JOURNAL_PATH_MAX	4095u /* longest path an entry carries (PATH_MAX - 1) */

/* fsc_journal_header.state */
enum fsc_journal_state {
	FSC_JOURNAL_LIVE = 0,	 /* the writer appends to it */
	FSC_JOURNAL_STOPPED = 1, /* the writer closed it: no more entries will come */
};

struct fsc_journal_header {
	/* Cache line 0: immutable once published; readers validate and copy what they use. */
	alignas(FSC_CACHE_LINE) uint64_t magic;
	uint32_t abi_version;
	uint32_t header_size; /* sizeof(struct fsc_journal_header) */
	uint64_t object_size; /* ring_offset + ring_size; must equal the object's fstat size */
	uint64_t ring_offset; /* == header_size */
	uint64_t ring_size;   /* power of two in [FSC_JOURNAL_RING_MIN, FSC_JOURNAL_RING_MAX] */
	uint64_t journal_id;  /* nonzero, random per journal; the table header names it */
	uint32_t writer_pid;
	uint32_t reserved0;

	/* Cache line 1: position just past the last complete entry. Stored with release
	 * after the entry's words; readers load it with acquire before reading entries. */
	alignas(FSC_CACHE_LINE) _Atomic uint64_t head;

	/* Cache line 2: positions below reclaim may be being overwritten. The writer raises it
	 * (then a release fence) before it stores over an old entry; a reader re-checks it
	 * (after an acquire fence) once it has copied an entry, and discards the copy if the
	 * entry's position fell below it. */
	alignas(FSC_CACHE_LINE) _Atomic uint64_t reclaim;

	/* Cache line 3: the futex word waiting readers sleep on (FUTEX_WAIT on a read-only
	 * shared mapping). The writer increments it (release) after publishing new entries and
	 * then wakes every waiter; 32 bits, as futexes are. */
	alignas(FSC_CACHE_LINE) _Atomic uint32_t wake;
	_Atomic uint32_t state; /* enum fsc_journal_state */
};

/* One entry: four fixed words, then the path (zero-padded), FSC_JOURNAL_ALIGN aligned. */
struct fsc_journal_entry {
	_Atomic uint64_t pos;	     /* the entry's own position: a reader checks it is where it
					looked (catches damage and stale bytes from a lap ago) */
	_Atomic uint64_t meta;	     /* fsc_shm_journal_meta_pack(size, kind, flags, path_len) */
	_Atomic uint64_t change_seq; /* the table's change_seq for this change */
	_Atomic uint64_t what;	     /* FSC_CK_* bits (what happened); bits 32..63 zero */
	_Atomic uint64_t path[];
};
#define FSC_JOURNAL_ENTRY_FIXED 32u
#define FSC_JOURNAL_PAD_MIN	16u /* a pad entry needs pos and meta only */
_Static_assert(sizeof(struct fsc_journal_entry) == FSC_JOURNAL_ENTRY_FIXED, "entry fixed part");
_Static_assert(sizeof(struct fsc_journal_header) == 4 * FSC_CACHE_LINE, "journal header");

/* Entry kinds */
enum fsc_journal_kind {
	FSC_JOURNAL_PAD = 1,	 /* filler to the end of the ring: skip to the next lap */
	FSC_JOURNAL_RECORD = 2,	 /* path's record changed; flags = its FSC_REC_* flags now */
	FSC_JOURNAL_DROPPED = 3, /* path's record was removed from the table (not evicted) */
};

/* Change kinds (fsc_journal_entry.what; fsc.h names them FSC_KIND_* for readers): what fscd
 * saw happen to the path. One entry may carry several (fscd merges the events of one batch
 * for one path); 0 means fscd could not tell (a flag set, a record dropped). */
#define FSC_CK_CREATE	   0x001u /* created, or found new by a scan */
#define FSC_CK_MODIFY	   0x002u /* content modified */
#define FSC_CK_ATTRIB	   0x004u /* mode, owner, times or link count changed */
#define FSC_CK_CLOSE_WRITE 0x008u /* closed after writing */
#define FSC_CK_DELETE	   0x010u /* deleted */
#define FSC_CK_MOVED_FROM  0x020u /* moved away from this path */
#define FSC_CK_MOVED_TO	   0x040u /* moved to this path */
#define FSC_CK_DIR	   0x080u /* the path is (or was) a directory */
#define FSC_CK_RESCAN	   0x100u /* events were lost here; everything at or below rescanned */
#define FSC_CK_MASK	   0x1ffu

static inline uint64_t fsc_shm_journal_meta_pack(uint32_t size, uint32_t kind, uint32_t flags,
						 uint32_t path_len)
{
	return (uint64_t)size | ((uint64_t)(kind & 0xffu) << 24) |
	       ((uint64_t)(flags & 0xffffu) << 32) | ((uint64_t)(path_len & 0xffffu) << 48);
}
static inline uint32_t fsc_shm_journal_meta_size(uint64_t m)
{
	return (uint32_t)(m & 0xffffffu);
}
static inline uint32_t fsc_shm_journal_meta_kind(uint64_t m)
{
	return (uint32_t)((m >> 24) & 0xffu);
}
static inline uint32_t fsc_shm_journal_meta_flags(uint64_t m)
{
	return (uint32_t)((m >> 32) & 0xffffu);
}
static inline uint32_t fsc_shm_journal_meta_path_len(uint64_t m)
{
	return (uint32_t)(m >> 48);
}

/* Bytes an entry for a path of len bytes takes in the ring. */
static inline uint32_t fsc_shm_journal_entry_size(size_t len)
{
	return (uint32_t)((FSC_JOURNAL_ENTRY_FIXED + len + FSC_JOURNAL_ALIGN - 1) &
			  ~(size_t)(FSC_JOURNAL_ALIGN - 1));
}

/* What a reader copied out of one valid header (never re-read from shared memory). */
struct fsc_journal_layout {
	uint64_t ring_offset, ring_size, journal_id;
};

/* "DIR/fsc-journal.NAME" (fsc_shm_dir.h). 0, or -EINVAL for an invalid table name. */
int fsc_shm_journal_name(char *buf, size_t size, const char *name);
/* Checks a mapped journal of object_size bytes; fills *out. 0, or -EPROTO with *why. */
int fsc_shm_journal_validate(const struct fsc_journal_header *h, uint64_t object_size,
			     struct fsc_journal_layout *out, const char **why);

/* The reader's copy of one entry (fsc_shm_journal_read). */
struct fsc_journal_copy {
	uint32_t kind, flags, path_len, size;
	uint64_t change_seq;
	uint32_t what; /* FSC_CK_* bits, masked with FSC_CK_MASK */
};

enum fsc_journal_read_result {
	FSC_JOURNAL_READ_OK,	/* *copy and path hold the entry at pos */
	FSC_JOURNAL_READ_EMPTY, /* pos == head: nothing yet */
	FSC_JOURNAL_READ_LOST,	/* pos was overwritten, is ahead of head, or is damaged */
};

/* Reads the entry at pos into *copy and path (FSC_JOURNAL_PATH_MAX + 1 bytes, NUL-ended).
 * Pad entries are returned as such (kind FSC_JOURNAL_PAD); the caller skips them. */
enum fsc_journal_read_result fsc_shm_journal_read(const struct fsc_journal_header *h,
						  const struct fsc_journal_layout *l, uint64_t pos,
						  struct fsc_journal_copy *copy, char *path);

#endif
