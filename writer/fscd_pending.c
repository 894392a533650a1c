#include "fscd_pending.h"

#include <stdlib.h>
#include <string.h>

#include "fscd_log.h"

void fscd_pending_add(struct fscd_pending *p, const char *path)
{
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		char **n = realloc(p->paths, cap * sizeof(*n));
		if (!n) {
			fscd_log(FSCD_LOG_ERROR, "out of memory queueing %s", path);
			return;
		}
		p->paths = n;
		p->cap = cap;
	}
	char *copy = strdup(path);
	if (copy)
		p->paths[p->count++] = copy;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fscd_pending_flush(struct fscd_pending *p, void (*fn)(void *ctx, const char *path), void *ctx)
{
	/* fn may add more paths (it does not today); take the batch first */
	char **batch = p->paths;
	size_t n = p->count;
	p->paths = NULL;
	p->count = p->cap = 0;
	if (n > 1)
		qsort(batch, n, sizeof(*batch), by_string);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(batch[i], batch[i - 1]) != 0)
			fn(ctx, batch[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(batch[i]);
	free(batch);
}

void fscd_pending_free(struct fscd_pending *p)
{
	for (size_t i = 0; i < p->count; i++)
		free(p->paths[i]);
	free(p->paths);
	*p = (struct fscd_pending){0};
}
