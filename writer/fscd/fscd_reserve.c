/* Room in the object directory for a restart in place: see fscd_reserve.h. */
#define _GNU_SOURCE
#include "fscd_reserve.h"

#include "fsc_shm_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fsc_shm_format.h"
#include "fsc_shm_journal.h"
#include "fsc_shm_table.h"

#define FSCD_RESERVE_ENV "FSCD_RESERVED_FD"
#define FSCD_PAGE	 4096u

static int fscd_reserved_fd = -1; /* the reservation adopted from the previous image */

static uint64_t fscd_reserve_pages(uint64_t bytes)
{
	return (bytes + FSCD_PAGE - 1) / FSCD_PAGE * FSCD_PAGE;
}

uint64_t fscd_reserve_size(const struct fscd_config *cfg, bool with_journal)
{
	uint32_t slot_size = cfg->slot_size ? cfg->slot_size : FSC_SLOT_SIZE_DEFAULT;
	uint64_t slots, size;
	const char *why;
	if (fsc_shm_geometry(cfg->capacity, slot_size, &slots, &size, &why))
		return 0;
	uint64_t bytes = fscd_reserve_pages(size) + fscd_reserve_pages(slots); /* table, hints */
	if (with_journal && cfg->journal_kib) {
		/* the writer's ring: a power of two from FSC_JOURNAL_RING_MIN, after a header */
		uint64_t ring = FSC_JOURNAL_RING_MIN, want = (uint64_t)cfg->journal_kib * 1024;
		while (ring < want && ring < FSC_JOURNAL_RING_MAX)
			ring <<= 1;
		bytes += fscd_reserve_pages(sizeof(struct fsc_journal_header) + ring);
	}
	return bytes;
}

static void fscd_reserve_no_room(const char *dir, uint64_t bytes, char *why, size_t n)
{
	snprintf(why, n,
		 "%s has no room for the new table (%" PRIu64 " KiB) next to the one "
		 "serving: free space there or lower --capacity",
		 dir, bytes / 1024);
}

int fscd_reserve_take(const char *table_name, uint64_t bytes, char *why, size_t n)
{
	struct fsc_shm_addr a;
	if (fsc_shm_addr_parse(table_name, &a)) {
		snprintf(why, n, "invalid table name '%s'", table_name);
		return -1;
	}
	int fd = open(a.dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* no unnamed files here: check the free space instead (a weaker promise) */
		struct statvfs v;
		if (statvfs(a.dir, &v) == 0 && (uint64_t)v.f_bavail * v.f_frsize >= bytes)
			return -2;
		fscd_reserve_no_room(a.dir, bytes, why, n);
		return -1;
	}
	int err = posix_fallocate(fd, 0, (off_t)bytes);
	if (err) {
		close(fd);
		if (err == ENOSPC)
			fscd_reserve_no_room(a.dir, bytes, why, n);
		else
			snprintf(why, n, "cannot reserve %" PRIu64 " KiB in %s: %s", bytes / 1024,
				 a.dir, strerror(err));
		return -1;
	}
	return fd;
}

void fscd_reserve_pass(int fd)
{
	char num[16];
	if (fd < 0)
		return;
	snprintf(num, sizeof(num), "%d", fd);
	if (fcntl(fd, F_SETFD, 0) == 0)
		setenv(FSCD_RESERVE_ENV, num, 1);
}

void fscd_reserve_handback(int fd)
{
	if (fd < 0)
		return;
	unsetenv(FSCD_RESERVE_ENV);
	close(fd);
}

void fscd_reserve_adopt(void)
{
	const char *v = getenv(FSCD_RESERVE_ENV);
	if (!v)
		return;
	char *end;
	errno = 0;
	long fd = strtol(v, &end, 10);
	unsetenv(FSCD_RESERVE_ENV); /* never passed on to anything fscd starts */
	struct stat st;
	/* only what fscd_reserve_take makes: an unnamed regular file */
	if (errno || *end || fd <= 2 || fd > 65535 || fstat((int)fd, &st) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_nlink != 0)
		return;
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	fscd_reserved_fd = (int)fd;
}

void fscd_reserve_release(void)
{
	if (fscd_reserved_fd >= 0)
		close(fscd_reserved_fd);
	fscd_reserved_fd = -1;
}
