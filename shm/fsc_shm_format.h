/* fsc shared-memory table: the on-memory format.
 *
 * This header is the single definition of the layout; shm/PROTOCOL.md explains the protocol
 * and the invariants readers rely on. Both halves (reader/ and writer/) include it; it holds
 * no code that writes.
 *
 * Layout of one table object (a file in a tmpfs object directory, DIR/fsc.<name>: fsc_shm_dir.h):
 *
 *   [0, header_size)                       struct fsc_shm_header
 *   [slots_offset, + slot_count*slot_size) slot_count slots of slot_size bytes each
 *   [that end, + served_size)              what is served (fsc_shm_served.h), if any
 *
 * Every multi-byte field is native-endian; readers reject an object whose magic does not match
 * (which also rejects the other endianness). Every field a reader loads while the writer may
 * be storing is an _Atomic of 8 bytes or less (a 16-byte atomic may compile to cmpxchg16b,
 * which writes and so faults on a PROT_READ mapping).
 */
#ifndef FSC_SHM_FORMAT_H
#define FSC_SHM_FORMAT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#define FSC_SHM_MAGIC	    0x31304c4254435346ull /* "FSCTBL01" read as little-endian bytes */
#define FSC_SHM_ABI_VERSION 1u

#define FSC_SHM_PREFIX "fsc."
#define FSC_NAME_MAX   64 /* bytes of a table name, [A-Za-z0-9._-] only */

#define FSC_CACHE_LINE		  64
#define FSC_SLOT_FIXED_BYTES	  136u	/* bytes of a slot before the inline path */
#define FSC_SLOT_SIZE_MIN	  256u	/* path_max 120 */
#define FSC_SLOT_SIZE_DEFAULT	  512u	/* path_max 376 */
#define FSC_SLOT_SIZE_MAX	  4352u /* path_max 4184 >= PATH_MAX */
#define FSC_SLOT_COUNT_MIN	  64ull
#define FSC_SLOT_COUNT_MAX	  (1ull << 26) /* 64 Mi slots; a bound on what a reader will map */
#define FSC_MAX_PROBE_DEFAULT	  64u
#define FSC_HEARTBEAT_INTERVAL_NS 100000000ull	/* the writer beats every 100 ms */
#define FSC_WRITER_TIMEOUT_NS	  2000000000ull /* silent this long = gone */
/* A heartbeat further ahead of the reader's clock than this is a forgery, not a clock skew: the
 * writer stamps CLOCK_MONOTONIC, which a reader's coarse clock trails by one tick (4-10 ms). */
#define FSC_HEARTBEAT_AHEAD_MAX_NS 1000000000ull
#define FSC_WRITER_TIMEOUT_MIN_NS  200000000ull
#define FSC_WRITER_TIMEOUT_MAX_NS  60000000000ull

/* Table life cycle, in fsc_shm_header.state. */
enum fsc_table_state {
	FSC_TABLE_BUILDING = 0, /* being filled, not yet published (also: all-zero memory) */
	FSC_TABLE_LIVE = 1,	/* published; the writer keeps it current */
	FSC_TABLE_RETIRED = 2,	/* replaced by a newer table at the same name: re-attach */
	FSC_TABLE_STOPPED = 3,	/* the writer exited cleanly: nothing keeps it current */
};

/* Slot state, the low 8 bits of fsc_shm_slot.meta. All-zero memory is an EMPTY slot. */
enum fsc_slot_state {
	FSC_SLOT_EMPTY = 0,	/* never used, or a tombstone no probe chain runs through */
	FSC_SLOT_LIVE = 1,	/* holds a key and its record */
	FSC_SLOT_TOMBSTONE = 2, /* deleted; probes continue past it */
};

/* Record flags, bits 8..31 of meta (shifted down by 8 they are the public FSC_FLAG_* bits). */
#define FSC_REC_NEGATIVE 0x1u /* the path does not exist; stat fields are zero */
#define FSC_REC_POLLED	 0x2u /* kept current by polling, not inotify: check verified_ns */
#define FSC_REC_STALE	 0x4u /* the writer knows it may be out of date: do not trust */
#define FSC_REC_WRITING	 0x8u /* being written: modified, no close-after-write seen since */
#define FSC_REC_MASK	 0xfu

