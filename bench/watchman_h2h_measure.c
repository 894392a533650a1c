/* watchman_h2h: the measurements (cost per answer, change-to-visible latency); see
 * watchman_h2h.c for what each one is. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "watchman_h2h.h"

/* ---- (a) cost per answer ---- */

void h2h_wm_request(const struct h2h_run *r, const char *name, enum h2h_query kind, char *buf,
		    size_t size)
{
	if (kind == H2H_SCAN_NOSYNC)
		snprintf(
		    buf, size,
		    "[\"query\",\"%s\",{\"expression\":[\"name\",\"%s\",\"wholename\"]," H2H_FIELDS
		    ",\"sync_timeout\":0}]",
		    r->root_json, name);
	else
		snprintf(buf, size,
			 "[\"query\",\"%s\",{\"path\":[{\"path\":\"%s\",\"depth\":0}]," H2H_FIELDS
			 "%s}]",
			 r->root_json, name, kind == H2H_PATH_NOSYNC ? ",\"sync_timeout\":0" : "");
}

static void h2h_wm_ask(struct h2h_run *r, const char *request, struct wm_file *f)
{
	const char *reply = wm_conn_call(&r->q, request);
	if (!reply || wm_reply_file(reply, f) < 0)
		h2h_die(r, "watchman query failed: %s -> %.300s", request,
			reply ? reply : "(none)");
}

void h2h_cost_watchman(struct h2h_run *r, enum h2h_query kind, int n, struct h2h_cost *out)
{
	static const char *const names[] = {"watchman_path_nosync", "watchman_path_sync",
					    "watchman_scan_nosync"};
	uint64_t *v = calloc((size_t)n, sizeof(*v));
	if (!v)
		fscd_bench_die("out of memory");
	char req[H2H_REQUEST_MAX];
	for (int i = -H2H_WARMUP_QUERIES; i < n; i++) { /* the first ones are not kept */
		const char *path = r->paths[h2h_random(&r->rng) % (uint64_t)r->nfiles];
		struct wm_file f;
		h2h_wm_request(r, path + r->rel_offset, kind, req, sizeof(req));
		uint64_t t0 = fsc_harness_now_ns();
		h2h_wm_ask(r, req, &f);
		uint64_t ps = (fsc_harness_now_ns() - t0) * 1000;
		if (i >= 0)
			v[i] = ps;
		if (!f.found || f.size != 0)
			h2h_die(r, "watchman: %s %s, size %lld", path,
				f.found ? "found" : "missing", f.size);
	}
	out->method = names[kind];
	fscd_bench_percentiles(v, (size_t)n, &out->pct);
	free(v);
}

/* One pass over the tree in the given order; returns picoseconds per call. */
static uint64_t h2h_local_pass(struct h2h_run *r, const int *order, enum h2h_local kind)
{
	struct stat st;
	uint64_t failures = 0, t0 = fsc_harness_now_ns();
	switch (kind) {
	case H2H_FSC_LOOKUP:
		for (int i = 0; i < r->nfiles; i++)
			failures += fsc_lookup(r->c, r->paths[order[i]], &st, NULL) != FSC_HIT;
		break;
	case H2H_FSC_STAT:
		for (int i = 0; i < r->nfiles; i++)
			failures += fsc_stat(r->c, r->paths[order[i]], &st) != 0;
		break;
	case H2H_STAT:
		for (int i = 0; i < r->nfiles; i++)
			failures += stat(r->paths[order[i]], &st) != 0;
		break;
	}
	uint64_t ns = fsc_harness_now_ns() - t0;
	if (failures)
		fscd_bench_die("%llu of %d answers were not hits", (unsigned long long)failures,
			       r->nfiles);
	return ns * 1000 / (uint64_t)r->nfiles;
}

