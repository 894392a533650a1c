/* The lookup sweep's fixture; see bench_sweep.h. */
#define _GNU_SOURCE
#include "bench_sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_beat.h"
#include "fsc_writer.h"

#define KEY_FIXED_BYTES	    13 /* "/dNN/" + tag + 7 digits */
#define KEY_BYTES_MAX	    4096
#define MIDDLE_COMPONENT    24 /* longest padding component, "/p" + 22 'x' */
#define TREE_DIRS	    100
#define BEAT_INTERVAL_NS    100000000L /* FSC_HEARTBEAT_INTERVAL_NS */
#define BEAT_WRITERS_MAX    32
#define NEGATIVE_SHARE_DIV  8 /* a table of N entries holds N / 8 negative entries */
#define RECORD_MTIME_ORIGIN 1700000000

/* ---- keys ---- */

/* The padding between prefix and "/dNN/...": directory names of at most MIDDLE_COMPONENT
 * bytes each ("/pxxx..."). false if m bytes cannot be made of such names (m == 1). */
static bool middle_make(char *buf, size_t size, size_t m)
{
	if (m == 1 || m + 1 > size)
		return false;
	size_t at = 0;
	while (m > 0) {
		size_t c = m > MIDDLE_COMPONENT ? MIDDLE_COMPONENT : m;
		if (m - c == 1)
			c--; /* never leave one byte: "/" alone is no name */
		buf[at++] = '/';
		buf[at++] = 'p';
		memset(buf + at, 'x', c - 2);
		at += c - 2;
		m -= c;
	}
	buf[at] = '\0';
	return true;
}

/* The prefix and middle for keys of path_len bytes: under root if it fits, else under "". */
static bool key_layout(const char *root, unsigned path_len, bool root_only, const char **prefix,
		       char *middle, size_t size)
{
	size_t root_len = strlen(root);
	if (root_len + KEY_FIXED_BYTES <= path_len &&
	    middle_make(middle, size, path_len - root_len - KEY_FIXED_BYTES)) {
		*prefix = root;
		return true;
	}
	if (root_only || path_len < KEY_FIXED_BYTES)
		return false;
	*prefix = "";
	return middle_make(middle, size, path_len - KEY_FIXED_BYTES);
}

static void keyset_free(struct bench_keyset *ks)
{
	free(ks->path);
	free(ks->arena);
	memset(ks, 0, sizeof(*ks));
}

/* count paths <prefix><middle>/dNN/<tag>NNNNNNN, packed back to back 8-byte aligned the way a
 * caller's own strings would be (as bench_fixture.c does). 0 or -ENOMEM. */
static int keyset_make(struct bench_keyset *ks, const char *prefix, const char *middle, char tag,
		       size_t count)
{
	size_t len = strlen(prefix) + strlen(middle) + KEY_FIXED_BYTES;
	size_t room = (len + 8) & ~(size_t)7;
	size_t bytes = (count * room + 63) & ~(size_t)63;
	ks->count = count;
	ks->arena = aligned_alloc(64, bytes ? bytes : 64);
	ks->path = calloc(count ? count : 1, sizeof(*ks->path));
	if (!ks->arena || !ks->path) {
		keyset_free(ks);
		return -ENOMEM;
	}
	memset(ks->arena, 0, bytes);
	for (size_t i = 0; i < count; i++) {
		char *p = ks->arena + i * room;
		snprintf(p, room, "%s%s/d%02zu/%c%07zu", prefix, middle, i % TREE_DIRS, tag, i);
		ks->path[i] = p;
	}
	return 0;
}

