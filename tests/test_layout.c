/* The table layout: header validation, geometry, names, cacheable paths, and fsc_open refusing
 * objects that are world-writable or truncated. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
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
#include "fsc_shm_table.h"
#include "fsc_test_util.h"

struct fixture {
	char name[64];
	struct fsc_writer *w;
	struct fsc_shm_header good; /* private copy of the writer's header */
};

static int setup(void **state)
{
	static struct fixture f;
	fsc_test_name(f.name, sizeof(f.name), "layout");
	f.w = fsc_test_writer(f.name, 100);
	memcpy(&f.good, fsc_writer_header(f.w), sizeof(f.good));
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_writer_close(f->w);
	return 0;
}

static void test_valid_header_passes(void **state)
{
	struct fixture *f = *state;
	const struct fsc_shm_header *h = &f->good;
	struct fsc_shm_layout l;
	const char *why = NULL;
	assert_int_equal(fsc_shm_header_validate(h, h->object_size, &l, &why), 0);
	assert_int_equal(l.slot_count, 256); /* capacity 100 -> at least 200 slots */
	assert_int_equal(l.mask, 255);
	assert_int_equal(l.slots_offset, h->slots_offset);
	assert_int_equal(l.slot_size, FSC_SLOT_SIZE_DEFAULT);
	assert_int_equal(l.path_max, FSC_SLOT_SIZE_DEFAULT - FSC_SLOT_FIXED_BYTES);
	assert_int_equal(l.max_probe, FSC_MAX_PROBE_DEFAULT);
	assert_int_equal(l.capacity, 100);
	assert_int_equal(l.hash_seed, h->hash_seed);
	assert_int_equal(l.generation, h->generation);
	assert_int_equal(l.writer_timeout_ns, FSC_WRITER_TIMEOUT_NS);
	/* the layout validated by the writer itself agrees */
	const struct fsc_shm_layout *wl = fsc_writer_layout(f->w);
	assert_int_equal(l.slot_count, wl->slot_count);
	assert_int_equal(l.slots_offset, wl->slots_offset);
	assert_int_equal(l.hash_seed, wl->hash_seed);
	assert_int_equal(l.generation, wl->generation);
}

/* Each case breaks one field of a private copy of a valid header (or the mapped size). */
struct bad_case {
	const char *what;
	void (*apply)(struct fsc_shm_header *h, uint64_t *size);
};

#define BAD(name, body)                                                                            \
	static void bad_##name(struct fsc_shm_header *h, uint64_t *size)                           \
	{                                                                                          \
		(void)h;                                                                           \
		(void)size;                                                                        \
		body;                                                                              \
	}
BAD(magic, h->magic ^= 1)
BAD(magic_swapped, h->magic = __builtin_bswap64(FSC_SHM_MAGIC))
BAD(abi, h->abi_version = FSC_SHM_ABI_VERSION + 1)
BAD(header_size, h->header_size = 256)
BAD(size_bigger, *size += 64)
BAD(size_smaller, *size -= 1)
BAD(size_tiny, *size = sizeof(*h) - 1)
BAD(object_size, h->object_size += FSC_CACHE_LINE)
BAD(slot_size_small, h->slot_size = FSC_SLOT_SIZE_MIN - 64)
BAD(slot_size_big, h->slot_size = FSC_SLOT_SIZE_MAX + 64)
BAD(slot_size_zero, h->slot_size = 0)
BAD(slot_size_odd, h->slot_size = FSC_SLOT_SIZE_DEFAULT + 8)
BAD(slot_count_npow2, h->slot_count = 3 * 64)
BAD(slot_count_small, h->slot_count = FSC_SLOT_COUNT_MIN / 2)
BAD(slot_count_big, h->slot_count = FSC_SLOT_COUNT_MAX * 2)
BAD(slot_count_zero, h->slot_count = 0)
BAD(slot_count_huge, h->slot_count = 1ull << 63)
BAD(slots_offset_misaligned, h->slots_offset += 8)
BAD(slots_offset_in_header, h->slots_offset = FSC_CACHE_LINE)
BAD(slots_offset_past_end, h->slots_offset = h->object_size + FSC_CACHE_LINE)
BAD(slots_offset_huge, h->slots_offset = UINT64_MAX & ~63ull)
BAD(slots_overflow_end, h->slots_offset += FSC_CACHE_LINE)
BAD(slot_array_too_big, h->slot_count *= 2)
BAD(slot_size_too_big_for_object, h->slot_size += FSC_CACHE_LINE)
BAD(max_probe_zero, h->max_probe = 0)
BAD(max_probe_big, h->max_probe = (uint32_t)h->slot_count + 1)
BAD(capacity_zero, h->capacity = 0)
BAD(capacity_big, h->capacity = h->slot_count + 1)
#undef BAD

