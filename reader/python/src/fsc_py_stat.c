/* Cache.stat, stat_fresh, lookup, covers and request.
 *
 * stat() answers from the table exactly when libfsc's fsc_stat does (a record that is not
 * stale, and, for stat_fresh, not polled longer ago than max_age), with what os.stat would
 * return. Everything else goes to stat(2) with the GIL released, raising as os.stat raises.
 *
 * What the table holds decides what it may answer (writer/fscd/fscd_tree_refresh.c): fscd
 * publishes what lstat(2) says about a path, never a symlink (those are removed), and a
 * negative entry for ENOENT and for ENOTDIR alike. So:
 *   - a record is both stat's and lstat's answer: its last component is not a symlink, and
 *     for such a path the two agree. follow_symlinks=False is served from the table too;
 *   - a symlink is a miss, so it goes to stat(2)/lstat(2);
 *   - a negative entry does not say which error stat(2) would give: the nearest ancestor
 *     the table knows to exist tells (a directory: ENOENT; anything else: ENOTDIR). When the
 *     table does not hold one (outside fscd's roots, a symlinked directory), stat(2) decides.
 * Relative paths never match (the table's keys are absolute) and go straight to stat(2). */
#define _GNU_SOURCE
#include "fsc_py.h"
#include "fsc_reader.h" /* fsc_reader_lookup_slot */

#include <errno.h>
#include <string.h>
#include <time.h>

#define FOR_EVER UINT64_MAX

static PyTypeObject lookup_type, info_type;

static PyStructSequence_Field lookup_fields[] = {
    {"status", "a fsc.Status: HIT, NEGATIVE, MISS or UNAVAILABLE"},
    {"stat", "the os.stat_result on a HIT, else None"},
    {"info", "a fsc.Info on HIT and NEGATIVE, else None"},
    {NULL, NULL}};
static PyStructSequence_Desc lookup_desc = {
    "fsc.Lookup", "What the table answers for a path (Cache.lookup).", lookup_fields, 3};

static PyStructSequence_Field info_fields[] = {
    {"change_seq", "table-wide sequence number of the record's last change"},
    {"verified_age", "seconds since fscd last confirmed the record"},
    {"generation", "which published table answered"},
    {"flags", "a fsc.Flag: NEGATIVE, POLLED, STALE, ..."},
    {NULL, NULL}};
static PyStructSequence_Desc info_desc = {"fsc.Info", "A record's bookkeeping (fsc_info).",
					  info_fields, 4};

int fsc_py_stat_types_init(PyObject *module)
{
	if (PyStructSequence_InitType2(&lookup_type, &lookup_desc) < 0 ||
	    PyStructSequence_InitType2(&info_type, &info_desc) < 0)
		return -1;
	if (PyModule_AddObjectRef(module, "Lookup", (PyObject *)&lookup_type) < 0 ||
	    PyModule_AddObjectRef(module, "Info", (PyObject *)&info_type) < 0)
		return -1;
	return 0;
}

static uint64_t age_ns(uint64_t verified_ns)
{
	struct timespec ts; /* the clock fscd stamps verified_ns with; vDSO, no syscall */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return now > verified_ns ? now - verified_ns : 0;
}

/* libfsc's rule (reader/fsc_lookup.c, stat_cached): may a HIT or NEGATIVE be served? */
static bool trusted(int r, const struct fsc_info *info, uint64_t max_polled_age_ns)
{
	if (r != FSC_HIT && r != FSC_NEGATIVE)
		return false;
	if (info->flags & FSC_FLAG_STALE)
		return false;
	return !(info->flags & FSC_FLAG_POLLED) || max_polled_age_ns == FOR_EVER ||
	       age_ns(info->verified_ns) <= max_polled_age_ns;
}

/* What stat(2) says for a path the table holds as negative: ENOENT, ENOTDIR, or 0 when the
 * table cannot tell (see the top of this file). */
static int negative_errno(fsc_t *c, const char *path, size_t len, uint64_t max_age_ns)
{
	char up[FSC_CHANGE_PATH_MAX];
	if (len >= sizeof(up))
		return 0;
	memcpy(up, path, len + 1);
	for (;;) {
		char *slash = memrchr(up, '/', len);
		if (!slash)
			return 0;
		if (slash == up)
			return ENOENT; /* its parent is "/" */
		*slash = '\0';
		len = (size_t)(slash - up);
		struct stat st;
		struct fsc_info info;
		int r = fsc_lookup(c, up, &st, &info);
		if (!trusted(r, &info, max_age_ns))
			return 0;
		if (r == FSC_HIT)
			return S_ISDIR(st.st_mode) ? ENOENT : ENOTDIR;
		/* negative too: missing as well, so the answer is further up */
	}
}

