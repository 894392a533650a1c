/* libfsc: read file metadata from the table fscd publishes in shared memory.
 *
 * A hit costs no system call: the table is mapped read-only and read under per-slot seqlocks.
 * Every answer is the truth as fscd last saw it, a record the caller can see is flagged, or
 * (fsc_stat) the real stat(2).
 *
 *   fsc_t *c = fsc_open(NULL);               // the "default" table, NULL if none is live
 *   struct stat st;
 *   if (fsc_stat(c, "/var/log/syslog", &st) == 0) ...   // c may be NULL: plain stat(2)
 *   fsc_close(c);
 *
 * Each function below states its contract in the same terms:
 *   Threads:  which calls may run at the same time on one handle. Every function may run
 *             concurrently on different handles.
 *   Syscalls: what it may enter the kernel for, and whether it can block.
 *
 * Threads, in general: a handle may be shared by any number of threads; every call except
 * fsc_close may run concurrently with any other on the same handle. A cursor (fsc_cursor_t)
 * is not shared: one thread at a time uses it.
 *
 * fork(): the child inherits the handle with everything it points at. The table, hint and
 * journal mappings are MAP_SHARED and stay valid in the child, so lookups there read the same
 * table as the parent; a mapping the child later replaces (fscd replaced its table) is the
 * child's own. The handle's request socket (made on the first miss) is one inherited file
 * description: parent and child then send on the same socket, which is harmless (one datagram
 * per request). Two cases are not safe, and libfsc installs no atfork handlers:
 *   - the child of a multithreaded parent whose other thread was, at fork(), inside a call
 *     on the handle that re-attaches (a lookup, stat or journal call that found the table
 *     replaced or its writer gone, or that maps the journal): the handle's attach mutex is
 *     then locked for ever in the child, and the child's first re-attach hangs. Such a child
 *     must not use the handle; it may fsc_open a new one (and leave the inherited one alone,
 *     never fsc_close it);
 *   - a child that closes descriptors it did not open (daemonising): the handle's request
 *     socket number may then name another socket of the child's, on which a miss or
 *     fsc_request would send the path.
 * After execve() the handle is gone with the address space.
 */
#ifndef FSC_H
#define FSC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FSC_API __attribute__((visibility("default")))

typedef struct fsc fsc_t;

/* What fsc_lookup answers. Values are disjoint from enum fsc_journal_result, so that
 * fsc_result_name tells every result apart. */
enum fsc_result {
	FSC_HIT = 1,	     /* *st holds the cached record */
	FSC_NEGATIVE = 2,    /* cached "does not exist" (what stat(2) reports as ENOENT) */
	FSC_MISS = 3,	     /* not in the table, or a path the table never holds */
	FSC_UNAVAILABLE = 4, /* writer gone, stopped or busy, table retired: fall back */
};

/* struct fsc_info.flags */
#define FSC_FLAG_NEGATIVE 0x1u /* the record says the path does not exist */
#define FSC_FLAG_POLLED	  0x2u /* kept current by polling: compare verified_ns with now */
#define FSC_FLAG_STALE	  0x4u /* fscd knows the record may be out of date */
/* Being written: set when fscd sees the file modified, cleared when it sees a close after
 * writing or the file replaced by a rename. What inotify cannot see is not reflected: writes
 * through a shared mmap, writes made on another machine (NFS, CIFS), and of several writers
 * of one file the first close clears it (shm/PROTOCOL.md "Records"). */
#define FSC_FLAG_WRITING 0x8u

struct fsc_info {
	uint64_t change_seq;  /* table-wide sequence number of the record's last change */
	uint64_t verified_ns; /* CLOCK_MONOTONIC ns when fscd last confirmed the record */
	uint64_t generation;  /* which published table answered */
	uint32_t flags;	      /* FSC_FLAG_* */
	uint32_t reserved;
};

