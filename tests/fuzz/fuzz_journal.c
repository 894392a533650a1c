/* libFuzzer target: a change journal's bytes through the read side, validate and read.
 *
 * The input (fuzz_common.h: a flags byte, then the object) is validated in memory
 * (fsc_shm_journal_validate) and its entries read (fsc_shm_journal_read) walking positions
 * from the oldest the ring can hold and from its reclaim word, on a heap copy of exactly the
 * object's size, so that AddressSanitizer sees any read outside it. Then the same bytes are
 * published as this process's journal, next to a table forged live that names it (with
 * FUZZ_NAME_OTHER: names another journal), and read through libfsc: fsc_journal_start, then
 * fsc_journal_next from the same position, and fsc_journal_wait.
 *
 * Checked: every entry returned lies inside the ring and below head, has a kind the format
 * defines, a path_len within bounds, a NUL-terminated absolute path with no NUL inside, and
 * says exactly what the bytes at its position say (no made-up answer); libfsc returns the
 * same entries in the same order, and a result of its enums. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "fsc.h"
#include "fsc_shm_journal.h"
#include "fsc_shm_map.h"
#include "fsc_shm_table.h"
#include "fuzz_common.h"

#define FUZZ_NAME_OTHER 0x02u
/* The bytes the input gives past the header end at the end of the ring instead of starting at
 * its start (zeros before them): a small seed then holds the entries at the end of a lap,
 * where an entry's room is what bounds it. */
#define FUZZ_RING_TAIL 0x04u
#define WALK_MAX       4096 /* entries read per walk: a 64 KiB ring holds at most this many */

/* One entry as the walk read it; path_off is where its path lies in the object. */
struct seen {
	uint64_t pos, change_seq, path_off;
	uint32_t kind, flags, path_len, size, what;
};

struct walk {
	struct seen e[WALK_MAX];
	size_t n;
	int end; /* what ended it: a fsc_journal_read_result, or -1 at WALK_MAX */
};

static uint64_t round_up(uint64_t v)
{
	return (v + FSC_JOURNAL_ALIGN - 1) & ~(uint64_t)(FSC_JOURNAL_ALIGN - 1);
}

/* Reads entries from pos on, checking each against the bytes it came from. */
static void walk_from(const unsigned char *obj, const struct fsc_journal_layout *l, uint64_t pos,
		      char *path, struct walk *w)
{
	const struct fsc_journal_header *h = (const void *)obj;
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
	w->n = 0;
	w->end = -1;
	while (w->n < WALK_MAX) {
		struct fsc_journal_copy c;
		memset(path, 0x55, FSC_JOURNAL_PATH_MAX + 1);
		enum fsc_journal_read_result r = fsc_shm_journal_read(h, l, pos, &c, path);
		FUZZ_CHECK(r == FSC_JOURNAL_READ_OK || r == FSC_JOURNAL_READ_EMPTY ||
			   r == FSC_JOURNAL_READ_LOST);
		FUZZ_CHECK((r == FSC_JOURNAL_READ_EMPTY) == (pos == head));
		if (r != FSC_JOURNAL_READ_OK) {
			w->end = (int)r;
			return;
		}
		uint64_t off = pos & (l->ring_size - 1);
		const unsigned char *e = obj + l->ring_offset + off;
		uint64_t meta = fsc_fuzz_word(e + 8);
		/* inside the ring and below head, and what the bytes there say */
		FUZZ_CHECK(pos < head && c.size <= head - pos && c.size >= FSC_JOURNAL_PAD_MIN &&
			   c.size % FSC_JOURNAL_ALIGN == 0 && off + c.size <= l->ring_size);
		FUZZ_CHECK(fsc_fuzz_word(e) == pos && c.size == fsc_shm_journal_meta_size(meta) &&
			   c.kind == fsc_shm_journal_meta_kind(meta));
		struct seen *s = &w->e[w->n++];
		*s = (struct seen){.pos = pos, .kind = c.kind, .size = c.size};
		pos += c.size;
		if (c.kind == FSC_JOURNAL_PAD)
			continue;
		FUZZ_CHECK(c.kind == FSC_JOURNAL_RECORD || c.kind == FSC_JOURNAL_DROPPED);
		FUZZ_CHECK(c.path_len >= 1 && c.path_len <= FSC_JOURNAL_PATH_MAX &&
			   c.size == fsc_shm_journal_entry_size(c.path_len) &&
			   c.path_len == fsc_shm_journal_meta_path_len(meta) &&
			   c.flags == fsc_shm_journal_meta_flags(meta));
		FUZZ_CHECK(path[c.path_len] == '\0' && strlen(path) == c.path_len &&
			   path[0] == '/');
		FUZZ_CHECK(memcmp(path, e + FSC_JOURNAL_ENTRY_FIXED, c.path_len) == 0 &&
			   c.change_seq == fsc_fuzz_word(e + 16) &&
			   c.what == (fsc_fuzz_word(e + 24) & FSC_CK_MASK));
		s->change_seq = c.change_seq;
		s->what = c.what;
		s->flags = c.flags;
		s->path_len = c.path_len;
		s->path_off = l->ring_offset + off + FSC_JOURNAL_ENTRY_FIXED;
	}
}