static void h2h_shuffle(int *order, int n, uint64_t *rng)
{
	for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
		int j = (int)(h2h_random(rng) % (uint64_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

/* out[H2H_FSC_LOOKUP..H2H_STAT]. Each kind runs its passes back to back (one warm-up pass,
 * then rounds timed ones, each in a new random order), so its own working set is what the
 * CPU caches hold, as in bench_lookup; the kinds do not share cache state. */
void h2h_cost_local(struct h2h_run *r, struct h2h_cost out[3])
{
	static const char *const names[] = {"fsc_lookup", "fsc_stat", "stat"};
	int rounds = r->o->common.rounds;
	int *order = calloc((size_t)r->nfiles, sizeof(*order));
	uint64_t *v = calloc((size_t)rounds, sizeof(*v));
	if (!order || !v)
		fscd_bench_die("out of memory");
	for (int i = 0; i < r->nfiles; i++)
		order[i] = i;
	for (int k = 0; k < 3; k++) {
		h2h_shuffle(order, r->nfiles, &r->rng);
		h2h_local_pass(r, order, (enum h2h_local)k); /* warm-up, not kept */
		for (int round = 0; round < rounds; round++) {
			h2h_shuffle(order, r->nfiles, &r->rng);
			v[round] = h2h_local_pass(r, order, (enum h2h_local)k);
		}
		out[k].method = names[k];
		fscd_bench_percentiles(v, (size_t)rounds, &out[k].pct);
	}
	free(v);
	free(order);
}

/* ---- (b) change-to-visible latency ---- */

static void h2h_check_cap(struct h2h_run *r, uint64_t t0, const char *how)
{
	if (fsc_harness_now_ns() - t0 > H2H_SAMPLE_CAP_NS)
		h2h_die(r, "size %lld of %s not visible through %s after 30 s", (long long)r->size,
			r->target, how);
}

static uint64_t h2h_see_fsc(struct h2h_run *r, uint64_t t0, uint64_t *requests)
{
	struct stat st;
	for (;;) {
		int got = fsc_lookup(r->c, r->target, &st, NULL);
		uint64_t now = fsc_harness_now_ns();
		++*requests;
		if (got == FSC_HIT && st.st_size == r->size)
			return now;
		h2h_check_cap(r, t0, "fsc_lookup");
		sched_yield();
	}
}

static uint64_t h2h_see_query(struct h2h_run *r, enum h2h_query kind, uint64_t t0,
			      uint64_t *requests)
{
	char req[H2H_REQUEST_MAX];
	h2h_wm_request(r, H2H_TARGET, kind, req, sizeof(req));
	for (;;) {
		struct wm_file f;
		h2h_wm_ask(r, req, &f);
		uint64_t now = fsc_harness_now_ns();
		++*requests;
		if (f.found && f.size == r->size)
			return now;
		h2h_check_cap(r, t0, "watchman queries");
	}
}

static uint64_t h2h_see_notification(struct h2h_run *r, struct wm_conn *sub, uint64_t t0,
				     uint64_t *requests)
{
	for (;;) {
		const char *pdu = wm_conn_read_line(sub, 1000);
		uint64_t now = fsc_harness_now_ns();
		struct wm_file f;
		if (pdu) {
			++*requests;
			if (wm_json_value(pdu, "subscription") && wm_reply_file(pdu, &f) == 0 &&
			    f.found && f.size == r->size)
				return now;
		}
		h2h_check_cap(r, t0, "a watchman subscription");
	}
}

static void h2h_subscribe(struct h2h_run *r, struct wm_conn *sub)
{
	char req[H2H_REQUEST_MAX];
	if (wm_conn_open(sub, r->wm.sock, r->wm.pid, 10 * FSCD_BENCH_NS_PER_S) < 0)
		h2h_die(r, "cannot connect to watchman for the subscription");
	snprintf(req, sizeof(req),
		 "[\"subscribe\",\"%s\",\"h2h\",{\"expression\":[\"name\",\"" H2H_TARGET
		 "\"]," H2H_FIELDS "}]",
		 r->root_json);
	const char *reply = wm_conn_call(sub, req);
	if (!reply || !wm_json_value(reply, "subscribe"))
		h2h_die(r, "watchman subscribe failed: %.300s", reply ? reply : "(no reply)");
}

void h2h_latency(struct h2h_run *r, enum h2h_watcher how, struct h2h_latency *out)
{
	static const char *const names[] = {"fsc_lookup", "watchman_path_nosync",
					    "watchman_path_sync", "watchman_subscription"};
	const struct h2h_opts *o = r->o;
	struct wm_conn sub = {.fd = -1};
	uint64_t *v = calloc((size_t)o->samples, sizeof(*v)),
		 span = o->gap_ns[1] - o->gap_ns[0] + 1;
	if (!v)
		fscd_bench_die("out of memory");
	memset(out, 0, sizeof(*out));
	out->method = names[how];
	if (how == H2H_SEE_WM_SUBSCRIPTION)
		h2h_subscribe(r, &sub);
	for (int i = 0; i < o->samples; i++) {
		fsc_harness_sleep_ns(o->gap_ns[0] + h2h_random(&r->rng) % span);
		uint64_t t0 = fsc_harness_now_ns(), seen = 0;
		if (write(r->target_fd, "x", 1) != 1)
			fscd_bench_die("write %s: %s", r->target, strerror(errno));
		r->size++;
		if (how == H2H_SEE_FSC)
			seen = h2h_see_fsc(r, t0, &out->requests);
		else if (how == H2H_SEE_WM_SUBSCRIPTION)
			seen = h2h_see_notification(r, &sub, t0, &out->requests);
		else
			seen = h2h_see_query(
			    r, how == H2H_SEE_WM_SYNC ? H2H_PATH_SYNC : H2H_PATH_NOSYNC, t0,
			    &out->requests);
		v[i] = seen - t0;
	}
	wm_conn_close(&sub);
	fscd_bench_percentiles(v, (size_t)o->samples, &out->pct);
	free(v);
}
