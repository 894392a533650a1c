#include "fscd_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum fscd_log_level current_level = FSCD_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void fscd_log_set_level(enum fscd_log_level level)
{
	current_level = level;
}

int fscd_log_parse_level(const char *s)
{
	for (int i = 0; i <= FSCD_LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void fscd_log(enum fscd_log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	/* room for two paths of PATH_MAX and the words around them: a reason after a long path
	 * must not be cut off */
	char line[2 * 4096 + 512];
	int n = snprintf(line, sizeof(line), "fscd[%d]: %s: ", (int)getpid(), level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	line[len] = '\n';
	/* one write(2) per line: lines from concurrent processes do not interleave */
	ssize_t rc = write(STDERR_FILENO, line, len + 1);
	(void)rc;
}
