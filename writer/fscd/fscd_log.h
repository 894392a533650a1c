/* fscd's log: one line per message on stderr, "fscd[pid]: level: message". */
#ifndef FSCD_LOG_H
#define FSCD_LOG_H

enum fscd_log_level {
	FSCD_LOG_ERROR,
	FSCD_LOG_WARN,
	FSCD_LOG_INFO,
	FSCD_LOG_DEBUG
};

void fscd_log_set_level(enum fscd_log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 if none matches. */
int fscd_log_parse_level(const char *s);
void fscd_log(enum fscd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
