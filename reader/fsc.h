/* libfsc: read file metadata from the table fscd publishes in shared memory.
 *
 * A hit costs no system call: the table is mapped read-only and read under per-slot seqlocks.
 * Every answer is the truth as fscd last saw it, a record the caller can see is flagged, or
 * (fsc_stat) the real stat(2). Handles are safe to share between threads.
 *
 *   fsc_t *c = fsc_open(NULL);               // the "default" table, NULL if none is live
 *   struct stat st;
 *   if (fsc_stat(c, "/var/log/syslog", &st) == 0) ...   // c may be NULL: plain stat(2)
 *   fsc_close(c);
 */
#ifndef FSC_H
#define FSC_H

#include <stdint.h>
#include <sys/stat.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FSC_API __attribute__((visibility("default")))

typedef struct fsc fsc_t;

/* fsc_lookup results */
enum {
	FSC_HIT = 1,	     /* *st holds the cached record */
	FSC_NEGATIVE = 2,    /* cached "does not exist" (what stat(2) reports as ENOENT) */
	FSC_MISS = 3,	     /* not in the table, or a path the table never holds */
	FSC_UNAVAILABLE = 4, /* writer gone, stopped or busy, table retired: fall back */
};

/* struct fsc_info.flags */
#define FSC_FLAG_NEGATIVE 0x1u /* the record says the path does not exist */
#define FSC_FLAG_POLLED	  0x2u /* kept current by polling: compare verified_ns with now */
#define FSC_FLAG_STALE	  0x4u /* fscd knows the record may be out of date */

struct fsc_info {
	uint64_t change_seq;  /* table-wide sequence number of the record's last change */
	uint64_t verified_ns; /* CLOCK_MONOTONIC ns when fscd last confirmed the record */
	uint64_t generation;  /* which published table answered */
	uint32_t flags;	      /* FSC_FLAG_* */
	uint32_t reserved;
};

/* Attach to the table called name (NULL means "default"). Returns NULL with errno set when
 * nothing usable is published: ENOENT (no table), EPROTO (not a valid fsc table, or another
 * ABI), ESRCH (its writer has stopped or died), EACCES, EINVAL (bad name), ENOMEM. */
FSC_API fsc_t *fsc_open(const char *name);
FSC_API void fsc_close(fsc_t *c);

/* stat(2) semantics: 0, or -1 with errno. Answered from the table when the record is there
 * and trustworthy; otherwise calls stat(2). c may be NULL (then it is stat(2)).
 * One field lags by design: st_atim is the access time as of fscd's last look at the file.
 * Reading a file changes it without any event fscd watches (watching every read would
 * flood it), so a cached atime can be older than stat(2)'s; every other field is current. */
FSC_API int fsc_stat(fsc_t *c, const char *path, struct stat *st);

/* fsc_stat, but a record kept current by polling (FSC_FLAG_POLLED: a filesystem inotify
 * cannot see, such as NFS) counts only if fscd confirmed it within the last max_age_ms;
 * older, it is stat(2). Records fscd keeps by inotify are current while fscd is alive and
 * are answered as by fsc_stat. With max_age_ms at or above fscd's poll interval (fscd
 * --poll-interval, 2000 ms by default), polled records are served between polls. */
FSC_API int fsc_stat_fresh(fsc_t *c, const char *path, struct stat *st, uint32_t max_age_ms);

/* Table only, no system call: FSC_HIT, FSC_NEGATIVE, FSC_MISS or FSC_UNAVAILABLE; -1 with
 * errno EINVAL if c or path is NULL. st and info may be NULL. On FSC_HIT both are filled;
 * on FSC_NEGATIVE info is; otherwise their contents are unspecified (st is used as scratch). */
FSC_API int fsc_lookup(fsc_t *c, const char *path, struct stat *st, struct fsc_info *info);

/* Asks fscd to cache path (fsc_stat does this by itself on a miss). fscd takes it only if it
 * lies under one of its roots and passes its filters, and, against one-off scans, only on a
 * second request within its --request-window. Never blocks: 0 if the request was sent, -1
 * with errno otherwise (EINVAL: not an absolute path in canonical form; ECONNREFUSED: no
 * fscd serves the table; EAGAIN: fscd is behind on requests). One system call (sendto). */
