// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducer (run under AddressSanitizer): bufpool_adopt() frees a
 * surplus buffer with bufpool_mem_destroy() after dropping the pool lock,
 * while the buffer is still visible to bufpool_mem_lookup(); a concurrent
 * bufpool_release() naming its id looks it up under the pool lock and
 * reads it after the free.  The same holds for the extra reserve buffers
 * that bufpool_set_tunables() destroys after unlocking.  Two hooks in the
 * userspace backend pin the interleaving, so it is deterministic:
 *
 *   retry worker                          releaser
 *   create buffer (id N, published)
 *   adopt: pool at its limit, unlock
 *   destroy(N) ... waits                  release(id N): lock, lookup(N)
 *   ... frees N                           ... reads N->state: use after free
 *
 * Exits 0 when the core no longer does this.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/err.h>
#include "harness.h"

static struct bufpool *pool;
static u32 victim;
static int step;		/* 1: about to destroy, 2: looked up, 3: freed */
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void set_step(int s)
{
	pthread_mutex_lock(&m);
	step = s;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&m);
}

static bool wait_step(int s)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	pthread_mutex_lock(&m);
	while (step < s && ret == 0)
		ret = pthread_cond_timedwait(&cv, &m, &ts);
	pthread_mutex_unlock(&m);
	return step >= s;
}

static void destroy_hook(struct bufpool_buf *buf)
{
	if (buf->id != victim || step)
		return;
	set_step(1);
	/* with the fix the releaser is blocked on the pool lock: time out */
	wait_step(2);
}

static void lookup_hook(u32 id, struct bufpool_buf *buf)
{
	if (id != victim || step != 1 || !buf)
		return;
	set_step(2);
	wait_step(3);
}

static void *retry_worker(void *arg)
{
	(void)arg;
	bp_mem_run_retry(bp_pool_mem(pool));
	set_step(3);
	return NULL;
}

static void nop_wake(struct bufpool_waiter *w)
{
}

int main(void)
{
	struct bufpool_config cfg = { .limit = 1, .reserve = 0, .bufsize = 64 };
	struct bufpool_entity a, b;
	struct bufpool_buf *buf;
	pthread_t t;
	int ret;

	pool = bufpool_create(&cfg);
	bufpool_entity_init(pool, &a, nop_wake, NULL);
	bufpool_entity_init(pool, &b, nop_wake, NULL);
	if (bufpool_alloc(&a, BUFPOOL_CLASS_NORMAL, 1, 0, &buf))
		return 2;
	victim = buf->id + 1;		/* the id the retry's buffer gets */
	bp_mem_destroy_hook = destroy_hook;
	bp_mem_lookup_hook = lookup_hook;

	/* a retry is pending (from an earlier failure) while the pool is full */
	bufpool_mem_retry_later(bp_pool_mem(pool));
	pthread_create(&t, NULL, retry_worker, NULL);
	if (!wait_step(1))
		return 2;
	ret = bufpool_release(&b, &victim, 1);	/* reads freed memory */
	pthread_join(t, NULL);
	printf("repro: release of the surplus buffer's id returned %d%s\n",
	       ret, step == 3 ? "" : " (no use after free window)");
	bp_mem_destroy_hook = NULL;
	bp_mem_lookup_hook = NULL;
	bufpool_entity_destroy(&a);
	bufpool_entity_destroy(&b);
	bufpool_destroy(pool);
	return 0;
}
