/* Readers attached to randomly damaged objects never crash: damaged copies of a real table are
 * opened (or refused) and read in child processes, and a live table is scribbled on while
 * readers use it. Deterministic: every random choice comes from a seeded PRNG. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_table.h"
#include "fsc_test_util.h"

#define ENTRIES			 300
#define ROUNDS			 300
#define RANDOM_PATHS		 64
#define LIVE_ROUNDS		 200
#define CONCURRENT_SCRIBBLES_MAX 5000000
#define CHILD_ROUNDS_MIN	 50
#define CHILD_ROUNDS_MAX	 20000

struct fixture {
	char keys[ENTRIES][48];
	/* what a test holds, released by cleanup() even when the test fails */
	struct fsc_writer *w;
	fsc_t *c;
	char damaged[64]; /* the damaged copy of the current round */
	unsigned char *buf;
};

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: deterministic, good enough to pick damage */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static void key_of(struct fixture *f, int i)
{
	snprintf(f->keys[i], sizeof(f->keys[i]), "/srv/data/d%03d/file-%d.txt", i % 37, i);
}

static int setup(void **state)
{
	static struct fixture f;
	for (int i = 0; i < ENTRIES; i++)
		key_of(&f, i);
	*state = &f;
	return 0;
}

static void unlink_damaged(struct fixture *f)
{
	char oname[FSC_SHM_OBJECT_NAME_MAX];
	if (f->damaged[0] && fsc_shm_object_name(oname, sizeof(oname), f->damaged) == 0)
		assert_int_equal(unlink(oname), 0);
	f->damaged[0] = '\0';
}

static int cleanup(void **state)
{
	struct fixture *f = *state;
	fsc_close(f->c);
	fsc_writer_close(f->w);
	if (f->damaged[0]) {
		char oname[FSC_SHM_OBJECT_NAME_MAX];
		fsc_shm_object_name(oname, sizeof(oname), f->damaged);
		unlink(oname);
	}
	free(f->buf);
	f->c = NULL;
	f->w = NULL;
	f->damaged[0] = '\0';
	f->buf = NULL;
	return 0;
}

/* f->w: a writer on a fresh name holding every key: positive, negative, polled and stale. */
static struct fsc_writer *make_table(struct fixture *f, char *name, size_t size)
{
	fsc_test_name(name, size, "corrupt");
	struct fsc_writer *w = f->w = fsc_test_writer(name, 512);
	for (int i = 0; i < ENTRIES; i++) {
		const char *k = f->keys[i];
		struct stat st;
		fsc_test_fake_stat(&st, (uint64_t)i, 1);
		uint32_t flags = i % 11 == 0 ? FSC_REC_POLLED : i % 13 == 0 ? FSC_REC_STALE : 0;
		int rc = i % 7 == 0 ? fsc_writer_put_negative(w, k, strlen(k))
				    : fsc_writer_put(w, k, strlen(k), &st, flags);
		assert_int_equal(rc, 0);
	}
	assert_int_equal(fsc_writer_header(w)->counters[FSC_CTR_ENTRIES], ENTRIES);
	return w;
}

static void write_object(const char *name, const void *buf, size_t size)
{
	char oname[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_object_name(oname, sizeof(oname), name), 0);
	int fd = open(oname, O_RDWR | O_CREAT | O_EXCL, 0640);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0640), 0);
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, (const char *)buf + done, size - done);
		assert_true(n > 0);
		done += (size_t)n;
	}
	close(fd);
}

/* A random NUL-terminated path: usually cacheable-looking, sometimes long or odd bytes. */
static void random_path(uint64_t *s, char *p, size_t cap)
{
	static const char alphabet[] = "abcz09/._-/\x7f\x80\xff";
	size_t len = 1 + below(s, below(s, 8) == 0 ? cap - 1 : 40);
	for (size_t i = 0; i < len; i++)
		p[i] = alphabet[below(s, sizeof(alphabet) - 1)];
	if (below(s, 4))
		p[0] = '/';
	p[len] = '\0';
}

/* In a forked child: cmocka's handlers would turn a crash into a longjmp back into the test
 * runner; restore the defaults so a crash kills the child and the parent sees the signal. */
