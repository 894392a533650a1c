/* The writer half of the table protocol: the one process that stores into a table.
 * fscd uses it; tests and benchmarks use it to build tables. Readers never link it.
 * All functions must be called from one thread (the table's single writer). */
#ifndef FSC_WRITER_H
#define FSC_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fsc_shm_journal.h" /* FSC_CK_*: change kinds */
#include "fsc_shm_served.h"
#include "fsc_shm_table.h"

struct fsc_writer_opts {
	const char *name;   /* table name, NULL = "default" */
	uint64_t capacity;  /* most entries kept; CLOCK evicts beyond it */
	uint32_t slot_size; /* 0 = FSC_SLOT_SIZE_DEFAULT */
	uint32_t max_probe; /* 0 = FSC_MAX_PROBE_DEFAULT */
	mode_t mode;	    /* 0 = 0640; never group- or world-writable */
	gid_t group;	    /* (gid_t)-1 = leave the creator's group */
	/* called for each key CLOCK or a full probe window evicts (e.g. to drop an index) */
	void (*on_evict)(void *ctx, const char *path, size_t len);
	void *evict_ctx;
	/* build first, publish later (fsc_writer_publish): a restarted fscd scans into a table
	 * nobody sees yet while the previous writer keeps serving the name */
	bool defer_publish;
	/* bytes of change journal (rounded up to a power of two, at least 64 KiB); 0 = none */
	uint64_t journal_bytes;
	/* the random part of the request socket's address, stored in the header of every table
	 * this writer publishes (PROTOCOL.md "Requests"); 0 = no request socket */
	uint64_t request_nonce;
	/* what this writer's tables serve (roots and filters), published in each for readers'
	 * fsc_covers and tools; read during fsc_writer_open only. NULL = none published */
	const struct fsc_served_spec *served;
};

struct fsc_writer;

/* Creates a table and publishes it under the name, taking over from any table there (which
 * is marked retired). Returns 0, or -errno with *why (a sentence for the operator).
 * With opts->defer_publish the table is built under a private name until fsc_writer_publish. */
int fsc_writer_open(struct fsc_writer **out, const struct fsc_writer_opts *opts, const char **why);
/* Publishes a table opened with defer_publish (no-op if published). 0 or -errno with *why. */
int fsc_writer_publish(struct fsc_writer *w, const char **why);
/* Marks the table stopped and removes the name if it is still ours. */
void fsc_writer_close(struct fsc_writer *w);
/* Marks the table retired without removing the name (a successor owns it). */
void fsc_writer_abandon(struct fsc_writer *w);
/* Resolves table name (a name or "DIR/NAME", fsc_shm_dir.h) into its address in addr and
 * makes sure its object directory can be published in: made (0755) if it is a default one
 * and missing, owned by root or this euid, like every directory above it, and writable by
 * nobody else (what readers will check). 0, or -errno with *why. fsc_writer_open calls it. */
int fsc_wdir_prepare(const char *name, char *addr, size_t size, const char **why);
/* Removes from the object directory what dead writers of table name left behind, objects of this
 * euid only (shm/PROTOCOL.md "Leftovers"): to be called before this process creates any object of
 * the name. *count and *bytes: what was removed. 0, or -errno (-EINVAL: bad name). */
int fsc_writer_remove_leftovers(const char *name, uint64_t *count, uint64_t *bytes);

/* Insert or update the record for path. flags: FSC_REC_POLLED/STALE/WRITING. 0, or -ENAMETOOLONG
 * (path longer than the table's path_max: counted, not stored), -EINVAL (not cacheable). */
int fsc_writer_put(struct fsc_writer *w, const char *path, size_t len, const struct stat *st,
		   uint32_t flags);
/* fsc_writer_put with the time the stat was made (CLOCK_MONOTONIC ns, fsc_writer_now_ns's
 * clock) as the record's verified time, for stats made on another thread some time ago. */
int fsc_writer_put_at(struct fsc_writer *w, const char *path, size_t len, const struct stat *st,
		      uint32_t flags, uint64_t verified_ns);
/* Record that path does not exist (negative entry). */
int fsc_writer_put_negative(struct fsc_writer *w, const char *path, size_t len);
/* The same, with flags (FSC_REC_POLLED) and the time the absence was seen. */
int fsc_writer_put_negative_at(struct fsc_writer *w, const char *path, size_t len, uint32_t flags,
			       uint64_t verified_ns);
