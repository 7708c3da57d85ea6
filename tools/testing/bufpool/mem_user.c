// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace memory backend of the bufpool core (implements bufpool_mem.h):
 * malloc'd buffers, a table from id to buffer that hands out the lowest
 * free id like the kernel's allocating xarray, zeroing, failure injection,
 * and the kernel's work item (run now to grow the pool for a queue head,
 * or later after a failure) recorded as a pending flag that the test runs
 * when it chooses with bp_mem_run_retry(), which calls bufpool_grow().
 * References others hold on a buffer's memory (the kernel's pins, pipe
 * buffers, skbs) are a count per id that the test sets with bp_mem_pin();
 * the quarantine is a list the test polls with bp_mem_run_quarantine(),
 * as the kernel's delayed work would.  Zeroing or destroying a buffer
 * that is pinned is a WARN_ON: it is what the quarantine exists to
 * prevent.
 *
 * Its own mutex makes it safe to call with or without the pool lock, from
 * any thread; lock order is pool->lock, then mem->lock.  Creating and
 * zeroing a buffer under a spinlock (the pool lock) aborts: in the kernel
 * that is a page allocation and a memset of up to 4 MiB with preemption
 * off.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <linux/err.h>
#include <linux/slab.h>
#include "harness.h"

struct bufpool_mem {
	struct bufpool *pool;
	size_t bufsize;
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t idle;		/* a retry finished running */
	struct bufpool_buf **ids;	/* id -> buffer, NULL if free */
	unsigned int *pins;		/* id -> references held elsewhere */
	struct list_head quarantine;	/* buffers given by the core */
	unsigned int nr_quarantined;
	bool *hidden;			/* id taken, not found by lookups */
	u32 nr_ids;			/* slots in @ids */
	u32 id_end;			/* one past the highest id ever used */
	bool fail_nowait;		/* GFP_NOWAIT creations fail */
	bool fail_kernel;		/* sleeping creations fail */
	unsigned int fail_next;		/* fail that many next creations */
	unsigned int fail_permille;	/* fail at random, this often */
	unsigned int seed;
	bool retry_pending;
	unsigned int retry_running;
	struct bp_mem_stats st;
};

/*
 * Test hooks: run inside lookup (after finding), destroy (before it) and
 * create (before it, never under the pool lock).
 */
void (*bp_mem_lookup_hook)(u32 id, struct bufpool_buf *buf);
void (*bp_mem_create_hook)(void);
void (*bp_mem_destroy_hook)(struct bufpool_buf *buf);

struct bufpool_mem *bufpool_mem_init(struct bufpool *pool, size_t bufsize)
{
	struct bufpool_mem *mem = calloc(1, sizeof(*mem));

	if (!mem)
		return ERR_PTR(-ENOMEM);
	mem->pool = pool;
	mem->bufsize = bufsize;
	pthread_mutex_init(&mem->lock, NULL);
	pthread_cond_init(&mem->idle, NULL);
	INIT_LIST_HEAD(&mem->quarantine);
	return mem;
}

/* Like cancel_delayed_work_sync(): no retry pending or running after. */
void bufpool_mem_quiesce(struct bufpool_mem *mem)
{
	/* the kernel waits for the pins to go: here, they must be gone */
	bp_mem_run_quarantine(mem);
	pthread_mutex_lock(&mem->lock);
	WARN_ON(mem->nr_quarantined);
	mem->retry_pending = false;
	while (mem->retry_running)
		pthread_cond_wait(&mem->idle, &mem->lock);
	pthread_mutex_unlock(&mem->lock);
}

void bufpool_mem_fini(struct bufpool_mem *mem)
{
	bufpool_mem_quiesce(mem);
	WARN_ON(mem->st.live);
	free(mem->ids);
	free(mem->pins);
	free(mem->hidden);
	pthread_mutex_destroy(&mem->lock);
	pthread_cond_destroy(&mem->idle);
	free(mem);
}

static bool bp_mem_should_fail(struct bufpool_mem *mem, gfp_t gfp)
{
	if (mem->fail_next) {
		mem->fail_next--;
		return true;
	}
	if (gfpflags_allow_blocking(gfp) ? mem->fail_kernel : mem->fail_nowait)
		return true;
	if (mem->fail_permille)
		return (unsigned int)rand_r(&mem->seed) % 1000 < mem->fail_permille;
	return false;
}

