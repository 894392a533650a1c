/* On-demand caching requests: see fscd_requests.h. */
#define _GNU_SOURCE
#include "fscd_requests.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xxhash.h>

#include "fscd_admit.h"
#include "fscd_log.h"

#define FSCD_REQUESTS_PER_PASS 256	  /* the rest waits in the socket buffer, or is dropped */
#define FSCD_ADMIT_ENTRIES     (1u << 16) /* first requests remembered: 1 MiB */

struct fscd_requests {
	int fd;
	bool bound, busy_logged;
	char name[FSC_NAME_MAX + 1];
	bool admit_all; /* window 0 */
	struct fscd_admit admit;
	uint64_t seed;
};

int fscd_requests_open(struct fscd_requests **out, const char *table_name, unsigned window_ms)
{
	struct fscd_requests *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof(r->name), "%s", table_name);
	r->admit_all = window_ms == 0;
	/* keyed: paths cannot be crafted to collide in the admission filter */
	if (getrandom(&r->seed, sizeof(r->seed), 0) != sizeof(r->seed))
		r->seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ fsc_writer_now_ns();
	int rc = fscd_admit_init(&r->admit, FSCD_ADMIT_ENTRIES, (uint64_t)window_ms * 1000000ull);
	r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rc || r->fd < 0) {
		rc = rc ? rc : -errno;
		fscd_log(FSCD_LOG_ERROR, "cannot set up the request socket: %s", strerror(-rc));
		fscd_requests_close(r);
		return rc;
	}
	fscd_requests_bind(r);
	*out = r;
	return 0;
}

void fscd_requests_bind(struct fscd_requests *r)
{
	if (r->bound)
		return;
	struct sockaddr_un addr;
	unsigned len;
	fsc_shm_request_addr(r->name, &addr, &len);
	if (bind(r->fd, (struct sockaddr *)&addr, (socklen_t)len) == 0) {
		r->bound = true;
		if (r->busy_logged)
			fscd_log(FSCD_LOG_INFO, "taking readers' caching requests now");
		return;
	}
	if (!r->busy_logged)
		fscd_log(errno == EADDRINUSE ? FSCD_LOG_INFO : FSCD_LOG_WARN,
			 "request socket for '%s' not available yet (%s%s); retrying", r->name,
			 strerror(errno), errno == EADDRINUSE ? ": the fscd being taken over" : "");
	r->busy_logged = true;
}

int fscd_requests_fd(const struct fscd_requests *r)
{
	return r->fd;
}

/* Returns the counter the request adds to besides FSC_CTR_REQUESTS, or -1. */
static int request_decide(struct fscd_requests *r, struct fscd_tree *t, const char *path,
			  size_t len)
{
	struct fsc_writer *w = fscd_tree_writer(t);
	if (!fscd_tree_can_cache(t, path, len)) {
		fscd_log(FSCD_LOG_DEBUG, "request refused (not under a watched directory): %s",
			 path);
		return FSC_CTR_REQUESTS_REFUSED;
	}
	if (fsc_writer_contains(w, path, len, NULL))
		return -1; /* cached meanwhile */
	uint64_t hash = XXH3_64bits_withSeed(path, len, r->seed);
	if (!r->admit_all && !fscd_admit_request(&r->admit, hash, fsc_writer_now_ns()))
		return -1; /* a first request: remembered */
	fscd_tree_cache_path(t, path);
	return FSC_CTR_REQUESTS_ADMITTED;
}

static void request_handle(struct fscd_requests *r, struct fscd_tree *t, const char *path,
			   size_t len)
{
	struct fsc_writer *w = fscd_tree_writer(t);
	int outcome = request_decide(r, t, path, len);
	if (outcome >= 0)
		fsc_writer_count(w, (enum fsc_counter)outcome, 1);
	/* counted last: a reader that sees the request counted sees its outcome too */
	fsc_writer_count(w, FSC_CTR_REQUESTS, 1);
}

void fscd_requests_serve(struct fscd_requests *r, struct fscd_tree *t)
{
	char buf[FSC_REQUEST_MAX + 2];
	for (int i = 0; i < FSCD_REQUESTS_PER_PASS; i++) {
		ssize_t n = recv(r->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n < 0)
			return;
		buf[n] = '\0';
		if ((size_t)n > FSC_REQUEST_MAX || strlen(buf) != (size_t)n) {
			/* malformed */
			fsc_writer_count(fscd_tree_writer(t), FSC_CTR_REQUESTS_REFUSED, 1);
			fsc_writer_count(fscd_tree_writer(t), FSC_CTR_REQUESTS, 1);
			continue;
		}
		request_handle(r, t, buf, (size_t)n);
	}
}

void fscd_requests_close(struct fscd_requests *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	fscd_admit_free(&r->admit);
	free(r);
}
