/* scaling_readers' reader processes: the library's lookup, or its probe over the same slot
 * read (fsc_shm_slot_read) counting seqlock retries, and the trap that counts stores into the
 * hint segment. */
#define _GNU_SOURCE
#include "scaling_readers.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsc.h"
#include "fsc_shm_map.h"

/* ---- the counting reader: the library's read path, with a retry count ---- */

struct counted_table {
	struct fsc_shm_mapping map;
	struct fsc_shm_layout layout;
};

/* Maps the table as libfsc does (fsc_shm_map_table: the same checks); the mapping lives until
 * the reader process exits. 0 or -1. */
static int counted_attach(struct counted_table *ct, const char *table)
{
	const char *why;
	int rc = fsc_shm_map_table(table, NULL, &ct->map, &ct->layout, &why);
	if (rc)
		fprintf(stderr, "cannot map table %s: %s\n", table, why ? why : strerror(-rc));
	return rc ? -1 : 0;
}

/* The library's probe (reader/fsc_lookup.c), counting the slot reads' discarded attempts in
 * *retries; *index is the slot hit. */
static enum fsc_result counted_lookup(const struct counted_table *ct, const char *path,
				      struct stat *st, uint64_t *retries, uint64_t *index)
{
	const struct fsc_shm_layout *l = &ct->layout;
	size_t len = strlen(path);
	struct fsc_shm_key key;
	struct fsc_shm_record rec;
	fsc_shm_key_init(&key, l->hash_seed, path, len);
	for (uint32_t i = 0; i < l->max_probe; i++) {
		*index = fsc_shm_probe_index(l, key.hash, i);
		switch (fsc_shm_slot_read(fsc_shm_slot_at(ct->map.base, l, *index), &key, &rec, st,
					  retries)) {
		case FSC_SLOT_MATCH_FOUND:
			return FSC_HIT;
		case FSC_SLOT_MATCH_EMPTY:
			return FSC_MISS;
		case FSC_SLOT_MATCH_BUSY:
			return FSC_UNAVAILABLE;
		case FSC_SLOT_MATCH_OTHER:
			break;
		}
	}
	return FSC_MISS;
}

/* The hit hint, stored as the experiment's policy says (s->hints is the driver's read-write
 * view of the segment, inherited: the same pages libfsc maps). */
static void counted_hint(const struct setup *s, enum hint_policy policy, uint64_t index)
{
	_Atomic uint8_t *h = &s->hints[index & s->layout.mask];
	if (policy == HINT_ALWAYS ||
	    (policy == HINT_IF_CLEAR && !atomic_load_explicit(h, memory_order_relaxed)))
		atomic_store_explicit(h, 1, memory_order_relaxed);
}

/* ---- the hint-store trap (in a reader child) ---- */

static uintptr_t trap_lo, trap_hi;
static _Atomic uint64_t trap_faults;

static void on_hint_store(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	uintptr_t at = (uintptr_t)si->si_addr;
	if (at < trap_lo || at >= trap_hi) {
		signal(sig, SIG_DFL); /* a real fault: returning re-runs it, and it kills us */
		return;
	}
	atomic_fetch_add_explicit(&trap_faults, 1, memory_order_relaxed);
	uintptr_t page = at & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
	mprotect((void *)page, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE);
}

#define INHERITED_MAX 8

/* Address ranges where the hint segment is mapped, as /proc/self/maps lists them. */
static size_t hint_mappings(const struct setup *s, uintptr_t lo[], uintptr_t hi[], size_t max)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	if (!maps)
		return 0;
	char line[512], path[256];
	unsigned long a, b;
	size_t n = 0;
	while (n < max && fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &a, &b, path) == 3 &&
		    strcmp(path, s->hints_path) == 0) {
			lo[n] = a;
			hi[n++] = b;
		}
	fclose(maps);
	return n;
}

/* The mappings a reader inherits from the writer (its own and the driver's view), so that
 * trap_arm can tell libfsc's apart. Called before fsc_open. */
static uintptr_t inherited_lo[INHERITED_MAX], inherited_hi[INHERITED_MAX];
static size_t inherited;

static void trap_note_inherited(const struct setup *s)
{
	inherited = hint_mappings(s, inherited_lo, inherited_hi, INHERITED_MAX);
}

/* Finds the one mapping of the hint segment libfsc made, write-protects it and installs the
 * handler. 0 or -1. */
