/* fsc-shmdump: reading raw slots and listing the live ones.
 *
 * fsc_shm_slot_read() answers "is this slot the key K?"; a dump does not know the keys in
 * advance, so it copies each slot whole under the seqlock (PROTOCOL.md, "Seqlock"): acquire
 * load of seq, relaxed loads of every word, acquire fence, re-load of seq; the copy is used
 * only when seq was even and unchanged. */
#define _GNU_SOURCE
#include "fsc_shmdump.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsc_shm_seqlock.h"

/* A slot still being rewritten after this many tries is skipped (and counted as busy). The
 * writer rewrites a slot in well under a microsecond; past the first few tries we yield the
 * CPU in case it was preempted mid-write. */
#define FSC_DUMP_READ_TRIES 1000
#define FSC_DUMP_SPIN_TRIES 16

#define FSC_DUMP_PATH_WORDS ((FSC_SLOT_SIZE_MAX - FSC_SLOT_FIXED_BYTES) / 8)

uint64_t fsc_dump_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t fsc_dump_age_ms(uint64_t now_ns, uint64_t then_ns)
{
	if (now_ns >= then_ns)
		return (int64_t)((now_ns - then_ns) / 1000000u);
	return -(int64_t)((then_ns - now_ns) / 1000000u);
}

/* One attempt: relaxed copies of every word of a live slot's record and path. The path
 * length is bounded by the layout's path_max (a private, validated value) before any path
 * word is loaded, so a damaged length cannot read past the slot. */
static void fsc_dump_slot_copy(const struct fsc_shm_slot *s, uint32_t path_len, uint32_t path_max,
			       struct fsc_dump_entry *out, uint64_t *words)
{
	out->change_seq = atomic_load_explicit(&s->change_seq, memory_order_relaxed);
	out->verified_ns = atomic_load_explicit(&s->verified_ns, memory_order_relaxed);
	for (int w = 0; w < FSC_ST_WORDS; w++)
		out->st[w] = atomic_load_explicit(&s->st[w], memory_order_relaxed);
	uint32_t len = path_len <= path_max ? path_len : path_max;
	for (uint32_t w = 0; w < (len + 7) / 8; w++)
		words[w] = atomic_load_explicit(&s->path[w], memory_order_relaxed);
}

enum fsc_dump_slot_status fsc_dump_slot_read(const struct fsc_dump_table *t, uint64_t index,
					     struct fsc_dump_entry *out)
{
	const struct fsc_shm_slot *s = fsc_shm_slot_at(t->hdr, &t->layout, index);
	uint64_t words[FSC_DUMP_PATH_WORDS];
	for (int attempt = 0; attempt < FSC_DUMP_READ_TRIES; attempt++) {
		if (attempt >= FSC_DUMP_SPIN_TRIES)
			sched_yield();
		uint64_t s0 = fsc_shm_seqlock_read_begin(&s->seq);
		if (fsc_shm_seqlock_is_writing(s0))
			continue;
		uint64_t meta = atomic_load_explicit(&s->meta, memory_order_relaxed);
		uint32_t state = fsc_shm_meta_state(meta);
		uint32_t len = fsc_shm_meta_path_len(meta);
		if (state == FSC_SLOT_LIVE)
			fsc_dump_slot_copy(s, len, t->layout.path_max, out, words);
		if (fsc_shm_seqlock_read_retry(&s->seq, s0))
			continue;
		if (state == FSC_SLOT_EMPTY)
			return FSC_DUMP_SLOT_EMPTY;
		if (state == FSC_SLOT_TOMBSTONE)
			return FSC_DUMP_SLOT_TOMBSTONE;
		if (state != FSC_SLOT_LIVE || len == 0 || len > t->layout.path_max)
			return FSC_DUMP_SLOT_DAMAGED;
		out->slot = index & t->layout.mask;
		out->flags = fsc_shm_meta_flags(meta);
		out->path_len = len;
		memcpy(out->path, words, len);
		return FSC_DUMP_SLOT_LIVE;
	}
	return FSC_DUMP_SLOT_BUSY;
}

typedef void (*fsc_dump_entry_fn)(void *ctx, const struct fsc_dump_entry *e);

/* Where the slots hold data. A table's object may be sparse: a forged (or damaged) header
 * can claim billions of slots in an object that holds a few pages. Reading a hole of a tmpfs
 * object through a shared mapping allocates it, so a dump that read every slot would make
 * the object directory hold the whole claimed size. The object's holes are never-written slots
 * (EMPTY, all zero), so the scan asks the object where its data is (SEEK_DATA, SEEK_HOLE) and reads
 * only the slots there: memory in proportion to what the writer really wrote. */
