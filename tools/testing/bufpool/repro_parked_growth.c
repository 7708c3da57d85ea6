// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducer, built with the kernel's BUFPOOL_SLOTTED_MAX: memory is
 * created on demand, not beside free buffers parked in the slots and the
 * magazines.  Sessions (entities that track their dirty buffers, so they
 * join a slot) run one after the other on 2 CPUs, far from the limit:
 * each takes a NORMAL and a CRITICAL buffer and gives both back, where
 * its slot keeps them.  At most 2 buffers are ever in use, yet every
 * session's first allocation finds the shared cache at the reserve: if
 * the locked path grows rather than drains, each slotted session strands
 * a pair and the pool owns 2 * BUFPOOL_SLOTTED_MAX buffers more than it
 * needs (only the shrinker or a lower limit gives them back).
 *
 * The pool may own the reserve, what is in use, and one batch a CPU of
 * slack for growth while the magazines serve.  Exits 0 when it does not
 * own more, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <linux/err.h>
#include <linux/percpu.h>
#include "harness.h"

#define NR_SESSIONS	(BUFPOOL_SLOTTED_MAX + 64)
#define RESERVE		4U
#define MAG_BATCH	8U	/* BUFPOOL_MAG_BATCH */

static struct bufpool_entity e[NR_SESSIONS];

static void nowake(struct bufpool_waiter *w)
{
}

int main(void)
{
	struct bufpool_config cfg = { .limit = 4 * NR_SESSIONS,
				      .reserve = RESERVE, .bufsize = 64 };
	unsigned int i, bound = RESERVE + 2 + BP_NR_CPUS * MAG_BATCH;
	struct bufpool_buf *bufs[2];
	struct bufpool_stats st;
	struct bufpool *pool;
	u32 ids[2];

	pool = bufpool_create(&cfg);
	if (IS_ERR(pool))
		return 2;
	for (i = 0; i < NR_SESSIONS; i++) {
		bufpool_entity_init(pool, &e[i], nowake, NULL);
		e[i].tracks_dirty = true;
	}
	for (i = 0; i < NR_SESSIONS; i++) {
		bp_cpu = i % BP_NR_CPUS;
		if (bufpool_alloc(&e[i], BUFPOOL_CLASS_NORMAL, 1, 0, bufs) ||
		    bufpool_alloc(&e[i], BUFPOOL_CLASS_CRITICAL, 1, 0,
				  bufs + 1)) {
			printf("FAIL: session %u not served far from the limit\n",
			       i);
			return 1;
		}
		ids[0] = bufs[0]->id;
		ids[1] = bufs[1]->id;
		if (bufpool_release(&e[i], ids, 2)) {
			printf("FAIL: session %u: release refused\n", i);
			return 1;
		}
	}
	bp_cpu = 0;
	bufpool_get_stats(pool, &st);
	printf("repro-parked-growth: %u sessions, 2 buffers in use at most: %llu allocated (at most %u), %llu drains\n",
	       NR_SESSIONS, (unsigned long long)st.allocated, bound,
	       (unsigned long long)st.drains);
	for (i = 0; i < NR_SESSIONS; i++)
		bufpool_entity_destroy(&e[i]);
	bufpool_destroy(pool);
	if (st.allocated > bound) {
		printf("FAIL: the pool grew beside buffers parked in slots and magazines\n");
		return 1;
	}
	return 0;
}
