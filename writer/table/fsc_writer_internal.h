/* Private state of the table writer, shared by writer/table/fsc_writer_*.c only. */
#ifndef FSC_WRITER_INTERNAL_H
#define FSC_WRITER_INTERNAL_H

#include <sys/stat.h>
#include <sys/types.h>

#include "fsc_shm_journal.h"
#include "fsc_shm_served.h"
#include "fsc_writer.h"

/* One table object the writer built and mapped read-write. */
struct fsc_wtable {
	struct fsc_shm_header *hdr;
	size_t size;
	struct fsc_shm_layout layout;
	_Atomic uint8_t *hints; /* hit hints readers set; NULL if the segment could not be made */
	char hints_name[FSC_SHM_OBJECT_NAME_MAX];
	char *tmp_name; /* set until the table is renamed to the public name */
	dev_t dev;	/* identity of the object, to tell whether the name is ours */
	ino_t ino;
	uint64_t clock_hand;
};

struct fsc_writer {
	struct fsc_writer_opts opts;
	char name[FSC_ADDR_MAX + 1]; /* the table's address, "DIR/NAME" */
	char object_name[FSC_SHM_OBJECT_NAME_MAX];
	struct fsc_wtable t;
	uint64_t compact_at_tombstones; /* compact once this many tombstones exist */
	uint64_t compact_retry_ns;	/* after a failed compaction, not before this time */
	const char *last_error;		/* why the last compaction failed, or NULL */
	struct fsc_wjournal *journal;	/* the change journal, or NULL (journal_bytes 0) */
	const char *journal_error;	/* why there is none although one was asked for */
	/* the served region every table carries (fsc_writer_served.c) */
	bool served_done; /* encoded (opts.served is then NULL) */
	uint32_t served_len;
	unsigned char served[FSC_SERVED_MAX];
};

/* Creates, sizes and maps an object read-write, its pages allocated now (a full directory
 * is an error here, not a SIGBUS later). NULL with errno and *why on failure. */
void *fsc_wobject_create(const char *oname, size_t size, mode_t mode, gid_t group, struct stat *st,
			 const char **why);
/* fsc_wobject_create under a private name for public_name, written to oname:
 * "<public_name>.new.<pid>.<16 random hex digits>" (PROTOCOL.md "Objects"), a name nobody can
 * take first; a name taken anyway is retried with new random digits, a few times. */
void *fsc_wobject_create_private(char *oname, size_t oname_size, const char *public_name,
				 size_t size, mode_t mode, gid_t group, struct stat *st,
				 const char **why);

/* Renames shm object from_object to to_object, atomically, over any object of that name:
 * 0 or -errno. */
int fsc_wobject_rename(const char *from_object, const char *to_object);
/* Is the shm object called object still the one with this identity? */
bool fsc_wobject_is(const char *object, dev_t dev, ino_t ino);

/* fsc_writer_journal.c: the change journal (PROTOCOL.md "Change journal") */
struct fsc_wjournal;
/* Creates w->journal under a private name, ring of at least bytes (a power of two). */
int fsc_wjournal_create(struct fsc_writer *w, uint64_t bytes, const char **why);
/* Renames it to its public name; before the first table is published. No-op without one. */
int fsc_wjournal_publish(struct fsc_writer *w, const char **why);
uint64_t fsc_wjournal_id(const struct fsc_wjournal *j);
/* Appends one entry (after the table write it reports); what: its FSC_CK_* bits. No-op before
 * publication. */
void fsc_wjournal_append(struct fsc_wjournal *j, uint32_t kind, uint32_t flags, uint32_t what,
			 const char *path, size_t len, uint64_t change_seq);
/* Wakes readers blocked in fsc_journal_wait if entries came since the last wake. */
void fsc_wjournal_wake(struct fsc_wjournal *j);
/* Marks it stopped, wakes waiters, removes the name if it is still ours and unlink_name. */
void fsc_wjournal_close(struct fsc_writer *w, bool unlink_name);

/* fsc_writer_kinds.c: the FSC_CK_* bits of a record change: seen (what the caller saw happen,
 * or 0) completed by comparing the record before (had: there was one; its flags and words)
 * and after. */
uint32_t fsc_wkinds_derive(bool had, uint32_t old_flags, const uint64_t old[FSC_ST_WORDS],
			   uint32_t flags, const uint64_t now[FSC_ST_WORDS], uint32_t seen);

/* fsc_writer_served.c: bytes to add to a table object for its served region (0: none) */
uint32_t fsc_wserved_size(struct fsc_writer *w);
/* Copies the served region after the slots of h (header geometry set) and records its size. */
void fsc_wserved_store(struct fsc_writer *w, struct fsc_shm_header *h);

/* fsc_writer_table.c: object life cycle */
/* prev: the table this one replaces (its seed is kept when the geometry is unchanged, and
 * the new generation is newer), or NULL. */
int fsc_wtable_create(struct fsc_writer *w, uint64_t capacity, const struct fsc_wtable *prev,
		      struct fsc_wtable *t, const char **why);
int fsc_wtable_publish(struct fsc_writer *w, struct fsc_wtable *t, const char **why);
void fsc_wtable_set_state(struct fsc_wtable *t, enum fsc_table_state s);
void fsc_wtable_unmap(struct fsc_wtable *t);
/* Tombstones never become EMPTY in the middle of a chain, so steady churn fills the table
 * with them and every miss probes the whole window: past a threshold, compact by publishing
 * a replacement table. Called after operations that can add tombstones. */
void fsc_writer_compact_if_needed(struct fsc_writer *w);

/* fsc_writer_slots.c: slot operations on one table */
struct fsc_shm_slot *fsc_wtable_slot(struct fsc_wtable *t, uint64_t index);
void fsc_wtable_copy_entries(struct fsc_writer *w, struct fsc_wtable *from, struct fsc_wtable *to);

#endif
