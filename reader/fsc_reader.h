/* libfsc internals shared by reader/ files; not installed, not included by users. */
#ifndef FSC_READER_H
#define FSC_READER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fsc.h"
#include "fsc_shm_journal.h"
#include "fsc_shm_map.h"
#include "fsc_shm_served.h"
#include "fsc_shm_table.h"

/* fsc.h restates, for its users, values the format defines (shm/ is not installed). They are
 * equal by convention only: these tie them, so a change to one side fails to build. */
_Static_assert(FSC_FLAG_NEGATIVE == FSC_REC_NEGATIVE, "fsc_info.flags are the record flags");
_Static_assert(FSC_FLAG_POLLED == FSC_REC_POLLED, "fsc_info.flags are the record flags");
_Static_assert(FSC_FLAG_STALE == FSC_REC_STALE, "fsc_info.flags are the record flags");
_Static_assert(FSC_FLAG_WRITING == FSC_REC_WRITING, "fsc_info.flags are the record flags");
_Static_assert((FSC_FLAG_NEGATIVE | FSC_FLAG_POLLED | FSC_FLAG_STALE | FSC_FLAG_WRITING) ==
		   FSC_REC_MASK,
	       "every record flag has a public name");
/* fsc_change.flags: a journal entry's record flags (FSC_REC_*, masked) or DROPPED */
_Static_assert((FSC_CHANGE_DROPPED & FSC_REC_MASK) == 0, "DROPPED is not a record flag");
/* fsc_shm_journal_read fills FSC_JOURNAL_PATH_MAX bytes and a NUL into fsc_change.path */
_Static_assert(FSC_CHANGE_PATH_MAX == FSC_JOURNAL_PATH_MAX + 1, "fsc_change.path holds any path");
/* fsc_change.kinds are the journal's FSC_CK_* bits */
_Static_assert(FSC_KIND_CREATE == FSC_CK_CREATE && FSC_KIND_MODIFY == FSC_CK_MODIFY &&
		   FSC_KIND_ATTRIB == FSC_CK_ATTRIB && FSC_KIND_CLOSE_WRITE == FSC_CK_CLOSE_WRITE &&
		   FSC_KIND_DELETE == FSC_CK_DELETE && FSC_KIND_MOVED_FROM == FSC_CK_MOVED_FROM &&
		   FSC_KIND_MOVED_TO == FSC_CK_MOVED_TO && FSC_KIND_DIR == FSC_CK_DIR &&
		   FSC_KIND_RESCAN == FSC_CK_RESCAN,
	       "fsc_change.kinds are the journal's change kinds");
/* No result is 0 (a caller testing a result for truth is a bug, not an answer); that the two
 * enums share no value is checked by the switch in fsc_result_name (duplicate cases). */
_Static_assert(FSC_HIT != 0 && FSC_NEGATIVE != 0 && FSC_MISS != 0 && FSC_UNAVAILABLE != 0 &&
		   FSC_CAUGHT_UP != 0 && FSC_CHANGE != 0 && FSC_CURSOR_LOST != 0,
	       "no result is 0");

/* One attached table object. Immutable after attach, so threads share it without locks. */
struct fsc_map {
	const struct fsc_shm_header *base; /* PROT_READ mapping of the whole object */
	size_t map_size;
	struct fsc_shm_layout layout; /* validated private copy of the header geometry */
	_Atomic uint8_t *hints;	      /* writable hit-hint bytes, one per slot, or NULL */
	struct fsc_served *served;    /* validated private copy of what it serves, or NULL */
	struct fsc_map *next_retired;
};

/* One mapped change journal (fsc_journal.c). Immutable after attach. */
struct fsc_jmap {
	const struct fsc_journal_header *base; /* PROT_READ mapping of the whole object */
	size_t map_size;
	struct fsc_journal_layout layout; /* validated private copy */
	struct fsc_jmap *next_old;
};

#define FSC_REQUEST_MEMO	256 /* entries; a power of two */
#define FSC_REQUESTS_PER_SECOND 256

_Static_assert(FSC_TRUSTED_UIDS_MAX == FSC_TRUST_UIDS_MAX, "one bound on trusted uids");

