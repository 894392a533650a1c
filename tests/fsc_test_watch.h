/* Running the real fsc-watch in tests: a temporary tree to watch, fsc-watch's output in
 * files, a COMMAND that logs each run, and waits on those logs with timeouts (a failure
 * shows fsc-watch's stderr). */
#ifndef FSC_TEST_WATCH_H
#define FSC_TEST_WATCH_H

#include <stdbool.h>
#include <sys/types.h>

/* The debounce the tests give (--debounce: wider than the default 50 ms, so that a save whose
 * steps a loaded machine spreads out is still one burst), and how long after a run they
 * watch for a second one that must not come: a few debounce periods plus fscd's own
 * batching (50 ms) */
#define FSC_TEST_WATCH_DEBOUNCE_MS 100
#define FSC_TEST_WATCH_SETTLE_MS   (8 * FSC_TEST_WATCH_DEBOUNCE_MS + 100)
#define FSC_TEST_WATCH_TIMEOUT_MS  15000

struct fsc_test_watch {
	char *base;	   /* a temporary directory holding the rest */
	char root[256];	   /* base/tree: what fsc-watch watches */
	char runs[256];	   /* the logger appends a line per run */
	char changed[256]; /* the logger appends FSC_CHANGED (or "<unset>"), then "--" */
	char out[256];	   /* fsc-watch's stdout */
	char err[256];	   /* fsc-watch's stderr */
	char logger[1024]; /* a sh -c script that logs a run as above */
	pid_t pid;	   /* fsc-watch, while it runs */
};

/* Makes base, an empty tree and the logger script. */
void fsc_test_watch_prepare(struct fsc_test_watch *w, const char *tag);
/* Starts fsc-watch with args (NULL-terminated, without argv[0]); stdout and stderr to files. */
void fsc_test_watch_start(struct fsc_test_watch *w, const char *const *args);
/* fsc-watch -w ROOT --debounce 100 --private [extra...] -- sh -c LOGGER; waits for its
 * first run (so its cursor is taken). extra is NULL-terminated (may be NULL). */
void fsc_test_watch_start_logging(struct fsc_test_watch *w, const char *const *extra);
/* Lines in a file (0 if it does not exist). */
int fsc_test_watch_lines(const char *path);
/* Waits until path has at least n lines; fails the test (with fsc-watch's stderr) if not. */
void fsc_test_watch_wait_lines(const struct fsc_test_watch *w, const char *path, int n);
/* Watches path for FSC_TEST_WATCH_SETTLE_MS: fails the test if it grows past n lines. */
void fsc_test_watch_settle(const struct fsc_test_watch *w, const char *path, int n);
/* Waits until path contains needle; fails the test if it does not. */
void fsc_test_watch_wait_text(const struct fsc_test_watch *w, const char *path, const char *needle);
/* The FSC_CHANGED of the last logged run (a static buffer). */
const char *fsc_test_watch_last_changed(const struct fsc_test_watch *w);
/* Sends sig to fsc-watch and reaps it (fails the test after the timeout): its exit status,
 * or 128 + the signal that killed it. */
int fsc_test_watch_stop(struct fsc_test_watch *w, int sig);
/* Waits for fsc-watch to exit on its own: its status as above. */
int fsc_test_watch_wait_exit(struct fsc_test_watch *w);
/* Stops fsc-watch if it runs, removes base. */
void fsc_test_watch_cleanup(struct fsc_test_watch *w);
/* root/rel in one of 8 rotating static buffers. */
const char *fsc_test_watch_path(const struct fsc_test_watch *w, const char *rel);
/* Does process pid still exist (a zombie counts)? */
bool fsc_test_watch_alive(pid_t pid);

#endif
