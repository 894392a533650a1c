/* What a record change was (FSC_CK_* bits for its journal entry): what the caller saw happen
 * (fscd's inotify events), completed by comparing the record before and after. Scans, polls
 * and requests pass no events, so for them the comparison is the whole answer. */
#include "fsc_writer_internal.h"

#include <sys/stat.h>

static uint32_t mode_of(const uint64_t st[FSC_ST_WORDS])
{
	return (uint32_t)st[FSC_ST_MODE_NLINK];
}

/* Both records exist: what differs between them. */
static uint32_t compare_existing(const uint64_t was[FSC_ST_WORDS], const uint64_t now[FSC_ST_WORDS])
{
	if (was[FSC_ST_DEV] != now[FSC_ST_DEV] || was[FSC_ST_INO] != now[FSC_ST_INO])
		return FSC_CK_CREATE; /* another file now has this name */
	uint32_t what = 0;
	if (was[FSC_ST_SIZE] != now[FSC_ST_SIZE] ||
	    was[FSC_ST_MTIME_SEC] != now[FSC_ST_MTIME_SEC] ||
	    (uint32_t)was[FSC_ST_MTIME_CTIME_NSEC] != (uint32_t)now[FSC_ST_MTIME_CTIME_NSEC])
		what |= FSC_CK_MODIFY;
	bool ctime = was[FSC_ST_CTIME_SEC] != now[FSC_ST_CTIME_SEC] ||
		     (was[FSC_ST_MTIME_CTIME_NSEC] >> 32) != (now[FSC_ST_MTIME_CTIME_NSEC] >> 32);
	/* a write moves ctime too: only a ctime change without a content change is ATTRIB */
	if (was[FSC_ST_MODE_NLINK] != now[FSC_ST_MODE_NLINK] ||
	    was[FSC_ST_UID_GID] != now[FSC_ST_UID_GID] || (ctime && !(what & FSC_CK_MODIFY)))
		what |= FSC_CK_ATTRIB;
	return what;
}

uint32_t fsc_wkinds_derive(bool had, uint32_t old_flags, const uint64_t old[FSC_ST_WORDS],
			   uint32_t flags, const uint64_t now[FSC_ST_WORDS], uint32_t seen)
{
	bool was = had && !(old_flags & FSC_REC_NEGATIVE);
	bool is = !(flags & FSC_REC_NEGATIVE);
	uint32_t what = 0;
	if (!was && is)
		what = FSC_CK_CREATE;
	else if (was && !is)
		what = FSC_CK_DELETE;
	else if (was && is)
		what = compare_existing(old, now);
	/* a rename explains an appearance or a disappearance: do not call it a create/delete */
	if (seen & FSC_CK_MOVED_TO)
		what &= ~FSC_CK_CREATE;
	if (seen & FSC_CK_MOVED_FROM)
		what &= ~FSC_CK_DELETE;
	uint32_t mode = is ? mode_of(now) : was ? mode_of(old) : 0;
	if (S_ISDIR(mode))
		what |= FSC_CK_DIR;
	return (what | seen) & FSC_CK_MASK;
}
