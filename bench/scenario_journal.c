/* The journal monitor of scenario_monitors (see scenario_monitors.h): what a monitor built on
 * fsc does to know the size of every file each period without looking at every file.
 *
 * Start: fsc_journal_start, then fsc_stat of every file (the baseline). Each tick: read the
 * journal to its end with fsc_journal_next; an entry whose path is one of the files (a hash
 * table from path to file index, XXH3 with open addressing) gets an fsc_stat of that path,
 * either at once (one per entry) or, with journal_dedup, once per file after the drain. The
 * table held a change before its entry was appended, so a lookup made after the entry was
 * read sees that change or a later one. FSC_CURSOR_LOST: a new cursor, then fsc_stat of every
 * file again (a full rescan). fsc_journal_wait is not used: the monitors poll at 1/period.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "fscd_bench_util.h"
#include "scenario_monitors.h"

#define SCEN_JOURNAL_START_TRIES 200 /* EAGAIN (fscd replacing its table), 1 ms apart */

/* One slot of the path table: a file index (-1: empty) and the hash's high 32 bits. */
struct scen_journal_slot {
	int32_t index;
	uint32_t tag;
};

struct scen_journal {
	fsc_cursor_t cur;
	bool started; /* cur is valid */
	struct scen_journal_slot *slots;
	uint64_t mask;
	int *changed; /* journal_dedup: the files named during this tick's drain */
	int nchanged;
	uint64_t *mark; /* journal_dedup: mark[i] == tick when file i is in changed */
	uint64_t tick;
	struct fsc_change ch;
};

static void scen_journal_index(struct scen_journal *j, const struct scen_files *f)
{
	uint64_t cap = 16;
	while (cap < 2 * (uint64_t)f->n)
		cap *= 2;
	j->mask = cap - 1;
	j->slots = malloc(cap * sizeof(*j->slots));
	if (!j->slots)
		_exit(2);
	for (uint64_t s = 0; s < cap; s++)
		j->slots[s].index = -1;
	for (int i = 0; i < f->n; i++) {
		uint64_t h = XXH3_64bits(f->paths[i], strlen(f->paths[i]));
		uint64_t s = h & j->mask;
		while (j->slots[s].index >= 0)
			s = (s + 1) & j->mask;
		j->slots[s] = (struct scen_journal_slot){.index = i, .tag = (uint32_t)(h >> 32)};
	}
}

/* The index of the file called path (len bytes), or -1 if it is none of them. */
static int scen_journal_find(const struct scen_journal *j, const struct scen_files *f,
			     const char *path, size_t len)
{
	uint64_t h = XXH3_64bits(path, len);
	uint32_t tag = (uint32_t)(h >> 32);
	for (uint64_t s = h & j->mask;; s = (s + 1) & j->mask) {
		const struct scen_journal_slot *e = &j->slots[s];
		if (e->index < 0)
			return -1;
		const char *p = f->paths[e->index];
		if (e->tag == tag && !memcmp(p, path, len) && p[len] == '\0')
			return e->index;
	}
}

/* A cursor at the journal's end; retries while fscd is replacing its table. */
static int scen_journal_start(struct scen_monitor *m)
{
	for (int i = 0;; i++) {
		if (fsc_journal_start(m->c, &m->j->cur) == 0) {
			m->j->started = true;
			return 0;
		}
		m->j->started = false;
		if (errno != EAGAIN || i + 1 >= SCEN_JOURNAL_START_TRIES)
			return -1;
		fsc_harness_sleep_ns(FSCD_BENCH_NS_PER_MS);
	}
}

int scen_journal_init(struct scen_monitor *m)
{
	const struct scen_files *f = m->a->files;
	struct scen_journal *j = calloc(1, sizeof(*j));
	if (!j)
		_exit(2);
	m->j = j;
	scen_journal_index(j, f);
	j->changed = malloc((size_t)f->n * sizeof(*j->changed));
	j->mark = calloc((size_t)f->n, sizeof(*j->mark));
	if (!j->changed || !j->mark)
		_exit(2);
	if (scen_journal_start(m) < 0)
		return -1;
	scen_scan(m, false); /* the baseline, after the cursor: nothing is missed */
	return 0;
}

/* fsc_stat of file i; notes a new size. */
static void scen_journal_look(struct scen_monitor *m, int i)
{
	struct stat st;
	if (fsc_stat(m->c, m->a->files->paths[i], &st) < 0) {
		m->a->report->stat_errors++;
		return;
	}
	if (st.st_size != m->last[i])
		scen_update(m, i, st.st_size, true, fsc_harness_now_ns());
}

/* No valid cursor (lost, or fscd could not give one): take one and rescan every file. With
 * no cursor to be had, the rescan alone keeps the sizes right until the next tick. */
static void scen_journal_restart(struct scen_monitor *m, bool record)
{
	struct scen_monitor_report *r = m->a->report;
	if (scen_journal_start(m) < 0 && record)
		r->journal_start_errors++;
	scen_scan(m, true);
	if (record)
		r->journal_rescan_lookups += (uint64_t)m->a->files->n;
}

/* One entry read: the file it names, looked at now or (dedup) after the drain. */
static bool scen_journal_entry(struct scen_monitor *m, uint64_t *lookups)
{
	struct scen_journal *j = m->j;
	int i = scen_journal_find(j, m->a->files, j->ch.path, j->ch.path_len);
	if (i < 0)
		return false;
	if (!m->a->journal_dedup) {
		scen_journal_look(m, i);
		++*lookups;
	} else if (j->mark[i] != j->tick) {
		j->mark[i] = j->tick;
		j->changed[j->nchanged++] = i;
	}
	return true;
}

void scen_journal_tick(struct scen_monitor *m, bool record)
{
	struct scen_journal *j = m->j;
	struct scen_monitor_report *r = m->a->report;
	uint64_t entries = 0, own = 0, lookups = 0;
	j->tick++;
	j->nchanged = 0;
	if (!j->started) {
		scen_journal_restart(m, record);
		return;
	}
	for (;;) {
		int rc = fsc_journal_next(m->c, &j->cur, &j->ch);
		if (rc == FSC_CHANGE) {
			entries++;
			own += scen_journal_entry(m, &lookups);
			continue;
		}
		if (rc == FSC_CURSOR_LOST) {
			r->journal_lost += record;
			j->nchanged = 0; /* the rescan covers them */
			scen_journal_restart(m, record);
		} else if (rc != FSC_CAUGHT_UP) {
			r->stat_errors++; /* -1: EINVAL, a bug here */
		}
		break;
	}
	for (int k = 0; k < j->nchanged; k++, lookups++)
		scen_journal_look(m, j->changed[k]);
	if (record) {
		r->journal_entries += entries;
		r->journal_own_entries += own;
		r->journal_lookups += lookups;
		if (entries > r->journal_tick_entries_max)
			r->journal_tick_entries_max = entries;
	}
}

void scen_journal_free(struct scen_monitor *m)
{
	if (!m->j)
		return;
	free(m->j->slots);
	free(m->j->changed);
	free(m->j->mark);
	free(m->j);
	m->j = NULL;
}
