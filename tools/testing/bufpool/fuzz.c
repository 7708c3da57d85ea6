// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the input bytes are a pool configuration and a
 * sequence of operations by four entities (alloc, collect, release,
 * bogus release, cancel, destroy, memory failure on/off, memory retry,
 * limit/reserve change, shrink as memory pressure does).  After every step it checks: every invariant of
 * bp_check() (in_use + cached = owned, no buffer with two owners, exact
 * queue accounting, no queued head that could be served = no lost
 * wake-up); FIFO order in each class queue; one wake-up per grant and
 * none without; no grant beyond the budget; the reserve kept from the
 * non-critical classes; failed calls change nothing; buffers handed out
 * zeroed.  Any violation aborts, which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/err.h>
#include <linux/minmax.h>
#include "harness.h"

#define NE	4
#define MAXID	64

struct fent {
	struct bufpool_entity e;
	unsigned int wakes;
	unsigned int owed;		/* ->notify() calls not yet woken */
	unsigned long long seq;		/* when it joined its queue */
};

static struct {
	struct bufpool *pool;
	struct bufpool_mem *mem;
	struct fent f[NE];
	unsigned long long seq;
	unsigned int cached_seen;	/* nr_cached at the last look */
	bool tuned;			/* limit/reserve changed: relax */
	bool in_tune;			/* inside bufpool_set_tunables() */
	u8 id_class[MAXID];		/* class each held id was taken for */
} F;

#define BUG_IF(cond, fmt, ...) do {					\
	if (cond) {							\
		fprintf(stderr, "fuzz: %s:%d: " fmt "\n", __FILE__,	\
			__LINE__, ##__VA_ARGS__);			\
		abort();						\
	}								\
} while (0)

/* At the change of state, under the pool lock. */
static void f_notify(struct bufpool_waiter *w)
{
	struct fent *f = w->target;
	struct bp_snap s;

	BUG_IF(!bp_pool_locked(F.pool), "->notify() without the pool lock");
	bp_snapshot(F.pool, &s);
	if (w->state == BUFPOOL_WAIT_GRANTED && !F.in_tune) {
		BUG_IF(s.in_use + s.headroom[w->class] > s.limit,
		       "grant beyond the budget: in_use %u + headroom %u > limit %u",
		       s.in_use, s.headroom[w->class], s.limit);
		BUG_IF(w->class != BUFPOOL_CLASS_CRITICAL &&
		       s.nr_cached < min(s.reserve, F.cached_seen),
		       "%s grant ate the reserve: cached %u (was %u) reserve %u",
		       bp_class_name(w->class), s.nr_cached, F.cached_seen,
		       s.reserve);
	}
	F.cached_seen = s.nr_cached;
	f->owed++;
}

/* Once the lock is dropped, one per ->notify(). */
static void f_wake(struct bufpool_waiter *w)
{
	struct fent *f = w->target;

	BUG_IF(bp_pool_locked(F.pool), "->wake() with the pool lock held");
	BUG_IF(!f->owed, "->wake() without a ->notify() before it");
	f->owed--;
	f->wakes++;
}

static unsigned int nr_held_all(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < NE; i++)
		n += F.f[i].e.nr_held;
	return n;
}

