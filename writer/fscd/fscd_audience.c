/* The table's audience and the directories it may search: see fscd_audience.h and
 * shm/PROTOCOL.md "Audience". */
#define _GNU_SOURCE
#include "fscd_audience.h"

#include <endian.h>
#include <errno.h>
#include <grp.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <xxhash.h>

#include "fscd_path.h"

#define FSCD_ACL_ENTRIES_MAX 256 /* a longer access ACL counts as not understood */

struct fscd_audience_dir {
	struct fscd_audience_dir *next;
	uint64_t hash;
	size_t len;
	char path[];
};

/* Is group gid the owner's own: root's group 0, or a user private group (named as the owner
 * and listing no other member)? Its members then are the owner alone, as far as fsc can tell. */
static bool group_is_owners(gid_t gid, uid_t owner)
{
	if (gid == 0)
		return true;
	struct passwd *pw = getpwuid(owner);
	char user[256];
	if (!pw || snprintf(user, sizeof(user), "%s", pw->pw_name) >= (int)sizeof(user))
		return false;
	struct group *gr = getgrgid(gid);
	if (!gr || strcmp(gr->gr_name, user) != 0)
		return false;
	for (char **m = gr->gr_mem; *m; m++)
		if (strcmp(*m, user) != 0)
			return false;
	return true;
}

static int owner_groups(struct fscd_audience *a)
{
	int n = getgroups(0, NULL);
	a->groups = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(gid_t));
	if (!a->groups)
		return -ENOMEM;
	a->groups[0] = getegid();
	n = n > 0 ? getgroups(n, a->groups + 1) : 0;
	a->ngroups = 1 + (size_t)(n > 0 ? n : 0);
	return 0;
}

int fscd_audience_init(struct fscd_audience *a, mode_t mode, gid_t group, uid_t euid)
{
	*a = (struct fscd_audience){.owner = euid};
	if (!mode)
		mode = 0640;
	a->gid = group == (gid_t)-1 ? getegid() : group;
	if (mode & S_IROTH)
		a->kind = FSCD_AUDIENCE_EVERYONE;
	else if ((mode & S_IRGRP) && !group_is_owners(a->gid, euid))
		a->kind = FSCD_AUDIENCE_GROUP;
	else
		a->kind = euid == 0 ? FSCD_AUDIENCE_ROOT : FSCD_AUDIENCE_USER;
	if (a->kind == FSCD_AUDIENCE_USER && owner_groups(a) < 0)
		return -ENOMEM;
	return 0;
}

void fscd_audience_free(struct fscd_audience *a)
{
	for (size_t i = 0; i < a->nbuckets; i++) {
		struct fscd_audience_dir *e = a->buckets[i];
		while (e) {
			struct fscd_audience_dir *next = e->next;
			free(e);
			e = next;
		}
	}
	free(a->buckets);
	free(a->groups);
	*a = (struct fscd_audience){0};
}

bool fscd_audience_filters(const struct fscd_audience *a)
{
	return a->kind != FSCD_AUDIENCE_ROOT;
}

void fscd_audience_describe(const struct fscd_audience *a, char *buf, size_t n)
{
	struct group *gr = a->kind == FSCD_AUDIENCE_GROUP ? getgrgid(a->gid) : NULL;
	switch (a->kind) {
	case FSCD_AUDIENCE_ROOT:
		snprintf(buf, n, "root only");
		break;
	case FSCD_AUDIENCE_USER:
		snprintf(buf, n, "uid %u only", (unsigned)a->owner);
		break;
	case FSCD_AUDIENCE_GROUP:
		if (gr)
			snprintf(buf, n, "the members of group %s", gr->gr_name);
		else
			snprintf(buf, n, "the members of group %u", (unsigned)a->gid);
		break;
	case FSCD_AUDIENCE_EVERYONE:
		snprintf(buf, n, "every user");
		break;
	}
}

/* Searchability */

/* One access-ACL entry, or one class of the mode bits (a directory without an ACL). */
struct acl_entry {
	unsigned tag, perm;
	uint32_t id;
};

/* dir's access ACL in v (at most FSCD_ACL_ENTRIES_MAX); 0 if it has none, -1 if it cannot be
 * read or understood. */
