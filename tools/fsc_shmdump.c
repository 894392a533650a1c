/* fsc-shmdump: print a published fsc table as it is in shared memory: its header, liveness,
 * counters and (--entries) every live slot. It reads the raw format through shm/ only, so it
 * shows what is there even when libfsc would refuse to answer from it (stopped writer, stale
 * heartbeat, retired table).
 *
 * Exit status: 0 printed; 1 no table is published under the name; 2 the object is not a
 * valid fsc table or cannot be read, an output error, or a usage error. */
#define _GNU_SOURCE
#include "fsc_shmdump.h"
#include "fsc_shm_journal.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FSC_DUMP_EXIT_OK       0
#define FSC_DUMP_EXIT_NO_TABLE 1
#define FSC_DUMP_EXIT_INVALID  2

struct fsc_dump_opts {
	const char *name;
	bool json;
	bool entries;
	bool prometheus;
};

/* Reads the head of table name's change journal, if it is the one with id. */
static bool fsc_dump_journal(const char *name, const struct fsc_shm_trust *trust, uint64_t id,
			     uint64_t *ring, uint64_t *head)
{
	struct fsc_shm_mapping map;
	struct fsc_journal_layout l;
	const char *why;
	if (!id || fsc_shm_map_journal(name, trust, &map, &l, &why))
		return false;
	const struct fsc_journal_header *h = map.base;
	bool ok = l.journal_id == id;
	if (ok) {
		*ring = l.ring_size;
		/* acquire: pairs with fscd's release of head, as a reader's cursor does */
		*head = atomic_load_explicit(&h->head, memory_order_acquire);
	}
	fsc_shm_unmap(&map);
	return ok;
}

static void fsc_dump_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: fsc-shmdump [--name NAME] [--json] [--entries] [--prometheus] [--help]\n"
	    "                   [--version]\n"
	    "\n"
	    "Print the fsc table published as DIR/fsc.NAME exactly as it is in shared\n"
	    "memory: header, liveness, counters and, with --entries, every live slot.\n"
	    "DIR is $FSC_DIR if set, else /run/fsc for root and, for other users,\n"
	    "$XDG_RUNTIME_DIR/fsc if it exists, else /run/fsc; or give NAME as DIR/NAME.\n"
	    "\n"
	    "  -n, --name NAME  table name (default \"default\"), as given to fscd --name\n"
	    "  -j, --json       print one JSON object instead of text. Paths are JSON strings\n"
	    "                   in which \\\" \\\\ are escaped and every byte < 0x20, 0x7f or\n"
	    "                   >= 0x80 is written \\u00XX (one code point per byte: decode and\n"
	    "                   take each code point as a byte to get the path's exact bytes)\n"
	    "  -e, --entries    also list every live slot (path, slot, flags, size, mode, ino,\n"
	    "                   mtime, change_seq, ms since the writer verified it); in text,\n"
	    "                   path bytes outside printable ASCII are shown as \\xHH\n"
	    "  -p, --prometheus print liveness, sizes, journal head and every counter in the\n"
	    "                   Prometheus text format (for node_exporter's textfile\n"
	    "                   collector); not with --json or --entries\n"
	    "  -h, --help       show this help\n"
	    "  -V, --version    show the version\n"
	    "\n"
	    "Exit status: 0 printed; 1 no table is published under NAME; 2 the object is not a\n"
	    "valid fsc table or cannot be read, or a usage error.\n");
}

