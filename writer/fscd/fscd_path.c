/* Path strings: see fscd_path.h. */
#define _GNU_SOURCE
#include "fscd_path.h"

#include <stdlib.h>
#include <string.h>
#include "fsc_writer.h"
#include <xxhash.h>

uint64_t fscd_path_hash_seed(void)
{
	uint64_t seed;
	if (fsc_writer_random64(&seed))
		seed = 0x9e3779b97f4a7c15ull;
	return seed;
}

unsigned long fscd_path_hash(const char *path, uint64_t seed)
{
	return (unsigned long)XXH3_64bits_withSeed(path, strlen(path), seed);
}

/* Writes dir + "/" + name + NUL to out, which has room for it. */
static void fscd_path_join_copy(char *out, const char *dir, size_t dlen, const char *name,
				size_t nlen)
{
	if (dlen == 1 && dir[0] == '/')
		dlen = 0; /* the root: "/" + name */
	memcpy(out, dir, dlen);
	out[dlen] = '/';
	memcpy(out + dlen + 1, name, nlen + 1);
}

static size_t fscd_path_join_len(const char *dir, size_t dlen, size_t nlen)
{
	return (dlen == 1 && dir[0] == '/' ? 0 : dlen) + 1 + nlen;
}

char *fscd_path_join(const char *dir, const char *name)
{
	size_t dlen = strlen(dir), nlen = strlen(name);
	char *p = malloc(fscd_path_join_len(dir, dlen, nlen) + 1);
	if (p)
		fscd_path_join_copy(p, dir, dlen, name, nlen);
	return p;
}

char *fscd_path_join_into(char *buf, size_t size, const char *dir, size_t dlen, const char *name,
			  size_t *len)
{
	size_t nlen = strlen(name);
	size_t n = fscd_path_join_len(dir, dlen, nlen);
	char *p = n < size ? buf : malloc(n + 1);
	if (p) {
		fscd_path_join_copy(p, dir, dlen, name, nlen);
		*len = n;
	}
	return p;
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