/* Attach to the table called name (NULL means "default"). Returns NULL with errno set when
 * nothing usable is published: ENOENT (no table), EPERM (the object's or its directory's
 * owner is not trusted: see below), EPROTO (not a valid fsc table, another ABI, or an object
 * or object directory its group or others may write), ESRCH (its writer has stopped or died),
 * EACCES, EINVAL (bad name, or a malformed FSC_TRUSTED_UIDS), E2BIG (more than FSC_TRUSTED_UIDS_MAX
 * trusted uids), ENOMEM.
 *
 * Trust: a table or journal is believed only if it is owned by root, by the caller's effective
 * uid, or by a uid listed in the environment variable FSC_TRUSTED_UIDS (uids or user names,
 * comma-separated; ignored by set-id programs) or in fsc_open_with's options, and nobody
 * else may write it. So an fscd running as root, or as the reader's own user, is believed
 * with no setting; to read the table of an fscd running as another user (say "fsc"), set
 * FSC_TRUSTED_UIDS=fsc. Every re-attach (fscd restarted, table replaced) applies the same
 * rule, so a table another user left at the name is never used (shm/PROTOCOL.md "Trust").
 *
 * Where: name is a table name, looked up in the default object directory, or an absolute
 * "DIR/NAME" (the table NAME in directory DIR). The default directory is $FSC_DIR if set
 * (ignored by set-id programs); else /run/fsc for root; else, for other users,
 * $XDG_RUNTIME_DIR/fsc if it exists (a per-user fscd), else /run/fsc. The directory, and every
 * one above it, must be owned by a trusted uid; the directory must be writable by nobody
 * else, and those above it only if sticky (/tmp, /dev/shm): otherwise EPERM or EPROTO.
 * The address is resolved here, once: re-attaching looks in the same directory.
 * Threads: any; it touches no existing handle.
 * Syscalls: open/openat of each directory on the way (O_PATH) and of the objects, fstat,
 * mmap and close (munmap on failure), for the table and its hint segment. It does not block: the
 * objects are opened O_NONBLOCK, and nothing waits for fscd. */
FSC_API fsc_t *fsc_open(const char *name);

#define FSC_TRUSTED_UIDS_MAX 8

/* fsc_open's options: zero-initialise, then set what you need. */
struct fsc_open_options {
	const char *name;	   /* table name or "DIR/NAME"; NULL means "default" */
	const uid_t *trusted_uids; /* owners to believe besides root, the caller's euid and */
	unsigned n_trusted_uids;   /* FSC_TRUSTED_UIDS; at most FSC_TRUSTED_UIDS_MAX in all */
	unsigned reserved[5];	   /* zero */
};

/* fsc_open with options (opts may be NULL: fsc_open(NULL)). Same results and contract. */
FSC_API fsc_t *fsc_open_with(const struct fsc_open_options *opts);

/* Detaches and frees the handle (c may be NULL). Records already copied out stay valid.
 * Threads: no other call on c may be running or follow; the caller makes sure of that.
 * Syscalls: munmap and close; does not block. */
FSC_API void fsc_close(fsc_t *c);

/* stat(2) semantics: 0, or -1 with errno. Answered from the table when the record is there
 * and trustworthy; otherwise calls stat(2). c may be NULL (then it is stat(2)).
 * One field lags by design: st_atim is the access time as of fscd's last look at the file.
 * Reading a file changes it without any event fscd watches (watching every read would
 * flood it), so a cached atime can be older than stat(2)'s; every other field is current.
 * Threads: any, concurrently with every call but fsc_close.
 * Syscalls: none on a trusted hit or negative. Otherwise what fsc_lookup may make, then on a
 * miss at most one sendto (as fsc_request: never blocking, the handle's first also makes its
 * socket; rate-limited per handle), then stat(2), which blocks as stat(2) does (a hung
 * network mount). */
FSC_API int fsc_stat(fsc_t *c, const char *path, struct stat *st);

/* fsc_stat, but a record kept current by polling (FSC_FLAG_POLLED: a filesystem inotify
 * cannot see, such as NFS) counts only if fscd confirmed it within the last max_age_ms;
 * older, it is stat(2). Records fscd keeps by inotify are current while fscd is alive and
 * are answered as by fsc_stat. With max_age_ms at or above fscd's poll interval (fscd
 * --poll-interval, 2000 ms by default), polled records are served between polls.
 * Threads and syscalls: as fsc_stat (the age is read from the vDSO clock, no syscall). */
FSC_API int fsc_stat_fresh(fsc_t *c, const char *path, struct stat *st, uint32_t max_age_ms);

