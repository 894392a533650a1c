/* fsc-wait's table: --name's, which must serve every PATH; else "default" if it does; else a
 * private fscd (fsc_private_fscd.h) watching the PATHs' directories. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsc_wait.h"

#define FSC_WAIT_FSCD_START_MS 120000 /* its first scan of a large directory may take a while */

/* Is path root itself or below it? */
static bool fsc_wait_under(const char *path, const char *root)
{
	size_t n = strlen(root);
	if (strcmp(root, "/") == 0)
		return true;
	return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The directory to watch for path: its parent, or the nearest ancestor that exists (the
 * PATH and the directories to it may not exist yet). Malloc'd, or NULL. */
static char *fsc_wait_watch_dir(const char *path)
{
	char *dir = strdup(path);
	struct stat st;
	while (dir) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir) {
			strcpy(dir, "/");
			return dir;
		}
		*slash = '\0';
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			return dir;
	}
	return NULL;
}

/* The roots for paths: their directories, none below another. *depth: the --max-depth that
 * reaches every path from its root (levels below it). NULL when out of memory. */
static char **fsc_wait_roots(const struct fsc_wait_path *paths, int npaths, size_t *nroots,
			     int *depth)
{
	char **dirs = calloc((size_t)npaths, sizeof(*dirs));
	*nroots = 0;
	*depth = 1;
	for (int i = 0; dirs && i < npaths; i++)
		if (!(dirs[i] = fsc_wait_watch_dir(paths[i].path)))
			goto fail;
	bool *inside = dirs ? calloc((size_t)npaths, sizeof(*inside)) : NULL;
	if (!inside)
		goto fail;
	/* below another's directory, or the same as an earlier one */
	for (int i = 0; i < npaths; i++)
		for (int k = 0; k < npaths && !inside[i]; k++)
			inside[i] = k != i && fsc_wait_under(dirs[i], dirs[k]) &&
				    (strcmp(dirs[i], dirs[k]) != 0 || k < i);
	for (int i = 0; i < npaths; i++) {
		if (inside[i])
			free(dirs[i]);
		else
			dirs[(*nroots)++] = dirs[i];
	}
	free(inside);
	for (int i = 0; i < npaths; i++)
		for (size_t r = 0; r < *nroots; r++) {
			if (!fsc_wait_under(paths[i].path, dirs[r]))
				continue;
			const char *rest =
			    paths[i].path + (strcmp(dirs[r], "/") ? strlen(dirs[r]) : 0);
			int levels = 0;
			for (; *rest; rest++)
				levels += *rest == '/';
			if (levels > *depth)
				*depth = levels;
			break;
		}
	return dirs;
fail:
	for (int i = 0; dirs && i < npaths; i++)
		free(dirs[i]);
	free(dirs);
	return NULL;
}

/* Starts the private fscd for paths and waits (up to timeout_ms) until it serves. */
static int fsc_wait_fscd_private(struct fsc_private_fscd *f, const struct fsc_wait_path *paths,
				 int npaths, long timeout_ms)
{
	size_t nroots;
	int depth;
	char **roots = fsc_wait_roots(paths, npaths, &nroots, &depth);
	if (!roots) {
		fprintf(stderr, "fsc-wait: out of memory\n");
		return FSC_WAIT_EXIT_ERROR;
	}
	int rc = fsc_private_fscd_start(f, (const char *const *)roots, nroots, depth);
	for (size_t i = 0; i < nroots; i++)
		free(roots[i]);
	free(roots);
	if (rc != 0)
		return FSC_WAIT_EXIT_ERROR;
	if (timeout_ms < 0 || timeout_ms > FSC_WAIT_FSCD_START_MS)
		timeout_ms = FSC_WAIT_FSCD_START_MS;
	if (fsc_private_fscd_wait(f, timeout_ms) == 0)
		return 0;
	if (errno != ETIMEDOUT)
		return FSC_WAIT_EXIT_ERROR;
	if (timeout_ms < FSC_WAIT_FSCD_START_MS)
		return FSC_WAIT_EXIT_TIMEOUT; /* --timeout passed first: main says so */
	fprintf(stderr,
		"fsc-wait: the private fscd did not publish its table within %d s (a very large "
		"directory?); giving up\n",
		FSC_WAIT_FSCD_START_MS / 1000);
	return FSC_WAIT_EXIT_ERROR;
}

int fsc_wait_fscd_attach(struct fsc_private_fscd *f, const char *name, bool verbose,
			 const struct fsc_wait_path *paths, int npaths, long timeout_ms)
{
	*f = (struct fsc_private_fscd){
	    .tool = "fsc-wait", .env = "FSC_WAIT_FSCD", .verbose = verbose};
	const char **keys = calloc((size_t)npaths, sizeof(*keys));
	if (!keys) {
		fprintf(stderr, "fsc-wait: out of memory\n");
		return FSC_WAIT_EXIT_ERROR;
	}
	for (int i = 0; i < npaths; i++)
		keys[i] = paths[i].path;
	const char *table = name ? name : "default", *missed = NULL, *why;
	snprintf(f->name, sizeof(f->name), "%s", table);
	f->c = fsc_open(table);
	why = f->c ? NULL : strerror(errno);
	bool opened = f->c != NULL;
	bool served = opened && fsc_private_fscd_serves(f->c, keys, (size_t)npaths, &missed, &why);
	free(keys);
	if (served && verbose)
		fprintf(stderr, "fsc-wait: reading the journal of table %s\n", table);
	if (served)
		return 0;
	fsc_close(f->c);
	f->c = NULL;
	if (name && opened && !missed)
		fprintf(
		    stderr,
		    "fsc-wait: table %s cannot be followed (%s): restart its fscd with a journal\n",
		    name, why);
	else if (name && missed)
		fprintf(stderr,
			"fsc-wait: %s is not served by the fscd of table %s: %s (fsc-shmdump "
			"--name %s lists its roots)\n",
			missed, name, why, name);
	else if (name)
		fprintf(stderr,
			"fsc-wait: no fscd serves table %s (%s): start one whose --watch covers "
			"the paths (fscd --name %s --watch DIR), or leave --name out\n",
			name, why, name);
	if (name)
		return FSC_WAIT_EXIT_NOT_SERVED;
	if (verbose)
		fprintf(stderr, "fsc-wait: table %s does not serve %s (%s)\n", table,
			missed ? missed : paths[0].path, why);
	return fsc_wait_fscd_private(f, paths, npaths, timeout_ms);
}