/* Hit key k's made-up record (see bench_sweep.h: st_ino and st_size identify it). */
static void fake_record(size_t k, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = 0x803;
	st->st_ino = (ino_t)(BENCH_SWEEP_INO_BASE + k);
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_uid = 1000;
	st->st_gid = 1000;
	st->st_size = (off_t)k;
	st->st_blksize = 4096;
	st->st_blocks = 8;
	st->st_mtim.tv_sec = RECORD_MTIME_ORIGIN + (time_t)k;
	st->st_mtim.tv_nsec = (long)(k % 1000000000u);
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

/* ---- heartbeat of every table built ---- */

static struct {
	struct fsc_writer *writers[BEAT_WRITERS_MAX];
	size_t count;
	bool running, stop;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
} beat = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *beat_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&beat.lock);
	while (!beat.stop) {
		/* the only writer call made off the building thread; see bench_sweep.h */
		for (size_t i = 0; i < beat.count; i++)
			fsc_writer_heartbeat(beat.writers[i]);
		bench_beat_wait(&beat.cond, &beat.lock, BEAT_INTERVAL_NS);
	}
	pthread_mutex_unlock(&beat.lock);
	return NULL;
}

int bench_sweep_beat_start(void)
{
	if (beat.running)
		return 0;
	/* one round here, so no lookup can run before the first beat of a table built long ago */
	for (size_t i = 0; i < beat.count; i++)
		fsc_writer_heartbeat(beat.writers[i]);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&beat.cond, &ca);
	pthread_condattr_destroy(&ca);
	beat.stop = false;
	int rc = pthread_create(&beat.thread, NULL, beat_main, NULL);
	if (rc) {
		pthread_cond_destroy(&beat.cond);
		return -rc;
	}
	beat.running = true;
	return 0;
}

void bench_sweep_beat_stop(void)
{
	if (!beat.running)
		return;
	pthread_mutex_lock(&beat.lock);
	beat.stop = true;
	pthread_cond_signal(&beat.cond);
	pthread_mutex_unlock(&beat.lock);
	pthread_join(beat.thread, NULL);
	pthread_cond_destroy(&beat.cond);
	beat.running = false;
}

static void beat_forget(struct fsc_writer *w)
{
	for (size_t i = 0; i < beat.count; i++) {
		if (beat.writers[i] == w) {
			beat.writers[i] = beat.writers[--beat.count];
			return;
		}
	}
}

/* ---- tables ---- */

/* Insertion order: the negative entries are spread evenly among the records (this many go in
 * once record k is in). With linear probing a key inserted late sits further from its home
 * on average; all negatives last made them read 2.1 slots against 1.4 at a million entries. */
static size_t negatives_after(const struct bench_sweep_table *t, size_t k)
{
	return (k + 1) * t->negative.count / t->hit.count;
}

static int table_publish(struct bench_sweep_table *t, const char **why)
{
	struct fsc_writer_opts wo = {.name = t->name, .capacity = t->entries, .group = (gid_t)-1};
	int rc = fsc_writer_open(&t->writer, &wo, why);
	if (rc) {
		t->writer = NULL;
		return rc;
	}
	for (size_t k = 0, j = 0; k < t->hit.count && !rc; k++) {
		struct stat st;
		fake_record(k, &st);
		rc = fsc_writer_put(t->writer, t->hit.path[k], strlen(t->hit.path[k]), &st, 0);
		for (; !rc && j < negatives_after(t, k); j++)
			rc = fsc_writer_put_negative(t->writer, t->negative.path[j],
						     strlen(t->negative.path[j]));
	}
	if (rc) {
		*why = "the writer refused a key";
		return rc;
	}
	if (fsc_writer_header(t->writer)->counters[FSC_CTR_ENTRIES] != t->entries) {
		*why = "the table holds fewer entries than were put (evictions?)";
		return -EPROTO;
	}
	t->slot_count = fsc_writer_layout(t->writer)->slot_count;
	t->slot_size = fsc_writer_layout(t->writer)->slot_size;
	fsc_writer_heartbeat(t->writer);
	return 0;
}

static int private_fill(struct bench_sweep_table *t, const char **why)
{
	t->private_table =
	    bench_private_create(t->entries, fsc_writer_layout(t->writer)->hash_seed);
	if (!t->private_table) {
		*why = "out of memory (private table)";
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t k = 0, j = 0; k < t->hit.count && !rc; k++) {
		struct stat st;
		fake_record(k, &st);
		rc = bench_private_put(t->private_table, t->hit.path[k], &st);
		for (; !rc && j < negatives_after(t, k); j++)
			rc = bench_private_put(t->private_table, t->negative.path[j], NULL);
	}
	if (rc)
		*why = "the private table refused a key";
	return rc;
}