/* Table only: returns an enum fsc_result (FSC_HIT, FSC_NEGATIVE, FSC_MISS or
 * FSC_UNAVAILABLE), or -1 with errno EINVAL if c or path is NULL. st and info may be NULL.
 * On FSC_HIT both are filled; on FSC_NEGATIVE info is; otherwise their contents are
 * unspecified (st is used as scratch).
 * Threads: any, concurrently with every call but fsc_close; a hit takes no lock.
 * Syscalls: none, and it never blocks, while the table it holds is usable: a hit or a miss
 * reads shared memory and the vDSO clock only. When it finds the table replaced, or fscd
 * gone, it looks for a successor: it takes the handle's attach mutex (waiting for another
 * thread's re-attach if one is under way) and calls open(at), fstat, mmap, mremap, munmap
 * and close; after a look that finds nothing usable it looks again at most every 100 ms,
 * answering FSC_UNAVAILABLE without a syscall in between. */
FSC_API int fsc_lookup(fsc_t *c, const char *path, struct stat *st, struct fsc_info *info);

/* Asks fscd to cache path (fsc_stat does this by itself on a miss). fscd takes it only if it
 * lies under one of its roots and passes its filters, and, against one-off scans, only on a
 * second request within its --request-window. 0 if the request was sent, -1 with errno
 * otherwise (EINVAL: not an absolute path in canonical form; ECONNREFUSED: no fscd serves
 * the table; EAGAIN: fscd is behind on requests).
 * Threads: any, concurrently with every call but fsc_close.
 * The address comes from the table the handle answers from (a random per-fscd nonce in its
 * header, so no other user can bind it first).
 * Threads: any, concurrently with every call but fsc_close.
 * Syscalls: one sendto (MSG_DONTWAIT: never blocks); the first call on a handle also makes
 * its socket; finding the table replaced re-attaches first, as fsc_lookup does. */
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
 * FSC_CURSOR_LOST too, never a crash or a made-up path. Entries are merged only within one
 * batch of fscd's (one pass over the events it read together): a path changed five times in
 * one batch may be one entry whose kinds say everything that happened (FSC_KIND_MODIFY |
 * FSC_KIND_CLOSE_WRITE); changed in five batches, it appears five times. Each entry says
 * what happened (struct fsc_change.kinds, FSC_KIND_*), so a reader can filter by kind.
 *
 * Ordering (shm/PROTOCOL.md, "Change journal", invariants a and b): fscd appends an entry
 * only after the table holds the change it reports, and the reader reads the journal's head
 * with acquire. So a fsc_lookup of ch.path made after fsc_journal_next returned the entry (in
 * the same thread, or in one that synchronised with it) sees that change or a later one:
 * the record as changed or newer (while the same fscd serves, its change_seq is at least
 * ch.change_seq), or FSC_MISS (the record was dropped, or evicted since: evictions are not
 * journalled) or FSC_UNAVAILABLE (fscd went away; fsc_stat then asks stat(2)). It never
 * returns the record as it was before the change. And a
 * change made before fsc_journal_start returned is in the table for the lookups that follow
 * it; a change made after is an entry past the cursor. */
typedef struct fsc_cursor {
	uint64_t journal_id; /* which journal (a new one per fscd start) */
	uint64_t pos;	     /* byte position in it */
} fsc_cursor_t;

#define FSC_CHANGE_PATH_MAX 4096 /* PATH_MAX: the longest path is 4095 bytes, then the NUL */

/* struct fsc_change.flags: FSC_FLAG_* of the record after the change, and: */
#define FSC_CHANGE_DROPPED 0x100u /* fscd no longer holds the path: ask stat(2) */

/* struct fsc_change.kinds: what happened to the path. fscd may merge the entries of one
 * batch for one path into one entry carrying several kinds. */
#define FSC_KIND_CREATE	     0x001u /* created (or found new by a scan) */
#define FSC_KIND_MODIFY	     0x002u /* content modified */
#define FSC_KIND_ATTRIB	     0x004u /* attributes changed (mode, owner, times, links) */
#define FSC_KIND_CLOSE_WRITE 0x008u /* closed after writing */
#define FSC_KIND_DELETE	     0x010u /* deleted */
#define FSC_KIND_MOVED_FROM  0x020u /* moved away from this path */
#define FSC_KIND_MOVED_TO    0x040u /* moved to this path */
#define FSC_KIND_DIR	     0x080u /* the path is a directory */
/* fscd lost events here (queue overflow) and rescanned: anything at or below this directory
 * may have changed */
#define FSC_KIND_RESCAN 0x100u

struct fsc_change {
	uint64_t change_seq; /* the record's change_seq (struct fsc_info) after the change */
	uint32_t flags;	     /* FSC_FLAG_* of the record after the change, FSC_CHANGE_DROPPED */
	uint32_t path_len;
	uint32_t kinds; /* FSC_KIND_* (0 only for entries fscd could not classify) */
	uint32_t reserved;
	char path[FSC_CHANGE_PATH_MAX]; /* NUL-terminated */
};

