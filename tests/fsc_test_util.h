/* Helpers shared by the tests: unique table names, writers and their eviction logs, temporary
 * trees and paths in them, comparing fsc_stat with stat(2), waiting for fscd. */
#ifndef FSC_TEST_UTIL_H
#define FSC_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fsc.h"
#include "fsc_writer.h"

/* A table name unique to this process and call: "t<pid>_<tag>_<n>". */
void fsc_test_name(char *buf, size_t size, const char *tag);
/* Opens a writer on a fresh name with the given capacity; fails the test on error. */
struct fsc_writer *fsc_test_writer(const char *name, uint64_t capacity);
/* Opens a writer with options o (name and capacity at least; .group = (gid_t)-1 for none);
 * fails the test on error. */
struct fsc_writer *fsc_test_writer_with(const struct fsc_writer_opts *o);

/* The keys a writer evicted, in order: pass fsc_test_evlog_add as on_evict, the log as
 * evict_ctx. n counts every eviction; the first FSC_TEST_EVLOG_MAX paths are kept. */
#define FSC_TEST_EVLOG_MAX 1024
struct fsc_test_evlog {
	int n;
	char paths[FSC_TEST_EVLOG_MAX][32];
};
void fsc_test_evlog_add(void *evlog, const char *path, size_t len);
/* Was path among the evictions kept? */
bool fsc_test_evlog_has(const struct fsc_test_evlog *ev, const char *path);
/* Opens a writer on a fresh name with the given capacity whose evictions go to ev. */
struct fsc_writer *fsc_test_writer_evlog(const char *name, uint64_t capacity,
					 struct fsc_test_evlog *ev);
/* A fake but self-consistent stat record derived from (id, version). */
void fsc_test_fake_stat(struct stat *st, uint64_t id, uint64_t version);
/* True if every field of a record built by fsc_test_fake_stat agrees with one (id, v). */
bool fsc_test_fake_stat_consistent(const struct stat *st, uint64_t id);
/* mkdtemp under /tmp; returns malloc'd path. */
char *fsc_test_tmpdir(const char *tag);
/* rm -rf of a test directory. */
void fsc_test_rmtree(const char *path);
/* Compares the fields fsc caches; on mismatch fills why and returns false. */
bool fsc_test_stat_equal(const struct stat *a, const struct stat *b, const char **why);
uint64_t fsc_test_now_ms(void);
void fsc_test_pause_ms(int ms);
/* root/rel ("" is root itself), in one of 16 rotating static buffers: valid for the next 15
 * calls. */
const char *fsc_test_path(const char *root, const char *rel);
/* One entry of a test tree: a directory where data is NULL, else a file holding data. */
struct fsc_test_entry {
	const char *rel;
	const char *data;
};
/* Makes the entries below root in order, up to one whose rel is NULL (each must be new);
 * fails the test on error. */
void fsc_test_tree_make(const char *root, const struct fsc_test_entry *entries);
/* Waits (up to timeout_ms each) until a marker file created now under root is served, then a
 * second one: fscd reads every queued event before it publishes a pass, so by then every
 * event queued before the call has been handled in full (a miss after it is a decision, not
 * a delay). */
void fsc_test_settle(fsc_t *c, const char *root, int timeout_ms);
struct fsc_test_daemon;
/* For a prepared daemon (fsc_test_daemon_prepare, extra set): makes the tree below d->root,
 * then fsc_test_daemon_start(d) waiting (up to timeout_ms) until root/probe is served. */
void fsc_test_tree_serve(struct fsc_test_daemon *d, const struct fsc_test_entry *tree,
			 const char *probe, int timeout_ms);
/* Runs fscd with argv to completion and fails the test unless it exits 2 (a usage or config
 * error) with message in its stderr and nothing on stdout. */
void fsc_test_usage_error(const char *const *argv, const char *message);
/* Fails the test unless fsc_stat(path) answers exactly what stat(2) answers: the same result,
 * the same errno, the same cached fields. */
void fsc_test_assert_stat_is_stat(fsc_t *c, const char *path);
/* Counts (and with unlink_them removes) the objects of table name in its directory: the table and
 * its hint segments. */
int fsc_test_shm_leftovers(const char *name, bool unlink_them);

#endif
