// SPDX-License-Identifier: GPL-2.0
/*
 * The shrinker of a pool: under memory pressure, reclaim takes back the
 * cached free buffers the pool does not need (bufpool_shrink() decides
 * which), as it takes back the page cache.
 *
 * Counted in pages, so that reclaim weighs the pool as the memory it is
 * and a 4 MiB buffer counts for 1024 pages, not one object.  A scan of
 * fewer pages than a buffer still frees a whole one.  The buffers are
 * free and zeroed: giving one back loses no data, and making it again
 * costs a page allocation and no I/O, hence the low seek cost (that of
 * the DRM TTM page pool).  The shrinker is not memcg-aware: the pool's
 * memory is charged to no memory cgroup (see README.md), so only global
 * reclaim (kswapd, direct reclaim, drop_caches) and memory.reclaim of the
 * root cgroup call it.  The pages it frees are counted to that reclaim
 * (mm_account_reclaimed_pages(), as slab pages are), so a reclaim stops
 * once it has what it asked for instead of emptying the cache.
 *
 * The count, which reclaim asks on every pass whether it scans or not,
 * stops nothing: it sums the free buffers the per-CPU caches and the
 * entities' slots keep where they are, as STATS do, and they go on
 * serving.  Only a scan that the shared cache alone cannot cover drains
 * them (bufpool_shrink()): a pass that only counts, or whose scan the
 * shared cache covers, leaves the fast path on.
 */

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/shrinker.h>

#include "bufpool.h"
#include "bufpool_compat.h"
#include "bufpool_mem.h"

#define BUFPOOL_SHRINKER_SEEKS	1

static unsigned long bufpool_buf_pages(struct bufpool *pool)
{
	return bufpool_bufsize(pool) >> PAGE_SHIFT;
}

static unsigned long bufpool_shrinker_count(struct shrinker *shrinker,
					    struct shrink_control *sc)
{
	struct bufpool_mem *mem = bufpool_shrinker_private(shrinker);
	struct bufpool *pool = bufpool_mem_pool(mem);

	return bufpool_shrink_count(pool) * bufpool_buf_pages(pool);
}

static unsigned long bufpool_shrinker_scan(struct shrinker *shrinker,
					   struct shrink_control *sc)
{
	struct bufpool_mem *mem = bufpool_shrinker_private(shrinker);
	struct bufpool *pool = bufpool_mem_pool(mem);
	unsigned long pages = bufpool_buf_pages(pool);
	unsigned long nr = DIV_ROUND_UP(sc->nr_to_scan, pages);
	unsigned long freed;

	freed = bufpool_shrink(pool, min_t(unsigned long, nr, UINT_MAX)) *
		pages;
	if (!freed)
		return SHRINK_STOP;
	/* the backend frees destroyed buffers later: here, now, instead */
	bufpool_mem_reap(mem);
	/*
	 * Reclaim counts what it was told of, not what a shrinker returns:
	 * untold, it would go on at rising priority until the cache is
	 * empty.  Each buffer was exactly @pages pages (a contiguous one
	 * gave the tail of its order back when it was made).
	 */
	mm_account_reclaimed_pages(freed);
	/* a whole buffer may be more than was asked for */
	sc->nr_scanned = max(sc->nr_scanned, freed);
	return freed;
}

/* Register the shrinker of @mem's pool: the shrinker, or an ERR_PTR. */
struct shrinker *bufpool_shrinker_register(struct bufpool_mem *mem)
{
	return bufpool_shrinker_new(bufpool_shrinker_count,
				    bufpool_shrinker_scan,
				    BUFPOOL_SHRINKER_SEEKS, mem, "bufpool");
}

/* Unregister it: no callback runs after this returns. */
void bufpool_shrinker_unregister(struct shrinker *shrinker)
{
	bufpool_shrinker_free(shrinker);
}
