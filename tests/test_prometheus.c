/* fsc-shmdump --prometheus against a real fscd: the output is valid text exposition format
 * (every sample line well formed with a number, every metric with HELP and TYPE before its
 * sample, counters named *_total, the table label right) and says what --json says of the
 * same table, read while fscd is stopped so that nothing moves in between. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc_test_fscd.h"
#include "fsc_test_run.h"
#include "fsc_test_util.h"

#define METRICS_MAX 128

struct metric {
	char name[96];
	bool help, type, counter, sampled;
	char value[64];
};

struct exposition {
	int n;
	struct metric m[METRICS_MAX];
};

static struct metric *metric_get(struct exposition *e, const char *name, size_t len)
{
	for (int i = 0; i < e->n; i++)
		if (strlen(e->m[i].name) == len && memcmp(e->m[i].name, name, len) == 0)
			return &e->m[i];
	assert_true(e->n < METRICS_MAX);
	assert_true(len < sizeof(e->m[0].name));
	struct metric *m = &e->m[e->n++];
	memcpy(m->name, name, len);
	return m;
}

/* Length of a metric name at p ([a-zA-Z_:][a-zA-Z0-9_:]*), 0 if none. */
static size_t name_len(const char *p)
{
	size_t n = 0;
	if (!isalpha((unsigned char)p[0]) && p[0] != '_' && p[0] != ':')
		return 0;
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':')
		n++;
	return n;
}

/* Checks one line of the exposition and records what it says. */
static void check_line(struct exposition *e, const char *line, const char *table)
{
	if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
		const char *p = line + 7;
		size_t n = name_len(p);
		assert_true(n > 0 && p[n] == ' ' && p[n + 1] != '\0');
		struct metric *m = metric_get(e, p, n);
		assert_false(m->sampled); /* HELP and TYPE come before the sample */
		if (line[2] == 'H') {
			m->help = true;
			return;
		}
		m->type = true;
		m->counter = strcmp(p + n + 1, "counter") == 0;
		assert_true(m->counter || strcmp(p + n + 1, "gauge") == 0);
		return;
	}
	size_t n = name_len(line);
	assert_true(n > 0);
	char label[4200];
	snprintf(label, sizeof(label), "{table=\"%s\"} ", table);
	if (strncmp(line + n, label, strlen(label)) != 0)
		fail_msg("sample line without the table label: %s", line);
	const char *v = line + n + strlen(label);
	char *end;
	errno = 0;
	strtod(v, &end);
	if (errno || end == v || *end)
		fail_msg("sample value is not a number: %s", line);
	struct metric *m = metric_get(e, line, n);
	if (!m->help || !m->type)
		fail_msg("sample before its HELP and TYPE: %s", line);
	assert_false(m->sampled); /* one sample per metric: one table */
	m->sampled = true;
	snprintf(m->value, sizeof(m->value), "%s", v);
}

static void parse_exposition(struct exposition *e, char *text, const char *table)
{
	memset(e, 0, sizeof(*e));
	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		check_line(e, line, table);
	for (int i = 0; i < e->n; i++) {
		struct metric *m = &e->m[i];
		if (!m->sampled || !m->help || !m->type)
			fail_msg("%s: HELP, TYPE and a sample each needed", m->name);
		size_t len = strlen(m->name);
		bool total = len > 6 && strcmp(m->name + len - 6, "_total") == 0;
		if (m->counter != total)
			fail_msg("%s: counters and only counters end in _total", m->name);
	}
}

/* The value of fsc_<key> or fsc_<key>_total. */
static const char *prom_value(struct exposition *e, const char *key)
{
	char a[128], b[128];
	snprintf(a, sizeof(a), "fsc_%s", key);
	snprintf(b, sizeof(b), "fsc_%s_total", key);
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->m[i].name, a) == 0 || strcmp(e->m[i].name, b) == 0)
			return e->m[i].value;
	fail_msg("no metric fsc_%s or fsc_%s_total", key, key);
	return NULL;
}

