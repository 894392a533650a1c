/* The directories fscd polls instead of watching: an index from path to polling state,
 * shared by the loop thread and the stat workers (a liburcu lock-free hash table, cds_lfht).
 *
 * Threads: the loop thread alone adds, changes and removes entries; it frees a removed entry
 * through call_rcu, once no worker can still hold it. Workers only look entries up, inside
 * an RCU read-side critical section, and read only the fields marked immutable. */
#ifndef FSCD_POLL_H
#define FSCD_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <urcu.h>
#include <urcu/rculfhash.h>

enum fscd_poll_reason {
	FSCD_POLL_FORCED,      /* --poll */
	FSCD_POLL_BLIND_FS,    /* on a filesystem inotify cannot see (NFS, FUSE, ...) */
	FSCD_POLL_WATCH_LIMIT, /* inotify_add_watch failed: watch limit or kernel memory */
	FSCD_POLL_MOUNT_CHECK, /* a mount point: its filesystem type is learnt on a worker */
};

struct fscd_polled {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	/* immutable while the entry is in the index (workers read these) */
	uint64_t id; /* never reused: a job's results apply only to the entry that asked */
	char *path;
	/* loop thread only */
	enum fscd_poll_reason reason;
	unsigned depth; /* below its root, as for watched directories */
	int root;	/* index of the root this directory is, or -1 */
	char *only;	/* for a file root's directory: the one name wanted in it */
	dev_t dev;	/* of the directory, from its last listing (0 before) */
	uint64_t due_ns, submitted_ns;
	bool in_flight, stalled;
	char **names; /* entries the last listing found, sorted */
	size_t nnames;
};

struct fscd_poll {
	struct cds_lfht *ht;
	uint64_t seed;
	uint64_t next_id;
	size_t count;
};

int fscd_poll_init(struct fscd_poll *p);
/* Removes every entry and frees the index; the workers must have stopped. */
void fscd_poll_destroy(struct fscd_poll *p);

/* Loop thread. The entry for exactly this path, or NULL. */
struct fscd_polled *fscd_poll_find(struct fscd_poll *p, const char *path);
/* Adds path (due at once) unless present; returns the entry, or NULL if it was present
 * already (*existing then says which) or memory ran out. */
struct fscd_polled *fscd_poll_add(struct fscd_poll *p, const char *path,
				  enum fscd_poll_reason reason, struct fscd_polled **existing);
/* Takes e out of the index; it is freed once no worker can hold it. */
void fscd_poll_remove(struct fscd_poll *p, struct fscd_polled *e);
/* Removes every entry at or below prefix; returns how many. */
size_t fscd_poll_remove_under(struct fscd_poll *p, const char *prefix);
/* Calls fn for every entry (which must not add or remove entries). */
void fscd_poll_foreach(struct fscd_poll *p, void (*fn)(void *ctx, struct fscd_polled *e),
		       void *ctx);

/* Workers, inside rcu_read_lock(): is the entry with this id still polled? */
bool fscd_poll_has(struct fscd_poll *p, const char *path, uint64_t id);

const char *fscd_poll_reason_name(enum fscd_poll_reason r);

#endif
