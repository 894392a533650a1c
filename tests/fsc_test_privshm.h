/* Scenarios that fill the object directory, run where that cannot hurt: a forked child
 * unshares its mount namespace, mounts a small tmpfs of its own over this test's object
 * directory (FSC_DIR), and re-executes the test program with the scenario's name, so fscd and
 * the reader checks share that directory while readers elsewhere see another one. The child
 * reports through its exit status (77: it cannot be set up here, and the test is skipped). */
#ifndef FSC_TEST_PRIVSHM_H
#define FSC_TEST_PRIVSHM_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <setjmp.h>

#include <cmocka.h>

struct fsc_test_privshm {
	const char *name;	/* the scenario's */
	const char *tmpfs_size; /* mount's size=, e.g. "1m" */
	CMUnitTestFunction fn;	/* runs inside the namespace */
};

/* The object directory the scenarios fill (FSC_DIR). */
const char *fsc_test_privshm_dir(void);
/* From main: if argv asks for a scenario (the child's re-execution), runs it here, in the
 * namespace, and returns the program's exit status; else returns -1. Refuses (2) to run on
 * anything but a small private tmpfs. */
int fsc_test_privshm_dispatch(int argc, char **argv, const struct fsc_test_privshm *all, size_t n);
/* From a test: runs scenario name in a private namespace; fails the test if it fails or
 * takes longer than timeout_ms, skips it if it cannot be set up (or the caller is not root). */
void fsc_test_privshm_run(const struct fsc_test_privshm *all, size_t n, const char *name,
			  int timeout_ms);

#endif