/* Checking a million keys takes longer than readers wait for a heartbeat (2 s): beat as we
 * go (on the building thread, like every other writer call here). */
static void beat_now_and_then(const struct bench_sweep_table *t, size_t k)
{
	if (k % 65536 == 0)
		fsc_writer_heartbeat(t->writer);
}

/* Every key of both tables answers as it should: hits with their own record (flags 0, or
 * fsc_stat would not answer from the table), negatives, misses. */
static int table_check(const struct bench_sweep_table *t, const char **why)
{
	for (size_t k = 0; k < t->hit.count; k++) {
		beat_now_and_then(t, k);
		struct stat a, b;
		struct fsc_info info;
		if (fsc_lookup(t->reader, t->hit.path[k], &a, &info) != FSC_HIT || info.flags ||
		    a.st_ino != (ino_t)(BENCH_SWEEP_INO_BASE + k) ||
		    bench_private_lookup(t->private_table, t->hit.path[k], &b) != FSC_HIT ||
		    b.st_ino != a.st_ino) {
			*why = "a hit key is not a hit with its own record";
			return -EPROTO;
		}
	}
	for (size_t k = 0; k < t->negative.count; k++) {
		struct stat st;
		beat_now_and_then(t, k);
		if (fsc_lookup(t->reader, t->negative.path[k], &st, NULL) != FSC_NEGATIVE ||
		    bench_private_lookup(t->private_table, t->negative.path[k], &st) !=
			FSC_NEGATIVE) {
			*why = "a negative key is not FSC_NEGATIVE";
			return -EPROTO;
		}
	}
	for (size_t k = 0; k < t->miss.count; k++) {
		struct stat st;
		beat_now_and_then(t, k);
		if (fsc_lookup(t->reader, t->miss.path[k], &st, NULL) != FSC_MISS ||
		    bench_private_lookup(t->private_table, t->miss.path[k], &st) != FSC_MISS) {
			*why = "a miss key is not FSC_MISS";
			return -EPROTO;
		}
	}
	return 0;
}

static int table_keys(struct bench_sweep_table *t, const char *root, const char **why)
{
	const char *prefix;
	char middle[KEY_BYTES_MAX];
	if (!key_layout(root, t->path_len, false, &prefix, middle, sizeof(middle))) {
		*why = "no key layout has this path length";
		return -EINVAL;
	}
	t->prefix_is_real = prefix == root;
	size_t negatives = t->entries / NEGATIVE_SHARE_DIV;
	size_t records = t->entries - negatives;
	if (keyset_make(&t->hit, prefix, middle, 'f', records) ||
	    keyset_make(&t->negative, prefix, middle, 'n', negatives) ||
	    keyset_make(&t->miss, prefix, middle, 'm', records)) {
		*why = "out of memory (keys)";
		return -ENOMEM;
	}
	return 0;
}

int bench_sweep_table_build(struct bench_sweep_table **out, const char *root,
			    const char *table_base, size_t entries, unsigned path_len,
			    const char **why)
{
	*out = NULL;
	*why = NULL;
	if (beat.running || beat.count == BEAT_WRITERS_MAX || entries == 0 ||
	    entries > BENCH_SWEEP_MAX_KEYS) {
		*why = "tables are built before the heartbeat starts, at most 32, 1..10^7 entries";
		errno = EINVAL;
		return -1;
	}
	struct bench_sweep_table *t = calloc(1, sizeof(*t));
	if (!t) {
		*why = "out of memory";
		errno = ENOMEM;
		return -1;
	}
	t->entries = entries;
	t->path_len = path_len;
	snprintf(t->name, sizeof(t->name), "%s-n%zu-l%u", table_base, entries, path_len);
	int rc = table_keys(t, root, why);
	if (!rc)
		rc = table_publish(t, why);
	if (!rc)
		beat.writers[beat.count++] = t->writer;
	if (!rc && !(t->reader = fsc_open(t->name))) {
		rc = -errno;
		*why = "fsc_open cannot attach to the table just published";
	}
	if (!rc)
		rc = private_fill(t, why);
	if (!rc)
		rc = table_check(t, why);
	if (rc) {
		bench_sweep_table_free(t);
		errno = -rc;
		return -1;
	}
	*out = t;
	return 0;
}

