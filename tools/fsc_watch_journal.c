/* fsc-watch's journal thread (see fsc_watch_journal.h). */
#define _GNU_SOURCE
#include "fsc_watch_journal.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsc_json.h"
#include "fsc_watch_cmd.h"
#include "fsc_watch_filter.h"

#define FSC_WATCH_RETRY_MS     100  /* between attempts at a new cursor while fscd is away */
#define FSC_WATCH_NOTIFY_EVERY 1024 /* entries read between wake-ups in a long stream */

static void fsc_watch_notify(struct fsc_watch_journal *j)
{
	uint64_t one = 1;
	ssize_t w = write(j->notify_fd, &one, sizeof(one)); /* EAGAIN: a wake-up is pending */
	(void)w;
}

static void fsc_watch_print_json(const char *path, size_t len, uint32_t kinds, bool lost)
{
	char buf[160];
	struct fsc_json js;
	fsc_json_init(&js, stdout);
	fsc_json_object_begin(&js, NULL);
	fsc_json_bytes(&js, "path", path, len);
	fsc_json_array_begin(&js, "kinds");
	fsc_kinds_format(kinds, buf, sizeof(buf));
	for (char *k = buf, *comma; *k; k = comma ? comma + 1 : k + strlen(k)) {
		comma = strchr(k, ',');
		if (comma)
			*comma = '\0';
		fsc_json_string(&js, NULL, k);
	}
	fsc_json_array_end(&js);
	if (lost)
		fsc_json_bool(&js, "lost", true);
	fsc_json_object_end(&js);
	putchar('\n');
}

/* One line for a change (lost: fscd lost track, path is a watched root). */
static void fsc_watch_print(struct fsc_watch_journal *j, const char *path, size_t len,
			    uint32_t kinds, bool lost)
{
	if (!j->print)
		return;
	pthread_mutex_lock(&j->out_lock);
	if (j->o->json) {
		fsc_watch_print_json(path, len, kinds, lost);
	} else {
		char buf[160];
		fputs(lost    ? "lost"
		      : kinds ? fsc_kinds_format(kinds, buf, sizeof(buf))
			      : "change",
		      stdout);
		putchar(' ');
		fsc_text_write_escaped(stdout, path, len);
		putchar('\n');
	}
	pthread_mutex_unlock(&j->out_lock);
}

static void fsc_watch_flush(struct fsc_watch_journal *j)
{
	if (!j->print)
		return;
	pthread_mutex_lock(&j->out_lock);
	if (fflush(stdout) != 0 || ferror(stdout))
		atomic_store(&j->output_failed, true);
	pthread_mutex_unlock(&j->out_lock);
}

static void fsc_watch_change(struct fsc_watch_journal *j, const struct fsc_change *ch)
{
	enum fsc_watch_verdict v = fsc_watch_filter(j->o, ch->path, ch->path_len, ch->kinds);
	if (v == FSC_WATCH_SKIP)
		return;
	uint64_t now = fsc_watch_now_ns();
	fsc_watch_pending_add(j->pending, ch->path, ch->path_len, ch->kinds, ch->flags, now);
	if (v == FSC_WATCH_RESCAN)
		fsc_watch_pending_lost(j->pending, now);
	fsc_watch_print(j, ch->path, ch->path_len, ch->kinds, false);
}

/* fscd lost track: everything below every root may have changed. */
static void fsc_watch_lost(struct fsc_watch_journal *j)
{
	fsc_watch_pending_lost(j->pending, fsc_watch_now_ns());
	for (size_t i = 0; i < j->o->npaths; i++)
		fsc_watch_print(j, j->o->paths[i], strlen(j->o->paths[i]), 0, true);
	fsc_watch_flush(j);
	fsc_watch_notify(j);
}

/* A new cursor after a lost one; retries while fscd is away, saying so once. */
static void fsc_watch_recover(struct fsc_watch_journal *j)
{
	bool away = false;
	while (fsc_journal_start(j->c, &j->cursor) != 0) {
		if (!away && !atomic_load(&j->closing))
			fprintf(stderr,
				"fsc-watch: the fscd serving table %s is gone (%s); waiting for "
				"it to come back\n",
				j->name, strerror(errno));
		away = true;
		struct timespec ts = {0, FSC_WATCH_RETRY_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (away)
		fprintf(stderr, "fsc-watch: table %s is served again\n", j->name);
	/* after the new cursor: the run this asks for sees every change made before it */
	fsc_watch_lost(j);
}

static void *fsc_watch_journal_main(void *arg)
{
	struct fsc_watch_journal *j = arg;
	static struct fsc_change ch; /* 4 KiB of path: not on the thread's stack */
	unsigned unannounced = 0;
	for (;;) {
		int r = fsc_journal_next(j->c, &j->cursor, &ch);
		if (r == FSC_CHANGE) {
			fsc_watch_change(j, &ch);
			if (++unannounced < FSC_WATCH_NOTIFY_EVERY)
				continue;
		}
		if (unannounced) {
			fsc_watch_flush(j);
			fsc_watch_notify(j);
			unannounced = 0;
		}
		if (r == FSC_CAUGHT_UP)
			r = fsc_journal_wait(j->c, &j->cursor, -1);
		if (r == FSC_CURSOR_LOST)
			fsc_watch_recover(j);
	}
	return NULL;
}

int fsc_watch_journal_start(struct fsc_watch_journal *j)
{
	if (fsc_journal_start(j->c, &j->cursor) != 0) {
		int err = errno;
		fprintf(stderr, "fsc-watch: cannot follow the journal of table %s: %s%s\n", j->name,
			strerror(err),
			err == ENOENT ? " (that fscd keeps none: start it without --journal-kib 0)"
				      : "");
		return err;
	}
	/* signals stay blocked in the thread (the caller blocked them): the main loop takes
	 * them from its signalfd */
	int rc = pthread_create(&j->thread, NULL, fsc_watch_journal_main, j);
	if (rc)
		fprintf(stderr, "fsc-watch: cannot start the journal thread: %s\n", strerror(rc));
	return rc;
}
