/* fsc-watch's COMMAND as a process group, and which fscd it reads: --on-busy restart with an
 * `sh -c` leader whose child holds a TCP port (after the restart the new command binds the
 * same port: the old child is gone first, even one that ignores the stop signal); SIGTERM
 * and Ctrl-C to fsc-watch leave no process of the group; queue gives exactly one more run;
 * signal sends the signal and runs nothing; standalone (a private fscd, nothing left of it
 * after exit); shared (the test's fscd serves: fsc-watch starts none; restarting that fscd
 * loses the cursor: exactly one run, its FSC_CHANGED marked incomplete). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc_harness.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"
#include "fsc_test_watch.h"

#define PYTHON "/usr/bin/python3"

/* A TCP port on 127.0.0.1 nobody listens on now. */
static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

/* The pid on line `line` (from 1) of a "word pid" log. */
static pid_t logged_pid(const char *path, int line, char *word, size_t size)
{
	FILE *f = fopen(path, "r");
	char buf[256], w[64] = "";
	int pid = 0;
	assert_non_null(f);
	for (int i = 0; i < line && fgets(buf, sizeof(buf), f); i++)
		if (i == line - 1 && sscanf(buf, "%63s %d", w, &pid) != 2)
			pid = 0;
	fclose(f);
	snprintf(word, size, "%s", w);
	assert_true(pid > 0);
	return pid;
}

/* The old server's worker ignores SIGTERM and holds the port until SIGKILL: the restarted
 * command binds the same port only if fsc-watch waited for the whole group to be gone. */
static void test_restart_frees_port(void **state)
{
	(void)state;
	if (access(PYTHON, X_OK) != 0)
		skip();
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_port");
	char holder[600], result[600], script[2048];
	snprintf(holder, sizeof(holder), "%s/holder.py", w.base);
	snprintf(result, sizeof(result), "%s/result", w.base);
	fsc_test_write_file(holder,
			    "import os, signal, socket, sys, time\n"
			    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
			    "s = socket.socket()\n"
			    "try:\n"
			    "    s.bind(('127.0.0.1', int(sys.argv[1])))\n"
			    "    s.listen()\n"
			    "    r = 'bound'\n"
			    "except OSError:\n"
			    "    r = 'busy'\n"
			    "with open(sys.argv[2], 'a') as f:\n"
			    "    f.write('%s %d\\n' % (r, os.getpid()))\n"
			    "time.sleep(1000)\n",
			    O_EXCL);
	snprintf(script, sizeof(script), "%s %s %d %s & wait", PYTHON, holder, free_port(), result);
	const char *args[] = {"-w", w.root, "--private", "-r", "--stop-timeout", "300ms", "--",
			      "sh", "-c",   script,	 NULL};
	fsc_test_watch_start(&w, args);
	char word[64];
	fsc_test_watch_wait_lines(&w, result, 1);
	pid_t first = logged_pid(result, 1, word, sizeof(word));
	assert_string_equal(word, "bound");
	fsc_test_write_file(fsc_test_watch_path(&w, "app.c"), "x", O_EXCL);
	fsc_test_watch_wait_lines(&w, result, 2);
	pid_t second = logged_pid(result, 2, word, sizeof(word));
	assert_string_equal(word, "bound"); /* "busy": started while the old one held it */
	assert_true(second != first);
	assert_false(fsc_test_watch_alive(first));
	fsc_test_watch_settle(&w, result, 2);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	assert_false(fsc_test_watch_alive(second));
	fsc_test_watch_cleanup(&w);
}

/* SIGTERM, or Ctrl-C's SIGINT, to fsc-watch: nothing of COMMAND's group is left when it has
 * exited; a member ignoring the stop signal is killed after --stop-timeout. */
