/* Module fsc._fsc: registers the types and constants, takes os.stat_result, counts forks.
 * The thin Python layer (fsc/__init__.py) imports it and hands back the enum classes it
 * builds from these constants (_set_types), so that the values live in one place: fsc.h. */
#include "fsc_py.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

struct fsc_py_enums fsc_py_enums;
PyObject *fsc_py_cursor_lost;

/* Written by the atfork child handler (one thread exists then), read by every call: the
 * relaxed atomics only keep the compiler from caching it. */
static _Atomic unsigned fork_generation;

static void fork_child(void)
{
	atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
}

unsigned fsc_py_fork_generation(void)
{
	return atomic_load_explicit(&fork_generation, memory_order_relaxed);
}

/* The index of a flags value in flag_cache: the four record flags and DROPPED; -1 if it
 * has other bits (then Flag(value) is built each time). */
static int flag_index(uint32_t flags)
{
	if (flags & ~(0xfu | FSC_CHANGE_DROPPED))
		return -1;
	return (int)((flags & 0xfu) | ((flags & FSC_CHANGE_DROPPED) ? 0x10u : 0));
}

static PyObject *enum_value_new(PyObject *type, PyObject **cache, int index, uint32_t v)
{
	if (!type)
		return PyLong_FromUnsignedLong(v); /* before _set_types: plain ints */
	if (index >= 0 && cache[index])
		return Py_NewRef(cache[index]);
	PyObject *obj = PyObject_CallFunction(type, "k", (unsigned long)v);
	if (obj && index >= 0)
		cache[index] = Py_NewRef(obj);
	return obj;
}

PyObject *fsc_py_flag_new(uint32_t flags)
{
	return enum_value_new(fsc_py_enums.flag_type, fsc_py_enums.flag_cache, flag_index(flags),
			      flags);
}

PyObject *fsc_py_kind_new(uint32_t kinds)
{
	int index = kinds < 512 ? (int)kinds : -1;
	return enum_value_new(fsc_py_enums.kind_type, fsc_py_enums.kind_cache, index, kinds);
}

PyDoc_STRVAR(set_types_doc, "_set_types(status, flag, kind): the enum classes of fsc (internal).");

static PyObject *set_types(PyObject *module, PyObject *args)
{
	(void)module;
	PyObject *status, *flag, *kind;
	if (!PyArg_ParseTuple(args, "OOO:_set_types", &status, &flag, &kind))
		return NULL;
	static const int results[] = {FSC_HIT, FSC_NEGATIVE, FSC_MISS, FSC_UNAVAILABLE};
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		PyObject *m = PyObject_CallFunction(status, "i", results[i]);
		if (!m)
			return NULL;
		Py_XSETREF(fsc_py_enums.status[results[i]], m);
	}
	Py_XSETREF(fsc_py_enums.flag_type, Py_NewRef(flag));
	Py_XSETREF(fsc_py_enums.kind_type, Py_NewRef(kind));
	for (size_t i = 0; i < sizeof(fsc_py_enums.flag_cache) / sizeof(PyObject *); i++)
		Py_CLEAR(fsc_py_enums.flag_cache[i]);
	for (size_t i = 0; i < sizeof(fsc_py_enums.kind_cache) / sizeof(PyObject *); i++)
		Py_CLEAR(fsc_py_enums.kind_cache[i]);
	Py_RETURN_NONE;
}

int fsc_py_seconds_to_ms(PyObject *seconds, const char *what, long long *ms)
{
	if (!seconds || seconds == Py_None) {
		*ms = -1;
		return 0;
	}
	double s = PyFloat_AsDouble(seconds);
	if (s == -1.0 && PyErr_Occurred())
		return -1;
	if (isnan(s) || s < 0) {
		PyErr_Format(PyExc_ValueError, "%s must be a number of seconds >= 0 (or None)",
			     what);
		return -1;
	}
	double v = s * 1000.0;
	*ms = v >= 9.0e15 ? 9000000000000000LL : (long long)v;
	return 0;
}