static inline uint64_t fsc_shm_meta_pack(uint32_t state, uint32_t flags, uint32_t path_len)
{
	return (uint64_t)(state & 0xffu) | ((uint64_t)(flags & 0xffffffu) << 8) |
	       ((uint64_t)path_len << 32);
}
static inline uint32_t fsc_shm_meta_state(uint64_t m)
{
	return (uint32_t)(m & 0xffu);
}
static inline uint32_t fsc_shm_meta_flags(uint64_t m)
{
	return (uint32_t)((m >> 8) & 0xffffffu);
}
static inline uint32_t fsc_shm_meta_path_len(uint64_t m)
{
	return (uint32_t)(m >> 32);
}

/* The stat fields of a record, packed into 12 words (96 bytes) so that a slot's fixed part
 * and a path of up to 56 bytes fill exactly three cache lines. Fields that share a word are
 * 32-bit in every Linux filesystem; the writer refuses (never truncates) a value that does
 * not fit: fsc_shm_stat_pack returns false and the path is left to stat(2). */
enum fsc_stat_word {
	FSC_ST_DEV,
	FSC_ST_INO,
	FSC_ST_MODE_NLINK, /* mode | nlink << 32 */
	FSC_ST_UID_GID,	   /* uid | gid << 32 */
	FSC_ST_RDEV,
	FSC_ST_SIZE,
	FSC_ST_BLOCKS,
	FSC_ST_BLKSIZE_ATIME_NSEC, /* blksize | atime nsec << 32 */
	FSC_ST_ATIME_SEC,
	FSC_ST_MTIME_SEC,
	FSC_ST_MTIME_CTIME_NSEC, /* mtime nsec | ctime nsec << 32 */
	FSC_ST_CTIME_SEC,
	FSC_ST_WORDS
};

static inline uint64_t fsc_shm_pack32(uint64_t lo, uint64_t hi)
{
	return (lo & 0xffffffffu) | (hi << 32);
}

static inline bool fsc_shm_fits32(uint64_t v)
{
	return v <= UINT32_MAX;
}

static inline bool fsc_shm_stat_pack(const struct stat *st, uint64_t w[FSC_ST_WORDS])
{
	/* a function, not an inline comparison: on some ABIs these types are 32-bit already */
	if (!fsc_shm_fits32((uint64_t)st->st_nlink) || !fsc_shm_fits32((uint64_t)st->st_blksize) ||
	    !fsc_shm_fits32((uint64_t)st->st_mode) || !fsc_shm_fits32((uint64_t)st->st_uid) ||
	    !fsc_shm_fits32((uint64_t)st->st_gid))
		return false;
	w[FSC_ST_DEV] = (uint64_t)st->st_dev;
	w[FSC_ST_INO] = (uint64_t)st->st_ino;
	w[FSC_ST_MODE_NLINK] = fsc_shm_pack32((uint64_t)st->st_mode, (uint64_t)st->st_nlink);
	w[FSC_ST_UID_GID] = fsc_shm_pack32((uint64_t)st->st_uid, (uint64_t)st->st_gid);
	w[FSC_ST_RDEV] = (uint64_t)st->st_rdev;
	w[FSC_ST_SIZE] = (uint64_t)st->st_size;
	w[FSC_ST_BLOCKS] = (uint64_t)st->st_blocks;
	w[FSC_ST_BLKSIZE_ATIME_NSEC] =
	    fsc_shm_pack32((uint64_t)st->st_blksize, (uint64_t)st->st_atim.tv_nsec);
	w[FSC_ST_ATIME_SEC] = (uint64_t)st->st_atim.tv_sec;
	w[FSC_ST_MTIME_SEC] = (uint64_t)st->st_mtim.tv_sec;
	w[FSC_ST_MTIME_CTIME_NSEC] =
	    fsc_shm_pack32((uint64_t)st->st_mtim.tv_nsec, (uint64_t)st->st_ctim.tv_nsec);
	w[FSC_ST_CTIME_SEC] = (uint64_t)st->st_ctim.tv_sec;
	return true;
}

