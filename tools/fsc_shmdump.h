/* fsc-shmdump internals: a mapped table and a raw reader of its slots.
 * The tool reads the format directly (shm/), never through libfsc or the writer. */
#ifndef FSC_SHMDUMP_H
#define FSC_SHMDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fsc_json.h"
#include "fsc_shm_map.h"
#include "fsc_shm_served.h"
#include "fsc_shm_table.h"

/* A table mapped read-only and validated. Slot geometry comes only from layout (the private
 * copy made by fsc_shm_header_validate), never again from the header. */
struct fsc_dump_table {
	const char *name;
	char object[FSC_SHM_OBJECT_NAME_MAX];
	struct fsc_shm_mapping map;
	const struct fsc_shm_header *hdr; /* map.base */
	struct fsc_shm_layout layout;
	struct fsc_shm_trust trust; /* whose tables it believes: root, itself, FSC_TRUSTED_UIDS */
	struct fsc_served *served;  /* checked private copy of what it serves, or NULL */
};

/* One live slot, copied consistently under its seqlock. */
struct fsc_dump_entry {
	uint64_t slot;
	uint64_t change_seq;
	uint64_t verified_ns;
	uint64_t st[FSC_ST_WORDS];
	uint32_t flags;
	uint32_t path_len;
	char path[FSC_SLOT_SIZE_MAX - FSC_SLOT_FIXED_BYTES];
};

enum fsc_dump_slot_status {
	FSC_DUMP_SLOT_LIVE,	 /* *out holds the entry */
	FSC_DUMP_SLOT_EMPTY,	 /* never used */
	FSC_DUMP_SLOT_TOMBSTONE, /* deleted */
	FSC_DUMP_SLOT_BUSY,	 /* the writer kept rewriting it: skipped */
	FSC_DUMP_SLOT_DAMAGED,	 /* a consistent read of an impossible slot (bad state, length) */
};

/* What a scan of every slot saw. */
struct fsc_dump_scan {
	uint64_t live;
	uint64_t tombstones;
	uint64_t busy;
	uint64_t damaged;
};

/* Reads slot index under its seqlock, retrying a torn copy a bounded number of times. */
enum fsc_dump_slot_status fsc_dump_slot_read(const struct fsc_dump_table *t, uint64_t index,
					     struct fsc_dump_entry *out);

/* Lists every live slot, as a table (text) or as the members of a JSON array (json). */
void fsc_dump_entries_print_text(const struct fsc_dump_table *t, uint64_t now_ns, FILE *out,
				 struct fsc_dump_scan *scan);
void fsc_dump_entries_print_json(const struct fsc_dump_table *t, uint64_t now_ns,
				 struct fsc_json *j, struct fsc_dump_scan *scan);

/* What the table serves (fsc_shmdump_served.c); s NULL: not published. */
void fsc_dump_served_print_text(const struct fsc_served *s, FILE *out);
void fsc_dump_served_print_json(const struct fsc_served *s, struct fsc_json *j);

/* CLOCK_MONOTONIC in ns, the clock of heartbeat_ns and verified_ns. */
uint64_t fsc_dump_now_ns(void);
/* a - b in ms, negative if b is later (never wraps). */
int64_t fsc_dump_age_ms(uint64_t now_ns, uint64_t then_ns);

/* A snapshot of the header's changing fields, taken once (fsc_dump_summarize) so that text,
 * JSON and Prometheus output agree. */
struct fsc_dump_summary {
	uint32_t state;
	bool writer_alive;
	bool usable;
	int64_t heartbeat_age_ms;
	uint64_t change_seq;
	uint64_t counters[FSC_CTR_COUNT];
	double load_factor;   /* live entries / slots */
	double capacity_used; /* live entries / capacity */
	char created[48];
	/* the change journal the table names, if it is mapped and valid */
	bool journal_ok;
	uint64_t journal_ring, journal_head;
};
void fsc_dump_summarize(const struct fsc_dump_table *t, uint64_t now_ns,
			struct fsc_dump_summary *s);

/* --prometheus: the table's liveness, geometry, journal head and every counter of snapshot s
 * in the Prometheus text format, each labelled table="NAME" (fsc_shmdump_prom.c). */
void fsc_dump_prom_print(const struct fsc_dump_table *t, const struct fsc_dump_summary *s,
			 FILE *out);

#endif
