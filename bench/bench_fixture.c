/* The lookup benchmark's fixture; see bench_fixture.h.
 *
 * Threads. The writer API is single-threaded (fsc_writer.h). This fixture calls every writer
 * function from the thread that calls setup and teardown, with one exception: a helper thread
 * calls fsc_writer_heartbeat() every 100 ms while the benchmarks run, because readers treat a
 * writer silent for 2 s as gone (FSC_UNAVAILABLE, and fsc_stat would quietly become stat(2)).
 * That is safe here only because fsc_writer_heartbeat() is a single relaxed atomic store of the
 * header's heartbeat word and no other writer operation runs between the end of setup and the
 * join in teardown. Setup and teardown must run on the same thread, which must live until
 * teardown: fsc_writer_open() locks the table's robust liveness mutex on the calling thread,
 * and readers see the writer as dead once that thread exits.
 */
#define _GNU_SOURCE
#include "bench_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_beat.h"
#include "fsc_writer.h"

#define BENCH_DIRS_DEFAULT  100
#define BENCH_FILES_DEFAULT 100
#define BENCH_ROOT_MAX	    160
#define BENCH_PATH_MAX	    256	       /* > root + "/dir-" + 20 digits + "/access-" + 20 + ".log" */
#define BENCH_BEAT_NS	    100000000L /* FSC_HEARTBEAT_INTERVAL_NS */

struct fsc_bench_fixture {
	size_t ndirs, per_dir, n;
	unsigned slot_size;
	char root[BENCH_ROOT_MAX];
	char table[80];
	char *arena;	   /* the 2 * n paths, packed */
	const char **hit;  /* n existing files, all in the table */
	const char **miss; /* n absent paths in the same directories, not in the table */
	size_t files_made; /* hit[0 .. files_made) exist on disk */
	size_t dirs_made;
	struct fsc_writer *writer;
	fsc_t *reader;
	bool beating;
	bool beat_stop;
	pthread_t beat_thread;
	pthread_mutex_t beat_lock;
	pthread_cond_t beat_cond;
	unsigned long long slot_count;
};

static void *beat_main(void *arg)
{
	struct fsc_bench_fixture *f = arg;
	pthread_mutex_lock(&f->beat_lock);
	while (!f->beat_stop) {
		/* the only writer call made off the setup thread; see the comment at the top */
		fsc_writer_heartbeat(f->writer);
		bench_beat_wait(&f->beat_cond, &f->beat_lock, BENCH_BEAT_NS);
	}
	pthread_mutex_unlock(&f->beat_lock);
	return NULL;
}

static int beat_start(struct fsc_bench_fixture *f)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->beat_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&f->beat_lock, NULL);
	f->beat_stop = false;
	int rc = pthread_create(&f->beat_thread, NULL, beat_main, f);
	if (rc) {
		pthread_cond_destroy(&f->beat_cond);
		pthread_mutex_destroy(&f->beat_lock);
		return -rc;
	}
	f->beating = true;
	return 0;
}

static void beat_stop(struct fsc_bench_fixture *f)
{
	if (!f->beating)
		return;
	pthread_mutex_lock(&f->beat_lock);
	f->beat_stop = true;
	pthread_cond_signal(&f->beat_cond);
	pthread_mutex_unlock(&f->beat_lock);
	pthread_join(f->beat_thread, NULL);
	pthread_cond_destroy(&f->beat_cond);
	pthread_mutex_destroy(&f->beat_lock);
	f->beating = false;
}

static void dir_path(const struct fsc_bench_fixture *f, size_t d, char *buf, size_t size)
{
	snprintf(buf, size, "%s/dir-%02zu", f->root, d);
}

/* Formats path i of one kind ("access" or "absent") into buf; returns its length. */
static size_t format_path(const struct fsc_bench_fixture *f, const char *kind, size_t i, char *buf)
{
	int n = snprintf(buf, BENCH_PATH_MAX, "%s/dir-%02zu/%s-%04zu.log", f->root, i / f->per_dir,
			 kind, i);
	return n < 0 ? 0 : (size_t)n;
}

/* Paths are packed back to back (each rounded up to 8 bytes: 48 for the usual 44-byte path),
 * hits first, then misses, the way a caller's own path strings would be: a padded layout
 * would let the benchmark's own data crowd the table's slots out of the L2 cache. */
