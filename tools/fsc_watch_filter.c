/* fsc-watch's filter (see fsc_watch_filter.h). No system call: it runs once per journal
 * entry on the journal thread. */
#include "fsc_watch_filter.h"

#include <string.h>
#include <sys/stat.h>

#include "fsc.h"

/* kinds that say the path itself came, went or moved */
#define FSC_WATCH_KINDS_EXISTENCE                                                                  \
	(FSC_KIND_CREATE | FSC_KIND_DELETE | FSC_KIND_MOVED_FROM | FSC_KIND_MOVED_TO)

/* The path below root that path is (NULL if it is not root or below it; "" for root). */
static const char *fsc_watch_below(const char *root, const char *path, size_t len)
{
	size_t rlen = strlen(root);
	if (rlen == 1) /* "/" */
		return path + 1;
	if (len < rlen || memcmp(root, path, rlen) != 0)
		return NULL;
	if (len == rlen)
		return path + len;
	return path[rlen] == '/' ? path + rlen + 1 : NULL;
}

/* Is path an ancestor of root (a directory above it)? */
static bool fsc_watch_above(const char *root, const char *path, size_t len)
{
	return len == 1 || (strlen(root) > len && memcmp(root, path, len) == 0 && root[len] == '/');
}

static bool fsc_watch_ext_ok(const struct fsc_watch_opts *o, const char *rel)
{
	if (o->nexts == 0)
		return true;
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	size_t blen = strlen(base);
	for (size_t i = 0; i < o->nexts; i++) {
		size_t elen = strlen(o->exts[i]);
		if (blen > elen + 1 && base[blen - elen - 1] == '.' &&
		    strcmp(base + blen - elen, o->exts[i]) == 0)
			return true;
	}
	return false;
}

enum fsc_watch_verdict fsc_watch_filter(const struct fsc_watch_opts *o, const char *path,
					size_t len, uint32_t kinds)
{
	const char *rel = NULL;
	for (size_t i = 0; i < o->npaths && !rel; i++) {
		rel = fsc_watch_below(o->paths[i], path, len);
		if (!rel && (kinds & FSC_KIND_RESCAN) && fsc_watch_above(o->paths[i], path, len))
			return FSC_WATCH_RESCAN;
	}
	if (!rel)
		return FSC_WATCH_SKIP;
	bool is_dir = (kinds & FSC_KIND_DIR) != 0;
	struct stat st;
	/* an entry fscd could not classify: whether it is a directory now is the best guess,
	 * and then it is taken for one whose times changed */
	if (kinds == 0 && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return FSC_WATCH_SKIP;
	if (fsc_watch_ignore_match(&o->ignore, rel, is_dir))
		return FSC_WATCH_SKIP;
	if (kinds & FSC_KIND_RESCAN)
		return FSC_WATCH_RESCAN;
	if (is_dir && !(kinds & FSC_WATCH_KINDS_EXISTENCE))
		return FSC_WATCH_SKIP;
	if (o->nexts && (is_dir || !fsc_watch_ext_ok(o, rel)))
		return FSC_WATCH_SKIP;
	if (o->on_kinds && !(kinds & o->on_kinds))
		return FSC_WATCH_SKIP;
	return FSC_WATCH_PASS;
}
