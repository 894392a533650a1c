/* On-demand caching: readers whose lookup missed ask fscd to cache the path (libfsc's
 * fsc_request, one datagram on the table's abstract request socket; PROTOCOL.md "Requests").
 * fscd takes a path only if it lies under a root, passes the filters and sits in a directory
 * fscd watches (so that its record will be kept current), and, so that one-off scans do not
 * push out what readers come back to, only on its second request within the window
 * (fscd_admit.h). Against floods, each sender uid (SO_PASSCRED) is rate-limited
 * (fscd_ratelimit.h) and what requests cache may fill only a share of the table
 * (fscd_reqshare.h). Loop thread only. */
#ifndef FSCD_REQUESTS_H
#define FSCD_REQUESTS_H

#include "fscd_tree.h"

#define FSCD_REQUEST_RATE      1000u /* requests a second per sender uid (burst: 1 s) */
#define FSCD_REQUEST_RATE_ROOT 4u    /* root's rate, as a multiple */

struct fscd_requests;

/* Makes the socket and tries to bind it (see fscd_requests_bind). window_ms 0: admit on the
 * first request. 0 or -errno (logged). */
int fscd_requests_open(struct fscd_requests **out, const char *table_name, unsigned window_ms);
/* Binds the socket if it is not bound yet (at an address with a random nonce, so nothing
 * else should hold it: a failure is logged as a fault); upkeep calls this until it works. */
void fscd_requests_bind(struct fscd_requests *r);
/* The address's random nonce (never 0), for every table header fscd publishes
 * (fsc_writer_opts.request_nonce): readers build the address from it. */
uint64_t fscd_requests_nonce(const struct fscd_requests *r);
/* Readable when requests wait. */
int fscd_requests_fd(const struct fscd_requests *r);
/* Reads and handles the waiting requests (a bounded number per call). */
void fscd_requests_serve(struct fscd_requests *r, struct fscd_tree *t);
void fscd_requests_close(struct fscd_requests *r);

#endif
