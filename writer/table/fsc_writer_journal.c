/* The writer's half of the change journal (shm/fsc_shm_journal.h, PROTOCOL.md "Change
 * journal"): one ring per writer, created with the first table, published just before it,
 * appended to after every change the table makes visible, and kept across replacements. */
#define _GNU_SOURCE
#include "fsc_writer_internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct fsc_wjournal {
	struct fsc_journal_header *hdr;
	size_t size;
	uint64_t mask;	     /* ring_size - 1 */
	char *ring;	     /* hdr + ring_offset */
	uint64_t head;	     /* private copy of hdr->head (only this thread stores it) */
	uint64_t reclaim;    /* private copy of hdr->reclaim */
	uint64_t woken_head; /* head when waiters were last woken */
	uint64_t id;
	bool published;
	char name[FSC_SHM_OBJECT_NAME_MAX + 16];
	char tmp_name[FSC_SHM_OBJECT_NAME_MAX + 48];
	dev_t dev;
	ino_t ino;
};

static uint64_t ring_size_for(uint64_t bytes)
{
	uint64_t r = FSC_JOURNAL_RING_MIN;
	while (r < bytes && r < FSC_JOURNAL_RING_MAX)
		r <<= 1;
	return r;
}

int fsc_wjournal_create(struct fsc_writer *w, uint64_t bytes, const char **why)
{
	struct fsc_wjournal *j = calloc(1, sizeof(*j));
	if (!j) {
		*why = "out of memory";
		return -ENOMEM;
	}
	uint64_t ring = ring_size_for(bytes);
	j->size = sizeof(struct fsc_journal_header) + ring;
	fsc_shm_journal_name(j->name, sizeof(j->name), w->name);
	struct stat st;
	j->hdr = fsc_wobject_create_private(j->tmp_name, sizeof(j->tmp_name), j->name, j->size,
					    w->opts.mode, w->opts.group, &st, why);
	if (!j->hdr) {
		int err = errno;
		free(j);
		return -err;
	}
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	if (fsc_writer_random64(&j->id))
		j->id = (fsc_writer_now_ns() ^ ((uint64_t)getpid() << 40)) | 1; /* never 0 */
	/* Plain stores: nobody can see the object until it is renamed to the public name. */
	struct fsc_journal_header *h = j->hdr;
	h->magic = FSC_JOURNAL_MAGIC;
	h->abi_version = FSC_JOURNAL_ABI_VERSION;
	h->header_size = sizeof(*h);
	h->object_size = j->size;
	h->ring_offset = sizeof(*h);
	h->ring_size = ring;
	h->journal_id = j->id;
	h->writer_pid = (uint32_t)getpid();
	j->mask = ring - 1;
	j->ring = (char *)h + h->ring_offset;
	w->journal = j;
	return 0;
}

uint64_t fsc_wjournal_id(const struct fsc_wjournal *j)
{
	return j ? j->id : 0;
}

int fsc_wjournal_publish(struct fsc_writer *w, const char **why)
{
	struct fsc_wjournal *j = w->journal;
	if (!j || j->published)
		return 0;
	/* Renamed before the table that names it, so a reader that finds the table finds its
	 * journal (or a newer one, which it tells apart by journal_id). */
	int rc = fsc_wobject_rename(j->tmp_name, j->name);
	if (rc) {
		*why = "cannot publish the change journal";
		return rc;
	}
	j->published = true;
	return 0;
}

static struct fsc_journal_entry *entry_at(struct fsc_wjournal *j, uint64_t pos)
{
	return (struct fsc_journal_entry *)(j->ring + (pos & j->mask));
}

static void store(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

/* Lets the writer store over every position below end - ring_size. */
static void reclaim_up_to(struct fsc_wjournal *j, uint64_t end)
{
	uint64_t ring = j->mask + 1;
	if (end <= ring || end - ring <= j->reclaim)
		return;
	j->reclaim = end - ring;
	atomic_store_explicit(&j->hdr->reclaim, j->reclaim, memory_order_relaxed);
	/* release fence: the raised reclaim is visible before any of the overwriting stores
	 * that follow, so a reader whose copy saw one of them sees reclaim past its entry
	 * (fsc_shm_journal.c, entry_intact) and discards the copy instead of returning it torn */
	atomic_thread_fence(memory_order_release);
}

void fsc_wjournal_append(struct fsc_wjournal *j, uint32_t kind, uint32_t flags, uint32_t what,
			 const char *path, size_t len, uint64_t change_seq)
{
	if (!j || !j->published || len == 0 || len > FSC_JOURNAL_PATH_MAX)
		return;
	uint32_t size = fsc_shm_journal_entry_size(len);
	uint64_t pos = j->head;
	uint64_t room = j->mask + 1 - (pos & j->mask);
	uint64_t pad = room < size ? room : 0; /* entries never straddle the ring's end */
	reclaim_up_to(j, pos + pad + size);
	if (pad) {
		struct fsc_journal_entry *e = entry_at(j, pos);
		store(&e->pos, pos);
		store(&e->meta, fsc_shm_journal_meta_pack((uint32_t)pad, FSC_JOURNAL_PAD, 0, 0));
		pos += pad;
	}
	struct fsc_journal_entry *e = entry_at(j, pos);
	store(&e->pos, pos);
	store(&e->meta, fsc_shm_journal_meta_pack(size, kind, flags, (uint32_t)len));
	store(&e->change_seq, change_seq);
	store(&e->what, what & FSC_CK_MASK);
	size_t words = (size - FSC_JOURNAL_ENTRY_FIXED) / 8;
	for (size_t i = 0; i < words; i++) {
		uint64_t v = 0;
		if (i * 8 < len)
			memcpy(&v, path + i * 8, len - i * 8 < 8 ? len - i * 8 : 8);
		store(&e->path[i], v);
	}
	j->head = pos + size;
	/* release: the entry's stores happen-before a reader's acquire load of head that sees
	 * the new value. The table write this entry reports came earlier in this thread, so a
	 * reader that reads the entry and then looks the path up sees that write or a newer one */
	atomic_store_explicit(&j->hdr->head, j->head, memory_order_release);
}

static void wake_all(struct fsc_wjournal *j)
{
	/* release: a waiter that loads the new wake value also sees the new head */
	atomic_fetch_add_explicit(&j->hdr->wake, 1, memory_order_release);
	/* not FUTEX_PRIVATE: the waiters are other processes mapping the same object */
	syscall(SYS_futex, &j->hdr->wake, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	j->woken_head = j->head;
}

void fsc_wjournal_wake(struct fsc_wjournal *j)
{
	if (j && j->published && j->head != j->woken_head)
		wake_all(j);
}

void fsc_wjournal_close(struct fsc_writer *w, bool unlink_name)
{
	struct fsc_wjournal *j = w->journal;
	if (!j)
		return;
	/* release: a reader that sees STOPPED has seen every entry before it */
	atomic_store_explicit(&j->hdr->state, FSC_JOURNAL_STOPPED, memory_order_release);
	wake_all(j); /* waiters return and find their cursor lost */
	if (!j->published)
		unlink(j->tmp_name);
	else if (unlink_name && fsc_wobject_is(j->name, j->dev, j->ino))
		unlink(j->name); /* still ours: no successor renamed its journal over it */
	munmap(j->hdr, j->size);
	free(j);
	w->journal = NULL;
}
