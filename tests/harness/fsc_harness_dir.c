/* Every test and benchmark process gets its own object directory (shm/fsc_shm_dir.h): made
 * before main() in /dev/shm (tmpfs, like the real /run/fsc), handed to everything it starts
 * through FSC_DIR, and removed with what is left in it when the process exits. So tests never
 * touch /run/fsc, never see each other's tables, and need no root to run.
 *
 * Compiled into each program that links the harness (an INTERFACE source of fsc_harness in
 * tests/CMakeLists.txt): a constructor in a static archive would be dropped by the linker. A
 * process started with FSC_DIR already set (a child of a test, or a developer pointing the
 * tests at a directory) keeps it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fsc_harness_dir_path[64];
static pid_t fsc_harness_dir_owner;

static void fsc_harness_dir_remove(void)
{
	/* children forked without exec run atexit handlers too: only the maker removes it */
	if (getpid() != fsc_harness_dir_owner)
		return;
	int fd = open(fsc_harness_dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(fd, e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(fsc_harness_dir_path);
}

__attribute__((constructor)) static void fsc_harness_dir_make(void)
{
	const char *given = getenv("FSC_DIR");
	if (given && *given)
		return;
	snprintf(fsc_harness_dir_path, sizeof(fsc_harness_dir_path), "/dev/shm/fsc-test.XXXXXX");
	/* 0755: tests run readers as other users (setpriv), who must reach the objects; the
	 * objects' own modes say who may open them */
	if (!mkdtemp(fsc_harness_dir_path) || chmod(fsc_harness_dir_path, 0755) < 0) {
		perror("fsc test harness: cannot make a private object directory in /dev/shm");
		_exit(2);
	}
	setenv("FSC_DIR", fsc_harness_dir_path, 1);
	fsc_harness_dir_owner = getpid();
	atexit(fsc_harness_dir_remove);
}
