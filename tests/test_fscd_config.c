/* fscd's configuration: the config file and the flags set the same things, flags win, errors
 * name the file and line, and SIGHUP applies a new file (or keeps serving if it is broken).
 * The filter's own rules are in test_fscd_filter, --help's list of keys in test_fscd_cli. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsc.h"
#include "fsc_shm_table.h"
#include "fsc_test_fscd.h"
#include "fsc_test_util.h"
#include "fscd_config.h"

#define WAIT_MS 15000

/* A temporary tree with two watch roots (a/ and b/, two files each) and, outside them, a
 * directory for the config file and fscd's log. */
struct fixture {
	char name[64];
	char *top;
	char a[200], b[200], etc[200], conf[256], log[256];
	char a_files[2][256], b_files[2][256];
	pid_t pid; /* the running fscd, stopped by teardown if a test failed */
};

static void make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fsc_test_name(f->name, sizeof(f->name), "config");
	f->top = fsc_test_tmpdir("config");
	snprintf(f->a, sizeof(f->a), "%s/a", f->top);
	snprintf(f->b, sizeof(f->b), "%s/b", f->top);
	snprintf(f->etc, sizeof(f->etc), "%s/etc", f->top);
	assert_int_equal(mkdir(f->a, 0755), 0);
	assert_int_equal(mkdir(f->b, 0755), 0);
	assert_int_equal(mkdir(f->etc, 0755), 0);
	snprintf(f->log, sizeof(f->log), "%s/fscd.log", f->etc);
	snprintf(f->conf, sizeof(f->conf), "%s/fscd.conf", f->etc);
	for (int i = 0; i < 2; i++) {
		snprintf(f->a_files[i], sizeof(f->a_files[i]), "%s/a%d.log", f->a, i);
		snprintf(f->b_files[i], sizeof(f->b_files[i]), "%s/b%d.log", f->b, i);
		make_file(f->a_files[i]);
		make_file(f->b_files[i]);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->pid > 0)
		fsc_test_fscd_stop(f->pid);
	fsc_test_shm_leftovers(f->name, true);
	fsc_test_rmtree(f->top);
	free(f->top);
	free(f);
	return 0;
}

__attribute__((format(printf, 2, 3))) static void write_conf(const char *path, const char *fmt, ...)
{
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(out), 0);
}

static void pause_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Polls fscd's log until it contains needle; fails the test after WAIT_MS. */
static void wait_for_log(const char *log, const char *needle)
{
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	while (!strstr(fsc_test_read_file(log), needle)) {
		if (fsc_test_now_ms() > end)
			fail_msg("log lacks \"%s\" after %d ms: %s", needle, WAIT_MS,
				 fsc_test_read_file(log));
		pause_ms(5);
	}
}

/* Polls c until probe is a hit from a generation other than old; returns it. */
static uint64_t wait_for_generation(fsc_t *c, const char *probe, uint64_t old)
{
	uint64_t end = fsc_test_now_ms() + WAIT_MS;
	struct fsc_info info;
	while (fsc_lookup(c, probe, NULL, &info) != FSC_HIT || info.generation == old) {
		if (fsc_test_now_ms() > end)
			fail_msg("no generation other than %llx served %s within %d ms",
				 (unsigned long long)old, probe, WAIT_MS);
		pause_ms(5);
	}
	return info.generation;
}

static uint64_t generation_of(fsc_t *c, const char *probe)
{
	struct fsc_info info;
	assert_int_equal(fsc_lookup(c, probe, NULL, &info), FSC_HIT);
	return info.generation;
}

/* The config holds the table's address: the name in the object directory (FSC_DIR). */
static void assert_name_is(const char *got, const char *name)
{
	char want[FSC_ADDR_MAX + 1];
	assert_int_equal(fsc_shm_addr_resolve(name, want, sizeof(want)), 0);
	assert_string_equal(got, want);
}

/* The published table's capacity, slot size and permissions. */
static void table_params(const char *name, uint64_t *capacity, uint32_t *slot_size, mode_t *mode)
{
	char path[FSC_SHM_OBJECT_NAME_MAX];
	assert_int_equal(fsc_shm_object_name(path, sizeof(path), name), 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	const struct fsc_shm_header *h = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, fd, 0);
	assert_true(h != MAP_FAILED);
	*capacity = h->capacity;
	*slot_size = h->slot_size;
	*mode = st.st_mode & 07777;
	munmap((void *)h, sizeof(*h));
	close(fd);
}

