/* fsc-logmon: follow log files through fscd's change journal, with no polling.
 *
 *   fsc-logmon [--name NAME] [--count N] FILE...
 *
 * Prints one line each time a FILE grows, shrinks (truncated), is replaced (rotated: a new
 * inode at the name), appears or disappears. It takes a cursor on the journal, looks at every
 * file once, then reads only the paths that changed and sleeps on the journal's futex when
 * nothing did. When the cursor is lost (it fell a ring behind, or fscd restarted) it looks at
 * every file again and carries on: a change is never missed.
 *
 * Exit status: 0 after N changes (--count N) or SIGINT/SIGTERM; 1 no fscd serves the table or
 * it keeps no journal; 2 a usage error. Build: see Makefile or CMakeLists.txt beside it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fsc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct logmon_file {
	const char *path;
	bool exists;
	struct stat st;
};

static volatile sig_atomic_t logmon_stop;

static void logmon_on_signal(int sig)
{
	(void)sig;
	logmon_stop = 1;
}

/* Compares what fsc_stat says now with what we saw last; prints a line and returns 1 if the
 * file changed in a way a log reader cares about. The first look only says what is there. */
static int logmon_check(fsc_t *c, struct logmon_file *f, bool first)
{
	struct stat st;
	bool exists = fsc_stat(c, f->path, &st) == 0;
	int changed = 1;
	if (first) {
		if (exists)
			printf("%s: %lld bytes\n", f->path, (long long)st.st_size);
		else
			printf("%s: absent\n", f->path);
		changed = 0;
	} else if (exists && !f->exists)
		printf("%s appeared, %lld bytes\n", f->path, (long long)st.st_size);
	else if (!exists && f->exists)
		printf("%s disappeared\n", f->path);
	else if (!exists)
		changed = 0;
	else if (st.st_ino != f->st.st_ino || st.st_dev != f->st.st_dev)
		printf("%s replaced (rotated?), now %lld bytes\n", f->path, (long long)st.st_size);
	else if (st.st_size > f->st.st_size)
		printf("%s grew %lld -> %lld\n", f->path, (long long)f->st.st_size,
		       (long long)st.st_size);
	else if (st.st_size < f->st.st_size)
		printf("%s truncated %lld -> %lld\n", f->path, (long long)f->st.st_size,
		       (long long)st.st_size);
	else
		changed = 0; /* attributes only: not a log reader's business */
	f->exists = exists;
	if (exists)
		f->st = st;
	fflush(stdout);
	return changed;
}

/* A cursor at "now", retried while fscd is between tables. 0, or -1 (message printed). */
static int logmon_start(fsc_t *c, fsc_cursor_t *cur)
{
	for (int tries = 0; tries < 100 && !logmon_stop; tries++) {
		if (fsc_journal_start(c, cur) == 0)
			return 0;
		if (errno == ENOENT) {
			fprintf(stderr, "fsc-logmon: this fscd keeps no journal (--journal-kib 0); "
					"restart it with a journal\n");
			return -1;
		}
		/* ESRCH, EAGAIN: fscd restarting or being taken over; try again shortly */
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
	}
	fprintf(stderr, "fsc-logmon: no live fscd journal after 10 s: %s\n", strerror(errno));
	return -1;
}

static int logmon_run(fsc_t *c, struct logmon_file *files, int n, long count)
{
	static struct fsc_change ch; /* 4 KiB of path: not on the stack */
	long seen = 0;
	bool first = true;
	fsc_cursor_t cur;
	while (!logmon_stop) {
		/* 1. the cursor first, 2. then the baseline: nothing falls between them */
		if (logmon_start(c, &cur))
			return 1;
		for (int i = 0; i < n; i++)
			seen += logmon_check(c, &files[i], first);
		first = false;
		int r = FSC_CAUGHT_UP;
		while (!logmon_stop && (count == 0 || seen < count)) {
			r = fsc_journal_next(c, &cur, &ch);
			if (r == FSC_CURSOR_LOST)
				break;
			if (r == FSC_CAUGHT_UP) {
				r = fsc_journal_wait(c, &cur, 1000);
				if (r == FSC_CURSOR_LOST)
					break;
				continue;
			}
			for (int i = 0; i < n; i++)
				if (strcmp(files[i].path, ch.path) == 0)
					seen += logmon_check(c, &files[i], false);
		}
		if (count && seen >= count)
			break;
		if (r == FSC_CURSOR_LOST)
			fprintf(stderr, "fsc-logmon: cursor lost (fscd restarted or we fell "
					"behind): looking at every file again\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = NULL;
	long count = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = strtol(argv[++i], NULL, 10);
		else
			break;
	}
	if (i >= argc || argv[i][0] == '-' || count < 0) {
		fprintf(stderr, "usage: fsc-logmon [--name NAME] [--count N] FILE...\n");
		return 2;
	}
	fsc_t *c = fsc_open(name);
	if (!c) {
		fprintf(stderr, "fsc-logmon: no fscd serves table %s: %s (start fscd --name %s)\n",
			name ? name : "default", strerror(errno), name ? name : "default");
		return 1;
	}
	int n = argc - i;
	struct logmon_file *files = calloc((size_t)n, sizeof(*files));
	if (!files)
		return 1;
	for (int k = 0; k < n; k++)
		files[k].path = argv[i + k];
	signal(SIGINT, logmon_on_signal);
	signal(SIGTERM, logmon_on_signal);
	int rc = logmon_run(c, files, n, count);
	free(files);
	fsc_close(c);
	return rc;
}
