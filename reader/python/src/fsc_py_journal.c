/* The change journal from Python: Cache.changes() makes a Changes iterator holding a cursor
 * (fsc_cursor_t); iterating it yields the entries past the cursor until caught up; wait()
 * sleeps on the journal's futex with the GIL released.
 *
 * A Changes is meant for one thread at a time, as a cursor is (fsc.h). The GIL makes each
 * step safe anyway: next runs with it held, and wait works on a copy of the cursor taken
 * before the GIL is released. The wait sleeps in slices of at most WAIT_SLICE_MS so that
 * Ctrl-C (a Python signal handler runs only between them) and close() are noticed. */
#include "fsc_py.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#define WAIT_SLICE_MS 250

typedef struct {
	PyObject ob_base; /* PyObject_HEAD, spelled out for clang-format */
	fsc_py_cache *cache;
	fsc_cursor_t cursor;
	PyObject *weakrefs; /* the cache refers to its latest Changes weakly: no cycle */
} fsc_py_changes;

static PyTypeObject changes_type, change_type, cursor_type;

static PyStructSequence_Field change_fields[] = {
    {"path", "the path that changed (str, as os.fsdecode gives it)"},
    {"kinds", "a fsc.Kind: what happened (0 if this fscd does not say)"},
    {"flags", "a fsc.Flag: the record's flags after the change, or DROPPED"},
    {"change_seq", "the record's change_seq after the change"},
    {NULL, NULL}};
static PyStructSequence_Desc change_desc = {"fsc.Change", "One journal entry.", change_fields, 4};

static PyStructSequence_Field cursor_fields[] = {
    {"journal_id", "which journal (per fscd start)"}, {"pos", "byte position in it"}, {NULL, NULL}};
static PyStructSequence_Desc cursor_desc = {
    "fsc.Cursor", "A position in the journal: give it to Cache.changes() to resume there.",
    cursor_fields, 2};

static PyObject *journal_error(int err)
{
	switch (err) {
	case ENOENT:
		return fsc_py_oserror(err, "this fscd keeps no change journal (it runs with "
					   "--journal-kib 0)");
	case ESRCH:
		return fsc_py_oserror(err, "the table's fscd is gone or silent: restart it");
	case EAGAIN:
		return fsc_py_oserror(err, "another fscd is taking the table over: try again");
	case EPROTO:
		return fsc_py_oserror(err, "the journal object is not valid");
	default:
		return fsc_py_oserror(err, "journal: %s", strerror(err));
	}
}

/* The handle for a journal call; NULL with an exception set if there is none. */
static fsc_t *journal_handle(fsc_py_cache *cache)
{
	fsc_t *c = fsc_py_cache_handle(cache);
	if (!c && !PyErr_Occurred())
		journal_error(ESRCH); /* a forked child found no table to re-open */
	return c;
}

static PyObject *change_new(const struct fsc_change *ch)
{
	PyObject *o = PyStructSequence_New(&change_type);
	if (!o)
		return NULL;
#ifdef FSC_KIND_CREATE
	uint32_t kinds = ch->kinds;
#else
	uint32_t kinds = 0;
#endif
	PyObject *v[4] = {PyUnicode_DecodeFSDefaultAndSize(ch->path, ch->path_len),
			  fsc_py_kind_new(kinds), fsc_py_flag_new(ch->flags),
			  PyLong_FromUnsignedLongLong(ch->change_seq)};
	bool ok = true;
	for (int i = 0; i < 4; i++) {
		PyStructSequence_SET_ITEM(o, i, v[i]);
		ok = ok && v[i];
	}
	if (!ok)
		Py_CLEAR(o);
	return o;
}

