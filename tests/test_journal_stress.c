/* The change journal under concurrency and damage. Reader threads follow the journal of a
 * writer thread that changes records as fast as it can, through table replacements, with a
 * small ring they keep falling behind on: after the writer stops, every reader knows every
 * record's final version (nothing lost), and never met a path that was not written. Then a
 * journal scribbled on at random never gives a reader a malformed path or a crash. Runs under
 * TSan in CI (tools/dev.sh). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_journal.h"
#include "fsc_shm_map.h"
#include "fsc_test_util.h"
#include "fsc_writer.h"

#define NPATHS	 128
#define NREADERS 2
#define NOPS	 200000

#define NSNAPS 2048

struct run {
	char name[64];
	struct fsc_writer *w;
	char paths[NPATHS][64];
	uint64_t final[NPATHS]; /* written by the writer thread before done */
	/* op v (1..NOPS) changed path op_path[v] and left the journal's head at op_head[v] */
	uint16_t op_path[NOPS + 1];
	uint64_t op_head[NOPS + 1];
	const struct fsc_journal_header *journal; /* read-only map, for head */
	struct fsc_shm_mapping journal_map;	  /* of which journal is the base */
	_Atomic bool done;
	_Atomic int readers_left;
};

/* What a reader knew at one cursor position: every change before pos must be reflected. */
struct snapshot {
	uint64_t pos;
	uint64_t known[NPATHS];
};

struct reader {
	struct run *r;
	uint64_t known[NPATHS];
	uint64_t changes, lost, foreign;
	struct snapshot snaps[NSNAPS];
	unsigned nsnaps;
};

static uint64_t version_of(const struct stat *st, int i)
{
	return (uint64_t)st->st_ino - (uint64_t)i * 1000003;
}

static void *writer_main(void *arg)
{
	struct run *r = arg;
	uint64_t x = 88172645463325252ull;
	for (uint64_t v = 1; v <= NOPS; v++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int i = (int)(x % NPATHS);
		struct stat st;
		fsc_test_fake_stat(&st, (uint64_t)i, v);
		fsc_writer_put(r->w, r->paths[i], strlen(r->paths[i]), &st, 0);
		r->final[i] = v;
		r->op_path[v] = (uint16_t)i;
		r->op_head[v] = atomic_load_explicit(&r->journal->head, memory_order_relaxed);
		if (v % 1024 == 0) {
			fsc_writer_heartbeat(r->w);
			fsc_writer_journal_wake(r->w);
		}
		if (v % 50000 == 0) { /* the journal outlives table replacements */
			const char *why;
			assert_int_equal(fsc_writer_replace(r->w, 4 * NPATHS, &why), 0);
		}
	}
	fsc_writer_journal_wake(r->w);
	/* release: final[] is complete for a reader that sees done */
	atomic_store_explicit(&r->done, true, memory_order_release);
	return NULL;
}

static int path_index(const struct run *r, const char *path)
{
	int i;
	if (sscanf(path, "/s/%d/", &i) != 1 || i < 0 || i >= NPATHS || strcmp(path, r->paths[i]))
		return -1;
	return i;
}

/* Looks path i up and notes its version; a record is there for every key written. */
static void reader_look(fsc_t *c, struct reader *rd, int i)
{
	struct stat st;
	int res;
	while ((res = fsc_lookup(c, rd->r->paths[i], &st, NULL)) == FSC_UNAVAILABLE)
		; /* the slot was mid-write for a long time, or the table is being replaced */
	if (res == FSC_HIT) {
		assert_true(fsc_test_fake_stat_consistent(&st, (uint64_t)i));
		rd->known[i] = version_of(&st, i);
	} else {
		assert_int_equal(res, FSC_MISS); /* not written yet */
		rd->known[i] = 0;
	}
}