static void stop_leaves_no_group(int sig, bool ignore_term)
{
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_stop");
	char pids[600], script[2400];
	snprintf(pids, sizeof(pids), "%s/pids", w.base);
	snprintf(script, sizeof(script), "%ssleep 1000 & echo $$ $! > %s.tmp; mv %s.tmp %s; wait",
		 ignore_term ? "trap '' TERM; " : "", pids, pids, pids);
	const char *args[] = {"-w", w.root, "--private", "--stop-timeout", "200ms",
			      "--", "sh",   "-c",	 script,	   NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_lines(&w, pids, 1);
	int leader = 0, child = 0;
	FILE *f = fopen(pids, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d %d", &leader, &child), 2);
	fclose(f);
	assert_true(fsc_test_watch_alive(leader) && fsc_test_watch_alive(child));
	uint64_t t0 = fsc_test_now_ms();
	assert_int_equal(fsc_test_watch_stop(&w, sig), 0);
	if (ignore_term)
		assert_true(fsc_test_now_ms() - t0 >= 200); /* SIGKILL came at the timeout */
	assert_false(fsc_test_watch_alive(leader));
	assert_false(fsc_test_watch_alive(child));
	errno = 0;
	assert_int_equal(kill(-leader, 0), -1); /* the group is empty */
	assert_int_equal(errno, ESRCH);
	fsc_test_watch_cleanup(&w);
}

static void test_sigterm_stops_group(void **state)
{
	(void)state;
	stop_leaves_no_group(SIGTERM, false);
	stop_leaves_no_group(SIGINT, false);
	stop_leaves_no_group(SIGTERM, true);
}

/* --on-busy queue (the default): changes while COMMAND runs make exactly one more run. */
static void test_busy_queue(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_queue");
	char starts[600], script[2400];
	snprintf(starts, sizeof(starts), "%s/starts", w.base);
	snprintf(script, sizeof(script), "echo start >> %s; sleep 0.8; %s", starts, w.logger);
	const char *args[] = {"-w", w.root, "--private", "--", "sh", "-c", script, NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_lines(&w, starts, 1);
	for (int i = 0; i < 3; i++) {
		char rel[16];
		snprintf(rel, sizeof(rel), "q%d", i);
		fsc_test_write_file(fsc_test_watch_path(&w, rel), "x", O_EXCL);
		fsc_test_pause_ms(100); /* three separate changes while it runs */
	}
	fsc_test_watch_wait_lines(&w, w.runs, 2);
	fsc_test_watch_settle(&w, starts, 2);
	assert_int_equal(fsc_test_watch_lines(starts), 2);
	char want[1600];
	snprintf(want, sizeof(want), "%s\n%s\n%s", fsc_test_watch_path(&w, "q0"),
		 fsc_test_watch_path(&w, "q1"), fsc_test_watch_path(&w, "q2"));
	assert_string_equal(fsc_test_watch_last_changed(&w), want);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* --signal HUP: the running command gets the signal, and no new run starts. */
static void test_busy_signal(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_signal");
	char hups[600], script[2400];
	snprintf(hups, sizeof(hups), "%s/hups", w.base);
	snprintf(script, sizeof(script),
		 "trap 'echo hup >> %s' HUP; %s; while :; do sleep 0.05; done", hups, w.logger);
	const char *args[] = {"-w", w.root, "--private", "--signal", "HUP",
			      "--", "sh",   "-c",	 script,     NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_lines(&w, w.runs, 1);
	fsc_test_write_file(fsc_test_watch_path(&w, "s"), "x", O_EXCL);
	fsc_test_watch_wait_lines(&w, hups, 1);
	fsc_test_watch_settle(&w, hups, 1);
	assert_int_equal(fsc_test_watch_lines(w.runs), 1);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* --on-busy do-nothing: a change while COMMAND runs is forgotten (no signal, no new run);
 * once it has ended, a change runs it again. */
static void test_busy_do_nothing(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_nothing");
	char gate[600], script[2400];
	snprintf(gate, sizeof(gate), "%s/gate", w.base);
	/* each run waits until the test removes the gate file */
	snprintf(script, sizeof(script), "%s; echo open > %s; while [ -e %s ]; do sleep 0.02; done",
		 w.logger, gate, gate);
	const char *args[] = {"-w", w.root, "--private", "--on-busy", "do-nothing",
			      "--", "sh",   "-c",	 script,      NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_lines(&w, w.runs, 1);
	fsc_test_write_file(fsc_test_watch_path(&w, "while-busy"), "x", O_EXCL);
	fsc_test_watch_settle(&w, w.runs, 1);
	fsc_test_watch_wait_lines(&w, gate, 1);
	assert_int_equal(unlink(gate), 0); /* the run ends */
	fsc_test_watch_settle(&w, w.runs, 1);
	fsc_test_write_file(fsc_test_watch_path(&w, "idle"), "x", O_EXCL);
	fsc_test_watch_wait_lines(&w, w.runs, 2);
	assert_string_equal(fsc_test_watch_last_changed(&w), fsc_test_watch_path(&w, "idle"));
	fsc_test_watch_wait_lines(&w, gate, 1);
	assert_int_equal(unlink(gate), 0);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	fsc_test_watch_cleanup(&w);
}

/* No fscd serves the tree: a private one starts, serves the run, and leaves nothing. */
static void test_standalone(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_alone");
	const char *args[] = {"-w", w.root, "-v", "--", "sh", "-c", w.logger, NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_lines(&w, w.runs, 1);
	const char *err = fsc_test_read_file(w.err);
	const char *said = strstr(err, "started a private fscd (");
	if (!said)
		fail_msg("no private fscd announced: %s", err);
	int fscd = 0;
	char name[80] = "";
	const char *p = strstr(said, ", pid ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, ", pid %d, table %79[^)])", &fscd, name), 2);
	assert_true(fsc_test_watch_alive(fscd));
	assert_int_equal(fsc_test_shm_leftovers(name, false) > 0, true); /* it serves */
	fsc_test_write_file(fsc_test_watch_path(&w, "x"), "x", O_EXCL);
	fsc_test_watch_wait_lines(&w, w.runs, 2);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	assert_false(fsc_test_watch_alive(fscd));
	assert_int_equal(fsc_test_shm_leftovers(name, false), 0);
	assert_int_equal(fsc_harness_remove_leftovers(name), 0);
	fsc_test_watch_cleanup(&w);
}

/* The private fscd dies (SIGKILL): fsc-watch says so, stops COMMAND's group and exits 1. */
static void test_private_fscd_dies(void **state)
{
	(void)state;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_dies");
	char pids[600], script[2400];
	snprintf(pids, sizeof(pids), "%s/pids", w.base);
	snprintf(script, sizeof(script), "sleep 1000 & echo $$ $! > %s.tmp; mv %s.tmp %s; wait",
		 pids, pids, pids);
	const char *args[] = {"-w", w.root, "-v", "--private", "--", "sh", "-c", script, NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_lines(&w, pids, 1);
	int fscd = 0, leader = 0, child = 0;
	char name[80] = "";
	const char *p = strstr(fsc_test_read_file(w.err), "started a private fscd (");
	assert_non_null(p);
	p = strstr(p, ", pid ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, ", pid %d, table %79[^)])", &fscd, name), 2);
	FILE *f = fopen(pids, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d %d", &leader, &child), 2);
	fclose(f);
	assert_int_equal(kill(fscd, SIGKILL), 0);
	assert_int_equal(fsc_test_watch_wait_exit(&w), 1);
	assert_non_null(strstr(fsc_test_read_file(w.err), "the private fscd exited"));
	assert_false(fsc_test_watch_alive(leader));
	assert_false(fsc_test_watch_alive(child));
	fsc_harness_remove_leftovers(name); /* what a SIGKILLed fscd leaves */
	fsc_test_shm_leftovers(name, true);
	fsc_test_watch_cleanup(&w);
}

/* The children of pid named fscd (from /proc). */
static int fscd_children(pid_t pid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *close_paren = strrchr(buf, ')');
		int ppid = 0;
		char st;
		if (close_paren && sscanf(close_paren + 2, "%c %d", &st, &ppid) == 2 &&
		    ppid == pid && strstr(buf, "(fscd)"))
			n++;
	}
	closedir(d);
	return n;
}

/* An fscd the test started serves the tree: fsc-watch reads its journal and starts none;
 * that fscd restarting loses the cursor: one run, "anything may have changed". */
static struct fsc_test_daemon shared_fscd;

/* After a failure too: an fscd left running would hold ctest's output pipe open. */
static int shared_fscd_teardown(void **state)
{
	(void)state;
	if (shared_fscd.fscd > 0 && fsc_test_watch_alive(shared_fscd.fscd))
		fsc_test_fscd_stop(shared_fscd.fscd);
	shared_fscd.fscd = 0;
	return 0;
}

static void test_shared_and_cursor_lost(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "watch_shared");
	fsc_test_daemon_start(&d, NULL, 10000);
	shared_fscd.fscd = d.fscd;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_shared");
	snprintf(w.root, sizeof(w.root), "%s", d.root);
	const char *args[] = {"-w", w.root, "--name", d.name,	"-v",
			      "--", "sh",   "-c",     w.logger, NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_lines(&w, w.runs, 1);
	fsc_test_watch_wait_text(&w, w.err, "reading the journal of table");
	assert_int_equal(fscd_children(w.pid), 0);
	assert_null(strstr(fsc_test_read_file(w.err), "private fscd"));
	fsc_test_write_file(fsc_test_watch_path(&w, "shared.c"), "x", O_EXCL);
	fsc_test_watch_wait_lines(&w, w.runs, 2);
	assert_string_equal(fsc_test_watch_last_changed(&w), fsc_test_watch_path(&w, "shared.c"));

	/* fscd restarts: the journal is a new one, the cursor lost */
	fsc_close(d.c);
	assert_int_equal(fsc_test_fscd_stop(d.fscd), 0);
	fsc_test_daemon_start(&d, NULL, 10000);
	shared_fscd.fscd = d.fscd;
	fsc_test_watch_wait_lines(&w, w.runs, 3);
	fsc_test_watch_settle(&w, w.runs, 3);
	char want[600];
	snprintf(want, sizeof(want), "%s\n...", w.root);
	assert_string_equal(fsc_test_watch_last_changed(&w), want);
	assert_int_equal(fscd_children(w.pid), 0);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	w.root[0] = '\0';
	fsc_test_watch_cleanup(&w);
	shared_fscd.fscd = 0;
	fsc_test_daemon_stop(&d);
}

/* Waits until every thread of pid is stopped (state T): SIGSTOP's delivery is not done when
 * kill() returns. */
static void wait_stopped(pid_t pid)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	uint64_t end = fsc_test_now_ms() + 10000;
	for (;;) {
		DIR *d = opendir(dir);
		struct dirent *e;
		bool all = d != NULL;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[400], buf[512] = "";
			snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
			FILE *f = fopen(path, "r");
			size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
			if (f)
				fclose(f);
			buf[n] = '\0';
			char *paren = strrchr(buf, ')');
			all &= paren && paren[1] == ' ' && paren[2] == 'T';
		}
		if (d)
			closedir(d);
		if (all)
			return;
		if (fsc_test_now_ms() > end)
			fail_msg("process %d did not stop", (int)pid);
		fsc_test_pause_ms(2);
	}
}

/* The ring overruns while fsc-watch is stopped (SIGSTOP) and 2000 files are made: its cursor
 * is lost, and that is one run marked "anything may have changed", never a miss. */
static void test_ring_overrun(void **state)
{
	(void)state;
	struct fsc_test_daemon d;
	fsc_test_daemon_prepare(&d, "watch_ring");
	d.extra[0] = "--journal-kib";
	d.extra[1] = "64";
	fsc_test_daemon_start(&d, NULL, 10000);
	shared_fscd.fscd = d.fscd;
	struct fsc_test_watch w;
	fsc_test_watch_prepare(&w, "watch_ring");
	snprintf(w.root, sizeof(w.root), "%s", d.root);
	const char *args[] = {"-w", w.root, "--name", d.name, "--", "sh", "-c", w.logger, NULL};
	fsc_test_watch_start(&w, args);
	fsc_test_watch_wait_lines(&w, w.runs, 1);
	assert_int_equal(kill(w.pid, SIGSTOP), 0);
	wait_stopped(w.pid);
	for (int i = 0; i < 2000; i++) { /* 2000 entries of ~80 bytes: more than 64 KiB */
		char rel[32];
		snprintf(rel, sizeof(rel), "ring%04d", i);
		fsc_test_write_file(fsc_test_watch_path(&w, rel), "x", O_EXCL);
	}
	fsc_test_settle(d.c, d.root, 10000); /* fscd has journalled them all */
	assert_int_equal(kill(w.pid, SIGCONT), 0);
	fsc_test_watch_wait_lines(&w, w.runs, 2);
	fsc_test_watch_settle(&w, w.runs, 2);
	/* the root and the marker only: the entries were gone before fsc-watch read any (a
	 * list of 1024 paths would mean the ring held them: no overrun tested) */
	char want[600];
	snprintf(want, sizeof(want), "%s\n...", w.root);
	assert_string_equal(fsc_test_watch_last_changed(&w), want);
	assert_int_equal(fsc_test_watch_stop(&w, SIGTERM), 0);
	w.root[0] = '\0';
	fsc_test_watch_cleanup(&w);
	shared_fscd.fscd = 0;
	fsc_test_daemon_stop(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_restart_frees_port),
	    cmocka_unit_test(test_sigterm_stops_group),
	    cmocka_unit_test(test_busy_queue),
	    cmocka_unit_test(test_busy_signal),
	    cmocka_unit_test(test_busy_do_nothing),
	    cmocka_unit_test(test_standalone),
	    cmocka_unit_test(test_private_fscd_dies),
	    cmocka_unit_test_teardown(test_shared_and_cursor_lost, shared_fscd_teardown),
	    cmocka_unit_test_teardown(test_ring_overrun, shared_fscd_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