void bench_sweep_table_free(struct bench_sweep_table *t)
{
	if (!t)
		return;
	fsc_close(t->reader);
	if (t->writer) {
		beat_forget(t->writer);
		fsc_writer_close(t->writer);
	}
	bench_private_destroy(t->private_table);
	keyset_free(&t->hit);
	keyset_free(&t->negative);
	keyset_free(&t->miss);
	free(t);
}

/* ---- real files ---- */

/* mkdir each directory of root + middle below root (some are shared between lengths). */
static int make_middle_dirs(char *dir, size_t root_len)
{
	for (char *slash = dir + root_len + 1;; slash++) {
		bool end = *slash == '\0';
		if (*slash != '/' && !end)
			continue;
		*slash = '\0';
		int rc = mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : 0;
		if (!end)
			*slash = '/';
		if (rc || end)
			return rc;
	}
}

static int make_files(const struct bench_stat_tree *t, const char *base, const char **why)
{
	char dir[KEY_BYTES_MAX + 64]; /* base is at most KEY_BYTES_MAX + 8 */
	for (size_t d = 0; d < TREE_DIRS && d < t->exists.count; d++) {
		snprintf(dir, sizeof(dir), "%s/d%02zu", base, d);
		if (mkdir(dir, 0755) < 0) {
			*why = "cannot create a directory of the tree";
			return -errno;
		}
	}
	char line[64];
	for (size_t i = 0; i < t->exists.count; i++) {
		int fd = open(t->exists.path[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			*why = "cannot create a file of the tree";
			return -errno;
		}
		int len = snprintf(line, sizeof(line), "file %zu\n", i); /* sizes differ */
		ssize_t wr = write(fd, line, (size_t)len);
		close(fd);
		if (wr != len) {
			*why = "cannot write a file of the tree";
			return -EIO;
		}
	}
	return 0;
}

int bench_stat_tree_build(struct bench_stat_tree **out, const char *root, size_t files,
			  unsigned path_len, const char **why)
{
	*out = NULL;
	*why = NULL;
	const char *prefix;
	char middle[KEY_BYTES_MAX];
	if (files > BENCH_SWEEP_MAX_KEYS ||
	    !key_layout(root, path_len, true, &prefix, middle, sizeof(middle))) {
		*why = "the root does not fit in this path length";
		errno = ENAMETOOLONG;
		return -1;
	}
	struct bench_stat_tree *t = calloc(1, sizeof(*t));
	if (!t) {
		*why = "out of memory";
		errno = ENOMEM;
		return -1;
	}
	t->path_len = path_len;
	char base[KEY_BYTES_MAX + 8];
	snprintf(base, sizeof(base), "%s%s", root, middle);
	int rc = keyset_make(&t->exists, root, middle, 'f', files) ||
			 keyset_make(&t->absent, root, middle, 'm', files)
		     ? -ENOMEM
		     : 0;
	if (rc)
		*why = "out of memory (keys)";
	if (!rc && middle[0] && (rc = make_middle_dirs(base, strlen(root))) != 0)
		*why = "cannot create the padding directories";
	if (!rc)
		rc = make_files(t, base, why);
	if (rc) {
		bench_stat_tree_free(t);
		errno = -rc;
		return -1;
	}
	*out = t;
	return 0;
}

void bench_stat_tree_free(struct bench_stat_tree *t)
{
	if (!t)
		return;
	keyset_free(&t->exists);
	keyset_free(&t->absent);
	free(t);
}

/* ---- the root ---- */

int bench_sweep_root_make(char *root, size_t size, const char *parent)
{
	if (!parent || !*parent)
		parent = getenv("TMPDIR");
	if (!parent || !*parent)
		parent = "/tmp";
	int n = snprintf(root, size, "%s/sXXXXXX", parent);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(root) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void bench_sweep_root_remove(const char *root)
{
	if (root && root[0])
		nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
