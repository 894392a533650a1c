/* Running the real fscd binary in tests (tests/harness/fsc_harness.h, with a failure of the
 * harness failing the test), and waiting for the table to agree with stat(). */
#ifndef FSC_TEST_FSCD_H
#define FSC_TEST_FSCD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fsc.h"
#include "fsc_shm_dir.h"

/* Starts fscd with argv (argv[0] ignored, NULL-terminated); its stderr goes to errfile if
 * not NULL. Returns the pid; fails the test if exec is impossible. */
pid_t fsc_test_fscd_start(const char *const *argv, const char *errfile);
/* Runs fscd to completion (20 s at most); returns its exit code, with what it printed on
 * stdout and stderr in *out and *err (static buffers, valid until the next call). */
int fsc_test_fscd_run(const char *const *argv, const char **out, const char **err);
/* Waits up to timeout_ms for fscd to exit; returns its wait status or -1 on timeout. */
int fsc_test_fscd_wait(pid_t pid, int timeout_ms);
/* SIGTERM, then reap (SIGKILL after 10 s); returns the wait status. */
int fsc_test_fscd_stop(pid_t pid);
/* Opens table name once a live table is published (up to timeout_ms); fails the test if not. */
fsc_t *fsc_test_open_when_live(const char *name, int timeout_ms);
/* Opens name once a live table whose generation is not not_gen serves a hit for probe. */
fsc_t *fsc_test_open_new_generation(const char *name, const char *probe, uint64_t not_gen,
				    int timeout_ms);

/* A real fscd serving a temporary tree, for the tests that drive the daemon. */
struct fsc_test_daemon {
	char name[FSC_ADDR_MAX + 1]; /* the table, or its "DIR/NAME" address */
	char *root;		     /* the watched tree, made empty by prepare */
	char errlog[160];	     /* fscd's stderr */
	pid_t fscd;
	fsc_t *c;	      /* a reader of the table, open once fscd serves */
	const char *extra[8]; /* more fscd arguments (NULL-terminated), set before start */
};
/* Names a table and makes an empty tree to watch (fill it before starting). */
void fsc_test_daemon_prepare(struct fsc_test_daemon *d, const char *tag);
/* Starts `fscd --name NAME --watch ROOT [extra...]`, logging to errlog, and opens a reader once
 * probe (a path in the tree) is served. */
void fsc_test_daemon_start(struct fsc_test_daemon *d, const char *probe, int timeout_ms);
/* Closes the reader, stops fscd and removes tree and log. Fails the test unless fscd exited
 * cleanly (status 0) and left no shared-memory object behind. */
void fsc_test_daemon_stop(struct fsc_test_daemon *d);

enum fsc_test_expect {
	FSC_EXPECT_STAT,
	FSC_EXPECT_NEGATIVE,
	FSC_EXPECT_MISS
};
/* Does fsc_lookup(path) agree with reality now? EXPECT_STAT: a hit equal to lstat();
 * NEGATIVE: lstat fails with ENOENT and the table says negative; MISS: not in the table. */
bool fsc_test_agrees(fsc_t *c, const char *path, enum fsc_test_expect e, char *why, size_t n);
/* Polls until every path agrees (generous timeout); fails the test naming the first that
 * does not. */
void fsc_test_wait_agree(fsc_t *c, const char *const *paths, enum fsc_test_expect e,
			 int timeout_ms);
/* A counter of the live table called name, read from its header (fails the test if none). */
uint64_t fsc_test_counter(const char *name, int counter);
/* The live table's non-zero counters as " name=value..." into buf, for failure messages
 * ("no table" if there is none). Returns buf. */
const char *fsc_test_counters_describe(const char *name, char *buf, size_t n);
/* Opens path with O_WRONLY | O_CREAT | flags (O_EXCL, O_APPEND, O_TRUNC...) and writes data
 * to it; fails the test on any error. */
void fsc_test_write_file(const char *path, const char *data, int flags);
/* Reads a whole small file into a static buffer (for checking logs). */
const char *fsc_test_read_file(const char *path);

#endif
