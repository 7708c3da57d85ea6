// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool memory backend for the kernel: buffers of order-0 pages, their
 * ids, zeroing, the retry after a failed page allocation, and the
 * quarantine of buffers whose pages someone else still references.
 *
 * A buffer is an array of order-0 pages, each with a reference count of
 * its own, the backend holding one reference per page.  The character
 * device maps them as ordinary pages, which get_user_pages() accepts, so
 * O_DIRECT, vmsplice(), MSG_ZEROCOPY and io_uring can pin them.  By
 * default every page is a separate allocation (an order-0 allocation
 * rarely fails, even when memory is fragmented); with contig=1 a buffer is
 * one high-order allocation split into its pages, for whoever wants it
 * physically contiguous.  In-kernel users get one kernel address for the
 * whole buffer, @addr: the linear map of a one-page or contiguous buffer,
 * else a vmap() of its pages, made when the buffer is created (vmap()
 * may sleep: a creation that must not cannot make one, see
 * bufpool_mem_create_nowait()).
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
 *
 * Quarantine: a buffer coming back whose pages are referenced beyond the
 * backend's own reference (a pin of an O_DIRECT in flight, an skb of a
 * zero-copy send, a pipe buffer of vmsplice(), an io_uring registration)
 * must not be zeroed nor handed on: whoever holds the reference may still
 * read or write it.  The core hands it to bufpool_mem_quarantine().  The
 * last put of an ordinary page calls nobody back, so a delayed work polls
 * the reference counts, backing off up to a second, and returns each
 * buffer whose pages are all ours again to the core
 * (bufpool_quarantine_done()), which zeroes and grants it like a release.
 * Nobody can take a new reference meanwhile: the buffer is mapped nowhere
 * and faults find it held by nobody.  While anything is quarantined the
 * backend holds a reference on the module, so it cannot be unloaded
 * under the pins (rmmod says EBUSY).
 *
 * Under memory pressure the pool's shrinker (bufpool_shrinker.c) gives
 * cached buffers back through bufpool_shrink().
 *
 * Memory failure: a page the kernel found corrupted (PageHWPoison) is
 * never mapped again (faults get SIGBUS) and its buffer is never zeroed
 * nor reused.  When that buffer comes back it goes through the quarantine
 * until its other pages are idle, and then leaves the pool
 * (bufpool_quarantine_drop()): the pool owns one buffer less and may
 * create a new one within its limit.  Its pages are put like any other;
 * the poisoned one keeps whatever reference memory_failure() took, and a
 * poisoned page whose last reference goes is never handed out again by the
 * page allocator.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/llist.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "bufpool.h"
#include "bufpool_compat.h"
#include "bufpool_mem.h"

#define BUFPOOL_RETRY_DELAY	(HZ / 50)
#define BUFPOOL_QUARANTINE_POLL_MIN	(HZ / 100 ? HZ / 100 : 1)
#define BUFPOOL_QUARANTINE_POLL_MAX	HZ

static bool contig;
module_param(contig, bool, 0444);
MODULE_PARM_DESC(contig,
		 "Each buffer one physically contiguous high-order allocation, split into its pages (default 0: one order-0 allocation per page)");

/**
 * struct bufpool_mem - the kernel backend of one pool
 * @pool: the pool it serves
 * @ids: id -> struct bufpool_buf, for every buffer the pool owns
 * @bufsize: bytes per buffer
 * @nr_pages: pages per buffer
 * @contig: buffers are one high-order allocation each
 * @retry: runs bufpool_grow(): at once for a queue head short of memory,
 *	after a delay after a failure
 * @qlock: protects @quarantine, @poll_delay and @holds_module
 * @quarantine: buffers whose pages are still referenced elsewhere, by
 *	their node
 * @poll: looks at the quarantine again after @poll_delay
 * @poll_delay: jiffies until the next look, doubled up to a second
 * @holds_module: a reference on the module is held for the quarantine
 * @dead: buffers destroyed under the pool lock, freed by @reap
 * @reap: frees @dead where sleeping is allowed (vunmap(), kvfree())
 * @shrinker: gives cached buffers back under memory pressure, or NULL
 *	once quiesced
 */
struct bufpool_mem {
	struct bufpool *pool;
	struct xarray ids;
	size_t bufsize;
	unsigned int nr_pages;
	bool contig;
	struct delayed_work retry;
	spinlock_t qlock;	/* see @qlock above */
	struct list_head quarantine;
	struct delayed_work poll;
	unsigned long poll_delay;
	bool holds_module;
	struct llist_head dead;
	struct work_struct reap;
	struct shrinker *shrinker;
};