/* The number after "key": in the JSON text (after from), as printed. */
static void json_number(const char *json, const char *key, char *out, size_t size)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(json, pat);
	if (!p)
		fail_msg("--json has no %s", key);
	p += strlen(pat);
	size_t n = strspn(p, "0123456789");
	assert_true(n > 0 && n < size);
	memcpy(out, p, n);
	out[n] = '\0';
}

static void test_prometheus_matches_json(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "prom");
	char file[512];
	snprintf(file, sizeof(file), "%s/a.log", d.root);
	fsc_test_write_file(file, "x", O_EXCL);
	fsc_test_daemon_start(&d, file, 15000);
	fsc_test_write_file(file, "more", O_APPEND); /* a journal entry and a few counters */
	const char *paths[] = {file, NULL};
	fsc_test_wait_agree(d.c, paths, FSC_EXPECT_STAT, 15000);

	/* both views of one frozen table */
	assert_int_equal(kill(d.fscd, SIGSTOP), 0);
	struct fsc_test_run prom, json;
	fsc_test_run_tool(&prom, FSC_SHMDUMP_PATH, "--name", d.name, "--prometheus", NULL);
	fsc_test_run_tool(&json, FSC_SHMDUMP_PATH, "--name", d.name, "--json", NULL);
	assert_int_equal(kill(d.fscd, SIGCONT), 0);
	assert_int_equal(prom.status, 0);
	assert_int_equal(json.status, 0);

	static struct exposition e;
	parse_exposition(&e, prom.out, d.name);
	const char *counters = strstr(json.out, "\"counters\":{");
	assert_non_null(counters);
	int compared = 0;
	for (const char *p = counters + 12; *p == '"'; compared++) {
		const char *q = strchr(p + 1, '"');
		char key[64], want[32];
		assert_true(q && (size_t)(q - p - 1) < sizeof(key));
		memcpy(key, p + 1, (size_t)(q - p - 1));
		key[q - p - 1] = '\0';
		json_number(p, key, want, sizeof(want));
		assert_string_equal(prom_value(&e, key), want);
		p = q + 2 + strlen(want) + 1; /* past ":N," */
	}
	assert_int_equal(compared, FSC_CTR_COUNT);
	/* the header fields, under their metric names */
	static const char *const pairs[][2] = {
	    {"capacity", "table_capacity"},
	    {"slot_count", "table_slots"},
	    {"change_seq", "table_changes"},
	    {"generation", "table_generation"},
	    {"journal_ring_bytes", "journal_ring_bytes"},
	    {"journal_head", "journal_written_bytes"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char want[32];
		json_number(json.out, pairs[i][0], want, sizeof(want));
		assert_string_equal(prom_value(&e, pairs[i][1]), want);
	}
	assert_string_equal(prom_value(&e, "writer_alive"), "1");
	assert_string_equal(prom_value(&e, "table_live"), "1");
	assert_string_equal(prom_value(&e, "journal_present"), "1");
	assert_true(atoi(prom_value(&e, "journal_written_bytes")) > 0);
	fsc_test_run_free(&prom);
	fsc_test_run_free(&json);
	fsc_test_daemon_stop(&d);
}

/* No table: exit 1 and nothing on stdout (a textfile collector's file then holds no fsc
 * metric, which absent() alerts on); --prometheus with --json is a usage error. */
static void test_prometheus_errors(void **state)
{
	(void)state;
	char name[64];
	fsc_test_name(name, sizeof(name), "promnone");
	struct fsc_test_run r;
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--name", name, "--prometheus", NULL);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, name));
	fsc_test_run_free(&r);
	fsc_test_run_tool(&r, FSC_SHMDUMP_PATH, "--prometheus", "--json", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--prometheus"));
	fsc_test_run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prometheus_matches_json),
	    cmocka_unit_test(test_prometheus_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
