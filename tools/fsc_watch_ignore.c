/* fsc-watch's gitignore-like matcher (semantics in fsc_watch_ignore.h). A glob is split into
 * components once, when added; matching walks a path's components with fnmatch(3) per
 * component and a small recursion for `**`. */
#define _GNU_SOURCE
#include "fsc_watch_ignore.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define FSC_WATCH_COMPONENTS_MAX 256 /* deeper paths are matched on their first 256 components */

struct fsc_watch_rule {
	char *text;  /* the glob's components, NUL-separated */
	char **segs; /* pointers into text */
	size_t nsegs;
	bool negate;	/* !GLOB */
	bool dir_only;	/* GLOB/ */
	bool anchored;	/* had a '/' before its end: matched from the root */
	bool also_self; /* ends in a `**` component: also matches the directory it is in */
};

const char *const fsc_watch_ignore_defaults[] = {
    /* version control */
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    "_darcs",
    "CVS",
    ".jj",
    /* vim: swap files (.x.swp, .x.swo, ...; .swp for an unnamed buffer), the probe file it
     * creates and deletes to learn whether it may write the directory, backups */
    ".*.sw?",
    ".sw?",
    "4913",
    "*~",
    /* emacs: auto-save and lock files */
    "#*#",
    ".#*",
    NULL,
};

/* Checks one component's syntax: a '[' must be closed, a backslash must quote something. */
static const char *fsc_watch_seg_check(const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\\') {
			if (!s[++i])
				return "a trailing backslash quotes nothing";
		} else if (s[i] == '[') {
			size_t j = i + 1;
			if (s[j] == '!' || s[j] == '^')
				j++;
			if (s[j] == ']') /* a leading ']' is a member, not the end */
				j++;
			while (s[j] && s[j] != ']')
				j++;
			if (!s[j])
				return "an unclosed '[' (write \\[ for a literal one)";
			i = j;
		}
	}
	return NULL;
}

/* Splits body (no leading '!', no trailing '/') into r's components. */
static const char *fsc_watch_rule_split(struct fsc_watch_rule *r, const char *body)
{
	r->anchored = strchr(body, '/') != NULL;
	if (body[0] == '/')
		body++;
	if (!body[0])
		return "it matches nothing but the root";
	r->text = strdup(body);
	size_t n = 1;
	for (const char *p = body; *p; p++)
		n += *p == '/';
	r->segs = calloc(n, sizeof(*r->segs));
	if (!r->text || !r->segs)
		return "";
	char *save = NULL;
	for (char *seg = r->text; seg; seg = save) {
		save = strchr(seg, '/');
		if (save)
			*save++ = '\0';
		if (!seg[0])
			return "an empty component ('//')";
		const char *bad = fsc_watch_seg_check(seg);
		if (bad)
			return bad;
		r->segs[r->nsegs++] = seg;
	}
	r->also_self = r->nsegs > 1 && strcmp(r->segs[r->nsegs - 1], "**") == 0;
	return NULL;
}

static void fsc_watch_rule_free(struct fsc_watch_rule *r)
{
	free(r->text);
	free(r->segs);
}

int fsc_watch_ignore_add(struct fsc_watch_ignore *ig, const char *glob, const char **why)
{
	struct fsc_watch_rule r = {0};
	*why = NULL;
	if (glob[0] == '!') {
		r.negate = true;
		glob++;
	}
	size_t len = strlen(glob);
	char *body = strndup(glob, len);
	if (!body)
		return -1;
	if (len > 0 && body[len - 1] == '/' && (len < 2 || body[len - 2] != '\\')) {
		r.dir_only = true;
		body[--len] = '\0';
	}
	const char *bad = len ? fsc_watch_rule_split(&r, body) : "it is empty";
	free(body);
	if (!bad && ig->n == ig->cap) {
		size_t cap = ig->cap ? ig->cap * 2 : 16;
		struct fsc_watch_rule *grown = realloc(ig->rules, cap * sizeof(*grown));
		if (grown) {
			ig->rules = grown;
			ig->cap = cap;
		} else {
			bad = "";
		}
	}
	if (bad) {
		fsc_watch_rule_free(&r);
		if (!bad[0]) {
			errno = ENOMEM;
			return -1;
		}
		*why = bad;
		errno = EINVAL;
		return -1;
	}
	ig->rules[ig->n++] = r;
	return 0;
}