/**
 * struct bufpool_page_buf - a buffer and its pages
 * @buf: what the core sees
 * @dead: link in bufpool_mem.dead once destroyed
 * @vmapped: @buf.addr is a vmap() of @pages
 * @nr_pages: number of @pages
 * @pages: the pages, each holding one reference of the backend
 */
struct bufpool_page_buf {
	struct bufpool_buf buf;
	struct llist_node dead;
	bool vmapped;
	unsigned int nr_pages;
	struct page *pages[];
};

static struct bufpool_page_buf *to_page_buf(const struct bufpool_buf *buf)
{
	return container_of(buf, struct bufpool_page_buf, buf);
}

/**
 * bufpool_buf_page() - page @i of a buffer
 * @buf: the buffer
 * @i: index of the page, below bufsize / PAGE_SIZE
 *
 * For in-kernel users that work per page (bio_add_page(), scatterlists)
 * and for the character device's faults.
 *
 * Return: the page; its reference belongs to the pool.
 */
struct page *bufpool_buf_page(const struct bufpool_buf *buf, unsigned int i)
{
	const struct bufpool_page_buf *pb = to_page_buf(buf);

	return i < pb->nr_pages ? pb->pages[i] : NULL;
}
EXPORT_SYMBOL_GPL(bufpool_buf_page);

static void bufpool_mem_retry_fn(struct work_struct *work)
{
	struct bufpool_mem *mem = container_of(to_delayed_work(work),
					       struct bufpool_mem, retry);

	pr_debug("growing the pool for its queued requests\n");
	bufpool_grow(mem->pool);
}

static void bufpool_page_buf_free(struct bufpool_page_buf *pb)
{
	unsigned int i;

	if (pb->vmapped)
		vunmap(pb->buf.addr);
	for (i = 0; i < pb->nr_pages; i++)
		put_page(pb->pages[i]);
	kvfree(pb);
}

static void bufpool_mem_reap_fn(struct work_struct *work)
{
	struct bufpool_mem *mem = container_of(work, struct bufpool_mem, reap);
	struct bufpool_page_buf *pb, *tmp;
	struct llist_node *dead = llist_del_all(&mem->dead);

	llist_for_each_entry_safe(pb, tmp, dead, dead) {
		bufpool_page_buf_free(pb);
		cond_resched();
	}
}

/* True if the kernel found a page of @pb corrupted (memory failure). */
static bool bufpool_page_buf_poisoned(const struct bufpool_page_buf *pb)
{
	unsigned int i;

	for (i = 0; i < pb->nr_pages; i++)
		if (PageHWPoison(pb->pages[i]))
			return true;
	return false;
}

/*
 * True while a page of @pb is referenced beyond the backend's reference.
 * A poisoned page is the memory-failure code's for good, whatever its
 * count: it never makes the buffer idle.
 */
static bool bufpool_page_buf_busy(const struct bufpool_page_buf *pb)
{
	unsigned int i;

	for (i = 0; i < pb->nr_pages; i++)
		if (!PageHWPoison(pb->pages[i]) &&
		    page_ref_count(pb->pages[i]) != 1)
			return true;
	return false;
}

static void bufpool_mem_poll_fn(struct work_struct *work)
{
	struct bufpool_mem *mem = container_of(to_delayed_work(work),
					       struct bufpool_mem, poll);
	struct bufpool_buf *buf, *tmp;
	bool put = false;
	LIST_HEAD(back);

	spin_lock(&mem->qlock);
	list_for_each_entry_safe(buf, tmp, &mem->quarantine, node)
		if (!bufpool_page_buf_busy(to_page_buf(buf)))
			list_move_tail(&buf->node, &back);
	spin_unlock(&mem->qlock);

	list_for_each_entry_safe(buf, tmp, &back, node) {
		list_del_init(&buf->node);
		if (bufpool_page_buf_poisoned(to_page_buf(buf))) {
			pr_warn_ratelimited("buffer %u has a poisoned page: dropped from the pool\n",
					    buf->id);
			bufpool_quarantine_drop(mem->pool, buf);
		} else {
			pr_debug("buffer %u leaves the quarantine\n", buf->id);
			bufpool_quarantine_done(mem->pool, buf);
		}
		cond_resched();
	}

	spin_lock(&mem->qlock);
	if (!list_empty(&mem->quarantine)) {
		mem->poll_delay = min_t(unsigned long, 2 * mem->poll_delay,
					BUFPOOL_QUARANTINE_POLL_MAX);
		schedule_delayed_work(&mem->poll, mem->poll_delay);
	} else if (mem->holds_module) {
		mem->holds_module = false;
		put = true;
	}
	spin_unlock(&mem->qlock);
	/*
	 * Last: rmmod may proceed from here, and its exit cancels this work
	 * synchronously, so it waits for this function to return.
	 */
	if (put)
		module_put(THIS_MODULE);
}