static void child_default_signals(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		signal(sigs[i], SIG_DFL);
}

struct report {
	uint32_t accepted;
	uint32_t bad; /* results outside the documented codes: must stay 0 */
	uint64_t results[5];
};

static void read_everything(fsc_t *c, struct fixture *f, uint64_t *s, struct report *rep)
{
	static char p[600];
	for (int i = 0; i < ENTRIES + RANDOM_PATHS; i++) {
		const char *path = f->keys[i % ENTRIES];
		if (i >= ENTRIES) {
			random_path(s, p, sizeof(p));
			path = p;
		}
		struct stat st;
		struct fsc_info info;
		int r = fsc_lookup(c, path, &st, &info);
		if (r < FSC_HIT || r > FSC_UNAVAILABLE)
			rep->bad++;
		else
			rep->results[r]++;
		if (i % 16 == 0) {
			int sr = fsc_stat(c, path, &st); /* may call stat(2) */
			if (sr != 0 && sr != -1)
				rep->bad++;
		}
	}
}

/* In a child: open the damaged object (may be refused), read it, report, exit. */
static void child_read(struct fixture *f, const char *name, uint64_t seed, int fd)
{
	struct report rep = {0};
	fsc_t *c = fsc_open(name);
	if (c) {
		rep.accepted = 1;
		read_everything(c, f, &seed, &rep);
		fsc_close(c);
	}
	_exit(write(fd, &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 3);
}

/* Offsets and widths of header fields that a damage round may set to a random value. */
static const struct {
	size_t off, width;
} fields[] = {
    {offsetof(struct fsc_shm_header, magic), 8},
    {offsetof(struct fsc_shm_header, abi_version), 4},
    {offsetof(struct fsc_shm_header, header_size), 4},
    {offsetof(struct fsc_shm_header, object_size), 8},
    {offsetof(struct fsc_shm_header, slots_offset), 8},
    {offsetof(struct fsc_shm_header, slot_count), 8},
    {offsetof(struct fsc_shm_header, slot_size), 4},
    {offsetof(struct fsc_shm_header, max_probe), 4},
    {offsetof(struct fsc_shm_header, capacity), 8},
    {offsetof(struct fsc_shm_header, hash_seed), 8},
    {offsetof(struct fsc_shm_header, generation), 8},
    {offsetof(struct fsc_shm_header, writer_timeout_ns), 8},
    {offsetof(struct fsc_shm_header, state), 4},
    {offsetof(struct fsc_shm_header, liveness_mutex), 4},
    {offsetof(struct fsc_shm_header, heartbeat_ns), 8},
};

static void set_field(uint64_t *s, unsigned char *buf)
{
	size_t i = below(s, sizeof(fields) / sizeof(*fields));
	uint64_t old = 0, v;
	memcpy(&old, buf + fields[i].off, fields[i].width);
	switch (below(s, 5)) {
	case 0:
		v = rnd(s);
		break;
	case 1:
		v = below(s, 256);
		break;
	case 2:
		v = 1ull << below(s, 64);
		break;
	case 3:
		v = old + below(s, 129) - 64;
		break;
	default:
		v = below(s, 2) ? 0 : UINT64_MAX;
		break;
	}
	memcpy(buf + fields[i].off, &v, fields[i].width);
}

/* A geometry that still validates but differs from the writer's: slots read at odd places. */
static void plausible_geometry(uint64_t *s, unsigned char *buf, size_t size)
{
	struct fsc_shm_header *h = (struct fsc_shm_header *)buf;
	uint32_t slot_size = FSC_SLOT_SIZE_MIN + 64 * (uint32_t)below(s, 4);
	uint64_t count = FSC_SLOT_COUNT_MIN << below(s, 5);
	uint64_t room = size - sizeof(*h);
	if (count * slot_size > room)
		return;
	h->slot_size = slot_size;
	h->slot_count = count;
	h->slots_offset = sizeof(*h) + 64 * below(s, (room - count * slot_size) / 64 + 1);
	h->max_probe = 1 + (uint32_t)below(s, count);
	h->capacity = 1 + below(s, count);
}

/* A geometry that would reach past the end of the object, every other field still sane: a
 * validator that missed it would send readers out of bounds (SIGSEGV/SIGBUS in the child). */
static void oversize_geometry(uint64_t *s, unsigned char *buf)
{
	struct fsc_shm_header *h = (struct fsc_shm_header *)buf;
	switch (below(s, 3)) {
	case 0:
		h->slot_count <<= 1 + below(s, 6);
		break;
	case 1:
		h->slot_size += 64 * (uint32_t)(1 + below(s, 8));
		break;
	default:
		h->slots_offset += 4096 * (1 + below(s, 32));
		break;
	}
}

/* Applies 1-3 random kinds of damage to buf (a copy of size bytes, room for cap), and
 * sometimes truncates or extends it; returns the new size. */
static size_t damage(uint64_t *s, unsigned char *buf, size_t size, size_t cap)
{
	size_t hdr = sizeof(struct fsc_shm_header);
	int kinds = 1 + (int)below(s, 3);
	for (int k = 0; k < kinds; k++) {
		uint64_t n;
		switch (below(s, 7)) {
		case 0: /* flip bytes anywhere in the slot array */
			for (n = 1 + below(s, 64); n; n--)
				buf[hdr + below(s, size - hdr)] ^=
				    (unsigned char)(1 + below(s, 255));
			break;
		case 1: /* flip bytes in the header */
			for (n = 1 + below(s, 4); n; n--)
				buf[below(s, hdr)] ^= (unsigned char)(1 + below(s, 255));
			break;
		case 2:
			set_field(s, buf);
			break;
		case 3:
			plausible_geometry(s, buf, size);
			break;
		case 4:
			oversize_geometry(s, buf);
			break;
		case 5: /* random words over slots, sometimes an odd (busy) sequence */
			for (n = 1 + below(s, 8); n; n--) {
				uint64_t *w =
				    (uint64_t *)(void *)(buf + hdr) + below(s, (size - hdr) / 8);
				*w = below(s, 2) ? rnd(s) : (rnd(s) | 1);
			}
			break;
		default: /* a live slot claims a huge or a short path length */
			for (n = 1 + below(s, 8); n; n--) {
				uint64_t slot = below(s, (size - hdr) / FSC_SLOT_SIZE_DEFAULT);
				struct fsc_shm_slot *sl =
				    (void *)(buf + hdr + slot * FSC_SLOT_SIZE_DEFAULT);
				uint32_t len =
				    below(s, 2) ? (uint32_t)rnd(s) : (uint32_t)below(s, 64);
				sl->meta = fsc_shm_meta_pack(FSC_SLOT_LIVE, 0, len);
			}
			break;
		}
	}
	if (below(s, 5) == 0) /* truncate (often below a header) or extend */
		size = below(s, 4) ? below(s, below(s, 2) ? hdr : size)
				   : size + 64 * (1 + below(s, (cap - size) / 64 - 1));
	return size;
}

/* Forks a reader of the damaged object name; fails the test unless it exits 0. */
static struct report read_in_child(struct fixture *f, const char *name, uint64_t seed, int round)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_default_signals();
		close(fds[0]);
		child_read(f, name, seed, fds[1]);
	}
	close(fds[1]);
	struct report rep;
	ssize_t got = read(fds[0], &rep, sizeof(rep));
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("round %d: reader child %s %d", round,
			 WIFSIGNALED(status) ? "killed by signal" : "exited with",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	assert_int_equal(got, sizeof(rep));
	assert_int_equal(rep.bad, 0);
	return rep;
}

