/* Helpers shared by the tests: unique table names, temporary trees, waiting for fscd. */
#ifndef FSC_TEST_UTIL_H
#define FSC_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fsc_writer.h"

/* A table name unique to this process and call: "t<pid>_<tag>_<n>". */
void fsc_test_name(char *buf, size_t size, const char *tag);
/* Opens a writer on a fresh name with the given capacity; fails the test on error. */
struct fsc_writer *fsc_test_writer(const char *name, uint64_t capacity);
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
/* Counts (and with unlink_them removes) the /dev/shm objects of table name: the table and
 * its hint segments. */
int fsc_test_shm_leftovers(const char *name, bool unlink_them);

#endif
