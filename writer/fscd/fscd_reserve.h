/* Room in the object directory for a restart in place (SIGHUP). The restarted image publishes a new
 * table while the old one still serves; if the object directory cannot hold both, the new image
 * could only exit, and nobody would serve the name. So before the exec the old image reserves the
 * room (an unnamed file in the object directory, allocated), refuses the reload if it cannot, and
 * hands the reservation over the exec; the new image lets go of it just before it allocates its own
 * table. */
#ifndef FSCD_RESERVE_H
#define FSCD_RESERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fscd_config.h"

/* Bytes in the object directory that starting with cfg takes: the table, its hints and, if
 * with_journal, the change journal. 0 if cfg's geometry is not valid. */
uint64_t fscd_reserve_size(const struct fscd_config *cfg, bool with_journal);
/* Reserves bytes in the object directory. Returns a descriptor (close-on-exec), -2 if this
 * filesystem cannot hold an unnamed file but has the room free, or -1 with why (a sentence). */
int fscd_reserve_take(const char *table_name, uint64_t bytes, char *why, size_t n);
/* Hands fd over the exec that follows (clears close-on-exec, names it in the environment);
 * fscd_reserve_handback undoes it if the exec failed. */
void fscd_reserve_pass(int fd);
void fscd_reserve_handback(int fd);
/* In the new image, first thing in main: adopts a reservation handed over, if any. */
void fscd_reserve_adopt(void);
/* Lets go of the adopted reservation (before allocating the table); idempotent. */
void fscd_reserve_release(void);

#endif
