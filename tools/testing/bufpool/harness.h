/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace harness of the bufpool core: what the tests, the stress, the
 * fuzzer, the model checker and the benchmark share.  The core itself is
 * built by core.c (#include of module/bufpool_core.c, unmodified), the
 * memory backend by mem_user.c, the shim runtime by shim.c.
 */
#ifndef _BP_HARNESS_H
#define _BP_HARNESS_H

#include <stdio.h>
#include <linux/types.h>
#include "../../../module/bufpool.h"
#include "../../../module/bufpool_mem.h"

/* shim.c */
extern unsigned int bp_warnings;	/* WARN_ON hits so far */
extern bool bp_warn_fatal;		/* abort on WARN_ON (fuzzer, model check) */
extern unsigned int bp_kmalloc_fail;	/* fail that many next kmalloc()s */
extern bool bp_quiet;			/* do not print WARN_ON reports */
extern unsigned long bp_resched_calls;	/* cond_resched() calls so far */
/* shim.c: the emulated CPU this thread runs on (linux/percpu.h) */
extern __thread unsigned int bp_cpu;

/* mem_user.c: the userspace memory backend and its knobs */
struct bp_mem_stats {
	unsigned long creates;		/* buffers given memory and an id */
	unsigned long create_failures;	/* injected failures */
	unsigned long destroys;
	unsigned long hides;		/* bufpool_mem_hide() calls */
	unsigned long zeroes;
	unsigned long retries_scheduled;	/* bufpool_mem_retry_later() calls */
	unsigned long grows_scheduled;	/* bufpool_mem_grow() calls */
	unsigned long retries_run;
	unsigned long quarantined;	/* buffers ever quarantined */
	unsigned int live;		/* buffers with an id now */
};

void bp_mem_fail_nowait(struct bufpool_mem *mem, bool on);
void bp_mem_fail_kernel(struct bufpool_mem *mem, bool on);
void bp_mem_fail_next(struct bufpool_mem *mem, unsigned int n);
void bp_mem_fail_rate(struct bufpool_mem *mem, unsigned int permille,
		      unsigned int seed);
bool bp_mem_retry_pending(struct bufpool_mem *mem);
bool bp_mem_run_retry(struct bufpool_mem *mem);
void bp_mem_get_stats(struct bufpool_mem *mem, struct bp_mem_stats *st);
u32 bp_mem_id_end(struct bufpool_mem *mem);
void bp_mem_pin(struct bufpool_mem *mem, struct bufpool_buf *buf, int delta);
unsigned int bp_mem_run_quarantine(struct bufpool_mem *mem);
unsigned int bp_mem_quarantined(struct bufpool_mem *mem);
extern void (*bp_mem_lookup_hook)(u32 id, struct bufpool_buf *buf);
extern void (*bp_mem_destroy_hook)(struct bufpool_buf *buf);
extern void (*bp_mem_create_hook)(void);
bool bp_mem_zeroed(struct bufpool_mem *mem, const struct bufpool_buf *buf);

/* core.c: the core, plus readers of its private state */
struct bp_snap {
	unsigned int limit, reserve, headroom[BUFPOOL_NR_CLASSES];
	unsigned int in_use, nr_alloc, nr_cached, nr_entities, nr_growing;
	unsigned int nr_quarantined;
	unsigned int nr_queued[BUFPOOL_NR_CLASSES];
	unsigned long long wakeups, grants_waited, allocations, releases;
	unsigned long long page_alloc_failures;
};

struct bufpool_mem *bp_pool_mem(struct bufpool *pool);
void bp_snapshot(struct bufpool *pool, struct bp_snap *s);
bool bp_pool_locked(struct bufpool *pool);
unsigned int bp_queue_walk(struct bufpool *pool, unsigned int class,
			   struct bufpool_entity **out, unsigned int max);
unsigned int bp_cache_usable(struct bufpool *pool, unsigned int class);
bool bp_run_offer_expiry(struct bufpool *pool);
bool bp_offer_expiry_pending(struct bufpool *pool);
unsigned int bp_nr_offered(struct bufpool *pool);
extern u64 bp_clock_skew;		/* shim.c: added to ktime_get_ns() */
extern bool bp_clock_frozen;		/* shim.c: ktime_get_ns() is the skew */
/* adaptive policy: the park window's timer and work */
bool bp_park_pending(struct bufpool *pool);
u64 bp_park_until(struct bufpool *pool);
u64 bp_park_expires(struct bufpool *pool);
bool bp_run_park(struct bufpool *pool, bool early);
bool bp_fire_park_timer(struct bufpool *pool, bool early);
bool bp_park_timer_pending(struct bufpool *pool);
bool bp_park_closed(struct bufpool *pool);
unsigned int bp_park_flags(struct bufpool *pool);
unsigned long long bp_barges(struct bufpool *pool);
/* the per-CPU magazines: on, buffers in one, requests they served */
bool bp_fast(struct bufpool *pool);
unsigned int bp_mag_nr(struct bufpool *pool, unsigned int cpu);
unsigned long long bp_fast_allocs(struct bufpool *pool);
/* an entity's slot: buffers in it, and whether it is slotted */
unsigned int bp_slot_nr(struct bufpool_entity *e, bool *slotted);
/* shim.c: what totalram_pages() returns (linux/mm.h) */
extern unsigned long bp_totalram_pages;

#define BP_CHECK_QUIESCENT	0x1	/* no call in flight: exact accounting */
#define BP_CHECK_ZERO		0x2	/* cached buffers must be all zero */
#define BP_CHECK_WAKEUP		0x4	/* no queued head could be served now */

int bp_check(struct bufpool *pool, struct bufpool_entity *const *ents,
	     unsigned int nr_ents, unsigned int flags, char *why, size_t len);

static inline const char *bp_class_name(unsigned int c)
{
	static const char *const n[] = { "CRIT", "NORM", "LOW" };

	return c < BUFPOOL_NR_CLASSES ? n[c] : "?";
}

#endif
