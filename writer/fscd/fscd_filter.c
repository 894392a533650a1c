#include "fscd_filter.h"

#include <fnmatch.h>
#include <string.h>

#include "fscd_path.h"

/* Does any pattern match the full path or its base name? */
static bool fscd_filter_any_match(const char *const *patterns, size_t n, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	for (size_t i = 0; i < n; i++) {
		if (fnmatch(patterns[i], path, FNM_PATHNAME) == 0 ||
		    fnmatch(patterns[i], base, 0) == 0)
			return true;
	}
	return false;
}

bool fscd_filter_wants(const struct fscd_filter *f, const char *path, bool is_dir, unsigned depth)
{
	if (!f || depth == 0)
		return true;
	if (f->stop && f->stop())
		return false;
	if (f->max_depth && depth > f->max_depth)
		return false;
	if (fscd_filter_any_match(f->exclude, f->nexclude, path))
		return false;
	if (is_dir || f->ninclude == 0)
		return true;
	return fscd_filter_any_match(f->include, f->ninclude, path);
}

bool fscd_filter_forces_poll(const struct fscd_filter *f, const char *dir)
{
	for (size_t i = 0; f && i < f->npoll; i++) {
		size_t n = strlen(f->poll[i]);
		while (n > 1 && f->poll[i][n - 1] == '/')
			n--;
		if (fscd_path_under(dir, f->poll[i], n))
			return true;
	}
	return false;
}
