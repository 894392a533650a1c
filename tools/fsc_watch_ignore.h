// fsc-watch's ignore rules: gitignore-like globs matched against a path relative to a watch
// root ("src/gen/x.c"), with no system call.
//
// The semantics (what `fsc-watch --help` documents):
//   - `*` matches any run of characters but '/', `?` one character but '/', `[...]` a class
//     (fnmatch(3) within one path component; a leading dot is matched like any character);
//     a backslash quotes the next character.
//   - A glob with no '/' but a trailing one matches a component at any depth: `*.o`, `build`.
//   - A glob with a '/' at its start or in its middle is anchored at the watch root:
//     `/build` and `src/gen` match only there.
//   - `**` as a whole component matches any number of components, zero included:
//     `**/tmp`, `src/**/*.c`, `a/**/b`; a trailing one at least one: `dir/**`.
//   - A trailing '/' matches directories only: `build/`.
//   - A glob that matches a directory ignores everything below it, so `build`, `build/` and
//     `build/**` all ignore the tree below build; `dir/**` (unlike in gitignore) also
//     ignores the directory dir itself, so that creating it is no change either.
//   - `!GLOB` re-includes what an earlier glob ignored (the last matching glob decides), but,
//     as in gitignore, nothing below an ignored directory can be re-included.
// Bad globs (empty, an empty component as in `a//b`, an unclosed `[`, a trailing backslash)
// are refused when added, with a reason.
#ifndef FSC_WATCH_IGNORE_H
#define FSC_WATCH_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

struct fsc_watch_rule;

struct fsc_watch_ignore {
	struct fsc_watch_rule *rules;
	size_t n, cap;
};

/* The globs --no-default-ignores leaves out: version-control directories and editors'
 * swap, backup, lock and probe files. NULL-terminated. */
extern const char *const fsc_watch_ignore_defaults[];

/* Adds glob. 0, or -1 with *why set to a static reason (bad glob) or errno ENOMEM. */
int fsc_watch_ignore_add(struct fsc_watch_ignore *ig, const char *glob, const char **why);
/* Adds every glob of fsc_watch_ignore_defaults: 0 or -1 (ENOMEM). */
int fsc_watch_ignore_add_defaults(struct fsc_watch_ignore *ig);
/* Moves every rule of from to the end of ig (from is left empty): 0 or -1 (ENOMEM). */
int fsc_watch_ignore_append(struct fsc_watch_ignore *ig, struct fsc_watch_ignore *from);
/* Is rel (relative to a watch root, no leading '/', "" for the root itself) ignored? is_dir:
 * rel itself is a directory (every component before the last is one). */
bool fsc_watch_ignore_match(const struct fsc_watch_ignore *ig, const char *rel, bool is_dir);
void fsc_watch_ignore_free(struct fsc_watch_ignore *ig);

#endif