static inline void fsc_shm_stat_unpack(const uint64_t w[FSC_ST_WORDS], struct stat *st)
{
	/* one compound literal: padding zeroed, each field stored once */
	*st = (struct stat){
	    .st_dev = (dev_t)w[FSC_ST_DEV],
	    .st_ino = (ino_t)w[FSC_ST_INO],
	    .st_mode = (mode_t)(uint32_t)w[FSC_ST_MODE_NLINK],
	    .st_nlink = (nlink_t)(w[FSC_ST_MODE_NLINK] >> 32),
	    .st_uid = (uid_t)(uint32_t)w[FSC_ST_UID_GID],
	    .st_gid = (gid_t)(w[FSC_ST_UID_GID] >> 32),
	    .st_rdev = (dev_t)w[FSC_ST_RDEV],
	    .st_size = (off_t)w[FSC_ST_SIZE],
	    .st_blksize = (__typeof__(st->st_blksize))(uint32_t)w[FSC_ST_BLKSIZE_ATIME_NSEC],
	    .st_blocks = (__typeof__(st->st_blocks))w[FSC_ST_BLOCKS],
	    .st_atim = {(time_t)w[FSC_ST_ATIME_SEC], (long)(w[FSC_ST_BLKSIZE_ATIME_NSEC] >> 32)},
	    .st_mtim = {(time_t)w[FSC_ST_MTIME_SEC], (long)(uint32_t)w[FSC_ST_MTIME_CTIME_NSEC]},
	    .st_ctim = {(time_t)w[FSC_ST_CTIME_SEC], (long)(w[FSC_ST_MTIME_CTIME_NSEC] >> 32)},
	};
}

/* Writer counters in the header; names for tools are in fsc_shm_counter_name(). */
enum fsc_counter {
	FSC_CTR_ENTRIES,	   /* live slots (positive and negative records) */
	FSC_CTR_TOMBSTONES,	   /* tombstone slots */
	FSC_CTR_INSERTS,	   /* keys added */
	FSC_CTR_UPDATES,	   /* records rewritten in place */
	FSC_CTR_REMOVES,	   /* keys removed (tombstoned) */
	FSC_CTR_EVICTIONS,	   /* keys evicted by CLOCK because the table was full */
	FSC_CTR_PROBE_EVICTIONS,   /* keys evicted because a probe window was full */
	FSC_CTR_UNCACHEABLE,	   /* paths refused: longer than path_max */
	FSC_CTR_EVENTS,		   /* inotify events read */
	FSC_CTR_OVERFLOWS,	   /* IN_Q_OVERFLOW seen */
	FSC_CTR_WATCHES,	   /* inotify watches held */
	FSC_CTR_WATCH_FAILURES,	   /* inotify_add_watch failures (ENOSPC, EACCES, ...) */
	FSC_CTR_RESCANS,	   /* full re-verifications */
	FSC_CTR_STATS,		   /* lstat calls made by the writer */
	FSC_CTR_STAT_ERRORS,	   /* lstat failures other than ENOENT/ENOTDIR */
	FSC_CTR_REBUILDS,	   /* replacement tables published by this writer */
	FSC_CTR_POLLED_DIRS,	   /* directories kept current by polling instead of inotify */
	FSC_CTR_POLL_SCANS,	   /* listings of polled directories completed */
	FSC_CTR_POLL_STALLS,	   /* polled listings that hung past their deadline */
	FSC_CTR_REQUESTS,	   /* on-demand caching requests received from readers */
	FSC_CTR_REQUESTS_ADMITTED, /* requests whose path fscd started caching */
	FSC_CTR_REQUESTS_REFUSED,  /* requests outside every root, or malformed */
	FSC_CTR_REBUILD_FAILURES,  /* replacements that could not be made (object directory full) */
	FSC_CTR_REQUESTS_LIMITED,  /* requests dropped: their sender's uid was over its rate */
	FSC_CTR_COUNT
};
#define FSC_COUNTER_SLOTS 31 /* room reserved in the header; FSC_CTR_COUNT <= this */

