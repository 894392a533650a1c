/* The set of paths to re-stat at the end of an event-loop pass. Adding a path many times
 * costs one stat at flush: this is how a file written 100,000 times between two passes is
 * stat'ed once. */
#ifndef FSCD_PENDING_H
#define FSCD_PENDING_H

#include <stddef.h>

struct fscd_pending {
	char **paths;
	size_t count;
	size_t cap;
};

void fscd_pending_add(struct fscd_pending *p, const char *path);
/* Calls fn once per distinct path (sorted order), then empties the set. */
void fscd_pending_flush(struct fscd_pending *p, void (*fn)(void *ctx, const char *path), void *ctx);
void fscd_pending_free(struct fscd_pending *p);

#endif
