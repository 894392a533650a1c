/* The man pages (doc/man, in scdoc) cannot drift from the programs: every option a tool's --help
 * defines is defined in its page and the page defines no other; fscd.conf(5) has exactly the
 * config-file keys fscd --help lists; libfsc(3) describes every FSC_API function of fsc.h and
 * no other. And every built page renders with groff -ww (all warnings) without a warning.
 * The pages and what each is checked against come from doc/man's manifest.txt.
 *
 * Definitions are found by their form: in --help, a line whose first non-blank is '-' (its
 * option tokens up to the argument or description) or, for keys, the word before " = " on such
 * a line; in a page, a line starting with "*-" (options), "*key* =" (keys) or "*fsc_name*("
 * (functions). */
#define _GNU_SOURCE
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc_test_run.h"
#include "fsc_test_util.h"

#define NAMES_MAX 96

struct names {
	int n;
	char v[NAMES_MAX][64];
};

static void names_add(struct names *s, const char *p, size_t len)
{
	assert_true(len > 0 && len < sizeof(s->v[0]));
	for (int i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && memcmp(s->v[i], p, len) == 0)
			return;
	assert_true(s->n < NAMES_MAX);
	memcpy(s->v[s->n], p, len);
	s->v[s->n++][len] = '\0';
}

static bool names_has(const struct names *s, const char *v)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

/* Every name of a is in b; a failure names the page and the source of each side. */
static void names_within(const struct names *a, const char *a_what, const struct names *b,
			 const char *b_what)
{
	for (int i = 0; i < a->n; i++)
		if (!names_has(b, a->v[i]))
			fail_msg("%s has %s but %s does not", a_what, a->v[i], b_what);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s", path);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_non_null(m);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static size_t option_len(const char *p)
{
	size_t n = 0;
	if (p[0] != '-')
		return 0;
	n = p[1] == '-' ? 2 : 1;
	while (isalnum((unsigned char)p[n]) || (p[n] == '-' && n > 1))
		n++;
	return n;
}

/* Options defined in --help text: the tokens "-x," and "--long" leading a line. */
static void help_options(const char *help, struct names *out)
{
	for (const char *l = help; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l + strspn(l, " ");
		size_t n;
		while ((n = option_len(p)) > 1) {
			names_add(out, p, n);
			p += n;
			p += strspn(p, ", ");
		}
	}
}

/* Config-file keys in fscd --help: on an option line, the word before " = ". */
static void help_keys(const char *help, struct names *out)
{
	for (const char *l = help; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l + strspn(l, " ");
		const char *eol = strchrnul(l, '\n');
		const char *eq = strstr(p, " = ");
		if (*p != '-' || !eq || eq > eol)
			continue;
		const char *k = eq;
		while (k > p && (isalnum((unsigned char)k[-1]) || k[-1] == '-'))
			k--;
		names_add(out, k, (size_t)(eq - k));
	}
}

/* In a page: the bold tokens of lines starting with "*-" (options), lines "*key* =" (keys),
 * lines "*fsc_x*(" (functions). */
static void page_defs(const char *page, const char *kind, struct names *out)
{
	for (const char *l = page; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (l[0] != '*')
			continue;
		const char *end = strchr(l + 1, '*');
		if (!end)
			continue;
		if (strcmp(kind, "options") == 0 && l[1] == '-') {
			for (const char *p = l; *p == '*';) {
				size_t n = option_len(p + 1);
				if (n < 2 || p[1 + n] != '*')
					break;
				names_add(out, p + 1, n);
				p += n + 2;
				p += strspn(p, ", ");
			}
		} else if (strcmp(kind, "keys") == 0 && strncmp(end, "* = ", 4) == 0) {
			names_add(out, l + 1, (size_t)(end - l - 1));
		} else if (strcmp(kind, "api") == 0 && end[1] == '(' && !strncmp(l, "*fsc_", 5)) {
			names_add(out, l + 1, (size_t)(end - l - 1));
		}
	}
}

/* The functions fsc.h exports: "FSC_API <type> [*]fsc_name(". */
static void header_api(const char *h, struct names *out)
{
	for (const char *p = strstr(h, "\nFSC_API "); p; p = strstr(p + 1, "\nFSC_API ")) {
		const char *paren = strchr(p, '(');
		const char *name = paren;
		while (name > p && (isalnum((unsigned char)name[-1]) || name[-1] == '_'))
			name--;
		names_add(out, name, (size_t)(paren - name));
	}
}

/* scdoc drops a dot that starts a line (roff would take it for a request): none may. */
static void check_source(const char *src, const char *page)
{
	int line = 1;
	for (const char *l = page; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (*l == '.')
			fail_msg("%s:%d starts with '.', which scdoc drops: reflow it", src, line);
		else
			line++;
}

static void check_page(const char *src, const char *kind, const char *arg)
{
	char *page = read_all(src);
	check_source(src, page);
	struct names in_page = {0}, in_prog = {0};
	page_defs(page, kind, &in_page);
	char what[4200];
	if (strcmp(kind, "api") == 0) {
		char *h = read_all(arg);
		header_api(h, &in_prog);
		free(h);
		snprintf(what, sizeof(what), "%s (FSC_API)", arg);
	} else {
		struct fsc_test_run r;
		fsc_test_run_tool(&r, arg, "--help", NULL);
		assert_int_equal(r.status, 0);
		if (strcmp(kind, "keys") == 0)
			help_keys(r.out, &in_prog);
		else
			help_options(r.out, &in_prog);
		fsc_test_run_free(&r);
		snprintf(what, sizeof(what), "%s --help", arg);
	}
	if (in_prog.n < 3)
		fail_msg("found only %d definitions in %s: is its format still parsed here?",
			 in_prog.n, what);
	names_within(&in_prog, what, &in_page, src);
	names_within(&in_page, src, &in_prog, what);
	free(page);
}

/* groff with every warning on: anything on stderr is a defect of the page. */
static void check_render(const char *built)
{
	if (access("/usr/bin/groff", X_OK) != 0) {
		print_message("groff is not installed: %s not rendered\n", built);
		return;
	}
	struct fsc_test_run r;
	fsc_test_run_tool(&r, "/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z", built, NULL);
	if (r.status != 0 || r.err[0])
		fail_msg("groff -man -ww %s: status %d, %s", built, r.status, r.err);
	fsc_test_run_free(&r);
}

static void test_man_pages(void **state)
{
	(void)state;
	char *manifest = read_all(FSC_MAN_MANIFEST);
	int pages = 0, rendered = 0;
	for (char *save = NULL, *line = strtok_r(manifest, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), pages++) {
		char *f[4];
		char *s2 = NULL;
		f[0] = strtok_r(line, "\t", &s2);
		for (int i = 1; i < 4; i++)
			f[i] = strtok_r(NULL, "\t", &s2);
		assert_true(f[0] && f[1] && f[2] && f[3]);
		if (strcmp(f[2], "none") != 0)
			check_page(f[0], f[2], f[3]);
		if (strcmp(f[1], "-") != 0) {
			check_render(f[1]);
			rendered++;
		}
	}
	assert_true(pages >= 5);
	if (!rendered)
		print_message("scdoc was not found at configure time: pages not rendered\n");
	free(manifest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_man_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
