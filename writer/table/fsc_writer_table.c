/* Table objects: create, publish by rename, retire, stop. The writer half of the life cycle
 * described in shm/PROTOCOL.md ("Publication and replacement"). */
#define _GNU_SOURCE
#include "fsc_writer_internal.h"

#include "fsc_shm_map.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((struct fsc_shm_header *)0)->liveness_mutex),
	       "liveness mutex fits its header field");
/* Readers load the futex word as the first 4 bytes of the mutex (fsc_shm_writer_alive) */
_Static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0, "glibc futex word at offset 0");

uint64_t fsc_writer_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Object names are paths in the table's object directory (fsc_shm_dir.h), checked by
 * fsc_writer_create before anything is made there. */
int fsc_wobject_rename(const char *from_object, const char *to_object)
{
	return rename(from_object, to_object) < 0 ? -errno : 0;
}

bool fsc_wobject_is(const char *object, dev_t dev, ino_t ino)
{
	struct stat st;
	return lstat(object, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void *fsc_wobject_create(const char *oname, size_t size, mode_t mode, gid_t group, struct stat *st,
			 const char **why)
{
	int fd = open(oname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		*why = errno == EEXIST ? "an object with the new table's name already exists"
				       : "cannot create the object in the object directory";
		return NULL;
	}
	void *p = NULL;
	int err = 0;
	if (fchmod(fd, mode) < 0 || (group != (gid_t)-1 && fchown(fd, (uid_t)-1, group) < 0)) {
		err = errno;
		*why = "cannot set the shm object's mode or group";
	} else if ((err = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		*why = err == ENOSPC ? "the object directory's filesystem is full: free space "
				       "or lower --capacity"
				     : "cannot allocate the shm object";
	} else if (fstat(fd, st) < 0) {
		err = errno;
		*why = "cannot stat the shm object";
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			err = errno;
			p = NULL;
			*why = "cannot map the shm object";
		}
	}
	close(fd);
	if (!p) {
		unlink(oname);
		errno = err;
	}
	return p;
}

#define PRIVATE_NAME_TRIES 8

int fsc_writer_random64(uint64_t *out)
{
	*out = 0;
	while (*out == 0) {
		ssize_t n = getrandom(out, sizeof(*out), 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n != (ssize_t)sizeof(*out))
			*out = 0; /* interrupted or short: draw again */
	}
	return 0;
}

void *fsc_wobject_create_private(char *oname, size_t oname_size, const char *public_name,
				 size_t size, mode_t mode, gid_t group, struct stat *st,
				 const char **why)
{
	for (int i = 0; i < PRIVATE_NAME_TRIES; i++) {
		/* random, not a serial: a predictable name (pid and counter) lets another user
		 * create an object there first and so stop every start and reload (EEXIST) */
		uint64_t r;
		int rc = fsc_writer_random64(&r);
		if (rc) {
			*why = "cannot get random bytes for a private shm object name";
			errno = -rc;
			return NULL;
		}
		int len = snprintf(oname, oname_size, "%s.new.%d.%016" PRIx64, public_name,
				   (int)getpid(), r);
		if (len < 0 || (size_t)len >= oname_size) {
			*why = "shm object name too long";
			errno = ENAMETOOLONG;
			return NULL;
		}
		void *p = fsc_wobject_create(oname, size, mode, group, st, why);
		if (p || errno != EEXIST)
			return p;
	}
	*why = "every private name tried for a new object was taken (someone creates objects in "
	       "the object directory to block fscd?)";
	errno = EEXIST;
	return NULL;
}

static void hints_create(struct fsc_writer *w, struct fsc_wtable *t)
{
	/* Owner only: whoever may write the segment may also ftruncate it, and a reader or
	 * writer touching a truncated mapping dies of SIGBUS. Readers map hints only when they
	 * run as the same user (reader/fsc_attach.c), who could harm this process anyway. */
	mode_t mode = 0600;
	struct stat st;
	const char *why;
	fsc_shm_hints_name(t->hints_name, sizeof(t->hints_name), w->name, t->layout.generation);
	unlink(t->hints_name); /* a leftover of a crashed writer with this generation */
	t->hints =
	    fsc_wobject_create(t->hints_name, t->layout.slot_count, mode, w->opts.group, &st, &why);
	if (!t->hints)
		t->hints_name[0] = '\0'; /* CLOCK then degrades to FIFO; lookups are unaffected */
}

static void liveness_lock(struct fsc_shm_header *h)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	/* robust: the kernel marks the futex word OWNER_DIED when this thread exits, however */
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_t *m = (pthread_mutex_t *)(void *)h->liveness_mutex;
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	pthread_mutex_lock(m);
}

static void liveness_unlock(struct fsc_shm_header *h)
{
	/* Unlocking takes the mutex off this thread's robust list before the memory is
	 * unmapped; a list entry in unmapped memory would stop the kernel's walk at exit. */
	pthread_mutex_unlock((pthread_mutex_t *)(void *)h->liveness_mutex);
}

int fsc_wtable_create(struct fsc_writer *w, uint64_t capacity, const struct fsc_wtable *prev,
		      struct fsc_wtable *t, const char **why)
{
	uint64_t slot_count, size;
	int rc = fsc_shm_geometry(capacity, w->opts.slot_size, &slot_count, &size, why);
	if (rc)
		return rc;
	size += fsc_wserved_size(w); /* the served region, after the slots */
	uint32_t max_probe = w->opts.max_probe ? w->opts.max_probe : FSC_MAX_PROBE_DEFAULT;
	if (max_probe > slot_count)
		max_probe = (uint32_t)slot_count;
	char tmp[FSC_SHM_OBJECT_NAME_MAX + 32];
	struct stat st;
	memset(t, 0, sizeof(*t));
	struct fsc_shm_header *h = fsc_wobject_create_private(
	    tmp, sizeof(tmp), w->object_name, size, w->opts.mode, w->opts.group, &st, why);
	if (!h)
		return -errno;
	uint64_t seed = 0;
	if (prev && prev->layout.slot_count == slot_count) {
		/* Compaction keeps the seed: every key keeps its home and lands at or before its
		 * old slot, so the CLOCK hand (carried over) visits no key earlier than it would
		 * have. A fresh seed would scatter keys and let the hand come back to a key whose
		 * hint it has just cleared before any reader could hit it again. */
		seed = prev->layout.hash_seed;
	} else if (fsc_writer_random64(&seed)) {
		seed = realtime_ns() ^ ((uint64_t)getpid() << 32);
	}
	uint64_t gen = realtime_ns();
	if (prev && gen <= prev->layout.generation)
		gen = prev->layout.generation + 1;
	/* Plain stores: nobody can see the object until it is renamed to the public name. */
	h->magic = FSC_SHM_MAGIC;
	h->abi_version = FSC_SHM_ABI_VERSION;
	h->header_size = sizeof(*h);
	h->object_size = size;
	h->slots_offset = sizeof(*h);
	h->slot_count = slot_count;
	h->slot_size = w->opts.slot_size;
	h->max_probe = max_probe;
	h->capacity = capacity;
	h->hash_seed = seed;
	h->generation = gen;
	h->created_realtime_ns = realtime_ns();
	h->heartbeat_interval_ns = FSC_HEARTBEAT_INTERVAL_NS;
	h->writer_timeout_ns = FSC_WRITER_TIMEOUT_NS;
	h->writer_pid = (uint32_t)getpid();
	h->journal_id = fsc_wjournal_id(w->journal);
	h->request_nonce = w->opts.request_nonce; /* the same in every table: the socket stays */
	fsc_wserved_store(w, h);
	atomic_store_explicit(&h->heartbeat_ns, fsc_writer_now_ns(), memory_order_relaxed);
	liveness_lock(h);
	t->hdr = h;
	t->size = size;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	fsc_shm_header_validate(h, size, &t->layout, why);
	hints_create(w, t);
	/* remember the temporary name until publication */
	char *tmpname = strdup(tmp);
	if (!tmpname) {
		fsc_wtable_unmap(t);
		unlink(tmp);
		*why = "out of memory";
		return -ENOMEM;
	}
	t->tmp_name = tmpname;
	return 0;
}

/* Marks the table behind fd retired, if it is a valid fsc table other than ours. */
static void retire_object(struct fsc_writer *w, int fd, const struct fsc_wtable *ours)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || (st.st_dev == ours->dev && st.st_ino == ours->ino) ||
	    (uint64_t)st.st_size < sizeof(struct fsc_shm_header))
		return;
	struct fsc_shm_header *h =
	    mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return;
	if (h->magic == FSC_SHM_MAGIC && h->abi_version == FSC_SHM_ABI_VERSION) {
		/* release: a reader that sees RETIRED re-opens the name and must find the
		 * successor; the rename() that published it came before this store */
		atomic_store_explicit(&h->state, FSC_TABLE_RETIRED, memory_order_release);
		/* a writer that died left its hint segment behind; readers mapping it keep it */
		char hints[FSC_SHM_OBJECT_NAME_MAX];
		if (fsc_shm_hints_name(hints, sizeof(hints), w->name, h->generation) == 0 &&
		    strcmp(hints, ours->hints_name) != 0)
			unlink(hints);
	}
	munmap(h, sizeof(*h));
}