/* Fails unless pid holds, beyond 0-2, exactly fscd's own six event descriptors (inotify,
 * signals, timer, epoll, the stat workers' wake-up, the request socket): what a reload's new
 * image should start with (fscd marks everything else close-on-exec). */
#define FSCD_EVENT_FDS 6
static void expect_only_event_fds(pid_t pid)
{
	const char *want[FSCD_EVENT_FDS] = {"anon_inode:inotify",   "anon_inode:[signalfd]",
					    "anon_inode:[timerfd]", "anon_inode:[eventpoll]",
					    "anon_inode:[eventfd]", "socket:"};
	int seen[FSCD_EVENT_FDS] = {0}, other = 0;
	char dir[64], path[384], target[256];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.' || atoi(e->d_name) <= 2)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		int k = 0;
		while (k < FSCD_EVENT_FDS && strncmp(target, want[k], strlen(want[k])))
			k++;
		if (k < FSCD_EVENT_FDS)
			seen[k]++;
		else
			other++;
		if (k == FSCD_EVENT_FDS || seen[k] > 1)
			fprintf(stderr, "unexpected fd %s -> %s\n", e->d_name, target);
	}
	closedir(d);
	assert_int_equal(other, 0);
	for (int k = 0; k < FSCD_EVENT_FDS; k++)
		assert_int_equal(seen[k], 1);
}

static pid_t start_fscd(struct fixture *f, const char *const *argv)
{
	f->pid = fsc_test_fscd_start(argv, f->log);
	return f->pid;
}

static void stop_and_check_clean(struct fixture *f, const char *name)
{
	int status = fsc_test_fscd_stop(f->pid);
	f->pid = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(fsc_test_shm_leftovers(name, false), 0);
}

/* After a refused reload: the same table (generation gen) still follows changes, fscd never
 * restarted; then stops fscd and checks it left nothing. Closes c. */
static void assert_kept_serving(struct fixture *f, fsc_t *c, uint64_t gen)
{
	fsc_test_write_file(f->a_files[0], "more\n", O_APPEND);
	const char *paths[] = {f->a_files[0], NULL};
	fsc_test_wait_agree(c, paths, FSC_EXPECT_STAT, WAIT_MS);
	assert_int_equal(generation_of(c, f->a_files[0]), gen);
	assert_null(strstr(fsc_test_read_file(f->log), "restarting in place"));
	fsc_close(c);
	stop_and_check_clean(f, f->name);
}

/* In-process: defaults < file < flags, lists accumulate, argv left as given. */
static void test_load_precedence(void **state)
{
	struct fixture *f = *state;
	write_conf(f->conf,
		   "# every kind of setting\n"
		   "name = fromfile\n"
		   "  capacity = 100   ; indented, with a comment\n"
		   "poll-interval = 500\nmax-depth = 3\nexclude = *.tmp\ninclude = *.log\n"
		   "watch = %s\nlog-level = debug\nmode = 0600\njournal-kib = 64\nbatch-ms = 5\n",
		   f->a);
	char *argv[] = {"fscd", "--config", f->conf, "--capacity", "200",
			"-x",	"*.swp",    "-w",    f->b,	   NULL};
	char *before[10];
	memcpy(before, argv, sizeof(argv));
	struct fscd_config cfg;
	struct fscd_config_error err;
	assert_int_equal(fscd_config_load(&cfg, 9, argv, true, &err), FSCD_CONFIG_RUN);
	assert_memory_equal(before, argv, sizeof(argv));
	assert_name_is(cfg.name, "fromfile");
	assert_int_equal(cfg.capacity, 200);
	assert_int_equal(cfg.poll_interval_ms, 500);
	assert_int_equal(cfg.max_depth, 3);
	assert_int_equal(cfg.mode, 0600);
	assert_int_equal(cfg.log_level, FSCD_LOG_DEBUG);
	assert_int_equal(cfg.journal_kib, 64);
	assert_int_equal(cfg.batch_ms, 5);
	assert_int_equal(cfg.exclude.n, 2);
	assert_string_equal(cfg.exclude.v[0], "*.tmp");
	assert_string_equal(cfg.exclude.v[1], "*.swp");
	assert_int_equal(cfg.include.n, 1);
	assert_int_equal(cfg.watch.n, 2);
	assert_string_equal(cfg.watch.v[0], f->a);
	assert_string_equal(cfg.watch.v[1], f->b);
	fscd_config_free(&cfg);
	/* built-in defaults */
	char *plain[] = {"fscd", "-w", "/tmp", NULL};
	assert_int_equal(fscd_config_load(&cfg, 3, plain, true, &err), FSCD_CONFIG_RUN);
	assert_name_is(cfg.name, FSCD_DEFAULT_NAME);
	assert_int_equal(cfg.capacity, FSCD_DEFAULT_CAPACITY);
	assert_int_equal(cfg.poll_interval_ms, FSCD_DEFAULT_POLL_INTERVAL_MS);
	assert_int_equal(cfg.max_depth, 0);
	assert_int_equal(cfg.journal_kib, FSCD_DEFAULT_JOURNAL_KIB);
	assert_int_equal(cfg.batch_ms, FSCD_DEFAULT_BATCH_MS);
	assert_int_equal(cfg.exclude.n + cfg.include.n, 0);
	fscd_config_free(&cfg);
}

