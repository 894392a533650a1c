/* fsc.Cache: one libfsc handle, shared by any number of threads.
 *
 * libfsc allows every call concurrently except fsc_close (fsc.h). Calls that hold the GIL
 * from start to end (every hit, miss and journal read) cannot overlap close(), which needs
 * the GIL too. The calls that release it (a stat(2) fallback, a journal wait) count
 * themselves in users; close() then hands the handle to the last of them, which closes it
 * when it returns (zombie). All of this runs under the GIL: plain fields suffice.
 *
 * fork(): fsc.h says a child of a multithreaded parent may find the handle's attach mutex
 * held for ever. So a child never uses the inherited handle: the first call after a fork
 * opens a new one (the old one is left alone, never closed, as fsc.h asks). */
#include "fsc_py.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

PyObject *fsc_py_oserror(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* OSError(errno, msg) picks the subclass: FileNotFoundError, PermissionError, ... */
	PyObject *args = Py_BuildValue("(is)", err, msg);
	if (args) {
		PyErr_SetObject(PyExc_OSError, args);
		Py_DECREF(args);
	}
	return NULL;
}

static const char *open_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "no fscd publishes this table: start fscd --name NAME, or use "
		       "fsc.FStatCache().start(paths)";
	case EPERM:
		return "its owner is not trusted: run fscd as root or as this user, or list its "
		       "user in FSC_TRUSTED_UIDS";
	case ESRCH:
		return "its fscd has stopped or died: restart fscd";
	case EACCES:
		return "this user may not read it: see fscd --mode and --group";
	case EPROTO:
		return "not a valid fsc table of this version, or writable by others";
	default:
		return "see fsc_open in fsc.h";
	}
}

/* fsc_open for the cache's name, with an OSError naming what failed if it cannot. */
static fsc_t *cache_open(PyObject *name, bool raise)
{
	PyObject *bytes = NULL;
	const char *cname = NULL;
	if (name != Py_None) {
		if (!PyUnicode_FSConverter(name, &bytes))
			return NULL;
		cname = PyBytes_AS_STRING(bytes);
	}
	fsc_t *c = fsc_open(cname);
	int err = errno;
	if (!c && raise)
		fsc_py_oserror(err, "cannot attach to the fsc table '%s': %s (%s)",
			       cname ? cname : "default", strerror(err), open_hint(err));
	Py_XDECREF(bytes);
	return c;
}

static int cache_init(PyObject *obj, PyObject *args, PyObject *kwargs)
{
	fsc_py_cache *self = (fsc_py_cache *)obj;
	static char *kwlist[] = {"name", NULL};
	PyObject *name = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:Cache", kwlist, &name))
		return -1;
	if (name != Py_None && !PyUnicode_Check(name)) {
		PyErr_Format(PyExc_TypeError, "Cache: name must be a str or None, not %.200s",
			     Py_TYPE(name)->tp_name);
		return -1;
	}
	if (self->handle || self->closed) {
		PyErr_SetString(PyExc_RuntimeError, "Cache.__init__ called twice");
		return -1;
	}
	fsc_t *c = cache_open(name, true);
	if (!c)
		return -1;
	self->handle = c;
	self->fork_generation = fsc_py_fork_generation();
	Py_XSETREF(self->name, Py_NewRef(name));
	return 0;
}

/* Detaches the handle: closes it now, or leaves it to the last call still using it. */
static void cache_close_handle(fsc_py_cache *self)
{
	fsc_t *c = self->handle;
	self->handle = NULL;
	self->closed = true;
	Py_CLEAR(self->last_changes);
	fsc_py_memo_clear(&self->memo);
	if (!c)
		return;
	if (self->users)
		self->zombie = c;
	else
		fsc_close(c);
}

/* In a forked child: a new handle, the inherited one left alone (fsc.h, fork). Calls that
 * were running in other threads of the parent do not exist here. */
static void cache_reopen_in_child(fsc_py_cache *self)
{
	self->fork_generation = fsc_py_fork_generation();
	self->users = 0;
	self->zombie = NULL;
	if (self->closed || !self->name)
		return;
	self->handle = cache_open(self->name ? self->name : Py_None, false);
}

