/* fsc-shmdump --prometheus: a table's health in the Prometheus text exposition format
 * (version 0.0.4), for node_exporter's textfile collector or any scraper that reads a file.
 *
 * Every metric carries the label table="NAME". Counters of the header that only grow are
 * fsc_<name>_total (TYPE counter); those that go up and down (entries, watches, ...) are
 * fsc_<name> (TYPE gauge). The values are the snapshot fsc-shmdump's text and --json print
 * (fsc_dump_summarize), under the same names. */
#define _GNU_SOURCE
#include "fsc_shmdump.h"

#include <inttypes.h>
#include <stdbool.h>

/* What each header counter means, and whether it is a gauge. A counter missing here (added
 * to the format later) is still printed, as a counter with a generic HELP. */
struct fsc_prom_counter {
	const char *help;
	bool gauge;
};

static const struct fsc_prom_counter fsc_prom_counters[FSC_CTR_COUNT] = {
    [FSC_CTR_ENTRIES] = {"Live entries (positive and negative records).", true},
    [FSC_CTR_TOMBSTONES] = {"Tombstone slots.", true},
    [FSC_CTR_INSERTS] = {"Keys added to the table.", false},
    [FSC_CTR_UPDATES] = {"Records rewritten in place.", false},
    [FSC_CTR_REMOVES] = {"Keys removed (tombstoned).", false},
    [FSC_CTR_EVICTIONS] = {"Keys evicted by CLOCK because the table was full.", false},
    [FSC_CTR_PROBE_EVICTIONS] = {"Keys evicted because a probe window was full.", false},
    [FSC_CTR_UNCACHEABLE] = {"Paths refused: longer than the slot's path room.", false},
    [FSC_CTR_EVENTS] = {"inotify events read.", false},
    [FSC_CTR_OVERFLOWS] = {"inotify queue overflows seen (each forces a rescan).", false},
    [FSC_CTR_WATCHES] = {"inotify watches held.", true},
    [FSC_CTR_WATCH_FAILURES] = {"inotify_add_watch failures (ENOSPC, EACCES, ...).", false},
    [FSC_CTR_RESCANS] = {"Full re-verifications of the tree.", false},
    [FSC_CTR_STATS] = {"lstat calls made by fscd.", false},
    [FSC_CTR_STAT_ERRORS] = {"lstat failures other than ENOENT and ENOTDIR.", false},
    [FSC_CTR_REBUILDS] = {"Replacement tables published by this fscd.", false},
    [FSC_CTR_POLLED_DIRS] = {"Directories kept current by polling instead of inotify.", true},
    [FSC_CTR_POLL_SCANS] = {"Listings of polled directories completed.", false},
    [FSC_CTR_POLL_STALLS] = {"Polled listings that hung past their deadline.", false},
    [FSC_CTR_REQUESTS] = {"Caching requests received from readers.", false},
    [FSC_CTR_REQUESTS_ADMITTED] = {"Requests whose path fscd started caching.", false},
    [FSC_CTR_REQUESTS_REFUSED] = {"Requests outside every root, or malformed.", false},
    [FSC_CTR_REBUILD_FAILURES] = {"Replacement tables that could not be made.", false},
    [FSC_CTR_REQUESTS_LIMITED] = {"Requests dropped: their sender's uid was over its rate.", false},
};