/* What fsc_journal_next and fsc_journal_wait answer. Values are disjoint from enum
 * fsc_result (none is 0 either: test against the names, never for truth). */
enum fsc_journal_result {
	FSC_CAUGHT_UP = 5,   /* nothing past the cursor (wait: the time ran out) */
	FSC_CHANGE = 6,	     /* next: *change filled and cursor advanced; wait: entries ready */
	FSC_CURSOR_LOST = 7, /* the cursor is no longer valid: start over (see above) */
};

/* A cursor at the journal's current end. 0, or -1 with errno: ENOENT (this fscd keeps no
 * journal: --journal-kib 0), ESRCH (fscd is gone or silent), EAGAIN (another fscd is taking over;
 * retry), EPROTO (the journal object is not valid), EINVAL, ENOMEM.
 * Threads: any, concurrently with every call but fsc_close; it writes only *cursor.
 * Syscalls: none once the handle has mapped this fscd's journal. The first call (and the
 * first after fscd restarted) maps it under the handle's attach mutex: open(at), fstat, mmap,
 * close, never waiting for fscd. Re-attaching to a replaced table as fsc_lookup does. */
FSC_API int fsc_journal_start(fsc_t *c, fsc_cursor_t *cursor);

/* The next change past *cursor: an enum fsc_journal_result (FSC_CHANGE, FSC_CAUGHT_UP or
 * FSC_CURSOR_LOST), or -1 with errno EINVAL for NULL arguments.
 * Threads: any number of threads, each with its own cursor, concurrently with every call but
 * fsc_close. One cursor is used by one thread at a time (this call advances it).
 * Syscalls: none, and it never blocks, unless fscd replaced its table meanwhile (then as
 * fsc_lookup) or the journal is not mapped yet (then as fsc_journal_start). */
FSC_API int fsc_journal_next(fsc_t *c, fsc_cursor_t *cursor, struct fsc_change *change);

/* Blocks until the journal holds entries past *cursor (FSC_CHANGE: call fsc_journal_next),
 * timeout_ms passes (FSC_CAUGHT_UP; a negative timeout waits for ever) or the cursor is lost
 * (FSC_CURSOR_LOST, found within a second of fscd dying). Returns an enum
 * fsc_journal_result, or -1 with errno EINVAL.
 * Threads: as fsc_journal_next; it only reads *cursor, but no thread may advance that cursor
 * meanwhile.
 * Syscalls: futex(FUTEX_WAIT) on the journal's shared word, in slices of at most 500 ms (to
 * notice fscd's death, which wakes nobody); a signal handler interrupts a slice, not the
 * wait. Returns at once, without a syscall, when entries are already there. */
FSC_API int fsc_journal_wait(fsc_t *c, const fsc_cursor_t *cursor, int timeout_ms);

/* Does the table c answers from serve path (under one of fscd's roots and not excluded by
 * its filters, as far as the table records them)? 1 yes, 0 no (or no usable table),
 * -1 with errno EINVAL (c or path NULL, path not absolute). No syscall once attached.
 * path must be in the canonical form the table keys (absolute, no "//", ".", "..", trailing
 * '/'; symlinks in it resolved) or it is 0. A path that matches no include glob of fscd's is
 * 1 only if the table holds it as a directory (fscd serves every directory it traverses).
 * shm/PROTOCOL.md "What is served" has the rules.
 * Threads: any, concurrently with every call but fsc_close.
 * Syscalls: none while the table held is usable; re-attaches as fsc_lookup does. */
FSC_API int fsc_covers(fsc_t *c, const char *path);

/* "create,modify,..." for kinds into buf (size bytes); returns buf. Unknown bits are
 * written as one hex number ("0x200"); 0 is "". Truncated (still NUL-ended) if size is short.
 * Threads: any. Syscalls: none. */
FSC_API const char *fsc_kinds_format(uint32_t kinds, char *buf, size_t size);

/* The name of a result, for messages: every enum fsc_result and enum fsc_journal_result
 * value has its own ("hit", "negative", "miss", "unavailable", "caught up", "change",
 * "cursor lost"); -1 is "error", anything else "unknown".
 * Threads: any. Syscalls: none. */
FSC_API const char *fsc_result_name(int result);

#ifdef __cplusplus
}
#endif

#endif