/* The companion table: 64 empty slots, forged live, naming journal id. Its bytes are made
 * once; the header is rewritten for every input (the heartbeat must stay fresh). */
static void publish_table(uint64_t id)
{
	static struct fsc_shm_header *h;
	static uint64_t size;
	char object[FSC_SHM_OBJECT_NAME_MAX];
	FUZZ_CHECK(fsc_shm_object_name(object, sizeof(object), fsc_fuzz_name()) == 0);
	bool first = !h;
	if (first) {
		uint64_t slots;
		const char *why;
		FUZZ_CHECK(fsc_shm_geometry(32, FSC_SLOT_SIZE_MIN, &slots, &size, &why) == 0);
		h = calloc(1, (size_t)size);
		FUZZ_CHECK(h);
		h->magic = FSC_SHM_MAGIC;
		h->abi_version = FSC_SHM_ABI_VERSION;
		h->header_size = sizeof(*h);
		h->object_size = size;
		h->slots_offset = sizeof(*h);
		h->slot_count = slots;
		h->slot_size = FSC_SLOT_SIZE_MIN;
		h->max_probe = FSC_MAX_PROBE_DEFAULT;
		h->capacity = 32;
		h->generation = 1;
		h->writer_timeout_ns = FSC_WRITER_TIMEOUT_MAX_NS;
		uint32_t tid = (uint32_t)gettid() & FUTEX_TID_MASK;
		memcpy(h->liveness_mutex, &tid, sizeof(tid));
		atomic_store_explicit(&h->state, FSC_TABLE_LIVE, memory_order_relaxed);
	}
	h->journal_id = id;
	atomic_store_explicit(&h->heartbeat_ns, fsc_fuzz_now_coarse_ns(), memory_order_relaxed);
	if (first)
		fsc_fuzz_shm_write(object, h, (size_t)size);
	else
		fsc_fuzz_shm_patch(object, h, sizeof(*h));
}

/* What fsc_journal_start must answer, and the journal's usability for a cursor. */
static int expected_start_errno(const struct fsc_fuzz_object *o, int vrc,
				const struct fsc_journal_layout *l, uint64_t id)
{
	if (id == 0)
		return ENOENT;
	if (vrc)
		return EPROTO;
	if (l->journal_id != id)
		return EAGAIN;
	const struct fsc_journal_header *h = (const void *)o->bytes;
	if (atomic_load_explicit(&h->state, memory_order_relaxed) != FSC_JOURNAL_LIVE)
		return ESRCH;
	return 0;
}

/* fsc_journal_next from w's start must return w's entries: at most one pad is skipped per
 * call (two in a row: the cursor is lost), and w's end is caught up or lost. */
