/* fsc-wait-complete: wait until a file exists and its writer is done with it, e.g. an upload
 * or a copy landing in a spool directory, without polling stat().
 *
 *   fsc-wait-complete [--name NAME] [--quiet-ms MS] [--timeout MS] FILE
 *
 * FILE is complete when it exists, is not being written (FSC_FLAG_WRITING clear: fscd saw a
 * close after the last write) and its record has not changed for MS milliseconds (default
 * 1000: for writers that close and reopen the file; 0 waits for exactly the last close).
 * (The fsc-wait tool does this and more: a read-lease probe for writers that hold the file
 * open without writing, several files, --gone.)
 * Between looks it sleeps on fscd's change journal and wakes when FILE changes.
 * Prints "FILE complete: N bytes" and exits 0; exits 1 on timeout (default: none) or when no
 * fscd serves the table, 2 on a usage error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fsc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What FILE looks like now; two equal looks mean nothing happened in between. */
struct wait_look {
	bool exists;
	bool writing;
	off_t size;
	ino_t ino;
	struct timespec mtime;
	uint64_t change_seq;
};

static int64_t wait_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_look_at(fsc_t *c, const char *path, struct wait_look *l)
{
	struct stat st;
	struct fsc_info info;
	memset(l, 0, sizeof(*l));
	int r = fsc_lookup(c, path, &st, &info);
	if (r == FSC_NEGATIVE)
		return;
	if (r == FSC_HIT) {
		l->writing = (info.flags & FSC_FLAG_WRITING) != 0;
		l->change_seq = info.change_seq;
	} else if (fsc_stat(c, path, &st) != 0) { /* not cached (yet): ask the kernel */
		return;
	}
	l->exists = true;
	l->size = st.st_size;
	l->ino = st.st_ino;
	l->mtime = st.st_mtim;
}

static bool wait_look_same(const struct wait_look *a, const struct wait_look *b)
{
	return a->exists == b->exists && a->writing == b->writing && a->size == b->size &&
	       a->ino == b->ino && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->change_seq == b->change_seq;
}

/* Sleeps until FILE may have changed or ms pass: on the journal when there is one. */
static void wait_for_change(fsc_t *c, fsc_cursor_t *cur, bool *have_cursor, const char *path,
			    int ms)
{
	static struct fsc_change ch;
	if (!*have_cursor) {
		*have_cursor = fsc_journal_start(c, cur) == 0;
		if (!*have_cursor) { /* no journal (yet): look again in a while */
			nanosleep(&(struct timespec){.tv_nsec = (ms < 100 ? ms : 100) * 1000000L},
				  NULL);
			return;
		}
	}
	int64_t until = wait_now_ms() + ms;
	for (;;) {
		int r = fsc_journal_next(c, cur, &ch);
		if (r == FSC_CHANGE && strcmp(ch.path, path) == 0)
			return;
		if (r == FSC_CURSOR_LOST) {
			*have_cursor = false; /* a new cursor, then the caller looks again */
			return;
		}
		if (r == FSC_CHANGE)
			continue;
		int64_t left = until - wait_now_ms();
		if (left <= 0)
			return;
		if (fsc_journal_wait(c, cur, (int)left) == FSC_CURSOR_LOST) {
			*have_cursor = false;
			return;
		}
	}
}

int main(int argc, char **argv)
{
	const char *name = NULL;
	long quiet_ms = 1000, timeout_ms = -1;
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--name") == 0)
			name = argv[i + 1];
		else if (strcmp(argv[i], "--quiet-ms") == 0)
			quiet_ms = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout_ms = strtol(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (i != argc - 1 || argv[i][0] != '/' || quiet_ms < 0 || quiet_ms > 3600000) {
		fprintf(stderr, "usage: fsc-wait-complete [--name NAME] [--quiet-ms MS] "
				"[--timeout MS] /ABSOLUTE/FILE\n");
		return 2;
	}
	const char *path = argv[i];
	fsc_t *c = fsc_open(name);
	if (!c) {
		fprintf(stderr, "fsc-wait-complete: no fscd serves table %s: %s\n",
			name ? name : "default", strerror(errno));
		return 1;
	}
	fsc_cursor_t cur;
	bool have_cursor = false;
	struct wait_look last, now;
	/* the cursor before the first look, so that a change right after it wakes us */
	wait_for_change(c, &cur, &have_cursor, path, 0);
	wait_look_at(c, path, &last);
	int64_t start = wait_now_ms(), since = start;
	for (;;) {
		int64_t t = wait_now_ms();
		if (last.exists && !last.writing && t - since >= quiet_ms)
			break;
		if (timeout_ms >= 0 && t - start >= timeout_ms) {
			fprintf(stderr, "fsc-wait-complete: %s not complete after %ld ms (%s)\n",
				path, timeout_ms,
				!last.exists   ? "absent"
				: last.writing ? "still open for writing"
					       : "still changing");
			fsc_close(c);
			return 1;
		}
		int64_t nap = last.exists && !last.writing ? quiet_ms - (t - since) : 1000;
		if (timeout_ms >= 0 && nap > timeout_ms - (t - start))
			nap = timeout_ms - (t - start);
		wait_for_change(c, &cur, &have_cursor, path, (int)(nap > 0 ? nap : 0));
		wait_look_at(c, path, &now);
		if (!wait_look_same(&now, &last)) {
			last = now;
			since = wait_now_ms();
		}
	}
	printf("%s complete: %lld bytes\n", path, (long long)last.size);
	fsc_close(c);
	return 0;
}
