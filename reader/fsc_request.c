/* libfsc: asking fscd to cache a path that missed (PROTOCOL.md, "Requests"). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fsc_reader.h"

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
	struct sockaddr_un addr;
	unsigned alen;
	int fd = request_socket(c);
	if (fd < 0 || fsc_shm_request_addr(c->name, &addr, &alen) < 0)
		return -1;
	/* MSG_DONTWAIT: a full socket buffer (fscd behind) drops the request, not the caller */
	ssize_t n = sendto(fd, path, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&addr,
			   (socklen_t)alen);
	return n == (ssize_t)len ? 0 : -1;
}
