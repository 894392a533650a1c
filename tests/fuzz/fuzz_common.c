/* Inputs to objects, and this process's shm objects: see fuzz_common.h. */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void fsc_fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", what, file, line);
	abort();
}

void fsc_fuzz_object_build(const uint8_t *data, size_t n, struct fsc_fuzz_object *o)
{
	*o = (struct fsc_fuzz_object){0};
	if (n == 0)
		return;
	o->flags = data[0];
	data++;
	n--;
	size_t size = n;
	if ((o->flags & FUZZ_ZERO_EXTEND) && n >= 24) {
		uint64_t recorded = fsc_fuzz_word(data + 16);
		if (recorded > n && recorded <= FUZZ_OBJECT_MAX)
			size = (size_t)recorded;
	}
	if (size == 0)
		return;
	void *p;
	if (posix_memalign(&p, 64, size))
		abort();
	memcpy(p, data, n);
	memset((unsigned char *)p + n, 0, size - n);
	o->bytes = p;
	o->size = size;
}

void fsc_fuzz_object_free(struct fsc_fuzz_object *o)
{
	free(o->bytes);
	*o = (struct fsc_fuzz_object){0};
}

#define FUZZ_OBJECTS_MAX 2
static struct {
	char object[96];
	int fd;
} objects[FUZZ_OBJECTS_MAX];
static int nobjects;

const char *fsc_fuzz_name(void)
{
	static char name[32];
	if (!name[0])
		snprintf(name, sizeof(name), "fuzz-%d", (int)getpid());
	return name;
}

static void unlink_objects(void)
{
	for (int i = 0; i < nobjects; i++)
		unlink(objects[i].object);
}

static int object_fd(const char *object)
{
	for (int i = 0; i < nobjects; i++)
		if (strcmp(objects[i].object, object) == 0)
			return objects[i].fd;
	if (nobjects == FUZZ_OBJECTS_MAX || strlen(object) >= sizeof(objects[0].object))
		abort();
	/* ours alone: 0600, and made here (O_EXCL) rather than found */
	unlink(object);
	int fd = open(object, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "fuzz: open %s: %s\n", object, strerror(errno));
		abort();
	}
	if (nobjects == 0)
		atexit(unlink_objects);
	strcpy(objects[nobjects].object, object);
	objects[nobjects++].fd = fd;
	return fd;
}

static void write_all(int fd, const void *bytes, size_t size)
{
	for (size_t done = 0; done < size;) {
		ssize_t w = pwrite(fd, (const char *)bytes + done, size - done, (off_t)done);
		if (w <= 0) {
			fprintf(stderr, "fuzz: pwrite: %s\n", strerror(errno));
			abort();
		}
		done += (size_t)w;
	}
}

void fsc_fuzz_shm_write(const char *object, const void *bytes, size_t size)
{
	int fd = object_fd(object);
	if (ftruncate(fd, (off_t)size) < 0) {
		fprintf(stderr, "fuzz: ftruncate: %s\n", strerror(errno));
		abort();
	}
	write_all(fd, bytes, size);
}

void fsc_fuzz_shm_patch(const char *object, const void *bytes, size_t size)
{
	write_all(object_fd(object), bytes, size);
}

uint64_t fsc_fuzz_now_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
