/* Where published objects live: a table's address and its object directory.
 *
 * A table is addressed by a plain NAME (1..FSC_NAME_MAX bytes of [A-Za-z0-9._-], not starting
 * with '.'), found in the default object directory, or by an absolute "DIR/NAME", the table
 * NAME in directory DIR. Its objects are files in that directory: the table "fsc.NAME", the
 * journal "fsc-journal.NAME", hit hints "fsc.NAME.hints.<gen>" and a writer's private build
 * names. The directory must be one only trusted users can write (PROTOCOL.md "Objects" and
 * "Trust": readers check it at attach, fscd before it publishes), so nobody else can take a
 * name in it first.
 *
 * The default object directory, for readers and fscd alike:
 *   1. $FSC_DIR (read with secure_getenv: set-id programs ignore it), if set and not empty;
 *   2. /run/fsc for root (the systemd unit's RuntimeDirectory=);
 *   3. for any other user, $XDG_RUNTIME_DIR/fsc if that directory exists (a per-user fscd
 *      made it), else /run/fsc.
 * So root never looks at a per-user directory, and a user's own fscd shadows the system's
 * table of the same name for that user only. fscd itself, not being root, publishes in
 * /run/fsc if that directory is its own (a service user's, from systemd), else in
 * $XDG_RUNTIME_DIR/fsc (which it makes), whether or not that exists yet. */
#ifndef FSC_SHM_DIR_H
#define FSC_SHM_DIR_H

#include <stdbool.h>
#include <stddef.h>

#include "fsc_shm_format.h"

#define FSC_DIR_ENV	 "FSC_DIR"
#define FSC_DIR_SYSTEM	 "/run/fsc"
#define FSC_DIR_USER_SUB "/fsc" /* appended to $XDG_RUNTIME_DIR */
#define FSC_DIR_MAX	 160	/* bytes of an object directory's path */
/* bytes of an address "DIR/NAME" */
#define FSC_ADDR_MAX (FSC_DIR_MAX + 1 + FSC_NAME_MAX)

/* A parsed address. */
struct fsc_shm_addr {
	char dir[FSC_DIR_MAX + 1];   /* absolute, canonical: no "//", ".", ".." or trailing '/' */
	char base[FSC_NAME_MAX + 1]; /* the table name proper */
};

/* Whose default: a reader's, or fscd's (they differ only for a non-root fscd, above). */
enum fsc_shm_side {
	FSC_SHM_READER,
	FSC_SHM_WRITER
};

/* The default object directory (above) into buf. 0, or -ENAMETOOLONG / -EINVAL (FSC_DIR or
 * XDG_RUNTIME_DIR not an absolute canonical path, or too long). */
int fsc_shm_dir_default(char *buf, size_t size);

/* Is dir one of the default directories, /run/fsc or $XDG_RUNTIME_DIR/fsc (the ones fscd
 * makes itself when they are missing)? */
bool fsc_shm_dir_is_default(const char *dir);

/* Parses name (NULL: "default") into *a, taking the default directory for a plain name.
 * 0, or -EINVAL (not a valid name or address) / -ENAMETOOLONG. */
int fsc_shm_addr_parse(const char *name, struct fsc_shm_addr *a);

/* "DIR/NAME" of name into buf: the absolute address every later step uses (a reader keeps
 * it, so that re-attaching looks in the same place even if the environment changes). */
int fsc_shm_addr_resolve(const char *name, char *buf, size_t size);
/* fsc_shm_addr_resolve with side's default directory. */
int fsc_shm_addr_resolve_for(const char *name, char *buf, size_t size, enum fsc_shm_side side);

/* Is dir an absolute canonical path of at most FSC_DIR_MAX bytes? */
int fsc_shm_dir_valid(const char *dir);

#endif