static int acl_read(const char *dir, struct acl_entry *v, size_t *n)
{
	unsigned char buf[sizeof(struct posix_acl_xattr_header) +
			  FSCD_ACL_ENTRIES_MAX * sizeof(struct posix_acl_xattr_entry)];
	ssize_t len = lgetxattr(dir, "system.posix_acl_access", buf, sizeof(buf));
	if (len < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
	struct posix_acl_xattr_header h;
	size_t esz = sizeof(struct posix_acl_xattr_entry);
	if ((size_t)len < sizeof(h) || ((size_t)len - sizeof(h)) % esz)
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (le32toh(h.a_version) != POSIX_ACL_XATTR_VERSION)
		return -1;
	*n = ((size_t)len - sizeof(h)) / esz;
	for (size_t i = 0; i < *n; i++) {
		struct posix_acl_xattr_entry e;
		memcpy(&e, buf + sizeof(h) + i * esz, esz);
		v[i] = (struct acl_entry){le16toh(e.e_tag), le16toh(e.e_perm), le32toh(e.e_id)};
	}
	return 1;
}

static bool in_groups(const struct fscd_audience *a, gid_t gid)
{
	for (size_t i = 0; i < a->ngroups; i++)
		if (a->groups[i] == gid)
			return true;
	return false;
}

/* USER: the kernel's own check for the owner (acl(5) "access check algorithm"). */
static bool user_can_search(const struct fscd_audience *a, const struct stat *st,
			    const struct acl_entry *v, size_t n)
{
	unsigned mask = ACL_EXECUTE, group_perm = 0;
	bool group_matched = false;
	if (st->st_uid == a->owner)
		return (st->st_mode & S_IXUSR) != 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].tag == ACL_MASK)
			mask = v[i].perm;
	for (size_t i = 0; i < n; i++)
		if (v[i].tag == ACL_USER && v[i].id == a->owner)
			return (v[i].perm & mask & ACL_EXECUTE) != 0;
	for (size_t i = 0; i < n; i++) {
		gid_t g = v[i].tag == ACL_GROUP_OBJ ? st->st_gid : (gid_t)v[i].id;
		if ((v[i].tag == ACL_GROUP_OBJ || v[i].tag == ACL_GROUP) && in_groups(a, g)) {
			group_matched = true;
			group_perm |= v[i].perm & mask;
		}
	}
	if (group_matched)
		return (group_perm & ACL_EXECUTE) != 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].tag == ACL_OTHER)
			return (v[i].perm & ACL_EXECUTE) != 0;
	return false;
}

/* GROUP and EVERYONE: conservative. Every entry that may apply to some member of the
 * audience must grant search, the mask included. Those that cannot: the owner's when the
 * directory belongs to root or to fscd's user (root searches anything; fscd's user is not
 * who the filter is for), a named user's likewise, and others' when the audience is the
 * group the directory belongs to (its members all match that group's entry). */
static bool audience_can_search(const struct fscd_audience *a, const struct stat *st,
				const struct acl_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool applies = true;
		switch (v[i].tag) {
		case ACL_USER_OBJ:
			applies = st->st_uid != 0 && st->st_uid != a->owner;
			break;
		case ACL_USER:
			applies = v[i].id != 0 && v[i].id != a->owner;
			break;
		case ACL_OTHER:
			applies = a->kind == FSCD_AUDIENCE_EVERYONE || st->st_gid != a->gid;
			break;
		case ACL_GROUP_OBJ:
		case ACL_GROUP:
		case ACL_MASK:
			break;
		default:
			return false; /* a tag fsc does not know: cannot decide */
		}
		if (applies && !(v[i].perm & ACL_EXECUTE))
			return false;
	}
	return true;
}

