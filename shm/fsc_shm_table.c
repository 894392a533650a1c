#include "fsc_shm_table.h"

#include "fsc_shm_dir.h"
#include "fsc_shm_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

bool fsc_shm_name_valid(const char *name)
{
	size_t n = 0;
	if (!name || name[0] == '\0' || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++, n++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
		if (!ok || n >= FSC_NAME_MAX)
			return false;
	}
	return true;
}

bool fsc_shm_table_name_valid(const char *name)
{
	struct fsc_shm_addr a;
	return name && fsc_shm_addr_parse(name, &a) == 0;
}

int fsc_shm_object_path(char *buf, size_t size, const char *name, const char *prefix,
			const char *suffix)
{
	struct fsc_shm_addr a;
	int rc = fsc_shm_addr_parse(name, &a);
	if (rc)
		return rc;
	int n = snprintf(buf, size, "%s/%s%s%s", strcmp(a.dir, "/") ? a.dir : "", prefix, a.base,
			 suffix);
	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

bool fsc_shm_entry_of(const char *entry, const char *base)
{
	static const char *const prefixes[] = {FSC_SHM_PREFIX, FSC_JOURNAL_PREFIX};
	size_t n = strlen(base);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t p = strlen(prefixes[i]);
		if (strncmp(entry, prefixes[i], p) == 0 && strncmp(entry + p, base, n) == 0 &&
		    (entry[p + n] == '\0' || entry[p + n] == '.'))
			return true;
	}
	return false;
}

int fsc_shm_object_name(char *buf, size_t size, const char *name)
{
	return fsc_shm_object_path(buf, size, name, FSC_SHM_PREFIX, "");
}

int fsc_shm_request_addr(const char *name, uint64_t nonce, struct sockaddr_un *addr, unsigned *len)
{
	struct fsc_shm_addr a;
	if (fsc_shm_addr_parse(name, &a))
		return -EINVAL;
	if (nonce == 0)
		return -ENOENT;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* abstract namespace (leading NUL): nothing in the filesystem to clean up after a
	 * crash; the name is the bytes after the NUL, without a terminator. Anyone may bind any
	 * abstract name: the nonce, known only from the trusted table's header, is what keeps
	 * another user from binding this one before fscd and receiving readers' misses. The
	 * table's base name only: a directory's path could overflow sun_path, and the nonce
	 * already tells tables of one name in two directories apart. */
	int n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1,
			 FSC_SHM_PREFIX "%s.requests.%016" PRIx64, a.base, nonce);
	*len = (unsigned)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	return 0;
}

