#define _GNU_SOURCE
#include "watchman_client.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fscd_bench_util.h"

#define WM_RECV_TIMEOUT_S 90 /* above watchman's default 60 s sync_timeout */
#define WM_STOP_WAIT_NS	  (5 * FSCD_BENCH_NS_PER_S)
#define WM_BUF_INITIAL	  65536

static int wm_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t len = (ssize_t)strlen(text);
	int ok = write(fd, text, (size_t)len) == len;
	close(fd);
	return ok ? 0 : -1;
}

static void wm_exec_child(const char *watchman, char *const *argv, const char *out)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	execvp(watchman, argv);
	_exit(127);
}

int wm_server_start(struct wm_server *s, const char *watchman, const char *state_dir)
{
	char sockname[sizeof(s->sock) + 16], statefile[600], logfile[600], pidfile[600];
	char config[600], out[600];
	memset(s, 0, sizeof(*s));
	if (snprintf(s->sock, sizeof(s->sock), "%s/sock", state_dir) >= (int)sizeof(s->sock))
		return -1;
	snprintf(s->log, sizeof(s->log), "%s/log", state_dir);
	snprintf(sockname, sizeof(sockname), "--sockname=%s", s->sock);
	snprintf(statefile, sizeof(statefile), "--statefile=%s/state", state_dir);
	snprintf(logfile, sizeof(logfile), "--logfile=%s", s->log);
	snprintf(pidfile, sizeof(pidfile), "--pidfile=%s/pid", state_dir);
	snprintf(config, sizeof(config), "%s/watchman.json", state_dir);
	snprintf(out, sizeof(out), "%s/out", state_dir);
	if (wm_write_file(config, "{}\n") < 0)
		return -1;
	char *argv[] = {(char *)watchman, "--foreground", "--no-save-state", sockname,
			statefile,	  logfile,	  pidfile,	     NULL};
	int len = snprintf(s->argv_text, sizeof(s->argv_text), "WATCHMAN_CONFIG_FILE=%s", config);
	for (int i = 0; argv[i] && len >= 0 && len < (int)sizeof(s->argv_text); i++)
		len += snprintf(s->argv_text + len, sizeof(s->argv_text) - (size_t)len, " %s",
				argv[i]);
	pid_t parent = getpid();
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		if (getppid() != parent || setenv("WATCHMAN_CONFIG_FILE", config, 1) < 0)
			_exit(1);
		wm_exec_child(watchman, argv, out);
	}
	return 0;
}

static bool wm_reaped(pid_t pid, int *status, uint64_t wait_ns)
{
	uint64_t end = fsc_harness_now_ns() + wait_ns;
	do {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		fsc_harness_sleep_ns(FSCD_BENCH_NS_PER_MS);
	} while (fsc_harness_now_ns() < end);
	return false;
}

int wm_server_stop(struct wm_server *s)
{
	int status = -1;
	if (s->pid <= 0)
		return status;
	struct wm_conn c;
	if (wm_conn_open(&c, s->sock, s->pid, FSCD_BENCH_NS_PER_S) == 0) {
		wm_conn_call(&c, "[\"shutdown-server\"]");
		wm_conn_close(&c);
	}
	if (!wm_reaped(s->pid, &status, WM_STOP_WAIT_NS)) {
		kill(s->pid, SIGTERM);
		if (!wm_reaped(s->pid, &status, WM_STOP_WAIT_NS)) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
		}
	}
	s->pid = 0;
	return status;
}

int wm_conn_open(struct wm_conn *c, const char *sock, pid_t server, uint64_t timeout_ns)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(sock) >= sizeof(addr.sun_path))
		return -1;
	strcpy(addr.sun_path, sock);
	uint64_t end = fsc_harness_now_ns() + timeout_ns;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			struct timeval tv = {.tv_sec = WM_RECV_TIMEOUT_S};
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			c->fd = fd;
			break;
		}
		close(fd);
		int status;
		if (fsc_harness_now_ns() > end || (server > 0 && waitpid(server, &status, WNOHANG)))
			return -1;
		fsc_harness_sleep_ns(10 * FSCD_BENCH_NS_PER_MS);
	}
	c->cap = WM_BUF_INITIAL;
	c->buf = malloc(c->cap);
	return c->buf ? 0 : -1;
}