static PyObject *changes_next(PyObject *obj)
{
	fsc_py_changes *self = (fsc_py_changes *)obj;
	fsc_t *c = journal_handle(self->cache);
	if (!c)
		return NULL;
	struct fsc_change ch;
	int r = fsc_journal_next(c, &self->cursor, &ch);
	switch (r) {
	case FSC_CHANGE:
		return change_new(&ch);
	case FSC_CAUGHT_UP:
		return NULL; /* StopIteration; iterating again later goes on from here */
	case FSC_CURSOR_LOST:
		PyErr_SetString(fsc_py_cursor_lost,
				"the journal cursor is lost (fell a ring behind, or fscd "
				"restarted): take a new one with cache.changes() and look at "
				"every path again");
		return NULL;
	default:
		return journal_error(errno);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits up to ms (-1: for ever): True, False on timeout, NULL with an exception. */
static PyObject *changes_wait_ms(fsc_py_changes *self, long long ms)
{
	uint64_t deadline = ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)ms;
	for (;;) {
		fsc_t *c = journal_handle(self->cache);
		if (!c)
			return NULL;
		uint64_t now = now_ms();
		uint64_t left = deadline > now ? deadline - now : 0;
		int slice = left < WAIT_SLICE_MS ? (int)left : WAIT_SLICE_MS;
		fsc_cursor_t cur = self->cursor;
		int r, err;
		fsc_py_cache_enter(self->cache);
		Py_BEGIN_ALLOW_THREADS;
		r = fsc_journal_wait(c, &cur, slice);
		err = errno;
		Py_END_ALLOW_THREADS;
		fsc_py_cache_leave(self->cache);
		if (r == FSC_CHANGE)
			Py_RETURN_TRUE;
		if (r == FSC_CURSOR_LOST) {
			PyErr_SetString(fsc_py_cursor_lost,
					"the journal cursor is lost (fscd restarted or went "
					"away): take a new one with cache.changes()");
			return NULL;
		}
		if (r != FSC_CAUGHT_UP)
			return journal_error(err);
		if (PyErr_CheckSignals() < 0)
			return NULL;
		if (left == 0 || now_ms() >= deadline)
			Py_RETURN_FALSE;
	}
}

/* One optional argument, positional or by keyword: 0 or -1. */
static int one_optional(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
			const char *func, const char *const names[2], PyObject *out[2])
{
	Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	if (nargs > 2) {
		PyErr_Format(PyExc_TypeError, "%s() takes at most 2 arguments", func);
		return -1;
	}
	for (Py_ssize_t i = 0; i < nargs; i++)
		out[i] = args[i];
	for (Py_ssize_t i = 0; i < nkw; i++) {
		PyObject *k = PyTuple_GET_ITEM(kwnames, i);
		int at = -1;
		for (int n = 0; n < 2 && names[n]; n++)
			if (PyUnicode_Check(k) && !PyUnicode_CompareWithASCIIString(k, names[n]))
				at = n;
		if (at < 0 || at < nargs) {
			PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R",
				     func, k);
			return -1;
		}
		out[at] = args[nargs + i];
	}
	return 0;
}

static PyObject *changes_wait(PyObject *obj, PyObject *const *args, Py_ssize_t nargs,
			      PyObject *kwnames)
{
	static const char *const names[2] = {"timeout", NULL};
	PyObject *a[2] = {Py_None, Py_None};
	if (nargs > 1) {
		PyErr_SetString(PyExc_TypeError, "wait() takes at most 1 argument (timeout)");
		return NULL;
	}
	long long ms;
	if (one_optional(args, nargs, kwnames, "wait", names, a) < 0 ||
	    fsc_py_seconds_to_ms(a[0], "timeout", &ms) < 0)
		return NULL;
	return changes_wait_ms((fsc_py_changes *)obj, ms);
}

static PyObject *changes_get_cursor(PyObject *obj, void *unused)
{
	(void)unused;
	fsc_py_changes *self = (fsc_py_changes *)obj;
	PyObject *o = PyStructSequence_New(&cursor_type);
	if (!o)
		return NULL;
	PyObject *id = PyLong_FromUnsignedLongLong(self->cursor.journal_id);
	PyObject *pos = PyLong_FromUnsignedLongLong(self->cursor.pos);
	PyStructSequence_SET_ITEM(o, 0, id);
	PyStructSequence_SET_ITEM(o, 1, pos);
	if (!id || !pos)
		Py_CLEAR(o);
	return o;
}

static void changes_dealloc(PyObject *obj)
{
	PyObject_GC_UnTrack(obj);
	if (((fsc_py_changes *)obj)->weakrefs)
		PyObject_ClearWeakRefs(obj);
	Py_CLEAR(((fsc_py_changes *)obj)->cache);
	Py_TYPE(obj)->tp_free(obj);
}

static int changes_traverse(PyObject *obj, visitproc visit, void *arg)
{
	Py_VISIT(((fsc_py_changes *)obj)->cache);
	return 0;
}

static int changes_clear(PyObject *obj)
{
	Py_CLEAR(((fsc_py_changes *)obj)->cache);
	return 0;
}