int fsc_shm_hints_name(char *buf, size_t size, const char *name, uint64_t generation)
{
	char suffix[32];
	snprintf(suffix, sizeof(suffix), ".hints.%" PRIx64, generation);
	return fsc_shm_object_path(buf, size, name, FSC_SHM_PREFIX, suffix);
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int fsc_shm_geometry(uint64_t capacity, uint32_t slot_size, uint64_t *slot_count,
		     uint64_t *object_size, const char **why)
{
	if (slot_size < FSC_SLOT_SIZE_MIN || slot_size > FSC_SLOT_SIZE_MAX ||
	    slot_size % FSC_CACHE_LINE) {
		*why = "slot size must be a multiple of 64 between 256 and 4352 bytes";
		return -EINVAL;
	}
	if (capacity == 0 || capacity > FSC_SLOT_COUNT_MAX / 2) {
		*why = "capacity must be between 1 and 33554432 entries";
		return -EINVAL;
	}
	/* Live keys fill at most half the slots: short linear-probe chains, room for tombstones */
	uint64_t n = FSC_SLOT_COUNT_MIN;
	while (n < 2 * capacity)
		n <<= 1;
	*slot_count = n;
	*object_size = sizeof(struct fsc_shm_header) + n * slot_size;
	return 0;
}

int fsc_shm_header_validate(const struct fsc_shm_header *h, uint64_t mapped_size,
			    struct fsc_shm_layout *out, const char **why)
{
	/* Each check guards the arithmetic of the next: sizes are bounded before multiplying. */
	if (mapped_size < sizeof(*h)) {
		*why = "object smaller than a table header (truncated or not an fsc table)";
		return -EPROTO;
	}
	if (h->magic != FSC_SHM_MAGIC) {
		*why = "bad magic (not an fsc table)";
		return -EPROTO;
	}
	if (h->abi_version != FSC_SHM_ABI_VERSION) {
		*why = "table ABI version differs from this library's";
		return -EPROTO;
	}
	if (h->header_size != sizeof(*h)) {
		*why = "header size mismatch";
		return -EPROTO;
	}
	if (h->object_size != mapped_size) {
		*why = "object size differs from the size the header records (truncated?)";
		return -EPROTO;
	}
	if (h->slot_size < FSC_SLOT_SIZE_MIN || h->slot_size > FSC_SLOT_SIZE_MAX ||
	    h->slot_size % FSC_CACHE_LINE) {
		*why = "slot size out of range";
		return -EPROTO;
	}
	if (!is_pow2(h->slot_count) || h->slot_count < FSC_SLOT_COUNT_MIN ||
	    h->slot_count > FSC_SLOT_COUNT_MAX) {
		*why = "slot count not a power of two in range";
		return -EPROTO;
	}
	if (h->slots_offset < sizeof(*h) || h->slots_offset % FSC_CACHE_LINE ||
	    h->slots_offset > mapped_size ||
	    h->slot_count * h->slot_size > mapped_size - h->slots_offset) {
		*why = "slot array does not fit in the object";
		return -EPROTO;
	}
	if (h->max_probe == 0 || h->max_probe > h->slot_count) {
		*why = "probe bound out of range";
		return -EPROTO;
	}
	if (h->capacity == 0 || h->capacity > h->slot_count) {
		*why = "capacity out of range";
		return -EPROTO;
	}
	uint64_t timeout = h->writer_timeout_ns;
	if (timeout < FSC_WRITER_TIMEOUT_MIN_NS)
		timeout = FSC_WRITER_TIMEOUT_MIN_NS;
	if (timeout > FSC_WRITER_TIMEOUT_MAX_NS)
		timeout = FSC_WRITER_TIMEOUT_MAX_NS;
	*out = (struct fsc_shm_layout){
	    .slot_count = h->slot_count,
	    .mask = h->slot_count - 1,
	    .slots_offset = h->slots_offset,
	    .capacity = h->capacity,
	    .hash_seed = h->hash_seed,
	    .generation = h->generation,
	    .writer_timeout_ns = timeout,
	    .request_nonce = h->request_nonce,
	    .slot_size = h->slot_size,
	    .path_max = fsc_shm_slot_path_max(h->slot_size),
	    .max_probe = h->max_probe,
	};
	return 0;
}

/* Every component of path[0, len) (len > 1, path[0] == '/', path[len - 1] != '/') is
 * non-empty and not "." or "..". */
static bool fsc_shm_components_ok(const char *path, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (path[i] != '/')
			continue;
		size_t j = i + 1;
		size_t k = j;
		while (k < len && path[k] != '/')
			k++;
		size_t clen = k - j;
		if (clen == 0 || (clen == 1 && path[j] == '.') ||
		    (clen == 2 && path[j] == '.' && path[j + 1] == '.'))
			return false;
		i = k - 1;
	}
	return true;
}

/* Nonzero in the high bit of each byte of x that is zero, and maybe of a byte above a zero
 * byte: never zero when a byte is zero. */
