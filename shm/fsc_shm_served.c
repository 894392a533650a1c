/* The served region of a table: encoding (writer), validation into a private copy (readers,
 * tools) and the coverage test. The format is in fsc_shm_served.h and PROTOCOL.md. */
#include "fsc_shm_served.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define ITEM_HEAD 4u /* type (16 bits), len (16 bits) */

static uint32_t round8(uint64_t n)
{
	return (uint32_t)((n + 7) & ~(uint64_t)7);
}

/* Appends one item at *at (if buf): false if it does not fit. */
static bool put_item(unsigned char *buf, size_t size, size_t *at, uint16_t type, const char *text)
{
	size_t len = strlen(text);
	if (len == 0 || len > FSC_SERVED_TEXT_MAX || *at + ITEM_HEAD + len > size)
		return false;
	if (buf) {
		uint16_t h[2] = {type, (uint16_t)len};
		memcpy(buf + *at, h, ITEM_HEAD);
		memcpy(buf + *at + ITEM_HEAD, text, len);
	}
	*at += ITEM_HEAD + len;
	return true;
}

uint32_t fsc_shm_served_encode(void *buf, size_t size, const struct fsc_served_spec *spec)
{
	if (!buf || size > FSC_SERVED_MAX)
		size = FSC_SERVED_MAX;
	unsigned char *b = buf;
	size_t at = sizeof(struct fsc_served_head);
	uint32_t count = 0;
	bool ok = at <= size;
	for (size_t i = 0; ok && i < spec->nroots; i++, count++)
		ok = put_item(b, size, &at,
			      spec->root_is_file[i] ? FSC_SERVED_ROOT_FILE : FSC_SERVED_ROOT_DIR,
			      spec->roots[i]);
	for (size_t i = 0; ok && i < spec->nexclude; i++, count++)
		ok = put_item(b, size, &at, FSC_SERVED_EXCLUDE, spec->exclude[i]);
	for (size_t i = 0; ok && i < spec->ninclude; i++, count++)
		ok = put_item(b, size, &at, FSC_SERVED_INCLUDE, spec->include[i]);
	if (!ok || round8(at) > size)
		return 0;
	if (b) {
		struct fsc_served_head h = {.magic = FSC_SERVED_MAGIC,
					    .version = FSC_SERVED_VERSION,
					    .size = (uint32_t)at,
					    .count = count,
					    .max_depth = spec->max_depth};
		memcpy(b, &h, sizeof(h));
		memset(b + at, 0, round8(at) - at);
	}
	return round8(at);
}

struct tally {
	size_t n[5];  /* items by type */
	size_t bytes; /* text bytes */
};

/* Checks every item of the copy; counts them by type. NULL, or why it is damaged. */
static const char *check_items(const unsigned char *r, const struct fsc_served_head *h,
			       struct tally *t)
{
	size_t at = sizeof(*h);
	for (uint32_t i = 0; i < h->count; i++) {
		uint16_t ih[2];
		if (h->size - at < ITEM_HEAD)
			return "served region item runs past its end";
		memcpy(ih, r + at, ITEM_HEAD);
		at += ITEM_HEAD;
		if (ih[0] < FSC_SERVED_ROOT_DIR || ih[0] > FSC_SERVED_INCLUDE)
			return "served region item of unknown type";
		if (ih[1] == 0 || ih[1] > FSC_SERVED_TEXT_MAX || h->size - at < ih[1])
			return "served region item length out of range";
		const char *text = (const char *)r + at;
		if (memchr(text, '\0', ih[1]))
			return "served region item holds a NUL";
		/* roots are keys: canonical absolute paths, or a lookup could never match */
		if (ih[0] <= FSC_SERVED_ROOT_FILE &&
		    !fsc_shm_path_cacheable(text, ih[1], UINT32_MAX))
			return "served region root is not a canonical absolute path";
		t->n[ih[0]]++;
		t->bytes += ih[1] + 1u;
		at += ih[1];
	}
	return at == h->size ? NULL : "served region size does not match its items";
}

/* Builds the private form from a checked copy: one allocation. */
static struct fsc_served *build(const unsigned char *r, const struct fsc_served_head *h,
				const struct tally *t)
{
	size_t items = t->n[1] + t->n[2] + t->n[3] + t->n[4];
	size_t nroots = t->n[FSC_SERVED_ROOT_DIR] + t->n[FSC_SERVED_ROOT_FILE];
	size_t bytes = sizeof(struct fsc_served) + items * sizeof(char *) + nroots + t->bytes;
	struct fsc_served *s = calloc(1, bytes);
	if (!s)
		return NULL;
	const char **ptrs = (const char **)(s + 1);
	bool *is_file = (bool *)(ptrs + items);
	char *text = (char *)(is_file + nroots);
	s->max_depth = h->max_depth;
	s->roots = ptrs;
	s->root_is_file = is_file;
	s->exclude = ptrs + nroots;
	s->include = s->exclude + t->n[FSC_SERVED_EXCLUDE];
	size_t at = sizeof(*h);
	for (uint32_t i = 0; i < h->count; i++) {
		uint16_t ih[2];
		memcpy(ih, r + at, ITEM_HEAD);
		memcpy(text, r + at + ITEM_HEAD, ih[1]);
		text[ih[1]] = '\0';
		if (ih[0] == FSC_SERVED_EXCLUDE) {
			s->exclude[s->nexclude++] = text;
		} else if (ih[0] == FSC_SERVED_INCLUDE) {
			s->include[s->ninclude++] = text;
		} else {
			is_file[s->nroots] = ih[0] == FSC_SERVED_ROOT_FILE;
			s->roots[s->nroots++] = text;
		}
		text += ih[1] + 1u;
		at += ITEM_HEAD + ih[1];
	}
	return s;
}