struct bufpool_mem *bufpool_mem_init(struct bufpool *pool, size_t bufsize)
{
	struct bufpool_mem *mem;

	/* a contiguous buffer must be one allocation of the page allocator */
	BUILD_BUG_ON(get_order(BUFPOOL_BUFSIZE_MAX) > MAX_PAGE_ORDER);

	mem = kzalloc(sizeof(*mem), GFP_KERNEL);
	if (!mem)
		return ERR_PTR(-ENOMEM);
	mem->pool = pool;
	xa_init_flags(&mem->ids, XA_FLAGS_ALLOC);
	mem->bufsize = bufsize;
	mem->nr_pages = bufsize >> PAGE_SHIFT;
	mem->contig = contig;
	INIT_DELAYED_WORK(&mem->retry, bufpool_mem_retry_fn);
	spin_lock_init(&mem->qlock);
	INIT_LIST_HEAD(&mem->quarantine);
	INIT_DELAYED_WORK(&mem->poll, bufpool_mem_poll_fn);
	mem->poll_delay = BUFPOOL_QUARANTINE_POLL_MIN;
	init_llist_head(&mem->dead);
	INIT_WORK(&mem->reap, bufpool_mem_reap_fn);
	mem->shrinker = bufpool_shrinker_register(mem);
	if (IS_ERR(mem->shrinker)) {
		int ret = PTR_ERR(mem->shrinker);

		kfree(mem);
		return ERR_PTR(ret);
	}
	return mem;
}

/*
 * Stop the retry work: no buffer is adopted after this returns.  Then wait
 * for the quarantine to empty: the pool is about to be freed, and the
 * buffers in it are still its own.  The system pool never waits here (the
 * quarantine holds the module); a pool of an in-kernel user may.
 */
void bufpool_mem_quiesce(struct bufpool_mem *mem)
{
	bool empty;
	int waited = 0;

	if (mem->shrinker) {
		bufpool_shrinker_unregister(mem->shrinker);
		mem->shrinker = NULL;
	}
	cancel_delayed_work_sync(&mem->retry);
	for (;;) {
		spin_lock(&mem->qlock);
		empty = list_empty(&mem->quarantine);
		spin_unlock(&mem->qlock);
		if (empty)
			break;
		if (!waited++)
			pr_warn("pool destroyed with buffers in quarantine: waiting for their pages to be released\n");
		mod_delayed_work(system_wq, &mem->poll, 0);
		flush_delayed_work(&mem->poll);
		schedule_timeout_uninterruptible(BUFPOOL_QUARANTINE_POLL_MAX);
	}
	cancel_delayed_work_sync(&mem->poll);
}

void bufpool_mem_fini(struct bufpool_mem *mem)
{
	bufpool_mem_quiesce(mem);
	flush_work(&mem->reap);
	WARN_ON(!xa_empty(&mem->ids));
	xa_destroy(&mem->ids);
	kfree(mem);
}

static int bufpool_alloc_pages(struct bufpool_mem *mem,
			       struct bufpool_page_buf *pb, gfp_t gfp)
{
	struct page *page;
	unsigned int i;

	if (mem->contig) {
		unsigned int order = get_order(mem->bufsize);

		page = alloc_pages(gfp | __GFP_ZERO, order);
		if (!page)
			return -ENOMEM;
		split_page(page, order);
		/* the tail of a non-power-of-two size goes back at once */
		for (i = mem->nr_pages; i < 1U << order; i++)
			__free_page(page + i);
		for (i = 0; i < mem->nr_pages; i++)
			pb->pages[pb->nr_pages++] = page + i;
		return 0;
	}
	for (i = 0; i < mem->nr_pages; i++) {
		page = alloc_page(gfp | __GFP_ZERO);
		if (!page)
			return -ENOMEM;
		pb->pages[pb->nr_pages++] = page;
	}
	return 0;
}

/*
 * A new zeroed buffer with an id, or NULL.  @gfp decides how hard its
 * pages are looked for; @may_sleep whether the rest (its vmap()) may
 * sleep.
 */