static void test_each_broken_field_is_rejected(void **state)
{
	struct fixture *f = *state;
	/* clang-format off */
#define C(name) {#name, bad_##name}
	/* clang-format on */
	static const struct bad_case cases[] = {
	    C(magic),
	    C(magic_swapped),
	    C(abi),
	    C(header_size),
	    C(size_bigger),
	    C(size_smaller),
	    C(size_tiny),
	    C(object_size),
	    C(slot_size_small),
	    C(slot_size_big),
	    C(slot_size_zero),
	    C(slot_size_odd),
	    C(slot_count_npow2),
	    C(slot_count_small),
	    C(slot_count_big),
	    C(slot_count_zero),
	    C(slot_count_huge),
	    C(slots_offset_misaligned),
	    C(slots_offset_in_header),
	    C(slots_offset_past_end),
	    C(slots_offset_huge),
	    C(slots_overflow_end),
	    C(slot_array_too_big),
	    C(slot_size_too_big_for_object),
	    C(max_probe_zero),
	    C(max_probe_big),
	    C(capacity_zero),
	    C(capacity_big),
	};
#undef C
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct fsc_shm_header h;
		memcpy(&h, &f->good, sizeof(h));
		uint64_t size = h.object_size;
		cases[i].apply(&h, &size);
		struct fsc_shm_layout l;
		memset(&l, 0xa5, sizeof(l));
		const char *why = NULL;
		int rc = fsc_shm_header_validate(&h, size, &l, &why);
		if (rc != -EPROTO || !why)
			fail_msg("case %s: rc %d why %s", cases[i].what, rc, why ? why : "(null)");
	}
}

static void test_edge_values_accepted(void **state)
{
	struct fixture *f = *state;
	struct fsc_shm_header h;
	struct fsc_shm_layout l;
	const char *why;
	memcpy(&h, &f->good, sizeof(h));
	h.max_probe = (uint32_t)h.slot_count;
	h.capacity = h.slot_count;
	h.writer_timeout_ns = 0; /* clamped, not rejected */
	assert_int_equal(fsc_shm_header_validate(&h, h.object_size, &l, &why), 0);
	assert_int_equal(l.max_probe, h.slot_count);
	assert_int_equal(l.writer_timeout_ns, FSC_WRITER_TIMEOUT_MIN_NS);
	h.writer_timeout_ns = UINT64_MAX;
	assert_int_equal(fsc_shm_header_validate(&h, h.object_size, &l, &why), 0);
	assert_int_equal(l.writer_timeout_ns, FSC_WRITER_TIMEOUT_MAX_NS);
	/* a smaller slot array than the object holds still lies inside it */
	h.slot_count /= 2;
	h.capacity = h.max_probe = 1;
	assert_int_equal(fsc_shm_header_validate(&h, h.object_size, &l, &why), 0);
	assert_int_equal(l.mask, h.slot_count - 1);
}