/* Change kinds: seen is what the caller saw happen to path (FSC_CK_* of fsc_shm_journal.h, from
 * inotify events; 0: nothing). The journal entry of the change carries seen completed by
 * comparing the record before and after (the put and remove functions above do only the
 * comparison). A seen CLOSE_WRITE or RESCAN is journalled even if the record is unchanged.
 * put_seen with st NULL is put_negative_at. Same results as put_at and remove. */
int fsc_writer_put_seen(struct fsc_writer *w, const char *path, size_t len, const struct stat *st,
			uint32_t flags, uint64_t verified_ns, uint32_t seen);
int fsc_writer_remove_seen(struct fsc_writer *w, const char *path, size_t len, uint32_t seen);
/* Flags path's record FSC_REC_STALE, keeping the rest (its verified time too): fscd can no
 * longer vouch for it. The next put clears it. 0, or -ENOENT if path is not in the table. */
int fsc_writer_mark_stale(struct fsc_writer *w, const char *path, size_t len);
/* Forget path entirely (tombstone). 0, or -ENOENT if it was not there. */
int fsc_writer_remove(struct fsc_writer *w, const char *path, size_t len);
/* Is path in the table? Fills flags if so. */
bool fsc_writer_contains(struct fsc_writer *w, const char *path, size_t len, uint32_t *flags);
/* The record for path, if any: its stat fields (zero for a negative entry) and flags. */
bool fsc_writer_get(struct fsc_writer *w, const char *path, size_t len, struct stat *st,
		    uint32_t *flags);

/* Which paths may be published at all (fscd: those its table's audience could stat, see
 * shm/PROTOCOL.md "Audience"). A put or negative put of a path the gate refuses removes the
 * path's record instead, if there is one (a DROPPED journal entry: readers ask stat(2)), adds
 * nothing, and returns -EACCES. fn NULL (the default): every path may be published. */
typedef bool (*fsc_writer_gate_fn)(void *ctx, const char *path, size_t len);
void fsc_writer_set_gate(struct fsc_writer *w, fsc_writer_gate_fn fn, void *ctx);

/* Visit every live key with its record. The callback must not change the table (a put may
 * compact it into a new object): collect what to change, then change it afterwards. */
typedef void (*fsc_writer_visit_fn)(void *ctx, const char *path, size_t len, uint32_t flags,
				    const struct stat *st);
void fsc_writer_foreach(struct fsc_writer *w, fsc_writer_visit_fn fn, void *ctx);
/* Visits the live keys in slots [start, start + count) (wrapping) and returns the slot to
 * start from next time: a cursor for work spread over time (the backstop sweep). A
 * replacement may reorder keys under a cursor; a sweep then visits some twice, some later. */
uint64_t fsc_writer_visit_range(struct fsc_writer *w, uint64_t start, uint64_t count,
				fsc_writer_visit_fn fn, void *ctx);

/* Publishes a new table with the given capacity holding every live entry, and retires the
 * current one (replacement: tables are never resized in place). 0 or -errno with *why. */
int fsc_writer_replace(struct fsc_writer *w, uint64_t capacity, const char **why);

/* Why the change journal asked for (opts.journal_bytes) could not be made, or NULL. The
 * writer then runs without one (readers' fsc_journal_start says ENOENT). */
const char *fsc_writer_journal_error(const struct fsc_writer *w);
/* Why the last compaction failed, or NULL if none has (counter FSC_CTR_REBUILD_FAILURES,
 * "rebuild_failures", counts them); a sentence for the operator. */
const char *fsc_writer_last_error(const struct fsc_writer *w);

void fsc_writer_heartbeat(struct fsc_writer *w);
/* Wakes readers waiting on the change journal (fsc_journal_wait) if it grew since the last
 * call: one system call. Call it once per batch of changes, not after each. */
void fsc_writer_journal_wake(struct fsc_writer *w);
/* Is the published name still our table? false once another writer took over. */
bool fsc_writer_owns_name(struct fsc_writer *w);
void fsc_writer_count(struct fsc_writer *w, enum fsc_counter c, uint64_t delta);
void fsc_writer_set_counter(struct fsc_writer *w, enum fsc_counter c, uint64_t value);

const struct fsc_shm_header *fsc_writer_header(const struct fsc_writer *w);
const struct fsc_shm_layout *fsc_writer_layout(const struct fsc_writer *w);
/* The slot index holding path, or -1. For tests of placement and eviction. */
int64_t fsc_writer_slot_of(struct fsc_writer *w, const char *path, size_t len);

uint64_t fsc_writer_now_ns(void);
/* 64 random bits from getrandom (retried when interrupted), never 0: for seeds, ids, names
 * and nonces nobody may predict. 0, or -errno. */
int fsc_writer_random64(uint64_t *out);

#endif
