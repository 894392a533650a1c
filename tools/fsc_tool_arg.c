/* Option arguments the tools share (fsc_tool_arg.h). */
#include "fsc_tool_arg.h"

#include <errno.h>
#include <stdlib.h>

bool fsc_arg_integer(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}