int fsc_shm_served_parse(const struct fsc_shm_header *table, uint64_t mapped_size,
			 const struct fsc_shm_layout *layout, struct fsc_served **out,
			 const char **why)
{
	*out = NULL;
	/* one load of the size: the checks below and the copy use this value only */
	uint32_t size = *(const volatile uint32_t *)&table->served_size;
	if (size == 0)
		return 0; /* a table that publishes nothing (an older writer) */
	uint64_t start = layout->slots_offset + layout->slot_count * layout->slot_size;
	if (size > FSC_SERVED_MAX || size % 8 || size < sizeof(struct fsc_served_head) ||
	    start > mapped_size || size > mapped_size - start) {
		*why = "served region out of bounds";
		return -EPROTO;
	}
	unsigned char *r = malloc(size);
	if (!r)
		return -ENOMEM;
	memcpy(r, (const unsigned char *)table + start, size);
	struct fsc_served_head h;
	memcpy(&h, r, sizeof(h));
	struct tally t = {0};
	*why = NULL;
	if (h.magic != FSC_SERVED_MAGIC)
		*why = "served region has a bad magic";
	else if (h.version != FSC_SERVED_VERSION)
		*why = "served region of another version";
	else if (h.size < sizeof(h) || h.size > size || h.reserved != 0)
		*why = "served region header out of range";
	else
		*why = check_items(r, &h, &t);
	int rc = 0;
	if (*why)
		rc = -EPROTO;
	else if (!(*out = build(r, &h, &t)))
		rc = -ENOMEM;
	free(r);
	return rc;
}

/* Does a glob match the path or its last component (fscd_filter.c's rule)? */
static bool any_match(const char *const *globs, size_t n, const char *path, const char *base)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(globs[i], path, FNM_PATHNAME) == 0 || fnmatch(globs[i], base, 0) == 0)
			return true;
	return false;
}

/* path (NUL-terminated copy of len bytes) below the directory root of rlen bytes. */
static enum fsc_served_answer below_root(const struct fsc_served *s, char *path, size_t len,
					 size_t rlen)
{
	unsigned depth = 0;
	/* every component below the root, shortest prefix first: an excluded directory hides
	 * everything below it, as fscd neither caches nor traverses it */
	for (size_t i = rlen + 1; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		depth++;
		if (s->max_depth && depth > s->max_depth)
			return FSC_SERVED_NO;
		char saved = path[i];
		path[i] = '\0';
		const char *base = strrchr(path, '/') + 1;
		bool excluded = any_match(s->exclude, s->nexclude, path, base);
		path[i] = saved;
		if (excluded)
			return FSC_SERVED_NO;
	}
	if (s->ninclude == 0 || depth == 0)
		return FSC_SERVED_YES;
	const char *base = strrchr(path, '/') + 1;
	return any_match(s->include, s->ninclude, path, base) ? FSC_SERVED_YES : FSC_SERVED_IF_DIR;
}

enum fsc_served_answer fsc_shm_served_covers(const struct fsc_served *s, const char *path,
					     size_t len)
{
	if (!s || len == 0 || len > FSC_SERVED_TEXT_MAX || path[0] != '/')
		return FSC_SERVED_NO;
	char copy[FSC_SERVED_TEXT_MAX + 1];
	memcpy(copy, path, len);
	copy[len] = '\0';
	enum fsc_served_answer best = FSC_SERVED_NO;
	for (size_t i = 0; i < s->nroots; i++) {
		const char *root = s->roots[i];
		size_t rlen = strlen(root);
		if (rlen == len && memcmp(root, copy, len) == 0)
			return FSC_SERVED_YES; /* a root itself, file or directory */
		if (s->root_is_file[i])
			continue;
		if (rlen == 1) /* "/": every path is below it */
			rlen = 0;
		if (len <= rlen || memcmp(root, copy, rlen) != 0 || copy[rlen] != '/')
			continue;
		enum fsc_served_answer a = below_root(s, copy, len, rlen);
		if (a == FSC_SERVED_YES)
			return a;
		if (a == FSC_SERVED_IF_DIR)
			best = a;
	}
	return best;
}