static void check_next(fsc_t *c, const unsigned char *obj, uint64_t id, uint64_t start, bool usable,
		       const struct walk *w, struct fsc_change *ch)
{
	fsc_cursor_t cur = {.journal_id = id, .pos = start};
	size_t i = 0;
	for (size_t call = 0; call <= WALK_MAX; call++) {
		int r = fsc_journal_next(c, &cur, ch);
		FUZZ_CHECK(r == FSC_CHANGE || r == FSC_CAUGHT_UP || r == FSC_CURSOR_LOST);
		if (!usable) {
			FUZZ_CHECK(r == FSC_CURSOR_LOST);
			return;
		}
		size_t j = i;
		int pads = 0;
		while (j < w->n && w->e[j].kind == FSC_JOURNAL_PAD && pads < 2) {
			j++;
			pads++;
		}
		if (pads == 2) {
			FUZZ_CHECK(r == FSC_CURSOR_LOST);
			return;
		}
		if (j == w->n) {
			if (w->end == FSC_JOURNAL_READ_EMPTY)
				FUZZ_CHECK(r == FSC_CAUGHT_UP);
			else if (w->end == FSC_JOURNAL_READ_LOST)
				FUZZ_CHECK(r == FSC_CURSOR_LOST);
			break; /* or the walk's bound */
		}
		const struct seen *s = &w->e[j];
		FUZZ_CHECK(r == FSC_CHANGE && cur.pos == s->pos + s->size &&
			   ch->path_len == s->path_len && ch->change_seq == s->change_seq);
		FUZZ_CHECK(ch->path[ch->path_len] == '\0' &&
			   memcmp(ch->path, obj + s->path_off, s->path_len) == 0);
		FUZZ_CHECK(ch->flags == (s->kind == FSC_JOURNAL_DROPPED
					     ? FSC_CHANGE_DROPPED
					     : (s->flags & FSC_REC_MASK)));
		/* kinds are the entry's, never bits no kind has */
		FUZZ_CHECK(ch->kinds == s->what && (ch->kinds & ~FSC_CK_MASK) == 0 &&
			   ch->reserved == 0);
		i = j + 1;
	}
	int r = fsc_journal_wait(c, &cur, 0); /* never blocks: the entries are there or not */
	FUZZ_CHECK(r == FSC_CHANGE || r == FSC_CAUGHT_UP || r == FSC_CURSOR_LOST);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static struct walk w;
	static char *path;
	static struct fsc_change *ch;
	if (!path) { /* exact sizes: a write past either is an AddressSanitizer report */
		path = malloc(FSC_JOURNAL_PATH_MAX + 1);
		ch = malloc(sizeof(*ch));
		FUZZ_CHECK(path && ch);
	}
	struct fsc_fuzz_object o;
	fsc_fuzz_object_build(data, n, &o);
	size_t hsz = sizeof(struct fsc_journal_header), given = n - (n > 0);
	if ((o.flags & FUZZ_RING_TAIL) && given > hsz && o.size > given) {
		memmove(o.bytes + o.size - (given - hsz), o.bytes + hsz, given - hsz);
		memset(o.bytes + hsz, 0, o.size - given);
	}
	struct fsc_journal_layout l = {0};
	const char *why = NULL;
	int vrc =
	    o.size ? fsc_shm_journal_validate((const void *)o.bytes, o.size, &l, &why) : -EPROTO;
	FUZZ_CHECK(vrc == 0 || (vrc == -EPROTO && (!o.size || why)));
	uint64_t start = 0;
	if (vrc == 0) {
		FUZZ_CHECK(l.ring_offset + l.ring_size == o.size && l.journal_id != 0 &&
			   (l.ring_size & (l.ring_size - 1)) == 0);
		const struct fsc_journal_header *h = (const void *)o.bytes;
		uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
		uint64_t reclaim = atomic_load_explicit(&h->reclaim, memory_order_relaxed);
		walk_from(o.bytes, &l, round_up(reclaim), path, &w);
		start = head > l.ring_size ? round_up(head - l.ring_size) : 0;
		walk_from(o.bytes, &l, start, path, &w);
	}

	/* The same bytes published as this process's journal, read through libfsc. */
	uint64_t id = o.size >= 48 ? fsc_fuzz_word(o.bytes + 40) : 0; /* header journal_id */
	if (o.flags & FUZZ_NAME_OTHER)
		id ^= 1;
	publish_table(id);
	char object[FSC_SHM_OBJECT_NAME_MAX + 16];
	FUZZ_CHECK(fsc_shm_journal_name(object, sizeof(object), fsc_fuzz_name()) == 0);
	fsc_fuzz_shm_write(object, o.bytes, o.size);
	struct fsc_shm_mapping map;
	struct fsc_journal_layout ml;
	FUZZ_CHECK(fsc_shm_map_journal(fsc_fuzz_name(), NULL, &map, &ml, &why) == vrc);
	if (vrc == 0) {
		FUZZ_CHECK(map.size == o.size && ml.ring_offset == l.ring_offset &&
			   ml.ring_size == l.ring_size && ml.journal_id == l.journal_id);
		fsc_shm_unmap(&map);
	}
	fsc_t *c = fsc_open(fsc_fuzz_name());
	FUZZ_CHECK(c); /* the table is forged live */
	int want = expected_start_errno(&o, vrc, &l, id);
	fsc_cursor_t cur;
	errno = 0;
	int r = fsc_journal_start(c, &cur);
	FUZZ_CHECK(want ? r == -1 && errno == want : r == 0 && cur.journal_id == id);
	check_next(c, o.bytes, id, start, want == 0, &w, ch);
	fsc_close(c);
	fsc_fuzz_object_free(&o);
	return 0;
}
