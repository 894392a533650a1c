/* fsc-wait internals: the paths waited for, the check of one path (fsc_wait_check.c) and the
 * table read (fsc_wait_fscd.c). */
#ifndef FSC_WAIT_H
#define FSC_WAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fsc.h"
#include "fsc_private_fscd.h"

/* Exit statuses (--help lists them). */
#define FSC_WAIT_EXIT_OK	 0
#define FSC_WAIT_EXIT_TIMEOUT	 1
#define FSC_WAIT_EXIT_USAGE	 2
#define FSC_WAIT_EXIT_NOT_SERVED 3 /* --name's table does not serve a PATH */
#define FSC_WAIT_EXIT_ERROR	 4

struct fsc_wait_path {
	const char *arg; /* as given on the command line */
	char *path;	 /* absolute and canonical, as fscd keys it */
	bool done;
	bool behind;		 /* the table's record is older than the file (fscd is behind) */
	uint64_t last_change_ns; /* CLOCK_REALTIME of the last journal entry seen for it */
	uint64_t quiet_until_ns; /* CLOCK_REALTIME at which --quiet will have passed */
	struct stat st;		 /* what made it complete (not with --gone) */
};

enum fsc_wait_state {
	FSC_WAIT_DONE,	  /* complete (or, with --gone, gone) */
	FSC_WAIT_PENDING, /* absent, not a regular file, or being written: wait for the journal */
	FSC_WAIT_BUSY,	  /* a writer holds it open, or fscd has not caught up: probe again */
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
 * only if no one has the file open for writing (a writable mmap counts). *st: the file as
 * opened (fstat), unless GONE. */
enum fsc_wait_lease fsc_wait_lease_probe(const char *path, struct stat *st);

/* Looks at p now: the table's record (no syscall), then for a candidate the lease probe.
 * gone: waiting for p to disappear. quiet_ns: --quiet. now_ns: CLOCK_REALTIME. */
enum fsc_wait_state fsc_wait_check(fsc_t *c, struct fsc_wait_path *p, bool gone, uint64_t quiet_ns,
				   uint64_t now_ns);

/* The table to read for paths into f (f->c, f->name): name's, which must serve them all
 * (name NULL: "default" if it does), else a private fscd watching their directories, started
 * now and waited for up to timeout_ms (< 0: its own limit). 0, or an exit status after saying
 * why on stderr. */
int fsc_wait_fscd_attach(struct fsc_private_fscd *f, const char *name, bool verbose,
			 const struct fsc_wait_path *paths, int npaths, long timeout_ms);

#endif