static PyMethodDef changes_methods[] = {
    {"wait", (PyCFunction)(void (*)(void))changes_wait, METH_FASTCALL | METH_KEYWORDS,
     "wait($self, /, timeout=None)\n--\n\nSleep until there are entries past the cursor (True) "
     "or\ntimeout seconds pass (False; None: no limit). Releases the GIL."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef changes_getset[] = {
    {"cursor", changes_get_cursor, NULL, "The position reached, a fsc.Cursor.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject changes_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fsc.Changes",
    .tp_basicsize = sizeof(fsc_py_changes),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Journal entries past a cursor (made by Cache.changes). Iterate to read what\n"
	      "changed (stops when caught up; iterate again later), wait() to sleep until\n"
	      "more comes. One thread at a time.",
    .tp_dealloc = changes_dealloc,
    .tp_traverse = changes_traverse,
    .tp_clear = changes_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = changes_next,
    .tp_methods = changes_methods,
    .tp_getset = changes_getset,
    .tp_weaklistoffset = offsetof(fsc_py_changes, weakrefs),
};

/* A cursor from a fsc.Cursor or any pair of ints. */
static int cursor_from(PyObject *o, fsc_cursor_t *cur)
{
	PyObject *seq = PySequence_Fast(o, "changes: cursor must be a fsc.Cursor");
	if (!seq)
		return -1;
	int r = -1;
	if (PySequence_Fast_GET_SIZE(seq) != 2) {
		PyErr_SetString(PyExc_TypeError, "changes: cursor must be a fsc.Cursor");
	} else {
		cur->journal_id = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, 0));
		cur->pos = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, 1));
		r = PyErr_Occurred() ? -1 : 0;
	}
	Py_DECREF(seq);
	return r;
}

PyObject *fsc_py_cache_changes(PyObject *obj, PyObject *const *args, Py_ssize_t nargs,
			       PyObject *kwnames)
{
	fsc_py_cache *cache = (fsc_py_cache *)obj;
	static const char *const names[2] = {"cursor", NULL};
	PyObject *a[2] = {Py_None, Py_None};
	if (nargs > 1) {
		PyErr_SetString(PyExc_TypeError, "changes() takes at most 1 argument (cursor)");
		return NULL;
	}
	if (one_optional(args, nargs, kwnames, "changes", names, a) < 0)
		return NULL;
	fsc_t *c = journal_handle(cache);
	if (!c)
		return NULL;
	fsc_cursor_t cur;
	if (a[0] != Py_None) {
		if (cursor_from(a[0], &cur) < 0)
			return NULL;
	} else if (fsc_journal_start(c, &cur) < 0) {
		return journal_error(errno);
	}
	fsc_py_changes *ch = PyObject_GC_New(fsc_py_changes, &changes_type);
	if (!ch)
		return NULL;
	ch->cache = (fsc_py_cache *)Py_NewRef(obj);
	ch->cursor = cur;
	ch->weakrefs = NULL;
	PyObject_GC_Track(ch);
	PyObject *ref = PyWeakref_NewRef((PyObject *)ch, NULL);
	if (!ref) {
		Py_DECREF(ch);
		return NULL;
	}
	Py_XSETREF(cache->last_changes, ref);
	return (PyObject *)ch;
}

PyObject *fsc_py_cache_wait(PyObject *obj, PyObject *const *args, Py_ssize_t nargs,
			    PyObject *kwnames)
{
	fsc_py_cache *cache = (fsc_py_cache *)obj;
	static const char *const names[2] = {"timeout", "changes"};
	PyObject *a[2] = {Py_None, Py_None};
	if (one_optional(args, nargs, kwnames, "wait", names, a) < 0)
		return NULL;
	if (!journal_handle(cache))
		return NULL;
	PyObject *changes = a[1];
	if (changes == Py_None) /* the latest Changes, if it is still alive */
		changes = cache->last_changes ? PyWeakref_GetObject(cache->last_changes) : Py_None;
	if (changes == Py_None) {
		PyErr_SetString(PyExc_ValueError,
				"wait: no changes() to wait on: keep the Changes that "
				"cache.changes() returns, or pass it");
		return NULL;
	}
	if (!PyObject_TypeCheck(changes, &changes_type)) {
		PyErr_SetString(PyExc_TypeError, "wait: changes must be a fsc.Changes");
		return NULL;
	}
	long long ms;
	if (fsc_py_seconds_to_ms(a[0], "timeout", &ms) < 0)
		return NULL;
	Py_INCREF(changes); /* borrowed from the weakref: kept alive through the wait */
	PyObject *r = changes_wait_ms((fsc_py_changes *)changes, ms);
	Py_DECREF(changes);
	return r;
}

int fsc_py_journal_types_init(PyObject *module)
{
	if (PyType_Ready(&changes_type) < 0 ||
	    PyStructSequence_InitType2(&change_type, &change_desc) < 0 ||
	    PyStructSequence_InitType2(&cursor_type, &cursor_desc) < 0)
		return -1;
	if (PyModule_AddObjectRef(module, "Changes", (PyObject *)&changes_type) < 0 ||
	    PyModule_AddObjectRef(module, "Change", (PyObject *)&change_type) < 0 ||
	    PyModule_AddObjectRef(module, "Cursor", (PyObject *)&cursor_type) < 0)
		return -1;
	return 0;
}