static PyMethodDef module_methods[] = {
    {"_set_types", set_types, METH_VARARGS, set_types_doc},
    {"_spawn", (PyCFunction)(void (*)(void))fsc_py_spawn, METH_FASTCALL,
     "_spawn(argv, log_fd, deathsig) -> pid: start a private fscd (internal)."},
    {NULL, NULL, 0, NULL}};

PyDoc_STRVAR(module_doc, "The C half of the fsc package (use the package: import fsc).");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, .m_name = "fsc._fsc",	.m_doc = module_doc,
    .m_size = -1,	   .m_methods = module_methods,
};

static int constants_add(PyObject *m)
{
	static const struct {
		const char *name;
		long value;
	} c[] = {
	    {"HIT", FSC_HIT},
	    {"NEGATIVE", FSC_NEGATIVE},
	    {"MISS", FSC_MISS},
	    {"UNAVAILABLE", FSC_UNAVAILABLE},
	    {"FLAG_NEGATIVE", FSC_FLAG_NEGATIVE},
	    {"FLAG_POLLED", FSC_FLAG_POLLED},
	    {"FLAG_STALE", FSC_FLAG_STALE},
#ifdef FSC_FLAG_WRITING
	    {"FLAG_WRITING", FSC_FLAG_WRITING},
#endif
	    {"CHANGE_DROPPED", FSC_CHANGE_DROPPED},
#ifdef FSC_KIND_CREATE
	    {"KIND_CREATE", FSC_KIND_CREATE},
	    {"KIND_MODIFY", FSC_KIND_MODIFY},
	    {"KIND_ATTRIB", FSC_KIND_ATTRIB},
	    {"KIND_CLOSE_WRITE", FSC_KIND_CLOSE_WRITE},
	    {"KIND_DELETE", FSC_KIND_DELETE},
	    {"KIND_MOVED_FROM", FSC_KIND_MOVED_FROM},
	    {"KIND_MOVED_TO", FSC_KIND_MOVED_TO},
	    {"KIND_DIR", FSC_KIND_DIR},
	    {"KIND_RESCAN", FSC_KIND_RESCAN},
#endif
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (PyModule_AddIntConstant(m, c[i].name, c[i].value) < 0)
			return -1;
#ifdef FSC_KIND_CREATE
	return PyModule_AddIntConstant(m, "HAVE_KINDS", 1);
#else
	return PyModule_AddIntConstant(m, "HAVE_KINDS", 0);
#endif
}

static int module_fill(PyObject *m)
{
	PyObject *os = PyImport_ImportModule("os");
	int r = os ? fsc_py_statres_init(os) : -1;
	Py_XDECREF(os);
	if (r < 0 || constants_add(m) < 0)
		return -1;
	fsc_py_cursor_lost = PyErr_NewExceptionWithDoc(
	    "fsc.CursorLost",
	    "The journal cursor is no longer valid: the reader fell a whole ring behind, or\n"
	    "fscd restarted or went away. Nothing is lost if the reader starts over: take a\n"
	    "new cursor (cache.changes()), then look at every path again.",
	    NULL, NULL);
	if (!fsc_py_cursor_lost || PyModule_AddObjectRef(m, "CursorLost", fsc_py_cursor_lost) < 0)
		return -1;
	if (PyType_Ready(&fsc_py_cache_type) < 0 ||
	    PyModule_AddObjectRef(m, "Cache", (PyObject *)&fsc_py_cache_type) < 0)
		return -1;
	if (fsc_py_stat_types_init(m) < 0 || fsc_py_journal_types_init(m) < 0)
		return -1;
	return 0;
}

PyMODINIT_FUNC PyInit__fsc(void)
{
	static bool atfork_done;
	if (!atfork_done) {
		if (pthread_atfork(NULL, NULL, fork_child) != 0)
			return PyErr_NoMemory();
		atfork_done = true;
	}
	PyObject *m = PyModule_Create(&module_def);
	if (m && module_fill(m) < 0)
		Py_CLEAR(m);
	return m;
}
