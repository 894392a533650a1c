/* fsc-watch's pending changes: what changed since the last run, filled by the journal thread
 * and taken by the main loop when it runs COMMAND. Each path is kept once (a hash set), in
 * the order of its first change, up to FSC_WATCH_CHANGED_PATHS paths and
 * FSC_WATCH_CHANGED_BYTES bytes; past that, or when fscd lost track, the set is marked
 * incomplete. Every function takes the set's mutex: the two threads share it. */
#ifndef FSC_WATCH_PENDING_H
#define FSC_WATCH_PENDING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FSC_WATCH_CHANGED_PATHS 1024
#define FSC_WATCH_CHANGED_BYTES (64 * 1024)

struct fsc_watch_item;

struct fsc_watch_pending {
	pthread_mutex_t lock;
	struct fsc_watch_item *items; /* FSC_WATCH_CHANGED_PATHS of them */
	size_t n, bytes;
	uint32_t *index; /* open addressing: item number + 1, 0 empty */
	size_t index_mask;
	uint64_t changes;	    /* changes counted since the last take, kept or not */
	uint64_t first_ns, last_ns; /* CLOCK_MONOTONIC of the first and the last of them */
	size_t writing;		    /* kept paths whose last change says "being written" */
	bool incomplete;	    /* more than was kept, or fscd lost track */
};

/* What the main loop needs to decide when to run. */
struct fsc_watch_pending_state {
	uint64_t changes, first_ns, last_ns;
	size_t writing;
};

int fsc_watch_pending_init(struct fsc_watch_pending *p); /* 0 or -1 (ENOMEM) */
void fsc_watch_pending_free(struct fsc_watch_pending *p);
/* A change of path (len bytes) with kinds (FSC_KIND_*) and the record's flags after it
 * (FSC_FLAG_*), seen at now_ns. */
void fsc_watch_pending_add(struct fsc_watch_pending *p, const char *path, size_t len,
			   uint32_t kinds, uint32_t flags, uint64_t now_ns);
/* fscd lost track (cursor lost, a rescan): anything may have changed. */
void fsc_watch_pending_lost(struct fsc_watch_pending *p, uint64_t now_ns);
void fsc_watch_pending_peek(struct fsc_watch_pending *p, struct fsc_watch_pending_state *s);
/* Takes the changes for a run and empties the set. Returns FSC_CHANGED's value (malloc'd;
 * NULL on ENOMEM): the paths, one per line, without those that came and went since the
 * last run; when the set was incomplete, then the roots (NULL-terminated) and a last line
 * "...". */
char *fsc_watch_pending_take(struct fsc_watch_pending *p, char *const *roots, size_t nroots);
/* Empties the set without a run (--on-busy signal and do-nothing). */
void fsc_watch_pending_clear(struct fsc_watch_pending *p);

#endif
