/* On-demand caching requests: see fscd_requests.h. */
#define _GNU_SOURCE
#include "fscd_requests.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xxhash.h>

#include "fscd_admit.h"
#include "fscd_log.h"
#include "fscd_ratelimit.h"
#include "fscd_reqshare.h"

#define FSCD_REQUESTS_PER_PASS 256	  /* the rest waits in the socket buffer, or is dropped */
#define FSCD_ADMIT_ENTRIES     (1u << 16) /* first requests remembered: 1 MiB */

struct fscd_requests {
	int fd;
	bool bound, busy_logged;
	char name[FSC_ADDR_MAX + 1];
	bool admit_all; /* window 0 */
	struct fscd_admit admit;
	struct fscd_ratelimit limit;
	struct fscd_reqshare share;
	uint64_t seed;
	uint64_t nonce; /* the socket address's random part, published in the table header */
};

int fscd_requests_open(struct fscd_requests **out, const char *table_name, unsigned window_ms)
{
	struct fscd_requests *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof(r->name), "%s", table_name);
	r->admit_all = window_ms == 0;
	/* keyed: paths cannot be crafted to collide in the admission filter */
	if (fsc_writer_random64(&r->seed))
		r->seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ fsc_writer_now_ns();
	fscd_ratelimit_init(&r->limit, FSCD_REQUEST_RATE, FSCD_REQUEST_RATE_ROOT);
	fscd_reqshare_init(&r->share, r->seed ^ 0x5bd1e9955bd1e995ull);
	int rc = fscd_admit_init(&r->admit, FSCD_ADMIT_ENTRIES, (uint64_t)window_ms * 1000000ull);
	/* unpredictable, unlike the seed's fallback: a guessable address could be bound first */
	if (!rc)
		rc = fsc_writer_random64(&r->nonce); /* never 0: 0 means "no socket" */
	r->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int on = 1;
	/* the kernel attaches each sender's credentials: the per-uid rate limit's key */
	if (!rc && r->fd >= 0 && setsockopt(r->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
		rc = -errno;
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
	fsc_shm_request_addr(r->name, r->nonce, &addr, &len);
	if (bind(r->fd, (struct sockaddr *)&addr, (socklen_t)len) == 0) {
		r->bound = true;
		if (r->busy_logged)
			fscd_log(FSCD_LOG_INFO, "taking readers' caching requests now");
		return;
	}
	/* The address is new to this process (random nonce): no predecessor holds it, and
	 * nobody can have guessed it, so any failure, EADDRINUSE included, is a fault. */
	if (!r->busy_logged)
		fscd_log(FSCD_LOG_WARN,
			 "cannot bind the request socket for '%s' (%s); readers' caching requests "
			 "go unanswered until it works; retrying",
			 r->name, strerror(errno));
	r->busy_logged = true;
}

uint64_t fscd_requests_nonce(const struct fscd_requests *r)
{
	return r->nonce;
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
	/* room first (the oldest request-admitted entry goes), so that CLOCK need not evict */
	if (fscd_reqshare_make_room(&r->share, w) < 0)
		return FSC_CTR_REQUESTS_REFUSED; /* out of memory: not tracked, so not cached */
	fscd_tree_cache_path(t, path);
	fscd_reqshare_add(&r->share, w, path, len);
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

/* One datagram into buf (NUL-terminated) and its sender's uid; -1 when none waits. A
 * datagram without credentials (none should come: SO_PASSCRED) counts as uid (uid_t)-1. */
static ssize_t request_recv(struct fscd_requests *r, char *buf, size_t size, uid_t *uid)
{
	union {
		struct cmsghdr align;
		char bytes[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = &control,
			     .msg_controllen = sizeof(control)};
	ssize_t n = recvmsg(r->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	*uid = (uid_t)-1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			*uid = cred.uid;
		}
	}
	return n;
}

void fscd_requests_serve(struct fscd_requests *r, struct fscd_tree *t)
{
	char buf[FSC_REQUEST_MAX + 2];
	struct fsc_writer *w = fscd_tree_writer(t);
	for (int i = 0; i < FSCD_REQUESTS_PER_PASS; i++) {
		uid_t uid;
		ssize_t n = request_recv(r, buf, sizeof(buf), &uid);
		if (n < 0)
			return;
		if (!fscd_ratelimit_take(&r->limit, uid, fsc_writer_now_ns())) {
			/* over its sender's rate: dropped without a look */
			fsc_writer_count(w, FSC_CTR_REQUESTS_LIMITED, 1);
			fsc_writer_count(w, FSC_CTR_REQUESTS, 1);
			continue;
		}
		if ((size_t)n > FSC_REQUEST_MAX || strlen(buf) != (size_t)n) {
			/* malformed */
			fsc_writer_count(w, FSC_CTR_REQUESTS_REFUSED, 1);
			fsc_writer_count(w, FSC_CTR_REQUESTS, 1);
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
	fscd_reqshare_free(&r->share);
	free(r);
}
