/* Which fscd fsc-watch reads (see fsc_watch_fscd.h). */
#define _GNU_SOURCE
#include "fsc_watch_fscd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FSC_WATCH_FSCD_START_MS 120000 /* its first scan of a large tree may take a while */

int fsc_watch_fscd_attach(struct fsc_private_fscd *f, const struct fsc_watch_opts *o)
{
	*f = (struct fsc_private_fscd){
	    .tool = "fsc-watch", .env = "FSC_WATCH_FSCD", .verbose = o->verbose};
	const char *const *paths = (const char *const *)o->paths;
	if (!o->private_fscd) {
		const char *name = o->name ? o->name : "default", *missed = NULL;
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->c = fsc_open(name);
		const char *why = f->c ? NULL : strerror(errno);
		if (f->c && fsc_private_fscd_serves(f->c, paths, o->npaths, &missed, &why)) {
			if (o->verbose)
				fprintf(stderr, "fsc-watch: reading the journal of table %s\n",
					name);
			return 0;
		}
		if (!missed)
			missed = o->paths[0];
		if (o->name) {
			fprintf(stderr,
				"fsc-watch: table %s does not serve %s (%s); start fscd --name %s "
				"--watch on it, or leave --name out\n",
				name, missed, why, name);
			fsc_close(f->c);
			f->c = NULL;
			return FSC_WATCH_EXIT_PATH;
		}
		if (o->verbose)
			fprintf(stderr, "fsc-watch: table %s does not serve %s (%s)\n", name,
				missed, why);
		fsc_close(f->c);
		f->c = NULL;
	}
	if (fsc_private_fscd_start(f, paths, o->npaths, 0) != 0)
		return FSC_WATCH_EXIT_FAIL;
	if (fsc_private_fscd_wait(f, FSC_WATCH_FSCD_START_MS) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		fprintf(stderr,
			"fsc-watch: the private fscd did not publish its table within %d s (a very "
			"large tree?); giving up\n",
			FSC_WATCH_FSCD_START_MS / 1000);
	return FSC_WATCH_EXIT_FAIL;
}