int fsc_wtable_publish(struct fsc_writer *w, struct fsc_wtable *t, const char **why)
{
	/* hold the previous table (if any) open across the rename, to retire exactly it */
	int prev = open(w->object_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
	/* release: every slot and header store made while building happens-before a reader's
	 * acquire load of LIVE (readers check state on every lookup) */
	atomic_store_explicit(&t->hdr->state, FSC_TABLE_LIVE, memory_order_release);
	/* rename() moves the name to the new object atomically: a reader opening it gets the old
	 * table or the new one, never neither. The old object lives on for readers that still
	 * map it. */
	int err = -fsc_wobject_rename(t->tmp_name, w->object_name);
	if (err) {
		*why = err == EPERM || err == EACCES
			   ? "cannot publish over the table there (owned by another user?)"
			   : "cannot publish the table";
		if (prev >= 0)
			close(prev);
		return -err;
	}
	free(t->tmp_name);
	t->tmp_name = NULL;
	if (prev >= 0) {
		retire_object(w, prev, t);
		close(prev);
	}
	return 0;
}

void fsc_wtable_set_state(struct fsc_wtable *t, enum fsc_table_state s)
{
	/* release: pairs with the readers' acquire load of state */
	atomic_store_explicit(&t->hdr->state, s, memory_order_release);
}

void fsc_wtable_unmap(struct fsc_wtable *t)
{
	if (t->hdr) {
		liveness_unlock(t->hdr);
		munmap(t->hdr, t->size);
		t->hdr = NULL;
	}
	if (t->hints) {
		munmap((void *)t->hints, t->layout.slot_count);
		t->hints = NULL;
	}
	if (t->hints_name[0])
		unlink(t->hints_name);
	t->hints_name[0] = '\0';
	if (t->tmp_name) {
		unlink(t->tmp_name);
		free(t->tmp_name);
		t->tmp_name = NULL;
	}
}

bool fsc_writer_owns_name(struct fsc_writer *w)
{
	return fsc_wobject_is(w->object_name, w->t.dev, w->t.ino);
}

int fsc_wdir_prepare(const char *name, char *addr, size_t size, const char **why)
{
	struct fsc_shm_addr a;
	if (fsc_shm_addr_resolve_for(name, addr, size, FSC_SHM_WRITER) ||
	    fsc_shm_addr_parse(addr, &a)) {
		*why =
		    "invalid table name (use 1-64 of [A-Za-z0-9._-], not starting with '.', or an "
		    "absolute DIR/NAME whose DIR is at most 160 bytes)";
		return -EINVAL;
	}
	/* 0755: readers of every user the table's mode admits must be able to reach it; the
	 * table's own mode says who may open it */
	if (fsc_shm_dir_is_default(a.dir) && mkdir(a.dir, 0755) < 0 && errno != EEXIST) {
		*why = "cannot create the object directory (run as root, or create it owned by "
		       "fscd's user with mode 0755, or set FSC_DIR)";
		return -errno;
	}
	/* only root or this user may own the directory (and those above it), and nobody else
	 * may write it: the checks readers make (PROTOCOL.md "Trust"), so that what fscd
	 * publishes there is what readers will believe, and nobody can take its names first */
	struct fsc_shm_trust self = {0};
	int fd = fsc_shm_dir_open(a.dir, &self, why);
	if (fd < 0) {
		if (!*why)
			*why = fd == -ENOENT
				   ? "the object directory does not exist (create it owned "
				     "by fscd's user, mode 0755)"
				   : "cannot open the object directory";
		return fd;
	}
	close(fd);
	return 0;
}

int fsc_writer_open(struct fsc_writer **out, const struct fsc_writer_opts *opts, const char **why)
{
	struct fsc_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		*why = "out of memory";
		return -ENOMEM;
	}
	w->opts = *opts;
	if (!w->opts.name)
		w->opts.name = "default";
	if (!w->opts.slot_size)
		w->opts.slot_size = FSC_SLOT_SIZE_DEFAULT;
	if (!w->opts.mode)
		w->opts.mode = 0640;
	if (w->opts.mode & 0022) {
		free(w);
		*why = "a table its group or others may write would let them forge records or "
		       "truncate it under readers (who refuse it): drop g+w and o+w from the mode";
		return -EINVAL;
	}
	int rc = fsc_wdir_prepare(w->opts.name, w->name, sizeof(w->name), why);
	if (rc == 0 && fsc_shm_object_name(w->object_name, sizeof(w->object_name), w->name))
		rc = -EINVAL;
	if (rc) {
		free(w);
		return rc;
	}
	w->opts.name = w->name;
	rc = fsc_wtable_create(w, w->opts.capacity, NULL, &w->t, why);
	/* The journal after the table, and optional: where the directory has room for only one, the
	 * table (every lookup) matters more than the journal (readers of it then see ENOENT
	 * and look at every file, as they would without fsc) */
	if (rc == 0 && w->opts.journal_bytes) {
		if (fsc_wjournal_create(w, w->opts.journal_bytes, &w->journal_error) == 0)
			w->t.hdr->journal_id = fsc_wjournal_id(w->journal); /* still private */
	}
	if (rc == 0 && !w->opts.defer_publish)
		rc = fsc_writer_publish(w, why);
	if (rc) {
		fsc_wtable_unmap(&w->t);
		fsc_wjournal_close(w, true);
		free(w);
		return rc;
	}
	w->compact_at_tombstones = w->t.layout.slot_count / 4;
	*out = w;
	return 0;
}

