/* Path strings as fscd keys them: absolute, canonical, no trailing '/' (except "/"). */
#ifndef FSCD_PATH_H
#define FSCD_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* dir + "/" + name (malloc'd, NULL on no memory); "/" + name for the root. */
char *fscd_path_join(const char *dir, const char *name);
/* The same joined into buf when it fits in size bytes (NUL included), else malloc'd; dlen is
 * strlen(dir). Returns buf, the malloc'd copy (the caller frees what is not buf) or NULL (no
 * memory); *len is set to the joined length. */
char *fscd_path_join_into(char *buf, size_t size, const char *dir, size_t dlen, const char *name,
			  size_t *len);
/* The directory path is in (malloc'd; "/" for "/x"), or NULL (no '/', no memory). */
char *fscd_path_parent(const char *path);
/* Is path the first plen bytes of prefix itself, or below it? */
bool fscd_path_under(const char *path, const char *prefix, size_t plen);

/* For fscd's indexes keyed by path (cds_lfht): a random seed, so that paths cannot be made
 * to collide (a fixed one if the kernel gives none: that only costs hash quality)... */
uint64_t fscd_path_hash_seed(void);
/* ... and the hash of path under it. */
unsigned long fscd_path_hash(const char *path, uint64_t seed);

#endif
