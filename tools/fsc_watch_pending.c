/* fsc-watch's pending changes (see fsc_watch_pending.h). */
#define _GNU_SOURCE
#include "fsc_watch_pending.h"

#include <stdlib.h>
#include <string.h>

#include "fsc.h"

#define FSC_WATCH_INDEX_SLOTS (FSC_WATCH_CHANGED_PATHS * 4) /* a power of two, 1/4 full */

struct fsc_watch_item {
	char *path;
	size_t len;
	uint64_t hash;
	bool born;    /* its first change this time made it (create, moved here) */
	bool gone;    /* its last change took it away (deleted, moved away) */
	bool writing; /* its last change left it being written */
};

int fsc_watch_pending_init(struct fsc_watch_pending *p)
{
	*p = (struct fsc_watch_pending){0};
	p->items = calloc(FSC_WATCH_CHANGED_PATHS, sizeof(*p->items));
	p->index = calloc(FSC_WATCH_INDEX_SLOTS, sizeof(*p->index));
	p->index_mask = FSC_WATCH_INDEX_SLOTS - 1;
	if (!p->items || !p->index || pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p->items);
		free(p->index);
		return -1;
	}
	return 0;
}

/* FNV-1a: paths are not chosen by an adversary who gains anything from collisions here (a
 * slower set, bounded by FSC_WATCH_CHANGED_PATHS) */
static uint64_t fsc_watch_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* the index slot of path: its item's, or the empty one where it would go */
static size_t fsc_watch_slot(const struct fsc_watch_pending *p, const char *path, size_t len,
			     uint64_t hash)
{
	size_t i = hash & p->index_mask;
	for (;; i = (i + 1) & p->index_mask) {
		uint32_t k = p->index[i];
		if (k == 0)
			return i;
		const struct fsc_watch_item *it = &p->items[k - 1];
		if (it->hash == hash && it->len == len && memcmp(it->path, path, len) == 0)
			return i;
	}
}

static void fsc_watch_reset(struct fsc_watch_pending *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].path);
		p->items[i].path = NULL;
	}
	memset(p->index, 0, FSC_WATCH_INDEX_SLOTS * sizeof(*p->index));
	p->n = p->bytes = p->writing = 0;
	p->changes = p->first_ns = p->last_ns = 0;
	p->incomplete = false;
}

void fsc_watch_pending_free(struct fsc_watch_pending *p)
{
	fsc_watch_reset(p);
	free(p->items);
	free(p->index);
	pthread_mutex_destroy(&p->lock);
}

static void fsc_watch_count(struct fsc_watch_pending *p, uint64_t now_ns)
{
	if (p->changes++ == 0)
		p->first_ns = now_ns;
	p->last_ns = now_ns;
}

void fsc_watch_pending_add(struct fsc_watch_pending *p, const char *path, size_t len,
			   uint32_t kinds, uint32_t flags, uint64_t now_ns)
{
	uint64_t hash = fsc_watch_hash(path, len);
	pthread_mutex_lock(&p->lock);
	fsc_watch_count(p, now_ns);
	size_t slot = fsc_watch_slot(p, path, len, hash);
	struct fsc_watch_item *it = NULL;
	if (p->index[slot]) {
		it = &p->items[p->index[slot] - 1];
	} else if (p->n < FSC_WATCH_CHANGED_PATHS &&
		   p->bytes + len + 1 <= FSC_WATCH_CHANGED_BYTES &&
		   (it = &p->items[p->n], it->path = strndup(path, len)) != NULL) {
		it->len = len;
		it->hash = hash;
		it->born = (kinds & (FSC_KIND_CREATE | FSC_KIND_MOVED_TO)) != 0;
		it->writing = false;
		p->index[slot] = (uint32_t)++p->n;
		p->bytes += len + 1;
	} else {
		p->incomplete = true; /* full (or out of memory): the list will say so */
		pthread_mutex_unlock(&p->lock);
		return;
	}
	it->gone = (kinds & (FSC_KIND_DELETE | FSC_KIND_MOVED_FROM)) ||
		   (flags & (FSC_FLAG_NEGATIVE | FSC_CHANGE_DROPPED));
	bool writing = (flags & FSC_FLAG_WRITING) && !it->gone;
	p->writing += (size_t)writing - (size_t)it->writing;
	it->writing = writing;
	pthread_mutex_unlock(&p->lock);
}

void fsc_watch_pending_lost(struct fsc_watch_pending *p, uint64_t now_ns)
{
	pthread_mutex_lock(&p->lock);
	fsc_watch_count(p, now_ns);
	p->incomplete = true;
	pthread_mutex_unlock(&p->lock);
}

void fsc_watch_pending_peek(struct fsc_watch_pending *p, struct fsc_watch_pending_state *s)
{
	pthread_mutex_lock(&p->lock);
	*s = (struct fsc_watch_pending_state){
	    .changes = p->changes,
	    .first_ns = p->first_ns,
	    .last_ns = p->last_ns,
	    .writing = p->writing,
	};
	pthread_mutex_unlock(&p->lock);
}

char *fsc_watch_pending_take(struct fsc_watch_pending *p, char *const *roots, size_t nroots)
{
	pthread_mutex_lock(&p->lock);
	size_t size = p->bytes + 8;
	for (size_t i = 0; p->incomplete && i < nroots; i++)
		size += strlen(roots[i]) + 1;
	char *out = malloc(size), *w = out;
	for (size_t i = 0; out && i < p->n; i++) {
		const struct fsc_watch_item *it = &p->items[i];
		if (it->born && it->gone) /* came and went: an editor's or sed's temporary file */
			continue;
		memcpy(w, it->path, it->len);
		w += it->len;
		*w++ = '\n';
	}
	if (out && p->incomplete) {
		for (size_t i = 0; i < nroots; i++)
			w = stpcpy(stpcpy(w, roots[i]), "\n");
		w = stpcpy(w, "...\n");
	}
	if (out) {
		if (w > out)
			w--; /* no newline after the last line */
		*w = '\0';
	}
	fsc_watch_reset(p);
	pthread_mutex_unlock(&p->lock);
	return out;
}

void fsc_watch_pending_clear(struct fsc_watch_pending *p)
{
	pthread_mutex_lock(&p->lock);
	fsc_watch_reset(p);
	pthread_mutex_unlock(&p->lock);
}
