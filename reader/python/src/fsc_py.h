/* The fsc Python extension (module fsc._fsc): what its files share. Python calls the module
 * through the thin layer in reader/python/fsc/__init__.py, which adds the enums and
 * FStatCache; everything on a lookup's path is here, in C, so that a hit costs no Python
 * code and no system call.
 *
 *   fsc_py_module.c   module init: types, exceptions, constants, the fork counter
 *   fsc_py_path.c     a path argument made into a C string, as os.stat does it
 *   fsc_py_statres.c  an os.stat_result built from a struct stat, as os.stat builds it
 *   fsc_py_memo.c     Cache.stat's memo: the result last built from each slot's record
 *   fsc_py_cache.c    the Cache type: open, close (safe against threads), fork
 *   fsc_py_stat.c     Cache.stat, stat_fresh, lookup, covers, request
 *   fsc_py_journal.c  Cache.changes, the Changes iterator and the waits
 *   fsc_py_spawn.c    starting a private fscd as a child (FStatCache.start)
 */
#ifndef FSC_PY_H
#define FSC_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fsc.h"

/* ---- fsc_py_module.c ---- */

/* Bumped in every child right after fork() (pthread_atfork): a Cache opened under another
 * value re-opens its handle before its next call (fsc.h, fork notes). */
unsigned fsc_py_fork_generation(void);

/* The Python-level types the thin layer hands over at import (fsc._fsc._set_types): the
 * Status members by result, and the Flag and Kind classes. NULL until then. */
struct fsc_py_enums {
	PyObject *status[FSC_UNAVAILABLE + 1]; /* indexed by enum fsc_result */
	PyObject *flag_type, *kind_type;
	PyObject *flag_cache[32]; /* Flag values by fsc_py_flag_index */
	PyObject *kind_cache[512];
};
extern struct fsc_py_enums fsc_py_enums;
/* A Flag (or Kind) object for the value: cached members, new reference. */
PyObject *fsc_py_flag_new(uint32_t flags);
PyObject *fsc_py_kind_new(uint32_t kinds);
extern PyObject *fsc_py_cursor_lost; /* fsc.CursorLost */

/* ---- fsc_py_path.c ---- */

/* A path argument as a C string (str: the filesystem encoding with surrogateescape, as
 * os.fsencode; bytes as given; os.PathLike through os.fspath; int: a descriptor). */
struct fsc_py_path {
	const char *str; /* NUL-terminated, no NUL inside; valid until release */
	Py_ssize_t len;	 /* strlen(str) */
	int fd;		 /* >= 0: the argument was this descriptor (str is NULL) */
	PyObject *name;	 /* the str or bytes path (after fspath): an exception's filename */
	PyObject *owned; /* references to drop at release (NULL if none) */
	PyObject *owned2;
};
/* 0, or -1 with TypeError or ValueError set as os.stat raises them (func names the call in
 * the message). allow_fd: an int is a descriptor; else an int is a TypeError. */
int fsc_py_path_get(struct fsc_py_path *p, PyObject *arg, const char *func, bool allow_fd);
void fsc_py_path_release(struct fsc_py_path *p);

/* ---- fsc_py_statres.c ---- */

/* Looks up os.stat_result and checks its layout; 0, or -1 with an exception set. */
int fsc_py_statres_init(PyObject *os_module);
/* The os.stat_result os.stat would return for st; new reference or NULL. */
PyObject *fsc_py_statres_new(const struct stat *st);

/* ---- fsc_py_memo.c ---- */

/* The os.stat_result last built from each slot's record, while the record is unchanged: a
 * hit of an unchanged file then builds nothing. 16 bytes a slot of the table, in pages
 * touched as slots are used, plus the results kept (one per path looked up, about 300
 * bytes); freed by Cache.close(). */