static void reader_restart(fsc_t *c, struct reader *rd, fsc_cursor_t *cur)
{
	while (fsc_journal_start(c, cur) != 0)
		assert_true(errno == EAGAIN || errno == ESRCH);
	for (int i = 0; i < NPATHS; i++)
		reader_look(c, rd, i);
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	fsc_t *c = fsc_open(rd->r->name);
	assert_non_null(c);
	fsc_cursor_t cur;
	struct fsc_change ch;
	reader_restart(c, rd, &cur);
	for (bool finishing = false;;) {
		int res = fsc_journal_next(c, &cur, &ch);
		if (res == FSC_CHANGE) {
			int i = path_index(rd->r, ch.path);
			rd->changes++;
			if (i < 0)
				rd->foreign++;
			else
				reader_look(c, rd, i);
			if (rd->changes % 29 == 0 && rd->nsnaps < NSNAPS) {
				struct snapshot *sn = &rd->snaps[rd->nsnaps++];
				sn->pos = cur.pos;
				memcpy(sn->known, rd->known, sizeof(sn->known));
			}
		} else if (res == FSC_CURSOR_LOST) {
			rd->lost++;
			reader_restart(c, rd, &cur);
		} else if (finishing) {
			break; /* caught up after the writer finished: the journal is complete */
		} else if (atomic_load_explicit(&rd->r->done, memory_order_acquire)) {
			finishing = true;
		} else {
			fsc_journal_wait(c, &cur, 20);
		}
	}
	fsc_close(c);
	atomic_fetch_sub(&rd->r->readers_left, 1);
	return NULL;
}

/* Every change the reader's cursor had passed at a snapshot was known to it then: for each
 * path, the version it knew is at least that of the path's last change before the cursor. */
static void check_snapshots(const struct run *r, const struct reader *rd)
{
	uint64_t need[NPATHS] = {0};
	uint64_t v = 1;
	for (unsigned k = 0; k < rd->nsnaps; k++) { /* in cursor order: one pass over the ops */
		const struct snapshot *sn = &rd->snaps[k];
		for (; v <= NOPS && r->op_head[v] <= sn->pos; v++)
			need[r->op_path[v]] = v;
		for (int i = 0; i < NPATHS; i++)
			if (sn->known[i] < need[i])
				fail_msg("at cursor %lu path %d was known at version %lu, but "
					 "version %lu came before the cursor",
					 (unsigned long)sn->pos, i, (unsigned long)sn->known[i],
					 (unsigned long)need[i]);
	}
}

static const struct fsc_journal_header *journal_map(const char *name, struct fsc_shm_mapping *m)
{
	struct fsc_journal_layout l;
	const char *why;
	assert_int_equal(fsc_shm_map_journal(name, NULL, m, &l, &why), 0);
	return m->base;
}

