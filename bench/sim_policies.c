/* Reference eviction policies on dense key ids (sim_policies.h). Each cache is a node array of
 * capacity entries plus an id -> node index; LRU and SIEVE keep the nodes in a doubly linked
 * list from newest (head) to oldest (tail), CLOCK keeps them in a ring in insertion order.
 *
 * SIEVE follows the algorithm as published in Zhang, Yang, Yue, Vigfusson, Rashmi, "SIEVE is
 * Simpler than LRU: an Efficient Turn-Key Eviction Algorithm for Web Caches", NSDI 2024: a hit
 * sets the object's visited bit and does not move it; new objects enter at the head; to evict,
 * the hand (starting at the tail when it has none) moves towards the head, clearing visited
 * bits, and evicts the first object found unvisited; the hand stays at that object's newer
 * neighbour and wraps to the tail when it passes the head. */
#include "sim_policies.h"

#include <stdlib.h>

#define NONE UINT32_MAX

struct sim_cache {
	enum sim_policy policy;
	uint32_t capacity;
	uint32_t used;	  /* nodes in use; nodes [0, used) hold keys */
	uint32_t *where;  /* id -> node holding it, or NONE */
	uint32_t *key;	  /* node -> id */
	uint32_t *newer;  /* list links (LRU, SIEVE): towards the head */
	uint32_t *older;  /* towards the tail */
	uint8_t *visited; /* SIEVE visited bit, CLOCK reference bit */
	uint32_t head;	  /* newest node, or NONE */
	uint32_t tail;	  /* oldest node, or NONE */
	uint32_t hand;	  /* SIEVE: the node the hand is at, or NONE; CLOCK: ring position */
};

struct sim_cache *sim_cache_new(enum sim_policy policy, uint32_t capacity, uint32_t universe)
{
	struct sim_cache *c = calloc(1, sizeof(*c));
	if (!c || capacity == 0)
		goto fail;
	c->policy = policy;
	c->capacity = capacity;
	c->where = malloc(sizeof(uint32_t) * (size_t)universe);
	c->key = malloc(sizeof(uint32_t) * (size_t)capacity);
	c->newer = malloc(sizeof(uint32_t) * (size_t)capacity);
	c->older = malloc(sizeof(uint32_t) * (size_t)capacity);
	c->visited = calloc(capacity, 1);
	if (!c->where || !c->key || !c->newer || !c->older || !c->visited)
		goto fail;
	for (uint32_t i = 0; i < universe; i++)
		c->where[i] = NONE;
	c->head = c->tail = NONE;
	c->hand = policy == SIM_CLOCK ? 0 : NONE;
	return c;
fail:
	sim_cache_free(c);
	return NULL;
}

void sim_cache_free(struct sim_cache *c)
{
	if (!c)
		return;
	free(c->where);
	free(c->key);
	free(c->newer);
	free(c->older);
	free(c->visited);
	free(c);
}

static void list_unlink(struct sim_cache *c, uint32_t n)
{
	if (c->newer[n] != NONE)
		c->older[c->newer[n]] = c->older[n];
	else
		c->head = c->older[n];
	if (c->older[n] != NONE)
		c->newer[c->older[n]] = c->newer[n];
	else
		c->tail = c->newer[n];
}

static void list_push_head(struct sim_cache *c, uint32_t n)
{
	c->newer[n] = NONE;
	c->older[n] = c->head;
	if (c->head != NONE)
		c->newer[c->head] = n;
	else
		c->tail = n;
	c->head = n;
}

bool sim_cache_lookup(struct sim_cache *c, uint32_t id)
{
	uint32_t n = c->where[id];
	if (n == NONE)
		return false;
	if (c->policy == SIM_LRU) {
		list_unlink(c, n);
		list_push_head(c, n);
	} else {
		c->visited[n] = 1;
	}
	return true;
}

/* SIEVE: frees one node (see the comment at the top) and returns it. */
static uint32_t sieve_evict(struct sim_cache *c)
{
	uint32_t n = c->hand != NONE ? c->hand : c->tail;
	while (c->visited[n]) {
		c->visited[n] = 0;
		n = c->newer[n] != NONE ? c->newer[n] : c->tail;
	}
	c->hand = c->newer[n]; /* NONE: start from the tail next time */
	list_unlink(c, n);
	return n;
}

/* CLOCK: the hand gives referenced keys a second chance and stops at the first other one. */
static uint32_t clock_victim(struct sim_cache *c)
{
	while (c->visited[c->hand]) {
		c->visited[c->hand] = 0;
		c->hand = (c->hand + 1) % c->capacity;
	}
	return c->hand;
}

/* A node for a new key: a free one, else the one the policy evicts (unlinked from lists). */
static uint32_t take_node(struct sim_cache *c)
{
	if (c->used < c->capacity)
		return c->used++;
	uint32_t n;
	switch (c->policy) {
	case SIM_LRU:
		n = c->tail;
		list_unlink(c, n);
		break;
	case SIM_SIEVE:
		n = sieve_evict(c);
		break;
	default:
		n = clock_victim(c);
		break;
	}
	c->where[c->key[n]] = NONE;
	return n;
}

void sim_cache_insert(struct sim_cache *c, uint32_t id)
{
	uint32_t n = take_node(c);
	c->key[n] = id;
	c->where[id] = n;
	c->visited[n] = 0;
	if (c->policy == SIM_CLOCK) {
		/* the new key sits just behind the hand: a whole revolution before its turn */
		if (c->used == c->capacity && n == c->hand)
			c->hand = (c->hand + 1) % c->capacity;
	} else {
		list_push_head(c, n);
	}
}