struct fsc_dump_extents {
	int fd;		     /* -1: no such information, read every slot */
	uint64_t data, hole; /* the current extent of data: [data, hole) */
};

/* Opens the object again, if it is still the one mapped (same size and generation). */
static void fsc_dump_extents_open(const struct fsc_dump_table *t, struct fsc_dump_extents *x)
{
	*x = (struct fsc_dump_extents){.fd = -1};
	int fd;
	struct stat st;
	const char *why;
	uint64_t gen = 0;
	off_t gen_at = (off_t)offsetof(struct fsc_shm_header, generation);
	if (fsc_shm_open_object(t->object, t->map.size, &t->trust, &fd, &st, &why) == 0 &&
	    (uint64_t)st.st_size == t->map.size &&
	    pread(fd, &gen, sizeof(gen), gen_at) == (ssize_t)sizeof(gen) &&
	    gen == t->hdr->generation && lseek(fd, 0, SEEK_DATA) >= 0) {
		x->fd = fd;
		return;
	}
	if (fd >= 0)
		close(fd);
}

/* The first slot at or after index that holds data, or slot_count if none does. */
static uint64_t fsc_dump_extents_next(const struct fsc_dump_table *t, struct fsc_dump_extents *x,
				      uint64_t index)
{
	const struct fsc_shm_layout *l = &t->layout;
	if (x->fd < 0 || index >= l->slot_count)
		return index;
	uint64_t at = l->slots_offset + index * l->slot_size;
	if (at < x->hole)
		return index; /* within the current extent of data */
	off_t data = lseek(x->fd, (off_t)at, SEEK_DATA);
	off_t hole = data >= 0 ? lseek(x->fd, data, SEEK_HOLE) : -1;
	if (data < 0 || hole < 0) {
		if (data < 0 && errno == ENXIO)
			return l->slot_count; /* no data after at */
		close(x->fd);
		x->fd = -1; /* cannot tell: read every slot from here */
		return index;
	}
	x->data = (uint64_t)data;
	x->hole = (uint64_t)hole;
	if (x->data < at + l->slot_size)
		return index; /* this slot overlaps the data */
	uint64_t next = (x->data - l->slots_offset) / l->slot_size;
	return next < l->slot_count ? next : l->slot_count;
}

/* Reads every slot that may hold data, calls fn for each live one and counts the rest. */
static void fsc_dump_scan_slots(const struct fsc_dump_table *t, fsc_dump_entry_fn fn, void *ctx,
				struct fsc_dump_scan *scan)
{
	static struct fsc_dump_entry e; /* 4 KiB: kept off the stack */
	memset(scan, 0, sizeof(*scan));
	struct fsc_dump_extents x;
	fsc_dump_extents_open(t, &x);
	for (uint64_t i = fsc_dump_extents_next(t, &x, 0); i < t->layout.slot_count;
	     i = fsc_dump_extents_next(t, &x, i + 1)) {
		switch (fsc_dump_slot_read(t, i, &e)) {
		case FSC_DUMP_SLOT_LIVE:
			scan->live++;
			fn(ctx, &e);
			break;
		case FSC_DUMP_SLOT_TOMBSTONE:
			scan->tombstones++;
			break;
		case FSC_DUMP_SLOT_BUSY:
			scan->busy++;
			break;
		case FSC_DUMP_SLOT_DAMAGED:
			scan->damaged++;
			break;
		case FSC_DUMP_SLOT_EMPTY:
			break;
		}
	}
	if (x.fd >= 0)
		close(x.fd);
}

/* "negative,polled,stale", or "-" for none. */
static const char *fsc_dump_flags_text(uint32_t flags, char *buf, size_t size)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {{FSC_REC_NEGATIVE, "negative"},
		     {FSC_REC_POLLED, "polled"},
		     {FSC_REC_STALE, "stale"},
		     {FSC_REC_WRITING, "writing"}};
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "",
					      names[i].name);
	}
	if (flags & ~FSC_REC_MASK)
		snprintf(buf + n, size - n, "%s0x%" PRIx32, n ? "," : "", flags & ~FSC_REC_MASK);
	return buf[0] ? buf : "-";
}

struct fsc_dump_print_ctx {
	FILE *out;
	struct fsc_json *j;
	uint64_t now_ns;
};

