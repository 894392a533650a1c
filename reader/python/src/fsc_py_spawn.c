/* fsc._fsc._spawn: start the private fscd of FStatCache.start as a child process.
 *
 * In C rather than subprocess because of one thing subprocess cannot do safely: have the
 * kernel send fscd SIGTERM when its parent dies (PR_SET_PDEATHSIG), so that a Python killed
 * by a signal, whose atexit handlers never run, leaves no fscd behind. The death signal
 * follows the thread that forked, so the Python layer asks for it only from the main thread.
 * Between fork and exec the child makes async-signal-safe calls only. */
#define _GNU_SOURCE
#include "fsc_py.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static void child_exec(char *const *argv, int log_fd, bool deathsig, pid_t parent)
{
	if (deathsig) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent) /* the parent died before the signal was armed */
			_exit(1);
	}
	/* its own process group: Ctrl-C in the terminal is Python's to handle, and Python
	 * stops fscd (FStatCache.close) */
	setpgid(0, 0);
	/* Python ignores SIGPIPE and SIGXFSZ; fscd should get the defaults */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != STDIN_FILENO) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	if (log_fd >= 0) {
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
	}
	execv(argv[0], argv);
	_exit(127);
}

PyObject *fsc_py_spawn(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
	(void)module;
	if (nargs != 3 || !PyList_Check(args[0])) {
		PyErr_SetString(PyExc_TypeError, "_spawn(argv: list, log_fd: int, deathsig: bool)");
		return NULL;
	}
	int log_fd = PyLong_AsLong(args[1]);
	int deathsig = PyObject_IsTrue(args[2]);
	if ((log_fd == -1 && PyErr_Occurred()) || deathsig < 0)
		return NULL;
	Py_ssize_t n = PyList_GET_SIZE(args[0]);
	if (n < 1) {
		PyErr_SetString(PyExc_ValueError, "_spawn: empty argv");
		return NULL;
	}
	PyObject **bytes = PyMem_Calloc((size_t)n, sizeof(PyObject *));
	char **argv = PyMem_Calloc((size_t)n + 1, sizeof(char *));
	PyObject *res = NULL;
	if (!bytes || !argv) {
		PyErr_NoMemory();
		goto out;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		if (!PyUnicode_FSConverter(PyList_GET_ITEM(args[0], i), &bytes[i]))
			goto out;
		argv[i] = PyBytes_AS_STRING(bytes[i]);
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child_exec(argv, log_fd, deathsig, parent);
	if (pid < 0)
		PyErr_SetFromErrno(PyExc_OSError);
	else
		res = PyLong_FromLong(pid);
out:
	for (Py_ssize_t i = 0; bytes && i < n; i++)
		Py_XDECREF(bytes[i]);
	PyMem_Free(bytes);
	PyMem_Free(argv);
	return res;
}
