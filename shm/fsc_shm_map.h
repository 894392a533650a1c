/* Mapping a published object for reading: the one place that opens a table, journal or
 * hit-hint object on the read side. Readers (libfsc), tools, benchmarks and tests all attach
 * through these functions, so the checks an object must pass before anything in it is believed
 * are written once: shm/PROTOCOL.md, "Attaching", lists them. Nothing here stores into an
 * object. */
#ifndef FSC_SHM_MAP_H
#define FSC_SHM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fsc_shm_journal.h"
#include "fsc_shm_table.h"

/* Whose objects a reader believes (PROTOCOL.md "Trust"): root's, its own effective uid's, and
 * those of the uids listed here. Anything owned by another uid is refused at attach. */
#define FSC_TRUST_UIDS_MAX 8
struct fsc_shm_trust {
	unsigned n;
	uid_t uids[FSC_TRUST_UIDS_MAX];
};

/* The environment variable that adds trusted uids (numbers or user names, comma-separated);
 * read with secure_getenv, so a set-id program ignores it. */
#define FSC_TRUST_ENV "FSC_TRUSTED_UIDS"

/* Adds the uids in list ("uid[,uid...]", numbers or user names) to *t. 0, or -EINVAL (an
 * unknown user, a malformed number) or -E2BIG (more than FSC_TRUST_UIDS_MAX in all). */
int fsc_shm_trust_add(struct fsc_shm_trust *t, const char *list);
/* *t = the uids FSC_TRUST_ENV names (none if unset). 0, or -EINVAL/-E2BIG: a broken variable
 * is an error, never silently "trust nobody more" or "trust everyone". */
int fsc_shm_trust_from_env(struct fsc_shm_trust *t);
/* May an object owned by uid be believed? Root, the effective uid, or one listed in t.
 * t NULL means the process's default: those FSC_TRUST_ENV names. */
bool fsc_shm_trust_owner(const struct fsc_shm_trust *t, uid_t uid);

/* One mapping of a whole object. */
struct fsc_shm_mapping {
	void *base;  /* the mapping, or NULL */
	size_t size; /* the object's size when it was mapped (fstat) */
};

/* Opens directory dir (absolute) for openat, component by component, never following a
 * symlink, and checks each (PROTOCOL.md "Attaching"): every directory on the way must be owned
 * by a trusted uid (fsc_shm_trust_owner) and be writable by nobody else unless it is sticky;
 * dir itself must be writable by nobody but its owner. A descriptor (O_PATH), or -EPERM
 * (untrusted owner) / -EPROTO (writable by others, not a directory) with *why, or -errno. */
int fsc_shm_dir_open(const char *dir, const struct fsc_shm_trust *trust, const char **why);

/* Maps object `object` (a path from fsc_shm_object_name and friends, such as
 * "/run/fsc/fsc.default") read-only, in full, after checking its directory
 * (fsc_shm_dir_open). The open never blocks (O_NONBLOCK: a FIFO squatted at the name is
 * refused, not waited on) and never follows a symlink. Refused with *why set: -EPERM for an object
 * whose owner trust does not accept (fsc_shm_trust_owner; NULL: root, the effective uid,
 * FSC_TRUST_ENV); -EPROTO for anything but a regular object, an object its group or others may
 * write, one smaller than min_size bytes (or empty). Otherwise 0 with *out filled, or -errno of the
 * failed call (-ENOENT: nothing at that name). For a raw view of an object that has no
 * validating helper (tests read a hint segment this way). */
int fsc_shm_map_object(const char *object, uint64_t min_size, const struct fsc_shm_trust *trust,
		       struct fsc_shm_mapping *out, const char **why);

/* The checks of fsc_shm_map_object without the mapping: *fd is left open on the object (for
 * a tool that reads it by descriptor, e.g. lseek SEEK_DATA) and *st is its fstat. Same
 * results; *fd is -1 on failure. */
struct stat;
int fsc_shm_open_object(const char *object, uint64_t min_size, const struct fsc_shm_trust *trust,
			int *fd, struct stat *st, const char **why);

/* The table published under table_name: mapped, and its header validated into *layout
 * (fsc_shm_header_validate). 0, -EINVAL (bad name), -EPERM / -EPROTO with *why, or -errno. */
int fsc_shm_map_table(const char *table_name, const struct fsc_shm_trust *trust,
		      struct fsc_shm_mapping *out, struct fsc_shm_layout *layout, const char **why);

/* The change journal of table_name, validated into *layout (fsc_shm_journal_validate). */
int fsc_shm_map_journal(const char *table_name, const struct fsc_shm_trust *trust,
			struct fsc_shm_mapping *out, struct fsc_journal_layout *layout,
			const char **why);

/* The writable hit-hint segment of the table with layout l, mapped read-write: used only if
 * the reader's own effective uid owns it, nobody else may open it (mode & 077 == 0) and it is
 * exactly slot_count bytes. Anyone who could write it could truncate it, and a hit on a
 * truncated mapping is a SIGBUS. 0, or -errno / -EPROTO (then hits just do not inform CLOCK). */
int fsc_shm_map_hints(const char *table_name, const struct fsc_shm_layout *l,
		      struct fsc_shm_mapping *out);

/* Unmaps (a no-op on an empty mapping) and empties *m. */
void fsc_shm_unmap(struct fsc_shm_mapping *m);

#endif