struct fsc {
	/* acquire/release: publishes a fully built fsc_map to threads that load it */
	_Atomic(struct fsc_map *) current;
	_Atomic uint64_t next_attach_ns; /* rate limit for looking for a successor table */
	pthread_mutex_t attach_lock;	 /* serialises re-attach; never taken on a hit */
	struct fsc_map *retired;	 /* replaced maps, kept (neutralised), newest first */
	unsigned nretired;
	struct fsc_map *husks; /* retired maps whose address range a newer map took over */
	/* socket for caching requests (fsc_request.c), made on first use; -1 until then.
	 * Threads race to make it with a compare-and-swap; the loser closes its own. */
	_Atomic int request_fd;
	/* Which missed paths fsc_stat has asked fscd for lately (fsc_request.c), so that a path
	 * fscd will never cache (outside its roots) does not cost a sendto on every miss. */
	_Atomic uint64_t request_memo[FSC_REQUEST_MEMO];
	/* and at most FSC_REQUESTS_PER_SECOND sent on misses: (coarse second << 32) | count */
	_Atomic uint64_t request_budget;
	/* the change journal, mapped on first use (fsc_journal.c); acquire/release like
	 * current. Replaced journals stay reserved (neutralised) until fsc_close. */
	_Atomic(struct fsc_jmap *) journal;
	struct fsc_jmap *old_journals;
	struct fsc_shm_trust trust;  /* whose objects this handle believes (immutable) */
	char name[FSC_ADDR_MAX + 1]; /* the table's address, "DIR/NAME" (fsc_shm_dir.h) */
};

static inline uint64_t fsc_reader_now_coarse_ns(void)
{
	/* CLOCK_MONOTONIC_COARSE is read from the vDSO data page: no system call, ~6 ns here,
	 * and no hardware counter needed, so it never falls back to a real syscall. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

enum fsc_map_status {
	MAP_OK,
	MAP_RETIRED,
	MAP_GONE
};

/* May a lookup answer from this map right now? Checked on every call: no syscall. */
static inline enum fsc_map_status fsc_map_status(const struct fsc_map *m)
{
	/* acquire: pairs with the writer's release store of LIVE at publication, so slots read
	 * after seeing LIVE are at least as new as the table's construction */
	uint32_t state = atomic_load_explicit(&m->base->state, memory_order_acquire);
	if (state == FSC_TABLE_RETIRED)
		return MAP_RETIRED;
	if (state != FSC_TABLE_LIVE || !fsc_shm_writer_alive(m->base))
		return MAP_GONE;
	/* relaxed: the heartbeat is a liveness hint, it orders nothing */
	uint64_t beat = atomic_load_explicit(&m->base->heartbeat_ns, memory_order_relaxed);
	uint64_t now = fsc_reader_now_coarse_ns();
	if (!fsc_shm_heartbeat_fresh(beat, now, m->layout.writer_timeout_ns))
		return MAP_GONE; /* silent (stopped, hung) or forged: do not trust it */
	return MAP_OK;
}
int fsc_map_attach(const fsc_t *c, struct fsc_map **out, const char **why);
/* fsc_stat's miss: sends a caching request unless this path was asked for twice within the
 * last 2 s (twice: fscd admits a path on its second request) or this handle has sent
 * FSC_REQUESTS_PER_SECOND this second already (many distinct misses, e.g. paths outside
 * fscd's roots, then cost about one stat(2) each, not a sendto more). */
void fsc_request_on_miss(fsc_t *c, const char *path);
/* The map to answer from now, re-attaching if the one held was replaced; NULL if none. */
struct fsc_map *fsc_reader_usable_map(fsc_t *c);
/* fsc_lookup that also says which slot answered: on FSC_HIT and FSC_NEGATIVE, *slot (below
 * *slot_count, the answering table's slot count). With info's generation and change_seq it
 * names the record's content: the Python binding keys its memo of built results by it. Not
 * in fsc.h. */
int fsc_reader_lookup_slot(fsc_t *c, const char *path, struct stat *st, struct fsc_info *info,
			   uint64_t *slot, uint64_t *slot_count);
/* Unmaps every journal the handle mapped (fsc_close). */
void fsc_journal_release(fsc_t *c);
/* Called when the map the caller saw is not usable. Returns the map to use now (possibly a
 * new one), or NULL if there is none yet. */
struct fsc_map *fsc_reader_reattach(fsc_t *c, struct fsc_map *seen);

#endif
