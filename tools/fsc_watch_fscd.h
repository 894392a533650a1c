/* Which fscd fsc-watch reads: the shared one that serves every watched path, or a private
 * one it starts as its child (fsc_private_fscd.h: the binary from $FSC_WATCH_FSCD, a table
 * name "fsc-watch.<pid>.<16 random hex>"), stopped at exit with fsc_private_fscd_stop. */
#ifndef FSC_WATCH_FSCD_H
#define FSC_WATCH_FSCD_H

#include "fsc_private_fscd.h"
#include "fsc_watch_opts.h"

/* Finds the fscd to read for o's paths: --name's table (which must serve them all), or
 * "default" if it serves them, else a private fscd started now and waited for until its
 * table is published (its first scan done). f->c reads it, f->name names it. 0, or an exit
 * status after saying why on stderr (FSC_WATCH_EXIT_PATH: --name does not serve a path;
 * FSC_WATCH_EXIT_FAIL: fscd could not be started or failed). */
int fsc_watch_fscd_attach(struct fsc_private_fscd *f, const struct fsc_watch_opts *o);

#endif