struct fsc_shm_header {
	/* Cache line 0: immutable once the object is published. Readers validate these at
	 * attach and copy what they use into private memory, so a later scribble here cannot
	 * send them out of bounds. */
	alignas(FSC_CACHE_LINE) uint64_t magic;
	uint32_t abi_version;
	uint32_t header_size;  /* sizeof(struct fsc_shm_header) */
	uint64_t object_size;  /* bytes the writer sized the object to; must equal fstat size */
	uint64_t slots_offset; /* multiple of FSC_CACHE_LINE, >= header_size */
	uint64_t slot_count;   /* power of two in [FSC_SLOT_COUNT_MIN, FSC_SLOT_COUNT_MAX] */
	uint32_t slot_size;    /* multiple of FSC_CACHE_LINE in [SLOT_SIZE_MIN, SLOT_SIZE_MAX] */
	uint32_t max_probe;    /* every live key sits within max_probe slots of its home */
	uint64_t capacity;     /* most live entries the writer keeps (<= slot_count / 2) */
	uint64_t hash_seed;    /* XXH3 seed, random per table (hash-flooding defence) */

	/* Cache line 1: immutable identity and timing. */
	alignas(FSC_CACHE_LINE) uint64_t generation; /* distinct for every table published */
	uint64_t created_realtime_ns;
	uint64_t heartbeat_interval_ns;
	uint64_t writer_timeout_ns; /* readers clamp it to [TIMEOUT_MIN, TIMEOUT_MAX] */
	uint32_t writer_pid;
	/* Bytes of the served region (fsc_shm_served.h: fscd's roots and filters), right after
	 * the slot array; 0 = none published. */
	uint32_t served_size;
	uint64_t journal_id; /* the change journal that goes with this table; 0 = none */
	/* Random (getrandom, chosen before the first publication and the same in every table
	 * that fscd publishes) part of its request socket's address, which nobody can bind
	 * first without knowing it (PROTOCOL.md "Requests"); 0 = no request socket. */
	uint64_t request_nonce;

	/* Cache line 2: life cycle; written a few times per table lifetime. */
	alignas(FSC_CACHE_LINE) _Atomic uint32_t state; /* enum fsc_table_state */
	uint32_t reserved1;
	/* A process-shared robust pthread mutex the writer thread locks at publication and holds
	 * until it exits. Its first 4 bytes are the kernel futex word: the owner's TID while the
	 * writer lives; on any exit (crash, SIGKILL) the kernel's robust-list walk clears the TID
	 * and sets FUTEX_OWNER_DIED. Readers only load that word (fsc_shm_writer_alive()). */
	alignas(8) unsigned char liveness_mutex[48];

	/* Cache line 3: written by the writer every heartbeat_interval_ns (CLOCK_MONOTONIC) and
	 * read by every lookup; alone on its line so record changes do not invalidate it. */
	alignas(FSC_CACHE_LINE) _Atomic uint64_t heartbeat_ns;

	/* Cache lines 4..7: written on every change; readers never touch them on a lookup. */
	alignas(FSC_CACHE_LINE) _Atomic uint64_t change_seq; /* bumped once per record change */
	_Atomic uint64_t counters[FSC_COUNTER_SLOTS]; /* relaxed; for tools, not correctness */
};

struct fsc_shm_slot {
	_Atomic uint64_t seq;	      /* seqlock sequence: odd while the writer rewrites the slot */
	_Atomic uint64_t hash;	      /* XXH3-64 of the path with the table's seed */
	_Atomic uint64_t meta;	      /* fsc_shm_meta_pack(state, flags, path_len) */
	_Atomic uint64_t change_seq;  /* header change_seq when this record last changed */
	_Atomic uint64_t verified_ns; /* CLOCK_MONOTONIC ns when the writer last checked it */
	_Atomic uint64_t st[FSC_ST_WORDS];
	_Atomic uint64_t path[]; /* (slot_size - FIXED) / 8 words; bytes past path_len are 0 */
};

_Static_assert(sizeof(struct fsc_shm_slot) == FSC_SLOT_FIXED_BYTES, "slot fixed part");
_Static_assert(FSC_CTR_COUNT <= FSC_COUNTER_SLOTS, "counter room");
_Static_assert(sizeof(struct fsc_shm_header) == 8 * FSC_CACHE_LINE, "header is 8 lines");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "8-byte atomics must be lock-free (plain loads)");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomic words have plain layout");

static inline uint32_t fsc_shm_slot_path_max(uint32_t slot_size)
{
	return slot_size - FSC_SLOT_FIXED_BYTES;
}

#endif