static void test_damaged_copies(void **state)
{
	struct fixture *f = *state;
	char tname[64];
	struct fsc_writer *w = make_table(f, tname, sizeof(tname));
	const struct fsc_shm_header *h = fsc_writer_header(w);
	size_t size = (size_t)h->object_size, cap = size + 8192;
	unsigned char *buf = f->buf = malloc(cap);
	assert_non_null(buf);
	uint64_t seed = 0x5eedf00dcafe1234ull;
	unsigned accepted = 0, rejected = 0;
	uint64_t results[5] = {0};
	for (int round = 0; round < ROUNDS; round++) {
		fsc_writer_heartbeat(w); /* so accepted copies are read, not found silent */
		memset(buf, 0, cap);
		memcpy(buf, h, size);
		size_t dsize = damage(&seed, buf, size, cap);
		fsc_test_name(f->damaged, sizeof(f->damaged), "dmg");
		write_object(f->damaged, buf, dsize);
		struct report rep = read_in_child(f, f->damaged, rnd(&seed), round);
		if (rep.accepted)
			accepted++;
		else
			rejected++;
		for (int r = 0; r < 5; r++)
			results[r] += rep.results[r];
		unlink_damaged(f);
	}
	print_message("damaged copies: %u accepted, %u refused; hit %llu neg %llu miss %llu "
		      "unavailable %llu\n",
		      accepted, rejected, (unsigned long long)results[FSC_HIT],
		      (unsigned long long)results[FSC_NEGATIVE],
		      (unsigned long long)results[FSC_MISS],
		      (unsigned long long)results[FSC_UNAVAILABLE]);
	/* both paths ran: objects refused at attach, and objects read despite damage */
	assert_true(accepted > 0);
	assert_true(rejected > 0);
	/* damage is local: accepted copies still answer keys from the table */
	assert_true(results[FSC_HIT] > 0);
	assert_true(results[FSC_NEGATIVE] > 0);
	assert_true(results[FSC_MISS] > 0);
}