enum syscall_kind {
	VIA_FSC,  /* fsc_stat_fresh: asks fscd to cache a miss, then stat(2) */
	PLAIN,	  /* stat(2) */
	NOFOLLOW, /* lstat(2) */
};

/* The system call os.stat would make, with the GIL released; raises as os.stat does. */
static PyObject *stat_syscall(fsc_py_cache *self, fsc_t *c, const struct fsc_py_path *p,
			      enum syscall_kind kind, uint32_t max_age_ms)
{
	struct stat st;
	int r, err;
	if (c)
		fsc_py_cache_enter(self);
	Py_BEGIN_ALLOW_THREADS;
	if (p->fd >= 0)
		r = fstat(p->fd, &st);
	else if (kind == NOFOLLOW)
		r = lstat(p->str, &st);
	else if (kind == VIA_FSC && c)
		r = fsc_stat_fresh(c, p->str, &st, max_age_ms);
	else
		r = stat(p->str, &st);
	err = errno;
	Py_END_ALLOW_THREADS;
	if (c)
		fsc_py_cache_leave(self);
	if (r < 0) {
		errno = err;
		return p->fd >= 0 ? PyErr_SetFromErrno(PyExc_OSError)
				  : PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, p->name);
	}
	return fsc_py_statres_new(&st);
}

/* stat and stat_fresh: max_age_ms UINT32_MAX means no limit on polled records. */
static PyObject *stat_path(fsc_py_cache *self, PyObject *arg, bool follow, uint32_t max_age_ms,
			   const char *func)
{
	fsc_t *c = fsc_py_cache_handle(self);
	if (!c && PyErr_Occurred())
		return NULL;
	struct fsc_py_path p;
	if (fsc_py_path_get(&p, arg, func, true) < 0)
		return NULL;
	PyObject *res = NULL;
	if (p.fd >= 0 && !follow) {
		PyErr_Format(PyExc_ValueError, "%s: cannot use fd and follow_symlinks together",
			     func);
		goto out;
	}
	uint64_t max_ns = max_age_ms == UINT32_MAX ? FOR_EVER : max_age_ms * 1000000ull;
	enum syscall_kind kind = follow ? VIA_FSC : NOFOLLOW;
	if (c && p.fd < 0 && p.str[0] == '/') {
		struct stat st;
		struct fsc_info info;
		uint64_t slot = 0, slots = 0;
		int r = fsc_reader_lookup_slot(c, p.str, &st, &info, &slot, &slots);
		if (trusted(r, &info, max_ns)) {
			if (r == FSC_HIT) {
				/* an unchanged record: the result built from it before */
				res = fsc_py_memo_get(&self->memo, info.generation, slot,
						      info.change_seq);
				if (!res && (res = fsc_py_statres_new(&st)))
					fsc_py_memo_put(&self->memo, info.generation, slot, slots,
							info.change_seq, res);
				goto out;
			}
			int err = negative_errno(c, p.str, (size_t)p.len, max_ns);
			if (err) {
				errno = err;
				PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, p.name);
				goto out;
			}
			kind = follow ? PLAIN : NOFOLLOW; /* the table holds it: no request */
		}
	} else if (p.fd < 0 && follow) {
		kind = PLAIN; /* relative: the table never has it */
	}
	res = stat_syscall(self, c, &p, kind, max_age_ms);
out:
	fsc_py_path_release(&p);
	return res;
}

/* (path, [max_age], *, follow_symlinks=True) */
static int stat_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, Py_ssize_t npos,
		     const char *func, bool *follow)
{
	*follow = true;
	if (nargs != npos) {
		PyErr_Format(PyExc_TypeError, "%s() takes %zd positional argument%s (%zd given)",
			     func, npos, npos == 1 ? "" : "s", nargs);
		return -1;
	}
	Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	for (Py_ssize_t i = 0; i < nkw; i++) {
		PyObject *k = PyTuple_GET_ITEM(kwnames, i);
		if (!PyUnicode_Check(k) || PyUnicode_CompareWithASCIIString(k, "follow_symlinks")) {
			PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R",
				     func, k);
			return -1;
		}
		int t = PyObject_IsTrue(args[nargs + i]);
		if (t < 0)
			return -1;
		*follow = t;
	}
	return 0;
}

PyObject *fsc_py_cache_stat(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
			    PyObject *kwnames)
{
	bool follow;
	if (stat_args(args, nargs, kwnames, 1, "stat", &follow) < 0)
		return NULL;
	return stat_path((fsc_py_cache *)self, args[0], follow, UINT32_MAX, "stat");
}

