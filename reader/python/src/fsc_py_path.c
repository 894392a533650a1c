/* A path argument made into a C string the way os.stat makes it (posixmodule's
 * path_converter): str through the filesystem encoding (surrogateescape), bytes as they are,
 * os.PathLike through os.fspath, an int as a descriptor. An embedded NUL is a ValueError.
 * The common case, an exact ASCII str, costs no copy: its characters are already a
 * NUL-terminated C string inside the object. */
#include "fsc_py.h"

#include <string.h>

static int path_from_bytes(struct fsc_py_path *p, PyObject *bytes)
{
	p->str = PyBytes_AS_STRING(bytes);
	p->len = PyBytes_GET_SIZE(bytes);
	return 0;
}

/* str or bytes (exact or subclass) into p; 1 if obj is neither, 0, or -1 on error. */
static int path_from_str_or_bytes(struct fsc_py_path *p, PyObject *obj)
{
	if (PyUnicode_Check(obj)) {
		p->name = obj;
		if (PyUnicode_IS_COMPACT_ASCII(obj)) {
			/* compact ASCII data is stored NUL-terminated right after the header */
			p->str = (const char *)PyUnicode_DATA(obj);
			p->len = PyUnicode_GET_LENGTH(obj);
			return 0;
		}
		PyObject *bytes = PyUnicode_EncodeFSDefault(obj);
		if (!bytes)
			return -1;
		p->owned2 = bytes;
		return path_from_bytes(p, bytes);
	}
	if (PyBytes_Check(obj)) {
		p->name = obj;
		return path_from_bytes(p, obj);
	}
	return 1;
}

static int path_type_error(PyObject *arg, const char *func, bool allow_fd)
{
	PyErr_Format(PyExc_TypeError, "%s: path should be string, bytes%s, not %.200s", func,
		     allow_fd ? ", os.PathLike or integer" : " or os.PathLike",
		     Py_TYPE(arg)->tp_name);
	return -1;
}

static int path_from_fd(struct fsc_py_path *p, PyObject *arg, const char *func)
{
	int overflow = 0;
	long fd = PyLong_AsLongAndOverflow(arg, &overflow);
	if (fd == -1 && PyErr_Occurred())
		return -1;
	if (overflow || fd < 0 || fd > INT32_MAX) {
		PyErr_Format(PyExc_ValueError, "%s: fd %s", func,
			     fd < 0 && !overflow ? "is negative" : "is greater than maximum");
		return -1;
	}
	p->fd = (int)fd;
	return 0;
}

int fsc_py_path_get(struct fsc_py_path *p, PyObject *arg, const char *func, bool allow_fd)
{
	*p = (struct fsc_py_path){.fd = -1};
	int r = path_from_str_or_bytes(p, arg);
	if (r == 1 && PyLong_Check(arg)) {
		if (!allow_fd)
			return path_type_error(arg, func, allow_fd);
		return path_from_fd(p, arg, func);
	}
	if (r == 1) {
		/* os.PathLike: only a type with __fspath__ gets the call (its own errors stand) */
		if (!PyObject_HasAttrString((PyObject *)Py_TYPE(arg), "__fspath__"))
			return path_type_error(arg, func, allow_fd);
		PyObject *fs = PyOS_FSPath(arg);
		if (!fs)
			return -1;
		p->owned = fs;
		r = path_from_str_or_bytes(p, fs);
	}
	if (r < 0) {
		fsc_py_path_release(p);
		return -1;
	}
	if ((size_t)p->len != strlen(p->str)) {
		PyErr_SetString(PyExc_ValueError, "embedded null byte");
		fsc_py_path_release(p);
		return -1;
	}
	return 0;
}

void fsc_py_path_release(struct fsc_py_path *p)
{
	Py_CLEAR(p->owned2);
	Py_CLEAR(p->owned);
	p->str = NULL;
}
