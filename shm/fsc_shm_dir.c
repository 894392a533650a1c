/* Table addresses and the default object directory: see fsc_shm_dir.h. */
#define _GNU_SOURCE
#include "fsc_shm_dir.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsc_shm_table.h"

int fsc_shm_dir_valid(const char *dir)
{
	size_t n = strlen(dir);
	if (dir[0] != '/' || n > FSC_DIR_MAX)
		return n > FSC_DIR_MAX ? -ENAMETOOLONG : -EINVAL;
	if (n == 1)
		return 0; /* "/" itself */
	if (dir[n - 1] == '/')
		return -EINVAL;
	for (const char *p = dir; *p; p++) {
		if (*p != '/')
			continue;
		/* the component after this '/' must not be empty, "." or ".." */
		const char *c = p + 1;
		size_t len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
	}
	return 0;
}

static int copy_dir(char *buf, size_t size, const char *dir)
{
	int rc = fsc_shm_dir_valid(dir);
	if (rc)
		return rc;
	if (strlen(dir) >= size)
		return -ENAMETOOLONG;
	strcpy(buf, dir);
	return 0;
}

/* $XDG_RUNTIME_DIR/fsc into user, if the variable is set and the result valid. */
static bool user_dir(char *user, size_t size)
{
	const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
	return xdg && *xdg && snprintf(user, size, "%s" FSC_DIR_USER_SUB, xdg) < (int)size &&
	       fsc_shm_dir_valid(user) == 0;
}

static int dir_default(char *buf, size_t size, enum fsc_shm_side side)
{
	const char *env = secure_getenv(FSC_DIR_ENV);
	if (env && *env)
		return copy_dir(buf, size, env);
	char user[FSC_DIR_MAX + 8];
	struct stat st;
	if (geteuid() == 0 || !user_dir(user, sizeof(user)))
		return copy_dir(buf, size, FSC_DIR_SYSTEM);
	if (side == FSC_SHM_READER) /* a per-user fscd made it: that user's own table */
		return copy_dir(buf, size,
				lstat(user, &st) == 0 && S_ISDIR(st.st_mode) ? user
									     : FSC_DIR_SYSTEM);
	/* fscd as a service user that owns /run/fsc (systemd's RuntimeDirectory= with User=)
	 * publishes there; any other user in its own runtime directory */
	bool system_ours =
	    lstat(FSC_DIR_SYSTEM, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid();
	return copy_dir(buf, size, system_ours ? FSC_DIR_SYSTEM : user);
}

bool fsc_shm_dir_is_default(const char *dir)
{
	char user[FSC_DIR_MAX + 8];
	return strcmp(dir, FSC_DIR_SYSTEM) == 0 ||
	       (user_dir(user, sizeof(user)) && strcmp(dir, user) == 0);
}

int fsc_shm_dir_default(char *buf, size_t size)
{
	return dir_default(buf, size, FSC_SHM_READER);
}

static int addr_parse(const char *name, struct fsc_shm_addr *a, enum fsc_shm_side side)
{
	if (!name)
		name = "default";
	const char *slash = strrchr(name, '/');
	if (!slash) {
		if (!fsc_shm_name_valid(name))
			return -EINVAL;
		strcpy(a->base, name);
		return dir_default(a->dir, sizeof(a->dir), side);
	}
	if (name[0] != '/' || !fsc_shm_name_valid(slash + 1))
		return -EINVAL;
	size_t dlen = (size_t)(slash - name);
	if (dlen > FSC_DIR_MAX)
		return -ENAMETOOLONG;
	if (dlen == 0) /* "/NAME": the root directory */
		dlen = 1;
	memcpy(a->dir, name, dlen);
	a->dir[dlen] = '\0';
	strcpy(a->base, slash + 1);
	return fsc_shm_dir_valid(a->dir);
}

int fsc_shm_addr_parse(const char *name, struct fsc_shm_addr *a)
{
	return addr_parse(name, a, FSC_SHM_READER);
}

int fsc_shm_addr_resolve_for(const char *name, char *buf, size_t size, enum fsc_shm_side side)
{
	struct fsc_shm_addr a;
	int rc = addr_parse(name, &a, side);
	if (rc)
		return rc;
	int n = snprintf(buf, size, "%s%s%s", a.dir, strcmp(a.dir, "/") ? "/" : "", a.base);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int fsc_shm_addr_resolve(const char *name, char *buf, size_t size)
{
	return fsc_shm_addr_resolve_for(name, buf, size, FSC_SHM_READER);
}