fsc_t *fsc_py_cache_handle(fsc_py_cache *self)
{
	if (!self->name) { /* made by Cache.__new__ alone */
		PyErr_SetString(PyExc_ValueError, "fsc.Cache.__init__ was not called");
		return NULL;
	}
	if (self->fork_generation != fsc_py_fork_generation())
		cache_reopen_in_child(self);
	if (self->closed) {
		PyErr_SetString(PyExc_ValueError, "I/O operation on a closed fsc.Cache");
		return NULL;
	}
	return self->handle;
}

void fsc_py_cache_enter(fsc_py_cache *self)
{
	self->users++;
}

void fsc_py_cache_leave(fsc_py_cache *self)
{
	if (--self->users == 0 && self->zombie) {
		fsc_close(self->zombie);
		self->zombie = NULL;
	}
}

static void cache_dealloc(PyObject *obj)
{
	fsc_py_cache *self = (fsc_py_cache *)obj;
	PyObject_GC_UnTrack(obj);
	if (self->weakrefs)
		PyObject_ClearWeakRefs(obj);
	/* a running call holds a reference, so users is 0 here; a forked child's inherited
	 * handle is left alone */
	if (self->fork_generation == fsc_py_fork_generation())
		cache_close_handle(self);
	Py_CLEAR(self->name);
	Py_CLEAR(self->last_changes);
	fsc_py_memo_clear(&self->memo); /* a forked child's too: it is this process's memory */
	Py_TYPE(obj)->tp_free(obj);
}

static int cache_traverse(PyObject *obj, visitproc visit, void *arg)
{
	Py_VISIT(((fsc_py_cache *)obj)->last_changes);
	return 0;
}

static int cache_clear(PyObject *obj)
{
	Py_CLEAR(((fsc_py_cache *)obj)->last_changes);
	return 0;
}

static PyObject *cache_close(PyObject *obj, PyObject *unused)
{
	(void)unused;
	fsc_py_cache *self = (fsc_py_cache *)obj;
	if (self->fork_generation != fsc_py_fork_generation())
		cache_reopen_in_child(self);
	cache_close_handle(self);
	Py_RETURN_NONE;
}

static PyObject *cache_enter_ctx(PyObject *obj, PyObject *unused)
{
	(void)unused;
	if (!fsc_py_cache_handle((fsc_py_cache *)obj) && PyErr_Occurred())
		return NULL;
	return Py_NewRef(obj);
}

static PyObject *cache_exit_ctx(PyObject *obj, PyObject *args)
{
	(void)args;
	return cache_close(obj, NULL);
}

static PyObject *cache_get_closed(PyObject *obj, void *unused)
{
	(void)unused;
	return PyBool_FromLong(((fsc_py_cache *)obj)->closed);
}

static PyObject *cache_get_name(PyObject *obj, void *unused)
{
	(void)unused;
	fsc_py_cache *self = (fsc_py_cache *)obj;
	return self->name && self->name != Py_None ? Py_NewRef(self->name)
						   : PyUnicode_FromString("default");
}

static PyObject *cache_repr(PyObject *obj)
{
	fsc_py_cache *self = (fsc_py_cache *)obj;
	PyObject *name = cache_get_name(obj, NULL);
	PyObject *r = name ? PyUnicode_FromFormat("<fsc.Cache name=%R%s>", name,
						  self->closed ? " closed" : "")
			   : NULL;
	Py_XDECREF(name);
	return r;
}