bool fscd_audience_can_search(const struct fscd_audience *a, const char *dir, const struct stat *st)
{
	if (a->kind == FSCD_AUDIENCE_ROOT)
		return true;
	if (!S_ISDIR(st->st_mode))
		return false;
	/* the mode bits as an ACL of three entries; with an ACL, the group bits are its mask
	 * (and the ACL's own entries are checked too) */
	struct acl_entry v[FSCD_ACL_ENTRIES_MAX + 3] = {
	    {ACL_USER_OBJ, (st->st_mode >> 6) & 7, 0},
	    {ACL_MASK, (st->st_mode >> 3) & 7, 0},
	    {ACL_OTHER, st->st_mode & 7, 0},
	};
	size_t n = 0;
	int acl = acl_read(dir, v + 3, &n);
	if (acl < 0)
		return false;
	if (acl == 0)
		v[1].tag = ACL_GROUP_OBJ; /* no ACL: the group bits are the group's */
	if (a->kind == FSCD_AUDIENCE_USER)
		return user_can_search(a, st, acl ? v + 3 : v, acl ? n : 3);
	return audience_can_search(a, st, v, 3 + n);
}

/* The set of unsearchable directories */

static uint64_t dir_hash(const struct fscd_audience *a, const char *path, size_t len)
{
	return XXH3_64bits_withSeed(path, len, a->seed);
}

static struct fscd_audience_dir **dir_slot(const struct fscd_audience *a, const char *path,
					   size_t len, uint64_t h)
{
	struct fscd_audience_dir **p = &a->buckets[h & (a->nbuckets - 1)];
	while (*p && !((*p)->hash == h && (*p)->len == len && memcmp((*p)->path, path, len) == 0))
		p = &(*p)->next;
	return p;
}

static void set_grow(struct fscd_audience *a)
{
	size_t n = a->nbuckets * 2;
	struct fscd_audience_dir **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < a->nbuckets; i++) {
		struct fscd_audience_dir *e = a->buckets[i];
		while (e) {
			struct fscd_audience_dir *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(a->buckets);
	a->buckets = b;
	a->nbuckets = n;
}

bool fscd_audience_set(struct fscd_audience *a, const char *dir, size_t len, bool searchable)
{
	if (!a->buckets && searchable)
		return true; /* nothing recorded yet */
	if (!a->buckets) {
		a->buckets = calloc(64, sizeof(*a->buckets));
		if (!a->buckets)
			return true;
		a->nbuckets = 64;
		a->seed = fscd_path_hash_seed();
	}
	uint64_t h = dir_hash(a, dir, len);
	struct fscd_audience_dir **p = dir_slot(a, dir, len, h);
	bool was = *p == NULL;
	if (searchable && *p) {
		struct fscd_audience_dir *e = *p;
		*p = e->next;
		free(e);
		a->count--;
	} else if (!searchable && !*p) {
		struct fscd_audience_dir *e = malloc(sizeof(*e) + len + 1);
		if (!e)
			return was; /* then it is shown: a visible failure (logged by no one) */
		e->next = NULL;
		e->hash = h;
		e->len = len;
		memcpy(e->path, dir, len);
		e->path[len] = '\0';
		*p = e;
		if (++a->count > 2 * a->nbuckets)
			set_grow(a);
	}
	return was;
}

bool fscd_audience_hidden_dir(const struct fscd_audience *a, const char *dir, size_t len)
{
	return a->count && *dir_slot(a, dir, len, dir_hash(a, dir, len)) != NULL;
}

void fscd_audience_forget_under(struct fscd_audience *a, const char *dir, size_t len)
{
	for (size_t i = 0; a->count && i < a->nbuckets; i++) {
		struct fscd_audience_dir **p = &a->buckets[i];
		while (*p) {
			struct fscd_audience_dir *e = *p;
			if (fscd_path_under(e->path, dir, len)) {
				*p = e->next;
				free(e);
				a->count--;
			} else {
				p = &e->next;
			}
		}
	}
}

bool fscd_audience_may_show(const struct fscd_audience *a, const char *path, size_t len)
{
	if (!a->count)
		return true; /* every directory fscd knows is searchable: the usual case */
	if (len > 1 && fscd_audience_hidden_dir(a, "/", 1))
		return false;
	/* every proper prefix ending before a '/': "/a", "/a/b", ... up to the parent */
	for (size_t i = 1; i < len; i++)
		if (path[i] == '/' && fscd_audience_hidden_dir(a, path, i))
			return false;
	return true;
}