static int bp_mem_get_id(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	struct bufpool_buf **ids;
	unsigned int *pins;
	bool *hidden;
	u32 id, n;

	for (id = 0; id < mem->nr_ids; id++)
		if (!mem->ids[id])
			goto found;
	n = mem->nr_ids ? 2 * mem->nr_ids : 16;
	ids = realloc(mem->ids, n * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	memset(ids + mem->nr_ids, 0, (n - mem->nr_ids) * sizeof(*ids));
	mem->ids = ids;
	pins = realloc(mem->pins, n * sizeof(*pins));
	if (!pins)
		return -ENOMEM;
	memset(pins + mem->nr_ids, 0, (n - mem->nr_ids) * sizeof(*pins));
	mem->pins = pins;
	hidden = realloc(mem->hidden, n * sizeof(*hidden));
	if (!hidden)
		return -ENOMEM;
	memset(hidden + mem->nr_ids, 0, (n - mem->nr_ids) * sizeof(*hidden));
	mem->hidden = hidden;
	id = mem->nr_ids;
	mem->nr_ids = n;
found:
	mem->ids[id] = buf;
	mem->pins[id] = 0;
	buf->id = id;
	if (id >= mem->id_end)
		mem->id_end = id + 1;
	return 0;
}

struct bufpool_buf *bufpool_mem_create(struct bufpool_mem *mem, gfp_t gfp)
{
	struct bufpool_buf *buf = NULL;

	if (bp_spinlocks_held)
		bp_fatal(__FILE__, __LINE__, "buffer created under a spinlock");
	if (bp_mem_create_hook)
		bp_mem_create_hook();
	pthread_mutex_lock(&mem->lock);
	if (bp_mem_should_fail(mem, gfp)) {
		mem->st.create_failures++;
		goto out;
	}
	buf = calloc(1, sizeof(*buf));
	if (!buf)
		goto out;
	buf->addr = calloc(1, mem->bufsize);
	if (!buf->addr || bp_mem_get_id(mem, buf)) {
		free(buf->addr);
		free(buf);
		buf = NULL;
		goto out;
	}
	INIT_LIST_HEAD(&buf->node);
	mem->st.creates++;
	mem->st.live++;
out:
	pthread_mutex_unlock(&mem->lock);
	return buf;
}

/* The kernel's may not vmap() without sleeping: no such limit here. */
struct bufpool_buf *bufpool_mem_create_nowait(struct bufpool_mem *mem,
					      bool may_sleep)
{
	return bufpool_mem_create(mem, GFP_NOWAIT | __GFP_NOWARN);
}

void bufpool_mem_destroy(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	if (bp_mem_destroy_hook)
		bp_mem_destroy_hook(buf);
	pthread_mutex_lock(&mem->lock);
	if (WARN_ON(buf->id >= mem->nr_ids || mem->ids[buf->id] != buf)) {
		pthread_mutex_unlock(&mem->lock);
		return;
	}
	WARN_ON(mem->pins[buf->id]);
	mem->ids[buf->id] = NULL;
	mem->hidden[buf->id] = false;
	mem->st.destroys++;
	mem->st.live--;
	pthread_mutex_unlock(&mem->lock);
	free(buf->addr);
	free(buf);
}

/*
 * Hidden buffers keep their slot (their id is not handed out again) but
 * lookups no longer find them, like a zero entry of the allocating xarray.
 */
void bufpool_mem_hide(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	if (!bp_pool_locked(mem->pool))
		bp_fatal(__FILE__, __LINE__, "buffer hidden without the pool lock");
	pthread_mutex_lock(&mem->lock);
	if (!WARN_ON(buf->id >= mem->nr_ids || mem->ids[buf->id] != buf ||
		     mem->hidden[buf->id])) {
		mem->hidden[buf->id] = true;
		mem->st.hides++;
	}
	pthread_mutex_unlock(&mem->lock);
}

struct bufpool_buf *bufpool_mem_lookup(struct bufpool_mem *mem, u32 id)
{
	struct bufpool_buf *buf = NULL;

	pthread_mutex_lock(&mem->lock);
	if (id < mem->nr_ids && !mem->hidden[id])
		buf = mem->ids[id];
	pthread_mutex_unlock(&mem->lock);
	if (bp_mem_lookup_hook)
		bp_mem_lookup_hook(id, buf);
	return buf;
}

void bufpool_mem_zero(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	if (bp_spinlocks_held)
		bp_fatal(__FILE__, __LINE__, "buffer zeroed under a spinlock");
	pthread_mutex_lock(&mem->lock);
	WARN_ON(mem->pins[buf->id]);
	pthread_mutex_unlock(&mem->lock);
	memset(buf->addr, 0, mem->bufsize);
	pthread_mutex_lock(&mem->lock);
	mem->st.zeroes++;
	pthread_mutex_unlock(&mem->lock);
}

bool bufpool_mem_busy(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	bool busy;

	pthread_mutex_lock(&mem->lock);
	busy = mem->pins[buf->id] != 0;
	pthread_mutex_unlock(&mem->lock);
	return busy;
}

/* Called with the pool lock held. */
void bufpool_mem_quarantine(struct bufpool_mem *mem, struct bufpool_buf *buf)
{
	pthread_mutex_lock(&mem->lock);
	WARN_ON(buf->state != BUFPOOL_BUF_QUARANTINED);
	list_add_tail(&buf->node, &mem->quarantine);
	mem->nr_quarantined++;
	mem->st.quarantined++;
	pthread_mutex_unlock(&mem->lock);
}

/* What the kernel's poll does: give back each buffer no longer pinned. */
unsigned int bp_mem_run_quarantine(struct bufpool_mem *mem)
{
	struct bufpool_buf *buf, *tmp;
	unsigned int n = 0;
	LIST_HEAD(back);

	if (bp_spinlocks_held)
		bp_fatal(__FILE__, __LINE__, "quarantine polled under a spinlock");
	pthread_mutex_lock(&mem->lock);
	list_for_each_entry_safe(buf, tmp, &mem->quarantine, node) {
		if (mem->pins[buf->id])
			continue;
		list_move_tail(&buf->node, &back);
		mem->nr_quarantined--;
	}
	pthread_mutex_unlock(&mem->lock);
	list_for_each_entry_safe(buf, tmp, &back, node) {
		list_del_init(&buf->node);
		bufpool_quarantine_done(mem->pool, buf);
		n++;
	}
	return n;
}

unsigned int bp_mem_quarantined(struct bufpool_mem *mem)
{
	unsigned int n;

	pthread_mutex_lock(&mem->lock);
	n = mem->nr_quarantined;
	pthread_mutex_unlock(&mem->lock);
	return n;
}

/* Take (@delta > 0) or drop references to @buf's memory, as others would. */
void bp_mem_pin(struct bufpool_mem *mem, struct bufpool_buf *buf, int delta)
{
	pthread_mutex_lock(&mem->lock);
	if (!WARN_ON(buf->id >= mem->nr_ids || mem->ids[buf->id] != buf ||
		     (int)mem->pins[buf->id] + delta < 0))
		mem->pins[buf->id] += delta;
	pthread_mutex_unlock(&mem->lock);
}

/* Called with the pool lock held, like schedule_delayed_work(). */
void bufpool_mem_retry_later(struct bufpool_mem *mem)
{
	pthread_mutex_lock(&mem->lock);
	mem->retry_pending = true;
	mem->st.retries_scheduled++;
	pthread_mutex_unlock(&mem->lock);
}

/* The same work item, asked to run now: one pending flag for both. */
void bufpool_mem_grow(struct bufpool_mem *mem)
{
	pthread_mutex_lock(&mem->lock);
	mem->retry_pending = true;
	mem->st.grows_scheduled++;
	pthread_mutex_unlock(&mem->lock);
}

/* Run the pending retry as the kernel's work item would: no pool lock. */
bool bp_mem_run_retry(struct bufpool_mem *mem)
{
	pthread_mutex_lock(&mem->lock);
	if (!mem->retry_pending) {
		pthread_mutex_unlock(&mem->lock);
		return false;
	}
	mem->retry_pending = false;
	mem->retry_running++;
	mem->st.retries_run++;
	pthread_mutex_unlock(&mem->lock);

	bufpool_grow(mem->pool);

	pthread_mutex_lock(&mem->lock);
	mem->retry_running--;
	pthread_cond_broadcast(&mem->idle);
	pthread_mutex_unlock(&mem->lock);
	return true;
}

bool bp_mem_retry_pending(struct bufpool_mem *mem)
{
	bool ret;

	pthread_mutex_lock(&mem->lock);
	ret = mem->retry_pending;
	pthread_mutex_unlock(&mem->lock);
	return ret;
}

void bp_mem_fail_nowait(struct bufpool_mem *mem, bool on)
{
	pthread_mutex_lock(&mem->lock);
	mem->fail_nowait = on;
	pthread_mutex_unlock(&mem->lock);
}

void bp_mem_fail_kernel(struct bufpool_mem *mem, bool on)
{
	pthread_mutex_lock(&mem->lock);
	mem->fail_kernel = on;
	pthread_mutex_unlock(&mem->lock);
}

void bp_mem_fail_next(struct bufpool_mem *mem, unsigned int n)
{
	pthread_mutex_lock(&mem->lock);
	mem->fail_next = n;
	pthread_mutex_unlock(&mem->lock);
}

void bp_mem_fail_rate(struct bufpool_mem *mem, unsigned int permille,
		      unsigned int seed)
{
	pthread_mutex_lock(&mem->lock);
	mem->fail_permille = permille;
	mem->seed = seed;
	pthread_mutex_unlock(&mem->lock);
}

void bp_mem_get_stats(struct bufpool_mem *mem, struct bp_mem_stats *st)
{
	pthread_mutex_lock(&mem->lock);
	*st = mem->st;
	pthread_mutex_unlock(&mem->lock);
}

u32 bp_mem_id_end(struct bufpool_mem *mem)
{
	u32 n;

	pthread_mutex_lock(&mem->lock);
	n = mem->id_end;
	pthread_mutex_unlock(&mem->lock);
	return n;
}

bool bp_mem_zeroed(struct bufpool_mem *mem, const struct bufpool_buf *buf)
{
	const unsigned char *p = buf->addr;

	/* all zero iff the first byte is and every byte equals the next */
	return !p[0] && !memcmp(p, p + 1, mem->bufsize - 1);
}
