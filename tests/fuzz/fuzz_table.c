/* libFuzzer target: a table object's bytes through the read side, attach and lookup.
 *
 * The input (fuzz_common.h: a flags byte, then the object) is written to this process's own
 * shm object and attached as libfsc attaches (fsc_shm_map_table, fsc_open), then looked up
 * (fsc_lookup, fsc_stat, fsc_request, the journal calls) for a few paths: fixed ones and the
 * paths the object's own slots hold. FUZZ_FORGE_LIVE stamps the liveness words (state LIVE, a
 * futex word naming this thread, a fresh heartbeat) as a live writer would, so that libfsc
 * answers from the slots at all. The shm-level read functions (fsc_shm_header_validate,
 * fsc_shm_key_init, fsc_shm_probe_index, fsc_shm_slot_read) also run, whatever the liveness
 * words say, on the mapping and on a heap copy of exactly the object's size (AddressSanitizer
 * sees a read one byte past it there; past a mapping, only a read past its last page faults).
 *
 * Every answer is checked against a model of the protocol computed from the bytes alone: with
 * nobody writing, a lookup has exactly one right answer (a hit is the slot whose path equals
 * the key, zero padding included, within max_probe of its home, before an empty slot). The
 * input's last bytes are also a path for fsc_shm_path_cacheable, checked against its rule. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsc.h"
#include "fsc_shm_served.h"
#include "fsc_shm_map.h"
#include "fsc_shm_table.h"
#include "fuzz_common.h"

#define FUZZ_FORGE_LIVE 0x02u
#define KEYS_FROM_SLOTS 6

struct key {
	char path[FSC_SLOT_SIZE_MAX]; /* NUL-ended for libfsc; may hold NULs before len */
	size_t len;
};

static const char *const fixed_paths[] = {"/", "/etc/passwd", "/nonexistent/fsc-fuzz"};
#define NKEYS	     (KEYS_FROM_SLOTS + sizeof(fixed_paths) / sizeof(fixed_paths[0]) + 1)
#define TAIL_KEY_MAX 200 /* the input's last bytes make one more key */

static const unsigned char *slot_bytes(const unsigned char *obj, const struct fsc_shm_layout *l,
				       uint64_t index)
{
	return obj + l->slots_offset + index * l->slot_size;
}

/* The answer for key path[0, len) read from the bytes alone, by the protocol (PROTOCOL.md),
 * not by the code under test. as_lookup: fsc_lookup's extra rule (absolute paths only). */
static int model_lookup(const unsigned char *obj, const struct fsc_shm_layout *l, const char *path,
			size_t len, bool as_lookup, uint64_t *index)
{
	if (len == 0 || len > l->path_max || (as_lookup && path[0] != '/'))
		return FSC_MISS;
	uint64_t hash = fsc_shm_hash(l->hash_seed, path, len);
	size_t padded = (len + 7) / 8 * 8;
	for (uint32_t i = 0; i < l->max_probe; i++) {
		uint64_t idx = (hash + i) % l->slot_count;
		const unsigned char *s = slot_bytes(obj, l, idx);
		uint64_t seq = fsc_fuzz_word(s), meta = fsc_fuzz_word(s + 16);
		if (seq & 1)
			return FSC_UNAVAILABLE; /* "being written" for ever: the reader gives up */
		if ((meta & 0xff) == FSC_SLOT_EMPTY)
			return FSC_MISS;
		if ((meta & 0xff) != FSC_SLOT_LIVE || fsc_fuzz_word(s + 8) != hash ||
		    (meta >> 32) != len)
			continue;
		const unsigned char *p = s + FSC_SLOT_FIXED_BYTES;
		bool same = memcmp(p, path, len) == 0;
		for (size_t b = len; b < padded; b++)
			same = same && p[b] == 0;
		if (!same)
			continue;
		*index = idx;
		return ((meta >> 8) & FSC_REC_NEGATIVE) ? FSC_NEGATIVE : FSC_HIT;
	}
	return FSC_MISS;
}

