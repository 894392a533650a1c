/* Runs a fuzz target's LLVMFuzzerTestOneInput on files, for builds without libFuzzer (GCC, the
 * normal and sanitizer trees): ctest replays the committed corpus this way, so every seed and
 * regression input stays checked in every build. Arguments: files, or directories whose
 * regular files are each one input. Exit status 0 when every input ran (a broken invariant
 * aborts). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static int run_file(const char *file)
{
	FILE *f = fopen(file, "rb");
	if (!f) {
		perror(file);
		return -1;
	}
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		return -1;
	/* an exact-size copy, as libFuzzer passes it */
	uint8_t *exact = malloc(n ? n : 1);
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	int inputs = 0, errors = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			struct dirent **names;
			int k = scandir(argv[i], &names, NULL, alphasort);
			for (int j = 0; j < k; j++) {
				char file[4096];
				snprintf(file, sizeof(file), "%s/%s", argv[i], names[j]->d_name);
				if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
					errors += run_file(file) != 0;
					inputs++;
				}
				free(names[j]);
			}
			if (k >= 0)
				free(names);
			else
				errors++;
		} else {
			errors += run_file(argv[i]) != 0;
			inputs++;
		}
	}
	printf("%d inputs, %d unreadable\n", inputs, errors);
	return errors || inputs == 0 ? 1 : 0;
}
