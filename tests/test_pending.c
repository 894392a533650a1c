/* fscd's pending set (fscd_pending.c): a path added many times in a pass is flushed once, in
 * the order first added; the set grows to any size, keeps small memory across passes and
 * frees big memory; paths added while flushing wait for the next flush. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsc_shm_journal.h"
#include "fscd_pending.h"

#define MANY 100000

struct seen {
	char **paths; /* in the order flushed */
	size_t count, cap;
};

static void seen_record(void *ctx, const char *path, size_t len)
{
	struct seen *s = ctx;
	assert_int_equal(strlen(path), len);
	if (s->count == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->paths = realloc(s->paths, s->cap * sizeof(*s->paths));
		assert_non_null(s->paths);
	}
	s->paths[s->count] = strdup(path);
	assert_non_null(s->paths[s->count]);
	s->count++;
}

static void seen_clear(struct seen *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->paths[i]);
	free(s->paths);
	*s = (struct seen){0};
}

static void test_dedup_in_first_added_order(void **state)
{
	(void)state;
	struct fscd_pending p = {0};
	for (int i = 0; i < 1000; i++) {
		fscd_pending_add(&p, "/d/b");
		fscd_pending_add(&p, "/d/a");
		fscd_pending_add_len(&p, "/d/c/ignored tail", 4);
		fscd_pending_add(&p, "/d");
	}
	fscd_pending_add(&p, "/d/a/");
	fscd_pending_add(&p, "");
	assert_int_equal(fscd_pending_count(&p), 6);
	struct seen s = {0};
	fscd_pending_flush(&p, seen_record, &s);
	static const char *const want[] = {"/d/b", "/d/a", "/d/c", "/d", "/d/a/", ""};
	assert_int_equal(s.count, 6);
	for (size_t i = 0; i < s.count; i++)
		assert_string_equal(s.paths[i], want[i]);
	assert_int_equal(fscd_pending_count(&p), 0);
	seen_clear(&s);
	/* an empty set flushes nothing */
	fscd_pending_flush(&p, seen_record, &s);
	assert_int_equal(s.count, 0);
	fscd_pending_free(&p);
}

static void many_name(char *buf, size_t size, size_t i)
{
	snprintf(buf, size, "/tree/d%zu/file-%zu", i % 97, i);
}

/* Adds MANY distinct paths (each three times), flushes, and checks each came exactly once. */
static void add_many_and_check(struct fscd_pending *p)
{
	char name[64];
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < MANY; i++) {
			many_name(name, sizeof(name), i);
			fscd_pending_add(p, name);
		}
	assert_int_equal(fscd_pending_count(p), MANY);
	struct seen s = {0};
	fscd_pending_flush(p, seen_record, &s);
	assert_int_equal(s.count, MANY);
	for (size_t i = 0; i < MANY; i++) {
		many_name(name, sizeof(name), i);
		assert_string_equal(s.paths[i], name);
	}
	seen_clear(&s);
}

static void test_growth_many_paths(void **state)
{
	(void)state;
	struct fscd_pending p = {0};
	add_many_and_check(&p);
	/* a set that grew past FSCD_PENDING_KEEP gives its memory back once flushed */
	assert_null(p.spare.entries);
	assert_null(p.spare.arena);
	assert_null(p.spare.slots);
	add_many_and_check(&p);
	fscd_pending_free(&p);
}

static void test_reuse_across_passes(void **state)
{
	(void)state;
	struct fscd_pending p = {0};
	char name[64];
	struct seen s = {0};
	for (int pass = 0; pass < 50; pass++) {
		size_t n = 1 + (size_t)pass * 37 % 500; /* below FSCD_PENDING_KEEP */
		for (size_t i = 0; i < n; i++) {
			/* the same paths again and again, and new ones, pass after pass */
			many_name(name, sizeof(name), i + (size_t)(pass % 3) * 1000);
			fscd_pending_add(&p, name);
			fscd_pending_add(&p, name);
		}
		assert_int_equal(fscd_pending_count(&p), n);
		fscd_pending_flush(&p, seen_record, &s);
		assert_int_equal(s.count, n);
		for (size_t i = 0; i < n; i++) {
			many_name(name, sizeof(name), i + (size_t)(pass % 3) * 1000);
			assert_string_equal(s.paths[i], name);
		}
		seen_clear(&s);
		/* a small set's memory is kept for a later pass */
		assert_non_null(p.spare.entries);
		assert_non_null(p.spare.arena);
		assert_int_equal(p.spare.count, 0);
	}
	fscd_pending_free(&p);
	assert_null(p.cur.entries);
	assert_null(p.spare.entries);
}