static bool stat_equal(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
	       a->st_nlink == b->st_nlink && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_rdev == b->st_rdev && a->st_size == b->st_size &&
	       a->st_blksize == b->st_blksize && a->st_blocks == b->st_blocks &&
	       a->st_atim.tv_sec == b->st_atim.tv_sec && a->st_atim.tv_nsec == b->st_atim.tv_nsec &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The record of slot index, as the model reads it. */
static void slot_record(const unsigned char *obj, const struct fsc_shm_layout *l, uint64_t index,
			struct stat *st, uint32_t *flags)
{
	const unsigned char *s = slot_bytes(obj, l, index);
	uint64_t w[FSC_ST_WORDS];
	for (int i = 0; i < FSC_ST_WORDS; i++)
		w[i] = fsc_fuzz_word(s + 40 + 8 * i);
	fsc_shm_stat_unpack(w, st);
	*flags = fsc_shm_meta_flags(fsc_fuzz_word(s + 16));
}

/* The lookup as libfsc's probe loop makes it, from the shm-level functions, on table (the
 * mapping or the heap copy), checked against the model on the same bytes. */
static void check_shm_probe(const void *table, const unsigned char *obj,
			    const struct fsc_shm_layout *l, const struct key *k)
{
	if (k->len == 0 || k->len > l->path_max)
		return; /* fsc_shm_key_init's contract: the caller bounds the key */
	struct fsc_shm_key key;
	fsc_shm_key_init(&key, l->hash_seed, k->path, k->len);
	FUZZ_CHECK(key.len == k->len && key.words == (k->len + 7) / 8);
	int result = FSC_MISS;
	uint64_t found = 0;
	struct fsc_shm_record rec = {0};
	struct stat st;
	for (uint32_t i = 0; i < l->max_probe; i++) {
		uint64_t idx = fsc_shm_probe_index(l, key.hash, i);
		FUZZ_CHECK(idx < l->slot_count);
		enum fsc_slot_match m =
		    fsc_shm_slot_read(fsc_shm_slot_at(table, l, idx), &key, &rec, &st, NULL);
		FUZZ_CHECK(m == FSC_SLOT_MATCH_EMPTY || m == FSC_SLOT_MATCH_OTHER ||
			   m == FSC_SLOT_MATCH_FOUND || m == FSC_SLOT_MATCH_BUSY);
		if (m == FSC_SLOT_MATCH_OTHER)
			continue;
		if (m == FSC_SLOT_MATCH_FOUND) {
			found = idx;
			result = (rec.flags & FSC_REC_NEGATIVE) ? FSC_NEGATIVE : FSC_HIT;
		} else
			result = m == FSC_SLOT_MATCH_EMPTY ? FSC_MISS : FSC_UNAVAILABLE;
		break;
	}
	uint64_t want_index = 0;
	FUZZ_CHECK(result == model_lookup(obj, l, k->path, k->len, false, &want_index));
	if (result == FSC_HIT || result == FSC_NEGATIVE) {
		struct stat want;
		uint32_t flags;
		slot_record(obj, l, want_index, &want, &flags);
		FUZZ_CHECK(found == want_index && rec.flags == flags && stat_equal(&st, &want));
		/* a found slot's path is the key, byte for byte */
		FUZZ_CHECK(
		    memcmp(slot_bytes(obj, l, found) + FSC_SLOT_FIXED_BYTES, k->path, k->len) == 0);
	}
}

/* fsc_shm_path_cacheable's rule, a component at a time: absolute, at most path_max bytes, no
 * trailing '/' (but "/" itself), no empty, "." or ".." component. */
static bool model_cacheable(const char *path, size_t len, uint32_t path_max)
{
	if (len == 0 || len > path_max || path[0] != '/')
		return false;
	if (len == 1)
		return true;
	if (path[len - 1] == '/')
		return false;
	for (size_t i = 1, start = 1; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		size_t clen = i - start;
		if (clen == 0 || (clen == 1 && path[start] == '.') ||
		    (clen == 2 && path[start] == '.' && path[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

/* On an exact-size copy: the word-at-a-time scan must not read past the path. */
static void check_cacheable(const uint8_t *bytes, size_t len)
{
	static const uint32_t bounds[] = {1, 8, 120, FSC_SLOT_SIZE_MAX};
	char *path = malloc(len ? len : 1);
	FUZZ_CHECK(path);
	memcpy(path, bytes, len);
	for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++)
		FUZZ_CHECK(fsc_shm_path_cacheable(path, len, bounds[b]) ==
			   model_cacheable(path, len, bounds[b]));
	free(path);
}

/* Keys: the paths of the first live slots (bounded by path_max), the fixed ones, and the
 * input's last bytes. */
static size_t collect_keys(const unsigned char *obj, const struct fsc_shm_layout *l,
			   const uint8_t *data, size_t n_data, struct key *keys)
{
	size_t n = 0;
	for (uint64_t i = 0; i < l->slot_count && n < KEYS_FROM_SLOTS; i++) {
		const unsigned char *s = slot_bytes(obj, l, i);
		uint64_t meta = fsc_fuzz_word(s + 16);
		uint32_t len = fsc_shm_meta_path_len(meta);
		if ((meta & 0xff) != FSC_SLOT_LIVE || len == 0 || len > l->path_max)
			continue;
		memcpy(keys[n].path, s + FSC_SLOT_FIXED_BYTES, len);
		keys[n].path[len] = '\0';
		keys[n++].len = len;
	}
	for (size_t f = 0; f < sizeof(fixed_paths) / sizeof(fixed_paths[0]); f++) {
		keys[n].len = strlen(fixed_paths[f]);
		memcpy(keys[n].path, fixed_paths[f], keys[n].len + 1);
		n++;
	}
	size_t tail = n_data < TAIL_KEY_MAX ? n_data : TAIL_KEY_MAX;
	memcpy(keys[n].path, data + n_data - tail, tail);
	keys[n].path[tail] = '\0';
	keys[n++].len = tail;
	return n;
}

/* Makes the object look served by a live writer: what libfsc needs to answer from it. */
static void forge_live(unsigned char *obj, size_t size)
{
	if (size < sizeof(struct fsc_shm_header))
		return;
	struct fsc_shm_header *h = (struct fsc_shm_header *)(void *)obj;
	uint32_t tid = (uint32_t)gettid() & FUTEX_TID_MASK;
	memcpy(h->liveness_mutex, &tid, sizeof(tid));
	atomic_store_explicit(&h->state, FSC_TABLE_LIVE, memory_order_relaxed);
	h->writer_timeout_ns = FSC_WRITER_TIMEOUT_MAX_NS;
	atomic_store_explicit(&h->heartbeat_ns, fsc_fuzz_now_coarse_ns(), memory_order_relaxed);
}

static void check_libfsc(const struct fsc_fuzz_object *o, int vrc, const struct fsc_shm_layout *l,
			 const struct key *keys, size_t nkeys)
{
	bool forged = o->flags & FUZZ_FORGE_LIVE;
	errno = 0;
	fsc_t *c = fsc_open(fsc_fuzz_name());
	/* the served region is part of the table: damaged, the table is refused */
	int open_errno = errno;
	struct fsc_served *served = NULL;
	if (vrc == 0) {
		const char *why = NULL;
		vrc = fsc_shm_served_parse((const void *)o->bytes, o->size, l, &served, &why);
		FUZZ_CHECK(vrc == 0 || (vrc == -EPROTO && why));
	}
	errno = open_errno;
	if (vrc != 0) {
		FUZZ_CHECK(!c && errno == EPROTO);
		return;
	}
	FUZZ_CHECK(c || (!forged && errno == ESRCH));
	if (!c) {
		free(served);
		return;
	}
	/* fsc_covers answers what the checked copy says (IF_DIR: a lookup decides) */
	for (size_t i = 0; i < nkeys && forged; i++) {
		const char *path = keys[i].path;
		int cov = fsc_covers(c, path);
		enum fsc_served_answer a = fsc_shm_served_covers(served, path, strlen(path));
		if (path[0] != '/')
			FUZZ_CHECK(cov == -1 && errno == EINVAL);
		else if (!fsc_shm_path_cacheable(path, strlen(path), UINT32_MAX))
			FUZZ_CHECK(cov == 0);
		else
			FUZZ_CHECK(a == FSC_SERVED_IF_DIR ? cov == 0 || cov == 1 : cov == (int)a);
	}
	free(served);
	for (size_t i = 0; i < nkeys; i++) {
		const char *path = keys[i].path;
		uint64_t index = 0;
		int want = model_lookup(o->bytes, l, path, strlen(path), true, &index);
		struct stat st;
		struct fsc_info info;
		int r = fsc_lookup(c, path, &st, &info);
		/* unforged, the heartbeat the input holds may go stale meanwhile */
		FUZZ_CHECK(r == want || (!forged && r == FSC_UNAVAILABLE));
		if (r != FSC_HIT && r != FSC_NEGATIVE)
			continue;
		struct stat rec;
		uint32_t flags;
		slot_record(o->bytes, l, index, &rec, &flags);
		FUZZ_CHECK(info.flags == (flags & FSC_REC_MASK) && info.reserved == 0 &&
			   info.generation == l->generation);
		FUZZ_CHECK(r == FSC_NEGATIVE || stat_equal(&st, &rec));
		if (!forged || (flags & (FSC_REC_STALE | FSC_REC_POLLED)))
			continue;
		/* a trusted record: fsc_stat answers from it, without stat(2) */
		errno = 0;
		int s = fsc_stat(c, path, &st);
		FUZZ_CHECK(r == FSC_HIT ? s == 0 && stat_equal(&st, &rec)
					: s == -1 && errno == ENOENT);
	}
	struct stat st;
	int s = fsc_stat(c, "/", &st);
	FUZZ_CHECK(s == 0 || s == -1);
	s = fsc_request(c, keys[0].path);
	FUZZ_CHECK(s == 0 || s == -1);
	/* no journal object exists for this name: never a cursor, never a change */
	fsc_cursor_t cur;
	errno = 0;
	FUZZ_CHECK(fsc_journal_start(c, &cur) == -1 &&
		   (errno == ENOENT || errno == ESRCH || errno == EPROTO));
	const struct fsc_shm_header *h = (const void *)o->bytes;
	cur = (fsc_cursor_t){.journal_id = h->journal_id, .pos = 0};
	struct fsc_change *ch = malloc(sizeof(*ch));
	FUZZ_CHECK(ch && fsc_journal_next(c, &cur, ch) == FSC_CURSOR_LOST);
	free(ch);
	fsc_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	size_t tail = n < TAIL_KEY_MAX ? n : TAIL_KEY_MAX;
	check_cacheable(data + n - tail, tail);
	struct fsc_fuzz_object o;
	fsc_fuzz_object_build(data, n, &o);
	if (o.flags & FUZZ_FORGE_LIVE)
		forge_live(o.bytes, o.size);

	struct fsc_shm_layout l;
	const char *why = NULL;
	int vrc =
	    o.size ? fsc_shm_header_validate((const void *)o.bytes, o.size, &l, &why) : -EPROTO;
	FUZZ_CHECK(vrc == 0 || (vrc == -EPROTO && (!o.size || why)));
	static struct key keys[NKEYS];
	size_t nkeys = 0;
	if (vrc == 0) {
		/* the geometry validated is the geometry the object has */
		FUZZ_CHECK(l.slot_count && (l.slot_count & l.mask) == 0 &&
			   l.slots_offset + l.slot_count * l.slot_size <= o.size &&
			   l.max_probe >= 1 && l.max_probe <= l.slot_count &&
			   l.path_max == l.slot_size - FSC_SLOT_FIXED_BYTES);
		nkeys = collect_keys(o.bytes, &l, data, n, keys);
		for (size_t i = 0; i < nkeys; i++) {
			check_shm_probe(o.bytes, o.bytes, &l, &keys[i]);
			check_cacheable((const uint8_t *)keys[i].path, keys[i].len);
		}
	}

	/* The same bytes as a published object, attached by name as every reader does. */
	char object[FSC_SHM_OBJECT_NAME_MAX];
	FUZZ_CHECK(fsc_shm_object_name(object, sizeof(object), fsc_fuzz_name()) == 0);
	fsc_fuzz_shm_write(object, o.bytes, o.size);
	struct fsc_shm_mapping map;
	struct fsc_shm_layout ml;
	int mrc = fsc_shm_map_table(fsc_fuzz_name(), NULL, &map, &ml, &why);
	FUZZ_CHECK(mrc == vrc);
	if (mrc == 0) {
		FUZZ_CHECK(
		    map.size == o.size && ml.slot_count == l.slot_count && ml.mask == l.mask &&
		    ml.slots_offset == l.slots_offset && ml.capacity == l.capacity &&
		    ml.hash_seed == l.hash_seed && ml.generation == l.generation &&
		    ml.writer_timeout_ns == l.writer_timeout_ns && ml.slot_size == l.slot_size &&
		    ml.path_max == l.path_max && ml.max_probe == l.max_probe);
		for (size_t i = 0; i < nkeys; i++)
			check_shm_probe(map.base, o.bytes, &ml, &keys[i]);
		fsc_shm_unmap(&map);
	}
	check_libfsc(&o, vrc, &l, keys, nkeys);
	fsc_fuzz_object_free(&o);
	return 0;
}
