/* The set of paths to re-stat at the end of an event-loop pass. Adding a path many times
 * costs one stat at flush: this is how a file written 100,000 times between two passes is
 * stat'ed once. A hash set over one string arena: adding a path costs no allocation once the
 * set has grown to a pass's size, and a flushed set's memory is kept for the next pass
 * (unless it grew past FSCD_PENDING_KEEP paths, as a full re-verification makes it). */
#ifndef FSCD_PENDING_H
#define FSCD_PENDING_H

#include <stddef.h>
#include <stdint.h>

/* A set at most this big keeps its memory once flushed; a bigger one is freed. */
#define FSCD_PENDING_KEEP 4096

struct fscd_pending_entry {
	size_t off; /* in the arena */
	size_t len;
	uint64_t hash;
	uint32_t seen; /* FSC_CK_* seen for the path since the last flush, and FSCD_SEEN_* */
};

/* With the FSC_CK_* bits of fscd_pending_add_seen: the last event that said anything about
 * the path being written. FSC_CK_MODIFY sets WRITING (and clears DONE); FSC_CK_CLOSE_WRITE
 * and FSC_CK_MOVED_TO set DONE (and clear WRITING): so the order of events within one batch
 * decides, which the merged kinds alone cannot tell. */
#define FSCD_SEEN_WRITING 0x40000000u
#define FSCD_SEEN_DONE	  0x20000000u

struct fscd_pending_set {
	char *arena; /* the paths, each NUL-terminated, back to back */
	size_t arena_used, arena_size;
	struct fscd_pending_entry *entries; /* in the order first added */
	size_t count, cap;
	uint32_t *slots; /* open addressing: 1 + index in entries; 0 is empty */
	size_t mask;	 /* number of slots - 1; 0 before the first add */
};

/* All zeros is an empty set. */
struct fscd_pending {
	struct fscd_pending_set cur;
	struct fscd_pending_set spare; /* the last flushed set's memory, emptied */
};

void fscd_pending_add(struct fscd_pending *p, const char *path);
/* The same, len being strlen(path). */
void fscd_pending_add_len(struct fscd_pending *p, const char *path, size_t len);
/* The same, with what was seen happen to it (FSC_CK_* bits, from an inotify event): merged
 * with what earlier adds of the path saw, for fscd_pending_flush_seen. */
void fscd_pending_add_seen(struct fscd_pending *p, const char *path, size_t len, uint32_t seen);
/* Calls fn once per distinct path (in the order first added), then empties the set. Paths
 * fn adds go into the set again, for the next flush. */
void fscd_pending_flush(struct fscd_pending *p, void (*fn)(void *ctx, const char *path, size_t len),
			void *ctx);
/* The same, giving fn what was seen (FSC_CK_* and FSCD_SEEN_* bits; 0 if only queued). */
void fscd_pending_flush_seen(struct fscd_pending *p,
			     void (*fn)(void *ctx, const char *path, size_t len, uint32_t seen),
			     void *ctx);
size_t fscd_pending_count(const struct fscd_pending *p);
void fscd_pending_free(struct fscd_pending *p);

#endif
