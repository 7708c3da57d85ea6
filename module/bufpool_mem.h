/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The boundary between the bufpool core and the memory backend.
 *
 * The core (bufpool_core.c) decides who gets a buffer; the backend
 * (bufpool_mem.c in the kernel, a shim in the userspace harness) gives
 * buffers memory and ids, zeroes them, retries after a failed page
 * allocation, and keeps in quarantine the buffers coming back whose memory
 * someone else still references (bufpool_mem_busy()) until it is theirs
 * alone again.  Functions marked "core" are the core's, called back by the
 * backend.
 */
#ifndef _BUFPOOL_MEM_H
#define _BUFPOOL_MEM_H

#include <linux/gfp.h>
#include "bufpool.h"

struct shrinker;

struct bufpool_mem *bufpool_mem_init(struct bufpool *pool, size_t bufsize);
void bufpool_mem_quiesce(struct bufpool_mem *mem);
void bufpool_mem_fini(struct bufpool_mem *mem);
struct bufpool_buf *bufpool_mem_create(struct bufpool_mem *mem, gfp_t gfp);
struct bufpool_buf *bufpool_mem_create_nowait(struct bufpool_mem *mem,
					      bool may_sleep);
void bufpool_mem_destroy(struct bufpool_mem *mem, struct bufpool_buf *buf);
/*
 * Under the pool lock: lookups no longer find @buf, and its id stays
 * taken until bufpool_mem_destroy(), which may then run without the lock.
 */
void bufpool_mem_hide(struct bufpool_mem *mem, struct bufpool_buf *buf);
struct bufpool_buf *bufpool_mem_lookup(struct bufpool_mem *mem, u32 id);
void bufpool_mem_zero(struct bufpool_mem *mem, struct bufpool_buf *buf);
bool bufpool_mem_busy(struct bufpool_mem *mem, struct bufpool_buf *buf);
void bufpool_mem_quarantine(struct bufpool_mem *mem, struct bufpool_buf *buf);
void bufpool_mem_retry_later(struct bufpool_mem *mem);
void bufpool_mem_grow(struct bufpool_mem *mem);

/* bufpool_shrinker.c: the shrinker of a pool's cache (kernel backend) */
struct shrinker *bufpool_shrinker_register(struct bufpool_mem *mem);
void bufpool_shrinker_unregister(struct shrinker *shrinker);
struct bufpool *bufpool_mem_pool(struct bufpool_mem *mem);
void bufpool_mem_reap(struct bufpool_mem *mem);

/* core: create the buffers queued requests wait for (the backend's work) */
void bufpool_grow(struct bufpool *pool);
/* core: a quarantined buffer is the backend's own again: zero, hand on */
void bufpool_quarantine_done(struct bufpool *pool, struct bufpool_buf *buf);
/* core: a quarantined buffer can never be used again: it leaves the pool */
void bufpool_quarantine_drop(struct bufpool *pool, struct bufpool_buf *buf);

#endif /* _BUFPOOL_MEM_H */
