/* fsc-fuzz-seed DIR: writes the fuzz targets' seed corpus, DIR/table/ and DIR/journal/.
 * Valid objects come from the writer library (copied while their writer is live), damaged
 * ones from editing copies of them. Each file is an input as fuzz_common.h describes: a flags
 * byte, then the object without its trailing zeros (FUZZ_ZERO_EXTEND puts them back), unless
 * the seed is about a truncated object. The objects are random per run (hash seeds, ids), so
 * the committed corpus is one run's output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsc_shm_journal.h"
#include "fsc_writer.h"

#define ZERO_EXTEND 0x01u
#define FORGE_LIVE  0x02u /* fuzz_table.c: stamp the liveness words */
#define NAME_OTHER  0x02u /* fuzz_journal.c: the table names another journal */
#define RING_TAIL   0x04u /* fuzz_journal.c: the bytes past the header end the ring */

static const char *out_dir;

struct blob {
	unsigned char *bytes;
	size_t size;
};

static void die(const char *what)
{
	fprintf(stderr, "fsc-fuzz-seed: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct blob copy_object(const char *object)
{
	char file[256];
	snprintf(file, sizeof(file), "/dev/shm%s", object);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die(file);
	struct blob b = {malloc((size_t)st.st_size), (size_t)st.st_size};
	if (!b.bytes || pread(fd, b.bytes, b.size, 0) != (ssize_t)b.size)
		die(file);
	close(fd);
	return b;
}

static struct blob blob_dup(struct blob b)
{
	struct blob c = {malloc(b.size), b.size};
	if (!c.bytes)
		die("malloc");
	memcpy(c.bytes, b.bytes, b.size);
	return c;
}

/* Writes flags + bytes[0, keep) (keep 0: up to the last nonzero byte) as DIR/kind/name. */
static void emit(const char *kind, const char *name, unsigned flags, struct blob b, size_t keep)
{
	if (!keep) {
		keep = b.size;
		while (keep > 64 && !b.bytes[keep - 1])
			keep--;
	}
	char file[512];
	snprintf(file, sizeof(file), "%s/%s/%s", out_dir, kind, name);
	FILE *f = fopen(file, "wb");
	unsigned char fl = (unsigned char)flags;
	if (!f || fwrite(&fl, 1, 1, f) != 1 || fwrite(b.bytes, 1, keep, f) != keep || fclose(f))
		die(file);
}

static struct stat fake_stat(unsigned i)
{
	struct stat st = {0};
	st.st_dev = 0x803;
	st.st_ino = 1000 + i;
	st.st_mode = (i % 3 ? S_IFREG | 0644 : S_IFDIR | 0755);
	st.st_nlink = 1 + i % 2;
	st.st_size = 100 * i;
	st.st_blksize = 4096;
	st.st_blocks = i;
	st.st_mtim.tv_sec = 1700000000 + i;
	st.st_mtim.tv_nsec = i;
	st.st_ctim = st.st_mtim;
	st.st_atim = st.st_mtim;
	return st;
}

static void put(struct fsc_writer *w, const char *path, unsigned i, uint32_t flags)
{
	struct stat st = fake_stat(i);
	if (fsc_writer_put(w, path, strlen(path), &st, flags) != 0)
		fprintf(stderr, "fsc-fuzz-seed: put %s refused\n", path);
}

/* What the seed tables serve (their served region): roots over the keys they hold. */
static const char *const seed_roots[] = {"/etc", "/var/log/syslog", "/tmp/a"};
static const bool seed_root_is_file[] = {false, true, false};
static const char *const seed_exclude[] = {"*.bak", "b"};
static const char *const seed_include[] = {"*"};
static const struct fsc_served_spec seed_served = {.roots = seed_roots,
						   .root_is_file = seed_root_is_file,
						   .nroots = 3,
						   .exclude = seed_exclude,
						   .nexclude = 2,
						   .include = seed_include,
						   .ninclude = 1,
						   .max_depth = 4};

static struct fsc_writer *open_writer(const char *name, uint32_t slot_size, uint64_t journal)
{
	struct fsc_writer_opts o = {.name = name,
				    .capacity = 32,
				    .slot_size = slot_size,
				    .journal_bytes = journal,
				    .served = &seed_served};
	struct fsc_writer *w;
	const char *why;
	if (fsc_writer_open(&w, &o, &why) != 0) {
		fprintf(stderr, "fsc-fuzz-seed: %s\n", why);
		exit(1);
	}
	return w;
}

static struct fsc_shm_slot *slot(struct blob b, uint64_t i)
{
	const struct fsc_shm_header *h = (const void *)b.bytes;
	return (struct fsc_shm_slot *)(void *)(b.bytes + h->slots_offset + i * h->slot_size);
}

/* The n-th live slot (wrapping), or NULL. */
static struct fsc_shm_slot *live_slot(struct blob b, unsigned n)
{
	const struct fsc_shm_header *h = (const void *)b.bytes;
	for (uint64_t i = 0; i < h->slot_count; i++) {
		struct fsc_shm_slot *s = slot(b, i);
		if (fsc_shm_meta_state(s->meta) == FSC_SLOT_LIVE && n-- == 0)
			return s;
	}
	return NULL;
}

static void tables(const char *name)
{
	char object[128];
	snprintf(object, sizeof(object), "/fsc.%s", name);
	struct fsc_writer *w = open_writer(name, 256, 0);
	static const char *const paths[] = {"/",
					    "/etc",
					    "/etc/passwd",
					    "/etc/hosts",
					    "/var/log/syslog",
					    "/tmp/a/b/c",
					    "/home/user/.profile",
					    ("/usr/share/doc/fsc/a-path-that-is-long-enough-to-"
					     "fill-most-of-the-room-a-small-slot-has-for-it-x")};
	for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		put(w, paths[i], i, i == 4 ? FSC_REC_POLLED : 0);
	fsc_writer_put_negative(w, "/etc/missing", strlen("/etc/missing"));
	fsc_writer_mark_stale(w, "/tmp/a/b/c", strlen("/tmp/a/b/c"));
	put(w, "/tmp/gone", 99, 0);
	fsc_writer_remove(w, "/tmp/gone", strlen("/tmp/gone")); /* a tombstone */
	struct blob live = copy_object(object);
	emit("table", "live", ZERO_EXTEND | FORGE_LIVE, live, 0);

	/* a damaged served region: an item's length past the region's end */
	struct blob sv = blob_dup(live);
	const struct fsc_shm_header *lh = (const void *)live.bytes;
	unsigned char *region = sv.bytes + lh->slots_offset + lh->slot_count * lh->slot_size;
	region[sizeof(struct fsc_served_head) + 2] = 0xff;
	emit("table", "served-item-past-end", ZERO_EXTEND | FORGE_LIVE, sv, 0);
	free(sv.bytes);

	/* damaged slots, one of each kind, in one table */
	struct blob d = blob_dup(live);
	struct fsc_shm_slot *s;
	if ((s = live_slot(d, 0)))
		s->seq = 7; /* "being written" for ever */
	if ((s = live_slot(d, 1)))
		s->meta = fsc_shm_meta_pack(FSC_SLOT_LIVE, 0, 4000); /* past path_max */
	if ((s = live_slot(d, 2)))
		s->hash ^= 1;
	for (unsigned n = 3; (s = live_slot(d, n)); n++)
		if (fsc_shm_meta_path_len(s->meta) % 8) { /* garbage in the zero padding */
			((unsigned char *)s->path)[fsc_shm_meta_path_len(s->meta)] = 'x';
			break;
		}
	if ((s = live_slot(d, 5)))
		s->meta = fsc_shm_meta_pack(9, 0, fsc_shm_meta_path_len(s->meta)); /* no state */
	emit("table", "damaged-slots", ZERO_EXTEND | FORGE_LIVE, d, 0);
	free(d.bytes);

	/* header damage: small seeds (only the header; the slots are zeros) */
	size_t hsz = sizeof(struct fsc_shm_header);
	emit("table", "truncated", FORGE_LIVE, live, hsz + 1000);
	emit("table", "header-only-unforged", ZERO_EXTEND, live, hsz);
	d = blob_dup(live);
	struct fsc_shm_header *h = (void *)d.bytes;
	h->magic ^= 0xff;
	emit("table", "bad-magic", ZERO_EXTEND | FORGE_LIVE, d, hsz);
	memcpy(d.bytes, live.bytes, hsz);
	h->slot_count = 96;
	emit("table", "bad-slot-count", ZERO_EXTEND | FORGE_LIVE, d, hsz);
	memcpy(d.bytes, live.bytes, hsz);
	h->max_probe = (uint32_t)h->slot_count; /* the largest bound accepted */
	emit("table", "max-probe-all", ZERO_EXTEND | FORGE_LIVE, d, hsz);
	memcpy(d.bytes, live.bytes, hsz);
	h->slots_offset += 64;
	emit("table", "slots-offset-past-end", ZERO_EXTEND | FORGE_LIVE, d, hsz);
	free(d.bytes);
	free(live.bytes);
	fsc_writer_close(w);

	/* bigger slots, long paths */
	char name2[80];
	snprintf(name2, sizeof(name2), "%s-512", name);
	snprintf(object, sizeof(object), "/fsc.%s", name2);
	w = open_writer(name2, 512, 0);
	char p[400] = "/srv";
	for (unsigned i = 0; i < 6; i++) {
		size_t n = strlen(p);
		snprintf(p + n, sizeof(p) - n, "/component-%u-%.*s", i, (int)(i * 9),
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
		put(w, p, i, 0);
	}
	struct blob big = copy_object(object);
	emit("table", "slot-512", ZERO_EXTEND | FORGE_LIVE, big, 0);
	free(big.bytes);
	fsc_writer_close(w);
}

static struct fsc_journal_entry *entry(struct blob b, uint64_t pos)
{
	const struct fsc_journal_header *h = (const void *)b.bytes;
	return (void *)(b.bytes + h->ring_offset + (pos & (h->ring_size - 1)));
}

/* The last 64 bytes of a lap, as RING_TAIL gives them: a record, then a pad to the end of the
 * ring; head just past the next lap's first entry (zeros: lost), reading from reclaim. */
static void ring_end(struct blob few)
{
	const size_t hsz = sizeof(struct fsc_journal_header);
	struct blob d = {calloc(1, hsz + 64), hsz + 64};
	if (!d.bytes)
		die("calloc");
	memcpy(d.bytes, few.bytes, hsz);
	struct fsc_journal_header *h = (void *)d.bytes;
	uint64_t end = h->ring_size;
	h->head = end + 32;
	h->reclaim = end - 64;
	struct fsc_journal_entry *e = (void *)(d.bytes + hsz);
	const char path[] = "/ring/end/entry";
	e->pos = end - 64;
	e->meta = fsc_shm_journal_meta_pack(48, FSC_JOURNAL_RECORD, 0, sizeof(path) - 1);
	e->change_seq = 77;
	memcpy((char *)e->path, path, sizeof(path) - 1);
	e = (void *)(d.bytes + hsz + 48);
	e->pos = end - 16;
	e->meta = fsc_shm_journal_meta_pack(16, FSC_JOURNAL_PAD, 0, 0);
	emit("journal", "ring-end", ZERO_EXTEND | RING_TAIL, d, d.size);
	free(d.bytes);
}

static void journals(const char *name)
{
	char object[128];
	snprintf(object, sizeof(object), "/fsc-journal.%s", name);
	struct fsc_writer *w = open_writer(name, 256, 64 * 1024);
	put(w, "/", 0, 0);
	put(w, "/etc/passwd", 1, 0);
	fsc_writer_put_negative(w, "/etc/missing", strlen("/etc/missing"));
	put(w, "/var/log/syslog", 2, FSC_REC_POLLED);
	fsc_writer_mark_stale(w, "/etc/passwd", strlen("/etc/passwd"));
	fsc_writer_remove(w, "/var/log/syslog", strlen("/var/log/syslog"));
	put(w, "/tmp/x", 3, 0);
	struct blob few = copy_object(object);
	emit("journal", "few", ZERO_EXTEND, few, 0);
	emit("journal", "names-other", ZERO_EXTEND | NAME_OTHER, few, 0);
	emit("journal", "truncated", 0, few, 0);

	/* damaged entries: each seed breaks one entry of "few" */
	const struct fsc_journal_header *fh = (const void *)few.bytes;
	uint64_t second = fsc_shm_journal_meta_size(entry(few, 0)->meta);
	uint64_t third = second + fsc_shm_journal_meta_size(entry(few, second)->meta);
	struct blob d = blob_dup(few);
	struct fsc_journal_entry *e = entry(d, second);
	e->meta = fsc_shm_journal_meta_pack(64 * 1024, FSC_JOURNAL_RECORD, 0, 11);
	emit("journal", "size-past-ring", ZERO_EXTEND, d, 0);
	memcpy(d.bytes, few.bytes, d.size);
	((char *)e->path)[3] = '\0';
	emit("journal", "nul-in-path", ZERO_EXTEND, d, 0);
	memcpy(d.bytes, few.bytes, d.size);
	e->pos += 16;
	emit("journal", "pos-mismatch", ZERO_EXTEND, d, 0);
	memcpy(d.bytes, few.bytes, d.size);
	e->meta = fsc_shm_journal_meta_pack((uint32_t)(third - second), FSC_JOURNAL_PAD, 0, 0);
	emit("journal", "one-pad", ZERO_EXTEND, d, 0);
	e = entry(d, 0);
	e->meta = fsc_shm_journal_meta_pack((uint32_t)second, FSC_JOURNAL_PAD, 0, 0);
	emit("journal", "two-pads", ZERO_EXTEND, d, 0);
	memcpy(d.bytes, few.bytes, d.size);
	struct fsc_journal_header *h = (void *)d.bytes;
	h->head = fh->head + 16; /* past the last entry */
	emit("journal", "head-ahead", ZERO_EXTEND, d, 0);
	memcpy(d.bytes, few.bytes, d.size);
	h->reclaim = second; /* the first entry overwritten */
	emit("journal", "reclaimed", ZERO_EXTEND, d, 0);
	memcpy(d.bytes, few.bytes, d.size);
	h->state = FSC_JOURNAL_STOPPED;
	emit("journal", "stopped", ZERO_EXTEND, d, 0);
	memcpy(d.bytes, few.bytes, d.size);
	h->ring_size = 48 * 1024;
	emit("journal", "bad-ring-size", ZERO_EXTEND, d, 0);
	free(d.bytes);
	ring_end(few);
	free(few.bytes);

	/* a ring that has wrapped: pads, reclaim, head past ring_size */
	char path[64];
	for (unsigned i = 0; i < 2500; i++) {
		snprintf(path, sizeof(path), "/w/%u%s", i, i % 7 ? "" : "/a-longer-name");
		put(w, path, i, 0);
	}
	struct blob wrapped = copy_object(object);
	emit("journal", "wrapped", ZERO_EXTEND, wrapped, 0);
	free(wrapped.bytes);
	fsc_writer_close(w);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fsc-fuzz-seed DIR (writes DIR/table/ and DIR/journal/)\n");
		return 2;
	}
	out_dir = argv[1];
	char name[64];
	snprintf(name, sizeof(name), "fuzzseed-%d", (int)getpid());
	tables(name);
	journals(name);
	return 0;
}
