/* Option arguments the tools share: numbers given on the command line. */
#ifndef FSC_TOOL_ARG_H
#define FSC_TOOL_ARG_H

#include <stdbool.h>

/* s is a whole decimal integer in [lo, hi], nothing after it: true with *out set, else false
 * (the caller says which option wanted what). */
bool fsc_arg_integer(const char *s, long long lo, long long hi, long long *out);

#endif
