/* The command-line tools, run as real processes: fsc-shmdump (raw format) and fsc-stat
 * (public API) against tables built here with the writer API. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc_shm_map.h"
#include "fsc_shm_seqlock.h"
#include "fsc_test_run.h"
#include "fsc_test_util.h"

#define WEIRD_PATH "/tmp/we\"ird\nname\\x\xff"
/* how each tool must spell it: JSON (\u00XX for control and high bytes) and text (\xHH) */
#define WEIRD_JSON  "\"/tmp/we\\\"ird\\u000aname\\\\x\\u00ff\""
#define WEIRD_TEXT  "/tmp/we\"ird\\x0aname\\\\x\\xff"
#define SYSLOG_ID   1
#define SYSLOG_V    5
#define SYSLOG_SIZE (SYSLOG_V * 4096 + SYSLOG_ID) /* fsc_test_fake_stat's st_size */

struct fixture {
	char name[64];
	struct fsc_writer *w;
};

static char stat_path[4096];

static int setup(void **state)
{
	static struct fixture f;
	fsc_test_name(f.name, sizeof(f.name), "tools");
	f.w = fsc_test_writer(f.name, 64);
	struct stat st;
	fsc_test_fake_stat(&st, SYSLOG_ID, SYSLOG_V);
	assert_int_equal(fsc_writer_put(f.w, "/var/log/syslog", 15, &st, 0), 0);
	fsc_test_fake_stat(&st, 2, 7);
	assert_int_equal(fsc_writer_put(f.w, WEIRD_PATH, strlen(WEIRD_PATH), &st, 0), 0);
	assert_int_equal(fsc_writer_put_negative(f.w, "/gone", 5), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fsc_writer_close(f->w);
	return 0;
}

/* ---- a minimal JSON syntax checker: the tools must print valid, ASCII-only JSON ---- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c >= 0x80)
			return NULL; /* raw control byte (or a byte we promise to escape) */
		if (c != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return p + 1;
}

static const char *json_number(const char *p)
{
	const char *s = p;
	if (*p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p > s && (p[-1] >= '0' && p[-1] <= '9') ? p : NULL;
}

static const char *json_container(const char *p, int depth, char close, bool keys)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (keys) {
			p = json_string(json_ws(p));
			if (!p || *(p = json_ws(p)) != ':')
				return NULL;
			p++;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 16)
		return NULL;
	switch (*p) {
	case '{':
		return json_container(p, depth, '}', true);
	case '[':
		return json_container(p, depth, ']', false);
	case '"':
		return json_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_number(p);
	}
}

/* One JSON value per line, nothing else. Returns the number of lines. */
static int assert_json_lines(const char *s)
{
	int lines = 0;
	while (*s) {
		const char *end = json_value(s, 0);
		if (!end)
			fail_msg("invalid JSON at: %.80s", s);
		assert_int_equal(*end, '\n');
		s = end + 1;
		lines++;
	}
	return lines;
}

/* The JSON object (up to its first '}') that holds needle. */
static char *json_object_with(const char *s, const char *needle)
{
	const char *p = strstr(s, needle);
	if (!p)
		fail_msg("%s not in %s", needle, s);
	const char *end = strchr(p, '}');
	assert_non_null(end);
	return strndup(p, (size_t)(end - p));
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* ---- fsc-shmdump ---- */

static void test_shmdump_text(void **state)
{
	struct fixture *f = *state;
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", f->name, (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "state              live\n");
	assert_contains(r.out, "writer_alive       yes\n");
	assert_contains(r.out, "usable             yes");
	assert_contains(r.out, "capacity           64\n");
	assert_contains(r.out, "counters:\n  entries              3\n");
	assert_contains(r.out, "  inserts              3\n");
	assert_contains(r.out, "load_factor");
	assert_null(strstr(r.out, "/var/log/syslog")); /* no entries without --entries */
	assert_string_equal(r.err, "");
	fsc_test_run_free(&r);
}

static void test_shmdump_entries_text(void **state)
{
	struct fixture *f = *state;
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", f->name, "--entries", (char *)NULL);
	assert_int_equal(r.status, 0);
	char line[64];
	snprintf(line, sizeof(line), " %d ", SYSLOG_SIZE);
	char *syslog = strstr(r.out, "/var/log/syslog\n");
	assert_non_null(syslog);
	char *bol = syslog;
	while (bol > r.out && bol[-1] != '\n')
		bol--;
	assert_non_null(memmem(bol, (size_t)(syslog - bol), line, strlen(line)));
	assert_contains(r.out, WEIRD_TEXT "\n");
	char *gone = strstr(r.out, "  /gone\n");
	assert_non_null(gone);
	for (bol = gone; bol > r.out && bol[-1] != '\n';)
		bol--;
	assert_non_null(memmem(bol, (size_t)(gone - bol), "negative", 8));
	assert_contains(r.out, "3 live entries listed, 0 tombstones, 0 busy");
	fsc_test_run_free(&r);
}

static void test_shmdump_json(void **state)
{
	struct fixture *f = *state;
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--json", "--entries", "--name", f->name,
			  (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(assert_json_lines(r.out), 1);
	char want[256];
	snprintf(want, sizeof(want), "{\"name\":\"%s\",", f->name);
	assert_int_equal(strncmp(r.out, want, strlen(want)), 0);
	assert_contains(r.out, "\"state\":\"live\"");
	assert_contains(r.out, "\"writer_alive\":true");
	assert_contains(r.out, "\"capacity\":64,");
	assert_contains(r.out, "\"counters\":{\"entries\":3,\"tombstones\":0,\"inserts\":3,");
	assert_contains(r.out, "\"scan\":{\"live\":3,\"tombstones\":0,\"busy\":0,\"damaged\":0}");
	char *e = json_object_with(r.out, "\"entries\":[");
	free(e);
	char *o = json_object_with(r.out, "\"path\":\"/var/log/syslog\"");
	snprintf(want, sizeof(want), "\"size\":%d,", SYSLOG_SIZE);
	assert_contains(o, want);
	assert_contains(o, "\"flags\":[]");
	free(o);
	o = json_object_with(r.out, "\"path\":" WEIRD_JSON ",");
	free(o);
	o = json_object_with(r.out, "\"path\":\"/gone\"");
	assert_contains(o, "\"flags\":[\"negative\"]");
	assert_contains(o, "\"size\":0,");
	free(o);
	fsc_test_run_free(&r);
	/* without --entries: the header only */
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--json", "--name", f->name, (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(assert_json_lines(r.out), 1);
	assert_null(strstr(r.out, "\"entries\":["));
	fsc_test_run_free(&r);
}

/* Slots a dump cannot read consistently are skipped and reported, never printed torn. */
static void test_shmdump_busy_and_damaged_slots(void **state)
{
	struct fixture *f = *state;
	char oname[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_object_name(oname, sizeof(oname), f->name), 0);
	int fd = open(oname, O_RDWR, 0);
	assert_true(fd >= 0);
	const struct fsc_shm_header *h = fsc_writer_header(f->w);
	void *base = mmap(NULL, h->object_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(base != MAP_FAILED);
	const struct fsc_shm_layout *l = fsc_writer_layout(f->w);
	struct fsc_shm_slot *busy = (struct fsc_shm_slot *)fsc_shm_slot_at(
	    base, l, (uint64_t)fsc_writer_slot_of(f->w, "/gone", 5));
	struct fsc_shm_slot *bad = (struct fsc_shm_slot *)fsc_shm_slot_at(
	    base, l, (uint64_t)fsc_writer_slot_of(f->w, "/var/log/syslog", 15));
	uint64_t odd = fsc_shm_seqlock_write_begin(&busy->seq); /* a writer "died" mid-write */
	uint64_t meta = atomic_load(&bad->meta);
	atomic_store(&bad->meta, fsc_shm_meta_pack(FSC_SLOT_LIVE, 0, l->path_max + 1));
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", f->name, "--entries", (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "1 live entries listed, 0 tombstones, 1 busy slots skipped, 1 "
			       "damaged slots\n");
	assert_null(strstr(r.out, "/gone"));
	assert_contains(r.err, "1 slots were being rewritten");
	assert_contains(r.err, "1 slots hold impossible values");
	fsc_test_run_free(&r);
	atomic_store(&bad->meta, meta);
	fsc_shm_seqlock_write_end(&busy->seq, odd);
	munmap(base, h->object_size);
}

static void test_shmdump_missing_table(void **state)
{
	(void)state;
	char name[64], want[256];
	fsc_test_name(name, sizeof(name), "absent");
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", name, (char *)NULL);
	assert_int_equal(r.status, 1);
	snprintf(want, sizeof(want),
		 "no table named %s is published (is fscd running with --name %s?)", name, name);
	assert_contains(r.err, want);
	assert_string_equal(r.out, "");
	fsc_test_run_free(&r);
}

/* An object at DIR/fsc.<name> that is not a table: an error with exit 2, never a crash. */
static void check_foreign_object(size_t size, mode_t mode, const char *why)
{
	char name[64], oname[FSC_SHM_OBJECT_NAME_MAX];
	fsc_test_name(name, sizeof(name), "junk");
	assert_int_equal(fsc_shm_object_name(oname, sizeof(oname), name), 0);
	int fd = open(oname, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	char junk[512];
	memset(junk, 0x5a, sizeof(junk));
	assert_true(write(fd, junk, size < sizeof(junk) ? size : sizeof(junk)) >= 0);
	close(fd);
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", name, "--entries", (char *)NULL);
	unlink(oname);
	assert_int_equal(r.status, 2);
	assert_contains(r.err, oname);
	assert_contains(r.err, why);
	assert_string_equal(r.out, "");
	fsc_test_run_free(&r);
}

static void test_shmdump_foreign_objects(void **state)
{
	(void)state;
	check_foreign_object(65536, 0600, "bad magic");
	check_foreign_object(100, 0600, "smaller than a table header");
	check_foreign_object(0, 0600, "smaller than a table header");
	check_foreign_object(65536, 0606, "world-writable");
}

static void test_shmdump_usage(void **state)
{
	(void)state;
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--help", (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "usage: fsc-shmdump");
	fsc_test_run_free(&r);
	const char *bad[][2] = {
	    {"--bogus", NULL}, {"extra", NULL}, {"--name", "../etc"}, {"--name", NULL}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, bad[i][0], bad[i][1], (char *)NULL);
		assert_int_equal(r.status, 2);
		assert_contains(r.err, "usage: fsc-shmdump");
		assert_string_equal(r.out, "");
		fsc_test_run_free(&r);
	}
}

/* ---- fsc-stat ---- */

static void test_stat_answers(void **state)
{
	struct fixture *f = *state;
	fsc_writer_heartbeat(f->w);
	struct fsc_test_run r;
	fsc_test_run_tool(&r, stat_path, "--name", f->name, "/var/log/syslog", "/gone",
			  "/not/there", "relative/path", (char *)NULL);
	assert_int_equal(r.status, 0);
	char want[128];
	snprintf(want, sizeof(want), "/var/log/syslog: hit size=%d mode=0100005 ", SYSLOG_SIZE);
	assert_contains(r.out, want);
	assert_contains(r.out, "\n/gone: negative change_seq=");
	assert_contains(r.out, "flags=negative\n");
	assert_contains(r.out, "\n/not/there: miss\nrelative/path: miss\n");
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, stat_path, "--json", "--name", f->name, "/var/log/syslog", "/gone",
			  WEIRD_PATH, "/nope", (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(assert_json_lines(r.out), 4);
	snprintf(
	    want, sizeof(want),
	    "{\"path\":\"/var/log/syslog\",\"result\":\"hit\",\"size\":%d,\"mode\":\"0100005\"",
	    SYSLOG_SIZE);
	assert_contains(r.out, want);
	assert_contains(r.out, "{\"path\":\"/gone\",\"result\":\"negative\",");
	assert_contains(r.out, "\"flags\":[\"negative\"]}\n");
	assert_contains(r.out, "{\"path\":" WEIRD_JSON ",\"result\":\"hit\",");
	assert_contains(r.out, "{\"path\":\"/nope\",\"result\":\"miss\"}\n");
	fsc_test_run_free(&r);
}

static void test_stat_missing_table_and_usage(void **state)
{
	(void)state;
	char name[64], want[128];
	fsc_test_name(name, sizeof(name), "absent");
	struct fsc_test_run r;
	fsc_test_run_tool(&r, stat_path, "--name", name, "/x", (char *)NULL);
	assert_int_equal(r.status, 1);
	snprintf(want, sizeof(want), "start fscd --name %s --watch DIR", name);
	assert_contains(r.err, want);
	assert_contains(r.err, strerror(ENOENT));
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, stat_path, "--help", (char *)NULL);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "usage: fsc-stat");
	fsc_test_run_free(&r);
	const char *bad[][3] = {{"/x", "--bogus", NULL},
				{"--name", name, NULL},
				{"--watch", "0", "/x"},
				{"--watch", "abc", "/x"},
				{"--name", "a/b", "/x"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fsc_test_run_tool(&r, stat_path, bad[i][0], bad[i][1], bad[i][2], (char *)NULL);
		assert_int_equal(r.status, 2);
		assert_contains(r.err, "usage: fsc-stat");
		fsc_test_run_free(&r);
	}
}

/* Reads from fd until buf holds a complete line containing needle (heartbeating meanwhile). */
static void wait_line(struct fsc_writer *w, int fd, char *buf, size_t size, const char *needle)
{
	size_t len = strlen(buf);
	uint64_t deadline = fsc_test_now_ms() + 10000;
	for (;;) {
		char *nl = strstr(buf, needle);
		if (nl && strchr(nl, '\n'))
			return;
		fsc_writer_heartbeat(w);
		if (fsc_test_now_ms() > deadline)
			fail_msg("no line with %s in: %s", needle, buf);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) > 0) {
			ssize_t n = read(fd, buf + len, size - len - 1);
			assert_true(n > 0);
			len += (size_t)n;
			buf[len] = '\0';
		}
	}
}

/* --watch prints the first answer, then a line whenever it changes, until SIGTERM. */
static void test_stat_watch(void **state)
{
	struct fixture *f = *state;
	fsc_writer_heartbeat(f->w);
	char *argv[] = {stat_path, "--watch",	      "20",	"--name",
			f->name,   "/var/log/syslog", "/later", NULL};
	int out, err;
	pid_t pid = fsc_test_spawn(stat_path, argv, &out, &err);
	char buf[8192] = "", want[64];
	snprintf(want, sizeof(want), "/var/log/syslog: hit size=%d ", SYSLOG_SIZE);
	wait_line(f->w, out, buf, sizeof(buf), want);
	wait_line(f->w, out, buf, sizeof(buf), "/later: miss");
	struct stat st;
	fsc_test_fake_stat(&st, SYSLOG_ID, SYSLOG_V + 1); /* the log grew */
	assert_int_equal(fsc_writer_put(f->w, "/var/log/syslog", 15, &st, 0), 0);
	snprintf(want, sizeof(want), "/var/log/syslog: hit size=%d ", (SYSLOG_V + 1) * 4096 + 1);
	wait_line(f->w, out, buf, sizeof(buf), want);
	assert_int_equal(fsc_writer_put_negative(f->w, "/later", 6), 0);
	wait_line(f->w, out, buf, sizeof(buf), "/later: negative");
	kill(pid, SIGTERM);
	assert_int_equal(fsc_test_wait_status(pid), 0);
	close(out);
	close(err);
	/* one line per change, not per round */
	int lines = 0;
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 4);
	fsc_test_fake_stat(&st, SYSLOG_ID, SYSLOG_V);
	assert_int_equal(fsc_writer_put(f->w, "/var/log/syslog", 15, &st, 0), 0);
	assert_int_equal(fsc_writer_remove(f->w, "/later", 6), 0);
}