/* make_table, and a reader attached to it in f->c. */
static struct fsc_writer *make_live_table(struct fixture *f, char *name, size_t size)
{
	struct fsc_writer *w = make_table(f, name, size);
	f->c = fsc_open(name);
	assert_non_null(f->c);
	return w;
}

/* Expected answer for key i of make_table, checked against a lookup. */
static void check_intact(fsc_t *c, struct fixture *f, int i)
{
	struct stat st;
	struct fsc_info info;
	int r = fsc_lookup(c, f->keys[i], &st, &info);
	if (i % 7 == 0) {
		assert_int_equal(r, FSC_NEGATIVE);
		return;
	}
	assert_int_equal(r, FSC_HIT);
	assert_true(fsc_test_fake_stat_consistent(&st, (uint64_t)i));
	assert_int_equal(info.flags, i % 11 == 0   ? FSC_FLAG_POLLED
				     : i % 13 == 0 ? FSC_FLAG_STALE
						   : 0);
}

/* Scribbling the header's geometry of a live table changes nothing for an attached reader:
 * it works from the copy it validated at attach. */
static void test_live_header_scribble(void **state)
{
	struct fixture *f = *state;
	char name[64];
	struct fsc_writer *w = make_live_table(f, name, sizeof(name));
	fsc_t *c = f->c;
	/* the writer owns this mapping read-write; the accessor merely returns it as const */
	_Atomic uint64_t *hw = (_Atomic uint64_t *)(uintptr_t)fsc_writer_header(w);
	uint64_t seed = 0x1234abcdull;
	for (int round = 0; round < 50; round++) {
		/* lines 0 and 1 (geometry, seed, identity) and 4-7 (counters); line 2 holds the
		 * state and the liveness mutex, line 3 the heartbeat */
		for (int n = 0; n < 8; n++) {
			size_t word = below(&seed, 4) ? below(&seed, 16) : 32 + below(&seed, 32);
			atomic_store_explicit(&hw[word], rnd(&seed), memory_order_relaxed);
		}
		fsc_writer_heartbeat(w);
		for (int i = 0; i < ENTRIES; i += 3)
			check_intact(c, f, i);
	}
	/* a new reader refuses the scribbled header */
	errno = 0;
	assert_null(fsc_open(name));
	assert_int_equal(errno, EPROTO);
}