int fsc_watch_ignore_add_defaults(struct fsc_watch_ignore *ig)
{
	const char *why;
	for (size_t i = 0; fsc_watch_ignore_defaults[i]; i++)
		if (fsc_watch_ignore_add(ig, fsc_watch_ignore_defaults[i], &why))
			return -1;
	return 0;
}

int fsc_watch_ignore_append(struct fsc_watch_ignore *ig, struct fsc_watch_ignore *from)
{
	if (ig->n + from->n > ig->cap) {
		size_t cap = ig->n + from->n;
		struct fsc_watch_rule *grown = realloc(ig->rules, cap * sizeof(*grown));
		if (!grown)
			return -1;
		ig->rules = grown;
		ig->cap = cap;
	}
	if (from->n)
		memcpy(ig->rules + ig->n, from->rules, from->n * sizeof(*from->rules));
	ig->n += from->n;
	free(from->rules);
	*from = (struct fsc_watch_ignore){0};
	return 0;
}

void fsc_watch_ignore_free(struct fsc_watch_ignore *ig)
{
	for (size_t i = 0; i < ig->n; i++)
		fsc_watch_rule_free(&ig->rules[i]);
	free(ig->rules);
	*ig = (struct fsc_watch_ignore){0};
}

/* Do the glob components segs[0..ns) match the path components comps[0..nc) exactly? */
static bool fsc_watch_segs_match(char *const *segs, size_t ns, char *const *comps, size_t nc)
{
	while (ns > 0) {
		if (strcmp(segs[0], "**") == 0) {
			if (ns == 1) /* a trailing `**`: everything inside, at least one more */
				return nc >= 1;
			for (size_t skip = 0; skip <= nc; skip++)
				if (fsc_watch_segs_match(segs + 1, ns - 1, comps + skip, nc - skip))
					return true;
			return false;
		}
		if (nc == 0 || fnmatch(segs[0], comps[0], 0) != 0)
			return false;
		segs++, ns--;
		comps++, nc--;
	}
	return nc == 0;
}

/* Does rule r match the path made of comps[0..nc)? is_dir: that path is a directory; last:
 * it is the path asked about, not one of its parents. */
static bool fsc_watch_rule_match(const struct fsc_watch_rule *r, char *const *comps, size_t nc,
				 bool is_dir, bool last)
{
	if (nc == 0 || (r->dir_only && !is_dir))
		return false;
	if (!r->anchored)
		return fnmatch(r->segs[0], comps[nc - 1], 0) == 0;
	if (fsc_watch_segs_match(r->segs, r->nsegs, comps, nc))
		return true;
	/* a glob ending in a `**` component also ignores the directory itself, but only as the path
	 * asked about: as a parent it must not hide what a later `!dir/keep` re-includes */
	return r->also_self && last && is_dir &&
	       fsc_watch_segs_match(r->segs, r->nsegs - 1, comps, nc);
}

/* The last rule matching the path comps[0..nc) decides: true if that one ignores it. */
static bool fsc_watch_ignore_decide(const struct fsc_watch_ignore *ig, char *const *comps,
				    size_t nc, bool is_dir, bool last)
{
	for (size_t i = ig->n; i-- > 0;)
		if (fsc_watch_rule_match(&ig->rules[i], comps, nc, is_dir, last))
			return !ig->rules[i].negate;
	return false;
}

bool fsc_watch_ignore_match(const struct fsc_watch_ignore *ig, const char *rel, bool is_dir)
{
	if (ig->n == 0 || !rel[0])
		return false;
	char buf[4096];
	size_t len = strlen(rel);
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, rel, len);
	buf[len] = '\0';
	char *comps[FSC_WATCH_COMPONENTS_MAX];
	size_t nc = 0;
	for (char *p = buf; p && nc < FSC_WATCH_COMPONENTS_MAX;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash++ = '\0';
		if (p[0])
			comps[nc++] = p;
		p = slash;
	}
	/* as in gitignore, a path below an ignored directory is ignored whatever later globs
	 * say: each parent first, then the path itself */
	for (size_t k = 1; k < nc; k++)
		if (fsc_watch_ignore_decide(ig, comps, k, true, false))
			return true;
	return fsc_watch_ignore_decide(ig, comps, nc, is_dir, true);
}