static void check_all(const char *op)
{
	struct bufpool_entity *ents[NE], *q[NE + 1];
	unsigned long long last;
	struct bufpool_buf *buf;
	unsigned int i, c, n, crit = 0;
	struct bp_snap s;
	char why[256];

	for (i = 0; i < NE; i++)
		ents[i] = &F.f[i].e;
	BUG_IF(bp_check(F.pool, ents, NE, BP_CHECK_QUIESCENT | BP_CHECK_ZERO |
			BP_CHECK_WAKEUP, why, sizeof(why)),
	       "after %s: %s", op, why);
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		n = bp_queue_walk(F.pool, c, q, NE + 1);
		BUG_IF(n > NE, "queue longer than the entities");
		for (i = 0, last = 0; i < n; i++) {
			struct fent *f = container_of(q[i], struct fent, e);

			BUG_IF(f->seq <= last, "after %s: %s queue not FIFO",
			       op, bp_class_name(c));
			last = f->seq;
		}
	}
	bp_snapshot(F.pool, &s);
	F.cached_seen = s.nr_cached;
	if (F.tuned)
		return;
	BUG_IF(s.in_use > s.limit || s.nr_alloc > s.limit,
	       "after %s: in_use %u allocated %u above limit %u", op,
	       s.in_use, s.nr_alloc, s.limit);
	/* only CRITICAL holders may have eaten into the reserve's memory */
	for (i = 0; i < NE; i++) {
		struct bufpool_waiter *w = &F.f[i].e.waiter;

		list_for_each_entry(buf, &F.f[i].e.held, node)
			crit += F.id_class[buf->id] == BUFPOOL_CLASS_CRITICAL;
		if (w->state == BUFPOOL_WAIT_GRANTED &&
		    w->class == BUFPOOL_CLASS_CRITICAL)
			crit += w->count;
	}
	BUG_IF(s.nr_cached + crit < s.reserve,
	       "after %s: cached %u + critical-held %u below reserve %u", op,
	       s.nr_cached, crit, s.reserve);
}

static void got(struct fent *f, struct bufpool_buf **bufs, unsigned int n,
		unsigned int class)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		BUG_IF(!bp_mem_zeroed(F.mem, bufs[i]), "buffer %u dirty",
		       bufs[i]->id);
		BUG_IF(bufs[i]->owner != &f->e, "buffer %u wrong owner",
		       bufs[i]->id);
		BUG_IF(bufs[i]->id >= MAXID, "id %u too large", bufs[i]->id);
		F.id_class[bufs[i]->id] = class;
		memset(bufs[i]->addr, 0xc3, 32);
	}
}

static void op_alloc(struct fent *f, unsigned int p, bool collect)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_waiter *w = &f->e.waiter;
	unsigned int class = p % 3, count = 1 + (p >> 2) % 4;
	unsigned int flags = (p >> 4) & 1 ? BUFPOOL_ALLOC_NOQUEUE : 0;
	unsigned int before = w->state, wc = w->class, wn = w->count;
	struct bp_snap s0, s1;
	int ret;

	if (collect && before != BUFPOOL_WAIT_IDLE) {
		class = w->class;
		count = w->count;
	}
	bp_snapshot(F.pool, &s0);
	ret = bufpool_alloc(&f->e, class, count, flags, bufs);
	bp_snapshot(F.pool, &s1);
	switch (before) {
	case BUFPOOL_WAIT_IDLE:
		if (ret == 0) {
			got(f, bufs, count, class);
			if (F.tuned)
				break;
			BUG_IF(s1.in_use + s1.headroom[class] > s1.limit,
			       "served beyond the budget");
			BUG_IF(class && s1.nr_cached < min(s0.reserve, s0.nr_cached),
			       "%s alloc ate the reserve", bp_class_name(class));
		} else if (ret == -EAGAIN && w->state == BUFPOOL_WAIT_QUEUED) {
			BUG_IF(flags, "NOQUEUE request queued");
			f->seq = ++F.seq;
		} else {
			BUG_IF(ret != -EAGAIN && ret != -ENOSPC &&
			       ret != -EDEADLK && ret != -EPERM, "alloc: %d", ret);
			BUG_IF(w->state != BUFPOOL_WAIT_IDLE, "failed alloc left state %u",
			       w->state);
			BUG_IF(s0.in_use != s1.in_use || s0.allocations != s1.allocations,
			       "failed alloc changed the pool");
			if (ret == -ENOSPC)
				BUG_IF(count + s0.headroom[class] <= s0.limit,
				       "-ENOSPC for a request that fits the limit");
			/* no account: its side is the entity */
			if (ret == -EDEADLK)
				BUG_IF(f->e.nr_held + count + s0.headroom[class] <=
				       s0.limit,
				       "-EDEADLK for a request its holdings let fit");
			if (ret == -EPERM)
				BUG_IF(class != BUFPOOL_CLASS_CRITICAL ||
				       f->e.critical_exempt ||
				       f->e.nr_held >= 2 * f->e.nr_critical + count,
				       "-EPERM for a CRITICAL request the rule allows");
			if (ret == -EAGAIN && !flags)
				BUG_IF(1, "-EAGAIN without queueing");
		}
		break;
	case BUFPOOL_WAIT_QUEUED:
		BUG_IF(ret != (class == wc && count == wn ? -EAGAIN : -EBUSY),
		       "alloc while queued: %d", ret);
		break;
	case BUFPOOL_WAIT_GRANTED:
		if (class == wc && count == wn) {
			BUG_IF(ret, "collect of a grant: %d", ret);
			got(f, bufs, count, class);
		} else {
			BUG_IF(ret != -EBUSY, "alloc while granted: %d", ret);
		}
		break;
	case BUFPOOL_WAIT_FAILED:
		/* only the request that failed collects the failure */
		if (class == wc && count == wn)
			BUG_IF(ret != -ENOSPC && ret != -EDEADLK,
			       "failed request collected: %d", ret);
		else
			BUG_IF(ret != -EBUSY, "another request than the failed one: %d",
			       ret);
		break;
	}
}

