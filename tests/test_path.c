/* Path strings: fscd_path_join and fscd_path_join_into (fscd_path.c), and
 * fsc_shm_path_cacheable (shm/fsc_shm_table.c) against a byte-at-a-time reference over every
 * short path of '/', '.' and 'a', at every alignment. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fsc_shm_table.h"
#include "fscd_path.h"

static void test_join(void **state)
{
	(void)state;
	char *p = fscd_path_join("/", "x");
	assert_string_equal(p, "/x");
	free(p);
	p = fscd_path_join("/a/bc", "d e");
	assert_string_equal(p, "/a/bc/d e");
	free(p);
}

static void test_join_into(void **state)
{
	(void)state;
	char buf[16];
	size_t len = 0;
	char *p = fscd_path_join_into(buf, sizeof(buf), "/", 1, "x", &len);
	assert_ptr_equal(p, buf);
	assert_string_equal(p, "/x");
	assert_int_equal(len, 2);
	/* 15 bytes and the NUL fill buf exactly */
	p = fscd_path_join_into(buf, sizeof(buf), "/abcdefg", 8, "123456", &len);
	assert_ptr_equal(p, buf);
	assert_string_equal(p, "/abcdefg/123456");
	assert_int_equal(len, 15);
	/* one more byte does not fit: a malloc'd copy, buf untouched */
	memset(buf, '#', sizeof(buf));
	p = fscd_path_join_into(buf, sizeof(buf), "/abcdefg", 8, "1234567", &len);
	assert_ptr_not_equal(p, buf);
	assert_string_equal(p, "/abcdefg/1234567");
	assert_int_equal(len, 16);
	assert_int_equal(buf[0], '#');
	free(p);
	p = fscd_path_join_into(NULL, 0, "/", 1, "y", &len);
	assert_non_null(p);
	assert_string_equal(p, "/y");
	assert_int_equal(len, 2);
	free(p);
	/* dlen, not a NUL, delimits dir */
	p = fscd_path_join_into(buf, sizeof(buf), "/a/b", 2, "c", &len);
	assert_string_equal(p, "/a/c");
}

/* fsc_shm_path_cacheable as it was first written: one byte at a time. */
static bool cacheable_ref(const char *path, size_t len, uint32_t path_max)
{
	if (len == 0 || len > path_max || path[0] != '/')
		return false;
	if (len == 1)
		return true;
	if (path[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (path[i] != '/')
			continue;
		size_t j = i + 1, k = j;
		while (k < len && path[k] != '/')
			k++;
		size_t clen = k - j;
		if (clen == 0 || (clen == 1 && path[j] == '.') ||
		    (clen == 2 && path[j] == '.' && path[j + 1] == '.'))
			return false;
		i = k - 1;
	}
	return true;
}

static void check_cacheable(const char *path, size_t len)
{
	bool want = cacheable_ref(path, len, 344), got = fsc_shm_path_cacheable(path, len, 344);
	if (want != got)
		fail_msg("\"%.*s\" (%zu bytes): got %d, want %d", (int)len, path, len, got, want);
}

static void test_cacheable_exhaustive(void **state)
{
	(void)state;
	static const char alphabet[] = {'/', '.', 'a'};
	char buf[32];
	size_t checked = 0;
	for (size_t len = 0; len <= 11; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= 3;
		for (size_t n = 0; n < total; n++) {
			size_t off = n % 8; /* every alignment */
			size_t v = n;
			for (size_t i = 0; i < len; i++, v /= 3)
				buf[off + i] = alphabet[v % 3];
			buf[off + len] = '/'; /* past the end: must not count */
			check_cacheable(buf + off, len);
			checked++;
		}
	}
	assert_true(checked > 250000);
}

static void test_cacheable_long(void **state)
{
	(void)state;
	/* long paths with one bad spot anywhere: the word-at-a-time scan must see it */
	static const char *const bad[] = {"//", "/./", "/../", "/.", "/.."};
	char p[400];
	for (size_t len = 20; len < 120; len++) {
		memset(p, 'b', sizeof(p));
		for (size_t i = 0; i < len; i += 5)
			p[i] = '/';
		check_cacheable(p, len);
		for (size_t b = 0; b < sizeof(bad) / sizeof(*bad); b++)
			for (size_t at = 0; at + strlen(bad[b]) <= len; at++) {
				char q[400];
				memcpy(q, p, sizeof(q));
				memcpy(q + at, bad[b], strlen(bad[b]));
				check_cacheable(q, len);
			}
	}
	/* and the length bound */
	memset(p, 'a', sizeof(p));
	p[0] = '/';
	assert_true(fsc_shm_path_cacheable(p, 344, 344));
	assert_false(fsc_shm_path_cacheable(p, 345, 344));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_join_into),
	    cmocka_unit_test(test_cacheable_exhaustive),
	    cmocka_unit_test(test_cacheable_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
