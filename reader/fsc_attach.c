/* libfsc: attaching to a published table, re-attaching after replacement, detaching.
 * The lookup path is in fsc_lookup.c; the open, checks and mmap of an object are
 * shm/fsc_shm_map.c's; this file keeps the handle's maps (retiring, neutralising, recycling). */
#define _GNU_SOURCE
#include "fsc_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fsc_shm_map.h"
#include "fsc_shm_table.h"

/* Replaced maps kept reserved per handle before their ranges are reused. */
#define FSC_RETIRED_MAPS_MAX 8
/* After the table is found dead or stopped, look for a new one at most this often. */
#define FSC_REATTACH_INTERVAL_NS 100000000ull

int fsc_map_attach(const fsc_t *c, struct fsc_map **out, const char **why)
{
	struct fsc_shm_mapping table, hints;
	struct fsc_shm_layout layout;
	const char *name = c->name;
	int rc = fsc_shm_map_table(name, &c->trust, &table, &layout, why);
	if (rc)
		return rc;
	struct fsc_map *m = calloc(1, sizeof(*m));
	/* what it serves: copied and checked now, like the header (a damaged region: EPROTO) */
	rc = m ? fsc_shm_served_parse(table.base, table.size, &layout, &m->served, why) : -ENOMEM;
	if (rc) {
		free(m);
		fsc_shm_unmap(&table);
		return rc;
	}
	m->base = table.base;
	m->map_size = table.size;
	m->layout = layout;
	/* no hints (not ours, or no write permission) is fine: hits just do not inform CLOCK */
	m->hints = fsc_shm_map_hints(name, &layout, &hints) == 0 ? hints.base : NULL;
	*out = m;
	return 0;
}

/* Replace a detached map's memory with inaccessible-to-harm zero pages instead of unmapping:
 * another thread may still be inside a lookup on it. Zero memory reads as a BUILDING table
 * with EMPTY slots, so such a lookup ends in a miss and never faults. The shm pages are
 * released now; only the address range stays reserved until fsc_close. */