void wm_conn_close(struct wm_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

int wm_conn_send(struct wm_conn *c, const char *request)
{
	size_t len = strlen(request);
	struct iovec iov[2] = {{(void *)request, len}, {"\n", 1}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	if (n < 0)
		return -1;
	for (size_t done = (size_t)n; done < len + 1;) { /* rare: a short write */
		const char *rest = done < len ? request + done : "\n";
		ssize_t m = send(c->fd, rest, done < len ? len - done : 1, MSG_NOSIGNAL);
		if (m <= 0)
			return -1;
		done += (size_t)m;
	}
	return 0;
}

/* Makes room for more input: drops consumed bytes, doubles the buffer when it is full. */
static int wm_conn_make_room(struct wm_conn *c)
{
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end + 1 < c->cap)
		return 0;
	char *bigger = realloc(c->buf, c->cap * 2);
	if (!bigger)
		return -1;
	c->buf = bigger;
	c->cap *= 2;
	return 0;
}

const char *wm_conn_read_line(struct wm_conn *c, int timeout_ms)
{
	uint64_t end = fsc_harness_now_ns() +
		       (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * FSCD_BENCH_NS_PER_MS;
	size_t scanned = c->start;
	for (;;) {
		char *nl = memchr(c->buf + scanned, '\n', c->end - scanned);
		if (nl) {
			*nl = '\0';
			const char *line = c->buf + c->start;
			c->start = (size_t)(nl - c->buf) + 1;
			return line;
		}
		scanned = c->end - c->start; /* offset after the compaction below */
		if (wm_conn_make_room(c) < 0)
			return NULL;
		if (timeout_ms >= 0) {
			uint64_t now = fsc_harness_now_ns();
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			int wait_ms =
			    now >= end ? 0 : (int)((end - now) / FSCD_BENCH_NS_PER_MS) + 1;
			if (poll(&p, 1, wait_ms) <= 0)
				return NULL;
		}
		ssize_t n = read(c->fd, c->buf + c->end, c->cap - 1 - c->end);
		if (n <= 0)
			return NULL;
		c->end += (size_t)n;
	}
}

const char *wm_conn_call(struct wm_conn *c, const char *request)
{
	if (wm_conn_send(c, request) < 0)
		return NULL;
	for (;;) {
		const char *line = wm_conn_read_line(c, -1);
		bool unilateral;
		if (!line)
			return NULL;
		const char *u = wm_json_value(line, "unilateral");
		unilateral = u && strncmp(u, "true", 4) == 0;
		if (!unilateral)
			return line;
	}
}

/* p is at the opening quote; returns the character after the closing one, or NULL. */
static const char *wm_json_skip_string(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && !*++p)
			return NULL;
		if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *wm_json_skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

const char *wm_json_value(const char *json, const char *key)
{
	size_t key_len = strlen(key);
	const char *p = json;
	while (p && *p) {
		if (*p != '"') {
			p++;
			continue;
		}
		const char *end = wm_json_skip_string(p);
		if (!end)
			return NULL;
		const char *colon = wm_json_skip_space(end);
		if (*colon == ':' && (size_t)(end - p) == key_len + 2 &&
		    memcmp(p + 1, key, key_len) == 0)
			return wm_json_skip_space(colon + 1);
		p = end;
	}
	return NULL;
}

bool wm_json_int(const char *json, const char *key, long long *out)
{
	const char *v = wm_json_value(json, key);
	char *end;
	if (!v)
		return false;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return end != v && errno == 0;
}

bool wm_json_string(const char *json, const char *key, char *out, size_t size)
{
	const char *v = wm_json_value(json, key);
	const char *end = v && *v == '"' ? wm_json_skip_string(v) : NULL;
	if (!end || size == 0)
		return false;
	size_t len = (size_t)(end - v) - 2;
	if (len >= size)
		len = size - 1;
	memcpy(out, v + 1, len);
	out[len] = '\0';
	return true;
}

int wm_json_escape(char *out, size_t size, const char *s)
{
	size_t n = 0;
	for (; *s; s++) {
		char esc[8];
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			snprintf(esc, sizeof(esc), "\\%c", ch);
		else if (ch < 0x20)
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
		else
			snprintf(esc, sizeof(esc), "%c", ch);
		size_t len = strlen(esc);
		if (n + len >= size)
			return -1;
		memcpy(out + n, esc, len);
		n += len;
	}
	if (size == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

int wm_reply_file(const char *reply, struct wm_file *f)
{
	const char *files = wm_json_value(reply, "files");
	memset(f, 0, sizeof(*f));
	if (!files || *files != '[' || wm_json_value(reply, "error"))
		return -1;
	if (*wm_json_skip_space(files + 1) == ']')
		return 0;
	if (!wm_json_int(files, "size", &f->size) || !wm_json_int(files, "mtime_ms", &f->mtime_ms))
		return -1;
	f->found = true;
	return 0;
}

long wm_reply_count_files(const char *reply)
{
	const char *p = wm_json_value(reply, "files");
	if (!p || *p != '[')
		return -1;
	if (*wm_json_skip_space(p + 1) == ']')
		return 0;
	long commas = 0;
	int depth = 0;
	while (*p) {
		if (*p == '"') {
			p = wm_json_skip_string(p);
			if (!p)
				return -1;
			continue;
		}
		if (*p == '[' || *p == '{')
			depth++;
		else if ((*p == ']' || *p == '}') && --depth == 0)
			return commas + 1;
		else if (*p == ',' && depth == 1)
			commas++;
		p++;
	}
	return -1;
}
