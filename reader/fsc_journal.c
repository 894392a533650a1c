/* libfsc: the change journal ("what changed since cursor X"). Reading entries makes no system
 * call; mapping the journal (once per fscd run) and waiting for entries do. The format and
 * the reader's copy protocol are in shm/fsc_shm_journal.[ch], the rules in PROTOCOL.md. */
#define _GNU_SOURCE
#include "fsc_reader.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fsc_shm_map.h"

/* A waiter re-checks that fscd is alive at least this often (death sends no wake-up). */
#define FSC_JOURNAL_WAIT_SLICE_MS 500

static int jmap_open(const fsc_t *c, struct fsc_jmap **out)
{
	struct fsc_shm_mapping map;
	struct fsc_journal_layout layout;
	const char *why;
	/* the checks (kind, mode: anyone could forge entries in a world-writable journal, size,
	 * header) are fsc_shm_map's, as for tables */
	int rc = fsc_shm_map_journal(c->name, &c->trust, &map, &layout, &why);
	if (rc)
		return rc;
	struct fsc_jmap *j = calloc(1, sizeof(*j));
	if (!j) {
		fsc_shm_unmap(&map);
		return -ENOMEM;
	}
	j->base = map.base;
	j->map_size = map.size;
	j->layout = layout;
	*out = j;
	return 0;
}

/* Zero pages over a replaced journal instead of unmapping it: another thread may be reading
 * it. Zeros read as head 0, so a cursor there is lost or caught up, never fed garbage. */
static void jmap_neutralize(struct fsc_jmap *j)
{
	mmap((void *)j->base, j->map_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
	     0);
}

/* The mapped journal with this id, mapping the published one if needed. NULL with errno:
 * EAGAIN when the published journal is another one (a takeover is under way). */
static struct fsc_jmap *journal_for(fsc_t *c, uint64_t id)
{
	/* acquire: pairs with the release store below; the map's fields are initialised */
	struct fsc_jmap *j = atomic_load_explicit(&c->journal, memory_order_acquire);
	if (j && j->layout.journal_id == id)
		return j;
	pthread_mutex_lock(&c->attach_lock);
	j = atomic_load_explicit(&c->journal, memory_order_acquire);
	struct fsc_jmap *fresh = NULL;
	int rc = j && j->layout.journal_id == id ? 0 : jmap_open(c, &fresh);
	if (fresh && fresh->layout.journal_id != id) {
		munmap((void *)fresh->base, fresh->map_size);
		free(fresh);
		fresh = NULL;
		rc = -EAGAIN;
	}
	if (fresh) {
		/* release: a thread that loads the pointer sees the map's fields */
		atomic_store_explicit(&c->journal, fresh, memory_order_release);
		if (j) {
			jmap_neutralize(j);
			j->next_old = c->old_journals;
			c->old_journals = j;
		}
		j = fresh;
	}
	pthread_mutex_unlock(&c->attach_lock);
	if (rc)
		errno = -rc;
	return rc ? NULL : j;
}

void fsc_journal_release(fsc_t *c)
{
	struct fsc_jmap *j = atomic_load_explicit(&c->journal, memory_order_acquire);
	if (j) {
		j->next_old = c->old_journals;
		c->old_journals = j;
	}
	while (c->old_journals) {
		struct fsc_jmap *next = c->old_journals->next_old;
		munmap((void *)c->old_journals->base, c->old_journals->map_size);
		free(c->old_journals);
		c->old_journals = next;
	}
}

static bool journal_stopped(const struct fsc_jmap *j)
{
	/* acquire: pairs with the writer's release store of STOPPED */
	return atomic_load_explicit(&j->base->state, memory_order_acquire) != FSC_JOURNAL_LIVE;
}

/* The journal a cursor reads, if the cursor is still good: fscd alive and serving a table
 * that names this journal. NULL means lost. */