static void fsc_map_neutralize(struct fsc_map *m)
{
	mmap((void *)m->base, m->map_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
	     0);
	if (m->hints)
		mmap(m->hints, m->layout.slot_count, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void fsc_map_free(struct fsc_map *m)
{
	munmap((void *)m->base, m->map_size);
	if (m->hints)
		munmap(m->hints, m->layout.slot_count);
	free(m->served);
	free(m);
}

static bool map_usable(const struct fsc_map *m)
{
	return fsc_map_status(m) == MAP_OK;
}

fsc_t *fsc_open_with(const struct fsc_open_options *opts)
{
	const char *name = opts && opts->name ? opts->name : "default";
	char addr[FSC_ADDR_MAX + 1];
	/* the address is resolved once (fsc_shm_dir.h): every re-attach looks in the same
	 * directory, whatever happens to the environment meanwhile */
	if (fsc_shm_addr_resolve(name, addr, sizeof(addr)) ||
	    (opts && opts->n_trusted_uids > FSC_TRUST_UIDS_MAX) ||
	    (opts && opts->n_trusted_uids && !opts->trusted_uids)) {
		errno = EINVAL;
		return NULL;
	}
	struct fsc *c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	/* FSC_TRUSTED_UIDS first, then the caller's: a broken variable is an error, not a
	 * silent change of whom this handle believes */
	int rc = fsc_shm_trust_from_env(&c->trust);
	for (unsigned i = 0; !rc && opts && i < opts->n_trusted_uids; i++) {
		if (c->trust.n >= FSC_TRUST_UIDS_MAX)
			rc = -E2BIG;
		else
			c->trust.uids[c->trust.n++] = opts->trusted_uids[i];
	}
	if (rc) {
		free(c);
		errno = rc == -E2BIG ? E2BIG : EINVAL;
		return NULL;
	}
	strcpy(c->name, addr);
	atomic_init(&c->request_fd, -1);
	for (unsigned i = 0; i < FSC_REQUEST_MEMO; i++)
		atomic_init(&c->request_memo[i], 0);
	atomic_init(&c->request_budget, 0);
	atomic_init(&c->journal, NULL);
	pthread_mutex_init(&c->attach_lock, NULL);
	struct fsc_map *m;
	const char *why;
	rc = fsc_map_attach(c, &m, &why);
	if (rc == 0 && !map_usable(m)) {
		fsc_map_free(m);
		rc = -ESRCH;
	}
	if (rc) {
		pthread_mutex_destroy(&c->attach_lock);
		free(c);
		errno = -rc;
		return NULL;
	}
	atomic_store_explicit(&c->current, m, memory_order_release);
	return c;
}

fsc_t *fsc_open(const char *name)
{
	struct fsc_open_options opts = {.name = name};
	return fsc_open_with(&opts);
}

void fsc_close(fsc_t *c)
{
	if (!c)
		return;
	struct fsc_map *m = atomic_load_explicit(&c->current, memory_order_acquire);
	if (m)
		fsc_map_free(m);
	while (c->retired) {
		struct fsc_map *next = c->retired->next_retired;
		fsc_map_free(c->retired);
		c->retired = next;
	}
	while (c->husks) { /* their ranges belong to maps freed above */
		struct fsc_map *next = c->husks->next_retired;
		free(c->husks->served);
		free(c->husks);
		c->husks = next;
	}
	int fd = atomic_load_explicit(&c->request_fd, memory_order_relaxed);
	if (fd >= 0)
		close(fd);
	fsc_journal_release(c);
	pthread_mutex_destroy(&c->attach_lock);
	free(c);
}

static bool same_geometry(const struct fsc_map *a, const struct fsc_map *b)
{
	return a->map_size == b->map_size && a->layout.slot_count == b->layout.slot_count &&
	       a->layout.slot_size == b->layout.slot_size &&
	       a->layout.slots_offset == b->layout.slots_offset && !a->hints == !b->hints;
}

/* Bounds what replacements cost a long-running reader: without this, every compaction would
 * leave one more reserved range (and VMA) until fsc_close, and enough of them would reach
 * vm.max_map_count. The not-yet-published map m moves (mremap) onto the oldest retired
 * range of the same geometry. A thread still inside a lookup that began on that old map
 * then reads a valid table of the same shape through it: never a fault, and its answer is
 * still a seqlock-validated, fully compared record (or a miss). */
static void fsc_map_recycle_oldest(fsc_t *c, struct fsc_map *m)
{
	struct fsc_map **link = NULL, *old = NULL;
	for (struct fsc_map **p = &c->retired; *p; p = &(*p)->next_retired)
		if (same_geometry(*p, m)) {
			link = p;
			old = *p;
		}
	if (!old)
		return;
	void *base = mremap((void *)m->base, m->map_size, m->map_size,
			    MREMAP_MAYMOVE | MREMAP_FIXED, (void *)old->base);
	if (base == MAP_FAILED)
		return;
	m->base = base;
	if (m->hints) {
		void *h = mremap(m->hints, m->layout.slot_count, m->layout.slot_count,
				 MREMAP_MAYMOVE | MREMAP_FIXED, old->hints);
		if (h != MAP_FAILED)
			m->hints = h;
		else
			old->hints = NULL; /* keeps its range (stale threads); not ours to free */
	}
	*link = old->next_retired;
	c->nretired--;
	old->next_retired = c->husks;
	c->husks = old;
}

/* Opens the table published under name, if it is usable and not generation not_gen. A
 * table found retired already has a successor (a compaction can follow another within
 * microseconds): look again at once, a bounded number of times, rather than back off. */
static struct fsc_map *fsc_map_attach_usable(const fsc_t *c, uint64_t not_gen)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		struct fsc_map *m;
		const char *why;
		if (fsc_map_attach(c, &m, &why) != 0)
			return NULL;
		enum fsc_map_status st = fsc_map_status(m);
		if (st == MAP_OK && m->layout.generation != not_gen)
			return m;
		fsc_map_free(m);
		if (st != MAP_RETIRED)
			return NULL; /* dead, stopped or the same table: the caller backs off */
	}
	return NULL;
}

struct fsc_map *fsc_reader_reattach(fsc_t *c, struct fsc_map *seen)
{
	uint64_t now = fsc_reader_now_coarse_ns();
	/* After an attempt that found no usable successor, look again at most every 100 ms, so
	 * callers that fall back to stat(2) do not also pay shm_open on every call. A table
	 * retired by a takeover has its successor published already: the first attempt after
	 * a success is never delayed. */
	if (now < atomic_load_explicit(&c->next_attach_ns, memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&c->attach_lock);
	struct fsc_map *cur = atomic_load_explicit(&c->current, memory_order_acquire);
	if (cur != seen) {
		/* another thread re-attached while we waited */
		pthread_mutex_unlock(&c->attach_lock);
		return cur;
	}
	struct fsc_map *result = fsc_map_attach_usable(c, seen->layout.generation);
	if (result) {
		if (c->nretired >= FSC_RETIRED_MAPS_MAX)
			fsc_map_recycle_oldest(c, result); /* before anyone else can see result */
		/* release: a thread that loads the new pointer sees its initialised fields */
		atomic_store_explicit(&c->current, result, memory_order_release);
		fsc_map_neutralize(seen);
		seen->next_retired = c->retired;
		c->retired = seen;
		c->nretired++;
	} else {
		atomic_store_explicit(&c->next_attach_ns, now + FSC_REATTACH_INTERVAL_NS,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&c->attach_lock);
	return result;
}
