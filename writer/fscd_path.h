/* Path strings as fscd keys them: absolute, canonical, no trailing '/' (except "/"). */
#ifndef FSCD_PATH_H
#define FSCD_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* dir + "/" + name (malloc'd, NULL on no memory); "/" + name for the root. */
char *fscd_path_join(const char *dir, const char *name);
/* The directory path is in (malloc'd; "/" for "/x"), or NULL (no '/', no memory). */
char *fscd_path_parent(const char *path);
/* Is path the first plen bytes of prefix itself, or below it? */
bool fscd_path_under(const char *path, const char *prefix, size_t plen);

#endif
