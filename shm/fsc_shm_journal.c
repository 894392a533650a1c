/* The change journal's names, header validation and the reader's entry copy. The writer's
 * half (appending) is writer/table/fsc_writer_journal.c; the protocol is in PROTOCOL.md. */
#include "fsc_shm_journal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fsc_shm_table.h"

int fsc_shm_journal_name(char *buf, size_t size, const char *name)
{
	return fsc_shm_object_path(buf, size, name, FSC_JOURNAL_PREFIX, "");
}

int fsc_shm_journal_validate(const struct fsc_journal_header *h, uint64_t object_size,
			     struct fsc_journal_layout *out, const char **why)
{
	/* one copy of the immutable line: a concurrent scribble cannot change what we check;
	 * taken only once the object is known to hold a whole header */
	struct fsc_journal_header c;
	*why = NULL;
	if (object_size < sizeof(c)) {
		*why = "object smaller than a journal header";
		return -EPROTO;
	}
	memcpy(&c, h, offsetof(struct fsc_journal_header, head));
	if (c.magic != FSC_JOURNAL_MAGIC)
		*why = "not an fsc journal (bad magic)";
	else if (c.abi_version != FSC_JOURNAL_ABI_VERSION)
		*why = "journal of another format version";
	else if (c.header_size != sizeof(c) || c.ring_offset != c.header_size)
		*why = "journal header size mismatch";
	else if (c.ring_size < FSC_JOURNAL_RING_MIN || c.ring_size > FSC_JOURNAL_RING_MAX ||
		 (c.ring_size & (c.ring_size - 1)) != 0)
		*why = "journal ring size out of range";
	else if (c.object_size != object_size || c.ring_offset + c.ring_size != object_size)
		*why = "journal object size does not match its header";
	else if (c.journal_id == 0)
		*why = "journal without an id";
	if (*why)
		return -EPROTO;
	*out = (struct fsc_journal_layout){
	    .ring_offset = c.ring_offset, .ring_size = c.ring_size, .journal_id = c.journal_id};
	return 0;
}

static const struct fsc_journal_entry *entry_at(const struct fsc_journal_header *h,
						const struct fsc_journal_layout *l, uint64_t pos)
{
	return (const struct fsc_journal_entry *)((const char *)h + l->ring_offset +
						  (pos & (l->ring_size - 1)));
}

/* Is the copy of the entry at pos still what the writer wrote there? Called after every load
 * of the entry. The acquire fence orders those relaxed loads before the load of reclaim: had
 * any of them read a store of the next lap, the writer's release fence (made after raising
 * reclaim past pos, before that store) makes this load see reclaim > pos. */
static bool entry_intact(const struct fsc_journal_header *h, uint64_t pos)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&h->reclaim, memory_order_relaxed) <= pos;
}

static void path_copy(const struct fsc_journal_entry *e, uint32_t len, char *path)
{
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w = atomic_load_explicit(&e->path[i / 8], memory_order_relaxed);
		memcpy(path + i, &w, len - i < 8 ? len - i : 8);
	}
	path[len] = '\0';
}

enum fsc_journal_read_result fsc_shm_journal_read(const struct fsc_journal_header *h,
						  const struct fsc_journal_layout *l, uint64_t pos,
						  struct fsc_journal_copy *copy, char *path)
{
	/* acquire: pairs with the writer's release store of head, so every entry below head
	 * is complete in what this thread loads next (unless reclaim says it was overwritten) */
	uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
	if (pos == head)
		return FSC_JOURNAL_READ_EMPTY;
	if (pos > head || head - pos > l->ring_size || pos % FSC_JOURNAL_ALIGN)
		return FSC_JOURNAL_READ_LOST;
	const struct fsc_journal_entry *e = entry_at(h, l, pos);
	uint64_t epos = atomic_load_explicit(&e->pos, memory_order_relaxed);
	uint64_t meta = atomic_load_explicit(&e->meta, memory_order_relaxed);
	uint64_t room = l->ring_size - (pos & (l->ring_size - 1));
	*copy = (struct fsc_journal_copy){
	    .kind = fsc_shm_journal_meta_kind(meta),
	    .flags = fsc_shm_journal_meta_flags(meta),
	    .path_len = fsc_shm_journal_meta_path_len(meta),
	    .size = fsc_shm_journal_meta_size(meta),
	};
	/* Bounds first, from the words as loaded (torn or damaged ones included): nothing
	 * below reads outside this entry's part of the ring. */
	bool sane = epos == pos && copy->size >= FSC_JOURNAL_PAD_MIN &&
		    copy->size % FSC_JOURNAL_ALIGN == 0 && copy->size <= room &&
		    copy->size <= head - pos;
	if (sane && copy->kind == FSC_JOURNAL_PAD)
		return entry_intact(h, pos) ? FSC_JOURNAL_READ_OK : FSC_JOURNAL_READ_LOST;
	sane = sane && (copy->kind == FSC_JOURNAL_RECORD || copy->kind == FSC_JOURNAL_DROPPED) &&
	       copy->path_len > 0 && copy->path_len <= FSC_JOURNAL_PATH_MAX &&
	       fsc_shm_journal_entry_size(copy->path_len) == copy->size;
	if (!sane)
		return FSC_JOURNAL_READ_LOST; /* overwritten mid-read, or damaged: either way */
	copy->change_seq = atomic_load_explicit(&e->change_seq, memory_order_relaxed);
	/* masked: a damaged entry's stray bits must not read as kinds that do not exist */
	copy->what = (uint32_t)atomic_load_explicit(&e->what, memory_order_relaxed) & FSC_CK_MASK;
	path_copy(e, copy->path_len, path);
	if (!entry_intact(h, pos))
		return FSC_JOURNAL_READ_LOST;
	/* a damaged path (a NUL inside, not absolute) must not reach the caller as a path */
	if (path[0] != '/' || memchr(path, '\0', copy->path_len))
		return FSC_JOURNAL_READ_LOST;
	return FSC_JOURNAL_READ_OK;
}