/* The same settings from the file and from flags publish the same table. */
static void test_file_equals_flags(void **state)
{
	struct fixture *f = *state;
	write_conf(f->conf,
		   "name = %s\nwatch = %s\ncapacity = 1000\nslot-size = 1024\nmode = 0600\n",
		   f->name, f->a);
	const char *from_file[] = {"fscd", "--config", f->conf, NULL};
	const char *from_flags[] = {"fscd", "-n",	   f->name, "-w",     f->a,   "--capacity",
				    "1000", "--slot-size", "1024",  "--mode", "0600", NULL};
	const char *const *variants[] = {from_file, from_flags};
	for (int v = 0; v < 2; v++) {
		start_fscd(f, variants[v]);
		fsc_t *c = fsc_test_open_new_generation(f->name, f->a_files[0], 0, WAIT_MS);
		const char *paths[] = {f->a, f->a_files[0], f->a_files[1], NULL};
		fsc_test_wait_agree(c, paths, FSC_EXPECT_STAT, WAIT_MS);
		assert_int_equal(fsc_lookup(c, f->b_files[0], NULL, NULL), FSC_MISS);
		uint64_t capacity;
		uint32_t slot_size;
		mode_t mode;
		table_params(f->name, &capacity, &slot_size, &mode);
		assert_int_equal(capacity, 1000);
		assert_int_equal(slot_size, 1024);
		assert_int_equal(mode, 0600);
		fsc_close(c);
		stop_and_check_clean(f, f->name);
	}
	assert_non_null(strstr(fsc_test_read_file(f->log), "serving table"));
}

/* Flags override the file's values; watch roots from both accumulate. */
static void test_flags_override_file(void **state)
{
	struct fixture *f = *state;
	char file_name[80];
	snprintf(file_name, sizeof(file_name), "%s_file", f->name);
	write_conf(f->conf, "name = %s\ncapacity = 1000\nwatch = %s\n", file_name, f->a);
	const char *argv[] = {"fscd",	    "--config", f->conf,   "--name", f->name,
			      "--capacity", "2000",	"--watch", f->b,     NULL};
	start_fscd(f, argv);
	fsc_t *c = fsc_test_open_new_generation(f->name, f->b_files[0], 0, WAIT_MS);
	const char *paths[] = {f->a_files[0], f->a_files[1], f->b_files[0], f->b_files[1], NULL};
	fsc_test_wait_agree(c, paths, FSC_EXPECT_STAT, WAIT_MS);
	uint64_t capacity;
	uint32_t slot_size;
	mode_t mode;
	table_params(f->name, &capacity, &slot_size, &mode);
	assert_int_equal(capacity, 2000);
	assert_int_equal(mode, 0640);
	assert_null(fsc_open(file_name));
	assert_int_equal(errno, ENOENT);
	fsc_close(c);
	stop_and_check_clean(f, f->name);
}

