/* Restarting in place on SIGHUP, and going back to the previous configuration when the new
 * image cannot start: see fscd_reload.h. */
#define _GNU_SOURCE
#include "fscd_reload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fscd_log.h"
#include "fscd_reserve.h"

/* Set by the image before the exec: the previous configuration's config-file text (an
 * unnamed file's descriptor), or "-" if it had no config file. Its presence says "reload". */
#define FSCD_PREVIOUS_ENV "FSCD_PREVIOUS_CONFIG_FD"
/* Set for the fallback image: where its config-file text is (the descriptor above). */
#define FSCD_FALLBACK_ENV "FSCD_FALLBACK_CONFIG_FD"

static int fscd_previous_fd = -1;     /* this image is a reload: the previous config text */
static bool fscd_reloaded;	      /* this image is a reload (fscd_previous_fd may be -1) */
static char fscd_fallback_source[32]; /* this image is a fallback: read the text there */

/* What starting with cfg would refuse after publishing nothing (fscd_daemon_serve and
 * fsc_writer_open check the same): a reload must not exec into a start that fails. */
static bool fscd_reload_preflight(const struct fscd_config *cfg, char *why, size_t n)
{
	uint32_t slot_size = cfg->slot_size ? cfg->slot_size : FSC_SLOT_SIZE_DEFAULT;
	uint64_t slots, size;
	const char *geometry;
	if (fsc_shm_geometry(cfg->capacity, slot_size, &slots, &size, &geometry)) {
		snprintf(why, n, "%s", geometry);
		return false;
	}
	if (cfg->mode & 0022) {
		snprintf(why, n, "mode %04o: a table must not be group- or world-writable",
			 (unsigned)cfg->mode);
		return false;
	}
	for (size_t i = 0; i < cfg->watch.n; i++) {
		struct stat st;
		char *real = realpath(cfg->watch.v[i], NULL);
		int err = !real || stat(real, &st) < 0 ? errno : 0;
		if (!err && strlen(real) > fsc_shm_slot_path_max(slot_size))
			err = ENAMETOOLONG;
		free(real);
		if (err) {
			snprintf(why, n, "cannot watch %s: %s", cfg->watch.v[i], strerror(err));
			return false;
		}
	}
	return true;
}

bool fscd_reload_check(const struct fscd_config *cur, int argc, char **argv, struct fsc_writer *w,
		       bool *renamed, int *reserved)
{
	fscd_log(FSCD_LOG_INFO, "SIGHUP: re-reading the configuration from %s%s",
		 cur->config_file ? cur->config_file : "the command line",
		 cur->config_file ? " and the command line" : "");
	struct fscd_config next;
	struct fscd_config_error err;
	char why[1024] = "";
	enum fscd_config_status st = fscd_config_load(&next, argc, argv, true, &err);
	bool ok = st == FSCD_CONFIG_RUN && fscd_reload_preflight(&next, why, sizeof(why));
	if (st != FSCD_CONFIG_RUN)
		snprintf(why, sizeof(why), "%s", err.msg);
	*renamed = ok && strcmp(next.name, cur->name) != 0;
	/* the new table is made while this one serves: both must fit (the journal too, if
	 * this one has one: a reload must not silently lose it) */
	bool journal = cur->journal_kib && !fsc_writer_journal_error(w);
	*reserved =
	    ok ? fscd_reserve_take(next.name, fscd_reserve_size(&next, journal), why, sizeof(why))
	       : -1;
	ok = ok && *reserved != -1;
	fscd_config_free(&next);
	if (!ok)
		fscd_log(FSCD_LOG_ERROR,
			 "reload refused: %s; still serving table '%s' with the previous "
			 "configuration (fix it, then send SIGHUP again)",
			 why, cur->name);
	return ok;
}

/* Marks every descriptor above stderr close-on-exec, whoever opened it. */
static void fscd_fds_set_cloexec(void)
{
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX); /* kernels before 5.11 */
	for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Names fd (or "-": none) in the environment as var, open across the exec that follows. */
static void fscd_reload_hand_over(const char *var, int fd)
{
	char num[16] = "-";
	if (fd >= 0 && fcntl(fd, F_SETFD, 0) == 0)
		snprintf(num, sizeof(num), "%d", fd);
	setenv(var, num, 1);
}