static void test_geometry(void **state)
{
	(void)state;
	static const struct {
		uint64_t capacity, slots;
	} ok[] = {{1, 64},
		  {32, 64},
		  {33, 128},
		  {100, 256},
		  {1000, 2048},
		  {1024, 2048},
		  {1ull << 25, 1ull << 26}};
	uint64_t n, size;
	const char *why;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		assert_int_equal(fsc_shm_geometry(ok[i].capacity, 512, &n, &size, &why), 0);
		assert_int_equal(n, ok[i].slots);
		assert_true(n >= 2 * ok[i].capacity && (n & (n - 1)) == 0);
		assert_int_equal(size, sizeof(struct fsc_shm_header) + n * 512);
	}
	static const uint32_t good_sizes[] = {256, 320, 512, 4096, 4352};
	for (size_t i = 0; i < sizeof(good_sizes) / sizeof(*good_sizes); i++)
		assert_int_equal(fsc_shm_geometry(10, good_sizes[i], &n, &size, &why), 0);
	static const uint32_t bad_sizes[] = {0, 64, 192, 255, 257, 300, 4353, 4416, 8192};
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(*bad_sizes); i++) {
		why = NULL;
		assert_int_equal(fsc_shm_geometry(10, bad_sizes[i], &n, &size, &why), -EINVAL);
		assert_non_null(why);
	}
	why = NULL;
	assert_int_equal(fsc_shm_geometry(0, 512, &n, &size, &why), -EINVAL);
	assert_non_null(why);
	why = NULL;
	assert_int_equal(fsc_shm_geometry((1ull << 25) + 1, 512, &n, &size, &why), -EINVAL);
	assert_non_null(why);
}