int fsc_writer_publish(struct fsc_writer *w, const char **why)
{
	if (!w->t.tmp_name)
		return 0;
	int rc = fsc_wjournal_publish(w, why); /* first: the table names it */
	return rc ? rc : fsc_wtable_publish(w, &w->t, why);
}

static void writer_free(struct fsc_writer *w, enum fsc_table_state final, bool unlink_name)
{
	bool ours = fsc_writer_owns_name(w);
	/* a table another writer has taken over stays RETIRED: its readers must move on */
	fsc_wtable_set_state(&w->t, ours ? final : FSC_TABLE_RETIRED);
	if (ours && unlink_name)
		unlink(w->object_name);
	/* a journal published for a table that never was (its rename failed) names nothing:
	 * removed too, if it is still at the name */
	fsc_wjournal_close(w, unlink_name && (ours || w->t.tmp_name));
	fsc_wtable_unmap(&w->t);
	free(w);
}

void fsc_writer_close(struct fsc_writer *w)
{
	if (w)
		writer_free(w, FSC_TABLE_STOPPED, true);
}

void fsc_writer_abandon(struct fsc_writer *w)
{
	if (w)
		writer_free(w, FSC_TABLE_RETIRED, false);
}

void fsc_writer_journal_wake(struct fsc_writer *w)
{
	fsc_wjournal_wake(w->journal);
}