static void test_journal_readers_lose_nothing(void **state)
{
	(void)state;
	struct run *r = calloc(1, sizeof(*r));
	fsc_test_name(r->name, sizeof(r->name), "jstress");
	for (int i = 0; i < NPATHS; i++)
		snprintf(r->paths[i], sizeof(r->paths[i]), "/s/%d/x%.*s", i, i % 40,
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
	struct fsc_writer_opts o = {
	    .name = r->name, .capacity = 4 * NPATHS, .group = (gid_t)-1, .journal_bytes = 65536};
	const char *why;
	assert_int_equal(fsc_writer_open(&r->w, &o, &why), 0);
	r->journal = journal_map(r->name, &r->journal_map);
	struct reader *rd = calloc(NREADERS, sizeof(*rd));
	pthread_t rt[NREADERS];
	atomic_init(&r->readers_left, NREADERS);
	for (int k = 0; k < NREADERS; k++) {
		rd[k].r = r;
		assert_int_equal(pthread_create(&rt[k], NULL, reader_main, &rd[k]), 0);
	}
	/* The writer runs on this thread: the table's liveness lock belongs to the thread that
	 * published it (a replacement made on a thread that then exits reads as a dead writer) */
	writer_main(r);
	while (atomic_load(&r->readers_left) > 0) { /* readers finish on a live table */
		fsc_writer_heartbeat(r->w);
		usleep(10000);
	}
	for (int k = 0; k < NREADERS; k++) {
		pthread_join(rt[k], NULL);
		print_message("reader %d: %lu changes read, %lu cursors lost\n", k,
			      (unsigned long)rd[k].changes, (unsigned long)rd[k].lost);
		assert_int_equal(rd[k].foreign, 0);
		assert_true(rd[k].changes > 0);
		assert_true(rd[k].nsnaps > 0);
		check_snapshots(r, &rd[k]);
		for (int i = 0; i < NPATHS; i++)
			if (rd[k].known[i] != r->final[i])
				fail_msg(
				    "reader %d: path %d known at version %lu, written up to %lu", k,
				    i, (unsigned long)rd[k].known[i], (unsigned long)r->final[i]);
	}
	fsc_shm_unmap(&r->journal_map);
	fsc_writer_close(r->w);
	assert_int_equal(fsc_test_shm_leftovers(r->name, true), 0);
	free(rd);
	free(r);
}

/* Scribbles on every part of a journal while a reader reads it: each answer is either "lost",
 * "caught up" or a well-formed absolute path of the length it claims. */
static void test_journal_damage_never_misleads(void **state)
{
	(void)state;
	char name[64], oname[128];
	fsc_test_name(name, sizeof(name), "jdamage");
	struct fsc_writer_opts o = {
	    .name = name, .capacity = 256, .group = (gid_t)-1, .journal_bytes = 65536};
	struct fsc_writer *w;
	const char *why;
	assert_int_equal(fsc_writer_open(&w, &o, &why), 0);
	fsc_t *c = fsc_open(name);
	assert_non_null(c);
	assert_int_equal(fsc_shm_journal_name(oname, sizeof(oname), name), 0);
	int fd = open(oname, O_RDWR, 0);
	assert_true(fd >= 0);
	size_t size = sizeof(struct fsc_journal_header) + 65536;
	uint64_t *words = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(words != MAP_FAILED);
	uint64_t x = 0x9e3779b97f4a7c15ull, valid = 0, lost = 0;
	for (int round = 0; round < 3000; round++) {
		fsc_cursor_t cur;
		assert_int_equal(fsc_journal_start(c, &cur), 0);
		for (int k = 0; k < 8; k++) {
			struct stat st;
			char p[64];
			snprintf(p, sizeof(p), "/d/%d/%d", round, k);
			fsc_test_fake_stat(&st, (uint64_t)k, (uint64_t)round + 1);
			fsc_writer_put(w, p, strlen(p), &st, 0);
		}
		for (int k = 0; k < 1 + round % 5; k++) { /* anywhere, head and reclaim included */
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t at = (size_t)(x % (size / 8));
			words[at] = (x & 1) ? x : words[at] ^ (1ull << (x >> 58));
		}
		struct fsc_change ch;
		for (int k = 0; k < 12; k++) {
			int res = fsc_journal_next(c, &cur, &ch);
			if (res != FSC_CHANGE) {
				lost += res == FSC_CURSOR_LOST;
				break;
			}
			valid++;
			assert_true(ch.path_len > 0 && ch.path_len < FSC_CHANGE_PATH_MAX);
			assert_int_equal(strlen(ch.path), ch.path_len);
			assert_int_equal(ch.path[0], '/');
		}
		if (round % 50 != 49)
			continue;
		/* start again from an intact journal now and then (a scribbled reclaim or pad
		 * can make every later read of this one "lost", which teaches nothing more) */
		fsc_writer_close(w);
		assert_int_equal(fsc_writer_open(&w, &o, &why), 0);
		munmap(words, size);
		fd = open(oname, O_RDWR, 0);
		words = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		assert_true(words != MAP_FAILED);
	}
	print_message("%lu entries read whole, %lu cursors lost\n", (unsigned long)valid,
		      (unsigned long)lost);
	assert_true(valid > 0 && lost > 0); /* both outcomes were exercised */
	munmap(words, size);
	fsc_close(c);
	fsc_writer_close(w);
	assert_int_equal(fsc_test_shm_leftovers(name, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_journal_readers_lose_nothing),
	    cmocka_unit_test(test_journal_damage_never_misleads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