static struct bufpool_buf *bufpool_mem_new(struct bufpool_mem *mem, gfp_t gfp,
					   bool may_sleep)
{
	struct bufpool_page_buf *pb;
	bool need_vmap = !mem->contig && mem->nr_pages > 1;

	if (need_vmap && !may_sleep)
		goto fail;
	pb = kvzalloc(struct_size(pb, pages, mem->nr_pages), gfp);
	if (!pb)
		goto fail;
	if (bufpool_alloc_pages(mem, pb, gfp))
		goto free_pages;
	if (need_vmap) {
		pb->buf.addr = vmap(pb->pages, pb->nr_pages, VM_MAP,
				    PAGE_KERNEL);
		if (!pb->buf.addr)
			goto free_pages;
		pb->vmapped = true;
	} else {
		pb->buf.addr = page_address(pb->pages[0]);
	}
	if (xa_alloc(&mem->ids, &pb->buf.id, &pb->buf, xa_limit_31b, gfp))
		goto free_pages;
	INIT_LIST_HEAD(&pb->buf.node);
	return &pb->buf;

free_pages:
	bufpool_page_buf_free(pb);
fail:
	return NULL;
}

struct bufpool_buf *bufpool_mem_create(struct bufpool_mem *mem, gfp_t gfp)
{
	return bufpool_mem_new(mem, gfp, gfpflags_allow_blocking(gfp));
}

/*
 * A buffer whose pages are allocated without waiting (GFP_NOWAIT).  Unless
 * @may_sleep, a buffer that needs a vmap() (several order-0 pages) cannot
 * be created at all: NULL, as for a failed allocation, and the backend's
 * work creates it.
 */
struct bufpool_buf *bufpool_mem_create_nowait(struct bufpool_mem *mem,
					      bool may_sleep)
{
	return bufpool_mem_new(mem, GFP_NOWAIT | __GFP_NOWARN, may_sleep);
}

/*
 * May be called under the pool lock: the id goes at once, the memory
 * (vunmap() may sleep) when the reaper runs.
 */
void bufpool_mem_destroy(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	struct bufpool_page_buf *pb = to_page_buf(buf);

	xa_erase(&mem->ids, buf->id);
	llist_add(&pb->dead, &mem->dead);
	schedule_work(&mem->reap);
}

/*
 * Free now, in the caller's context (which may sleep), what was destroyed:
 * the shrinker's reclaim wants the pages back before it returns.
 */
void bufpool_mem_reap(struct bufpool_mem *mem)
{
	bufpool_mem_reap_fn(&mem->reap);
}

struct bufpool *bufpool_mem_pool(struct bufpool_mem *mem)
{
	return mem->pool;
}

/* An allocating xarray keeps a NULL entry's index taken: a zero entry. */
void bufpool_mem_hide(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	xa_store(&mem->ids, buf->id, NULL, GFP_NOWAIT);
}

struct bufpool_buf *bufpool_mem_lookup(struct bufpool_mem *mem, u32 id)
{
	return xa_load(&mem->ids, id);
}

/* Through @addr, the alias in-kernel users read; may sleep between pages. */
void bufpool_mem_zero(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	unsigned int i;

	for (i = 0; i < mem->nr_pages; i++) {
		if (i)
			cond_resched();
		memset(buf->addr + i * PAGE_SIZE, 0, PAGE_SIZE);
	}
}

/*
 * Under the pool lock or not: reads reference counts and page flags only.
 * A buffer with a poisoned page is never zeroed nor reused: it takes the
 * quarantine's way, which drops it from the pool.
 */
bool bufpool_mem_busy(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	const struct bufpool_page_buf *pb = to_page_buf(buf);
	unsigned int i;

	/* one look at each page: what both tests above read */
	for (i = 0; i < pb->nr_pages; i++)
		if (page_ref_count(pb->pages[i]) != 1 ||
		    PageHWPoison(pb->pages[i]))
			return true;
	return false;
}

/*
 * Called with the pool lock held: @buf, state QUARANTINED, is the
 * backend's until it gives it back with bufpool_quarantine_done().
 */
void bufpool_mem_quarantine(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	bool first;

	spin_lock(&mem->qlock);
	first = !mem->holds_module;
	if (first) {
		/* the caller's open file or symbol reference keeps it alive */
		__module_get(THIS_MODULE);
		mem->holds_module = true;
	}
	list_add_tail(&buf->node, &mem->quarantine);
	mem->poll_delay = BUFPOOL_QUARANTINE_POLL_MIN;
	mod_delayed_work(system_wq, &mem->poll, mem->poll_delay);
	spin_unlock(&mem->qlock);
	if (first)
		pr_info_ratelimited("buffer %u quarantined: its pages are still referenced elsewhere; the module stays loaded until they are released\n",
				    buf->id);
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
