/* Per-uid token buckets for readers' requests (fscd_ratelimit.h). */
#include "fscd_ratelimit.h"

#include <string.h>

#define NS_PER_S 1000000000ull

void fscd_ratelimit_init(struct fscd_ratelimit *l, unsigned rate, unsigned root_factor)
{
	memset(l, 0, sizeof(*l));
	l->cost_ns = NS_PER_S / (rate ? rate : 1);
	if (l->cost_ns == 0)
		l->cost_ns = 1;
	l->root_factor = root_factor ? root_factor : 1;
}

/* The uid's bucket, or a new full one in an empty or the least recently used bucket. */
static struct fscd_ratelimit_bucket *bucket_of(struct fscd_ratelimit *l, uid_t uid,
					       uint64_t burst_ns, uint64_t now_ns)
{
	struct fscd_ratelimit_bucket *victim = &l->bucket[0];
	for (int i = 0; i < FSCD_RATELIMIT_UIDS; i++) {
		struct fscd_ratelimit_bucket *b = &l->bucket[i];
		if (b->used && b->uid == uid)
			return b;
		if (victim->used && (!b->used || b->last_ns < victim->last_ns))
			victim = b;
	}
	*victim = (struct fscd_ratelimit_bucket){
	    .uid = uid, .used = true, .credit_ns = burst_ns, .last_ns = now_ns};
	return victim;
}

bool fscd_ratelimit_take(struct fscd_ratelimit *l, uid_t uid, uint64_t now_ns)
{
	/* root's requests cost less: the same credit buys root_factor times as many */
	uint64_t cost = uid == 0 ? l->cost_ns / l->root_factor : l->cost_ns;
	if (cost == 0)
		cost = 1;
	uint64_t burst_ns = NS_PER_S; /* one second's worth */
	struct fscd_ratelimit_bucket *b = bucket_of(l, uid, burst_ns, now_ns);
	if (now_ns > b->last_ns) { /* a clock step back earns nothing, now or later */
		uint64_t earned = now_ns - b->last_ns;
		b->credit_ns = earned >= burst_ns - b->credit_ns ? burst_ns : b->credit_ns + earned;
		b->last_ns = now_ns;
	}
	if (b->credit_ns < cost)
		return false;
	b->credit_ns -= cost;
	return true;
}
