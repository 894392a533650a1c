/* Reference eviction policies for the hit-ratio study (sim_eviction.c), simulated on dense
 * integer key ids: exact LRU, SIEVE and textbook CLOCK, each holding at most capacity keys.
 * Nothing here touches fsc's table; the study runs fsc's real writer and reader beside these. */
#ifndef SIM_POLICIES_H
#define SIM_POLICIES_H

#include <stdbool.h>
#include <stdint.h>

enum sim_policy {
	SIM_LRU,   /* exact LRU: a hit moves the key to the front, the back is evicted */
	SIM_SIEVE, /* SIEVE (Zhang et al., NSDI'24): FIFO order, visited bit, a roving hand */
	SIM_CLOCK, /* CLOCK in insertion order: a new key goes in behind the hand */
};

struct sim_cache;

/* A cache of capacity keys for ids in [0, universe). NULL if out of memory. */
struct sim_cache *sim_cache_new(enum sim_policy policy, uint32_t capacity, uint32_t universe);
void sim_cache_free(struct sim_cache *c);
/* A request for id: true on a hit (which updates the policy's state), false on a miss. */
bool sim_cache_lookup(struct sim_cache *c, uint32_t id);
/* Inserts id after a miss, evicting one key first if the cache is full. */
void sim_cache_insert(struct sim_cache *c, uint32_t id);

#endif