FSC_API int fsc_request(fsc_t *c, const char *path);

/* The change journal: "what changed since cursor X", with no system call.
 *
 * fscd appends every change it makes to the table (a record created, updated, turned
 * negative, flagged stale, or dropped) to a ring in shared memory, after the table holds it.
 * A reader keeps a cursor; reading the entries past it tells which paths to look at again.
 *
 *   fsc_cursor_t cur;
 *   fsc_journal_start(c, &cur);              // 1. take a cursor at "now"
 *   ... fsc_stat every path you care about ... // 2. your baseline
 *   for (;;) {
 *       struct fsc_change ch;
 *       int r = fsc_journal_next(c, &cur, &ch);
 *       if (r == FSC_CHANGE)        fsc_stat(c, ch.path, &st);  // look at it again
 *       else if (r == FSC_CAUGHT_UP) fsc_journal_wait(c, &cur, 1000);
 *       else                          go back to 1 (FSC_CURSOR_LOST)
 *   }
 *
 * Nothing is lost: a change made after fsc_journal_start returned is either seen by the
 * baseline's lookups or returned by fsc_journal_next. The ring is finite: a reader that falls
 * more than its size behind (fscd --journal-kib), a restarted fscd, or an fscd that died or
 * went silent all give FSC_CURSOR_LOST, and the reader starts over. A damaged journal is
 * FSC_CURSOR_LOST too, never a crash or a made-up path. Entries are not merged: a path
 * changed five times appears five times. */
typedef struct fsc_cursor {
	uint64_t journal_id; /* which journal (a new one per fscd start) */
	uint64_t pos;	     /* byte position in it */
} fsc_cursor_t;

#define FSC_CHANGE_PATH_MAX 4096 /* PATH_MAX: fscd never caches a longer path */

/* struct fsc_change.flags: FSC_FLAG_* of the record after the change, and: */
#define FSC_CHANGE_DROPPED 0x100u /* fscd no longer holds the path: ask stat(2) */

struct fsc_change {
	uint64_t change_seq; /* the record's change_seq (struct fsc_info) after the change */
	uint32_t flags;	     /* FSC_FLAG_NEGATIVE: now absent; FSC_CHANGE_DROPPED; ... */
	uint32_t path_len;
	char path[FSC_CHANGE_PATH_MAX]; /* NUL-terminated */
};

/* fsc_journal_next and fsc_journal_wait results */
enum {
	FSC_CAUGHT_UP = 0,   /* nothing past the cursor (wait: the time ran out) */
	FSC_CHANGE = 1,	     /* next: *change filled and cursor advanced; wait: entries ready */
	FSC_CURSOR_LOST = 2, /* the cursor is no longer valid: start over (see above) */
};

/* A cursor at the journal's current end. 0, or -1 with errno: ENOENT (this fscd keeps no
 * journal: --journal-kib 0), ESRCH (fscd is gone or silent), EAGAIN (fscd is being replaced;
 * retry), EPROTO (the journal object is not valid), EINVAL, ENOMEM. */
FSC_API int fsc_journal_start(fsc_t *c, fsc_cursor_t *cursor);
/* The next change past *cursor: FSC_CHANGE, FSC_CAUGHT_UP or FSC_CURSOR_LOST; -1 with errno
 * EINVAL for NULL arguments. No system call unless fscd replaced its table meanwhile. */
FSC_API int fsc_journal_next(fsc_t *c, fsc_cursor_t *cursor, struct fsc_change *change);
/* Blocks (futex) until the journal holds entries past *cursor (FSC_CHANGE), timeout_ms
 * passes (FSC_CAUGHT_UP; a negative timeout waits for ever) or the cursor is lost
 * (FSC_CURSOR_LOST, found within a second of fscd dying). -1 with errno EINVAL. */
FSC_API int fsc_journal_wait(fsc_t *c, const fsc_cursor_t *cursor, int timeout_ms);

/* The name a result code stands for ("hit", "negative", ...), for messages. */
FSC_API const char *fsc_result_name(int result);

#ifdef __cplusplus
}
#endif

#endif
