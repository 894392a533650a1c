/* The index of polled directories: see fscd_poll.h. */
#define _GNU_SOURCE
#include "fscd_poll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fscd_path.h"

static int path_match(struct cds_lfht_node *node, const void *key)
{
	const struct fscd_polled *e = caa_container_of(node, struct fscd_polled, node);
	return strcmp(e->path, key) == 0;
}

int fscd_poll_init(struct fscd_poll *p)
{
	*p = (struct fscd_poll){0};
	p->seed = fscd_path_hash_seed();
	p->ht = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	return p->ht ? 0 : -ENOMEM;
}

static void polled_free(struct fscd_polled *e)
{
	for (size_t i = 0; i < e->nnames; i++)
		free(e->names[i]);
	free(e->names);
	free(e->only);
	free(e->path);
	free(e);
}

static void polled_free_rcu(struct rcu_head *head)
{
	polled_free(caa_container_of(head, struct fscd_polled, rcu));
}

struct fscd_polled *fscd_poll_find(struct fscd_poll *p, const char *path)
{
	struct cds_lfht_iter it;
	/* the loop thread is the only one that removes entries, so what it finds stays valid
	 * after the read-side section; the section protects the table's own nodes */
	rcu_read_lock();
	cds_lfht_lookup(p->ht, fscd_path_hash(path, p->seed), path_match, path, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	rcu_read_unlock();
	return n ? caa_container_of(n, struct fscd_polled, node) : NULL;
}

bool fscd_poll_has(struct fscd_poll *p, const char *path, uint64_t id)
{
	struct cds_lfht_iter it;
	cds_lfht_lookup(p->ht, fscd_path_hash(path, p->seed), path_match, path, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	return n && caa_container_of(n, struct fscd_polled, node)->id == id;
}

struct fscd_polled *fscd_poll_add(struct fscd_poll *p, const char *path,
				  enum fscd_poll_reason reason, struct fscd_polled **existing)
{
	*existing = NULL;
	struct fscd_polled *e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		return NULL;
	}
	e->id = ++p->next_id;
	e->reason = reason;
	e->root = -1;
	cds_lfht_node_init(&e->node);
	rcu_read_lock();
	struct cds_lfht_node *n =
	    cds_lfht_add_unique(p->ht, fscd_path_hash(path, p->seed), path_match, path, &e->node);
	rcu_read_unlock();
	if (n != &e->node) {
		*existing = caa_container_of(n, struct fscd_polled, node);
		polled_free(e); /* never visible to anyone */
		return NULL;
	}
	p->count++;
	return e;
}

void fscd_poll_remove(struct fscd_poll *p, struct fscd_polled *e)
{
	rcu_read_lock();
	int rc = cds_lfht_del(p->ht, &e->node);
	rcu_read_unlock();
	if (rc == 0) {
		p->count--;
		/* a worker may be between its lookup and its read of e->path */
		call_rcu(&e->rcu, polled_free_rcu);
	}
}

size_t fscd_poll_remove_under(struct fscd_poll *p, const char *prefix)
{
	size_t plen = strlen(prefix), removed = 0;
	struct cds_lfht_iter it;
	struct fscd_polled *e;
	rcu_read_lock();
	cds_lfht_for_each_entry(p->ht, &it, e, node)
	{
		/* deleting the node the iterator is on is allowed: removed nodes stay
		 * traversable until the grace period ends */
		if (fscd_path_under(e->path, prefix, plen) && cds_lfht_del(p->ht, &e->node) == 0) {
			p->count--;
			removed++;
			call_rcu(&e->rcu, polled_free_rcu);
		}
	}
	rcu_read_unlock();
	return removed;
}

void fscd_poll_foreach(struct fscd_poll *p, void (*fn)(void *ctx, struct fscd_polled *e), void *ctx)
{
	struct cds_lfht_iter it;
	struct fscd_polled *e;
	rcu_read_lock();
	cds_lfht_for_each_entry(p->ht, &it, e, node) fn(ctx, e);
	rcu_read_unlock();
}

void fscd_poll_destroy(struct fscd_poll *p)
{
	if (!p->ht)
		return;
	fscd_poll_remove_under(p, "/");
	rcu_barrier(); /* every call_rcu free has run */
	cds_lfht_destroy(p->ht, NULL);
	p->ht = NULL;
}

const char *fscd_poll_reason_name(enum fscd_poll_reason r)
{
	switch (r) {
	case FSCD_POLL_FORCED:
		return "--poll";
	case FSCD_POLL_BLIND_FS:
		return "a filesystem inotify cannot see";
	case FSCD_POLL_WATCH_LIMIT:
		return "no inotify watch available";
	case FSCD_POLL_MOUNT_CHECK:
		return "a mount point being checked";
	}
	return "?";
}