/* watch = twice in the file: both roots are served. */
static void test_repeated_keys_accumulate(void **state)
{
	struct fixture *f = *state;
	write_conf(f->conf, "name = %s\nwatch = %s\nwatch = %s\n", f->name, f->a, f->b);
	const char *argv[] = {"fscd", "--config", f->conf, NULL};
	start_fscd(f, argv);
	fsc_t *c = fsc_test_open_new_generation(f->name, f->a_files[0], 0, WAIT_MS);
	const char *paths[] = {f->a_files[0], f->a_files[1], f->b_files[0], f->b_files[1], NULL};
	fsc_test_wait_agree(c, paths, FSC_EXPECT_STAT, WAIT_MS);
	fsc_close(c);
	stop_and_check_clean(f, f->name);
}

static void expect_config_error(struct fixture *f, const char *content, const char *message)
{
	write_conf(f->conf, "%s", content);
	const char *argv[] = {"fscd", "--config", f->conf, NULL};
	fsc_test_usage_error(argv, message);
}

static void test_config_errors(void **state)
{
	struct fixture *f = *state;
	/* a config file, and what fscd's stderr must say: prefix, the file's name, message */
	static const struct {
		const char *content, *prefix, *message;
	} cases[] = {
	    {"watch = /tmp\nbogus = 1\n",
	     "fscd: ", ":2: unknown setting 'bogus' (see fscd --help)\n"},
	    {"# comment\nwatch = /tmp\ncapacity = lots\n", "",
	     ":3: invalid capacity 'lots': a positive number"},
	    {"watch = /tmp\njournal-kib = 32\n", "",
	     ":2: invalid journal-kib '32': 0 (no journal) or"},
	    {"watch = /tmp\nbatch-ms = 1\n", "",
	     ":2: invalid batch-ms '1': a number of milliseconds from 2"},
	    {"log-level = loud\n", "", ":1: invalid log-level 'loud'"},
	    {"\nwatch = tmp\n", "", ":2: invalid watch 'tmp': an absolute path"},
	    {"watch = /tmp\njust words\n", "", ":2: not a setting"},
	    {"[fscd]\nwatch = /tmp\n", "", ":2: 'watch' is in section [fscd]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s%s%s", cases[i].prefix, f->conf, cases[i].message);
		expect_config_error(f, cases[i].content, msg);
	}
	expect_config_error(f, "name = x\n", "nothing to watch");
	const char *missing[] = {"fscd", "--config", "/nonexistent/fscd.conf", NULL};
	const char *out, *err;
	assert_int_equal(fsc_test_fscd_run(missing, &out, &err), 2);
	assert_non_null(strstr(err, "cannot read config file /nonexistent/fscd.conf"));
	assert_null(fsc_open(f->name)); /* nothing was published */
}

/* fscd from a config file naming the table f->name and watching a/; returns its pid once
 * a_files[0] is served, with a reader in *c. */
static pid_t start_serving_a(struct fixture *f, fsc_t **c)
{
	write_conf(f->conf, "name = %s\nwatch = %s\n", f->name, f->a);
	const char *argv[] = {"fscd", "--config", f->conf, NULL};
	pid_t pid = start_fscd(f, argv);
	*c = fsc_test_open_new_generation(f->name, f->a_files[0], 0, WAIT_MS);
	return pid;
}

/* SIGHUP with a second root added: a new generation that readers follow, the new root's
 * files served, same pid, no descriptor carried into the new image. */
static void test_sighup_applies_new_config(void **state)
{
	struct fixture *f = *state;
	fsc_t *c;
	pid_t pid = start_serving_a(f, &c);
	uint64_t gen = generation_of(c, f->a_files[0]);
	assert_int_equal(fsc_lookup(c, f->b_files[0], NULL, NULL), FSC_MISS);

	write_conf(f->conf, "name = %s\nwatch = %s\nwatch = %s\n", f->name, f->a, f->b);
	assert_int_equal(kill(pid, SIGHUP), 0);
	uint64_t gen2 = wait_for_generation(c, f->a_files[0], gen);
	const char *paths[] = {f->a_files[0], f->a_files[1], f->b_files[0], f->b_files[1], NULL};
	fsc_test_wait_agree(c, paths, FSC_EXPECT_STAT, WAIT_MS);
	assert_int_equal(fsc_test_fscd_wait(pid, 0), -1); /* the same process, still running */
	expect_only_event_fds(pid);
	const char *log = fsc_test_read_file(f->log);
	assert_non_null(strstr(log, "SIGHUP: re-reading the configuration"));
	assert_non_null(strstr(log, "restarting in place"));

	/* and it still follows changes under the new root */
	fsc_test_write_file(f->b_files[1], "more\n", O_APPEND);
	fsc_test_wait_agree(c, paths, FSC_EXPECT_STAT, WAIT_MS);
	assert_int_equal(generation_of(c, f->b_files[1]), gen2);
	fsc_close(c);
	stop_and_check_clean(f, f->name);
}

