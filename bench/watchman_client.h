/* A minimal Watchman client for the head-to-head benchmark (watchman_h2h): runs a private
 * watchman server (its own socket, state, log and pid files, and an empty config file, so a
 * user's watchman is never touched) and talks to it over its Unix socket in the JSON
 * protocol: one JSON array per request line, one JSON object per reply line. Replies are read
 * with a small scanner that finds the few keys the benchmark needs; it is not a JSON parser.
 */
#ifndef WATCHMAN_CLIENT_H
#define WATCHMAN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A watchman server this process started. */
struct wm_server {
	pid_t pid;
	char sock[108]; /* sun_path */
	char log[512];
	char argv_text[1024]; /* the command line, for the report */
};

/* Runs `watchman --foreground --no-save-state --sockname=DIR/sock --statefile=DIR/state
 * --logfile=DIR/log --pidfile=DIR/pid` with WATCHMAN_CONFIG_FILE=DIR/watchman.json (written
 * as "{}") and its stdout and stderr in DIR/out; it gets SIGTERM if this process dies.
 * Returns 0, or -1 (state_dir too long for a socket path, or fork failed). */
int wm_server_start(struct wm_server *s, const char *watchman, const char *state_dir);
/* Asks the server to shut down (shutdown-server on a fresh connection), then SIGTERM and
 * SIGKILL if it has not exited in 5 s. Returns its wait status. */
int wm_server_stop(struct wm_server *s);

/* One connection. Reply lines live in buf until the next read. */
struct wm_conn {
	int fd;
	char *buf;
	size_t cap, start, end; /* unread bytes are buf[start..end) */
};
/* Connects to sock, retrying until timeout_ns while server (if > 0) is alive. 0 or -1. */
int wm_conn_open(struct wm_conn *c, const char *sock, pid_t server, uint64_t timeout_ns);
void wm_conn_close(struct wm_conn *c);
/* Sends request (one JSON value, no newline) and the newline, in one system call. */
int wm_conn_send(struct wm_conn *c, const char *request);
/* The next reply line, NUL-terminated, without its newline; NULL on EOF, error or when
 * timeout_ms (-1: block, bounded by a 90 s receive timeout) passes without one. */
const char *wm_conn_read_line(struct wm_conn *c, int timeout_ms);
/* Sends request and returns the first reply line that is not a unilateral message
 * (subscription notifications and logs have "unilateral":true). */
const char *wm_conn_call(struct wm_conn *c, const char *request);

/* Scanner. The value of the first object member called key anywhere in json (strings are
 * skipped properly, nesting is not tracked), or NULL. */
const char *wm_json_value(const char *json, const char *key);
bool wm_json_int(const char *json, const char *key, long long *out);
/* Copies a string value (escapes are kept as they are); false if absent or not a string. */
bool wm_json_string(const char *json, const char *key, char *out, size_t size);
/* Writes s as the inside of a JSON string (quotes and backslashes escaped). -1 if too long. */
int wm_json_escape(char *out, size_t size, const char *s);

/* The file of a query answer or subscription notification whose fields include "size" and
 * "mtime_ms": found is false if "files" is empty. -1 for an error reply or no "files". */
struct wm_file {
	bool found;
	long long size, mtime_ms;
};
int wm_reply_file(const char *reply, struct wm_file *f);
/* Number of elements of the reply's "files" array, -1 if there is none. */
long wm_reply_count_files(const char *reply);

#endif