/* An unnamed file holding cur's config-file text, or -1 (none, or it cannot be made). */
static int fscd_reload_previous_text(const struct fscd_config *cur)
{
	if (!cur->config_text)
		return -1;
	int fd = memfd_create("fscd-previous-config", MFD_CLOEXEC);
	size_t done = 0;
	while (fd >= 0 && done < cur->config_len) {
		ssize_t n = write(fd, cur->config_text + done, cur->config_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			fd = -1;
		} else {
			done += (size_t)n;
		}
	}
	return fd;
}

bool fscd_reload_exec(const struct fscd_config *cur, char **argv, struct fsc_writer **w,
		      bool renamed, int reserved)
{
	if (renamed) {
		fscd_log(FSCD_LOG_INFO, "the new configuration names another table: closing '%s'",
			 cur->name);
		fsc_writer_close(*w);
		*w = NULL;
	}
	fscd_log(FSCD_LOG_INFO, "configuration is valid: restarting in place (pid %d) to apply it",
		 (int)getpid());
	int previous = fscd_reload_previous_text(cur);
	if (previous < 0 && cur->config_text)
		fscd_log(FSCD_LOG_WARN, "cannot keep the previous configuration for a fallback: %s",
			 strerror(errno));
	fflush(NULL);
	fscd_fds_set_cloexec();
	fscd_reserve_pass(reserved);
	if (previous >= 0 || !cur->config_file)
		fscd_reload_hand_over(FSCD_PREVIOUS_ENV, previous);
	execv("/proc/self/exe", argv);
	int err = errno;
	unsetenv(FSCD_PREVIOUS_ENV);
	if (previous >= 0)
		close(previous);
	fscd_reserve_handback(reserved);
	fscd_log(FSCD_LOG_ERROR, "cannot restart in place: execv /proc/self/exe: %s; %s",
		 strerror(err),
		 *w ? "still serving with the previous configuration"
		    : "stopping (start fscd again by hand)");
	return *w != NULL;
}

/* The descriptor named by environment variable var (then removed from the environment), if
 * it is an open regular file above stderr: -1 if none, -2 if it says "-". */
static int fscd_reload_env_fd(const char *var)
{
	const char *v = getenv(var);
	if (!v)
		return -1;
	char *end = "";
	errno = 0;
	bool none = strcmp(v, "-") == 0;
	long fd = none ? -2 : strtol(v, &end, 10);
	bool bad = !none && (errno || *end || fd <= 2 || fd > INT_MAX);
	unsetenv(var); /* never passed on to anything fscd starts */
	struct stat st;
	if (bad || (fd >= 0 && (fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode))))
		return -1;
	if (fd >= 0)
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
}

void fscd_reload_adopt(void)
{
	int fd = fscd_reload_env_fd(FSCD_PREVIOUS_ENV);
	fscd_reloaded = fd != -1;
	fscd_previous_fd = fd >= 0 ? fd : -1;
	fd = fscd_reload_env_fd(FSCD_FALLBACK_ENV);
	if (fd >= 0) {
		snprintf(fscd_fallback_source, sizeof(fscd_fallback_source), "/proc/self/fd/%d",
			 fd);
		fscd_config_read_text_from(fscd_fallback_source);
		fscd_log(FSCD_LOG_WARN, "restarted with the configuration from before the reload "
					"that failed: fix the new one, then send SIGHUP again");
	}
}

void fscd_reload_done(void)
{
	if (fscd_previous_fd >= 0)
		close(fscd_previous_fd);
	fscd_previous_fd = -1;
	fscd_reloaded = false;
}

void fscd_reload_fall_back(char **argv)
{
	if (!fscd_reloaded)
		return;
	fscd_log(FSCD_LOG_ERROR,
		 "cannot start with the new configuration (see above): restarting in place "
		 "(pid %d) with the previous one",
		 (int)getpid());
	fflush(NULL);
	fscd_fds_set_cloexec();
	if (fscd_previous_fd >= 0)
		fscd_reload_hand_over(FSCD_FALLBACK_ENV, fscd_previous_fd);
	execv("/proc/self/exe", argv);
	fscd_log(FSCD_LOG_ERROR, "cannot restart in place: execv /proc/self/exe: %s; stopping",
		 strerror(errno));
}