/* SIGHUP with a broken file: logged, and the old table keeps being served and updated. */
static void test_sighup_broken_config_keeps_serving(void **state)
{
	struct fixture *f = *state;
	fsc_t *c;
	pid_t pid = start_serving_a(f, &c);
	uint64_t gen = generation_of(c, f->a_files[0]);
	const char *broken[] = {
	    "name = %s\nwatch = %s\nbogus = 1\n",    /* an unknown key */
	    "name = %s\nwatch = %s/missing\n",	     /* a root that does not exist */
	    "name = %s\nwatch = %s\ncapacity = 0\n", /* a bad value */
	};
	const char *expect[] = {":3: unknown setting 'bogus'", "missing: No such file",
				":3: invalid capacity '0'"};
	for (int i = 0; i < 3; i++) {
		write_conf(f->conf, broken[i], f->name, f->a);
		assert_int_equal(kill(pid, SIGHUP), 0);
		wait_for_log(f->log, expect[i]);
		assert_non_null(strstr(fsc_test_read_file(f->log), "reload refused"));
		assert_int_equal(fsc_test_fscd_wait(pid, 0), -1);
		assert_int_equal(generation_of(c, f->a_files[0]), gen);
	}
	assert_kept_serving(f, c, gen);
}

/* SIGHUP with another table name: the old name is closed, the new one served. */
static void test_sighup_renames_table(void **state)
{
	struct fixture *f = *state;
	char new_name[80];
	snprintf(new_name, sizeof(new_name), "%s_new", f->name);
	fsc_t *first;
	pid_t pid = start_serving_a(f, &first);
	fsc_close(first);
	write_conf(f->conf, "name = %s\nwatch = %s\n", new_name, f->a);
	assert_int_equal(kill(pid, SIGHUP), 0);
	fsc_t *c = fsc_test_open_new_generation(new_name, f->a_files[0], 0, WAIT_MS);
	assert_int_equal(fsc_test_shm_leftovers(f->name, false), 0);
	fsc_close(c);
	stop_and_check_clean(f, new_name);
}

/* Runs fscd --config path; expects exit 2 within a few seconds, message on stderr, nothing
 * published. */
static void expect_file_refused(struct fixture *f, const char *path, const char *message)
{
	const char *argv[] = {"fscd", "--config", path, "--name", f->name, NULL};
	const char *out, *err;
	uint64_t t0 = fsc_test_now_ms();
	assert_int_equal(fsc_test_fscd_run(argv, &out, &err), 2);
	uint64_t took = fsc_test_now_ms() - t0;
	if (took > 5000)
		fail_msg("fscd took %llu ms to refuse %s", (unsigned long long)took, path);
	if (!strstr(err, message))
		fail_msg("stderr lacks \"%s\": %s", message, err);
	assert_string_equal(out, "");
	assert_null(fsc_open(f->name));
}

/* Not a regular file: /dev/zero (endless), a FIFO (nobody writing), a directory. */
static void test_config_not_a_regular_file(void **state)
{
	struct fixture *f = *state;
	char fifo[300], msg[512];
	snprintf(fifo, sizeof(fifo), "%s/fifo", f->etc);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_file_refused(f, "/dev/zero",
			    "config file /dev/zero is a character device: --config takes a "
			    "regular text file");
	snprintf(msg, sizeof(msg), "config file %s is a FIFO", fifo);
	expect_file_refused(f, fifo, msg);
	snprintf(msg, sizeof(msg), "config file %s is a directory", f->etc);
	expect_file_refused(f, f->etc, msg);
}

