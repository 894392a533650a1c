/* os.stat_result from a struct stat, exactly as os.stat builds it (CPython's posixmodule,
 * _pystat_fromstructstat and fill_time), written directly into the structseq: the type is
 * taken once from os.stat_result and its field layout checked at import. A Python whose
 * os.stat_result has another layout gets the same values through the type's constructor
 * (slower, still exact). */
#include "fsc_py.h"

#include <stddef.h>
#include <structmember.h> /* PyMemberDef: where os.stat_result keeps each field */

/* The layout of os.stat_result on Linux: 7 integer fields, the three integer times (unnamed),
 * then the float times, the nanosecond times, blksize, blocks and rdev. */
enum {
	RES_MODE,
	RES_INO,
	RES_DEV,
	RES_NLINK,
	RES_UID,
	RES_GID,
	RES_SIZE,
	RES_TIME_INT,			   /* 7, 8, 9: atime, mtime, ctime as int */
	RES_TIME_FLOAT = RES_TIME_INT + 3, /* 10, 11, 12 */
	RES_TIME_NS = RES_TIME_FLOAT + 3,  /* 13, 14, 15 */
	RES_BLKSIZE = RES_TIME_NS + 3,	   /* 16 */
	RES_BLOCKS,
	RES_RDEV,
	RES_FIELDS
};

static const char *const res_named[] = {
    "st_mode",	   "st_ino",	  "st_dev",	"st_nlink",  "st_uid",	 "st_gid",   "st_size",
    NULL,	   NULL,	  NULL,		"st_atime",  "st_mtime", "st_ctime", "st_atime_ns",
    "st_mtime_ns", "st_ctime_ns", "st_blksize", "st_blocks", "st_rdev"};
_Static_assert(sizeof(res_named) / sizeof(res_named[0]) == RES_FIELDS, "one name per field");

static PyTypeObject *res_type; /* os.stat_result */
static bool res_direct;	       /* its layout is the one above: fill it in place */

static long type_size_attr(PyTypeObject *t, const char *attr)
{
	PyObject *v = PyObject_GetAttrString((PyObject *)t, attr);
	long n = v ? PyLong_AsLong(v) : -1;
	Py_XDECREF(v);
	PyErr_Clear();
	return n;
}

/* Is t's layout the one above? Every named field at its index, the right counts. */
static bool layout_known(PyTypeObject *t)
{
	if (type_size_attr(t, "n_fields") != RES_FIELDS ||
	    type_size_attr(t, "n_sequence_fields") != RES_TIME_FLOAT ||
	    type_size_attr(t, "n_unnamed_fields") != 3 || !t->tp_members)
		return false;
	int named = 0;
	for (const PyMemberDef *m = t->tp_members; m->name; m++, named++) {
		Py_ssize_t off = m->offset - (Py_ssize_t)offsetof(PyTupleObject, ob_item);
		Py_ssize_t i = off / (Py_ssize_t)sizeof(PyObject *);
		if (off < 0 || i >= RES_FIELDS || !res_named[i] || strcmp(res_named[i], m->name))
			return false;
	}
	return named == RES_FIELDS - 3;
}

int fsc_py_statres_init(PyObject *os_module)
{
	PyObject *t = PyObject_GetAttrString(os_module, "stat_result");
	if (!t)
		return -1;
	if (!PyType_Check(t)) {
		Py_DECREF(t);
		PyErr_SetString(PyExc_ImportError, "os.stat_result is not a type");
		return -1;
	}
	res_type = (PyTypeObject *)t; /* kept for the life of the process */
	res_direct = layout_known(res_type);
	return 0;
}

/* posixmodule: _PyLong_FromUid (and Gid): (uid_t)-1 is -1, others unsigned */
static PyObject *id_new(unsigned long id, unsigned long minus_one)
{
	return id == minus_one ? PyLong_FromLong(-1) : PyLong_FromUnsignedLong(id);
}

/* a device number: -1 for NODEV, else unsigned (equal to what every CPython gives for a
 * real device: those never set the top bit) */
static PyObject *dev_new(dev_t d)
{
	return d == (dev_t)-1 ? PyLong_FromLong(-1) : PyLong_FromUnsignedLongLong(d);
}

static PyObject *ns_new(time_t sec, unsigned long nsec)
{
	long long s_ns;
	if (!__builtin_mul_overflow((long long)sec, 1000000000LL, &s_ns) &&
	    !__builtin_add_overflow(s_ns, (long long)nsec, &s_ns))
		return PyLong_FromLongLong(s_ns);
	/* beyond int64 nanoseconds: the same sum in Python integers */
	PyObject *s = PyLong_FromLongLong((long long)sec);
	PyObject *billion = PyLong_FromLong(1000000000L);
	PyObject *n = PyLong_FromUnsignedLong(nsec);
	PyObject *prod = s && billion ? PyNumber_Multiply(s, billion) : NULL;
	PyObject *sum = prod && n ? PyNumber_Add(prod, n) : NULL;
	Py_XDECREF(s);
	Py_XDECREF(billion);
	Py_XDECREF(n);
	Py_XDECREF(prod);
	return sum;
}