/* 0 to go on, -1 after --help/--version (exit 0), or FSC_DUMP_EXIT_INVALID on a usage error */
static int fsc_dump_opts_parse(struct fsc_dump_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"entries", no_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"prometheus", no_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	*o = (struct fsc_dump_opts){.name = "default"};
	int c;
	while ((c = getopt_long(argc, argv, "n:jehpV", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->name = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'e':
			o->entries = true;
			break;
		case 'p':
			o->prometheus = true;
			break;
		case 'h':
			fsc_dump_usage(stdout);
			return -1;
		case 'V':
			printf("fsc-shmdump %s (table ABI %u)\n", FSC_VERSION, FSC_SHM_ABI_VERSION);
			return -1;
		default:
			fsc_dump_usage(stderr);
			return FSC_DUMP_EXIT_INVALID;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fsc-shmdump: unexpected argument '%s'\n", argv[optind]);
		fsc_dump_usage(stderr);
		return FSC_DUMP_EXIT_INVALID;
	}
	if (o->prometheus && (o->json || o->entries)) {
		fprintf(stderr,
			"fsc-shmdump: --prometheus goes with neither --json nor --entries\n");
		fsc_dump_usage(stderr);
		return FSC_DUMP_EXIT_INVALID;
	}
	if (!fsc_shm_table_name_valid(o->name)) {
		fprintf(stderr,
			"fsc-shmdump: invalid table name '%s': use 1-%d characters of "
			"[A-Za-z0-9._-], not starting with '.', or an absolute DIR/NAME (and "
			"FSC_DIR, if set, must be an absolute path)\n",
			o->name, FSC_NAME_MAX);
		fsc_dump_usage(stderr);
		return FSC_DUMP_EXIT_INVALID;
	}
	return 0;
}

static int fsc_dump_open_error(const struct fsc_dump_table *t, int err)
{
	if (err == ENOENT) {
		fprintf(stderr,
			"fsc-shmdump: no table named %s is published (is fscd running with "
			"--name %s?)\n",
			t->name, t->name);
		return FSC_DUMP_EXIT_NO_TABLE;
	}
	fprintf(stderr, "fsc-shmdump: cannot open table %s (%s): %s", t->name, t->object,
		strerror(err));
	if (err == EACCES)
		fprintf(stderr, "; run as the table's owner or a member of its group "
				"(fscd --mode/--group set who may read it)");
	fputc('\n', stderr);
	return FSC_DUMP_EXIT_INVALID;
}

static int fsc_dump_invalid(const struct fsc_dump_table *t, const char *what)
{
	fprintf(stderr,
		"fsc-shmdump: %s (table %s) is not a usable fsc table: %s. If no "
		"fscd serves it, it is a leftover: remove it and restart fscd --name %s.\n",
		t->object, t->name, what, t->name);
	return FSC_DUMP_EXIT_INVALID;
}

/* Maps DIR/fsc.<name> read-only and validates its header, as libfsc does (fsc_shm_map_table).
 * Returns 0 or an exit status. */
static int fsc_dump_table_open(struct fsc_dump_table *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	if (fsc_shm_object_name(t->object, sizeof(t->object), name))
		return FSC_DUMP_EXIT_INVALID; /* checked at option parsing */
	const char *why = NULL;
	if (fsc_shm_trust_from_env(&t->trust)) {
		fprintf(stderr,
			"fsc-shmdump: " FSC_TRUST_ENV " must list at most %d uids or user names, "
			"comma-separated (it is '%s')\n",
			FSC_TRUST_UIDS_MAX, getenv(FSC_TRUST_ENV));
		return FSC_DUMP_EXIT_INVALID;
	}
	int rc = fsc_shm_map_table(name, &t->trust, &t->map, &t->layout, &why);
	if (rc == -EPERM && why) {
		fprintf(stderr,
			"fsc-shmdump: %s (table %s) is refused: %s. Readers do not "
			"believe it. If that user runs your fscd, add its uid to " FSC_TRUST_ENV
			"; otherwise someone else put it there: remove it (as root) and start "
			"fscd --name %s.\n",
			t->object, t->name, why, t->name);
		return FSC_DUMP_EXIT_INVALID;
	}
	if (rc == -EPROTO && why)
		return fsc_dump_invalid(t, why);
	if (rc)
		return fsc_dump_open_error(t, -rc);
	t->hdr = t->map.base;
	rc = fsc_shm_served_parse(t->hdr, t->map.size, &t->layout, &t->served, &why);
	if (rc == -EPROTO)
		return fsc_dump_invalid(t, why); /* libfsc refuses it the same way */
	if (rc)
		return fsc_dump_open_error(t, -rc);
	return 0;
}

void fsc_dump_summarize(const struct fsc_dump_table *t, uint64_t now_ns, struct fsc_dump_summary *s)
{
	const struct fsc_shm_header *h = t->hdr;
	/* acquire: pairs with fscd's release when it publishes or retires the table; the rest
	 * is a monitoring snapshot, each value read once (relaxed) and printed as read */
	s->state = atomic_load_explicit(&h->state, memory_order_acquire);
	s->writer_alive = fsc_shm_writer_alive(h);
	uint64_t beat = atomic_load_explicit(&h->heartbeat_ns, memory_order_relaxed);
	s->heartbeat_age_ms = fsc_dump_age_ms(now_ns, beat);
	s->change_seq = atomic_load_explicit(&h->change_seq, memory_order_relaxed);
	for (int c = 0; c < FSC_CTR_COUNT; c++)
		s->counters[c] = atomic_load_explicit(&h->counters[c], memory_order_relaxed);
	/* the same test readers apply (PROTOCOL.md, "Liveness") */
	s->usable = s->state == FSC_TABLE_LIVE && s->writer_alive &&
		    fsc_shm_heartbeat_fresh(beat, now_ns, t->layout.writer_timeout_ns);
	double entries = (double)s->counters[FSC_CTR_ENTRIES];
	s->load_factor = entries / (double)t->layout.slot_count;
	s->capacity_used = entries / (double)t->layout.capacity;
	s->journal_ok =
	    fsc_dump_journal(t->name, &t->trust, h->journal_id, &s->journal_ring, &s->journal_head);
	fsc_time_format_utc(s->created, sizeof(s->created),
			    (int64_t)(h->created_realtime_ns / 1000000000u),
			    (int64_t)(h->created_realtime_ns % 1000000000u));
}

static void fsc_dump_print_text(const struct fsc_dump_table *t, const struct fsc_dump_summary *s)
{
	const struct fsc_shm_header *h = t->hdr;
	const struct fsc_shm_layout *l = &t->layout;
	printf("%-18s %s (%s)\n", "name", t->name, t->object);
	printf("%-18s %s\n", "state", fsc_shm_state_name(s->state));
	printf("%-18s %s\n", "usable",
	       s->usable ? "yes (readers answer from it)" : "no (readers fall back to stat)");
	printf("%-18s %" PRIu64 " (0x%" PRIx64 ")\n", "generation", h->generation, h->generation);
	printf("%-18s %" PRIu32 "\n", "writer_pid", h->writer_pid);
	printf("%-18s %s\n", "writer_alive", s->writer_alive ? "yes" : "no");
	printf("%-18s %" PRId64 " (timeout %" PRIu64 ")\n", "heartbeat_age_ms", s->heartbeat_age_ms,
	       l->writer_timeout_ns / 1000000u);
	printf("%-18s %" PRIu64 "\n", "capacity", l->capacity);
	printf("%-18s %" PRIu64 "\n", "slot_count", l->slot_count);
	printf("%-18s %" PRIu32 "\n", "slot_size", l->slot_size);
	printf("%-18s %" PRIu32 "\n", "path_max", l->path_max);
	printf("%-18s %" PRIu32 "\n", "max_probe", l->max_probe);
	printf("%-18s %s\n", "created", s->created);
	printf("%-18s %" PRIu64 "\n", "change_seq", s->change_seq);
	if (s->journal_ok)
		printf("%-18s 0x%" PRIx64 ", ring %" PRIu64 " KiB, %" PRIu64 " bytes written\n",
		       "journal", h->journal_id, s->journal_ring / 1024, s->journal_head);
	else
		printf("%-18s %s\n", "journal",
		       h->journal_id ? "not found" : "none (--journal-kib 0)");
	fsc_dump_served_print_text(t->served, stdout);
	printf("%-18s %.4f (%" PRIu64 " entries in %" PRIu64 " slots; %.1f%% of capacity)\n",
	       "load_factor", s->load_factor, s->counters[FSC_CTR_ENTRIES], l->slot_count,
	       100.0 * s->capacity_used);
	printf("counters:\n");
	for (int c = 0; c < FSC_CTR_COUNT; c++)
		printf("  %-20s %" PRIu64 "\n", fsc_shm_counter_name((enum fsc_counter)c),
		       s->counters[c]);
}

static void fsc_dump_print_json_header(struct fsc_json *j, const struct fsc_dump_table *t,
				       const struct fsc_dump_summary *s)
{
	const struct fsc_shm_header *h = t->hdr;
	const struct fsc_shm_layout *l = &t->layout;
	fsc_json_string(j, "name", t->name);
	fsc_json_string(j, "object", t->object);
	fsc_json_string(j, "state", fsc_shm_state_name(s->state));
	fsc_json_bool(j, "usable", s->usable);
	fsc_json_u64(j, "generation", h->generation);
	fsc_json_u64(j, "writer_pid", h->writer_pid);
	fsc_json_bool(j, "writer_alive", s->writer_alive);
	fsc_json_i64(j, "heartbeat_age_ms", s->heartbeat_age_ms);
	fsc_json_u64(j, "writer_timeout_ms", l->writer_timeout_ns / 1000000u);
	fsc_json_u64(j, "capacity", l->capacity);
	fsc_json_u64(j, "slot_count", l->slot_count);
	fsc_json_u64(j, "slot_size", l->slot_size);
	fsc_json_u64(j, "path_max", l->path_max);
	fsc_json_u64(j, "max_probe", l->max_probe);
	fsc_json_u64(j, "created_realtime_ns", h->created_realtime_ns);
	fsc_json_string(j, "created", s->created);
	fsc_json_u64(j, "change_seq", s->change_seq);
	fsc_json_u64(j, "journal_id", h->journal_id);
	if (s->journal_ok) {
		fsc_json_u64(j, "journal_ring_bytes", s->journal_ring);
		fsc_json_u64(j, "journal_head", s->journal_head);
	}
	fsc_dump_served_print_json(t->served, j);
	fsc_json_double(j, "load_factor", s->load_factor);
	fsc_json_double(j, "capacity_used", s->capacity_used);
	fsc_json_object_begin(j, "counters");
	for (int c = 0; c < FSC_CTR_COUNT; c++)
		fsc_json_u64(j, fsc_shm_counter_name((enum fsc_counter)c), s->counters[c]);
	fsc_json_object_end(j);
}

static void fsc_dump_warn_scan(const struct fsc_dump_table *t, const struct fsc_dump_scan *scan)
{
	if (scan->busy)
		fprintf(stderr,
			"fsc-shmdump: warning: table %s: %" PRIu64 " slots were being rewritten "
			"throughout and were skipped (writer died mid-write, or run again)\n",
			t->name, scan->busy);
	if (scan->damaged)
		fprintf(stderr,
			"fsc-shmdump: warning: table %s: %" PRIu64 " slots hold impossible "
			"values (damaged table: restart fscd --name %s)\n",
			t->name, scan->damaged, t->name);
}

int main(int argc, char **argv)
{
	struct fsc_dump_opts o;
	int rc = fsc_dump_opts_parse(&o, argc, argv);
	if (rc)
		return rc < 0 ? FSC_DUMP_EXIT_OK : rc;
	struct fsc_dump_table t;
	rc = fsc_dump_table_open(&t, o.name);
	if (rc)
		return rc;
	uint64_t now = fsc_dump_now_ns();
	struct fsc_dump_summary s;
	fsc_dump_summarize(&t, now, &s);
	struct fsc_dump_scan scan = {0};
	if (o.prometheus) {
		fsc_dump_prom_print(&t, &s, stdout);
	} else if (o.json) {
		struct fsc_json j;
		fsc_json_init(&j, stdout);
		fsc_json_object_begin(&j, NULL);
		fsc_dump_print_json_header(&j, &t, &s);
		if (o.entries)
			fsc_dump_entries_print_json(&t, now, &j, &scan);
		fsc_json_object_end(&j);
		fputc('\n', stdout);
	} else {
		fsc_dump_print_text(&t, &s);
		if (o.entries)
			fsc_dump_entries_print_text(&t, now, stdout, &scan);
	}
	fsc_dump_warn_scan(&t, &scan);
	free(t.served);
	fsc_shm_unmap(&t.map);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "fsc-shmdump: cannot write the dump of table %s: %s\n", o.name,
			strerror(errno));
		return FSC_DUMP_EXIT_INVALID;
	}
	return FSC_DUMP_EXIT_OK;
}
