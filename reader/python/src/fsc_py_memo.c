/* Cache.stat's memo (fsc_py.h): for each slot of the table, the os.stat_result last built from
 * its record and the record's change_seq. A record names its content by (generation, slot,
 * change_seq): fscd gives every change a new change_seq, a key put into a slot a new one too,
 * and a replacement table a new generation. So while they are equal, the result built before
 * is the answer again, and os.stat_result is immutable: returning the same object is
 * returning equal values. Touched with the GIL held only. */
#include "fsc_py.h"

#include <stdlib.h>

void fsc_py_memo_clear(struct fsc_py_memo *m)
{
	if (m->res)
		for (uint64_t i = 0; i < m->slots; i++)
			Py_XDECREF(m->res[i]);
	free(m->res);
	free(m->seq);
	*m = (struct fsc_py_memo){0};
}

PyObject *fsc_py_memo_get(const struct fsc_py_memo *m, uint64_t generation, uint64_t slot,
			  uint64_t change_seq)
{
	if (!m->res || m->generation != generation || slot >= m->slots || !m->res[slot] ||
	    m->seq[slot] != change_seq)
		return NULL;
	return Py_NewRef(m->res[slot]);
}

void fsc_py_memo_put(struct fsc_py_memo *m, uint64_t generation, uint64_t slot, uint64_t slots,
		     uint64_t change_seq, PyObject *res)
{
	if (!m->res || m->generation != generation || m->slots != slots) {
		/* another table: what was built from the old one names nothing now */
		fsc_py_memo_clear(m);
		if (slots == 0 || slots > FSC_PY_MEMO_SLOTS_MAX)
			return; /* a table this large: no memo (it would cost 16 bytes a slot) */
		/* calloc of this size is fresh zero pages: a slot's page is touched when used */
		m->res = calloc(slots, sizeof(*m->res));
		m->seq = calloc(slots, sizeof(*m->seq));
		if (!m->res || !m->seq) {
			fsc_py_memo_clear(m); /* no memo: every hit builds its result */
			return;
		}
		m->generation = generation;
		m->slots = slots;
	}
	if (slot >= m->slots)
		return;
	Py_XSETREF(m->res[slot], Py_NewRef(res));
	m->seq[slot] = change_seq;
}