/* A NUL byte, an overlong line, an oversized file: errors naming the file (and line). */
static void test_config_bad_bytes(void **state)
{
	struct fixture *f = *state;
	char msg[512];
	/* a NUL byte would end the line as C sees it: "watch = /tmp" and the rest lost */
	FILE *out = fopen(f->conf, "w");
	assert_non_null(out);
	fprintf(out, "# ok\nwatch = %s", f->a);
	fputc('\0', out);
	fputs("ignored\ncapacity = 10\n", out);
	assert_int_equal(fclose(out), 0);
	snprintf(msg, sizeof(msg), "fscd: %s:2: NUL byte at column %zu", f->conf,
		 strlen("watch = ") + strlen(f->a) + 1);
	expect_file_refused(f, f->conf, msg);

	/* one byte past the longest line: refused; the longest itself is fine */
	char line[FSCD_CONFIG_LINE_MAX + 2];
	memset(line, ' ', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "# ", 2);
	write_conf(f->conf, "watch = %s\n\n%s\n", f->a, line);
	snprintf(msg, sizeof(msg), "fscd: %s:3: line too long (max %d bytes)", f->conf,
		 FSCD_CONFIG_LINE_MAX);
	expect_file_refused(f, f->conf, msg);
	char *argv[] = {"fscd", "--config", f->conf, NULL};
	struct fscd_config cfg;
	struct fscd_config_error err;
	line[FSCD_CONFIG_LINE_MAX] = '\0';
	write_conf(f->conf, "watch = %s\n\n%s\nname = %s\n", f->a, line, f->name);
	assert_int_equal(fscd_config_load(&cfg, 3, argv, true, &err), FSCD_CONFIG_RUN);
	assert_name_is(cfg.name, f->name);
	fscd_config_free(&cfg);

	/* over the size bound, however valid: refused before it is read */
	out = fopen(f->conf, "w");
	assert_non_null(out);
	fprintf(out, "watch = %s\n", f->a);
	for (long n = 0; n <= FSCD_CONFIG_FILE_MAX / 64; n++)
		fprintf(out, "# %61s\n", "padding");
	assert_int_equal(fclose(out), 0);
	struct stat st;
	assert_int_equal(stat(f->conf, &st), 0);
	snprintf(msg, sizeof(msg), "fscd: config file %s is %lld bytes, more than the %d", f->conf,
		 (long long)st.st_size, FSCD_CONFIG_FILE_MAX);
	expect_file_refused(f, f->conf, msg);
}

/* SIGHUP with a file fscd must refuse: logged, and the old table keeps being served. */
static void test_sighup_bad_file_keeps_serving(void **state)
{
	struct fixture *f = *state;
	write_conf(f->conf, "name = %s\nwatch = %s\n", f->name, f->a);
	const char *argv[] = {"fscd", "--config", f->conf, NULL};
	pid_t pid = start_fscd(f, argv);
	fsc_t *c = fsc_test_open_new_generation(f->name, f->a_files[0], 0, WAIT_MS);
	uint64_t gen = generation_of(c, f->a_files[0]);
	/* a NUL byte that would cut "watch = b" to the old root, unnoticed */
	FILE *out = fopen(f->conf, "w");
	assert_non_null(out);
	fprintf(out, "name = %s\nwatch = %s", f->name, f->a);
	fputc('\0', out);
	fprintf(out, "\nwatch = %s\n", f->b);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(kill(pid, SIGHUP), 0);
	char msg[512];
	snprintf(msg, sizeof(msg), "reload refused: %s:2: NUL byte", f->conf);
	wait_for_log(f->log, msg);
	/* a FIFO in the file's place: refused at once, never waited on */
	char fifo[300];
	snprintf(fifo, sizeof(fifo), "%s/fifo", f->etc);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(rename(fifo, f->conf), 0);
	assert_int_equal(kill(pid, SIGHUP), 0);
	snprintf(msg, sizeof(msg), "reload refused: config file %s is a FIFO", f->conf);
	wait_for_log(f->log, msg);
	assert_int_equal(fsc_test_fscd_wait(pid, 0), -1);
	assert_kept_serving(f, c, gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_load_precedence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_equals_flags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flags_override_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repeated_keys_accumulate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sighup_applies_new_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sighup_broken_config_keeps_serving, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sighup_renames_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_not_a_regular_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_bad_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sighup_bad_file_keeps_serving, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