static struct fsc_jmap *cursor_journal(fsc_t *c, const fsc_cursor_t *cur)
{
	struct fsc_map *m = fsc_reader_usable_map(c);
	/* journal_id is in the table header's immutable part: a plain load */
	if (!m || m->base->journal_id != cur->journal_id || cur->journal_id == 0)
		return NULL;
	struct fsc_jmap *j = journal_for(c, cur->journal_id);
	return j && !journal_stopped(j) ? j : NULL;
}

int fsc_journal_start(fsc_t *c, fsc_cursor_t *cur)
{
	if (!c || !cur) {
		errno = EINVAL;
		return -1;
	}
	struct fsc_map *m = fsc_reader_usable_map(c);
	if (!m) {
		errno = ESRCH;
		return -1;
	}
	uint64_t id = m->base->journal_id;
	if (id == 0) {
		errno = ENOENT;
		return -1;
	}
	struct fsc_jmap *j = journal_for(c, id);
	if (!j)
		return -1;
	if (journal_stopped(j)) {
		errno = ESRCH;
		return -1;
	}
	/* acquire: every change before this head is in the table for the caller's baseline */
	*cur = (fsc_cursor_t){.journal_id = id,
			      .pos = atomic_load_explicit(&j->base->head, memory_order_acquire)};
	return 0;
}

int fsc_journal_next(fsc_t *c, fsc_cursor_t *cur, struct fsc_change *ch)
{
	if (!c || !cur || !ch) {
		errno = EINVAL;
		return -1;
	}
	struct fsc_jmap *j = cursor_journal(c, cur);
	if (!j)
		return FSC_CURSOR_LOST;
	uint64_t pos = cur->pos;
	for (int step = 0; step < 2; step++) { /* at most one pad before an entry */
		struct fsc_journal_copy e;
		switch (fsc_shm_journal_read(j->base, &j->layout, pos, &e, ch->path)) {
		case FSC_JOURNAL_READ_EMPTY:
			cur->pos = pos;
			return FSC_CAUGHT_UP;
		case FSC_JOURNAL_READ_LOST:
			return FSC_CURSOR_LOST;
		case FSC_JOURNAL_READ_OK:
			break;
		}
		pos += e.size;
		if (e.kind == FSC_JOURNAL_PAD)
			continue;
		ch->change_seq = e.change_seq;
		ch->path_len = e.path_len;
		ch->kinds = e.what;
		ch->reserved = 0;
		/* masked: a damaged entry's stray bits must not read as FSC_CHANGE_DROPPED */
		ch->flags =
		    e.kind == FSC_JOURNAL_DROPPED ? FSC_CHANGE_DROPPED : e.flags & FSC_REC_MASK;
		cur->pos = pos;
		return FSC_CHANGE;
	}
	return FSC_CURSOR_LOST; /* two pads in a row: the writer never does that */
}

static int64_t now_ms(void)
{
	return (int64_t)(fsc_reader_now_coarse_ns() / 1000000u);
}

int fsc_journal_wait(fsc_t *c, const fsc_cursor_t *cur, int timeout_ms)
{
	if (!c || !cur) {
		errno = EINVAL;
		return -1;
	}
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
	for (;;) {
		struct fsc_jmap *j = cursor_journal(c, cur);
		if (!j)
			return FSC_CURSOR_LOST;
		/* acquire, and before head: if the head load below misses an entry, this load
		 * missed the writer's later increment too, so FUTEX_WAIT (which compares in the
		 * kernel) either sees the change and returns at once or is woken by it */
		uint32_t seen = atomic_load_explicit(&j->base->wake, memory_order_acquire);
		if (atomic_load_explicit(&j->base->head, memory_order_acquire) != cur->pos)
			return FSC_CHANGE;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return FSC_CAUGHT_UP;
		if (left > FSC_JOURNAL_WAIT_SLICE_MS)
			left = FSC_JOURNAL_WAIT_SLICE_MS;
		struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
		/* not FUTEX_PRIVATE: fscd wakes us from another process. The kernel only reads
		 * the word, so the read-only mapping is enough. EAGAIN (it moved), EINTR and
		 * ETIMEDOUT all mean: look again. */
		syscall(SYS_futex, (void *)&j->base->wake, FUTEX_WAIT, seen, &ts, NULL, 0);
	}
}