static void fsc_dump_entry_text(void *ctx, const struct fsc_dump_entry *e)
{
	struct fsc_dump_print_ctx *p = ctx;
	struct stat st;
	fsc_shm_stat_unpack(e->st, &st);
	char flags[64], size[24] = "-", mode[24] = "-", ino[24] = "-", mtime[48] = "-";
	if (!(e->flags & FSC_REC_NEGATIVE)) {
		/* a negative record's stat words are zero: show them as absent */
		snprintf(size, sizeof(size), "%" PRIu64, (uint64_t)st.st_size);
		snprintf(mode, sizeof(mode), "%#" PRIo64, (uint64_t)st.st_mode);
		snprintf(ino, sizeof(ino), "%" PRIu64, (uint64_t)st.st_ino);
		fsc_time_format_utc(mtime, sizeof(mtime), (int64_t)st.st_mtim.tv_sec,
				    (int64_t)st.st_mtim.tv_nsec);
	}
	fprintf(p->out, "%8" PRIu64 "  %-21s %12s %8s %10s  %-30s %8" PRIu64 " %10" PRId64 "  ",
		e->slot, fsc_dump_flags_text(e->flags, flags, sizeof(flags)), size, mode, ino,
		mtime, e->change_seq, fsc_dump_age_ms(p->now_ns, e->verified_ns));
	fsc_text_write_escaped(p->out, e->path, e->path_len);
	fputc('\n', p->out);
}

void fsc_dump_entries_print_text(const struct fsc_dump_table *t, uint64_t now_ns, FILE *out,
				 struct fsc_dump_scan *scan)
{
	struct fsc_dump_print_ctx p = {.out = out, .now_ns = now_ns};
	fprintf(out, "\nentries (live slots; size in bytes, mode in octal, verified age in ms):\n");
	fprintf(out, "%8s  %-21s %12s %8s %10s  %-30s %8s %10s  %s\n", "SLOT", "FLAGS", "SIZE",
		"MODE", "INO", "MTIME (UTC)", "CHANGE", "VERIFIED", "PATH");
	fsc_dump_scan_slots(t, fsc_dump_entry_text, &p, scan);
	fprintf(out,
		"%" PRIu64 " live entries listed, %" PRIu64 " tombstones, %" PRIu64
		" busy slots skipped, %" PRIu64 " damaged slots\n",
		scan->live, scan->tombstones, scan->busy, scan->damaged);
}

static void fsc_dump_entry_json(void *ctx, const struct fsc_dump_entry *e)
{
	struct stat st;
	fsc_shm_stat_unpack(e->st, &st);
	struct fsc_dump_print_ctx *p = ctx;
	struct fsc_json *j = p->j;
	char mode[24], mtime[48];
	fsc_json_object_begin(j, NULL);
	fsc_json_bytes(j, "path", e->path, e->path_len);
	fsc_json_u64(j, "slot", e->slot);
	fsc_json_array_begin(j, "flags");
	if (e->flags & FSC_REC_NEGATIVE)
		fsc_json_string(j, NULL, "negative");
	if (e->flags & FSC_REC_POLLED)
		fsc_json_string(j, NULL, "polled");
	if (e->flags & FSC_REC_STALE)
		fsc_json_string(j, NULL, "stale");
	fsc_json_array_end(j);
	fsc_json_u64(j, "size", (uint64_t)st.st_size);
	snprintf(mode, sizeof(mode), "%#" PRIo64, (uint64_t)st.st_mode);
	fsc_json_string(j, "mode", mode);
	fsc_json_u64(j, "ino", (uint64_t)st.st_ino);
	fsc_json_i64(j, "mtime_sec", (int64_t)st.st_mtim.tv_sec);
	fsc_json_i64(j, "mtime_nsec", (int64_t)st.st_mtim.tv_nsec);
	fsc_time_format_utc(mtime, sizeof(mtime), (int64_t)st.st_mtim.tv_sec,
			    (int64_t)st.st_mtim.tv_nsec);
	fsc_json_string(j, "mtime", mtime);
	fsc_json_u64(j, "change_seq", e->change_seq);
	fsc_json_i64(j, "verified_age_ms", fsc_dump_age_ms(p->now_ns, e->verified_ns));
	fsc_json_object_end(j);
}

void fsc_dump_entries_print_json(const struct fsc_dump_table *t, uint64_t now_ns,
				 struct fsc_json *j, struct fsc_dump_scan *scan)
{
	struct fsc_dump_print_ctx p = {.j = j, .now_ns = now_ns};
	fsc_json_array_begin(j, "entries");
	fsc_dump_scan_slots(t, fsc_dump_entry_json, &p, scan);
	fsc_json_array_end(j);
	fsc_json_object_begin(j, "scan");
	fsc_json_u64(j, "live", scan->live);
	fsc_json_u64(j, "tombstones", scan->tombstones);
	fsc_json_u64(j, "busy", scan->busy);
	fsc_json_u64(j, "damaged", scan->damaged);
	fsc_json_object_end(j);
}
