/* Mapping published objects for reading: see fsc_shm_map.h. */
#define _GNU_SOURCE
#include "fsc_shm_map.h"

#include "fsc_shm_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum map_access {
	MAP_READ_ONLY,
	MAP_READ_WRITE
};

/* May a directory on the way to the objects be believed? Its owner must be trusted: an owner
 * can rename or replace what is in it. An ancestor may be writable by others only if it is
 * sticky (as /dev/shm and /tmp are: others may add names there but not move ours); the object
 * directory itself may not be writable by anyone but its owner at all, or anyone could take a
 * table's name in it before fscd (PROTOCOL.md "Trust"). */
static int dir_check(const struct stat *st, bool is_object_dir, const struct fsc_shm_trust *trust,
		     const char **why)
{
	*why = NULL;
	if (!S_ISDIR(st->st_mode))
		*why = "not a directory";
	else if (!fsc_shm_trust_owner(trust, st->st_uid)) {
		*why = "a directory on the way is owned by a user this reader does not trust (not "
		       "root, not itself, not in FSC_TRUSTED_UIDS)";
		return -EPERM;
	} else if (!(st->st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	else if (is_object_dir)
		*why = "the directory is writable by its group or others (anyone could take a "
		       "table's name in it first); fsc objects need a directory only fscd's user "
		       "can write";
	else if (!(st->st_mode & S_ISVTX))
		*why = "a directory on the way is writable by its group or others and not sticky "
		       "(anyone could replace what lies below it)";
	return *why ? -EPROTO : 0;
}

int fsc_shm_dir_open(const char *dir, const struct fsc_shm_trust *trust, const char **why)
{
	*why = NULL;
	if (fsc_shm_dir_valid(dir) != 0) {
		*why = "not an absolute path without '.', '..' or '//'";
		return -EINVAL;
	}
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* one component at a time, never following a symlink, each checked by fstat of the
	 * descriptor we will open the next one from: nothing can be swapped in between */
	for (const char *p = dir;;) {
		struct stat st;
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		int rc = dir_check(&st, len == 0, trust, why);
		if (rc) {
			close(fd);
			return rc;
		}
		if (len == 0)
			return fd;
		char comp[256];
		if (len >= sizeof(comp)) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (next < 0) {
			if (e == ENOTDIR || e == ELOOP)
				*why = "a path component is a symlink or not a directory (give the "
				       "real path)";
			return -e;
		}
		fd = next;
	}
}

/* Opens object path (a directory's path, '/', a name) without blocking or following links,
 * after checking the directory (fsc_shm_dir_open), and fstat()s it. 0 or -errno (*why may
 * say why); *fd open on 0. */
static int open_checked(const char *object, enum map_access access,
			const struct fsc_shm_trust *trust, int *fd, struct stat *st,
			const char **why)
{
	const char *slash = strrchr(object, '/');
	char dir[FSC_DIR_MAX + 1];
	*why = NULL;
	if (!slash || (size_t)(slash - object) > FSC_DIR_MAX || !slash[1])
		return -EINVAL;
	size_t dlen = slash == object ? 1 : (size_t)(slash - object);
	memcpy(dir, object, dlen);
	dir[dlen] = '\0';
	int dfd = fsc_shm_dir_open(dir, trust, why);
	if (dfd < 0)
		return dfd;
	int oflag =
	    (access == MAP_READ_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	*fd = openat(dfd, slash + 1, oflag);
	int e = errno;
	close(dfd);
	if (*fd < 0)
		return -e;
	if (fstat(*fd, st) < 0) {
		e = errno;
		close(*fd);
		return -e;
	}
	return 0;
}

static int map_fd(int fd, size_t size, enum map_access access, struct fsc_shm_mapping *out)
{
	int prot = access == MAP_READ_WRITE ? PROT_READ | PROT_WRITE : PROT_READ;
	void *base = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);
	if (base == MAP_FAILED)
		return -e;
	*out = (struct fsc_shm_mapping){.base = base, .size = size};
	return 0;
}

/* One uid, by number or by user name. */
static int trust_parse_one(const char *word, uid_t *uid)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(word, &end, 10);
	if (word[0] >= '0' && word[0] <= '9') {
		if (errno || *end || v >= (uid_t)-1)
			return -EINVAL;
		*uid = (uid_t)v;
		return 0;
	}
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (getpwnam_r(word, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return -EINVAL;
	*uid = found->pw_uid;
	return 0;
}

int fsc_shm_trust_add(struct fsc_shm_trust *t, const char *list)
{
	char word[256];
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof(word))
			return -EINVAL;
		memcpy(word, p, n);
		word[n] = '\0';
		if (t->n >= FSC_TRUST_UIDS_MAX)
			return -E2BIG;
		int rc = trust_parse_one(word, &t->uids[t->n]);
		if (rc)
			return rc;
		t->n++;
		p += n;
		if (*p == ',' && !*++p)
			return -EINVAL; /* a trailing comma */
	}
	return 0;
}

int fsc_shm_trust_from_env(struct fsc_shm_trust *t)
{
	const char *list = secure_getenv(FSC_TRUST_ENV);
	t->n = 0;
	return list && *list ? fsc_shm_trust_add(t, list) : 0;
}

bool fsc_shm_trust_owner(const struct fsc_shm_trust *t, uid_t uid)
{
	if (uid == 0 || uid == geteuid())
		return true;
	struct fsc_shm_trust from_env;
	if (!t) /* a broken variable trusts nobody more */
		t = fsc_shm_trust_from_env(&from_env) == 0 ? &from_env : NULL;
	for (unsigned i = 0; t && i < t->n; i++)
		if (t->uids[i] == uid)
			return true;
	return false;
}

/* The checks of fsc_shm_open_object, saying too_small when the object is under min_size. */
static int open_trusted(const char *object, uint64_t min_size, const char *too_small,
			const struct fsc_shm_trust *trust, int *fd, struct stat *st,
			const char **why)
{
	int rc = open_checked(object, MAP_READ_ONLY, trust, fd, st, why);
	if (rc)
		return rc;
	/* Whoever may write the object may forge its records or truncate it under a reader
	 * (SIGBUS): only a trusted owner, and nobody else, may be able to write it. */
	if (!fsc_shm_trust_owner(trust, st->st_uid)) {
		*why = "owned by a user this reader does not trust (not root, not itself, not in "
		       "FSC_TRUSTED_UIDS)";
		rc = -EPERM;
	} else if (!S_ISREG(st->st_mode))
		*why = "not a regular file";
	else if (st->st_mode & S_IWOTH)
		*why = "world-writable (anyone could rewrite or truncate it; readers refuse it)";
	else if (st->st_mode & S_IWGRP)
		*why = "group-writable (its group could rewrite or truncate it; readers refuse it)";
	else if ((uint64_t)st->st_size < min_size || st->st_size <= 0)
		*why = too_small;
	if (*why) {
		close(*fd);
		*fd = -1;
		return rc ? rc : -EPROTO;
	}
	return 0;
}

int fsc_shm_open_object(const char *object, uint64_t min_size, const struct fsc_shm_trust *trust,
			int *fd, struct stat *st, const char **why)
{
	return open_trusted(object, min_size,
			    "smaller than expected (truncated, or not an fsc object)", trust, fd,
			    st, why);
}

/* fsc_shm_map_object, saying too_small when the object is smaller than min_size. */
static int map_checked(const char *object, uint64_t min_size, const char *too_small,
		       const struct fsc_shm_trust *trust, struct fsc_shm_mapping *out,
		       const char **why)
{
	int fd;
	struct stat st;
	*out = (struct fsc_shm_mapping){0};
	int rc = open_trusted(object, min_size, too_small, trust, &fd, &st, why);
	if (rc)
		return rc;
	return map_fd(fd, (size_t)st.st_size, MAP_READ_ONLY, out);
}

int fsc_shm_map_object(const char *object, uint64_t min_size, const struct fsc_shm_trust *trust,
		       struct fsc_shm_mapping *out, const char **why)
{
	return map_checked(object, min_size,
			   "smaller than expected (truncated, or not an fsc object)", trust, out,
			   why);
}

int fsc_shm_map_table(const char *table_name, const struct fsc_shm_trust *trust,
		      struct fsc_shm_mapping *out, struct fsc_shm_layout *layout, const char **why)
{
	char object[FSC_SHM_OBJECT_NAME_MAX];
	*out = (struct fsc_shm_mapping){0};
	*why = NULL;
	if (fsc_shm_object_name(object, sizeof(object), table_name)) {
		*why = "invalid table name (use 1-64 of [A-Za-z0-9._-], not starting with '.', or "
		       "an absolute DIR/NAME)";
		return -EINVAL;
	}
	int rc = map_checked(object, sizeof(struct fsc_shm_header),
			     "object smaller than a table header (truncated or not an fsc table)",
			     trust, out, why);
	if (rc)
		return rc;
	rc = fsc_shm_header_validate(out->base, out->size, layout, why);
	if (rc)
		fsc_shm_unmap(out);
	return rc;
}

int fsc_shm_map_journal(const char *table_name, const struct fsc_shm_trust *trust,
			struct fsc_shm_mapping *out, struct fsc_journal_layout *layout,
			const char **why)
{
	char object[FSC_SHM_OBJECT_NAME_MAX + 16];
	*out = (struct fsc_shm_mapping){0};
	*why = NULL;
	if (fsc_shm_journal_name(object, sizeof(object), table_name)) {
		*why = "invalid table name";
		return -EINVAL;
	}
	int rc =
	    map_checked(object, sizeof(struct fsc_journal_header),
			"object smaller than a journal header (truncated or not an fsc journal)",
			trust, out, why);
	if (rc)
		return rc;
	rc = fsc_shm_journal_validate(out->base, out->size, layout, why);
	if (rc)
		fsc_shm_unmap(out);
	return rc;
}

int fsc_shm_map_hints(const char *table_name, const struct fsc_shm_layout *l,
		      struct fsc_shm_mapping *out)
{
	char object[FSC_SHM_OBJECT_NAME_MAX];
	int fd;
	struct stat st;
	*out = (struct fsc_shm_mapping){0};
	const char *why;
	if (fsc_shm_hints_name(object, sizeof(object), table_name, l->generation))
		return -EINVAL;
	int rc = open_checked(object, MAP_READ_WRITE, NULL, &fd, &st, &why);
	if (rc)
		return rc; /* no write permission is fine: hits just do not inform eviction */
	/* Only a segment owned by our own user: our own user could kill us anyway; another
	 * (even when we are root and may open it) must not be able to. */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    (uint64_t)st.st_size != l->slot_count) {
		close(fd);
		return -EPROTO;
	}
	return map_fd(fd, (size_t)st.st_size, MAP_READ_WRITE, out);
}

void fsc_shm_unmap(struct fsc_shm_mapping *m)
{
	if (m->base)
		munmap(m->base, m->size);
	*m = (struct fsc_shm_mapping){0};
}
