/* The served region the writer puts in every table it builds (fsc_shm_served.h): encoded
 * once, from opts.served as given to fsc_writer_open, and copied into each new table before
 * it is published. */
#include "fsc_writer_internal.h"

#include <string.h>

uint32_t fsc_wserved_size(struct fsc_writer *w)
{
	if (!w->served_done) {
		/* the caller's spec is read here, during fsc_writer_open, and never again */
		w->served_done = true;
		if (w->opts.served)
			w->served_len =
			    fsc_shm_served_encode(w->served, sizeof(w->served), w->opts.served);
		w->opts.served = NULL;
	}
	return w->served_len;
}

void fsc_wserved_store(struct fsc_writer *w, struct fsc_shm_header *h)
{
	if (!w->served_len)
		return;
	/* plain stores: nobody sees the table before it is published, nor changes it after */
	memcpy((unsigned char *)h + h->slots_offset + h->slot_count * h->slot_size, w->served,
	       w->served_len);
	h->served_size = w->served_len;
}
