// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool memory backend for the kernel: page-backed buffers, their ids,
 * zeroing, and the retry after a failed page allocation.
 *
 * The core never allocates under its spinlock.  A new request's missing
 * buffers are created by its caller with GFP_NOWAIT, the lock dropped.
 * When that fails, or when a queue head is short of memory at a release,
 * the request waits and a work item runs bufpool_grow(): it creates the
 * buffers the head needs one at a time with GFP_KERNEL (which may
 * reclaim), yielding the CPU between them, and the core grants them.  After
 * a failure it runs again after a delay while requests are still queued,
 * so a transient shortage of pages delays waiters instead of stranding
 * them.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "bufpool.h"
#include "bufpool_compat.h"
#include "bufpool_mem.h"

#define BUFPOOL_RETRY_DELAY	(HZ / 50)

/**
 * struct bufpool_mem - the kernel backend of one pool
 * @pool: the pool it serves
 * @ids: id -> struct bufpool_buf, for every buffer the pool owns
 * @bufsize: bytes per buffer
 * @order: page order of a buffer
 * @retry: runs bufpool_grow(): at once for a queue head short of memory,
 *	after a delay after a failure
 */
struct bufpool_mem {
	struct bufpool *pool;
	struct xarray ids;
	size_t bufsize;
	unsigned int order;
	struct delayed_work retry;
};

static void bufpool_mem_retry_fn(struct work_struct *work)
{
	struct bufpool_mem *mem = container_of(to_delayed_work(work),
					       struct bufpool_mem, retry);

	pr_debug("growing the pool for its queued requests\n");
	bufpool_grow(mem->pool);
}

struct bufpool_mem *bufpool_mem_init(struct bufpool *pool, size_t bufsize)
{
	struct bufpool_mem *mem;

	/* the largest buffer must be one allocation of the page allocator */
	BUILD_BUG_ON(get_order(BUFPOOL_BUFSIZE_MAX) > MAX_PAGE_ORDER);

	mem = kzalloc(sizeof(*mem), GFP_KERNEL);
	if (!mem)
		return ERR_PTR(-ENOMEM);
	mem->pool = pool;
	xa_init_flags(&mem->ids, XA_FLAGS_ALLOC);
	mem->bufsize = bufsize;
	mem->order = get_order(bufsize);
	INIT_DELAYED_WORK(&mem->retry, bufpool_mem_retry_fn);
	return mem;
}

/* Stop the retry work: no buffer is adopted after this returns. */
void bufpool_mem_quiesce(struct bufpool_mem *mem)
{
	cancel_delayed_work_sync(&mem->retry);
}

void bufpool_mem_fini(struct bufpool_mem *mem)
{
	cancel_delayed_work_sync(&mem->retry);
	WARN_ON(!xa_empty(&mem->ids));
	xa_destroy(&mem->ids);
	kfree(mem);
}

/* A new zeroed buffer with an id, or NULL.  @gfp decides whether it sleeps. */
struct bufpool_buf *bufpool_mem_create(struct bufpool_mem *mem, gfp_t gfp)
{
	struct bufpool_buf *buf;
	struct page *page;

	buf = kzalloc(sizeof(*buf), gfp);
	if (!buf)
		goto fail;
	page = alloc_pages(gfp | __GFP_ZERO, mem->order);
	if (!page)
		goto free_buf;
	buf->addr = page_address(page);
	if (xa_alloc(&mem->ids, &buf->id, buf, xa_limit_31b, gfp))
		goto free_page;
	INIT_LIST_HEAD(&buf->node);
	return buf;

free_page:
	__free_pages(page, mem->order);
free_buf:
	kfree(buf);
fail:
	return NULL;
}

void bufpool_mem_destroy(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	xa_erase(&mem->ids, buf->id);
	__free_pages(virt_to_page(buf->addr), mem->order);
	kfree(buf);
}

struct bufpool_buf *bufpool_mem_lookup(struct bufpool_mem *mem, u32 id)
{
	return xa_load(&mem->ids, id);
}

void bufpool_mem_zero(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	memset(buf->addr, 0, mem->bufsize);
}

/* Called with the pool lock held: only queues the work. */
void bufpool_mem_retry_later(struct bufpool_mem *mem)
{
	schedule_delayed_work(&mem->retry, BUFPOOL_RETRY_DELAY);
}

/*
 * Called with the pool lock held: run the work now, unless it is already
 * pending (then a retry's delay after a failure is kept).
 */
void bufpool_mem_grow(struct bufpool_mem *mem)
{
	schedule_delayed_work(&mem->retry, 0);
}
