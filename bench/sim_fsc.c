/* fsc's real writer and reader driven for the hit-ratio study (sim_fsc.h). */
#define _GNU_SOURCE
#include "sim_fsc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fsc_shm_map.h"

void sim_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "sim_eviction: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

void fsc_sim_open(struct fsc_sim *f, uint32_t capacity, uint32_t slot_size)
{
	static unsigned serial;
	snprintf(f->name, sizeof(f->name), "fscsim.%d.%u", (int)getpid(), serial++);
	struct fsc_writer_opts o = {
	    .name = f->name, .capacity = capacity, .slot_size = slot_size, .group = (gid_t)-1};
	const char *why = "?";
	int rc = fsc_writer_open(&f->w, &o, &why);
	if (rc)
		sim_die("fsc_writer_open(%s): %s (%s)", f->name, why, strerror(-rc));
	f->c = fsc_open(f->name);
	if (!f->c)
		sim_die("fsc_open(%s): %s", f->name, strerror(errno));
}

void fsc_sim_close(struct fsc_sim *f)
{
	fsc_close(f->c);
	fsc_writer_close(f->w);
}

bool fsc_sim_lookup(struct fsc_sim *f, const char *path, size_t len, bool set_hint)
{
	if (!set_hint)
		return fsc_writer_contains(f->w, path, len, NULL);
	int rc = fsc_lookup(f->c, path, NULL, NULL);
	if (rc != FSC_HIT && rc != FSC_MISS)
		sim_die("fsc_lookup(%s): %s", path, fsc_result_name(rc));
	return rc == FSC_HIT;
}

void fsc_sim_put(struct fsc_sim *f, const char *path, size_t len, uint32_t id)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	st.st_nlink = 1;
	st.st_ino = id + 1u;
	st.st_size = id;
	int rc = fsc_writer_put(f->w, path, len, &st, 0);
	if (rc)
		sim_die("fsc_writer_put(%s): %s", path, strerror(-rc));
}

uint64_t fsc_sim_counter(const struct fsc_sim *f, enum fsc_counter c)
{
	return atomic_load_explicit(&fsc_writer_header(f->w)->counters[c], memory_order_relaxed);
}

static bool slot_empty(const struct fsc_sim *f, uint64_t index)
{
	const struct fsc_shm_slot *slot =
	    fsc_shm_slot_at(fsc_writer_header(f->w), fsc_writer_layout(f->w), index);
	return fsc_shm_meta_state(atomic_load_explicit(&slot->meta, memory_order_relaxed)) ==
	       FSC_SLOT_EMPTY;
}

double fsc_sim_miss_probe_length(const struct fsc_sim *f)
{
	/* a reader probes from the key's home until an EMPTY slot, or max_probe slots */
	const struct fsc_shm_layout *l = fsc_writer_layout(f->w);
	uint64_t total = 0;
	for (uint64_t home = 0; home < l->slot_count; home++) {
		uint32_t i = 0;
		while (i < l->max_probe && !slot_empty(f, home + i))
			i++;
		total += i < l->max_probe ? i + 1 : i;
	}
	return (double)total / (double)l->slot_count;
}

void fsc_sim_check_hints_work(void)
{
	static const char path[] = "/var/log/app/self-check.log";
	size_t len = sizeof(path) - 1;
	char hname[FSC_SHM_OBJECT_NAME_MAX];
	struct fsc_sim f;
	fsc_sim_open(&f, 64, FSC_SLOT_SIZE_MIN);
	fsc_sim_put(&f, path, len, 1);
	if (!fsc_sim_lookup(&f, path, len, true))
		sim_die("fsc self-check: put + lookup did not hit");
	const struct fsc_shm_layout *l = fsc_writer_layout(f.w);
	struct fsc_shm_mapping m;
	const char *why;
	fsc_shm_hints_name(hname, sizeof(hname), f.name, l->generation);
	if (fsc_shm_map_object(hname, l->slot_count, NULL, &m, &why) < 0 ||
	    !((const uint8_t *)m.base)[fsc_writer_slot_of(f.w, path, len)])
		sim_die("fsc self-check: a reader's hit did not set the slot's hint");
	fsc_shm_unmap(&m);
	fsc_sim_close(&f);
}
