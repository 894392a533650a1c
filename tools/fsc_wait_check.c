/* fsc-wait: is one path complete (or gone) now? The table says whether it exists, what it
 * is and whether fscd saw it being written (FSC_FLAG_WRITING); a lease probe then confirms
 * that no writer holds it open. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fsc_wait.h"

enum fsc_wait_lease fsc_wait_lease_probe(const char *path)
{
	/* O_NONBLOCK: never wait on a FIFO put at the path; O_NOFOLLOW: the table's record is
	 * of the path itself, not of a symlink's target */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? FSC_LEASE_GONE : FSC_LEASE_UNKNOWN;
	enum fsc_wait_lease r = FSC_LEASE_FREE;
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0)
		fcntl(fd, F_SETLEASE, F_UNLCK); /* held for microseconds: a writer opening now
						   waits that long, not lease-break-time */
	else
		r = errno == EAGAIN ? FSC_LEASE_BUSY : FSC_LEASE_UNKNOWN;
	close(fd);
	return r;
}

static uint64_t ts_ns(struct timespec t)
{
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The table's answer, or lstat's for a path the table does not hold (not cached yet, or
 * evicted). 1 it exists (*st, *writing), 0 it does not, -1 no answer (fscd gone). */
static int look(fsc_t *c, const char *path, struct stat *st, bool *writing)
{
	struct fsc_info info;
	*writing = false;
	switch (fsc_lookup(c, path, st, &info)) {
	case FSC_HIT:
		*writing = (info.flags & FSC_FLAG_WRITING) != 0;
		return 1;
	case FSC_NEGATIVE:
		return 0;
	case FSC_MISS:
		if (lstat(path, st) == 0)
			return 1;
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	default:
		return -1;
	}
}

enum fsc_wait_state fsc_wait_check(fsc_t *c, struct fsc_wait_path *p, bool gone, uint64_t quiet_ns,
				   uint64_t now_ns)
{
	struct stat st;
	bool writing;
	int exists = look(c, p->path, &st, &writing);
	p->busy = false;
	if (gone)
		return exists == 0 ? FSC_WAIT_DONE : FSC_WAIT_PENDING;
	if (exists != 1 || !S_ISREG(st.st_mode) || writing)
		return FSC_WAIT_PENDING;
	if (quiet_ns) {
		uint64_t last = ts_ns(st.st_mtim);
		if (ts_ns(st.st_ctim) > last)
			last = ts_ns(st.st_ctim);
		if (p->last_change_ns > last)
			last = p->last_change_ns;
		if (now_ns < last + quiet_ns) {
			p->quiet_until_ns = last + quiet_ns;
			return FSC_WAIT_QUIET;
		}
	}
	switch (fsc_wait_lease_probe(p->path)) {
	case FSC_LEASE_BUSY:
		p->busy = true;
		return FSC_WAIT_BUSY;
	case FSC_LEASE_GONE:
		return FSC_WAIT_PENDING; /* removed since the lookup: its entry is coming */
	case FSC_LEASE_FREE:
	case FSC_LEASE_UNKNOWN: /* --help says what is checked then */
		break;
	}
	p->st = st;
	return FSC_WAIT_DONE;
}
