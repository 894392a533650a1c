/* Path strings: see fscd_path.h. */
#define _GNU_SOURCE
#include "fscd_path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fscd_path_join(const char *dir, const char *name)
{
	char *p = NULL;
	if (strcmp(dir, "/") == 0)
		return asprintf(&p, "/%s", name) < 0 ? NULL : p;
	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

char *fscd_path_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return NULL;
	return slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
}

bool fscd_path_under(const char *path, const char *prefix, size_t plen)
{
	return strncmp(path, prefix, plen) == 0 &&
	       (path[plen] == '\0' || path[plen] == '/' || (plen == 1 && prefix[0] == '/'));
}