static void op_release(struct fent *f, unsigned int mask)
{
	struct bufpool_buf *buf;
	u32 ids[BUFPOOL_ALLOC_MAX];
	unsigned int n = 0, i = 0, held = f->e.nr_held;
	int ret;

	list_for_each_entry(buf, &f->e.held, node)
		if (mask & (1u << (i++ % 8)))
			ids[n++] = buf->id;
	if (!n)
		return;
	ret = bufpool_release(&f->e, ids, n);
	BUG_IF(ret, "release of %u held: %d", n, ret);
	BUG_IF(f->e.nr_held != held - n, "release did not release");
}

static void op_bogus(struct fent *f, unsigned int p)
{
	unsigned int held = nr_held_all(), n = 1;
	struct bufpool_buf *buf;
	struct bp_snap s0, s1;
	u32 ids[2], bad = p % 24;
	int ret, want;

	buf = bufpool_mem_lookup(F.mem, bad);
	if (getenv("FUZZ_DEBUG") && buf)
		fprintf(stderr, "bogus: id %u state %u owner %p (me %p)\n",
			bad, buf->state, buf->owner, &f->e);
	ids[0] = bad;
	if (buf && buf->state == BUFPOOL_BUF_HELD && buf->owner == &f->e) {
		if (!(p & 0x80))
			return;
		ids[1] = bad;			/* listed twice */
		n = 2;
		want = -EINVAL;
	} else {
		/* granted but not collected is held by nobody */
		want = buf && buf->state == BUFPOOL_BUF_HELD &&
		       buf->owner != &f->e ? -EPERM : -ENOENT;
		if ((p & 0x40) && f->e.nr_held) {
			/* a valid id first: still all or nothing */
			ids[0] = list_first_entry(&f->e.held,
						  struct bufpool_buf, node)->id;
			ids[1] = bad;
			n = 2;
		}
	}
	bp_snapshot(F.pool, &s0);
	ret = bufpool_release(&f->e, ids, n);
	bp_snapshot(F.pool, &s1);
	BUG_IF(ret != want, "bogus release of id %u: %d, want %d", bad, ret,
	       want);
	BUG_IF(memcmp(&s0, &s1, sizeof(s0)) || nr_held_all() != held,
	       "failed release changed something");
}

static void op_tune(unsigned int p)
{
	struct bufpool_tunables t;
	const char *why;

	bufpool_get_tunables(F.pool, &t);
	t.limit = 1 + p % 5;
	t.reserve = (p >> 3) % t.limit;
	bufpool_default_headroom(&t);
	F.tuned = true;
	F.in_tune = true;
	bufpool_set_tunables(F.pool, &t, &why);
	F.in_tune = false;
}