/* Random stores over the slot array: as 8-byte atomic words, the way the writer stores. */
static void scribble_slots(struct fsc_writer *w, uint64_t *seed, int words)
{
	const struct fsc_shm_layout *l = fsc_writer_layout(w);
	unsigned char *base = (unsigned char *)(uintptr_t)fsc_writer_header(w) + l->slots_offset;
	_Atomic uint64_t *slots = (_Atomic uint64_t *)(void *)base;
	uint64_t nwords = l->slot_count * l->slot_size / 8;
	for (int n = 0; n < words; n++) {
		uint64_t i = below(seed, nwords);
		uint64_t v = rnd(seed);
		if (below(seed, 4) == 0)
			v = atomic_load_explicit(&slots[i], memory_order_relaxed) ^
			    (1ull << (v & 63));
		atomic_store_explicit(&slots[i], v, memory_order_relaxed);
	}
}

static void test_live_slot_scribble(void **state)
{
	struct fixture *f = *state;
	char name[64];
	struct fsc_writer *w = make_live_table(f, name, sizeof(name));
	fsc_t *c = f->c;
	for (int i = 0; i < ENTRIES; i++)
		check_intact(c, f, i);
	uint64_t seed = 0xfeedbeefull;
	struct report rep = {0};
	for (int round = 0; round < LIVE_ROUNDS; round++) {
		scribble_slots(w, &seed, 1 + (int)below(&seed, 32));
		fsc_writer_heartbeat(w);
		read_everything(c, f, &seed, &rep);
	}
	assert_int_equal(rep.bad, 0);
	print_message("live scribble: hit %llu miss %llu unavailable %llu\n",
		      (unsigned long long)rep.results[FSC_HIT],
		      (unsigned long long)rep.results[FSC_MISS],
		      (unsigned long long)rep.results[FSC_UNAVAILABLE]);
	assert_true(rep.results[FSC_HIT] > 0);
	/* the damage was seen: keys went missing or slots were left busy */
	assert_true(rep.results[FSC_UNAVAILABLE] > 0);
}

/* A reader process looks up keys while this process scribbles over the slots it reads. It
 * writes one byte to progress per round, and stops at EOF on done. */
static void concurrent_child(struct fixture *f, const char *name, int progress, int done)
{
	fsc_t *c = fsc_open(name);
	if (!c)
		_exit(4);
	struct report rep = {0};
	uint64_t seed = 0x77;
	char byte = 'r';
	if (write(progress, &byte, 1) != 1)
		_exit(5);
	for (int round = 0; round < CHILD_ROUNDS_MAX && read(done, &byte, 1) < 0; round++) {
		read_everything(c, f, &seed, &rep);
		if (write(progress, &byte, 1) != 1)
			_exit(5);
	}
	fsc_close(c);
	_exit(rep.bad ? 6 : 0);
}

static void test_concurrent_scribble(void **state)
{
	struct fixture *f = *state;
	char name[64];
	struct fsc_writer *w = make_table(f, name, sizeof(name));
	int progress[2], done[2];
	assert_int_equal(pipe(progress), 0);
	assert_int_equal(pipe2(done, O_NONBLOCK), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_default_signals();
		close(progress[0]);
		close(done[1]);
		concurrent_child(f, name, progress[1], done[0]);
	}
	close(progress[1]);
	close(done[0]);
	char byte;
	assert_int_equal(read(progress[0], &byte, 1), 1); /* the child has attached */
	assert_int_equal(fcntl(progress[0], F_SETFL, O_NONBLOCK), 0);
	/* scribble until the child has read through CHILD_ROUNDS_MIN rounds meanwhile */
	uint64_t seed = 0xabcdef01ull;
	int rounds = 0;
	for (int n = 0; n < CONCURRENT_SCRIBBLES_MAX && rounds < CHILD_ROUNDS_MIN; n++) {
		scribble_slots(w, &seed, 1);
		fsc_writer_heartbeat(w);
		char got[64];
		ssize_t r = n % 64 ? 0 : read(progress[0], got, sizeof(got));
		rounds += r > 0 ? (int)r : 0;
	}
	close(done[1]); /* the child reads EOF and stops */
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(rounds > 0);
	close(progress[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_damaged_copies, cleanup),
	    cmocka_unit_test_teardown(test_live_header_scribble, cleanup),
	    cmocka_unit_test_teardown(test_live_slot_scribble, cleanup),
	    cmocka_unit_test_teardown(test_concurrent_scribble, cleanup),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
