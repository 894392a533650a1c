/* libfsc: asking fscd to cache a path that missed (PROTOCOL.md, "Requests"). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fsc_reader.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

/* The handle's request socket, made on first use. */
static int request_socket(fsc_t *c)
{
	/* acquire: pairs with the release of the CAS below; the fd number is all we read */
	int fd = atomic_load_explicit(&c->request_fd, memory_order_acquire);
	if (fd >= 0)
		return fd;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -1;
	int none = -1;
	/* acq_rel: two threads may make a socket at once; one wins, the other closes its own
	 * and uses the winner's */
	if (!atomic_compare_exchange_strong_explicit(&c->request_fd, &none, s, memory_order_acq_rel,
						     memory_order_acquire)) {
		close(s);
		return none;
	}
	return s;
}

int fsc_request(fsc_t *c, const char *path)
{
	size_t len = path ? strlen(path) : 0;
	if (!c || !path || !fsc_shm_path_cacheable(path, len, FSC_REQUEST_MAX)) {
		errno = EINVAL;
		return -1;
	}
	/* The address comes from the table this handle answers from, whose owner it checked at
	 * attach: a socket bound at a name guessed or chosen by someone else gets nothing. */
	struct fsc_map *m = fsc_reader_usable_map(c);
	struct sockaddr_un addr;
	unsigned alen;
	if (!m || fsc_shm_request_addr(c->name, m->layout.request_nonce, &addr, &alen) < 0) {
		errno = ECONNREFUSED; /* no fscd (that takes requests) serves the table */
		return -1;
	}
	int fd = request_socket(c);
	if (fd < 0)
		return -1;
	/* MSG_DONTWAIT: a full socket buffer (fscd behind) drops the request, not the caller */
	ssize_t n = sendto(fd, path, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&addr,
			   (socklen_t)alen);
	return n == (ssize_t)len ? 0 : -1;
}

/* A memo entry: the path's hash in the high 40 bits, the coarse second it was first asked
 * for (mod 2^22) in the next 22, and how many requests were sent (1 or 2) in the low 2. */
#define MEMO_HASH_MASK	 (~0ull << 24)
#define MEMO_SECONDS(e)	 (((e) >> 2) & ((1u << 22) - 1))
#define MEMO_FORGET_SECS 2u

/* Takes one request from this second's budget; false if it is spent. */
static bool request_budget_take(fsc_t *c, uint64_t now_s)
{
	/* relaxed: a rate limit, not a protocol; racing threads may overspend by a few */
	uint64_t b = atomic_load_explicit(&c->request_budget, memory_order_relaxed);
	uint64_t count = (b >> 32) == now_s ? (b & 0xffffffffu) : 0;
	if (count >= FSC_REQUESTS_PER_SECOND)
		return false;
	atomic_store_explicit(&c->request_budget, (now_s << 32) | (count + 1),
			      memory_order_relaxed);
	return true;
}

void fsc_request_on_miss(fsc_t *c, const char *path)
{
	size_t len = strlen(path);
	uint64_t h = XXH3_64bits(path, len);
	uint32_t now_s = (uint32_t)(fsc_reader_now_coarse_ns() / 1000000000ull) & ((1u << 22) - 1);
	_Atomic uint64_t *slot = &c->request_memo[h & (FSC_REQUEST_MEMO - 1)];
	/* relaxed: a memo, not a protocol; two threads racing on it send one request too many */
	uint64_t e = atomic_load_explicit(slot, memory_order_relaxed);
	bool same = (e & MEMO_HASH_MASK) == (h & MEMO_HASH_MASK);
	bool recent = ((now_s - MEMO_SECONDS(e)) & ((1u << 22) - 1)) < MEMO_FORGET_SECS;
	uint64_t sent = same && recent ? (e & 3) : 0;
	if (sent >= 2)
		return; /* asked twice lately: fscd has admitted it, or never will */
	if (!request_budget_take(c, fsc_reader_now_coarse_ns() / 1000000000ull))
		return;
	uint64_t since = sent ? MEMO_SECONDS(e) : now_s;
	atomic_store_explicit(slot, (h & MEMO_HASH_MASK) | ((uint64_t)since << 2) | (sent + 1),
			      memory_order_relaxed);
	fsc_request(c, path);
}