#define FASTKW(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef cache_methods[] = {
    {"stat", FASTKW(fsc_py_cache_stat),
     "stat($self, path, /, *, follow_symlinks=True)\n--\n\n"
     "os.stat(path) (an os.stat_result), answered from the table when it holds a current record "
     "(no system\n"
     "call), else by stat(2)/lstat(2). The result and the exceptions are os.stat's: a\n"
     "cached negative raises FileNotFoundError (or NotADirectoryError where stat(2) would)\n"
     "with the path as filename. path: str, bytes, os.PathLike or an open descriptor.\n"
     "A record unchanged since the last stat of it gives the same os.stat_result object\n"
     "again (kept until the record changes or close())."},
    {"stat_fresh", FASTKW(fsc_py_cache_stat_fresh),
     "stat_fresh($self, path, max_age, /, *, follow_symlinks=True)\n--\n\n"
     "stat(), but a record kept current by polling (a filesystem inotify cannot see, e.g.\n"
     "NFS) counts only if fscd confirmed it within max_age seconds; older, it is stat(2)."},
    {"lookup", fsc_py_cache_lookup, METH_O,
     "lookup($self, path, /)\n--\n\n"
     "A fsc.Lookup(status, stat, info): the table's own answer, never a system call. status is a "
     "fsc.Status (HIT, NEGATIVE,\n"
     "MISS, UNAVAILABLE); stat the os.stat_result on a HIT, else None; info a fsc.Info\n"
     "(change_seq, verified_age in seconds, generation, flags) on HIT and NEGATIVE, else\n"
     "None. Paths are exact keys: absolute, without '//', '.', '..' or a trailing '/'."},
#ifdef FSC_KIND_CREATE
    {"covers", fsc_py_cache_covers, METH_O,
     "covers($self, path, /)\n--\n\n"
     "Whether the table's fscd keeps path current (it lies under one of its roots and\n"
     "passes its filters, as far as the table records them); False with no live fscd.\n"
     "ValueError for a relative path."},
#endif
    {"request", fsc_py_cache_request, METH_O,
     "request($self, path, /)\n--\n\n"
     "Ask fscd to cache path (stat() does so by itself on a miss). OSError if it could not\n"
     "be sent (EINVAL: not a canonical absolute path; ECONNREFUSED: no fscd)."},
    {"changes", FASTKW(fsc_py_cache_changes),
     "changes($self, /, cursor=None)\n--\n\n"
     "A fsc.Changes iterator over the change journal: with no cursor, from now on; else from a\n"
     "cursor saved earlier (Changes.cursor). Iterating yields fsc.Change(path, kinds,\n"
     "flags, change_seq) until caught up, and can be resumed later. fsc.CursorLost when\n"
     "the reader fell behind or fscd restarted: take a new one and look at everything."},
    {"wait", FASTKW(fsc_py_cache_wait),
     "wait($self, /, timeout=None, changes=None)\n--\n\n"
     "Sleep until the journal has entries past changes' cursor (default: the latest\n"
     "Changes this cache made), True; or timeout seconds pass (None: no limit), False.\n"
     "Releases the GIL; Ctrl-C interrupts it. fsc.CursorLost as for Changes."},
    {"close", cache_close, METH_NOARGS,
     "close($self, /)\n--\n\nDetach from the table. Calls after it raise ValueError; a call\n"
     "still running in another thread finishes first. Closing twice is harmless."},
    {"__enter__", cache_enter_ctx, METH_NOARGS, NULL},
    {"__exit__", cache_exit_ctx, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef cache_getset[] = {
    {"closed", cache_get_closed, NULL, "True after close().", NULL},
    {"name", cache_get_name, NULL, "The table's name (fscd --name).", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyDoc_STRVAR(cache_doc,
	     "Cache(name=None)\n--\n\n"
	     "Attach to the table the fscd called name publishes (None: \"default\"). Raises\n"
	     "OSError if there is none (FileNotFoundError), its owner is not trusted\n"
	     "(PermissionError), or its fscd is gone (ProcessLookupError).\n\n"
	     "A context manager; safe to share between threads; a forked child re-opens it by\n"
	     "itself on its first call.");

PyTypeObject fsc_py_cache_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fsc.Cache",
    .tp_basicsize = sizeof(fsc_py_cache),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = cache_doc,
    .tp_new = PyType_GenericNew,
    .tp_init = cache_init,
    .tp_dealloc = cache_dealloc,
    .tp_traverse = cache_traverse,
    .tp_clear = cache_clear,
    .tp_repr = cache_repr,
    .tp_methods = cache_methods,
    .tp_getset = cache_getset,
    .tp_weaklistoffset = offsetof(fsc_py_cache, weakrefs),
};