struct fsc_py_memo {
	PyObject **res;	     /* by slot: a result, or NULL */
	uint64_t *seq;	     /* by slot: the change_seq res was built from */
	uint64_t generation; /* the table they were built from */
	uint64_t slots;	     /* its slot count: the arrays' length */
};
#define FSC_PY_MEMO_SLOTS_MAX (1ull << 24) /* a bigger table gets no memo (256 MiB of it) */
/* The result built before for this record, new reference; NULL if there is none. */
PyObject *fsc_py_memo_get(const struct fsc_py_memo *m, uint64_t generation, uint64_t slot,
			  uint64_t change_seq);
/* Keeps res (a new reference is taken) as the result for this record; a record of another
 * table (generation, slots) first empties the memo. Failing to allocate leaves no memo. */
void fsc_py_memo_put(struct fsc_py_memo *m, uint64_t generation, uint64_t slot, uint64_t slots,
		     uint64_t change_seq, PyObject *res);
void fsc_py_memo_clear(struct fsc_py_memo *m);

/* ---- fsc_py_cache.c ---- */

typedef struct {
	PyObject ob_base; /* PyObject_HEAD, spelled out for clang-format */
	fsc_t *handle;	  /* NULL: closed, or no table re-opened after fork */
	bool closed;
	/* Calls running with the GIL released on handle (a stat(2) fallback, a journal wait):
	 * close() then leaves the handle to the last of them (zombie). Only touched with the
	 * GIL held, so no atomics are needed. */
	unsigned users;
	fsc_t *zombie;
	unsigned fork_generation; /* fsc_py_fork_generation() when handle was opened */
	PyObject *name;		  /* str, or None for "default" */
	PyObject *last_changes;	  /* weakref to the latest Changes: what wait() waits on */
	PyObject *weakrefs;
	struct fsc_py_memo memo; /* Cache.stat's built results (fsc_py_memo.c) */
} fsc_py_cache;

extern PyTypeObject fsc_py_cache_type;
/* The handle to call with (after re-opening in a forked child). NULL with ValueError set if
 * the cache is closed; NULL with no error if no table could be re-opened after fork (the
 * caller then answers with plain system calls). */
fsc_t *fsc_py_cache_handle(fsc_py_cache *self);
/* Around a call that releases the GIL: the handle stays valid until leave, even if another
 * thread closes the cache meanwhile. Both with the GIL held. */
void fsc_py_cache_enter(fsc_py_cache *self);
void fsc_py_cache_leave(fsc_py_cache *self);
/* An OSError (subclass by errno) whose message says what failed and what to do. */
PyObject *fsc_py_oserror(int err, const char *fmt, ...);

/* ---- fsc_py_stat.c ---- */

PyObject *fsc_py_cache_stat(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
			    PyObject *kwnames);
PyObject *fsc_py_cache_stat_fresh(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
				  PyObject *kwnames);
PyObject *fsc_py_cache_lookup(PyObject *self, PyObject *arg);
PyObject *fsc_py_cache_covers(PyObject *self, PyObject *arg);
PyObject *fsc_py_cache_request(PyObject *self, PyObject *arg);
/* fsc.Lookup and fsc.Info (PyStructSequence types); 0 or -1. */
int fsc_py_stat_types_init(PyObject *module);

/* ---- fsc_py_journal.c ---- */

PyObject *fsc_py_cache_changes(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
			       PyObject *kwnames);
PyObject *fsc_py_cache_wait(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
			    PyObject *kwnames);
/* fsc.Changes, fsc.Change and fsc.Cursor; 0 or -1. */
int fsc_py_journal_types_init(PyObject *module);

/* ---- fsc_py_spawn.c ---- */

PyObject *fsc_py_spawn(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* Seconds (a float or int, None: for ever) as milliseconds for the C calls; -1 for ever.
 * 0 or -1 with ValueError/TypeError (what names the argument). */
int fsc_py_seconds_to_ms(PyObject *seconds, const char *what, long long *ms);

#endif