/* Allocated bytes of the table's object in /dev/shm. */
static uint64_t object_allocated(const char *oname)
{
	int fd;
	struct stat st;
	const char *why;
	assert_int_equal(fsc_shm_open_object(oname, 1, NULL, &fd, &st, &why), 0);
	close(fd);
	return (uint64_t)st.st_blocks * 512;
}

/* A table whose header claims half a million slots in an object that holds a few pages (a
 * forged or damaged one looks the same): --entries lists what is there and makes /dev/shm
 * hold no more than that, rather than the whole claimed size (reading a hole of a tmpfs
 * object through a mapping allocates it). */
static void test_shmdump_sparse_table(void **state)
{
	(void)state;
	char name[64], oname[FSC_SHM_OBJECT_NAME_MAX];
	fsc_test_name(name, sizeof(name), "sparse");
	assert_int_equal(fsc_shm_object_name(oname, sizeof(oname), name), 0);
	struct fsc_writer *w = fsc_test_writer(name, 1u << 18);
	const struct fsc_shm_layout *l = fsc_writer_layout(w);
	uint64_t size = fsc_writer_header(w)->object_size;
	assert_true(size >= (128u << 20));
	int fd = open(oname, O_RDWR, 0);
	assert_true(fd >= 0);
	off_t from = (off_t)((l->slots_offset + 4095) & ~(uint64_t)4095);
	assert_int_equal(
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, (off_t)size - from), 0);
	close(fd);
	struct stat st;
	for (uint64_t i = 0; i < 3; i++) {
		char path[64];
		int n = snprintf(path, sizeof(path), "/sparse/file%" PRIu64, i);
		fsc_test_fake_stat(&st, i + 1, 1);
		assert_int_equal(fsc_writer_put(w, path, (size_t)n, &st, 0), 0);
	}
	uint64_t before = object_allocated(oname);
	assert_true(before < (1u << 20));
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", name, "--entries", (char *)NULL);
	uint64_t after = object_allocated(oname);
	fsc_writer_close(w);
	assert_int_equal(r.status, 0);
	assert_contains(r.out, "/sparse/file2\n");
	assert_contains(r.out, "3 live entries listed, 0 tombstones, 0 busy slots skipped, 0 "
			       "damaged slots\n");
	fsc_test_run_free(&r);
	if (after > before + (256u << 10))
		fail_msg("fsc-shmdump --entries made a %" PRIu64 "-byte object hold %" PRIu64
			 " bytes (%" PRIu64 " before)",
			 size, after, before);
}

int main(void)
{
	/* fsc-stat is built next to fsc-shmdump */
	snprintf(stat_path, sizeof(stat_path), "%s", FSC_SHMDUMP_PATH);
	strcpy(strrchr(stat_path, '/') + 1, "fsc-stat");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_shmdump_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shmdump_entries_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shmdump_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shmdump_busy_and_damaged_slots, setup, teardown),
	    cmocka_unit_test(test_shmdump_missing_table),
	    cmocka_unit_test(test_shmdump_foreign_objects),
	    cmocka_unit_test(test_shmdump_usage),
	    cmocka_unit_test_setup_teardown(test_stat_answers, setup, teardown),
	    cmocka_unit_test(test_stat_missing_table_and_usage),
	    cmocka_unit_test_setup_teardown(test_stat_watch, setup, teardown),
	    cmocka_unit_test(test_shmdump_sparse_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
