#define _GNU_SOURCE
#include "fsc_json.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

void fsc_json_init(struct fsc_json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	for (int i = 0; i < FSC_JSON_DEPTH_MAX; i++)
		j->has_items[i] = false;
}

/* The separator and key before a value at the current level. */
static void fsc_json_member_start(struct fsc_json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->has_items[j->depth])
			fputc(',', j->out);
		j->has_items[j->depth] = true;
	}
	if (key && j->depth > 0) {
		fsc_json_write_string(j->out, key, strlen(key));
		fputc(':', j->out);
	}
}

static void fsc_json_open(struct fsc_json *j, const char *key, char bracket)
{
	fsc_json_member_start(j, key);
	fputc(bracket, j->out);
	if (j->depth + 1 < FSC_JSON_DEPTH_MAX)
		j->depth++;
	j->has_items[j->depth] = false;
}

static void fsc_json_close(struct fsc_json *j, char bracket)
{
	fputc(bracket, j->out);
	if (j->depth > 0)
		j->depth--;
}

void fsc_json_object_begin(struct fsc_json *j, const char *key)
{
	fsc_json_open(j, key, '{');
}

void fsc_json_object_end(struct fsc_json *j)
{
	fsc_json_close(j, '}');
}

void fsc_json_array_begin(struct fsc_json *j, const char *key)
{
	fsc_json_open(j, key, '[');
}

void fsc_json_array_end(struct fsc_json *j)
{
	fsc_json_close(j, ']');
}

void fsc_json_u64(struct fsc_json *j, const char *key, uint64_t v)
{
	fsc_json_member_start(j, key);
	fprintf(j->out, "%" PRIu64, v);
}

void fsc_json_i64(struct fsc_json *j, const char *key, int64_t v)
{
	fsc_json_member_start(j, key);
	fprintf(j->out, "%" PRId64, v);
}

void fsc_json_double(struct fsc_json *j, const char *key, double v)
{
	fsc_json_member_start(j, key);
	/* JSON has no NaN or infinity; none of our ratios can be one, but never emit them */
	if (v != v || v > 1e300 || v < -1e300)
		v = 0;
	fprintf(j->out, "%.6g", v);
}

void fsc_json_bool(struct fsc_json *j, const char *key, bool v)
{
	fsc_json_member_start(j, key);
	fputs(v ? "true" : "false", j->out);
}

void fsc_json_string(struct fsc_json *j, const char *key, const char *s)
{
	fsc_json_bytes(j, key, s, strlen(s));
}

void fsc_json_bytes(struct fsc_json *j, const char *key, const char *s, size_t len)
{
	fsc_json_member_start(j, key);
	fsc_json_write_string(j->out, s, len);
}

void fsc_json_write_string(FILE *out, const char *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
		} else if (c < 0x20 || c >= 0x7f) {
			/* one code point per byte: lossless for paths that are not UTF-8 */
			fprintf(out, "\\u%04x", c);
		} else {
			fputc(c, out);
		}
	}
	fputc('"', out);
}

void fsc_text_write_escaped(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", out);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

void fsc_time_format_utc(char *buf, size_t size, int64_t sec, int64_t nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, size, "%" PRId64 ".%09" PRId64, sec, nsec);
		return;
	}
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%09" PRId64 "Z", date, nsec);
}