void fsc_writer_heartbeat(struct fsc_writer *w)
{
	/* relaxed: a liveness hint only; readers order nothing on it */
	atomic_store_explicit(&w->t.hdr->heartbeat_ns, fsc_writer_now_ns(), memory_order_relaxed);
}

int fsc_writer_replace(struct fsc_writer *w, uint64_t capacity, const char **why)
{
	struct fsc_wtable next;
	int rc = fsc_wtable_create(w, capacity, &w->t, &next, why);
	if (rc)
		return rc;
	fsc_wtable_copy_entries(w, &w->t, &next);
	/* the hand's position carries over: restarting it at 0 on every compaction would sweep
	 * the same slots again and again and take second chances away from hot entries there */
	next.clock_hand = w->t.clock_hand & next.layout.mask;
	/* a table still being built stays private: its replacement is published later */
	rc = w->t.tmp_name ? 0 : fsc_wtable_publish(w, &next, why);
	if (rc) {
		fsc_wtable_unmap(&next);
		return rc;
	}
	fsc_wtable_set_state(&w->t, FSC_TABLE_RETIRED);
	fsc_wtable_unmap(&w->t);
	w->t = next;
	fsc_writer_count(w, FSC_CTR_REBUILDS, 1); /* "rebuilds": replacements published */
	w->compact_at_tombstones = w->t.layout.slot_count / 4;
	return 0;
}

void fsc_writer_compact_if_needed(struct fsc_writer *w)
{
	uint64_t tombstones =
	    atomic_load_explicit(&w->t.hdr->counters[FSC_CTR_TOMBSTONES], memory_order_relaxed);
	if (tombstones < w->compact_at_tombstones)
		return;
	uint64_t now = fsc_writer_now_ns();
	if (now < w->compact_retry_ns)
		return;
	const char *why;
	if (fsc_writer_replace(w, w->t.layout.capacity, &why) != 0) {
		/* e.g. the object directory full: keep serving with long chains (answers stay
		 * right, misses get slower) and try again in a second, however many tombstones come
		 * meanwhile */
		w->compact_retry_ns = now + 1000000000ull;
		w->last_error = why;
		fsc_writer_count(w, FSC_CTR_REBUILD_FAILURES, 1);
	}
}

const char *fsc_writer_journal_error(const struct fsc_writer *w)
{
	return w->journal ? NULL : w->journal_error;
}

const char *fsc_writer_last_error(const struct fsc_writer *w)
{
	return w->last_error;
}

const struct fsc_shm_header *fsc_writer_header(const struct fsc_writer *w)
{
	return w->t.hdr;
}

const struct fsc_shm_layout *fsc_writer_layout(const struct fsc_writer *w)
{
	return &w->t.layout;
}
