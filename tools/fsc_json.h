/* Output helpers shared by the fsc tools: a small streaming JSON writer and a terminal-safe
 * spelling of byte strings (paths may hold any byte but '\0' and need not be UTF-8).
 *
 * JSON strings: '"' and '\\' are escaped as \" and \\; every byte below 0x20, 0x7f, and every
 * byte of 0x80 or above is written as \u00XX, so the output is always 7-bit ASCII and valid
 * JSON whatever the path holds. A consumer gets the path's exact bytes back by taking each
 * code point of the decoded string as one byte (Latin-1): e.g. "caf\u00c3\u00a9" is the
 * UTF-8 spelling of "café". Numbers are written exactly (uint64 in decimal); some, such as
 * a table's generation (~1.8e18), exceed 2^53, so JavaScript consumers need big integers.
 */
#ifndef FSC_JSON_H
#define FSC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FSC_JSON_DEPTH_MAX 8

/* Writes one JSON value at a time; commas between members are inserted automatically. Keys
 * are given with each member and ignored (pass NULL) for array elements and the top value. */
struct fsc_json {
	FILE *out;
	int depth;
	bool has_items[FSC_JSON_DEPTH_MAX]; /* a member was written at this nesting level */
};

void fsc_json_init(struct fsc_json *j, FILE *out);
void fsc_json_object_begin(struct fsc_json *j, const char *key);
void fsc_json_object_end(struct fsc_json *j);
void fsc_json_array_begin(struct fsc_json *j, const char *key);
void fsc_json_array_end(struct fsc_json *j);
void fsc_json_u64(struct fsc_json *j, const char *key, uint64_t v);
void fsc_json_i64(struct fsc_json *j, const char *key, int64_t v);
void fsc_json_double(struct fsc_json *j, const char *key, double v);
void fsc_json_bool(struct fsc_json *j, const char *key, bool v);
/* A NUL-terminated string, or len bytes that may hold anything (see the escaping above). */
void fsc_json_string(struct fsc_json *j, const char *key, const char *s);
void fsc_json_bytes(struct fsc_json *j, const char *key, const char *s, size_t len);

/* Writes s as a quoted JSON string (no key, no comma handling). */
void fsc_json_write_string(FILE *out, const char *s, size_t len);

/* Writes len bytes for a terminal: printable ASCII as is, '\\' as "\\\\", any other byte
 * (control characters, DEL, bytes >= 0x80) as \xHH, so no path can move the cursor or inject
 * escape sequences, and every path prints on one line. */
void fsc_text_write_escaped(FILE *out, const char *s, size_t len);

/* "2024-11-21T09:47:00.123456789Z" (UTC) for a realtime instant; buf >= 40 bytes. */
void fsc_time_format_utc(char *buf, size_t size, int64_t sec, int64_t nsec);

#endif