static void test_names(void **state)
{
	(void)state;
	char n64[FSC_NAME_MAX + 2];
	memset(n64, 'x', FSC_NAME_MAX);
	n64[FSC_NAME_MAX] = '\0';
	assert_true(fsc_shm_name_valid(n64));
	n64[FSC_NAME_MAX] = 'x';
	n64[FSC_NAME_MAX + 1] = '\0';
	assert_false(fsc_shm_name_valid(n64));
	static const char *const good[] = {"default", "a", "A-b_c.d", "0", "a..", "x-"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(fsc_shm_name_valid(good[i]));
	static const char *const bad[] = {"",	 ".",	".hidden",     "..", "a/b", "/a",
					  "a b", "a\n", "caf\xc3\xa9", "a*", "a:b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(fsc_shm_name_valid(bad[i]));
	assert_false(fsc_shm_name_valid(NULL));

	/* a plain name lives in the default object directory: here the test's FSC_DIR */
	char buf[FSC_SHM_OBJECT_NAME_MAX], want[FSC_SHM_OBJECT_NAME_MAX];
	const char *dir = getenv("FSC_DIR");
	assert_non_null(dir);
	snprintf(want, sizeof(want), "%s/fsc.default", dir);
	assert_int_equal(fsc_shm_object_name(buf, sizeof(buf), "default"), 0);
	assert_string_equal(buf, want);
	assert_int_equal(fsc_shm_object_name(buf, sizeof(buf), n64), -EINVAL);
	assert_int_equal(fsc_shm_object_name(buf, sizeof(buf), "../x"), -EINVAL);
	n64[FSC_NAME_MAX] = '\0';
	assert_int_equal(fsc_shm_object_name(buf, sizeof(buf), n64), 0);
	assert_int_equal(strlen(buf), strlen(dir) + 1 + strlen(FSC_SHM_PREFIX) + FSC_NAME_MAX);
	assert_int_equal(fsc_shm_object_name(buf, 8, "default"), -ENAMETOOLONG);
}

/* Addresses: "DIR/NAME" names a table in another directory; only absolute canonical ones. */
static void test_addresses(void **state)
{
	(void)state;
	char buf[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_object_name(buf, sizeof(buf), "/run/x/t1"), 0);
	assert_string_equal(buf, "/run/x/fsc.t1");
	assert_int_equal(fsc_shm_journal_name(buf, sizeof(buf), "/run/x/t1"), 0);
	assert_string_equal(buf, "/run/x/fsc-journal.t1");
	assert_int_equal(fsc_shm_hints_name(buf, sizeof(buf), "/run/x/t1", 0x2a), 0);
	assert_string_equal(buf, "/run/x/fsc.t1.hints.2a");
	assert_int_equal(fsc_shm_object_name(buf, sizeof(buf), "/t1"), 0);
	assert_string_equal(buf, "/fsc.t1");
	static const char *const bad[] = {"x/t1",	"/run//t1", "/run/./t1",
					  "/run/../t1", "/run/x/",  "/run/x/.t1",
					  "/run/x/a b", "./t1",	    "/run/x/t1/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_false(fsc_shm_table_name_valid(bad[i]));
		assert_int_equal(fsc_shm_object_name(buf, sizeof(buf), bad[i]), -EINVAL);
	}
	char longdir[FSC_DIR_MAX + 16];
	memset(longdir, 'd', sizeof(longdir));
	longdir[0] = '/';
	strcpy(longdir + FSC_DIR_MAX + 1, "/t1");
	assert_false(fsc_shm_table_name_valid(longdir));
	/* which directory entries are a table's objects */
	assert_true(fsc_shm_entry_of("fsc.t1", "t1"));
	assert_true(fsc_shm_entry_of("fsc-journal.t1", "t1"));
	assert_true(fsc_shm_entry_of("fsc.t1.hints.2a", "t1"));
	assert_false(fsc_shm_entry_of("fsc.t10", "t1"));
	assert_false(fsc_shm_entry_of("fsc-journal.t10.new.1", "t1"));
	assert_false(fsc_shm_entry_of("other.t1", "t1"));
	/* the address is resolved once; a plain name takes $FSC_DIR */
	char addr[FSC_ADDR_MAX + 1], want[FSC_ADDR_MAX + 1];
	snprintf(want, sizeof(want), "%s/t1", getenv("FSC_DIR"));
	assert_int_equal(fsc_shm_addr_resolve("t1", addr, sizeof(addr)), 0);
	assert_string_equal(addr, want);
	assert_int_equal(fsc_shm_addr_resolve("/a/b/t1", addr, sizeof(addr)), 0);
	assert_string_equal(addr, "/a/b/t1");
	/* a relative or empty-looking FSC_DIR is an error, never "somewhere relative" */
	char saved[FSC_DIR_MAX + 1];
	snprintf(saved, sizeof(saved), "%s", getenv("FSC_DIR"));
	setenv("FSC_DIR", "relative/dir", 1);
	assert_int_equal(fsc_shm_addr_resolve("t1", addr, sizeof(addr)), -EINVAL);
	setenv("FSC_DIR", saved, 1);
}

static void test_path_cacheable(void **state)
{
	(void)state;
	static const struct {
		const char *path;
		bool ok;
	} cases[] = {
	    {"/", true},     {"/a", true},     {"/a/b", true},	  {"/.a", true},
	    {"/..a", true},  {"/a.", true},    {"/...", true},	  {"/a/.b/c..", true},
	    {"", false},     {"a", false},     {"a/b", false},	  {"//", false},
	    {"/a/", false},  {"/a//b", false}, {"/.", false},	  {"/..", false},
	    {"/a/.", false}, {"/a/..", false}, {"/a/./b", false}, {"/a/../b", false},
	    {"/./a", false}, {"//a", false},   {"/a/b/", false},  {"./a", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bool got = fsc_shm_path_cacheable(cases[i].path, strlen(cases[i].path), 344);
		if (got != cases[i].ok)
			fail_msg("\"%s\": got %d", cases[i].path, got);
	}
	/* the length bound, and len (not a NUL) delimits the path */
	char p[400];
	memset(p, 'a', sizeof(p));
	p[0] = '/';
	assert_true(fsc_shm_path_cacheable(p, 344, 344));
	assert_false(fsc_shm_path_cacheable(p, 345, 344));
	assert_true(fsc_shm_path_cacheable("/a/b/", 4, 344));
	assert_false(fsc_shm_path_cacheable("/a/b/", 5, 344));
	assert_true(fsc_shm_path_cacheable("/a//", 2, 344));
}

/* Writes size bytes of the live table (or zeros past its end) as a new object /fsc.<name>. */
static void make_object(const char *name, const void *src, size_t src_size, size_t size,
			mode_t mode)
{
	char oname[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_object_name(oname, sizeof(oname), name), 0);
	int fd = open(oname, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0); /* not subject to the umask */
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	size_t n = size < src_size ? size : src_size;
	assert_int_equal(pwrite(fd, src, n, 0), (ssize_t)n);
	close(fd);
}

/* The object test_open_refuses_unsafe_objects made last; removed even if the test fails. */
static char pending[64];

static int unlink_pending(void **state)
{
	(void)state;
	char oname[FSC_SHM_OBJECT_NAME_MAX];
	if (pending[0] && fsc_shm_object_name(oname, sizeof(oname), pending) == 0)
		unlink(oname);
	pending[0] = '\0';
	return 0;
}

static void test_open_refuses_unsafe_objects(void **state)
{
	struct fixture *f = *state;
	const struct fsc_shm_header *h = fsc_writer_header(f->w);
	struct stat st;
	fsc_test_fake_stat(&st, 7, 3);
	assert_int_equal(fsc_writer_put(f->w, "/copied/key", 11, &st, 0), 0);
	fsc_writer_heartbeat(f->w);
	size_t size = (size_t)h->object_size;
	enum {
		FULL,
		PAGE_SHORT,
		PAGE_LONG,
		TINY,
		EMPTY
	};
	static const struct {
		int size;
		mode_t mode;
		int err; /* 0: opens */
		const char *what;
	} cases[] = {
	    {FULL, 0640, 0, "an exact copy, 0640: the control case"},
	    {FULL, 0646, EPROTO, "world-writable copy"},
	    {FULL, 0666, EPROTO, "world-writable copy, 0666"},
	    {FULL, 0642, EPROTO, "world-writable copy, 0642"},
	    {PAGE_SHORT, 0640, EPROTO, "truncated by a page"},
	    {PAGE_LONG, 0640, EPROTO, "extended by a page"},
	    {TINY, 0640, EPROTO, "smaller than a header"},
	    {EMPTY, 0640, EPROTO, "empty"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t sizes[] = {[FULL] = size,
				  [PAGE_SHORT] = size - 4096,
				  [PAGE_LONG] = size + 4096,
				  [TINY] = sizeof(*h) - 8,
				  [EMPTY] = 0};
		char *name = pending;
		fsc_test_name(name, sizeof(pending), "unsafe");
		make_object(name, h, size, sizes[cases[i].size], cases[i].mode);
		errno = 0;
		fsc_t *c = fsc_open(name);
		if (cases[i].err == 0) {
			assert_non_null(c);
			struct stat got;
			assert_int_equal(fsc_lookup(c, "/copied/key", &got, NULL), FSC_HIT);
			assert_int_equal(got.st_size, st.st_size);
			fsc_close(c);
		} else {
			if (c)
				fail_msg("%s: object accepted", cases[i].what);
			assert_int_equal(errno, cases[i].err);
		}
		unlink_pending(NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_header_passes),
	    cmocka_unit_test(test_each_broken_field_is_rejected),
	    cmocka_unit_test(test_edge_values_accepted),
	    cmocka_unit_test(test_geometry),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_path_cacheable),
	    cmocka_unit_test_teardown(test_open_refuses_unsafe_objects, unlink_pending),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
