/* fsc-wait internals: the paths waited for and the check of one path (fsc_wait_check.c). */
#ifndef FSC_WAIT_H
#define FSC_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fsc.h"

struct fsc_wait_path {
	const char *arg; /* as given on the command line */
	char *path;	 /* absolute and canonical, as fscd keys it */
	bool done;
	bool busy;		 /* the lease probe found a writer holding it open */
	uint64_t last_change_ns; /* CLOCK_REALTIME of the last journal entry seen for it */
	uint64_t quiet_until_ns; /* CLOCK_REALTIME at which --quiet will have passed */
	struct stat st;		 /* what made it complete (not with --gone) */
};

enum fsc_wait_state {
	FSC_WAIT_DONE,	  /* complete (or, with --gone, gone) */
	FSC_WAIT_PENDING, /* absent, not a regular file, or being written: wait for the journal */
	FSC_WAIT_BUSY,	  /* a writer holds it open with no write seen lately: probe again */
	FSC_WAIT_QUIET,	  /* complete but changed within --quiet: look again at quiet_until_ns */
};

/* What the lease probe says: a writer has the file open, nobody does, or it cannot tell. */
enum fsc_wait_lease {
	FSC_LEASE_FREE,
	FSC_LEASE_BUSY,
	FSC_LEASE_UNKNOWN, /* not permitted (another user's file, no CAP_LEASE), unsupported */
	FSC_LEASE_GONE,	   /* the path no longer exists */
};

/* Tries a read lease (F_SETLEASE F_RDLCK) on path and drops it at once: the kernel grants it
 * only if no one has the file open for writing (a writable mmap counts). */
enum fsc_wait_lease fsc_wait_lease_probe(const char *path);

/* Looks at p now: the table's record (no syscall), then for a candidate the lease probe.
 * gone: waiting for p to disappear. quiet_ns: --quiet. now_ns: CLOCK_REALTIME. */
enum fsc_wait_state fsc_wait_check(fsc_t *c, struct fsc_wait_path *p, bool gone, uint64_t quiet_ns,
				   uint64_t now_ns);

#endif