/* Memory pressure: cached buffers go, never below the reserve. */
static void op_shrink(unsigned int p)
{
	struct bp_snap s0, s1;
	unsigned int n;

	bp_snapshot(F.pool, &s0);
	n = bufpool_shrink(F.pool, p % 4);
	bp_snapshot(F.pool, &s1);
	BUG_IF(n > p % 4 || s1.nr_cached != s0.nr_cached - n ||
	       s1.nr_alloc != s0.nr_alloc - n || s1.in_use != s0.in_use,
	       "shrink of %u took %u: cached %u -> %u, allocated %u -> %u",
	       p % 4, n, s0.nr_cached, s1.nr_cached, s0.nr_alloc,
	       s1.nr_alloc);
	BUG_IF(n && s1.nr_cached < s1.reserve,
	       "shrink went below the reserve: cached %u reserve %u",
	       s1.nr_cached, s1.reserve);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct bufpool_config cfg = { .bufsize = 64 };
	size_t pos = 2;
	unsigned int i;

	if (size < 2)
		return 0;
	bp_warn_fatal = true;
	memset(&F, 0, sizeof(F));
	cfg.limit = 1 + data[0] % 4;
	cfg.reserve = data[1] % cfg.limit;
	F.pool = bufpool_create(&cfg);
	BUG_IF(IS_ERR(F.pool), "create");
	F.mem = bp_pool_mem(F.pool);
	for (i = 0; i < NE; i++) {
		bufpool_entity_init(F.pool, &F.f[i].e, f_wake, &F.f[i]);
		F.f[i].e.waiter.notify = f_notify;
		F.f[i].e.critical_exempt = i < 2;
	}
	check_all("create");

	while (pos + 1 < size) {
		struct fent *f = &F.f[data[pos] & 3];
		unsigned int op = (data[pos] >> 2) % 13, p = data[pos + 1];
		unsigned int st[NE], wk[NE], k;
		static const char *const names[] = {
			"alloc", "alloc", "alloc", "alloc", "collect",
			"release", "bogus release", "cancel", "destroy",
			"memory failure", "memory retry", "tune", "shrink" };

		pos += 2;
		for (k = 0; k < NE; k++) {
			st[k] = F.f[k].e.waiter.state;
			wk[k] = F.f[k].wakes;
		}
		switch (op) {
		case 0 ... 3:
			op_alloc(f, p, false);
			break;
		case 4:
			op_alloc(f, p, true);
			break;
		case 5:
			op_release(f, p);
			break;
		case 6:
			op_bogus(f, p);
			break;
		case 7: {
			bool had = st[f - F.f] != BUFPOOL_WAIT_IDLE;
			int ret = bufpool_cancel(&f->e);

			BUG_IF(ret != (had ? 0 : -ENOENT), "cancel: %d", ret);
			break;
		}
		case 8:
			bufpool_entity_destroy(&f->e);
			bufpool_entity_init(F.pool, &f->e, f_wake, f);
			f->e.waiter.notify = f_notify;
			f->e.critical_exempt = f - F.f < 2;
			break;
		case 9:
			bp_mem_fail_nowait(F.mem, p & 1);
			bp_mem_fail_kernel(F.mem, p & 2);
			break;
		case 10:
			bp_mem_run_retry(F.mem);
			break;
		case 11:
			op_tune(p);
			break;
		case 12:
			op_shrink(p);
			break;
		}
		/* exactly one wake-up per grant (or failure), none otherwise */
		for (k = 0; k < NE; k++) {
			unsigned int now = F.f[k].e.waiter.state;
			bool served = st[k] == BUFPOOL_WAIT_QUEUED &&
				      (now == BUFPOOL_WAIT_GRANTED ||
				       now == BUFPOOL_WAIT_FAILED);

			BUG_IF(F.f[k].wakes - wk[k] != served,
			       "after %s: entity %u woken %u times, state %u -> %u",
			       names[op], k, F.f[k].wakes - wk[k], st[k], now);
			/* woken by the time the call that granted returns */
			BUG_IF(F.f[k].owed, "after %s: entity %u owed %u wake-ups",
			       names[op], k, F.f[k].owed);
		}
		check_all(names[op]);
	}

	for (i = 0; i < NE; i++)
		bufpool_entity_destroy(&F.f[i].e);
	bufpool_destroy(F.pool);
	return 0;
}
