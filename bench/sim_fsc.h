/* fsc's real table for the hit-ratio study (sim_eviction.c): one writer and one reader handle
 * on the same table, in this process, as fscd and a client would use them. Every function
 * exits the program with a message on failure: a study that silently lost its table (or its
 * hit hints) would report numbers about something else. */
#ifndef SIM_FSC_H
#define SIM_FSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsc.h"
#include "fsc_writer.h"

struct fsc_sim {
	char name[64];
	struct fsc_writer *w;
	fsc_t *c;
};

/* Prints "sim_eviction: <message>" and exits 1. */
void sim_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Publishes a table of capacity entries (slots of slot_size bytes) and opens a reader on it. */
void fsc_sim_open(struct fsc_sim *f, uint32_t capacity, uint32_t slot_size);
void fsc_sim_close(struct fsc_sim *f);
/* Is path in the table? Asked by the reader (fsc_lookup: a hit sets the slot's hint, as in
 * production) or, with set_hint false, by the writer (never sets a hint: a diagnostic). */
bool fsc_sim_lookup(struct fsc_sim *f, const char *path, size_t len, bool set_hint);
/* Inserts path with a made-up record (fsc_writer_put, as fscd does on a miss). */
void fsc_sim_put(struct fsc_sim *f, const char *path, size_t len, uint32_t id);
uint64_t fsc_sim_counter(const struct fsc_sim *f, enum fsc_counter c);
/* Slots a reader's lookup of an absent key reads, averaged over every home slot. */
double fsc_sim_miss_probe_length(const struct fsc_sim *f);
/* Exits unless a reader's hit sets the slot's hint byte (else CLOCK would be plain FIFO and
 * the study would not measure what production does). */
void fsc_sim_check_hints_work(void);

#endif
