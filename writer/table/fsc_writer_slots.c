/* Slot operations of the single writer: insert, update, tombstone, CLOCK eviction.
 * Every store into a slot is made between fsc_shm_seqlock_write_begin/end; the placement rules
 * that keep readers from missing live keys are invariants 1-4 of shm/PROTOCOL.md. */
#define _GNU_SOURCE
#include "fsc_writer_internal.h"

#include <errno.h>
#include <string.h>

#include "fsc_shm_seqlock.h"

#define PATH_WORDS_MAX ((FSC_SLOT_SIZE_MAX - FSC_SLOT_FIXED_BYTES) / 8)

struct wkey {
	struct fsc_shm_key k;
	uint64_t words[PATH_WORDS_MAX];
};

struct fsc_shm_slot *fsc_wtable_slot(struct fsc_wtable *t, uint64_t index)
{
	return (struct fsc_shm_slot *)((unsigned char *)t->hdr + t->layout.slots_offset +
				       (index & t->layout.mask) * t->layout.slot_size);
}

/* The writer reads its own stores: relaxed loads, no seqlock needed on this side. */
static uint64_t load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static void store(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

static uint64_t counter_get(struct fsc_wtable *t, enum fsc_counter c)
{
	return load(&t->hdr->counters[c]);
}

static void counter_add(struct fsc_wtable *t, enum fsc_counter c, int64_t delta)
{
	/* one writer: load+store, no read-modify-write needed; relaxed, counters are stats */
	store(&t->hdr->counters[c], load(&t->hdr->counters[c]) + (uint64_t)delta);
}

void fsc_writer_count(struct fsc_writer *w, enum fsc_counter c, uint64_t delta)
{
	counter_add(&w->t, c, (int64_t)delta);
}

void fsc_writer_set_counter(struct fsc_writer *w, enum fsc_counter c, uint64_t value)
{
	store(&w->t.hdr->counters[c], value);
}

static void wkey_make(struct wkey *wk, const struct fsc_wtable *t, const char *path, size_t len)
{
	/* a private zero-padded copy: callers' buffers may be reused while the key is in use */
	wk->words[(len + 7) / 8 - 1] = 0;
	memcpy(wk->words, path, len);
	fsc_shm_key_init(&wk->k, t->layout.hash_seed, (const char *)wk->words, len);
}

static bool slot_holds(struct fsc_shm_slot *s, const struct fsc_shm_key *k)
{
	uint64_t meta = load(&s->meta);
	if (fsc_shm_meta_state(meta) != FSC_SLOT_LIVE || fsc_shm_meta_path_len(meta) != k->len ||
	    load(&s->hash) != k->hash)
		return false;
	for (uint32_t i = 0; i < k->words; i++)
		if (load(&s->path[i]) != fsc_shm_key_word(k, i))
			return false;
	return true;
}

/* Probes key's window: *found = its slot or -1; *free = first tombstone/empty or -1. */
static void wtable_find(struct fsc_wtable *t, const struct fsc_shm_key *k, int64_t *found,
			int64_t *free_slot)
{
	*found = -1;
	*free_slot = -1;
	for (uint32_t i = 0; i < t->layout.max_probe; i++) {
		uint64_t idx = fsc_shm_probe_index(&t->layout, k->hash, i);
		struct fsc_shm_slot *s = fsc_wtable_slot(t, idx);
		uint32_t state = fsc_shm_meta_state(load(&s->meta));
		if (state != FSC_SLOT_LIVE) {
			if (*free_slot < 0)
				*free_slot = (int64_t)idx;
			if (state == FSC_SLOT_EMPTY)
				return; /* invariant 2: no key of this chain lies beyond an EMPTY */
			continue;
		}
		if (slot_holds(s, k)) {
			*found = (int64_t)idx;
			return;
		}
	}
}

static void slot_write_record(struct fsc_shm_slot *s, uint32_t flags, uint32_t len,
			      const uint64_t st[FSC_ST_WORDS], uint64_t change_seq,
			      uint64_t verified_ns)
{
	store(&s->meta, fsc_shm_meta_pack(FSC_SLOT_LIVE, flags, len));
	store(&s->change_seq, change_seq);
	store(&s->verified_ns, verified_ns);
	for (int i = 0; i < FSC_ST_WORDS; i++)
		store(&s->st[i], st[i]);
}

/* Writes a whole new key into slot idx (EMPTY, TOMBSTONE, or a victim being evicted). */
static void slot_write_key(struct fsc_wtable *t, uint64_t idx, const struct fsc_shm_key *k,
			   uint32_t flags, const uint64_t st[FSC_ST_WORDS], uint64_t change_seq,
			   uint64_t verified_ns)
{
	struct fsc_shm_slot *s = fsc_wtable_slot(t, idx);
	uint64_t seq = fsc_shm_seqlock_write_begin(&s->seq);
	store(&s->hash, k->hash);
	slot_write_record(s, flags, k->len, st, change_seq, verified_ns);
	for (uint32_t i = 0; i < k->words; i++)
		store(&s->path[i], fsc_shm_key_word(k, i));
	fsc_shm_seqlock_write_end(&s->seq, seq);
	if (t->hints)
		/* a new key starts unreferenced: one-off entries are CLOCK's first victims */
		atomic_store_explicit(&t->hints[idx], 0, memory_order_relaxed);
}

static void slot_set_state(struct fsc_shm_slot *s, uint32_t state)
{
	uint64_t seq = fsc_shm_seqlock_write_begin(&s->seq);
	store(&s->meta, fsc_shm_meta_pack(state, 0, 0));
	store(&s->hash, 0);
	fsc_shm_seqlock_write_end(&s->seq, seq);
}

/* Tombstones slot idx, then turns the run of tombstones ending at it back into EMPTY when the
 * slot after it is EMPTY (invariant 3: no chain can run through such a tombstone). */
static void slot_remove(struct fsc_wtable *t, uint64_t idx)
{
	slot_set_state(fsc_wtable_slot(t, idx), FSC_SLOT_TOMBSTONE);
	counter_add(t, FSC_CTR_ENTRIES, -1);
	counter_add(t, FSC_CTR_TOMBSTONES, 1);
	uint64_t next = (idx + 1) & t->layout.mask;
	if (fsc_shm_meta_state(load(&fsc_wtable_slot(t, next)->meta)) != FSC_SLOT_EMPTY)
		return;
	for (uint64_t n = 0; n < t->layout.slot_count; n++) {
		struct fsc_shm_slot *s = fsc_wtable_slot(t, idx);
		if (fsc_shm_meta_state(load(&s->meta)) != FSC_SLOT_TOMBSTONE)
			break;
		slot_set_state(s, FSC_SLOT_EMPTY);
		counter_add(t, FSC_CTR_TOMBSTONES, -1);
		idx = (idx - 1) & t->layout.mask;
	}
}

static void report_eviction(struct fsc_writer *w, struct fsc_wtable *t, uint64_t idx)
{
	if (!w->opts.on_evict)
		return;
	struct fsc_shm_slot *s = fsc_wtable_slot(t, idx);
	uint32_t len = fsc_shm_meta_path_len(load(&s->meta));
	char path[PATH_WORDS_MAX * 8 + 1];
	for (uint32_t i = 0; i < (len + 7) / 8; i++) {
		uint64_t word = load(&s->path[i]);
		memcpy(path + 8 * i, &word, 8);
	}
	path[len] = '\0';
	w->opts.on_evict(w->opts.evict_ctx, path, len);
}

static bool hint_take(struct fsc_wtable *t, uint64_t idx)
{
	if (!t->hints || !atomic_load_explicit(&t->hints[idx], memory_order_relaxed))
		return false;
	/* relaxed: a reader's hit racing with this clear just earns one more round */
	atomic_store_explicit(&t->hints[idx], 0, memory_order_relaxed);
	return true;
}

/* CLOCK: the hand passes over live slots, giving each whose hit hint is set a second chance
 * (clearing the hint) and evicting the first whose hint is clear. */
static void clock_evict_one(struct fsc_writer *w, struct fsc_wtable *t)
{
	for (uint64_t step = 0; step <= 2 * t->layout.slot_count; step++) {
		uint64_t idx = t->clock_hand;
		t->clock_hand = (idx + 1) & t->layout.mask;
		if (fsc_shm_meta_state(load(&fsc_wtable_slot(t, idx)->meta)) != FSC_SLOT_LIVE)
			continue;
		if (hint_take(t, idx))
			continue;
		report_eviction(w, t, idx);
		slot_remove(t, idx);
		counter_add(t, FSC_CTR_EVICTIONS, 1);
		return;
	}
}

/* The probe window of k is all live: pick a victim inside it, the first without a hit hint
 * (else the home slot). Hints are only read here: clearing them without evicting would strip
 * hot entries of their second chance while the CLOCK hand is elsewhere. */
static uint64_t window_victim(struct fsc_wtable *t, const struct fsc_shm_key *k)
{
	for (uint32_t i = 0; i < t->layout.max_probe; i++) {
		uint64_t idx = fsc_shm_probe_index(&t->layout, k->hash, i);
		if (!t->hints || !atomic_load_explicit(&t->hints[idx], memory_order_relaxed))
			return idx;
	}
	return fsc_shm_probe_index(&t->layout, k->hash, 0); /* the home slot */
}

/* Inserts or updates k. Returns the slot used. */
static bool record_equals(struct fsc_shm_slot *s, uint32_t flags, const uint64_t st[FSC_ST_WORDS])
{
	if (fsc_shm_meta_flags(load(&s->meta)) != flags)
		return false;
	for (int i = 0; i < FSC_ST_WORDS; i++)
		if (load(&s->st[i]) != st[i])
			return false;
	return true;
}

/* Inserts or updates k; *changed tells whether readers can see a difference (an update
 * with the same record only refreshes verified_ns, unless force: then it is a change, with a
 * new change_seq). Returns the slot used. */
static uint64_t wtable_store(struct fsc_writer *w, struct fsc_wtable *t,
			     const struct fsc_shm_key *k, uint32_t flags,
			     const uint64_t st[FSC_ST_WORDS], uint64_t change_seq,
			     uint64_t verified_ns, bool force, bool *changed)
{
	int64_t found, free_slot;
	wtable_find(t, k, &found, &free_slot);
	if (found >= 0) {
		struct fsc_shm_slot *s = fsc_wtable_slot(t, (uint64_t)found);
		uint64_t seq = fsc_shm_seqlock_write_begin(&s->seq);
		if (!force && record_equals(s, flags, st)) {
			/* verified, unchanged: only the time moves; not a change */
			store(&s->verified_ns, verified_ns);
		} else {
			slot_write_record(s, flags, k->len, st, change_seq, verified_ns);
			counter_add(t, FSC_CTR_UPDATES, 1);
			*changed = true;
		}
		fsc_shm_seqlock_write_end(&s->seq, seq);
		return (uint64_t)found;
	}
	/* Full table with room in this window: CLOCK picks the victim. A full window takes
	 * its victim inside the window instead (below), so one insert never evicts two keys. */
	if (free_slot >= 0 && counter_get(t, FSC_CTR_ENTRIES) >= t->layout.capacity) {
		clock_evict_one(w, t);
		wtable_find(t, k, &found, &free_slot); /* eviction may have freed a closer slot */
	}
	uint64_t idx;
	if (free_slot >= 0) {
		idx = (uint64_t)free_slot;
		uint32_t was = fsc_shm_meta_state(load(&fsc_wtable_slot(t, idx)->meta));
		if (was == FSC_SLOT_TOMBSTONE)
			counter_add(t, FSC_CTR_TOMBSTONES, -1);
		counter_add(t, FSC_CTR_ENTRIES, 1);
	} else {
		/* Overwriting a victim in place is one seqlocked write: readers of the victim
		 * see another key and go on to a miss; no other key moves (invariant 4). */
		idx = window_victim(t, k);
		report_eviction(w, t, idx);
		counter_add(t, FSC_CTR_PROBE_EVICTIONS, 1);
	}
	slot_write_key(t, idx, k, flags, st, change_seq, verified_ns);
	counter_add(t, FSC_CTR_INSERTS, 1);
	*changed = true;
	return idx;
}

static int key_check(struct fsc_writer *w, const char *path, size_t len)
{
	if (!fsc_shm_path_cacheable(path, len, UINT32_MAX))
		return -EINVAL;
	if (len > w->t.layout.path_max) {
		counter_add(&w->t, FSC_CTR_UNCACHEABLE, 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

static uint64_t next_change_seq(struct fsc_wtable *t)
{
	/* relaxed: readers take a record's change_seq from inside its seqlocked copy */
	uint64_t seq = load(&t->hdr->change_seq) + 1;
	store(&t->hdr->change_seq, seq);
	return seq;
}

/* The kinds of the change about to be made to k's record (fsc_writer_kinds.c). */
static uint32_t put_what(struct fsc_wtable *t, const struct fsc_shm_key *k, uint32_t flags,
			 const uint64_t words[FSC_ST_WORDS], uint32_t seen)
{
	int64_t found, free_slot;
	wtable_find(t, k, &found, &free_slot);
	uint64_t old[FSC_ST_WORDS] = {0};
	uint32_t old_flags = 0;
	if (found >= 0) {
		struct fsc_shm_slot *s = fsc_wtable_slot(t, (uint64_t)found);
		old_flags = fsc_shm_meta_flags(load(&s->meta));
		for (int i = 0; i < FSC_ST_WORDS; i++)
			old[i] = load(&s->st[i]);
	}
	return fsc_wkinds_derive(found >= 0, old_flags, old, flags, words, seen);
}

static int put_words(struct fsc_writer *w, const char *path, size_t len,
		     const uint64_t words[FSC_ST_WORDS], uint32_t flags, uint64_t verified_ns,
		     uint32_t seen)
{
	int rc = key_check(w, path, len);
	if (rc)
		return rc;
	struct wkey wk;
	wkey_make(&wk, &w->t, path, len);
	uint32_t what = w->journal ? put_what(&w->t, &wk.k, flags, words, seen) : 0;
	/* a close after writing, or a rescan, is news even when the record did not change */
	bool force = (seen & (FSC_CK_CLOSE_WRITE | FSC_CK_RESCAN)) != 0;
	/* relaxed: readers take a record's change_seq from inside its seqlocked copy */
	uint64_t seq = load(&w->t.hdr->change_seq) + 1;
	bool changed = false;
	wtable_store(w, &w->t, &wk.k, flags & FSC_REC_MASK, words, seq, verified_ns, force,
		     &changed);
	if (changed) {
		store(&w->t.hdr->change_seq, seq);
		fsc_wjournal_append(w->journal, FSC_JOURNAL_RECORD, flags & FSC_REC_MASK, what,
				    path, len, seq);
	}
	fsc_writer_compact_if_needed(w); /* evictions leave tombstones too */
	return 0;
}

int fsc_writer_put(struct fsc_writer *w, const char *path, size_t len, const struct stat *st,
		   uint32_t flags)
{
	return fsc_writer_put_at(w, path, len, st, flags, fsc_writer_now_ns());
}

int fsc_writer_put_at(struct fsc_writer *w, const char *path, size_t len, const struct stat *st,
		      uint32_t flags, uint64_t verified_ns)
{
	return fsc_writer_put_seen(w, path, len, st, flags, verified_ns, 0);
}

int fsc_writer_put_seen(struct fsc_writer *w, const char *path, size_t len, const struct stat *st,
			uint32_t flags, uint64_t verified_ns, uint32_t seen)
{
	static const uint64_t zero[FSC_ST_WORDS];
	if (!st)
		return put_words(w, path, len, zero, flags | FSC_REC_NEGATIVE, verified_ns, seen);
	uint64_t words[FSC_ST_WORDS];
	if (!fsc_shm_stat_pack(st, words)) {
		/* a field wider than the format holds: never store a truncated value */
		counter_add(&w->t, FSC_CTR_UNCACHEABLE, 1);
		fsc_writer_remove_seen(w, path, len, seen);
		return -EOVERFLOW;
	}
	return put_words(w, path, len, words, flags & ~FSC_REC_NEGATIVE, verified_ns, seen);
}

int fsc_writer_put_negative(struct fsc_writer *w, const char *path, size_t len)
{
	return fsc_writer_put_negative_at(w, path, len, 0, fsc_writer_now_ns());
}

int fsc_writer_put_negative_at(struct fsc_writer *w, const char *path, size_t len, uint32_t flags,
			       uint64_t verified_ns)
{
	return fsc_writer_put_seen(w, path, len, NULL, flags, verified_ns, 0);
}

int fsc_writer_remove(struct fsc_writer *w, const char *path, size_t len)
{
	return fsc_writer_remove_seen(w, path, len, 0);
}

int fsc_writer_remove_seen(struct fsc_writer *w, const char *path, size_t len, uint32_t seen)
{
	int rc = key_check(w, path, len);
	if (rc)
		return rc;
	struct wkey wk;
	int64_t found, free_slot;
	wkey_make(&wk, &w->t, path, len);
	wtable_find(&w->t, &wk.k, &found, &free_slot);
	if (found < 0)
		return -ENOENT;
	slot_remove(&w->t, (uint64_t)found);
	fsc_wjournal_append(w->journal, FSC_JOURNAL_DROPPED, 0, seen & FSC_CK_MASK, path, len,
			    next_change_seq(&w->t));
	counter_add(&w->t, FSC_CTR_REMOVES, 1);
	fsc_writer_compact_if_needed(w);
	return 0;
}

int64_t fsc_writer_slot_of(struct fsc_writer *w, const char *path, size_t len)
{
	if (!fsc_shm_path_cacheable(path, len, w->t.layout.path_max))
		return -1;
	struct wkey wk;
	int64_t found, free_slot;
	wkey_make(&wk, &w->t, path, len);
	wtable_find(&w->t, &wk.k, &found, &free_slot);
	return found;
}

static void words_to_stat(struct fsc_shm_slot *s, struct stat *st)
{
	uint64_t w[FSC_ST_WORDS];
	for (int i = 0; i < FSC_ST_WORDS; i++)
		w[i] = load(&s->st[i]);
	fsc_shm_stat_unpack(w, st);
}

bool fsc_writer_get(struct fsc_writer *w, const char *path, size_t len, struct stat *st,
		    uint32_t *flags)
{
	int64_t idx = fsc_writer_slot_of(w, path, len);
	if (idx < 0)
		return false;
	struct fsc_shm_slot *s = fsc_wtable_slot(&w->t, (uint64_t)idx);
	if (flags)
		*flags = fsc_shm_meta_flags(load(&s->meta));
	if (st)
		words_to_stat(s, st);
	return true;
}

int fsc_writer_mark_stale(struct fsc_writer *w, const char *path, size_t len)
{
	int64_t idx = fsc_writer_slot_of(w, path, len);
	if (idx < 0)
		return -ENOENT;
	struct fsc_shm_slot *s = fsc_wtable_slot(&w->t, (uint64_t)idx);
	uint64_t meta = load(&s->meta);
	if (fsc_shm_meta_flags(meta) & FSC_REC_STALE)
		return 0;
	/* a flag change is a change: readers comparing change_seq must notice it */
	uint64_t change_seq = next_change_seq(&w->t);
	uint64_t seq = fsc_shm_seqlock_write_begin(&s->seq);
	store(&s->meta, fsc_shm_meta_pack(FSC_SLOT_LIVE, fsc_shm_meta_flags(meta) | FSC_REC_STALE,
					  fsc_shm_meta_path_len(meta)));
	store(&s->change_seq, change_seq);
	fsc_shm_seqlock_write_end(&s->seq, seq);
	counter_add(&w->t, FSC_CTR_UPDATES, 1);
	fsc_wjournal_append(w->journal, FSC_JOURNAL_RECORD,
			    fsc_shm_meta_flags(meta) | FSC_REC_STALE, 0, path, len, change_seq);
	return 0;
}

bool fsc_writer_contains(struct fsc_writer *w, const char *path, size_t len, uint32_t *flags)
{
	int64_t idx = fsc_writer_slot_of(w, path, len);
	if (idx >= 0 && flags)
		*flags = fsc_shm_meta_flags(load(&fsc_wtable_slot(&w->t, (uint64_t)idx)->meta));
	return idx >= 0;
}

static void slot_key(struct fsc_shm_slot *s, struct wkey *wk, uint32_t len)
{
	uint32_t n = (len + 7) / 8;
	for (uint32_t i = 0; i < n; i++)
		wk->words[i] = load(&s->path[i]);
	wk->k = (struct fsc_shm_key){.hash = load(&s->hash),
				     .len = len,
				     .words = n,
				     .path = (const char *)wk->words,
				     .tail = wk->words[n - 1]};
}

uint64_t fsc_writer_visit_range(struct fsc_writer *w, uint64_t start, uint64_t count,
				fsc_writer_visit_fn fn, void *ctx)
{
	struct wkey wk;
	uint64_t n = count < w->t.layout.slot_count ? count : w->t.layout.slot_count;
	uint64_t i = start & w->t.layout.mask;
	for (uint64_t done = 0; done < n; done++, i = (i + 1) & w->t.layout.mask) {
		struct fsc_shm_slot *s = fsc_wtable_slot(&w->t, i);
		uint64_t meta = load(&s->meta);
		if (fsc_shm_meta_state(meta) != FSC_SLOT_LIVE)
			continue;
		uint32_t len = fsc_shm_meta_path_len(meta);
		slot_key(s, &wk, len);
		char path[PATH_WORDS_MAX * 8 + 1];
		memcpy(path, wk.words, len);
		path[len] = '\0';
		struct stat st;
		words_to_stat(s, &st);
		fn(ctx, path, len, fsc_shm_meta_flags(meta), &st);
	}
	return i;
}

void fsc_writer_foreach(struct fsc_writer *w, fsc_writer_visit_fn fn, void *ctx)
{
	fsc_writer_visit_range(w, 0, w->t.layout.slot_count, fn, ctx);
}

void fsc_wtable_copy_entries(struct fsc_writer *w, struct fsc_wtable *from, struct fsc_wtable *to)
{
	struct wkey wk;
	for (int c = 0; c < FSC_CTR_COUNT; c++)
		if (c != FSC_CTR_ENTRIES && c != FSC_CTR_TOMBSTONES)
			store(&to->hdr->counters[c], load(&from->hdr->counters[c]));
	store(&to->hdr->change_seq, load(&from->hdr->change_seq));
	for (uint64_t i = 0; i < from->layout.slot_count; i++) {
		struct fsc_shm_slot *s = fsc_wtable_slot(from, i);
		uint64_t meta = load(&s->meta);
		if (fsc_shm_meta_state(meta) != FSC_SLOT_LIVE)
			continue;
		uint32_t len = fsc_shm_meta_path_len(meta);
		if (len > to->layout.path_max)
			continue;
		slot_key(s, &wk, len);
		wk.k.hash = fsc_shm_hash(to->layout.hash_seed, wk.words, len); /* new seed */
		uint64_t st[FSC_ST_WORDS];
		for (int j = 0; j < FSC_ST_WORDS; j++)
			st[j] = load(&s->st[j]);
		bool changed;
		uint64_t idx =
		    wtable_store(w, to, &wk.k, fsc_shm_meta_flags(meta), st, load(&s->change_seq),
				 load(&s->verified_ns), false, &changed);
		/* keep CLOCK's knowledge of what readers use across the replacement */
		if (from->hints && to->hints &&
		    atomic_load_explicit(&from->hints[i], memory_order_relaxed))
			atomic_store_explicit(&to->hints[idx], 1, memory_order_relaxed);
	}
	store(&to->hdr->counters[FSC_CTR_INSERTS], load(&from->hdr->counters[FSC_CTR_INSERTS]));
}