static int make_paths(struct fsc_bench_fixture *f)
{
	char buf[BENCH_PATH_MAX];
	size_t total = 0;
	for (size_t i = 0; i < f->n; i++)
		total += ((format_path(f, "access", i, buf) + 8) & ~(size_t)7) +
			 ((format_path(f, "absent", i, buf) + 8) & ~(size_t)7);
	f->arena = aligned_alloc(64, (total + 63) & ~(size_t)63);
	f->hit = calloc(f->n, sizeof(*f->hit));
	f->miss = calloc(f->n, sizeof(*f->miss));
	if (!f->arena || !f->hit || !f->miss)
		return -ENOMEM;
	char *p = f->arena;
	for (int kind = 0; kind < 2; kind++) {
		for (size_t i = 0; i < f->n; i++) {
			size_t len = format_path(f, kind ? "absent" : "access", i, buf);
			size_t room = (len + 8) & ~(size_t)7;
			memset(p, 0, room);
			memcpy(p, buf, len);
			if (kind)
				f->miss[i] = p;
			else
				f->hit[i] = p;
			p += room;
		}
	}
	return 0;
}

static int make_tree(struct fsc_bench_fixture *f, const char **why)
{
	char dir[BENCH_PATH_MAX];
	for (size_t d = 0; d < f->ndirs; d++) {
		dir_path(f, d, dir, sizeof(dir));
		if (mkdir(dir, 0755) < 0) {
			*why = "cannot create a directory of the tree";
			return -errno;
		}
		f->dirs_made = d + 1;
	}
	char line[64];
	for (size_t i = 0; i < f->n; i++) {
		int fd = open(f->hit[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			*why = "cannot create a file of the tree";
			return -errno;
		}
		f->files_made = i + 1;
		/* sizes differ from file to file, so a record mixed up between paths shows */
		int len = snprintf(line, sizeof(line), "file %zu\n", i);
		ssize_t wr = write(fd, line, (size_t)len);
		int err = errno;
		close(fd);
		if (wr != len) {
			*why = "cannot write a file of the tree";
			return wr < 0 ? -err : -EIO;
		}
	}
	return 0;
}

static int publish(struct fsc_bench_fixture *f, const char **why)
{
	struct fsc_writer_opts wo = {
	    .name = f->table,
	    .capacity = f->n,
	    .group = (gid_t)-1,
	    /* fscd's default: the puts below leave one journal entry per path in it, which
	     * BM_fsc_journal_next reads (n entries of ~80 bytes fit without a lap) */
	    .journal_bytes = 4u << 20,
	};
	int rc = fsc_writer_open(&f->writer, &wo, why);
	if (rc) {
		f->writer = NULL;
		return rc;
	}
	for (size_t i = 0; i < f->n; i++) {
		struct stat st;
		if (stat(f->hit[i], &st) < 0) {
			*why = "cannot stat a file of the tree";
			return -errno;
		}
		rc = fsc_writer_put(f->writer, f->hit[i], strlen(f->hit[i]), &st, 0);
		if (rc) {
			*why = "fsc_writer_put refused a path of the tree";
			return rc;
		}
	}
	uint64_t entries = fsc_writer_header(f->writer)->counters[FSC_CTR_ENTRIES];
	if (entries != f->n) {
		*why = "the table holds fewer entries than were put (evictions?)";
		return -EPROTO;
	}
	f->slot_count = fsc_writer_layout(f->writer)->slot_count;
	f->slot_size = fsc_writer_layout(f->writer)->slot_size;
	fsc_writer_heartbeat(f->writer);
	return 0;
}

static bool same_record(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
	       a->st_nlink == b->st_nlink && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

size_t fsc_bench_check(const struct fsc_bench_fixture *f, int hits, size_t *first_bad, int *answer)
{
	size_t bad = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct stat st;
		struct fsc_info info;
		const char *p = hits ? f->hit[i] : f->miss[i];
		int r = fsc_lookup(f->reader, p, &st, &info);
		/* a hit must carry no flag, or fsc_stat would not answer it from the table */
		bool ok = hits ? r == FSC_HIT && info.flags == 0 : r == FSC_MISS;
		if (!ok && bad++ == 0) {
			if (first_bad)
				*first_bad = i;
			if (answer)
				*answer = r;
		}
	}
	return bad;
}

static int verify(struct fsc_bench_fixture *f, const char **why)
{
	size_t first = 0;
	int answer = 0;
	if (fsc_bench_check(f, 1, &first, &answer)) {
		fprintf(stderr, "fsc_bench: %s: %s, not hit\n", f->hit[first],
			fsc_result_name(answer));
		*why = "a path of the tree is not an FSC_HIT";
		return -EPROTO;
	}
	if (fsc_bench_check(f, 0, &first, &answer)) {
		fprintf(stderr, "fsc_bench: %s: %s, not miss\n", f->miss[first],
			fsc_result_name(answer));
		*why = "a miss path is not an FSC_MISS";
		return -EPROTO;
	}
	for (size_t i = 0; i < f->n; i++) {
		struct stat real, cached;
		if (stat(f->hit[i], &real) < 0 ||
		    fsc_lookup(f->reader, f->hit[i], &cached, NULL) != FSC_HIT ||
		    !same_record(&real, &cached)) {
			*why = "a cached record differs from stat(2)";
			return -EPROTO;
		}
		if (stat(f->miss[i], &real) == 0 || errno != ENOENT) {
			*why = "a miss path exists on disk";
			return -EEXIST;
		}
	}
	return 0;
}

int fsc_bench_fixture_setup(struct fsc_bench_fixture **out, const struct fsc_bench_opts *opts,
			    const char **why)
{
	*out = NULL;
	*why = NULL;
	struct fsc_bench_fixture *f = calloc(1, sizeof(*f));
	if (!f) {
		*why = "out of memory";
		return -1;
	}
	f->ndirs = opts && opts->ndirs ? opts->ndirs : BENCH_DIRS_DEFAULT;
	f->per_dir = opts && opts->files_per_dir ? opts->files_per_dir : BENCH_FILES_DEFAULT;
	f->n = f->ndirs * f->per_dir;
	f->slot_size = opts ? opts->slot_size : 0;
	const char *parent = opts && opts->parent ? opts->parent : getenv("TMPDIR");
	if (!parent || !*parent)
		parent = "/tmp";
	if (opts && opts->table)
		snprintf(f->table, sizeof(f->table), "%s", opts->table);
	else
		snprintf(f->table, sizeof(f->table), "fscbench.%d", (int)getpid());
	int n = snprintf(f->root, sizeof(f->root), "%s/fsc_bench_XXXXXX", parent);
	if (n < 0 || (size_t)n >= sizeof(f->root)) {
		free(f);
		*why = "parent directory name too long";
		return -1;
	}
	if (!mkdtemp(f->root)) {
		free(f);
		*why = "cannot create the temporary tree (mkdtemp)";
		return -1;
	}
	int rc = make_paths(f);
	if (rc)
		*why = "out of memory";
	if (!rc)
		rc = make_tree(f, why);
	if (!rc)
		rc = publish(f, why);
	if (!rc && !(f->reader = fsc_open(f->table))) {
		rc = -errno;
		*why = "fsc_open cannot attach to the table just published";
	}
	if (!rc && (rc = beat_start(f)) != 0)
		*why = "cannot start the heartbeat thread";
	if (!rc)
		rc = verify(f, why);
	if (rc) {
		int err = -rc;
		fsc_bench_fixture_teardown(f);
		errno = err;
		return -1;
	}
	*out = f;
	return 0;
}

void fsc_bench_fixture_teardown(struct fsc_bench_fixture *f)
{
	if (!f)
		return;
	beat_stop(f); /* before the writer goes: the thread uses it */
	fsc_close(f->reader);
	fsc_writer_close(f->writer); /* marks the table stopped and unlinks its name */
	for (size_t i = 0; i < f->files_made; i++)
		unlink(f->hit[i]);
	char dir[BENCH_PATH_MAX];
	for (size_t d = 0; d < f->dirs_made; d++) {
		dir_path(f, d, dir, sizeof(dir));
		rmdir(dir);
	}
	rmdir(f->root);
	free(f->hit);
	free(f->miss);
	free(f->arena);
	free(f);
}

size_t fsc_bench_count(const struct fsc_bench_fixture *f)
{
	return f->n;
}

const char *const *fsc_bench_hit_paths(const struct fsc_bench_fixture *f)
{
	return f->hit;
}

const char *const *fsc_bench_miss_paths(const struct fsc_bench_fixture *f)
{
	return f->miss;
}

fsc_t *fsc_bench_reader(const struct fsc_bench_fixture *f)
{
	return f->reader;
}

const char *fsc_bench_root(const struct fsc_bench_fixture *f)
{
	return f->root;
}

const char *fsc_bench_table(const struct fsc_bench_fixture *f)
{
	return f->table;
}

unsigned long long fsc_bench_slot_count(const struct fsc_bench_fixture *f)
{
	return f->slot_count;
}

unsigned fsc_bench_slot_size(const struct fsc_bench_fixture *f)
{
	return f->slot_size;
}