static void test_long_paths(void **state)
{
	(void)state;
	struct fscd_pending p = {0};
	size_t len = 20000;
	char *a = malloc(len + 1), *b = malloc(len + 1);
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 'x', len);
	a[len] = '\0';
	memcpy(b, a, len + 1);
	b[len - 1] = 'y'; /* differs in the last byte only */
	for (int i = 0; i < 3; i++) {
		fscd_pending_add(&p, a);
		fscd_pending_add(&p, b);
	}
	struct seen s = {0};
	fscd_pending_flush(&p, seen_record, &s);
	assert_int_equal(s.count, 2);
	assert_string_equal(s.paths[0], a);
	assert_string_equal(s.paths[1], b);
	seen_clear(&s);
	free(a);
	free(b);
	fscd_pending_free(&p);
}

struct readd {
	struct fscd_pending *p;
	struct seen seen;
};

/* Records path and, like a rescan, queues it and a path below it again. */
static void readd_record(void *ctx, const char *path, size_t len)
{
	struct readd *r = ctx;
	seen_record(&r->seen, path, len);
	char child[64];
	snprintf(child, sizeof(child), "%s/x", path);
	fscd_pending_add(r->p, path);
	fscd_pending_add(r->p, child);
}

static void test_add_while_flushing(void **state)
{
	(void)state;
	struct fscd_pending p = {0};
	struct readd r = {.p = &p};
	fscd_pending_add(&p, "/a");
	fscd_pending_add(&p, "/b");
	fscd_pending_flush(&p, readd_record, &r);
	assert_int_equal(r.seen.count, 2);
	assert_string_equal(r.seen.paths[0], "/a");
	assert_string_equal(r.seen.paths[1], "/b");
	seen_clear(&r.seen);
	/* what the callback added waits for the next flush */
	assert_int_equal(fscd_pending_count(&p), 4);
	struct seen s = {0};
	fscd_pending_flush(&p, seen_record, &s);
	static const char *const want[] = {"/a", "/a/x", "/b", "/b/x"};
	assert_int_equal(s.count, 4);
	for (size_t i = 0; i < s.count; i++)
		assert_string_equal(s.paths[i], want[i]);
	seen_clear(&s);
	assert_int_equal(fscd_pending_count(&p), 0);
	fscd_pending_free(&p);
}

struct seen_log {
	char path[8][16];
	uint32_t seen[8];
	int n;
};

static void log_seen(void *ctx, const char *path, size_t len, uint32_t seen)
{
	struct seen_log *l = ctx;
	assert_true(l->n < 8 && len < sizeof(l->path[0]));
	memcpy(l->path[l->n], path, len + 1);
	l->seen[l->n++] = seen;
}

/* What events saw is merged per path; the last word on writing decides. */
static void test_seen_merged_in_order(void **state)
{
	(void)state;
	struct fscd_pending p = {0};
	fscd_pending_add_seen(&p, "/a", 2, FSC_CK_MODIFY);
	fscd_pending_add_seen(&p, "/a", 2, FSC_CK_CLOSE_WRITE); /* written, then closed */
	fscd_pending_add_seen(&p, "/b", 2, FSC_CK_CLOSE_WRITE);
	fscd_pending_add_seen(&p, "/b", 2, FSC_CK_MODIFY); /* closed, reopened, written */
	fscd_pending_add_seen(&p, "/c", 2, FSC_CK_MODIFY);
	fscd_pending_add_len(&p, "/c", 2);		    /* queued again, no event: kept */
	fscd_pending_add_seen(&p, "/c", 2, FSCD_SEEN_DONE); /* events lost: done */
	fscd_pending_add_seen(&p, "/d", 2, FSC_CK_MOVED_TO | FSC_CK_DIR);
	fscd_pending_add_len(&p, "/e", 2);
	struct seen_log l = {0};
	fscd_pending_flush_seen(&p, log_seen, &l);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.path[0], "/a");
	assert_int_equal(l.seen[0], FSC_CK_MODIFY | FSC_CK_CLOSE_WRITE | FSCD_SEEN_DONE);
	assert_int_equal(l.seen[1], FSC_CK_MODIFY | FSC_CK_CLOSE_WRITE | FSCD_SEEN_WRITING);
	assert_int_equal(l.seen[2], FSC_CK_MODIFY | FSCD_SEEN_DONE);
	assert_int_equal(l.seen[3], FSC_CK_MOVED_TO | FSC_CK_DIR | FSCD_SEEN_DONE);
	assert_int_equal(l.seen[4], 0);
	fscd_pending_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dedup_in_first_added_order),
	    cmocka_unit_test(test_growth_many_paths),
	    cmocka_unit_test(test_reuse_across_passes),
	    cmocka_unit_test(test_long_paths),
	    cmocka_unit_test(test_add_while_flushing),
	    cmocka_unit_test(test_seen_merged_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