static inline uint64_t fsc_shm_zero_bytes(uint64_t x)
{
	return (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
}

/* Could path[0, len) hold "//" or "/." (a '/' then a '/' or '.': '.' is 0x2e, '/' 0x2f)?
 * False only if it cannot: an empty, "." or ".." component needs one of these pairs. */
static bool fsc_shm_maybe_dot_or_empty(const char *path, size_t len)
{
	const uint64_t slashes = 0x2f2f2f2f2f2f2f2full, low = 0x0101010101010101ull;
	if (len < 9) {
		for (size_t i = 0; i + 1 < len; i++)
			if (path[i] == '/' && (path[i + 1] | 1) == '/')
				return true;
		return false;
	}
	/* bytes i..i+7 against the bytes after them, i+1..i+8: position by position, so the
	 * same test holds for either byte order. The last round, at len - 9, overlaps. */
	for (size_t i = 0;; i += 8) {
		if (i > len - 9)
			i = len - 9;
		uint64_t a, b;
		memcpy(&a, path + i, 8);
		memcpy(&b, path + i + 1, 8);
		if (fsc_shm_zero_bytes(a ^ slashes) & fsc_shm_zero_bytes((b | low) ^ slashes))
			return true;
		if (i == len - 9)
			return false;
	}
}

bool fsc_shm_path_cacheable(const char *path, size_t len, uint32_t path_max)
{
	if (len == 0 || len > path_max || path[0] != '/')
		return false;
	if (len == 1)
		return true; /* "/" itself */
	if (path[len - 1] == '/')
		return false;
	/* every component must be non-empty and not "." or ".."; almost every path has no
	 * "//" or "/." at all, which a word at a time shows */
	return !fsc_shm_maybe_dot_or_empty(path, len) || fsc_shm_components_ok(path, len);
}

const char *fsc_shm_counter_name(enum fsc_counter c)
{
	static const char *const names[FSC_CTR_COUNT] = {
	    [FSC_CTR_ENTRIES] = "entries",
	    [FSC_CTR_TOMBSTONES] = "tombstones",
	    [FSC_CTR_INSERTS] = "inserts",
	    [FSC_CTR_UPDATES] = "updates",
	    [FSC_CTR_REMOVES] = "removes",
	    [FSC_CTR_EVICTIONS] = "evictions",
	    [FSC_CTR_PROBE_EVICTIONS] = "probe_evictions",
	    [FSC_CTR_UNCACHEABLE] = "uncacheable",
	    [FSC_CTR_EVENTS] = "inotify_events",
	    [FSC_CTR_OVERFLOWS] = "inotify_overflows",
	    [FSC_CTR_WATCHES] = "watches",
	    [FSC_CTR_WATCH_FAILURES] = "watch_failures",
	    [FSC_CTR_RESCANS] = "rescans",
	    [FSC_CTR_STATS] = "writer_stats",
	    [FSC_CTR_STAT_ERRORS] = "writer_stat_errors",
	    [FSC_CTR_REBUILDS] = "rebuilds",
	    [FSC_CTR_POLLED_DIRS] = "polled_dirs",
	    [FSC_CTR_POLL_SCANS] = "poll_scans",
	    [FSC_CTR_POLL_STALLS] = "poll_stalls",
	    [FSC_CTR_REQUESTS] = "requests",
	    [FSC_CTR_REQUESTS_ADMITTED] = "requests_admitted",
	    [FSC_CTR_REQUESTS_REFUSED] = "requests_refused",
	    [FSC_CTR_REBUILD_FAILURES] = "rebuild_failures",
	    [FSC_CTR_REQUESTS_LIMITED] = "requests_limited",
	};
	return (unsigned)c < FSC_CTR_COUNT ? names[c] : "unknown";
}

const char *fsc_shm_state_name(uint32_t state)
{
	switch (state) {
	case FSC_TABLE_BUILDING:
		return "building";
	case FSC_TABLE_LIVE:
		return "live";
	case FSC_TABLE_RETIRED:
		return "retired";
	case FSC_TABLE_STOPPED:
		return "stopped";
	default:
		return "invalid";
	}
}
