/* What dead writers of a table name left in its object directory: removed by the next writer before
 * it creates anything (shm/PROTOCOL.md "Leftovers"). Only private names are unlinked: a build
 * object or journal whose writer is gone, and hint segments no table being served or built
 * uses. Public names are never unlinked here; a publication renames over them. */
#define _GNU_SOURCE
#include "fsc_writer_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEFTOVER_KEEP_MAX 64 /* generations of tables being built or served, kept */

enum leftover_kind {
	LEFTOVER_NONE,
	LEFTOVER_BUILD,	       /* fsc.<name>.new.<pid>.<random hex> */
	LEFTOVER_HINTS,	       /* fsc.<name>.hints.<generation hex> */
	LEFTOVER_JOURNAL_BUILD /* fsc-journal.<name>.new.<pid>.<random hex> */
};

struct leftover_scan {
	int dirfd;
	const char *name;
	uint64_t keep[LEFTOVER_KEEP_MAX]; /* generations whose hint segments stay */
	size_t nkeep;
	uint64_t count, bytes;
};

/* s is 1-16 digits (base 10) or hex digits (base 16) and nothing else: no sign, no 0x. */
static bool leftover_number(const char *s, int base, uint64_t *v)
{
	if (!*s || strlen(s) > 16)
		return false;
	for (const char *c = s; *c; c++)
		if (!(*c >= '0' && *c <= '9') &&
		    !(base == 16 && ((*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F'))))
			return false;
	char *end;
	errno = 0;
	*v = strtoull(s, &end, base);
	return !errno && !*end;
}

static const char *leftover_after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* s is "<pid>.<hex>" (or, with tail_optional, "<pid>": an older journal's build name); the
 * hex part is random, or a decimal serial in older writers' names. */
static bool leftover_pid_tail(const char *s, bool tail_optional, uint64_t *pid)
{
	const char *dot = strchr(s, '.');
	if (!dot)
		return tail_optional && leftover_number(s, 10, pid);
	uint64_t tail;
	char digits[24];
	if ((size_t)(dot - s) >= sizeof(digits) || !leftover_number(dot + 1, 16, &tail))
		return false;
	memcpy(digits, s, (size_t)(dot - s));
	digits[dot - s] = '\0';
	return leftover_number(digits, 10, pid);
}

/* Which kind of leftover entry could be, for table name (*num: the pid or generation). */
static enum leftover_kind leftover_classify(const char *entry, const char *name, uint64_t *num)
{
	char prefix[FSC_SHM_OBJECT_NAME_MAX + 32];
	snprintf(prefix, sizeof(prefix), FSC_SHM_PREFIX "%s.", name);
	const char *rest = leftover_after(entry, prefix), *p;
	if (rest && (p = leftover_after(rest, "new.")))
		return leftover_pid_tail(p, false, num) ? LEFTOVER_BUILD : LEFTOVER_NONE;
	if (rest && (p = leftover_after(rest, "hints.")))
		return leftover_number(p, 16, num) ? LEFTOVER_HINTS : LEFTOVER_NONE;
	snprintf(prefix, sizeof(prefix), FSC_JOURNAL_PREFIX "%s.new.", name);
	if ((p = leftover_after(entry, prefix)))
		return leftover_pid_tail(p, true, num) ? LEFTOVER_JOURNAL_BUILD : LEFTOVER_NONE;
	return LEFTOVER_NONE;
}

/* A pid whose objects are leftovers: this process (called before it creates any, so they are
 * an earlier image's, before a restart in place) or no process at all. */
static bool leftover_pid_gone(uint64_t pid)
{
	if (pid == 0 || pid > INT32_MAX)
		return false;
	return (pid_t)pid == getpid() || (kill((pid_t)pid, 0) < 0 && errno == ESRCH);
}

/* One object looked at: regular (else nothing below is set), whose owner, and its first len
 * bytes if it has them and they can be read. */
struct leftover_obj {
	struct stat st;
	bool regular, ours;
	const void *head;
	size_t len;
};

static void leftover_open(int dirfd, const char *entry, size_t len, struct leftover_obj *o)
{
	*o = (struct leftover_obj){.len = len};
	int fd = openat(dirfd, entry, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &o->st) == 0 && S_ISREG(o->st.st_mode)) {
		o->regular = true;
		o->ours = o->st.st_uid == geteuid();
		void *p = (uint64_t)o->st.st_size < len
			      ? MAP_FAILED
			      : mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		o->head = p == MAP_FAILED ? NULL : p;
	}
	close(fd);
}

static void leftover_close(struct leftover_obj *o)
{
	if (o->head)
		munmap((void *)o->head, o->len);
	o->head = NULL;
}

/* Unlinks entry if it is still the object o describes, a regular file of this euid. */
static void leftover_remove(struct leftover_scan *s, const char *entry,
			    const struct leftover_obj *o)
{
	struct stat now;
	if (!o->ours || fstatat(s->dirfd, entry, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
	    now.st_dev != o->st.st_dev || now.st_ino != o->st.st_ino || !S_ISREG(now.st_mode) ||
	    now.st_uid != geteuid())
		return;
	if (unlinkat(s->dirfd, entry, 0) == 0) {
		s->count++;
		s->bytes += (uint64_t)now.st_size;
	}
}

static void leftover_keep(struct leftover_scan *s, uint64_t generation)
{
	if (s->nkeep < LEFTOVER_KEEP_MAX)
		s->keep[s->nkeep++] = generation;
}

static const struct fsc_shm_header *leftover_table(const struct leftover_obj *o)
{
	const struct fsc_shm_header *h = o->head;
	return h && h->magic == FSC_SHM_MAGIC ? h : NULL;
}

/* A table being built: removed if its writer is gone. The robust liveness lock says so for
 * certain once taken (OWNER_DIED: its thread ended; a live owner: kept, whatever the name
 * says); before that only the pid in the name can. */
static void leftover_build(struct leftover_scan *s, const char *entry, uint64_t pid)
{
	struct leftover_obj o;
	leftover_open(s->dirfd, entry, sizeof(struct fsc_shm_header), &o);
	const struct fsc_shm_header *h = leftover_table(&o);
	uint32_t word =
	    h ? atomic_load_explicit((const _Atomic uint32_t *)(const void *)h->liveness_mutex,
				     memory_order_relaxed)
	      : 0;
	bool gone =
	    (word & FUTEX_OWNER_DIED) || (!(word & FUTEX_TID_MASK) && leftover_pid_gone(pid));
	if (gone)
		leftover_remove(s, entry, &o);
	else if (h)
		leftover_keep(s, h->generation);
	leftover_close(&o);
}

/* A hint segment: removed unless a table kept (built or published) has its generation. A
 * table someone named "<name>.hints.<hex>" starts with the table magic: not a segment. */
static void leftover_hints(struct leftover_scan *s, const char *entry, uint64_t generation)
{
	for (size_t i = 0; i < s->nkeep; i++)
		if (s->keep[i] == generation)
			return;
	if (s->nkeep == LEFTOVER_KEEP_MAX)
		return; /* too many tables being built to be sure of any */
	struct leftover_obj o;
	leftover_open(s->dirfd, entry, sizeof(uint64_t), &o);
	if (o.regular && !leftover_table(&o))
		leftover_remove(s, entry, &o);
	leftover_close(&o);
}

/* A journal being built: removed if its writer (the header's, else the name's) is gone. */
static void leftover_journal_build(struct leftover_scan *s, const char *entry, uint64_t pid)
{
	struct leftover_obj o;
	leftover_open(s->dirfd, entry, sizeof(struct fsc_journal_header), &o);
	const struct fsc_journal_header *h = o.head;
	if (h && h->magic == FSC_JOURNAL_MAGIC)
		pid = h->writer_pid;
	if (o.regular && leftover_pid_gone(pid))
		leftover_remove(s, entry, &o);
	leftover_close(&o);
}

/* The table published at the name: its hint segment stays. */
static void leftover_keep_published(struct leftover_scan *s)
{
	char entry[FSC_SHM_OBJECT_NAME_MAX];
	snprintf(entry, sizeof(entry), FSC_SHM_PREFIX "%s", s->name);
	struct leftover_obj o;
	leftover_open(s->dirfd, entry, sizeof(struct fsc_shm_header), &o);
	const struct fsc_shm_header *h = leftover_table(&o);
	if (h)
		leftover_keep(s, h->generation);
	leftover_close(&o);
}

struct leftover_entry {
	char *name;
	enum leftover_kind kind;
	uint64_t num;
};

/* The entries of the directory that could be leftovers of name, in *v (*n of them). */
static int leftover_list(struct leftover_scan *s, struct leftover_entry **v, size_t *n)
{
	int fd = dup(s->dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	size_t cap = 0;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		uint64_t num;
		enum leftover_kind k = leftover_classify(e->d_name, s->name, &num);
		if (k == LEFTOVER_NONE)
			continue;
		if (*n == cap) {
			struct leftover_entry *nv = realloc(*v, (cap = cap * 2 + 16) * sizeof(**v));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			*v = nv;
		}
		(*v)[*n] = (struct leftover_entry){strdup(e->d_name), k, num};
		rc = (*v)[*n].name ? 0 : -ENOMEM;
		*n += (*v)[*n].name != NULL;
	}
	closedir(d);
	return rc;
}

/* Tables being built are judged first, then the published one is read: a build published in
 * between is then found at the name, so the hint segment of every table kept is known before
 * any segment is judged. */
static void leftover_judge(struct leftover_scan *s, struct leftover_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == LEFTOVER_BUILD)
			leftover_build(s, v[i].name, v[i].num);
	leftover_keep_published(s);
	for (size_t i = 0; i < n; i++) {
		if (v[i].kind == LEFTOVER_HINTS)
			leftover_hints(s, v[i].name, v[i].num);
		else if (v[i].kind == LEFTOVER_JOURNAL_BUILD)
			leftover_journal_build(s, v[i].name, v[i].num);
	}
}

int fsc_writer_remove_leftovers(const char *name, uint64_t *count, uint64_t *bytes)
{
	*count = *bytes = 0;
	struct fsc_shm_addr a;
	if (fsc_shm_addr_parse(name, &a))
		return -EINVAL;
	/* entries are matched by the name proper, in the address's directory */
	struct leftover_scan s = {.name = a.base};
	s.dirfd = open(a.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (s.dirfd < 0)
		return -errno;
	struct leftover_entry *v = NULL;
	size_t n = 0;
	int rc = leftover_list(&s, &v, &n);
	if (rc == 0)
		leftover_judge(&s, v, n);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	close(s.dirfd);
	*count = s.count;
	*bytes = s.bytes;
	return rc;
}