/* The table label's value, escaped as the format wants (\\, \" and \n). */
static void fsc_prom_label(FILE *out, const char *table)
{
	fputs("{table=\"", out);
	for (const char *p = table; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', out);
		if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputs("\"}", out);
}

/* One metric: HELP, TYPE and its one sample; value is already formatted. */
static void fsc_prom_metric(FILE *out, const char *table, const char *name, const char *suffix,
			    bool gauge, const char *help, const char *value)
{
	fprintf(out, "# HELP fsc_%s%s %s\n", name, suffix, help);
	fprintf(out, "# TYPE fsc_%s%s %s\n", name, suffix, gauge ? "gauge" : "counter");
	fprintf(out, "fsc_%s%s", name, suffix);
	fsc_prom_label(out, table);
	fprintf(out, " %s\n", value);
}

static void fsc_prom_u64(FILE *out, const char *table, const char *name, bool gauge,
			 const char *help, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	fsc_prom_metric(out, table, name, gauge ? "" : "_total", gauge, help, buf);
}

static void fsc_prom_seconds(FILE *out, const char *table, const char *name, const char *help,
			     int64_t ms)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%s%" PRId64 ".%03" PRId64, ms < 0 ? "-" : "",
		 (ms < 0 ? -ms : ms) / 1000, (ms < 0 ? -ms : ms) % 1000);
	fsc_prom_metric(out, table, name, "", true, help, buf);
}

static void fsc_prom_liveness(FILE *out, const struct fsc_dump_table *t,
			      const struct fsc_dump_summary *s)
{
	const struct fsc_shm_header *h = t->hdr;
	const char *n = t->name;
	fsc_prom_u64(out, n, "table_live", true,
		     "1 if the table is the published one (state live), 0 if building or retired.",
		     s->state == FSC_TABLE_LIVE);
	fsc_prom_u64(out, n, "table_usable", true,
		     "1 if readers answer from the table (live, writer alive, heartbeat fresh).",
		     s->usable);
	fsc_prom_u64(out, n, "writer_alive", true, "1 if the fscd that writes the table is alive.",
		     s->writer_alive);
	fsc_prom_seconds(out, n, "heartbeat_age_seconds",
			 "Seconds since fscd's last heartbeat in the table.", s->heartbeat_age_ms);
	fsc_prom_seconds(out, n, "writer_timeout_seconds",
			 "Heartbeat age past which readers stop believing the table.",
			 (int64_t)(t->layout.writer_timeout_ns / 1000000u));
	fsc_prom_u64(out, n, "table_generation", true,
		     "Which table this is: a new number each time fscd publishes one.",
		     h->generation);
	char created[32];
	snprintf(created, sizeof(created), "%" PRIu64 ".%09" PRIu64,
		 h->created_realtime_ns / 1000000000u, h->created_realtime_ns % 1000000000u);
	fsc_prom_metric(out, n, "table_created_timestamp_seconds", "", true,
			"When the table was created (Unix time).", created);
}

void fsc_dump_prom_print(const struct fsc_dump_table *t, const struct fsc_dump_summary *s,
			 FILE *out)
{
	const char *n = t->name;
	fsc_prom_liveness(out, t, s);
	fsc_prom_u64(out, n, "table_capacity", true, "Most entries the table keeps.",
		     t->layout.capacity);
	fsc_prom_u64(out, n, "table_slots", true, "Slots in the table (capacity and headroom).",
		     t->layout.slot_count);
	fsc_prom_u64(
	    out, n, "table_changes", false,
	    "The table's change sequence number (change_seq): changes since it was created.",
	    s->change_seq);
	fsc_prom_u64(out, n, "journal_present", true,
		     "1 if the table's change journal is published and valid.", s->journal_ok);
	if (s->journal_ok) {
		fsc_prom_u64(out, n, "journal_ring_bytes", true, "Size of the journal's ring.",
			     s->journal_ring);
		fsc_prom_u64(out, n, "journal_written_bytes", false,
			     "Journal head position: bytes fscd has written to it.",
			     s->journal_head);
	}
	for (int c = 0; c < FSC_CTR_COUNT; c++) {
		const struct fsc_prom_counter *pc = &fsc_prom_counters[c];
		fsc_prom_u64(out, n, fsc_shm_counter_name((enum fsc_counter)c), pc->gauge,
			     pc->help ? pc->help : "An fscd counter (see shm/fsc_shm_format.h).",
			     s->counters[c]);
	}
}
