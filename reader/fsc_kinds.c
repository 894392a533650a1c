/* libfsc: change kinds as text (fsc_kinds_format) and which paths a table serves
 * (fsc_covers, from the served region copied at attach: shm/fsc_shm_served.h). */
#include "fsc_reader.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
	uint32_t bit;
	const char *name;
} kind_names[] = {
    {FSC_KIND_CREATE, "create"},     {FSC_KIND_MODIFY, "modify"},
    {FSC_KIND_ATTRIB, "attrib"},     {FSC_KIND_CLOSE_WRITE, "close-write"},
    {FSC_KIND_DELETE, "delete"},     {FSC_KIND_MOVED_FROM, "moved-from"},
    {FSC_KIND_MOVED_TO, "moved-to"}, {FSC_KIND_DIR, "dir"},
    {FSC_KIND_RESCAN, "rescan"},
};

const char *fsc_kinds_format(uint32_t kinds, char *buf, size_t size)
{
	if (!buf || size == 0)
		return buf;
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (!(kinds & kind_names[i].bit))
			continue;
		kinds &= ~kind_names[i].bit;
		int w = snprintf(buf + n, size - n, "%s%s", n ? "," : "", kind_names[i].name);
		if (w < 0 || (size_t)w >= size - n)
			return buf; /* truncated, NUL-ended by snprintf */
		n += (size_t)w;
	}
	if (kinds)
		snprintf(buf + n, size - n, "%s0x%x", n ? "," : "", (unsigned)kinds);
	return buf;
}

int fsc_covers(fsc_t *c, const char *path)
{
	if (!c || !path || path[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	struct fsc_map *m = fsc_reader_usable_map(c);
	if (!m || !m->served)
		return 0;
	size_t len = strlen(path);
	/* paths the table never holds (".", "..", "//", a trailing '/') are never served */
	if (!fsc_shm_path_cacheable(path, len, UINT32_MAX))
		return 0;
	switch (fsc_shm_served_covers(m->served, path, len)) {
	case FSC_SERVED_YES:
		return 1;
	case FSC_SERVED_IF_DIR: {
		/* it matches no include glob: fscd serves it only as a directory it traverses */
		struct stat st;
		return fsc_lookup(c, path, &st, NULL) == FSC_HIT && S_ISDIR(st.st_mode);
	}
	default:
		return 0;
	}
}
