/* fsc-shmdump: what the table serves (its served region: fscd's roots and filters), read and
 * checked as libfsc does (fsc_shm_served_parse), printed as text or JSON. */
#include <string.h>

#include "fsc_shmdump.h"

static void print_list(FILE *out, const char *label, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%-18s ", label);
		fsc_text_write_escaped(out, v[i], strlen(v[i]));
		fputc('\n', out);
	}
}

void fsc_dump_served_print_text(const struct fsc_served *s, FILE *out)
{
	if (!s) {
		fprintf(out, "%-18s %s\n", "roots", "not published (an fscd older than this tool)");
		return;
	}
	for (size_t i = 0; i < s->nroots; i++) {
		fprintf(out, "%-18s ", "root");
		fsc_text_write_escaped(out, s->roots[i], strlen(s->roots[i]));
		fprintf(out, " (%s)\n", s->root_is_file[i] ? "file" : "directory");
	}
	print_list(out, "exclude", s->exclude, s->nexclude);
	print_list(out, "include", s->include, s->ninclude);
	if (s->max_depth)
		fprintf(out, "%-18s %u\n", "max_depth", s->max_depth);
}

static void json_list(struct fsc_json *j, const char *key, const char *const *v, size_t n)
{
	fsc_json_array_begin(j, key);
	for (size_t i = 0; i < n; i++)
		fsc_json_string(j, NULL, v[i]);
	fsc_json_array_end(j);
}

void fsc_dump_served_print_json(const struct fsc_served *s, struct fsc_json *j)
{
	fsc_json_object_begin(j, "served");
	fsc_json_bool(j, "published", s != NULL);
	fsc_json_array_begin(j, "roots");
	for (size_t i = 0; s && i < s->nroots; i++) {
		fsc_json_object_begin(j, NULL);
		fsc_json_string(j, "path", s->roots[i]);
		fsc_json_string(j, "type", s->root_is_file[i] ? "file" : "directory");
		fsc_json_object_end(j);
	}
	fsc_json_array_end(j);
	json_list(j, "exclude", s ? s->exclude : NULL, s ? s->nexclude : 0);
	json_list(j, "include", s ? s->include : NULL, s ? s->ninclude : 0);
	fsc_json_u64(j, "max_depth", s ? s->max_depth : 0); /* 0: unlimited */
	fsc_json_object_end(j);
}