PyObject *fsc_py_cache_stat_fresh(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
				  PyObject *kwnames)
{
	bool follow;
	long long ms;
	if (stat_args(args, nargs, kwnames, 2, "stat_fresh", &follow) < 0)
		return NULL;
	if (args[1] == Py_None) {
		PyErr_SetString(PyExc_TypeError, "stat_fresh: max_age must be a number of seconds");
		return NULL;
	}
	if (fsc_py_seconds_to_ms(args[1], "max_age", &ms) < 0)
		return NULL;
	uint32_t max_ms = ms >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)ms;
	return stat_path((fsc_py_cache *)self, args[0], follow, max_ms, "stat_fresh");
}

static PyObject *info_new(const struct fsc_info *info)
{
	PyObject *o = PyStructSequence_New(&info_type);
	if (!o)
		return NULL;
	PyObject *v[4] = {PyLong_FromUnsignedLongLong(info->change_seq),
			  PyFloat_FromDouble((double)age_ns(info->verified_ns) / 1e9),
			  PyLong_FromUnsignedLongLong(info->generation),
			  fsc_py_flag_new(info->flags)};
	for (int i = 0; i < 4; i++)
		PyStructSequence_SET_ITEM(o, i, v[i]);
	for (int i = 0; i < 4; i++)
		if (!v[i]) {
			Py_DECREF(o);
			return NULL;
		}
	return o;
}

static PyObject *lookup_new(int r, const struct stat *st, const struct fsc_info *info)
{
	PyObject *status = fsc_py_enums.status[r];
	PyObject *v[3] = {status ? Py_NewRef(status) : PyLong_FromLong(r),
			  r == FSC_HIT ? fsc_py_statres_new(st) : Py_NewRef(Py_None),
			  r == FSC_HIT || r == FSC_NEGATIVE ? info_new(info) : Py_NewRef(Py_None)};
	PyObject *o = PyStructSequence_New(&lookup_type);
	for (int i = 0; i < 3; i++) {
		if (!o || !v[i]) {
			for (int j = i; j < 3; j++)
				Py_XDECREF(v[j]);
			Py_XDECREF(o);
			return NULL;
		}
		PyStructSequence_SET_ITEM(o, i, v[i]);
	}
	return o;
}

PyObject *fsc_py_cache_lookup(PyObject *obj, PyObject *arg)
{
	fsc_t *c = fsc_py_cache_handle((fsc_py_cache *)obj);
	if (!c && PyErr_Occurred())
		return NULL;
	struct fsc_py_path p;
	if (fsc_py_path_get(&p, arg, "lookup", false) < 0)
		return NULL;
	struct stat st;
	struct fsc_info info;
	int r = c ? fsc_lookup(c, p.str, &st, &info) : FSC_UNAVAILABLE;
	if (r < FSC_HIT || r > FSC_UNAVAILABLE)
		r = FSC_UNAVAILABLE;
	PyObject *res = lookup_new(r, &st, &info);
	fsc_py_path_release(&p);
	return res;
}

PyObject *fsc_py_cache_covers(PyObject *obj, PyObject *arg)
{
#ifdef FSC_KIND_CREATE
	fsc_t *c = fsc_py_cache_handle((fsc_py_cache *)obj);
	if (!c && PyErr_Occurred())
		return NULL;
	struct fsc_py_path p;
	if (fsc_py_path_get(&p, arg, "covers", false) < 0)
		return NULL;
	int r = c ? fsc_covers(c, p.str) : 0;
	fsc_py_path_release(&p);
	if (r < 0) {
		PyErr_SetString(PyExc_ValueError, "covers: the path must be absolute");
		return NULL;
	}
	return PyBool_FromLong(r);
#else
	(void)obj;
	(void)arg;
	PyErr_SetString(PyExc_NotImplementedError, "this libfsc has no fsc_covers");
	return NULL;
#endif
}

PyObject *fsc_py_cache_request(PyObject *obj, PyObject *arg)
{
	fsc_t *c = fsc_py_cache_handle((fsc_py_cache *)obj);
	if (!c && PyErr_Occurred())
		return NULL;
	struct fsc_py_path p;
	if (fsc_py_path_get(&p, arg, "request", false) < 0)
		return NULL;
	int r = c ? fsc_request(c, p.str) : -1;
	int err = c ? errno : ECONNREFUSED;
	PyObject *res = NULL;
	if (r < 0) {
		errno = err;
		PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, p.name);
	} else {
		res = Py_NewRef(Py_None);
	}
	fsc_py_path_release(&p);
	return res;
}