/* posixmodule's fill_time: the int seconds, the float (same expression, so the same
 * rounding) and the nanoseconds. A time equal to one filled before (k0 < k: mtime and ctime
 * are often equal) shares its objects: integers and floats are immutable, and equal values
 * are all os.stat promises. */
static void time_fill(PyObject **f, int k, const struct timespec *ts, int k0,
		      const struct timespec *ts0)
{
	if (ts0 && ts->tv_sec == ts0->tv_sec && ts->tv_nsec == ts0->tv_nsec &&
	    f[RES_TIME_INT + k0] && f[RES_TIME_FLOAT + k0] && f[RES_TIME_NS + k0]) {
		f[RES_TIME_INT + k] = Py_NewRef(f[RES_TIME_INT + k0]);
		f[RES_TIME_FLOAT + k] = Py_NewRef(f[RES_TIME_FLOAT + k0]);
		f[RES_TIME_NS + k] = Py_NewRef(f[RES_TIME_NS + k0]);
		return;
	}
	time_t sec = ts->tv_sec;
	unsigned long nsec = (unsigned long)ts->tv_nsec;
	f[RES_TIME_INT + k] = PyLong_FromLongLong((long long)sec);
	f[RES_TIME_FLOAT + k] = PyFloat_FromDouble(sec + nsec * 1e-9);
	f[RES_TIME_NS + k] = ns_new(sec, nsec);
}

/* The last value of a field that is mostly the same from file to file (the device, the
 * block size, the mode), kept to be shared by the next result. Touched under the GIL only. */
struct recent_long {
	unsigned long long v;
	PyObject *obj;
};
static struct recent_long recent_dev, recent_blksize, recent_mode;

static PyObject *recent_new(struct recent_long *r, unsigned long long v, PyObject *fresh)
{
	if (r->obj && r->v == v) {
		Py_XDECREF(fresh);
		return Py_NewRef(r->obj);
	}
	if (fresh) {
		Py_XSETREF(r->obj, Py_NewRef(fresh));
		r->v = v;
	}
	return fresh;
}

static int fields_fill(PyObject **f, const struct stat *st)
{
	f[RES_MODE] =
	    recent_mode.obj && recent_mode.v == st->st_mode
		? Py_NewRef(recent_mode.obj)
		: recent_new(&recent_mode, st->st_mode, PyLong_FromLong((long)st->st_mode));
	f[RES_INO] = PyLong_FromUnsignedLongLong((unsigned long long)st->st_ino);
	f[RES_DEV] = recent_dev.obj && recent_dev.v == st->st_dev
			 ? Py_NewRef(recent_dev.obj)
			 : recent_new(&recent_dev, st->st_dev, dev_new(st->st_dev));
	f[RES_NLINK] = PyLong_FromLong((long)st->st_nlink);
	f[RES_UID] = id_new(st->st_uid, (uid_t)-1);
	f[RES_GID] = id_new(st->st_gid, (gid_t)-1);
	f[RES_SIZE] = PyLong_FromLongLong((long long)st->st_size);
	time_fill(f, 1, &st->st_mtim, 0, NULL);
	time_fill(f, 2, &st->st_ctim, 1, &st->st_mtim);
	time_fill(f, 0, &st->st_atim, 1, &st->st_mtim);
	unsigned long long bs = (unsigned long long)st->st_blksize;
	f[RES_BLKSIZE] =
	    recent_blksize.obj && recent_blksize.v == bs
		? Py_NewRef(recent_blksize.obj)
		: recent_new(&recent_blksize, bs, PyLong_FromLong((long)st->st_blksize));
	f[RES_BLOCKS] = PyLong_FromLong((long)st->st_blocks);
	f[RES_RDEV] = dev_new(st->st_rdev);
	for (int i = 0; i < RES_FIELDS; i++)
		if (!f[i])
			return -1;
	return 0;
}

/* Another layout: os.stat_result(first ten fields, {the named rest}). */
static PyObject *statres_by_constructor(PyObject **f)
{
	PyObject *seq = PyTuple_New(RES_TIME_FLOAT);
	PyObject *extra = PyDict_New();
	PyObject *res = NULL;
	if (!seq || !extra)
		goto out;
	for (int i = 0; i < RES_FIELDS; i++) {
		if (i < RES_TIME_FLOAT) {
			PyTuple_SET_ITEM(seq, i, f[i]);
			f[i] = NULL;
		} else if (PyDict_SetItemString(extra, res_named[i], f[i]) < 0) {
			goto out;
		}
	}
	res = PyObject_CallFunctionObjArgs((PyObject *)res_type, seq, extra, NULL);
out:
	Py_XDECREF(seq);
	Py_XDECREF(extra);
	return res;
}

PyObject *fsc_py_statres_new(const struct stat *st)
{
	PyObject *f[RES_FIELDS] = {0};
	PyObject *res = NULL;
	if (fields_fill(f, st) < 0)
		goto out;
	if (!res_direct) {
		res = statres_by_constructor(f);
		goto out;
	}
	res = PyStructSequence_New(res_type);
	if (!res)
		goto out;
	for (int i = 0; i < RES_FIELDS; i++) {
		PyStructSequence_SET_ITEM(res, i, f[i]); /* steals the reference */
		f[i] = NULL;
	}
out:
	for (int i = 0; i < RES_FIELDS; i++)
		Py_XDECREF(f[i]);
	return res;
}