static int trap_arm(const struct setup *s)
{
	uintptr_t lo[INHERITED_MAX + 1], hi[INHERITED_MAX + 1];
	size_t n = hint_mappings(s, lo, hi, INHERITED_MAX + 1);
	for (size_t i = 0; i < n; i++) {
		bool old = false;
		for (size_t j = 0; j < inherited; j++)
			old = old || (lo[i] == inherited_lo[j] && hi[i] == inherited_hi[j]);
		if (old)
			continue;
		if (trap_hi) /* two new ones: cannot tell which is libfsc's */
			return -1;
		trap_lo = lo[i];
		trap_hi = hi[i];
	}
	if (!trap_hi)
		return -1;
	struct sigaction sa = {.sa_sigaction = on_hint_store, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) < 0)
		return -1;
	return mprotect((void *)trap_lo, trap_hi - trap_lo, PROT_READ);
}

/* ---- a reader process ---- */

struct reader_ctx {
	const struct setup *s;
	const struct experiment *e;
	fsc_t *c;
	struct counted_table ct;
	size_t range, at;
	struct reader_result *res;
};

static void reader_batch(struct reader_ctx *r, size_t count)
{
	for (size_t n = 0; n < count; n++) {
		struct stat st;
		int answer;
		uint64_t retries = 0;
		if (r->e->loop == LOOP_LIBFSC) {
			answer = fsc_lookup(r->c, key_at(r->s, r->at), &st, NULL);
		} else {
			uint64_t index = 0;
			answer = counted_lookup(&r->ct, key_at(r->s, r->at), &st, &retries, &index);
			if (answer == FSC_HIT)
				counted_hint(r->s, r->e->hint, index);
		}
		/* UNAVAILABLE is a measurement, not an error: a slot the writer kept rewriting
		 * past FSC_SLOT_READ_TRIES (or, through libfsc, a writer that looked gone) */
		if (answer == FSC_UNAVAILABLE)
			r->res->unavailable++;
		else
			r->res->wrong +=
			    answer != FSC_HIT || st.st_ino != (ino_t)(INO_BASE + r->at);
		r->res->retries += retries;
		r->res->retried_lookups += retries != 0;
		if (++r->at == r->range)
			r->at = 0;
	}
}

static int reader_prepare(struct reader_ctx *r, unsigned id)
{
	const struct options *o = &r->s->opt;
	r->range = r->e->hot_keys ? r->e->hot_keys : o->keys;
	r->at = r->range * id / r->e->readers;
	if (r->e->trap)
		trap_note_inherited(r->s);
	if (r->e->loop == LOOP_LIBFSC && !(r->c = fsc_open(o->table)))
		return -1;
	if (r->e->loop == LOOP_COUNTED && counted_attach(&r->ct, o->table))
		return -1;
	struct reader_result warm = {0};
	struct reader_result *res = r->res;
	r->res = &warm; /* one pass: pages mapped, hints set; not counted */
	reader_batch(r, r->range);
	r->res = res;
	if (warm.wrong) {
		fprintf(stderr, "reader %u: %" PRIu64 " warm-up lookups not hits\n", id,
			warm.wrong);
		return -1;
	}
	if (r->e->trap && trap_arm(r->s)) {
		fprintf(stderr, "reader %u: cannot find or protect the hint segment\n", id);
		return -1;
	}
	return 0;
}

void scaling_reader_main(const struct setup *s, const struct experiment *e, unsigned id)
{
	/* counted in private memory and copied out at the end: counters in the shared control
	 * block would put writes to shared cache lines (next to other readers') in the loop */
	struct reader_result mine = {0};
	struct reader_ctx r = {.s = s, .e = e, .res = &mine};
	if (reader_prepare(&r, id)) {
		s->ctl->result[id].failed = 1;
		atomic_fetch_add(&s->ctl->ready, 1);
		_exit(1);
	}
	atomic_fetch_add(&s->ctl->ready, 1);
	while (atomic_load_explicit(&s->ctl->phase, memory_order_acquire) == 0)
		usleep(50);
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t armed_at = 0;
	while (atomic_load_explicit(&s->ctl->phase, memory_order_relaxed) == 1) {
		reader_batch(&r, BATCH);
		r.res->lookups += BATCH;
		uint64_t faults = atomic_load_explicit(&trap_faults, memory_order_relaxed);
		if (faults != armed_at) { /* re-protect what the handler opened */
			mprotect((void *)trap_lo, trap_hi - trap_lo, PROT_READ);
			armed_at = faults;
		}
	}
	r.res->elapsed_ns = now_ns(CLOCK_MONOTONIC) - t0;
	r.res->cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	r.res->traps = atomic_load_explicit(&trap_faults, memory_order_relaxed);
	s->ctl->result[id] = mine;
	_exit(r.res->wrong ? 2 : 0);
}
