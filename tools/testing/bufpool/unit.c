// SPDX-License-Identifier: GPL-2.0
/*
 * Deterministic unit tests of the bufpool core rules: limit, class
 * headrooms and reserve memory, all-or-none N, FIFO per class, no
 * barging, class priority, exact hand-off, cancel racing with a grant,
 * entity destroy, release errors, -ENOSPC, -EBUSY, memory failure and
 * retry.  Every step is followed by the full invariant check; every test
 * ends with no leak and no WARN_ON.  Prints one line per test and closes
 * with "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/err.h>
#include <linux/timekeeping.h>
#include "harness.h"

#define NR_ENTS 8

struct tent {
	struct bufpool_entity e;
	bool live;
	unsigned int wakes;		/* ->wake() calls */
	unsigned int owed;		/* ->notify() calls not yet woken */
	unsigned int wake_seq;		/* global order of the last one */
	unsigned int wake_state;	/* waiter state seen by ->notify() */
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
};

static struct {
	struct bufpool *pool;
	struct bufpool_mem *mem;
	struct tent t[NR_ENTS];
	unsigned int wake_seq;
	unsigned int wakes;
} T;

static int t_failed;	/* survives setup() */

#define FAIL(fmt, ...) do {						\
	fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__,	\
		##__VA_ARGS__);						\
	t_failed = 1;							\
} while (0)

#define EXPECT(c) do { if (!(c)) FAIL("EXPECT(%s)", #c); } while (0)

#define EXPECT_EQ(a, b) do {						\
	long long __a = (long long)(a), __b = (long long)(b);		\
	if (__a != __b)							\
		FAIL("%s == %lld, expected %s == %lld", #a, __a, #b, __b); \
} while (0)

/* At the change of state, under the pool lock. */
static void t_notify(struct bufpool_waiter *w)
{
	struct tent *t = w->target;
	struct bp_snap s;

	if (!bp_pool_locked(T.pool))
		FAIL("->notify() called without the pool lock");
	bp_snapshot(T.pool, &s);
	if (w->state == BUFPOOL_WAIT_GRANTED &&
	    s.in_use + s.headroom[w->class] > s.limit)
		FAIL("grant beyond the budget: in_use %u headroom %u limit %u",
		     s.in_use, s.headroom[w->class], s.limit);
	t->owed++;
	t->wake_state = w->state;
}

/* Once the lock is dropped: one call per ->notify(), in its order. */
static void t_wake(struct bufpool_waiter *w)
{
	struct tent *t = w->target;

	if (bp_pool_locked(T.pool))
		FAIL("->wake() called with the pool lock held");
	if (!t->owed)
		FAIL("->wake() without a ->notify() before it");
	else
		t->owed--;
	t->wakes++;
	t->wake_seq = ++T.wake_seq;
	T.wakes++;
}

static void check_at(int line)
{
	struct bufpool_entity *ents[NR_ENTS];
	unsigned int i, n = 0;
	char why[256];

	for (i = 0; i < NR_ENTS; i++) {
		if (!T.t[i].live)
			continue;
		ents[n++] = &T.t[i].e;
		if (T.t[i].owed) {
			fprintf(stderr, "  line %d: entity %u: %u ->notify() not woken\n",
				line, i, T.t[i].owed);
			t_failed = 1;
		}
	}
	if (bp_check(T.pool, ents, n, BP_CHECK_QUIESCENT | BP_CHECK_ZERO |
		     BP_CHECK_WAKEUP, why, sizeof(why))) {
		fprintf(stderr, "  line %d: invariant: %s\n", line, why);
		t_failed = 1;
	}
}
#define CHECK() check_at(__LINE__)

static void setup(unsigned int limit, unsigned int reserve)
{
	struct bufpool_config cfg = { .limit = limit, .reserve = reserve,
				      .bufsize = 64 };
	unsigned int i;

	memset(&T, 0, sizeof(T));
	T.pool = bufpool_create(&cfg);
	if (IS_ERR(T.pool)) {
		fprintf(stderr, "bufpool_create: %ld\n", PTR_ERR(T.pool));
		exit(2);
	}
	T.mem = bp_pool_mem(T.pool);
	for (i = 0; i < NR_ENTS; i++) {
		bufpool_entity_init(T.pool, &T.t[i].e, t_wake, &T.t[i]);
		T.t[i].e.waiter.notify = t_notify;
		/* most tests are about the classes, not who may use them */
		T.t[i].e.critical_exempt = true;
		T.t[i].live = true;
	}
	CHECK();
}

static void teardown(void)
{
	unsigned int i;

	CHECK();
	for (i = 0; i < NR_ENTS; i++)
		if (T.t[i].live)
			bufpool_entity_destroy(&T.t[i].e);
	bufpool_destroy(T.pool);
}

/* Alloc for entity @i; on success scribble on the buffers. */
static int A(unsigned int i, unsigned int class, unsigned int count)
{
	int ret = bufpool_alloc(&T.t[i].e, class, count, 0, T.t[i].bufs);
	unsigned int k;

	if (!ret)
		for (k = 0; k < count; k++)
			memset(T.t[i].bufs[k]->addr, 0xa5, 64);
	CHECK();
	return ret;
}

/* Alloc for entity @i with @flags. */
static int A_flags(unsigned int i, unsigned int class, unsigned int count,
		   unsigned int flags)
{
	int ret = bufpool_alloc(&T.t[i].e, class, count, flags, T.t[i].bufs);

	CHECK();
	return ret;
}

static int A_noq(unsigned int i, unsigned int class, unsigned int count)
{
	int ret = bufpool_alloc(&T.t[i].e, class, count,
				BUFPOOL_ALLOC_NOQUEUE, T.t[i].bufs);

	CHECK();
	return ret;
}

/* Release up to @n buffers entity @i holds (all if @n is 0). */
static int R(unsigned int i, unsigned int n)
{
	struct bufpool_buf *buf;
	u32 ids[BUFPOOL_ALLOC_MAX];
	unsigned int k = 0;
	int ret;

	list_for_each_entry(buf, &T.t[i].e.held, node) {
		if ((n && k == n) || k == BUFPOOL_ALLOC_MAX)
			break;
		ids[k++] = buf->id;
	}
	ret = bufpool_release(&T.t[i].e, ids, k);
	CHECK();
	return ret;
}

static int C(unsigned int i)
{
	int ret = bufpool_cancel(&T.t[i].e);

	CHECK();
	return ret;
}

/*
 * Run the backend's work item, as the kernel does right after a queue head
 * was found short of memory: it grows the cache and grants.
 */
static bool G(void)
{
	bool ran = bp_mem_run_retry(T.mem);

	CHECK();
	return ran;
}

static void D(unsigned int i)
{
	bufpool_entity_destroy(&T.t[i].e);
	T.t[i].live = false;
	CHECK();
}

static unsigned int in_use(void)
{
	struct bp_snap s;

	bp_snapshot(T.pool, &s);
	return s.in_use;
}

static unsigned int cached(void)
{
	struct bp_snap s;

	bp_snapshot(T.pool, &s);
	return s.nr_cached;
}

static unsigned int queued(unsigned int c)
{
	struct bp_snap s;

	bp_snapshot(T.pool, &s);
	return s.nr_queued[c];
}

enum { CRIT = BUFPOOL_CLASS_CRITICAL, NORM = BUFPOOL_CLASS_NORMAL,
       LOW = BUFPOOL_CLASS_LOW };

static void test_config(void)
{
	struct bufpool_config cfg = { .limit = 4, .reserve = 1, .bufsize = 1 };
	const char *why;
	struct bufpool *p;

	EXPECT_EQ(bufpool_check_config(&cfg, &why), 0);
	cfg.limit = 0;
	EXPECT_EQ(bufpool_check_config(&cfg, &why), -EINVAL);
	cfg.limit = BUFPOOL_LIMIT_MAX + 1;
	EXPECT_EQ(bufpool_check_config(&cfg, &why), -EINVAL);
	cfg.limit = 4;
	cfg.reserve = 4;
	EXPECT_EQ(bufpool_check_config(&cfg, &why), -EINVAL);
	cfg.reserve = 1;
	cfg.bufsize = 0;
	EXPECT_EQ(bufpool_check_config(&cfg, &why), -EINVAL);
	cfg.bufsize = BUFPOOL_BUFSIZE_MAX + 1;
	EXPECT_EQ(bufpool_check_config(&cfg, &why), -EINVAL);
	cfg.bufsize = 1;
	EXPECT(IS_ERR(bufpool_create(&(struct bufpool_config){ .limit = 0, .bufsize = 1 })));

	p = bufpool_create(&cfg);
	EXPECT(!IS_ERR(p));
	EXPECT_EQ(bufpool_bufsize(p), 4096);	/* whole pages */
	bufpool_destroy(p);

	/* -ENOMEM paths free everything (LeakSanitizer watches) */
	bp_kmalloc_fail = 1;
	p = bufpool_create(&cfg);
	EXPECT(IS_ERR(p) && PTR_ERR(p) == -ENOMEM);
	bp_kmalloc_fail = 0;
}

static void test_limit_and_args(void)
{
	setup(4, 0);
	EXPECT_EQ(A(0, CRIT, 4), 0);
	EXPECT_EQ(in_use(), 4);
	EXPECT_EQ(A_noq(1, CRIT, 1), -EAGAIN);
	EXPECT_EQ(queued(CRIT), 0);
	EXPECT_EQ(A(1, CRIT, 1), -EAGAIN);
	EXPECT_EQ(queued(CRIT), 1);
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT_EQ(A(2, CRIT, 0), -EINVAL);
	EXPECT_EQ(A(2, CRIT, BUFPOOL_ALLOC_MAX + 1), -EINVAL);
	EXPECT_EQ(A(2, BUFPOOL_NR_CLASSES, 1), -EINVAL);
	EXPECT_EQ(bufpool_alloc(&T.t[2].e, CRIT, 1, 0x80, T.t[2].bufs), -EINVAL);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(in_use(), 4);	/* granted to 1, charged already */
	EXPECT_EQ(A(1, CRIT, 1), 0);
	EXPECT_EQ(A_noq(2, CRIT, 1), -EAGAIN);
	teardown();
}

static void test_thresholds(void)
{
	/* limit 6, reserve 2: headroom CRIT 0, NORMAL 2, LOW 4 */
	setup(6, 2);
	EXPECT_EQ(A_noq(0, LOW, 3), -ENOSPC);	/* 3 + 4 > 6: never */
	EXPECT_EQ(A(0, LOW, 2), 0);		/* 0 + 2 + 4 = 6 */
	EXPECT_EQ(A_noq(1, LOW, 1), -EAGAIN);
	EXPECT_EQ(A_noq(1, NORM, 3), -EAGAIN);	/* 2 + 3 + 2 > 6 */
	EXPECT_EQ(A(1, NORM, 2), 0);		/* 2 + 2 + 2 = 6 */
	EXPECT_EQ(A_noq(2, NORM, 1), -EAGAIN);
	EXPECT_EQ(A(2, CRIT, 2), 0);		/* the last two */
	EXPECT_EQ(in_use(), 6);
	EXPECT_EQ(A_noq(3, CRIT, 1), -EAGAIN);
	teardown();

	/* LOW headroom is min(2 * reserve, limit - 1): limit 4 reserve 3 */
	setup(4, 3);
	EXPECT_EQ(A(0, LOW, 2), -ENOSPC);	/* 2 + 3 > 4 */
	EXPECT_EQ(A(0, LOW, 1), 0);		/* 0 + 1 + 3 = 4 */
	EXPECT_EQ(A_noq(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(A(1, CRIT, 3), 0);
	teardown();

	/* reserve 0: every class may take the last buffer */
	setup(2, 0);
	EXPECT_EQ(A(0, LOW, 2), 0);
	teardown();
}

static void test_reserve_memory(void)
{
	struct bp_snap s;

	/* limit 4, reserve 2: two zeroed buffers preallocated */
	setup(4, 2);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 2);
	EXPECT_EQ(s.nr_cached, 2);

	/* no page to be had: NORMAL waits, CRITICAL is served from the reserve */
	bp_mem_fail_nowait(T.mem, true);
	bp_mem_fail_kernel(T.mem, true);
	EXPECT_EQ(A_noq(1, NORM, 1), -EAGAIN);	/* budget ok, memory not */
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT(bp_mem_retry_pending(T.mem));
	EXPECT_EQ(A(2, CRIT, 1), 0);
	EXPECT_EQ(A(3, CRIT, 1), 0);
	EXPECT_EQ(cached(), 0);
	EXPECT_EQ(A(4, CRIT, 1), -EAGAIN);	/* reserve used up: wait too */
	/* one page comes back: the CRITICAL head first, NORMAL still out */
	bp_mem_fail_kernel(T.mem, false);
	EXPECT(bp_mem_run_retry(T.mem));
	CHECK();
	EXPECT_EQ(T.t[4].wakes, 1);
	EXPECT_EQ(T.t[1].wakes, 0);		/* 3 + 1 + 2 > 4 */
	EXPECT_EQ(A(4, CRIT, 1), 0);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(R(3, 0), 0);
	EXPECT_EQ(R(4, 0), 0);
	EXPECT_EQ(T.t[1].wakes, 1);		/* from the cache above the reserve */
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(cached(), 2);
	EXPECT_EQ(R(1, 0), 0);
	bp_mem_fail_nowait(T.mem, false);

	/* NORMAL never eats the reserve's memory: fresh pages or the excess */
	EXPECT_EQ(cached(), 3);
	EXPECT_EQ(A(0, NORM, 2), 0);		/* 1 cached above reserve + 1 new */
	EXPECT_EQ(cached(), 2);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(A(0, LOW, 1), 0);
	EXPECT_EQ(cached(), 3);
	teardown();
}

static void test_atomic_n(void)
{
	setup(4, 0);
	EXPECT_EQ(A(0, NORM, 3), 0);
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);
	EXPECT(list_empty(&T.t[1].e.waiter.granted));
	EXPECT_EQ(in_use(), 3);
	EXPECT_EQ(R(0, 1), 0);		/* 2 free now: both at once */
	EXPECT_EQ(T.t[1].wakes, 0);	/* 1 cached: the work grows 1 */
	EXPECT(G());
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(A(1, NORM, 2), 0);
	EXPECT_EQ(T.t[1].e.nr_held, 2);
	EXPECT(T.t[1].bufs[0] != T.t[1].bufs[1]);
	teardown();
}

static void test_fifo(void)
{
	unsigned int i;

	setup(2, 0);
	EXPECT_EQ(A(0, NORM, 2), 0);
	for (i = 1; i <= 4; i++)
		EXPECT_EQ(A(i, NORM, 1), -EAGAIN);
	for (i = 1; i <= 4; i++) {
		EXPECT_EQ(R(i == 1 ? 0 : i - 1, 1), 0);
		EXPECT_EQ(T.t[i].wakes, 1);
		if (i < 4)
			EXPECT_EQ(T.t[i + 1].wakes, 0);
		EXPECT_EQ(A(i, NORM, 1), 0);
	}
	teardown();
}

static void test_no_barging(void)
{
	setup(3, 0);
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);	/* head wants 2, 1 free */
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);	/* would fit: must not pass */
	EXPECT_EQ(A_noq(3, NORM, 1), -EAGAIN);
	EXPECT_EQ(A_noq(3, LOW, 1), -EAGAIN);	/* nor a less critical one */
	EXPECT_EQ(A(3, CRIT, 1), 0);		/* a more critical one may */
	EXPECT_EQ(R(0, 0), 0);			/* 2 back: head served, 2 not */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(T.t[2].wakes, 0);
	EXPECT_EQ(R(3, 0), 0);
	EXPECT_EQ(T.t[2].wakes, 1);
	teardown();
}

static void test_class_priority(void)
{
	setup(2, 0);
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(A(1, LOW, 1), -EAGAIN);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	EXPECT_EQ(A(3, CRIT, 1), -EAGAIN);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[3].wakes, 1);
	EXPECT_EQ(T.t[2].wakes + T.t[1].wakes, 0);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[2].wakes, 1);
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT_EQ(A(3, CRIT, 1), 0);
	EXPECT_EQ(R(3, 0), 0);
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT(T.t[3].wake_seq < T.t[2].wake_seq &&
	       T.t[2].wake_seq < T.t[1].wake_seq);
	teardown();

	/* a CRITICAL head that does not fit stops the walk: no barging
	 * across classes either */
	setup(3, 0);
	EXPECT_EQ(A(0, NORM, 3), 0);
	EXPECT_EQ(A(1, CRIT, 2), -EAGAIN);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[1].wakes + T.t[2].wakes, 0);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(T.t[2].wakes, 0);
	teardown();
}

static void test_handoff_count(void)
{
	struct bp_snap s;
	unsigned int i;

	setup(3, 0);
	EXPECT_EQ(R(0, 0), -EINVAL);	/* count 0 */
	EXPECT_EQ(A(0, NORM, 3), 0);
	for (i = 1; i < NR_ENTS; i++)
		EXPECT_EQ(A(i, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 3), 0);		/* three back: exactly three woken */
	EXPECT_EQ(T.wakes, 3);
	for (i = 1; i < NR_ENTS; i++)
		EXPECT_EQ(T.t[i].wakes, i <= 3);
	for (i = 1; i <= 3; i++)
		EXPECT_EQ(A(i, NORM, 1), 0);
	for (i = 1; i <= 3; i++)
		EXPECT_EQ(R(i, 0), 0);
	EXPECT_EQ(T.wakes, 6);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.wakeups, T.wakes);
	EXPECT_EQ(s.grants_waited, T.wakes);
	EXPECT_EQ(s.allocations, 4);
	for (i = 4; i <= 6; i++)
		EXPECT_EQ(A(i, NORM, 1), 0);
	for (i = 4; i <= 6; i++)
		EXPECT_EQ(R(i, 0), 0);
	EXPECT_EQ(T.wakes, 7);			/* only 7 was left waiting */
	EXPECT_EQ(A(7, NORM, 1), 0);
	EXPECT_EQ(R(7, 0), 0);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(A(i, NORM, 1), 0);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(R(i, 0), 0);
	EXPECT_EQ(T.wakes, 7);			/* nobody waiting: no wake-up */
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.wakeups, 7);
	EXPECT_EQ(s.allocations, 11);
	teardown();
}

static void test_cancel(void)
{
	setup(3, 0);
	EXPECT_EQ(C(0), -ENOENT);
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);	/* fits, held back by 1 */
	EXPECT_EQ(C(1), 0);			/* head leaves: 2 served */
	EXPECT(G());				/* with a new buffer */
	EXPECT_EQ(T.t[2].wakes, 1);
	EXPECT_EQ(C(1), -ENOENT);
	EXPECT_EQ(A(2, NORM, 1), 0);

	/* the grant races with a timeout: cancel gives the grant onward */
	EXPECT_EQ(A(3, NORM, 1), -EAGAIN);
	EXPECT_EQ(A(4, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(T.t[3].wakes, 1);
	EXPECT_EQ(T.t[4].wakes, 0);
	EXPECT_EQ(C(3), 0);
	EXPECT_EQ(T.t[4].wakes, 1);
	EXPECT_EQ(T.t[3].wakes, 1);
	EXPECT_EQ(A(3, NORM, 1), -EAGAIN);	/* a new request, queued */
	EXPECT_EQ(A(4, NORM, 1), 0);
	EXPECT_EQ(C(3), 0);
	EXPECT_EQ(in_use(), 3);
	teardown();
}

static void test_destroy(void)
{
	struct bp_snap s;

	setup(2, 0);
	/* holder goes: its buffers are zeroed and handed on */
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	D(0);
	EXPECT_EQ(T.t[1].wakes, 1);
	/* granted, not collected: given back on destroy */
	D(1);
	EXPECT_EQ(T.t[2].wakes, 1);
	EXPECT_EQ(A(2, NORM, 1), 0);
	/* queued head goes: the one behind it is served */
	EXPECT_EQ(A(3, NORM, 2), -EAGAIN);
	EXPECT_EQ(A(4, NORM, 1), -EAGAIN);
	D(3);
	EXPECT_EQ(T.t[4].wakes, 1);
	/* a queued one that is not the head */
	EXPECT_EQ(A(5, NORM, 1), -EAGAIN);
	EXPECT_EQ(A(6, NORM, 1), -EAGAIN);
	D(5);
	EXPECT_EQ(queued(NORM), 1);
	D(2);
	EXPECT_EQ(T.t[6].wakes, 1);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_entities, NR_ENTS - 5);
	teardown();
}

static void test_release_errors(void)
{
	struct bp_snap a, b;
	u32 ids[4], cached_id;

	setup(4, 1);			/* NORMAL may use 3 */
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(1, 0), 0);		/* 2 is granted, not collected */
	EXPECT_EQ(T.t[2].wakes, 1);
	for (cached_id = 0; cached_id < bp_mem_id_end(T.mem); cached_id++)
		if (bufpool_mem_lookup(T.mem, cached_id)->state ==
		    BUFPOOL_BUF_CACHED)
			break;
	EXPECT_EQ(bufpool_release(&T.t[1].e, &cached_id, 1), -ENOENT);
	bp_snapshot(T.pool, &a);

	ids[0] = T.t[0].bufs[0]->id;
	ids[1] = T.t[0].bufs[1]->id;
	EXPECT_EQ(bufpool_release(&T.t[3].e, ids, 1), -EPERM);
	ids[1] = 1000;
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, 2), -ENOENT);
	ids[1] = ids[0];
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, 2), -EINVAL);
	ids[1] = T.t[0].bufs[1]->id;
	ids[2] = ids[1];
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, 3), -EINVAL);
	ids[2] = T.t[2].e.waiter.state == BUFPOOL_WAIT_GRANTED ?
		 list_first_entry(&T.t[2].e.waiter.granted,
				  struct bufpool_buf, node)->id : 1000;
	/* granted, not collected: held by nobody yet */
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, 3), -ENOENT);
	EXPECT_EQ(bufpool_release(&T.t[2].e, ids + 2, 1), -ENOENT);
	ids[2] = T.t[1].e.nr_held ? 0 : 1000;	/* (1 released all) */
	ids[2] = list_first_entry(&T.t[0].e.held, struct bufpool_buf,
				  node)->id;
	EXPECT_EQ(bufpool_release(&T.t[3].e, ids + 2, 1), -EPERM);
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, 0), -EINVAL);
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, BUFPOOL_ALLOC_MAX + 1),
		  -EINVAL);
	CHECK();			/* no buffer left marked */
	bp_snapshot(T.pool, &b);
	EXPECT(!memcmp(&a, &b, sizeof(a)));
	EXPECT_EQ(T.t[0].e.nr_held, 2);
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, 2), 0);
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, 1), -ENOENT);
	CHECK();
	teardown();
}

static void test_enospc_ebusy(void)
{
	setup(4, 1);			/* headroom 0 / 1 / 2 */
	EXPECT_EQ(A(0, CRIT, 5), -ENOSPC);
	EXPECT_EQ(A(0, NORM, 4), -ENOSPC);
	EXPECT_EQ(A(0, LOW, 3), -ENOSPC);
	EXPECT_EQ(queued(CRIT) + queued(NORM) + queued(LOW), 0);
	EXPECT_EQ(A(0, LOW, 2), 0);
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);
	EXPECT_EQ(A(1, NORM, 1), -EBUSY);
	EXPECT_EQ(A(1, CRIT, 2), -EBUSY);
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);	/* same: still queued, once */
	EXPECT_EQ(queued(NORM), 1);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT(G());				/* 1 cached above the reserve */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(A(1, NORM, 1), -EBUSY);	/* granted: collect as asked */
	EXPECT_EQ(A(1, NORM, 2), 0);
	/* a new one, which only 1's own buffers coming back could serve */
	EXPECT_EQ(A(1, NORM, 2), -EDEADLK);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	teardown();
}

/*
 * Admission: a request that could not be served even if every other side
 * gave everything back fails at once (-EDEADLK), at the head of its queue
 * too; its side is its account when it has one.
 */
static void test_edeadlk(void)
{
	struct bufpool_account acct = { 0 };
	struct bufpool_tunables t;
	const char *why;

	setup(10, 2);			/* headroom 0 / 2 / 4 */
	T.t[0].e.critical_exempt = false;
	EXPECT_EQ(A(0, NORM, 6), 0);
	EXPECT_EQ(A(0, NORM, 3), -EDEADLK);	/* 6 + 3 + 2 > 10 */
	EXPECT_EQ(A_noq(0, NORM, 3), -EDEADLK);
	EXPECT_EQ(A(0, CRIT, 5), -EDEADLK);	/* critical: 6 + 5 > 10 */
	EXPECT_EQ(queued(NORM) + queued(CRIT), 0);
	EXPECT_EQ(A(1, NORM, 1), 0);		/* others are not held up */
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(R(1, 0), 0);
	CHECK();
	teardown();

	/*
	 * Entities 0 and 1 share an account, 2 and 3 have none.  Without a
	 * quota each entity is its own side: 1 may wait for 0's buffers.
	 */
	setup(10, 2);
	bufpool_entity_set_account(&T.t[0].e, &acct);
	bufpool_entity_set_account(&T.t[1].e, &acct);
	T.t[0].e.critical_exempt = false;
	EXPECT_EQ(A(0, NORM, 6), 0);
	EXPECT_EQ(A(1, NORM, 3), -EAGAIN);
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT_EQ(R(0, 1), 0);			/* 5 + 3 + 2 <= 10 */
	EXPECT(G());				/* 3 cached: grow 2 */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(A(1, NORM, 3), 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(A(0, NORM, 1), 0);		/* 6 held again */
	T.t[1].wakes = 0;
	/* with a quota the account is the side */
	bufpool_get_tunables(T.pool, &t);
	t.quota = 10;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(A(1, NORM, 3), -EDEADLK);	/* the account holds 6 */
	EXPECT_EQ(atomic_read(&acct.charged), 6);
	EXPECT_EQ(R(0, 2), 0);			/* account holds 4 */
	EXPECT_EQ(A(2, NORM, 2), 0);		/* in_use 6 */
	EXPECT_EQ(A(1, NORM, 3), -EAGAIN);	/* 4 + 3 + 2 <= 10: waits */
	EXPECT_EQ(A(3, NORM, 1), -EAGAIN);	/* FIFO: behind it */
	CHECK();
	EXPECT_EQ(acct.queued, 3);
	EXPECT_EQ(A(0, CRIT, 1), 0);		/* account holds 5: still fine */
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT_EQ(A(0, CRIT, 1), 0);		/* 6 + 3 + 2 > 10: head fails */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(T.t[1].wake_state, BUFPOOL_WAIT_FAILED);
	EXPECT_EQ(acct.queued, 0);
	CHECK();
	EXPECT_EQ(A(1, NORM, 1), -EBUSY);	/* not the request that failed */
	EXPECT_EQ(A(1, NORM, 3), -EDEADLK);
	EXPECT_EQ(R(2, 0), 0);			/* in_use 6: 3 behind is served */
	EXPECT_EQ(T.t[3].wakes, 1);
	EXPECT_EQ(A(3, NORM, 1), 0);
	CHECK();

	/* a lower limit: -EDEADLK for a queued request only its side blocks */
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);	/* in_use 7: 7 + 2 + 2 > 10 */
	bufpool_get_tunables(T.pool, &t);
	t.limit = 9;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(T.t[1].wakes, 2);		/* 6 + 2 + 2 > 9 */
	EXPECT_EQ(A(1, NORM, 2), -EDEADLK);
	CHECK();
	teardown();
}

/* CRITICAL only goes with held non-critical buffers, unless exempt. */
static void test_critical_rule(void)
{
	setup(8, 2);
	T.t[0].e.critical_exempt = false;
	T.t[1].e.critical_exempt = false;
	EXPECT_EQ(A(0, CRIT, 1), -EPERM);	/* holds nothing */
	EXPECT_EQ(A_noq(0, CRIT, 1), -EPERM);
	EXPECT_EQ(queued(CRIT), 0);
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(A(0, CRIT, 3), -EPERM);	/* more than it holds */
	EXPECT_EQ(A(0, CRIT, 1), 0);
	EXPECT_EQ(A(0, CRIT, 1), 0);
	EXPECT_EQ(T.t[0].e.nr_critical, 2);
	EXPECT_EQ(A(0, CRIT, 1), -EPERM);	/* 2 critical for 2 others */
	CHECK();
	/* releasing a critical one gives the right back */
	EXPECT_EQ(bufpool_release(&T.t[0].e, &T.t[0].bufs[0]->id, 1), 0);
	EXPECT_EQ(T.t[0].e.nr_critical, 1);
	EXPECT_EQ(A(0, CRIT, 1), 0);
	CHECK();
	/* queued: counted once collected */
	EXPECT_EQ(A(1, NORM, 1), 0);		/* in_use 6 */
	EXPECT_EQ(A(2, CRIT, 3), 0);		/* exempt: full */
	EXPECT_EQ(A(1, CRIT, 1), -EAGAIN);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(A(1, CRIT, 1), 0);		/* collected */
	EXPECT_EQ(T.t[1].e.nr_critical, 1);
	EXPECT_EQ(A(0, CRIT, 1), -EPERM);
	CHECK();
	teardown();
}

/* Only the request that failed collects its failure. */
static void test_failed_collect(void)
{
	struct bufpool_tunables t;
	const char *why;

	setup(6, 1);			/* headroom 0 / 1 / 2 */
	EXPECT_EQ(A(0, NORM, 5), 0);
	EXPECT_EQ(A(1, LOW, 3), -EAGAIN);
	bufpool_get_tunables(T.pool, &t);
	t.limit = 4;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(T.t[1].wakes, 1);		/* 3 + 2 > 4 */
	EXPECT_EQ(A(1, CRIT, 1), -EBUSY);	/* another request */
	EXPECT_EQ(A(1, LOW, 2), -EBUSY);
	EXPECT_EQ(A(1, LOW, 3), -ENOSPC);	/* collected */
	EXPECT_EQ(A(1, LOW, 3), -ENOSPC);	/* (a new request now) */
	CHECK();
	/* CANCEL forgets a failure */
	t.limit = 6;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(A(1, LOW, 3), -EAGAIN);
	t.limit = 4;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(bufpool_cancel(&T.t[1].e), 0);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(A(1, CRIT, 1), 0);
	CHECK();
	teardown();
}

/*
 * Offer policy: an offered waiter whose retry is refused passes the offer
 * on.  (Raw calls: while an offer is out, a queued head that fits is what
 * the offer policy does, not a lost wake-up, so no CHECK() in between.)
 */
static void test_offer_refused_retry(void)
{
	struct bufpool_tunables t;
	const char *why;
	u32 id;

	setup(4, 1);
	bufpool_get_tunables(T.pool, &t);
	t.policy = BUFPOOL_POLICY_OFFER;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	T.t[0].e.critical_exempt = false;
	EXPECT_EQ(A(0, NORM, 1), 0);
	id = T.t[0].bufs[0]->id;
	EXPECT_EQ(A(2, CRIT, 3), 0);		/* exempt: full */
	EXPECT_EQ(A(0, CRIT, 1), -EAGAIN);
	EXPECT_EQ(bufpool_alloc(&T.t[1].e, CRIT, 1, 0, T.t[1].bufs), -EAGAIN);
	EXPECT_EQ(bufpool_release(&T.t[0].e, &id, 1), 0);
	EXPECT_EQ(T.t[0].wakes, 1);		/* one free: one offer */
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT_EQ(bufpool_alloc(&T.t[0].e, CRIT, 1, 0, T.t[0].bufs), -EPERM);
	EXPECT_EQ(T.t[1].wakes, 1);		/* passed on */
	EXPECT_EQ(A(1, CRIT, 1), 0);
	/* not waiting any more (NOQUEUE) passes it on too */
	EXPECT_EQ(bufpool_alloc(&T.t[3].e, CRIT, 1, 0, T.t[3].bufs), -EAGAIN);
	EXPECT_EQ(bufpool_alloc(&T.t[4].e, CRIT, 1, 0, T.t[4].bufs), -EAGAIN);
	EXPECT_EQ(bufpool_release(&T.t[1].e, &T.t[1].bufs[0]->id, 1), 0);
	EXPECT_EQ(T.t[3].wakes, 1);
	EXPECT_EQ(T.t[4].wakes, 0);
	EXPECT_EQ(bufpool_alloc(&T.t[3].e, NORM, 1, BUFPOOL_ALLOC_NOQUEUE,
				T.t[3].bufs), -EAGAIN);
	EXPECT_EQ(T.t[4].wakes, 1);
	EXPECT_EQ(A(4, CRIT, 1), 0);
	teardown();
}

static void test_mem_retry(void)
{
	struct bp_snap s;

	setup(3, 0);
	bp_mem_fail_nowait(T.mem, true);
	bp_mem_fail_kernel(T.mem, true);
	EXPECT_EQ(A(0, NORM, 2), -EAGAIN);
	EXPECT(bp_mem_retry_pending(T.mem));
	EXPECT(G());				/* fails again: rescheduled */
	EXPECT(bp_mem_retry_pending(T.mem));
	bp_mem_fail_kernel(T.mem, false);
	EXPECT(G());				/* both created, granted */
	EXPECT_EQ(T.t[0].wakes, 1);
	EXPECT(!bp_mem_retry_pending(T.mem));
	EXPECT_EQ(A(0, NORM, 2), 0);
	bp_snapshot(T.pool, &s);
	/* 2: the caller's GFP_NOWAIT attempt and the failed retry */
	EXPECT_EQ(s.page_alloc_failures, 2);

	/* a failed NOQUEUE leaves nothing behind: nobody waits, none made */
	EXPECT_EQ(A_noq(1, NORM, 1), -EAGAIN);
	EXPECT(G());
	EXPECT_EQ(cached(), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);	/* queued: the work grows 1 */
	EXPECT(G());
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(A(1, NORM, 1), 0);

	/* at the limit the work creates nothing */
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(A_noq(2, NORM, 1), 0);	/* from the cache */
	bufpool_mem_retry_later(T.mem);
	EXPECT(G());
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 3);
	/* a failed retry with nobody queued is not rescheduled */
	bp_mem_fail_kernel(T.mem, true);
	bufpool_mem_retry_later(T.mem);
	EXPECT(G());
	EXPECT(!bp_mem_retry_pending(T.mem));
	bp_mem_fail_nowait(T.mem, false);
	bp_mem_fail_kernel(T.mem, false);
	teardown();
}

/*
 * Growth never happens under the pool lock (the backend aborts if a buffer
 * is created or zeroed with a spinlock held) and yields between buffers
 * when the caller may sleep, at allocation and at release.
 */
static void test_grow_steps(void)
{
	unsigned long before;
	struct bp_snap s;
	unsigned int k;
	int ret;

	setup(70, 2);
	before = bp_resched_calls;
	ret = bufpool_alloc(&T.t[0].e, NORM, 64, BUFPOOL_ALLOC_MAY_SLEEP,
			    T.t[0].bufs);
	EXPECT_EQ(ret, 0);
	CHECK();
	EXPECT(bp_resched_calls - before >= 63);	/* between 64 creations */
	for (k = 0; k < 64; k++)
		EXPECT(bp_mem_zeroed(T.mem, T.t[0].bufs[k]));
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 66);
	EXPECT_EQ(s.nr_cached, 2);

	/* every buffer held is zeroed when it comes back: a yield per one */
	before = bp_resched_calls;
	EXPECT_EQ(R(0, 0), 0);
	EXPECT(bp_resched_calls - before >= 64);

	/* without the flag nothing yields (the caller may not sleep) */
	EXPECT_EQ(A(1, CRIT, 64), 0);		/* from the cache: no growth */
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(A(1, CRIT, 64), 0);
	before = bp_resched_calls;
	EXPECT_EQ(A(2, CRIT, 4), 0);		/* 2 cached + 2 new, no flag */
	EXPECT_EQ(bp_resched_calls, before);
	teardown();
}

/* Run by the backend before it creates a buffer, lock dropped. */
static void (*grow_hook)(void);
static unsigned int grow_hook_runs;

static void grow_hook_fn(void)
{
	void (*fn)(void) = grow_hook;

	grow_hook = NULL;		/* once */
	if (fn) {
		grow_hook_runs++;
		fn();
	}
}

/* While entity 0 creates 3, entity 1 asks for 2 on a limit of 4. */
static void race_noqueue(void)
{
	struct bufpool_entity *ents[NR_ENTS];
	struct bp_snap s;
	unsigned int i;
	char why[256];

	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_growing, 3);
	/* room for 1 only (no CHECK(): a call is in flight) */
	EXPECT_EQ(bufpool_alloc(&T.t[1].e, NORM, 2, BUFPOOL_ALLOC_NOQUEUE,
				T.t[1].bufs), -EAGAIN);
	bp_snapshot(T.pool, &s);
	EXPECT(s.nr_alloc + s.nr_growing <= s.limit);
	for (i = 0; i < NR_ENTS; i++)
		ents[i] = &T.t[i].e;
	EXPECT_EQ(bp_check(T.pool, ents, NR_ENTS, 0, why, sizeof(why)), 0);
}

/* While entity 0 creates its buffers, the limit goes down to 2. */
static void race_lower_limit(void)
{
	struct bufpool_tunables t;
	const char *why;

	bufpool_get_tunables(T.pool, &t);
	t.limit = 2;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
}

/* While entity 0 creates the only buffer, entity 1 queues for it. */
static void race_queue_first(void)
{
	/* no room left to grow: entity 0's growth holds it */
	EXPECT_EQ(bufpool_alloc(&T.t[1].e, NORM, 1, 0, T.t[1].bufs), -EAGAIN);
	EXPECT_EQ(T.t[1].wakes, 0);
}

static void test_grow_queued_meanwhile(void)
{
	/*
	 * Entity 0 grows the pool's only buffer with the lock dropped; entity
	 * 1 queues meanwhile, so entity 0 must queue behind it.  The buffer
	 * entity 0 grew must reach entity 1, with nobody's retry work run:
	 * otherwise both wait for ever on an empty pool.
	 */
	setup(1, 0);
	grow_hook_runs = 0;
	bp_mem_create_hook = grow_hook_fn;
	grow_hook = race_queue_first;
	EXPECT_EQ(A(0, NORM, 1), -EAGAIN);
	EXPECT_EQ(grow_hook_runs, 1);
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(bufpool_ready(&T.t[1].e), true);
	CHECK();
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(T.t[0].wakes, 1);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(R(0, 0), 0);
	bp_mem_create_hook = NULL;
	teardown();
}

static void test_grow_reserved(void)
{
	struct bp_snap s;

	setup(4, 0);
	bp_mem_create_hook = grow_hook_fn;
	grow_hook = race_noqueue;
	EXPECT_EQ(A(0, NORM, 3), 0);
	EXPECT_EQ(grow_hook_runs, 1);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 3);	/* entity 1 failed: its 1 was freed */
	EXPECT_EQ(A_noq(1, NORM, 1), 0);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(R(1, 0), 0);
	teardown();

	/* a limit lowered meanwhile: the surplus is freed, nothing leaks */
	setup(4, 0);
	grow_hook = race_lower_limit;
	EXPECT_EQ(A(0, NORM, 3), -ENOSPC);	/* 3 can never fit now */
	EXPECT_EQ(grow_hook_runs, 2);
	bp_snapshot(T.pool, &s);
	/* the third was over the new limit, the others grown for a failure */
	EXPECT_EQ(s.nr_alloc, 0);
	bp_mem_create_hook = NULL;
	teardown();
}

static void test_seed002(void)
{
	/*
	 * HAProxy's deadlock: sessions hold request buffers while queued on a
	 * maxconn-1 server; the session on the server needs a response
	 * buffer.  Without a reserve the requests take every buffer; with
	 * one, the response (CRITICAL) still gets the last buffer.
	 */
	setup(2, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);		/* session 0: request */
	EXPECT_EQ(A(1, NORM, 1), 0);		/* session 1: request, queued on server */
	EXPECT_EQ(A(0, CRIT, 1), -EAGAIN);	/* session 0 on server: stuck */
	EXPECT_EQ(C(0), 0);
	teardown();

	setup(2, 1);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);	/* the reserve stays free */
	EXPECT_EQ(A(0, CRIT, 1), 0);		/* session 0's response */
	EXPECT_EQ(R(0, 0), 0);			/* releases both */
	EXPECT_EQ(T.t[1].wakes, 1);
	teardown();
}

static void test_tunables(void)
{
	struct bufpool_tunables t;
	const char *why;

	setup(4, 1);
	bufpool_get_tunables(T.pool, &t);
	EXPECT_EQ(t.limit, 4);
	EXPECT_EQ(t.headroom[NORM], 1);
	EXPECT_EQ(t.headroom[LOW], 2);
	EXPECT_EQ(A(0, NORM, 3), 0);
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);
	EXPECT_EQ(A(2, LOW, 2), -EAGAIN);
	/* a larger limit is granted at once */
	t.limit = 6;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	CHECK();
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(T.t[2].wakes, 0);
	/* a smaller one: holders keep theirs, hopeless requests fail */
	t.limit = 3;
	t.reserve = 1;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	CHECK();
	EXPECT_EQ(T.t[2].wakes, 1);		/* 2 + 2 > 3: failed */
	EXPECT_EQ(A(2, LOW, 2), -ENOSPC);
	EXPECT_EQ(A(2, LOW, 2), -ENOSPC);	/* (a new request now) */
	EXPECT_EQ(in_use(), 5);
	EXPECT_EQ(A(1, NORM, 2), 0);
	EXPECT_EQ(A(3, CRIT, 1), -EAGAIN);	/* above the limit: wait */
	EXPECT_EQ(R(0, 3), 0);			/* in_use 2: 2 + 1 <= 3 */
	EXPECT_EQ(T.t[3].wakes, 1);
	EXPECT_EQ(A(3, CRIT, 1), 0);
	/* inconsistent values, or no memory for the reserve: no change */
	t.headroom[CRIT] = 1;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), -EINVAL);
	t.reserve = 2;
	bufpool_default_headroom(&t);
	bp_mem_fail_kernel(T.mem, true);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), -ENOMEM);
	bp_mem_fail_kernel(T.mem, false);
	bufpool_get_tunables(T.pool, &t);
	EXPECT_EQ(t.reserve, 1);
	EXPECT_EQ(t.limit, 3);
	CHECK();
	teardown();
}

/*
 * An entity that tracks what it writes gets only its marked buffers
 * zeroed on the way back (on release and on destroy); any other entity
 * gets every buffer zeroed.  Whoever comes next finds zeroes.
 */
static void test_dirty_tracking(void)
{
	struct bufpool_entity *e;
	struct bp_mem_stats m0, m1;
	struct bufpool_buf *buf;

	setup(4, 0);
	e = &T.t[0].e;
	e->tracks_dirty = true;
	/* not A(): it scribbles without marking, which breaks the contract */
	EXPECT_EQ(bufpool_alloc(e, NORM, 2, 0, T.t[0].bufs), 0);
	CHECK();
	bp_mem_get_stats(T.mem, &m0);
	EXPECT_EQ(R(0, 2), 0);			/* never written */
	bp_mem_get_stats(T.mem, &m1);
	EXPECT_EQ(m1.zeroes, m0.zeroes);

	EXPECT_EQ(bufpool_alloc(e, NORM, 2, 0, T.t[0].bufs), 0);
	buf = T.t[0].bufs[0];
	bufpool_buf_mark_dirty(buf);
	memset(buf->addr, 0x5a, 64);
	EXPECT_EQ(R(0, 2), 0);			/* one written */
	bp_mem_get_stats(T.mem, &m0);
	EXPECT_EQ(m0.zeroes, m1.zeroes + 1);
	EXPECT(bp_mem_zeroed(T.mem, buf));

	EXPECT_EQ(bufpool_alloc(e, NORM, 1, 0, T.t[0].bufs), 0);
	buf = T.t[0].bufs[0];
	bufpool_buf_mark_dirty(buf);
	memset(buf->addr, 0x5a, 64);
	D(0);					/* destroy zeroes it too */
	bp_mem_get_stats(T.mem, &m1);
	EXPECT_EQ(m1.zeroes, m0.zeroes + 1);
	EXPECT(bp_mem_zeroed(T.mem, buf));

	EXPECT_EQ(A(1, NORM, 1), 0);		/* not tracking: always */
	EXPECT_EQ(R(1, 1), 0);
	bp_mem_get_stats(T.mem, &m0);
	EXPECT_EQ(m0.zeroes, m1.zeroes + 1);
	teardown();
}

static u64 now_ns(void)
{
	return ktime_get_ns();
}

/*
 * How far ahead the deadlines below lie: never reached by the real clock
 * between two calls, however slowly the harness runs (ASan, a loaded
 * host); only bp_clock_skew passes them.
 */
#define DL_AHEAD	(60ULL * 1000000000ULL)

/* Deadlines: none early, withdrawn when they pass, kept by the request. */
static void test_deadline(void)
{
	struct bufpool_entity *e1 = &T.t[1].e, *e2 = &T.t[2].e;
	struct bufpool_ticket t = { 0 }, t2 = { 0 };
	u64 dl;

	setup(2, 0);
	EXPECT_EQ(A(0, NORM, 2), 0);
	/* a deadline already passed: not queued, nothing changed */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, now_ns() - 1,
				      T.t[1].bufs, &t), -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(queued(NORM), 0);
	EXPECT_EQ(C(1), -ENOENT);
	/* but served at once if it fits, whatever the deadline */
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, 1, T.t[1].bufs, &t), 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(A(0, NORM, 1), 0);

	/* queued with a deadline; the ticket says which request it is */
	dl = now_ns() + DL_AHEAD;
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, dl, T.t[1].bufs, &t),
		  -EAGAIN);
	CHECK();
	EXPECT_EQ(t.deadline, dl);
	EXPECT(bufpool_waiting(e1, &t));
	/* a later call finds it, with its own deadline, not the caller's */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, dl + 5, T.t[1].bufs,
				      &t2), -EAGAIN);
	EXPECT_EQ(t2.seq, t.seq);
	EXPECT_EQ(t2.deadline, dl);
	/* not yet */
	EXPECT(bufpool_expire(e1) > 0);
	EXPECT_EQ(bufpool_wait_done(e1, &t, -ETIMEDOUT, T.t[1].bufs), -EAGAIN);
	EXPECT_EQ(queued(NORM), 1);
	/* a second request behind it */
	EXPECT_EQ(bufpool_alloc_until(e2, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[2].bufs, NULL), -EAGAIN);
	/* the deadline passes while nobody sleeps on it: withdrawn */
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_expire(e1), 0);
	CHECK();
	EXPECT_EQ(e1->waiter.state, BUFPOOL_WAIT_EXPIRED);
	EXPECT(bufpool_ready(e1));
	EXPECT(!bufpool_waiting(e1, &t));
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(queued(NORM), 1);
	/* the same request then learns it; a new one after that queues */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t2), -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(e1->waiter.state, BUFPOOL_WAIT_IDLE);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(C(1), 0);
	/* a sleeper finds it expired too */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, now_ns() + DL_AHEAD,
				      T.t[1].bufs, &t), -EAGAIN);
	EXPECT_EQ(queued(NORM), 2);
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_expire(e1), 0);
	EXPECT_EQ(bufpool_wait_done(e1, &t, 0, T.t[1].bufs), -ETIMEDOUT);
	CHECK();
	/* expiry of the head serves whoever it held up */
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[2].wakes, 1);
	EXPECT_EQ(A(2, NORM, 1), 0);		/* full again */
	/* the sleeper's own timeout: withdrawn by bufpool_wait_done() */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, now_ns() + DL_AHEAD,
				      T.t[1].bufs, &t), -EAGAIN);
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_wait_done(e1, &t, -ETIMEDOUT, T.t[1].bufs),
		  -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(queued(NORM), 0);
	EXPECT_EQ(C(1), -ENOENT);
	/* a queued request found by a call after its deadline */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, now_ns() + DL_AHEAD,
				      T.t[1].bufs, &t), -EAGAIN);
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t), -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(queued(NORM), 0);
	bp_clock_skew = 0;
	teardown();
}

/*
 * The deadline is the request's: every sleeper on it learns -ETIMEDOUT,
 * whoever withdraws it (a sleeper's own timeout, a call that finds it
 * passed, bufpool_expire()), and is woken for it, also one whose own
 * ticket has no deadline; none queues a new request instead.
 */
static void test_deadline_siblings(void)
{
	struct bufpool_entity *e1 = &T.t[1].e;
	struct bufpool_ticket t1 = { 0 }, t2 = { 0 };
	struct bp_snap s0, s1;
	unsigned int wakes;
	u64 dl;

	setup(2, 0);
	EXPECT_EQ(A(0, NORM, 2), 0);

	/* queued without a deadline; a second sleeper gives it one */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t1), -EAGAIN);
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, now_ns() + DL_AHEAD,
				      T.t[1].bufs, &t2), -EAGAIN);
	EXPECT_EQ(t2.seq, t1.seq);
	EXPECT_EQ(t1.deadline, BUFPOOL_NO_DEADLINE);
	EXPECT(t2.deadline != BUFPOOL_NO_DEADLINE);
	/* the second one's timer fires: it withdraws the request */
	bp_snapshot(T.pool, &s0);
	wakes = T.t[1].wakes;
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_wait_done(e1, &t2, -ETIMEDOUT, T.t[1].bufs),
		  -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(queued(NORM), 0);
	/* the first one, which has no timer, is woken: an expiry */
	EXPECT_EQ(T.t[1].wakes, wakes + 1);
	bp_snapshot(T.pool, &s1);
	EXPECT_EQ(s1.wakeups, s0.wakeups);
	EXPECT(!bufpool_waiting(e1, &t1));
	EXPECT_EQ(bufpool_wait_done(e1, &t1, 0, T.t[1].bufs), -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(queued(NORM), 0);
	EXPECT_EQ(C(1), -ENOENT);
	/* so it learns even once a newer request replaced it */
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(bufpool_wait_done(e1, &t1, 0, T.t[1].bufs), -ETIMEDOUT);
	EXPECT_EQ(bufpool_wait_done(e1, &t1, -EINTR, T.t[1].bufs),
		  -ETIMEDOUT);
	EXPECT_EQ(C(1), 0);
	bp_clock_skew = 0;

	/* withdrawn by a call that finds its deadline passed */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, now_ns() + DL_AHEAD,
				      T.t[1].bufs, &t1), -EAGAIN);
	wakes = T.t[1].wakes;
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, NULL), -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(T.t[1].wakes, wakes + 1);
	EXPECT_EQ(bufpool_wait_done(e1, &t1, 0, T.t[1].bufs), -ETIMEDOUT);
	EXPECT_EQ(queued(NORM), 0);
	bp_clock_skew = 0;

	/* two sleepers with timers at the same deadline: the later one too */
	dl = now_ns() + DL_AHEAD;
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, dl, T.t[1].bufs, &t1),
		  -EAGAIN);
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, dl + DL_AHEAD,
				      T.t[1].bufs, &t2), -EAGAIN);
	EXPECT_EQ(t2.deadline, dl);
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_wait_done(e1, &t1, -ETIMEDOUT, T.t[1].bufs),
		  -ETIMEDOUT);
	EXPECT_EQ(bufpool_wait_done(e1, &t2, -ETIMEDOUT, T.t[1].bufs),
		  -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(queued(NORM), 0);
	EXPECT_EQ(C(1), -ENOENT);
	bp_clock_skew = 0;

	/* withdrawn by bufpool_expire(): the sleeper after the collector */
	dl = now_ns() + DL_AHEAD;
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, dl, T.t[1].bufs, &t1),
		  -EAGAIN);
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t2), -EAGAIN);
	wakes = T.t[1].wakes;
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_expire(e1), 0);
	CHECK();
	EXPECT_EQ(T.t[1].wakes, wakes + 1);
	EXPECT_EQ(bufpool_wait_done(e1, &t1, 0, T.t[1].bufs), -ETIMEDOUT);
	EXPECT_EQ(e1->waiter.state, BUFPOOL_WAIT_IDLE);
	EXPECT_EQ(bufpool_wait_done(e1, &t2, 0, T.t[1].bufs), -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(queued(NORM), 0);
	bp_clock_skew = 0;

	/* an expiry a CANCEL then clears still ended at the deadline */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, now_ns() + DL_AHEAD,
				      T.t[1].bufs, &t1), -EAGAIN);
	bp_clock_skew += 2 * DL_AHEAD;
	EXPECT_EQ(bufpool_expire(e1), 0);
	EXPECT_EQ(C(1), 0);
	EXPECT_EQ(bufpool_wait_done(e1, &t1, 0, T.t[1].bufs), -ETIMEDOUT);
	CHECK();
	bp_clock_skew = 0;
	teardown();
}

/*
 * Under the offer policy: a request offered after its deadline, which a
 * sleeper's retry then finds passed, is withdrawn at the deadline for
 * every sleeper on it, not for the one that retried only.
 */
static void set_policy(unsigned int policy);

static void test_deadline_offered_siblings(void)
{
	struct bufpool_entity *e1 = &T.t[1].e;
	struct bufpool_ticket t1 = { 0 }, t2 = { 0 };
	unsigned int wakes;
	u64 dl;

	setup(2, 0);
	set_policy(BUFPOOL_POLICY_OFFER);
	EXPECT_EQ(A(0, NORM, 2), 0);
	dl = now_ns() + DL_AHEAD;
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t1), -EAGAIN);
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, dl, T.t[1].bufs, &t2),
		  -EAGAIN);
	EXPECT_EQ(R(0, 1), 0);			/* 1 is offered the buffer */
	EXPECT_EQ(e1->waiter.state, BUFPOOL_WAIT_OFFERED);
	EXPECT_EQ(A(2, NORM, 1), 0);		/* and 2 takes it first */
	bp_clock_skew += 2 * DL_AHEAD;
	wakes = T.t[1].wakes;
	/* the retry of the sleeper with the deadline: too late */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, dl, T.t[1].bufs, &t2),
		  -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(T.t[1].wakes, wakes + 1);
	EXPECT_EQ(queued(NORM), 0);
	/* the one without a deadline learns it, rather than queue anew */
	EXPECT_EQ(bufpool_wait_done(e1, &t1, 0, T.t[1].bufs), -ETIMEDOUT);
	CHECK();
	EXPECT_EQ(queued(NORM), 0);
	bp_clock_skew = 0;
	set_policy(BUFPOOL_POLICY_HANDOFF);
	teardown();
}

/* What a sleeper learns: cancelled, interrupted, granted meanwhile. */
static void test_wait_done(void)
{
	struct bufpool_entity *e1 = &T.t[1].e;
	struct bufpool_ticket t = { 0 }, t2 = { 0 };
	struct bp_snap s0, s1;

	setup(2, 0);
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t), -EAGAIN);
	/* cancelled by another caller: the sleeper returns -ECANCELED */
	EXPECT_EQ(C(1), 0);
	EXPECT(!bufpool_waiting(e1, &t));
	EXPECT_EQ(bufpool_wait_done(e1, &t, 0, T.t[1].bufs), -ECANCELED);
	EXPECT_EQ(bufpool_wait_done(e1, &t, -EINTR, T.t[1].bufs), -ECANCELED);
	/* also once a newer request replaced it */
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t2), -EAGAIN);
	EXPECT(t2.seq != t.seq);
	EXPECT_EQ(bufpool_wait_done(e1, &t, 0, T.t[1].bufs), -ECANCELED);
	/* interrupted: the request stays queued, in its place */
	EXPECT_EQ(bufpool_wait_done(e1, &t2, -EINTR, T.t[1].bufs), -EINTR);
	CHECK();
	EXPECT_EQ(queued(NORM), 1);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);	/* behind it */
	/* a different request is refused; the same one resumes */
	EXPECT_EQ(A(1, NORM, 2), -EBUSY);
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t), -EAGAIN);
	EXPECT_EQ(t.seq, t2.seq);
	/* granted while nobody slept: kept, and the head was it */
	bp_snapshot(T.pool, &s0);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(T.t[2].wakes, 0);
	/* a grant that raced a signal is collected, not given away */
	EXPECT_EQ(bufpool_wait_done(e1, &t, -EINTR, T.t[1].bufs), 0);
	CHECK();
	bp_snapshot(T.pool, &s1);
	EXPECT_EQ(s1.allocations, s0.allocations + 1);
	EXPECT_EQ(T.t[1].e.nr_held, 1);
	/* collected by another caller of the same entity: call again */
	EXPECT_EQ(R(1, 0), 0);			/* 2 is served */
	EXPECT_EQ(A(2, NORM, 1), 0);
	EXPECT_EQ(bufpool_alloc_until(e1, NORM, 1, 0, BUFPOOL_NO_DEADLINE,
				      T.t[1].bufs, &t), -EAGAIN);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(A(1, NORM, 1), 0);		/* the other caller */
	EXPECT_EQ(bufpool_wait_done(e1, &t, 0, T.t[1].bufs), -EAGAIN);
	EXPECT_EQ(R(1, 0), 0);
	/* failed (lowered limit) */
	teardown();
}

static void set_policy(unsigned int policy)
{
	struct bufpool_tunables tun;
	const char *why;

	bufpool_get_tunables(T.pool, &tun);
	tun.policy = policy;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &tun, &why), 0);
}

/* Under the offer policy, offers nobody takes up lapse. */
static void test_offer_expiry(void)
{
	struct bp_snap s0, s1;
	unsigned int i;

	setup(4, 0);
	set_policy(BUFPOOL_POLICY_OFFER);
	EXPECT_EQ(A(0, NORM, 4), 0);
	for (i = 1; i <= 4; i++)
		EXPECT_EQ(A(i, NORM, 1), -EAGAIN);
	EXPECT(!bp_offer_expiry_pending(T.pool));
	bp_snapshot(T.pool, &s0);
	EXPECT_EQ(R(0, 3), 0);			/* 3 free: 1, 2, 3 offered */
	for (i = 1; i <= 3; i++)
		EXPECT_EQ(T.t[i].e.waiter.state, BUFPOOL_WAIT_OFFERED);
	EXPECT_EQ(T.t[4].wakes, 0);
	EXPECT_EQ(bp_nr_offered(T.pool), 3);
	EXPECT(bp_offer_expiry_pending(T.pool));
	/* too early: nothing lapses */
	EXPECT(bp_run_offer_expiry(T.pool));
	CHECK();
	EXPECT_EQ(bp_nr_offered(T.pool), 3);
	EXPECT(bp_offer_expiry_pending(T.pool));
	/* 1 takes its offer up in time */
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(bp_nr_offered(T.pool), 2);
	/* 2 and 3 never come back: their offers lapse, 4 is offered */
	bp_clock_skew += BUFPOOL_OFFER_TTL_NS;
	EXPECT(bp_run_offer_expiry(T.pool));
	CHECK();
	EXPECT_EQ(T.t[2].e.waiter.state, BUFPOOL_WAIT_IDLE);
	EXPECT_EQ(T.t[3].e.waiter.state, BUFPOOL_WAIT_IDLE);
	EXPECT_EQ(T.t[4].e.waiter.state, BUFPOOL_WAIT_OFFERED);
	EXPECT_EQ(T.t[4].wakes, 1);
	EXPECT(!bufpool_ready(&T.t[2].e));
	bp_snapshot(T.pool, &s1);
	EXPECT_EQ(s1.wakeups, s0.wakeups + 4);
	EXPECT_EQ(A(4, NORM, 1), 0);
	/* trying late is a new request */
	EXPECT_EQ(A(2, NORM, 1), 0);
	EXPECT_EQ(A(3, NORM, 1), -EAGAIN);
	EXPECT(!bp_offer_expiry_pending(T.pool) ||
	       bp_nr_offered(T.pool) == 0);
	/* lapsing also when nothing else ever happens: destroy of one */
	EXPECT_EQ(R(1, 0), 0);			/* 3 offered */
	EXPECT_EQ(T.t[3].e.waiter.state, BUFPOOL_WAIT_OFFERED);
	EXPECT_EQ(C(3), 0);			/* withdraws the offer */
	EXPECT_EQ(bp_nr_offered(T.pool), 0);
	set_policy(BUFPOOL_POLICY_HANDOFF);
	bp_clock_skew = 0;
	teardown();
}

/*
 * Release in two halves: a refused detach changes nothing; between the
 * halves the buffers are held by nobody, cannot be found by their old
 * holder nor granted to anyone, and still count against the budget.
 */
static void test_release_detach(void)
{
	struct bufpool_returning r;
	struct bp_snap a, b;
	u32 ids[2], other;

	setup(3, 0);
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(A(1, NORM, 1), 0);
	ids[0] = T.t[0].bufs[0]->id;
	ids[1] = T.t[0].bufs[1]->id;
	other = T.t[1].bufs[0]->id;
	bp_snapshot(T.pool, &a);
	EXPECT_EQ(bufpool_release_detach(&T.t[1].e, ids, 2, &r), -EPERM);
	EXPECT_EQ(r.count, 0);
	EXPECT_EQ(bufpool_release_detach(&T.t[0].e, &other, 1, &r), -EPERM);
	EXPECT_EQ(bufpool_release_detach(&T.t[0].e, ids, 0, &r), -EINVAL);
	bufpool_release_finish(T.pool, &r);	/* empty: nothing */
	CHECK();
	bp_snapshot(T.pool, &b);
	EXPECT(!memcmp(&a, &b, sizeof(a)));

	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);	/* waits for the pool */
	EXPECT_EQ(bufpool_release_detach(&T.t[0].e, ids, 2, &r), 0);
	EXPECT_EQ(r.count, 2);
	EXPECT(!bufpool_held_buf(&T.t[0].e, ids[0]));
	EXPECT(!bufpool_held_buf(&T.t[0].e, ids[1]));
	EXPECT_EQ(bufpool_release(&T.t[0].e, ids, 1), -ENOENT);
	EXPECT_EQ(T.t[2].wakes, 0);		/* not granted meanwhile */
	bp_snapshot(T.pool, &b);
	EXPECT_EQ(b.in_use, 3);
	bufpool_release_finish(T.pool, &r);
	EXPECT_EQ(T.t[2].wakes, 1);
	CHECK();
	EXPECT_EQ(A(2, NORM, 1), 0);
	teardown();
}

/*
 * The undo of a grant takes back only what its entity still holds from
 * that grant: not what a sibling released, nor what came back to the
 * entity in a later grant.
 */
static void test_undo_grant(void)
{
	struct bufpool_returning r;
	struct bp_snap s;
	u32 ids[3], again[2], copy[3];
	u64 grant, later;

	setup(4, 0);
	EXPECT_EQ(bufpool_alloc_until_ids(&T.t[0].e, NORM, 3, 0,
					  BUFPOOL_NO_DEADLINE, ids, &grant,
					  NULL), 0);
	CHECK();
	/* a sibling gives ids[1] back, then gets one buffer again */
	EXPECT_EQ(bufpool_release(&T.t[0].e, &ids[1], 1), 0);
	EXPECT_EQ(bufpool_alloc_until_ids(&T.t[0].e, NORM, 2, 0,
					  BUFPOOL_NO_DEADLINE, again, &later,
					  NULL), 0);
	EXPECT(later != grant);
	EXPECT(again[0] == ids[1] || again[1] == ids[1]);
	memcpy(copy, ids, sizeof(ids));
	EXPECT_EQ(bufpool_undo_detach(&T.t[0].e, copy, 3, grant, &r), 2);
	EXPECT_EQ(copy[0], ids[0]);
	EXPECT_EQ(copy[1], ids[2]);
	bufpool_release_finish(T.pool, &r);
	CHECK();
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 2);			/* the later grant stays */
	EXPECT_EQ(T.t[0].e.nr_held, 2);
	EXPECT_EQ(bufpool_undo_detach(&T.t[0].e, ids, 3, grant, &r), 0);
	bufpool_release_finish(T.pool, &r);
	EXPECT_EQ(bufpool_undo_detach(&T.t[1].e, again, 2, later, &r), 0);
	bufpool_release_finish(T.pool, &r);
	CHECK();
	EXPECT_EQ(T.t[0].e.nr_held, 2);
	EXPECT_EQ(bufpool_undo_detach(&T.t[0].e, again, 2, later, &r), 2);
	bufpool_release_finish(T.pool, &r);
	CHECK();
	EXPECT_EQ(T.t[0].e.nr_held, 0);
	teardown();
}

/*
 * Undoing a CRITICAL grant gives back its reserve mark with it: the
 * entity may take the same CRITICAL buffer again, and no more.
 */
/*
 * Quarantine: a buffer given back while its memory is referenced
 * elsewhere (pinned) is neither zeroed nor granted, stays in use, and
 * comes back like a release once the last pin goes; by RELEASE (dirty or
 * clean), by the two halves, and by entity destroy.
 */
static void test_quarantine(void)
{
	struct bufpool_returning r;
	struct bufpool_stats st;
	struct bufpool_buf *b, *c;
	unsigned char *p;
	u32 id;

	setup(2, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	b = T.t[0].bufs[0];
	p = b->addr;
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	bp_mem_pin(T.mem, b, 1);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(b->state, BUFPOOL_BUF_QUARANTINED);
	EXPECT_EQ(in_use(), 2);
	EXPECT_EQ(T.t[2].wakes, 0);		/* not handed on */
	EXPECT_EQ(p[0], 0xa5);			/* nor zeroed */
	bufpool_get_stats(T.pool, &st);
	EXPECT_EQ(st.quarantined, 1);
	EXPECT_EQ(st.allocated, 2);
	EXPECT_EQ(bp_mem_run_quarantine(T.mem), 0);	/* still pinned */
	CHECK();
	EXPECT_EQ(T.t[2].wakes, 0);
	bp_mem_pin(T.mem, b, -1);
	EXPECT_EQ(bp_mem_run_quarantine(T.mem), 1);
	CHECK();
	EXPECT_EQ(T.t[2].wakes, 1);		/* granted like a release */
	EXPECT(bp_mem_zeroed(T.mem, b));
	bufpool_get_stats(T.pool, &st);
	EXPECT_EQ(st.quarantined, 0);
	EXPECT_EQ(C(2), 0);			/* give the grant back */

	/* a clean buffer of a tracking entity takes the same way */
	T.t[3].e.tracks_dirty = true;
	EXPECT_EQ(bufpool_alloc(&T.t[3].e, NORM, 1, 0, T.t[3].bufs), 0);
	c = T.t[3].bufs[0];
	bp_mem_pin(T.mem, c, 2);
	EXPECT_EQ(R(3, 1), 0);
	EXPECT_EQ(c->state, BUFPOOL_BUF_QUARANTINED);
	bp_mem_pin(T.mem, c, -1);
	EXPECT_EQ(bp_mem_run_quarantine(T.mem), 0);
	bp_mem_pin(T.mem, c, -1);
	EXPECT_EQ(bp_mem_run_quarantine(T.mem), 1);
	CHECK();

	/* the two halves, as the character device releases */
	EXPECT_EQ(A(4, NORM, 1), 0);
	c = T.t[4].bufs[0];
	id = c->id;
	bp_mem_pin(T.mem, c, 1);
	EXPECT_EQ(bufpool_release_detach(&T.t[4].e, &id, 1, &r), 0);
	bufpool_release_finish(T.pool, &r);
	CHECK();
	EXPECT_EQ(c->state, BUFPOOL_BUF_QUARANTINED);
	EXPECT_EQ(A(5, NORM, 1), -EAGAIN);	/* its budget is still taken */
	bp_mem_pin(T.mem, c, -1);
	EXPECT_EQ(bp_mem_run_quarantine(T.mem), 1);
	CHECK();
	EXPECT_EQ(T.t[5].wakes, 1);
	EXPECT_EQ(C(5), 0);

	/* entity destroy; then pool destroy drains what is left */
	EXPECT_EQ(A(6, NORM, 1), 0);
	c = T.t[6].bufs[0];
	bp_mem_pin(T.mem, c, 1);
	D(6);
	EXPECT_EQ(c->state, BUFPOOL_BUF_QUARANTINED);
	bufpool_get_stats(T.pool, &st);
	EXPECT_EQ(st.quarantined, 1);
	EXPECT_EQ(in_use(), 2);
	bp_mem_pin(T.mem, c, -1);
	teardown();
}

/* An account whose references are counted, as the character device's. */
static struct {
	struct bufpool_account a;
	int refs;
} qa;

static void qa_get(struct bufpool_account *a)
{
	qa.refs++;
}

static void qa_put(struct bufpool_account *a)
{
	qa.refs--;
}

/*
 * A quarantined buffer stays charged to the account that gave it back,
 * with a reference on it, until it is back: after its entity is gone too.
 * Its quota is then full (-EDQUOT at once); a request only the account's
 * own quarantined buffers coming back could serve fails at once
 * (-EDEADLK); neither ever waits on the account's own pins.
 */
static void test_quarantine_quota(void)
{
	struct bufpool_account other = { 0 };
	struct bufpool_tunables t;
	struct bufpool_buf *b0, *b1, *c;
	const char *why;

	memset(&qa, 0, sizeof(qa));
	qa.a.get = qa_get;
	qa.a.put = qa_put;
	setup(4, 0);
	bufpool_get_tunables(T.pool, &t);
	t.quota = 2;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	bufpool_entity_set_account(&T.t[0].e, &qa.a);
	bufpool_entity_set_account(&T.t[1].e, &qa.a);
	bufpool_entity_set_account(&T.t[2].e, &other);

	EXPECT_EQ(A(0, NORM, 1), 0);
	b0 = T.t[0].bufs[0];
	bp_mem_pin(T.mem, b0, 1);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(b0->state, BUFPOOL_BUF_QUARANTINED);
	EXPECT_EQ(atomic_read(&qa.a.charged), 1);
	EXPECT_EQ(qa.refs, 1);
	EXPECT_EQ(A(0, NORM, 1), 0);
	b1 = T.t[0].bufs[0];
	bp_mem_pin(T.mem, b1, 1);
	D(0);					/* its file is gone */
	EXPECT_EQ(b1->state, BUFPOOL_BUF_QUARANTINED);
	EXPECT_EQ(atomic_read(&qa.a.charged), 2);
	EXPECT_EQ(qa.refs, 2);
	EXPECT_EQ(A(1, NORM, 1), -EDQUOT);	/* its own pins fill it */
	EXPECT_EQ(A_noq(1, NORM, 1), -EDQUOT);
	EXPECT_EQ(A(2, NORM, 2), 0);		/* the other account is not */
	EXPECT_EQ(R(2, 0), 0);
	CHECK();

	bp_mem_pin(T.mem, b0, -1);
	EXPECT_EQ(bp_mem_run_quarantine(T.mem), 1);
	EXPECT_EQ(atomic_read(&qa.a.charged), 1);
	EXPECT_EQ(qa.refs, 1);
	EXPECT_EQ(A(1, NORM, 1), 0);		/* room again */
	EXPECT_EQ(R(1, 0), 0);

	/* with the quota at the limit: only its own pins block it */
	t.quota = 4;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(A(1, NORM, 3), 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(A(1, NORM, 2), 0);
	b0 = T.t[1].bufs[0];
	c = T.t[1].bufs[1];
	bp_mem_pin(T.mem, b0, 1);
	bp_mem_pin(T.mem, c, 1);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(atomic_read(&qa.a.charged), 3);		/* 1 + 2 quarantined */
	EXPECT_EQ(A(1, NORM, 2), -EDEADLK);	/* 3 + 2 > 4, never waits */
	EXPECT_EQ(queued(NORM), 0);
	EXPECT_EQ(A(1, NORM, 1), 0);
	CHECK();
	bp_mem_pin(T.mem, b1, -1);
	bp_mem_pin(T.mem, b0, -1);
	bp_mem_pin(T.mem, c, -1);
	EXPECT_EQ(bp_mem_run_quarantine(T.mem), 3);
	EXPECT_EQ(qa.refs, 0);
	EXPECT_EQ(R(1, 0), 0);
	teardown();
	EXPECT_EQ(qa.refs, 0);
	EXPECT_EQ(atomic_read(&qa.a.charged), 0);
}

static void test_undo_critical(void)
{
	struct bufpool_returning r;
	u32 ids[1];
	u64 grant;

	setup(4, 1);
	T.t[0].e.critical_exempt = false;
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(bufpool_alloc_until_ids(&T.t[0].e, CRIT, 1, 0,
					  BUFPOOL_NO_DEADLINE, ids, &grant,
					  NULL), 0);
	EXPECT_EQ(T.t[0].e.nr_critical, 1);
	EXPECT_EQ(bufpool_undo_detach(&T.t[0].e, ids, 1, grant, &r), 1);
	EXPECT_EQ(T.t[0].e.nr_critical, 0);
	EXPECT_EQ(T.t[0].e.nr_held, 1);
	bufpool_release_finish(T.pool, &r);
	CHECK();
	EXPECT_EQ(A(0, CRIT, 1), 0);
	EXPECT_EQ(T.t[0].e.nr_critical, 1);
	EXPECT_EQ(A(0, CRIT, 1), -EPERM);
	CHECK();
	teardown();
}

/*
 * Adaptive policy, on a frozen clock: what comes back while a young head
 * fits is parked, a running request may take it (a barge) without anyone
 * being woken, and the window's timer grants what is left to the head.
 */
static void start_adaptive(unsigned int limit, unsigned int reserve)
{
	bp_clock_frozen = true;
	bp_clock_skew = 1000000000ULL;
	setup(limit, reserve);
	set_policy(BUFPOOL_POLICY_ADAPTIVE);
}

static void stop_adaptive(void)
{
	teardown();
	bp_clock_frozen = false;
	bp_clock_skew = 0;
}

/* Fire the park timer if it is due, and run its work. */
static bool P(void)
{
	bool ran = bp_run_park(T.pool, false);

	CHECK();
	return ran;
}

static void test_adaptive_barge(void)
{
	start_adaptive(1, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT(!bp_park_pending(T.pool));
	EXPECT_EQ(R(0, 0), 0);			/* parked for the head */
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT_EQ(cached(), 1);
	EXPECT(bp_park_pending(T.pool));
	EXPECT_EQ(bp_park_until(T.pool), ktime_get_ns() + BUFPOOL_PARK_NS);
	EXPECT_EQ(A(0, NORM, 1), 0);		/* the releaser takes it again */
	EXPECT_EQ(bp_barges(T.pool), 1);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(A(2, NORM, 1), 0);		/* so may any running request */
	EXPECT_EQ(bp_barges(T.pool), 2);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT(!P());				/* not due yet */
	EXPECT_EQ(T.t[1].wakes, 0);
	bp_clock_skew += BUFPOOL_PARK_NS;
	EXPECT(P());				/* they barged: renewed */
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT_EQ(bp_park_until(T.pool), ktime_get_ns() + BUFPOOL_PARK_NS);
	bp_clock_skew += BUFPOOL_PARK_NS;
	EXPECT(P());				/* nobody did: granted */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(T.t[1].e.waiter.state, BUFPOOL_WAIT_GRANTED);
	EXPECT_EQ(A(0, NORM, 1), -EAGAIN);
	EXPECT_EQ(A(1, NORM, 1), 0);		/* collects */
	EXPECT_EQ(R(1, 0), 0);			/* 0 young: parked again */
	EXPECT_EQ(T.t[0].wakes, 0);
	EXPECT(bp_park_pending(T.pool));
	bp_clock_skew += BUFPOOL_PARK_NS;
	EXPECT(P());
	EXPECT_EQ(T.t[0].wakes, 1);
	EXPECT_EQ(A(0, NORM, 1), 0);
	stop_adaptive();
}

/*
 * The window closes when its timer fires, whatever the clock says: from
 * then on the buffers are the head's and nobody barges; the first request
 * that finds it closed grants them, before the work would.  If a barger still holds them when the timer
 * fires, the next release grants at once.
 */
static void test_adaptive_window_closed(void)
{
	start_adaptive(2, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(3, NORM, 1), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 0), 0);			/* parked */
	EXPECT(bp_fire_park_timer(T.pool, true)); /* open by the clock */
	EXPECT(bp_park_closed(T.pool));
	EXPECT_EQ(A_noq(2, NORM, 1), -EAGAIN);	/* closed: no barging */
	EXPECT_EQ(A_noq(2, LOW, 1), -EAGAIN);
	EXPECT_EQ(bp_barges(T.pool), 0);
	EXPECT_EQ(T.t[1].wakes, 1);		/* the first look granted it */
	P();					/* its work: nothing left */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(A(1, NORM, 1), 0);
	/* a barger holds it when the timer fires */
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(1, 0), 0);			/* parked for 2 */
	EXPECT_EQ(A(0, NORM, 1), 0);		/* barges */
	bp_clock_skew += BUFPOOL_PARK_NS;
	EXPECT(P());				/* renewed */
	bp_clock_skew += BUFPOOL_PARK_NS;
	EXPECT(P());				/* nothing fits: nothing done */
	EXPECT_EQ(T.t[2].wakes, 0);
	EXPECT_EQ(A_noq(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 0), 0);			/* granted at once */
	EXPECT_EQ(T.t[2].wakes, 1);
	EXPECT(!bp_park_pending(T.pool));
	EXPECT_EQ(A(2, NORM, 1), 0);
	stop_adaptive();
}

/*
 * A head that has waited BUFPOOL_BARGE_NS is served as under hand-off: no
 * barging ahead of it (a more critical class still goes first) and a
 * grant as soon as it fits; a window never ends past the head's bound.
 */
static void test_adaptive_bound(void)
{
	start_adaptive(3, 0);
	EXPECT_EQ(A(0, NORM, 2), 0);
	EXPECT_EQ(A(1, NORM, 2), -EAGAIN);	/* wants 2, 1 free */
	EXPECT_EQ(A(2, NORM, 1), 0);		/* young head: may barge */
	EXPECT_EQ(bp_barges(T.pool), 1);
	EXPECT_EQ(R(2, 0), 0);			/* does not fit: no window */
	EXPECT(!bp_park_pending(T.pool));
	bp_clock_skew += BUFPOOL_BARGE_NS;
	EXPECT_EQ(A_noq(2, NORM, 1), -EAGAIN);	/* old head: no barging */
	EXPECT_EQ(A_noq(2, LOW, 1), -EAGAIN);
	EXPECT_EQ(A(3, CRIT, 1), 0);		/* a more critical class may */
	EXPECT_EQ(R(3, 0), 0);
	EXPECT_EQ(R(0, 1), 0);			/* fits: granted at once */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT(!bp_park_pending(T.pool));
	EXPECT_EQ(A(1, NORM, 2), 0);
	/* a window opened late closes at the head's bound */
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	bp_clock_skew += BUFPOOL_BARGE_NS - BUFPOOL_PARK_NS / 2;
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(T.t[2].wakes, 0);
	EXPECT_EQ(bp_park_until(T.pool),
		  ktime_get_ns() + BUFPOOL_PARK_NS / 2);
	bp_clock_skew += BUFPOOL_PARK_NS / 2;
	EXPECT(P());
	EXPECT_EQ(T.t[2].wakes, 1);
	EXPECT_EQ(A(2, NORM, 1), 0);
	stop_adaptive();
}

/* The window of a head that left closes with it: it stops no barge. */
static void test_adaptive_stale_window(void)
{
	start_adaptive(2, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(4, NORM, 1), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 0), 0);			/* parked for 1 */
	EXPECT_EQ(C(1), 0);			/* 1 leaves */
	EXPECT_EQ(bp_park_until(T.pool), 0);
	bp_clock_skew += BUFPOOL_PARK_NS;
	P();					/* the timer finds nothing */
	EXPECT_EQ(A(2, NORM, 2), -EAGAIN);	/* a young head, 1 free */
	EXPECT_EQ(A(3, NORM, 1), 0);		/* may be overtaken */
	EXPECT_EQ(bp_barges(T.pool), 1);
	EXPECT_EQ(R(3, 0), 0);
	EXPECT_EQ(R(4, 0), 0);			/* fits: parked */
	bp_clock_skew += BUFPOOL_PARK_NS;
	EXPECT(P());
	EXPECT_EQ(T.t[2].wakes, 1);
	EXPECT_EQ(T.t[1].wakes, 0);
	stop_adaptive();
}

/*
 * A late timer: the window stays open, and barges go on, for as long as
 * its timer is late, even past the head's bound (the bound is
 * BUFPOOL_BARGE_NS plus the timer's lateness); once it fires, they stop
 * and the head is granted.  A head of a less critical class that has
 * waited BUFPOOL_BARGE_NS stops the barges of its class meanwhile.
 */
static void test_adaptive_late_timer(void)
{
	start_adaptive(2, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(3, NORM, 1), 0);
	EXPECT_EQ(A(4, LOW, 1), -EAGAIN);	/* LOW head, queued first */
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);	/* NORMAL head */
	bp_clock_skew += BUFPOOL_BARGE_NS - BUFPOOL_PARK_NS / 2;
	EXPECT_EQ(R(0, 0), 0);			/* parked for 1, to its bound */
	EXPECT_EQ(bp_park_until(T.pool), ktime_get_ns() + BUFPOOL_PARK_NS / 2);
	bp_clock_skew += BUFPOOL_BARGE_NS;	/* past both bounds, not fired */
	EXPECT(!bp_park_closed(T.pool));
	EXPECT_EQ(A(0, NORM, 1), 0);		/* barges ahead of 1 */
	EXPECT_EQ(bp_barges(T.pool), 1);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(A_noq(2, LOW, 1), -EAGAIN);	/* 4 is past its bound */
	EXPECT_EQ(bp_barges(T.pool), 1);
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT(P());				/* fires, late: granted */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(A_noq(0, NORM, 1), -EAGAIN);
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(T.t[4].wakes, 0);
	EXPECT_EQ(R(1, 0), 0);			/* 4 is old: granted at once */
	EXPECT_EQ(T.t[4].wakes, 1);
	EXPECT_EQ(A(4, LOW, 1), 0);
	stop_adaptive();
}

/*
 * A timer so late that the first head's bound has passed: barges ahead of
 * it stop within BUFPOOL_PARK_LOOKS looks (a barging ALLOC looks twice),
 * the window closes and what is parked is granted to the head, without
 * the timer.
 */
static void test_adaptive_overdue(void)
{
	unsigned int n;

	start_adaptive(1, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);	/* the head */
	EXPECT_EQ(R(0, 0), 0);			/* parked for 1 */
	EXPECT(bp_park_until(T.pool) != 0);
	bp_clock_skew += 2 * BUFPOOL_BARGE_NS;	/* past its bound, not fired */
	for (n = 0; n < 4 * BUFPOOL_PARK_LOOKS; n++) {
		if (A_noq(0, NORM, 1))
			break;
		EXPECT_EQ(R(0, 0), 0);
	}
	EXPECT(n < BUFPOOL_PARK_LOOKS);
	EXPECT_EQ(T.t[1].wakes, 1);		/* the window's end granted it */
	EXPECT(!bp_park_until(T.pool));
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(R(1, 0), 0);
	stop_adaptive();
}

/*
 * When the first head leaves, the window must still end by the bound of
 * the one that is first now, which may be older (of a less critical
 * class): its end and its timer move there.
 */
static void test_adaptive_rebound(void)
{
	start_adaptive(2, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(3, NORM, 1), 0);
	EXPECT_EQ(A(4, LOW, 1), -EAGAIN);
	bp_clock_skew += BUFPOOL_BARGE_NS - BUFPOOL_PARK_NS / 2;
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 0), 0);			/* parked for 1 */
	EXPECT_EQ(bp_park_until(T.pool), ktime_get_ns() + BUFPOOL_PARK_NS);
	EXPECT_EQ(C(1), 0);			/* 1 leaves: 4 is first */
	EXPECT_EQ(bp_park_until(T.pool), ktime_get_ns() + BUFPOOL_PARK_NS / 2);
	EXPECT_EQ(bp_park_expires(T.pool), bp_park_until(T.pool));
	EXPECT_EQ(A(0, LOW, 1), 0);		/* 4 is young yet: a barge */
	EXPECT_EQ(R(0, 0), 0);
	bp_clock_skew += BUFPOOL_PARK_NS / 2;
	EXPECT(P());				/* at 4's bound: granted */
	EXPECT_EQ(T.t[4].wakes, 1);
	EXPECT_EQ(T.t[1].wakes, 0);
	EXPECT_EQ(A(4, LOW, 1), 0);
	stop_adaptive();
}

/*
 * Someone barged in the window's period: another period, and so on up to
 * the head's bound, never past it; a period without a barge ends it.
 */
static void test_adaptive_renew(void)
{
	unsigned int periods = 0;
	u64 bound;

	start_adaptive(1, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	bound = ktime_get_ns() + BUFPOOL_BARGE_NS;
	EXPECT_EQ(R(0, 0), 0);			/* parked */
	while (!T.t[1].wakes && periods < 2 * BUFPOOL_BARGE_NS / BUFPOOL_PARK_NS) {
		EXPECT_EQ(A(0, NORM, 1), 0);	/* barges */
		EXPECT_EQ(R(0, 0), 0);
		if (bp_clock_skew < bp_park_expires(T.pool))
			bp_clock_skew = bp_park_expires(T.pool);
		EXPECT(P());
		periods++;
	}
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(ktime_get_ns(), bound);	/* up to its bound, not past */
	EXPECT_EQ(periods, BUFPOOL_BARGE_NS / BUFPOOL_PARK_NS);
	EXPECT_EQ(bp_barges(T.pool), periods);
	/* a period without a barge ends the window */
	EXPECT_EQ(A(0, NORM, 1), -EAGAIN);
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(R(1, 0), 0);			/* parked for 0 */
	bp_clock_skew += BUFPOOL_PARK_NS;
	EXPECT(P());
	EXPECT_EQ(T.t[0].wakes, 1);
	EXPECT_EQ(A(0, NORM, 1), 0);
	stop_adaptive();
}

/*
 * Only a barge of the first head's class renews the window: one of a less
 * critical class leaves buffers the head could use idle meanwhile.
 */
static void test_adaptive_renew_class(void)
{
	start_adaptive(2, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(3, NORM, 1), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 0), 0);			/* parked for 1 */
	EXPECT_EQ(A(2, LOW, 1), 0);		/* barges, LOW */
	EXPECT_EQ(bp_barges(T.pool), 1);
	EXPECT_EQ(R(2, 0), 0);
	bp_clock_skew += BUFPOOL_PARK_NS;
	EXPECT(P());				/* not renewed: granted */
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(A(1, NORM, 1), 0);
	stop_adaptive();
}

/* Parked or not, the queue is served in order, one wake-up per grant. */
static void test_adaptive_fifo(void)
{
	unsigned int i;

	start_adaptive(1, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	for (i = 1; i <= 3; i++)
		EXPECT_EQ(A(i, NORM, 1), -EAGAIN);
	for (i = 1; i <= 3; i++) {
		EXPECT_EQ(R(i - 1, 0), 0);
		EXPECT_EQ(T.t[i].wakes, 0);
		bp_clock_skew += BUFPOOL_PARK_NS;
		EXPECT(P());
		EXPECT_EQ(T.t[i].wakes, 1);
		if (i < 3)
			EXPECT_EQ(T.t[i + 1].wakes, 0);
		EXPECT_EQ(A(i, NORM, 1), 0);
	}
	EXPECT_EQ(T.wakes, 3);
	EXPECT_EQ(bp_barges(T.pool), 0);
	stop_adaptive();
}

/*
 * An entity that never shared its buffers gets those with nothing to zero
 * back in the pool within bufpool_release_detach(): nothing left to
 * revoke or finish, the next waiter served at once.  Once shared, or for
 * a dirty buffer, the release waits for bufpool_release_finish() again.
 */
static int A_clean(unsigned int i, unsigned int class, unsigned int count)
{
	int ret = bufpool_alloc(&T.t[i].e, class, count, 0, T.t[i].bufs);

	CHECK();
	return ret;
}

static void test_release_unshared(void)
{
	struct bufpool_returning r;
	u32 ids[2];

	setup(2, 0);
	/* they write nothing: nothing to zero unless marked */
	T.t[0].e.tracks_dirty = true;
	T.t[1].e.tracks_dirty = true;
	EXPECT_EQ(A_clean(0, NORM, 2), 0);
	ids[0] = T.t[0].bufs[0]->id;
	ids[1] = T.t[0].bufs[1]->id;
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(bufpool_release_detach(&T.t[0].e, ids, 1, &r), 0);
	EXPECT_EQ(r.count, 0);
	EXPECT_EQ(T.t[1].wakes, 1);		/* granted in the same call */
	EXPECT_EQ(in_use(), 2);
	bufpool_release_finish(T.pool, &r);	/* nothing left to do */
	CHECK();
	EXPECT_EQ(A_clean(1, NORM, 1), 0);

	/* a buffer that may hold data is zeroed outside the lock first */
	bufpool_buf_mark_dirty(T.t[0].bufs[1]);
	memset(T.t[0].bufs[1]->addr, 0xa5, 64);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	EXPECT_EQ(bufpool_release_detach(&T.t[0].e, &ids[1], 1, &r), 0);
	EXPECT_EQ(r.count, 1);
	EXPECT_EQ(T.t[2].wakes, 0);
	bufpool_release_finish(T.pool, &r);
	EXPECT_EQ(T.t[2].wakes, 1);
	CHECK();
	EXPECT_EQ(A(2, NORM, 1), 0);

	/* shared: the caller revokes between the halves */
	WRITE_ONCE(T.t[1].e.shared, true);
	ids[0] = T.t[1].bufs[0]->id;
	EXPECT_EQ(A_clean(0, NORM, 1), -EAGAIN);
	EXPECT_EQ(bufpool_release_detach(&T.t[1].e, ids, 1, &r), 0);
	EXPECT_EQ(r.count, 1);
	EXPECT_EQ(T.t[0].wakes, 0);
	EXPECT_EQ(in_use(), 2);
	bufpool_release_finish(T.pool, &r);
	EXPECT_EQ(T.t[0].wakes, 1);
	CHECK();
	teardown();
}

static u32 collected_ids[BUFPOOL_ALLOC_MAX];
static unsigned int collected;
static u64 collected_grant;

/* A ->notify() that collects the grant on the spot, as the device may. */
static void t_notify_collect(struct bufpool_waiter *w)
{
	struct bufpool_entity *e = &((struct tent *)w->target)->e;

	collected = bufpool_collect_granted_locked(e, collected_ids,
						   &collected_grant);
	t_notify(w);
}

/*
 * A grant collected from ->notify() is the entity's at once, as if the
 * same ALLOC had collected it: held, no request left, undoable by its
 * grant number; a wake-up for anything else collects nothing.
 */
static void test_collect_on_wake(void)
{
	struct bufpool_tunables tun;
	struct bufpool_returning r;
	const char *why;
	u32 ids[2];

	setup(2, 0);
	T.t[1].e.waiter.notify = t_notify_collect;
	EXPECT_EQ(A(0, NORM, 2), 0);
	ids[0] = T.t[0].bufs[0]->id;
	ids[1] = T.t[0].bufs[1]->id;
	EXPECT_EQ(A_flags(1, NORM, 2, BUFPOOL_ALLOC_COLLECT), -EAGAIN);
	EXPECT_EQ(R(0, 2), 0);
	EXPECT_EQ(collected, 2);
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(T.t[1].e.nr_held, 2);
	EXPECT_EQ(T.t[1].e.waiter.state, BUFPOOL_WAIT_IDLE);
	EXPECT(!bufpool_ready(&T.t[1].e));
	EXPECT(bufpool_held_buf(&T.t[1].e, collected_ids[0]));
	EXPECT(bufpool_held_buf(&T.t[1].e, collected_ids[1]));
	EXPECT(collected_ids[0] != collected_ids[1]);
	EXPECT(collected_ids[0] == ids[0] || collected_ids[0] == ids[1]);
	EXPECT_EQ(bufpool_cancel(&T.t[1].e), -ENOENT);
	CHECK();
	/* the same class and count again is a new request */
	EXPECT_EQ(A(1, NORM, 2), -EDEADLK);
	EXPECT_EQ(bufpool_undo_detach(&T.t[1].e, collected_ids, 2,
				      collected_grant, &r), 2);
	bufpool_release_finish(T.pool, &r);
	CHECK();
	EXPECT_EQ(in_use(), 0);

	/* a failure woken is not a grant: nothing collected */
	collected = 99;
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A_flags(1, NORM, 2, BUFPOOL_ALLOC_COLLECT), -EAGAIN);
	bufpool_get_tunables(T.pool, &tun);
	tun.limit = 1;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &tun, &why), 0);
	EXPECT_EQ(collected, 0);
	EXPECT_EQ(A(1, NORM, 2), -ENOSPC);
	CHECK();
	teardown();
}

/*
 * Who collects a grant is the request's, fixed when it is queued: ->notify()
 * collects only a request queued with BUFPOOL_ALLOC_COLLECT, and no later
 * call changes that, refused (-EBUSY) or the same class and count finding
 * its request queued, or taking its offer up.
 */
static void test_collect_mode(void)
{
	struct bufpool_tunables tun;
	const char *why;

	setup(2, 0);
	T.t[1].e.waiter.notify = t_notify_collect;
	EXPECT_EQ(A(0, NORM, 2), 0);

	/* queued for a call to collect */
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(A_flags(1, NORM, 2, BUFPOOL_ALLOC_COLLECT), -EBUSY);
	EXPECT_EQ(A_flags(1, LOW, 1, BUFPOOL_ALLOC_COLLECT |
			  BUFPOOL_ALLOC_NOQUEUE), -EBUSY);
	EXPECT_EQ(A_flags(1, NORM, 1, BUFPOOL_ALLOC_COLLECT), -EAGAIN);
	collected = 99;
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[1].wakes, 1);
	EXPECT_EQ(collected, 0);
	EXPECT_EQ(T.t[1].e.waiter.state, BUFPOOL_WAIT_GRANTED);
	EXPECT_EQ(T.t[1].e.nr_held, 0);
	EXPECT_EQ(A(1, NORM, 1), 0);		/* the call collects */
	EXPECT_EQ(T.t[1].e.nr_held, 1);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(A(0, NORM, 1), 0);

	/* queued for ->notify() to collect */
	EXPECT_EQ(A_flags(1, NORM, 1, BUFPOOL_ALLOC_COLLECT), -EAGAIN);
	EXPECT_EQ(A(1, NORM, 2), -EBUSY);
	EXPECT_EQ(A_noq(1, LOW, 1), -EBUSY);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	collected = 99;
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(collected, 1);
	EXPECT_EQ(T.t[1].e.nr_held, 1);
	EXPECT_EQ(T.t[1].e.waiter.state, BUFPOOL_WAIT_IDLE);
	EXPECT_EQ(bufpool_cancel(&T.t[1].e), -ENOENT);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(A(0, NORM, 1), 0);

	/*
	 * An offer taken up by the same request, which queues again: as it
	 * was first queued, for a call to collect once the policy grants.
	 */
	bufpool_get_tunables(T.pool, &tun);
	tun.policy = BUFPOOL_POLICY_OFFER;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &tun, &why), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(T.t[1].e.waiter.state, BUFPOOL_WAIT_OFFERED);
	EXPECT_EQ(A(2, NORM, 1), 0);		/* overtakes, as offer lets it */
	EXPECT_EQ(A_flags(1, NORM, 1, BUFPOOL_ALLOC_COLLECT), -EAGAIN);
	EXPECT_EQ(T.t[1].e.waiter.state, BUFPOOL_WAIT_QUEUED);
	tun.policy = BUFPOOL_POLICY_HANDOFF;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &tun, &why), 0);
	collected = 99;
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(collected, 0);
	EXPECT_EQ(T.t[1].e.waiter.state, BUFPOOL_WAIT_GRANTED);
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT_EQ(R(1, 0), 0);
	CHECK();
	teardown();
}

/*
 * The per-CPU magazines.  warm() gives the pool @n cached buffers (the
 * magazines only ever take cached ones, so that the reserve stays in
 * the shared cache); entity 7 does it with one CRITICAL request of @n
 * from an empty pool, which no magazine can serve.
 */
static void warm(unsigned int n)
{
	EXPECT_EQ(A(7, CRIT, n), 0);
	EXPECT_EQ(R(7, 0), 0);
	EXPECT(!bp_fast(T.pool));
}

/* Entities 0 on CPU 0 and 1 on CPU 1 take one LOW buffer each. */
static void fill_magazines(void)
{
	bp_cpu = 0;
	EXPECT_EQ(A(0, LOW, 1), 0);
	bp_cpu = 1;
	EXPECT_EQ(A(1, LOW, 1), 0);
	bp_cpu = 0;
	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(bp_mag_nr(T.pool, 0), 7);
	EXPECT_EQ(bp_mag_nr(T.pool, 1), 7);
}

static void test_percpu_budget(void)
{
	unsigned long long fast0;

	setup(32, 1);			/* headroom 0 / 1 / 2 */
	warm(20);
	fast0 = bp_fast_allocs(T.pool);
	fill_magazines();
	/* each refilled its CPU's magazine, then was served from it */
	EXPECT_EQ(bp_fast_allocs(T.pool), fast0 + 2);
	EXPECT_EQ(in_use(), 2);
	EXPECT_EQ(cached(), 18);	/* the magazines' buffers are cached */
	bp_cpu = 1;
	EXPECT_EQ(A(1, NORM, 2), 0);	/* from CPU 1's magazine */
	EXPECT_EQ(bp_fast_allocs(T.pool), fast0 + 3);
	EXPECT_EQ(bp_mag_nr(T.pool, 1), 5);
	EXPECT_EQ(R(1, 0), 0);		/* back to it */
	EXPECT_EQ(bp_mag_nr(T.pool, 1), 8);
	bp_cpu = 0;
	/*
	 * 2 + 29 + 1 <= 32 fits, but not with the 14 buffers charged to
	 * the magazines: they are drained, and it is served, not queued.
	 */
	EXPECT_EQ(A(2, NORM, 29), 0);
	EXPECT(!bp_fast(T.pool));
	EXPECT_EQ(bp_mag_nr(T.pool, 0) + bp_mag_nr(T.pool, 1), 0);
	EXPECT_EQ(in_use(), 30);
	EXPECT_EQ(A(3, LOW, 1), -EAGAIN);	/* 30 + 1 + 2 > 32 */
	EXPECT_EQ(A_noq(4, NORM, 2), -EAGAIN);	/* 30 + 2 + 1 > 32 */
	EXPECT_EQ(C(3), 0);
	EXPECT_EQ(R(2, 0), 0);
	teardown();
}

static void test_percpu_fifo(void)
{
	setup(64, 1);			/* headroom 0 / 1 / 2 */
	warm(20);
	fill_magazines();
	/* 2 + 63 + 1 > 64: it waits, far from the limit */
	EXPECT_EQ(A(2, NORM, 63), -EAGAIN);
	EXPECT(!bp_fast(T.pool));
	/* nobody passes it through a magazine, on either CPU */
	EXPECT_EQ(A(3, NORM, 1), -EAGAIN);
	bp_cpu = 1;
	EXPECT_EQ(A(4, LOW, 1), -EAGAIN);
	EXPECT_EQ(A_noq(5, LOW, 1), -EAGAIN);
	EXPECT_EQ(A(1, LOW, 1), -EAGAIN);
	EXPECT_EQ(bp_mag_nr(T.pool, 0) + bp_mag_nr(T.pool, 1), 0);
	/* what comes back goes to the head, in order */
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(C(1), 0);
	EXPECT_EQ(R(1, 0), 0);
	while (G())
		;
	EXPECT_EQ(T.t[2].wakes, 1);
	EXPECT_EQ(T.t[3].wakes, 0);
	EXPECT_EQ(T.t[4].wakes, 0);
	EXPECT_EQ(A(2, NORM, 63), 0);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(T.t[3].wakes, 1);
	EXPECT_EQ(T.t[4].wakes, 1);
	EXPECT(T.t[3].wake_seq < T.t[4].wake_seq);	/* NORMAL first */
	bp_cpu = 0;
	teardown();
}

static void test_percpu_quota(void)
{
	struct bufpool_account acct = { 0 };
	struct bufpool_tunables t;
	const char *why;

	setup(32, 1);
	warm(20);
	bufpool_entity_set_account(&T.t[0].e, &acct);
	bufpool_entity_set_account(&T.t[1].e, &acct);
	fill_magazines();
	bp_cpu = 1;
	EXPECT_EQ(A(1, NORM, 2), 0);	/* from the magazine */
	bp_cpu = 0;
	EXPECT_EQ(atomic_read(&acct.charged), 4);
	bufpool_get_tunables(T.pool, &t);
	t.quota = 5;			/* at run time: exact from now on */
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT(!bp_fast(T.pool));
	EXPECT_EQ(A(0, LOW, 2), -EDQUOT);	/* 4 + 2 > 5 */
	EXPECT_EQ(A(0, LOW, 1), 0);
	EXPECT_EQ(atomic_read(&acct.charged), 5);
	EXPECT(!bp_fast(T.pool));	/* no magazine under a quota */
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(atomic_read(&acct.charged), 0);
	teardown();
}

static void test_percpu_tunables(void)
{
	struct bufpool_tunables t;
	struct bp_snap s;
	const char *why;

	setup(32, 1);
	warm(20);
	fill_magazines();
	bufpool_get_tunables(T.pool, &t);
	t.limit = 8;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT(!bp_fast(T.pool));
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 2);
	EXPECT_EQ(s.nr_alloc, 8);	/* the magazines' memory is trimmed */
	EXPECT_EQ(A(2, NORM, 5), 0);	/* 2 + 5 + 1 <= 8 */
	bp_cpu = 1;
	EXPECT_EQ(A(3, LOW, 1), -EAGAIN);	/* 7 + 1 + 2 > 8 */
	EXPECT_EQ(A_noq(4, NORM, 1), -EAGAIN);
	bp_cpu = 0;
	EXPECT_EQ(C(3), 0);
	teardown();
}

static void test_percpu_stats(void)
{
	struct bufpool_stats st;
	struct bp_snap s0;

	setup(32, 1);
	warm(20);
	bp_snapshot(T.pool, &s0);
	fill_magazines();
	bufpool_get_stats(T.pool, &st);
	EXPECT_EQ(st.in_use, 2);
	EXPECT_EQ(st.free, 30);
	EXPECT_EQ(st.allocated, 20);
	EXPECT_EQ(st.allocations, s0.allocations + 2);
	EXPECT_EQ(R(0, 0), 0);		/* into CPU 0's magazine */
	EXPECT(bp_fast(T.pool));
	bufpool_get_stats(T.pool, &st);
	EXPECT_EQ(st.in_use, 1);
	EXPECT_EQ(st.releases, s0.releases + 1);
	teardown();
}

static unsigned long long drains(void)
{
	struct bufpool_stats st;

	bufpool_get_stats(T.pool, &st);
	return st.drains;
}

/*
 * Stop the magazines and empty the slots: a change of tunables to the
 * same values drains, and does nothing else.
 */
static void drain(void)
{
	struct bufpool_tunables t;
	const char *why;

	bufpool_get_tunables(T.pool, &t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT(!bp_fast(T.pool));
	CHECK();
}

/* STATS drains counts the drains that stopped the magazines, no other. */
static void test_percpu_drains(void)
{
	struct bufpool_tunables t;
	unsigned long long d0;
	const char *why;
	unsigned int i;

	setup(32, 1);
	warm(20);
	d0 = drains();
	fill_magazines();
	for (i = 0; i < 100; i++) {	/* the magazines serve: no drain */
		EXPECT_EQ(R(0, 0), 0);
		EXPECT_EQ(A(0, LOW, 1), 0);
	}
	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(drains(), d0);	/* STATS pause them, no drain */
	bufpool_get_tunables(T.pool, &t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT(!bp_fast(T.pool));
	EXPECT_EQ(drains(), d0 + 1);
	/* stopped already: a second change drains nothing */
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(drains(), d0 + 1);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(R(1, 0), 0);
	teardown();
}

static void test_percpu_grants(void)
{
	u32 ids1[2], ids2[2];
	struct bufpool_returning r;
	u64 g1, g2;

	setup(32, 1);
	warm(20);
	fill_magazines();
	EXPECT_EQ(bufpool_alloc_until_ids(&T.t[0].e, LOW, 2, 0,
					  BUFPOOL_NO_DEADLINE, ids1, &g1,
					  NULL), 0);
	EXPECT_EQ(bufpool_alloc_until_ids(&T.t[0].e, LOW, 2, 0,
					  BUFPOOL_NO_DEADLINE, ids2, &g2,
					  NULL), 0);
	EXPECT(g1 != g2);
	/* the buffers of the second grant are not the first's */
	memcpy(ids1, ids2, sizeof(ids1));
	EXPECT_EQ(bufpool_undo_detach(&T.t[0].e, ids1, 2, g1, &r), 0);
	bufpool_release_finish(T.pool, &r);
	EXPECT_EQ(bufpool_undo_detach(&T.t[0].e, ids2, 2, g2, &r), 2);
	bufpool_release_finish(T.pool, &r);
	EXPECT_EQ(T.t[0].e.nr_held, 3);
	teardown();
}

/*
 * CRITICAL requests are served by the magazines too, under the same
 * reserve rule as the locked path, read on the entity's own counts.
 */
static void test_percpu_critical(void)
{
	unsigned long long fast0;
	struct bp_snap s0, s1;

	setup(32, 1);
	warm(20);
	fill_magazines();
	T.t[0].e.critical_exempt = false;
	T.t[5].e.critical_exempt = false;
	fast0 = bp_fast_allocs(T.pool);
	/* holds 1 LOW: 1 >= 0 + 1, a magazine serves it */
	EXPECT_EQ(A(0, CRIT, 1), 0);
	EXPECT_EQ(bp_fast_allocs(T.pool), fast0 + 1);
	EXPECT_EQ(T.t[0].e.nr_critical, 1);
	EXPECT(bp_fast(T.pool));
	/* 1 non-critical < 1 + 1: refused, and nothing changed */
	bp_snapshot(T.pool, &s0);
	EXPECT_EQ(A(0, CRIT, 1), -EPERM);
	bp_snapshot(T.pool, &s1);
	EXPECT(!memcmp(&s0, &s1, sizeof(s0)));
	EXPECT_EQ(T.t[0].e.nr_critical, 1);
	EXPECT_EQ(T.t[0].e.nr_held, 2);
	/* one holding nothing may not take the reserve at all */
	EXPECT_EQ(A(5, CRIT, 1), -EPERM);
	EXPECT_EQ(bp_fast_allocs(T.pool), fast0 + 1);
	/* its release counts the critical buffer back */
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(T.t[0].e.nr_held, 0);
	EXPECT_EQ(T.t[0].e.nr_critical, 0);
	teardown();
}

/*
 * Far from the limit, a locked allocation that finds its CPU's magazine
 * empty and only the reserve's buffers cached grows the cache instead of
 * draining the magazines (which would send every CPU to the pool lock
 * until the next refill): NORMAL before anything is drained, CRITICAL
 * by growing for the reserve it would otherwise take.  A refused call
 * grows nothing; past LOW's budget the magazines are drained as before.
 */
static void test_percpu_grow(void)
{
	unsigned long long d0;
	struct bp_snap s;

	setup(32, 2);			/* headroom 0 / 2 / 4 */
	warm(4);
	/* CPU 0's refill leaves the reserve cached; one stays in its magazine */
	EXPECT_EQ(A(0, LOW, 1), 0);
	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(bp_mag_nr(T.pool, 0), 1);
	EXPECT_EQ(cached(), 3);		/* 2 shared + 1 in the magazine */
	d0 = drains();

	/* CPU 1's magazine is empty, the cache at the reserve */
	bp_cpu = 1;
	T.t[1].e.critical_exempt = false;
	EXPECT_EQ(A(1, NORM, 1), 0);
	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(drains(), d0);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), 1);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 5);
	EXPECT_EQ(s.nr_cached, 3);

	/* CRITICAL may take the reserve, but the pool grows for it */
	EXPECT_EQ(A(1, CRIT, 1), 0);
	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(drains(), d0);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), 1);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 6);
	EXPECT_EQ(s.nr_cached, 3);

	/* refused (1 non-critical < 1 + 1): no growth, no drain */
	EXPECT_EQ(A(1, CRIT, 1), -EPERM);
	EXPECT_EQ(drains(), d0);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 6);

	/* 4 (the magazine's included) + 24 + 4 <= 32: grown */
	EXPECT_EQ(A(2, NORM, 24), 0);
	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(drains(), d0);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 30);
	/* 28 + 1 + 4 > 32: drained, then served exactly, nothing grown */
	EXPECT_EQ(A(3, NORM, 1), 0);
	EXPECT(!bp_fast(T.pool));
	EXPECT_EQ(drains(), d0 + 1);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 30);
	EXPECT_EQ(s.in_use, 28);
	EXPECT_EQ(s.nr_cached, 2);
	bp_cpu = 0;
	teardown();
}

static void test_percpu_destroy(void)
{
	struct bp_mem_stats ms;
	unsigned int i;

	setup(32, 1);
	warm(20);
	fill_magazines();
	for (i = 0; i < NR_ENTS; i++)
		D(i);
	bp_mem_get_stats(T.mem, &ms);
	EXPECT_EQ(ms.live, 20);
	bufpool_destroy(T.pool);	/* WARNs if in_use is not 0 */
}

struct test {
	const char *name;
	void (*fn)(void);
};

static unsigned int shrink_destroys;

/* Destroy hook: a buffer the shrinker frees is nobody's and unfindable. */
static void shrink_destroy_hook(struct bufpool_buf *buf)
{
	if (bp_pool_locked(T.pool))
		FAIL("shrunk buffer %u destroyed under the pool lock", buf->id);
	if (bufpool_mem_lookup(T.mem, buf->id))
		FAIL("shrunk buffer %u still found by lookups", buf->id);
	if (buf->state != BUFPOOL_BUF_CACHED || buf->owner)
		FAIL("shrunk buffer %u in state %u owner %p", buf->id,
		     buf->state, buf->owner);
	shrink_destroys++;
}

static unsigned int S(unsigned int nr)
{
	unsigned int n;

	bp_mem_destroy_hook = shrink_destroy_hook;
	shrink_destroys = 0;
	n = bufpool_shrink(T.pool, nr);
	bp_mem_destroy_hook = NULL;
	EXPECT_EQ(shrink_destroys, n);
	CHECK();
	return n;
}

static unsigned long long shrunk(void)
{
	struct bufpool_stats st;

	bufpool_get_stats(T.pool, &st);
	return st.shrunk;
}

/*
 * The shrinker takes cached buffers beyond the reserve only: never a held
 * one (its data stays), never below the reserve; the pool grows again.
 */
static void test_shrink(void)
{
	struct bufpool_buf *buf;
	struct bp_mem_stats m0, m1;
	struct bp_snap s;

	setup(16, 2);
	EXPECT_EQ(A(0, NORM, 10), 0);
	EXPECT_EQ(R(0, 6), 0);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 4);
	EXPECT_EQ(s.nr_cached, 8);
	EXPECT_EQ(bufpool_shrink_count(T.pool), 6);

	bp_mem_get_stats(T.mem, &m0);
	EXPECT_EQ(S(2), 2);
	EXPECT_EQ(cached(), 6);
	EXPECT_EQ(shrunk(), 2);
	EXPECT_EQ(S(100), 4);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, s.in_use + s.reserve);
	EXPECT_EQ(s.nr_cached, 2);
	EXPECT_EQ(shrunk(), 6);
	EXPECT_EQ(bufpool_shrink_count(T.pool), 0);
	EXPECT_EQ(S(100), 0);
	bp_mem_get_stats(T.mem, &m1);
	EXPECT_EQ(m1.destroys - m0.destroys, 6);
	EXPECT_EQ(m1.hides - m0.hides, 6);

	/* the holder's buffers are untouched */
	EXPECT_EQ(T.t[0].e.nr_held, 4);
	list_for_each_entry(buf, &T.t[0].e.held, node)
		EXPECT_EQ(((unsigned char *)buf->addr)[63], 0xa5);

	/* allocation still works: the pool grows again */
	EXPECT_EQ(A(1, NORM, 10), 0);
	EXPECT_EQ(in_use(), 14);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(R(0, 0), 0);
	teardown();

	/* reserve 0: everything cached may go */
	setup(4, 0);
	EXPECT_EQ(A(0, LOW, 3), 0);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(S(3), 3);
	EXPECT_EQ(cached(), 0);
	EXPECT_EQ(A(0, LOW, 3), 0);
	teardown();
}

/*
 * Queued requests keep the cached buffers they will take once the budget
 * lets them: a release serves them from the cache, without growing.
 */
static void test_shrink_keeps_queued(void)
{
	struct bp_mem_stats m0, m1;
	unsigned int n;

	/* limit 16, reserve 2: NORMAL headroom 2 */
	setup(16, 2);
	EXPECT_EQ(A(0, NORM, 14), 0);
	EXPECT_EQ(R(0, 2), 0);			/* in_use 12, cached 4 */
	EXPECT_EQ(A(1, NORM, 3), -EAGAIN);	/* 12 + 3 + 2 > 16 */
	EXPECT_EQ(queued(NORM), 1);
	EXPECT_EQ(bufpool_shrink_count(T.pool), 0);	/* 4 < 2 + 3 */
	EXPECT_EQ(S(100), 0);
	EXPECT_EQ(cached(), 4);

	/* one more comes back: 5 cached, 2 + 3 needed, nothing to give */
	bp_mem_get_stats(T.mem, &m0);
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);	/* queued behind 1 */
	EXPECT_EQ(S(100), 0);
	EXPECT_EQ(R(0, 1), 0);			/* 11 + 3 + 2 = 16: 1 served */
	EXPECT_EQ(T.t[1].wakes, 1);
	bp_mem_get_stats(T.mem, &m1);
	EXPECT_EQ(m1.creates, m0.creates);	/* from the cache */
	EXPECT_EQ(A(1, NORM, 3), 0);
	EXPECT_EQ(C(2), 0);

	/* the queue empty: what is beyond the reserve may go */
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(R(0, 0), 0);
	n = cached();
	EXPECT_EQ(S(100), n - 2);
	EXPECT_EQ(cached(), 2);
	teardown();
}

/*
 * limit x bufsize is at most half of the machine's memory: refused at
 * creation, and when a larger limit is set; a lower one always passes.
 */
static void test_limit_memory(void)
{
	struct bufpool_config cfg = { .limit = 32, .reserve = 1,
				      .bufsize = 4096 };
	unsigned long ram = bp_totalram_pages;
	struct bufpool_tunables t;
	const char *why = NULL;
	struct bufpool *p;

	EXPECT_EQ(bufpool_limit_max(BUFPOOL_BUFSIZE_MAX), BUFPOOL_LIMIT_MAX);
	bp_totalram_pages = 64;			/* 256 KiB */
	EXPECT_EQ(bufpool_limit_max(4096), 32);
	EXPECT_EQ(bufpool_limit_max(1), 32);	/* whole pages */
	EXPECT_EQ(bufpool_limit_max(8192), 16);
	EXPECT_EQ(bufpool_limit_max(4097), 16);
	EXPECT_EQ(bufpool_limit_max(BUFPOOL_BUFSIZE_MAX), 0);
	EXPECT_EQ(bufpool_check_config(&cfg, &why), 0);
	cfg.limit = 33;
	EXPECT_EQ(bufpool_check_config(&cfg, &why), -ERANGE);
	EXPECT(why && strstr(why, "half of the machine's memory"));
	p = bufpool_create(&cfg);
	EXPECT(IS_ERR(p) && PTR_ERR(p) == -ERANGE);
	/* nonsense is still -EINVAL first */
	cfg.reserve = 33;
	EXPECT_EQ(bufpool_check_config(&cfg, &why), -EINVAL);

	setup(16, 1);
	bufpool_get_tunables(T.pool, &t);
	t.limit = 32;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	t.limit = 33;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), -ERANGE);
	bufpool_get_tunables(T.pool, &t);
	EXPECT_EQ(t.limit, 32);
	/* the machine lost memory: lowering, or another tunable, still works */
	bp_totalram_pages = 16;
	t.reserve = 2;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	t.limit = 20;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	t.limit = 21;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), -ERANGE);
	bufpool_get_tunables(T.pool, &t);
	EXPECT_EQ(t.limit, 20);
	EXPECT_EQ(t.reserve, 2);
	bp_totalram_pages = ram;
	teardown();
}

/*
 * The entity-local slot.  Entities that track their dirty buffers and
 * write nothing give back buffers with nothing to zero: those go to the
 * entity's slot once it is slotted (joined on the locked path, after a
 * refill served it), and its next allocation takes them from there,
 * without the magazine.
 */
static void slot_entity(unsigned int i)
{
	T.t[i].e.tracks_dirty = true;
}

/* Release the one buffer @buf that entity @i holds. */
static int R_buf(unsigned int i, struct bufpool_buf *buf)
{
	u32 id = buf->id;
	int ret = bufpool_release(&T.t[i].e, &id, 1);

	CHECK();
	return ret;
}

static unsigned int slot_nr(unsigned int i, bool *slotted)
{
	return bp_slot_nr(&T.t[i].e, slotted);
}

/* Entity 0 on CPU 0 fills its slot with @n buffers (1 or 2). */
static void fill_slot(unsigned int n)
{
	bool slotted;

	slot_entity(0);
	bp_cpu = 0;
	EXPECT_EQ(A_clean(0, LOW, n), 0);	/* refill, magazine, join */
	EXPECT_EQ(slot_nr(0, &slotted), 0);
	EXPECT(slotted);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(slot_nr(0, &slotted), n);
}

static void test_slot_serves(void)
{
	unsigned long long fast0;
	struct bufpool_stats st0, st;
	unsigned int mag;
	bool slotted;

	setup(32, 1);
	warm(20);
	slot_entity(0);
	bufpool_get_stats(T.pool, &st0);
	EXPECT_EQ(A_clean(0, LOW, 1), 0);
	EXPECT_EQ(slot_nr(0, &slotted), 0);
	EXPECT(slotted);
	mag = bp_mag_nr(T.pool, 0);
	fast0 = bp_fast_allocs(T.pool);
	/* back to its slot, and from there again: the magazine untouched */
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(slot_nr(0, NULL), 1);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), mag);
	EXPECT_EQ(A_clean(0, LOW, 1), 0);
	EXPECT_EQ(slot_nr(0, NULL), 0);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), mag);
	EXPECT_EQ(bp_fast_allocs(T.pool), fast0);
	/* two at once fill it; a third does not fit and goes to the magazine */
	EXPECT_EQ(A_clean(0, LOW, 2), 0);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), mag - 2);
	EXPECT_EQ(R(0, 2), 0);
	EXPECT_EQ(slot_nr(0, NULL), 2);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(slot_nr(0, NULL), 2);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), mag - 1);
	/* more than the slot holds: the magazine serves */
	EXPECT_EQ(A_clean(0, LOW, 3), 0);
	EXPECT_EQ(slot_nr(0, NULL), 2);
	EXPECT_EQ(bp_fast_allocs(T.pool), fast0 + 2);
	EXPECT_EQ(R(0, 0), 0);
	/* every request and buffer counted once */
	bufpool_get_stats(T.pool, &st);
	EXPECT_EQ(st.allocations - st0.allocations, 4);
	EXPECT_EQ(st.releases - st0.releases, 7);
	EXPECT_EQ(st.in_use, 0);
	teardown();
}

/*
 * A request of another entity that the slot's buffers are in the way of
 * drains the slots: it is served with them, or queues with the slots
 * empty, and gets them before the slot's owner.
 */
static void test_slot_fifo(void)
{
	bool slotted;

	setup(8, 0);
	warm(8);
	fill_slot(1);
	/* the whole pool: only with the slot's buffer */
	EXPECT_EQ(A(2, NORM, 8), 0);
	EXPECT_EQ(slot_nr(0, &slotted), 0);
	EXPECT(!slotted);
	EXPECT_EQ(R(2, 0), 0);

	fill_slot(1);
	EXPECT_EQ(A(2, NORM, 7), 0);
	EXPECT_EQ(A(3, NORM, 2), -EAGAIN);	/* 7 + 2 > 8 */
	EXPECT_EQ(slot_nr(0, &slotted), 0);
	EXPECT(!slotted);
	/* the owner of the slot does not pass the queued request */
	EXPECT_EQ(A_clean(0, NORM, 1), -EAGAIN);
	EXPECT_EQ(queued(NORM), 2);
	EXPECT_EQ(R(2, 1), 0);
	EXPECT_EQ(T.t[3].wakes, 1);
	EXPECT_EQ(T.t[0].wakes, 0);
	EXPECT_EQ(A(3, NORM, 2), 0);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(T.t[0].wakes, 1);
	EXPECT_EQ(A_clean(0, NORM, 1), 0);
	teardown();
}

/* A CRITICAL request from the slot obeys the reserve rule. */
static void test_slot_critical(void)
{
	struct bufpool_buf *l2, *l3;
	unsigned long long fast0;
	struct bp_snap s0, s1;

	setup(32, 1);
	warm(20);
	slot_entity(0);
	T.t[0].e.critical_exempt = false;
	EXPECT_EQ(A_clean(0, LOW, 1), 0);
	EXPECT_EQ(A_clean(0, LOW, 1), 0);
	l2 = T.t[0].bufs[0];
	EXPECT_EQ(R(0, 1), 0);			/* the first: to the slot */
	EXPECT_EQ(slot_nr(0, NULL), 1);
	fast0 = bp_fast_allocs(T.pool);
	/* holds 1 LOW: 1 >= 0 + 1, the slot serves it */
	EXPECT_EQ(A_clean(0, CRIT, 1), 0);
	EXPECT_EQ(slot_nr(0, NULL), 0);
	EXPECT_EQ(bp_fast_allocs(T.pool), fast0);
	EXPECT_EQ(T.t[0].e.nr_critical, 1);
	EXPECT_EQ(A_clean(0, LOW, 1), 0);
	l3 = T.t[0].bufs[0];
	EXPECT_EQ(R_buf(0, l3), 0);
	EXPECT_EQ(slot_nr(0, NULL), 1);
	/* 1 non-critical < 1 + 1: refused, nothing changed, slot kept */
	bp_snapshot(T.pool, &s0);
	EXPECT_EQ(A_clean(0, CRIT, 1), -EPERM);
	bp_snapshot(T.pool, &s1);
	EXPECT(!memcmp(&s0, &s1, sizeof(s0)));
	EXPECT_EQ(slot_nr(0, NULL), 1);
	EXPECT_EQ(T.t[0].e.nr_critical, 1);
	EXPECT_EQ(T.t[0].e.nr_held, 2);
	EXPECT_EQ(R_buf(0, l2), 0);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(T.t[0].e.nr_critical, 0);
	teardown();
}

/* The account is charged exactly what the entity holds, slot or not. */
static void test_slot_account(void)
{
	struct bufpool_account acct = { 0 };
	struct bufpool_tunables t;
	const char *why;
	bool slotted;

	setup(32, 1);
	warm(20);
	bufpool_entity_set_account(&T.t[0].e, &acct);
	fill_slot(2);
	EXPECT_EQ(atomic_read(&acct.charged), 0);
	EXPECT_EQ(A_clean(0, LOW, 1), 0);	/* from the slot */
	EXPECT_EQ(slot_nr(0, NULL), 1);
	EXPECT_EQ(atomic_read(&acct.charged), 1);
	EXPECT_EQ(A_clean(0, LOW, 1), 0);
	EXPECT_EQ(atomic_read(&acct.charged), 2);
	EXPECT_EQ(R(0, 1), 0);
	EXPECT_EQ(atomic_read(&acct.charged), 1);
	/* a quota at run time drains the slot: exact from now on */
	bufpool_get_tunables(T.pool, &t);
	t.quota = 2;
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(slot_nr(0, &slotted), 0);
	EXPECT(!slotted);
	EXPECT_EQ(A_clean(0, LOW, 2), -EDQUOT);	/* 1 + 2 > 2 */
	EXPECT_EQ(A_clean(0, LOW, 1), 0);
	EXPECT_EQ(atomic_read(&acct.charged), 2);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(atomic_read(&acct.charged), 0);
	teardown();
}

/*
 * An entity whose first allocation another's refill could serve from the
 * magazine joins all the same (once, on the locked path), and so does
 * one after a drain: its next release goes to its slot.
 */
static void test_slot_join(void)
{
	unsigned int mag;
	bool slotted;

	setup(32, 1);
	warm(20);
	fill_slot(1);
	slot_entity(1);
	EXPECT_EQ(A_clean(1, LOW, 1), 0);	/* from CPU 0's magazine */
	EXPECT_EQ(slot_nr(1, &slotted), 0);
	EXPECT(slotted);
	mag = bp_mag_nr(T.pool, 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(slot_nr(1, NULL), 1);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), mag);
	/* a drain unslots both; their next allocations join again */
	drain();
	EXPECT_EQ(A_clean(1, LOW, 1), 0);
	EXPECT_EQ(slot_nr(1, &slotted), 0);
	EXPECT(slotted);
	EXPECT_EQ(A_clean(0, LOW, 1), 0);
	EXPECT_EQ(slot_nr(0, &slotted), 0);
	EXPECT(slotted);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(slot_nr(0, NULL) + slot_nr(1, NULL), 2);
	teardown();
}

/*
 * At most BUFPOOL_SLOTTED_MAX entities have a slot (the harness builds
 * with 2): a third keeps using the magazines, and may ask again after
 * the next drain, which the other two leave.
 */
static void test_slot_cap(void)
{
	bool slotted;
	unsigned int i;

	setup(32, 1);
	warm(20);
	bp_cpu = 0;
	for (i = 0; i < 3; i++) {
		slot_entity(i);
		EXPECT_EQ(A_clean(i, LOW, 1), 0);
		slot_nr(i, &slotted);
		EXPECT_EQ(slotted, i < BUFPOOL_SLOTTED_MAX);
	}
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(slot_nr(2, &slotted), 0);
	EXPECT(!slotted);
	/* refused until the next drain: served by the magazine */
	EXPECT_EQ(A_clean(2, LOW, 1), 0);
	EXPECT_EQ(slot_nr(2, &slotted), 0);
	EXPECT(!slotted);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(R(0, 0), 0);
	EXPECT_EQ(R(1, 0), 0);
	/* a drain: the first to ask again gets the room */
	drain();
	EXPECT_EQ(A_clean(2, LOW, 1), 0);
	slot_nr(2, &slotted);
	EXPECT(slotted);
	EXPECT_EQ(R(2, 0), 0);
	EXPECT_EQ(slot_nr(2, NULL), 1);
	teardown();
}

/* STATS count the slot's buffers as cached, with the slots full. */
static void test_slot_stats(void)
{
	struct bufpool_stats st0, st;

	setup(32, 1);
	warm(20);
	bufpool_get_stats(T.pool, &st0);
	slot_entity(1);
	bp_cpu = 1;
	EXPECT_EQ(A_clean(1, LOW, 2), 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(slot_nr(1, NULL), 2);
	fill_slot(2);
	EXPECT_EQ(A(3, LOW, 1), 0);		/* dirty: its own magazine */
	bufpool_get_stats(T.pool, &st);
	EXPECT_EQ(st.in_use, 1);
	EXPECT_EQ(st.free, 31);
	EXPECT_EQ(st.allocated, 20);
	EXPECT_EQ(st.allocations - st0.allocations, 3);
	EXPECT_EQ(st.releases - st0.releases, 4);
	EXPECT_EQ(cached(), 19);
	/* the counters survive the drain */
	drain();
	EXPECT_EQ(slot_nr(0, NULL) + slot_nr(1, NULL), 0);
	bufpool_get_stats(T.pool, &st);
	EXPECT_EQ(st.in_use, 1);
	EXPECT_EQ(st.allocations - st0.allocations, 3);
	EXPECT_EQ(st.releases - st0.releases, 4);
	EXPECT_EQ(R(3, 0), 0);
	bp_cpu = 0;
	teardown();
}

/*
 * Free buffers in slots are reclaimable: the shrinker counts them where
 * they are, and takes them once the cache alone does not cover a shrink.
 */
static void test_slot_shrink(void)
{
	unsigned long long d0;
	struct bp_snap s;
	bool slotted;

	setup(32, 1);
	warm(4);
	fill_slot(2);
	d0 = drains();
	EXPECT_EQ(bufpool_shrink_count(T.pool), 3);	/* all but the reserve */
	EXPECT_EQ(slot_nr(0, &slotted), 2);		/* counted, kept */
	EXPECT(slotted);
	EXPECT_EQ(drains(), d0);
	EXPECT_EQ(S(100), 3);
	EXPECT_EQ(drains(), d0 + 1);
	EXPECT_EQ(slot_nr(0, &slotted), 0);
	EXPECT(!slotted);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, 1);
	EXPECT_EQ(s.in_use, 0);
	teardown();
}

/* An entity destroyed with a full slot gives it back. */
static void test_slot_destroy(void)
{
	struct bp_mem_stats ms;
	struct bp_snap s;
	unsigned int i;

	setup(32, 1);
	warm(20);
	fill_slot(2);
	D(0);			/* no leak: checked */
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 0);
	EXPECT(bp_fast(T.pool));	/* the others' magazines go on */
	for (i = 1; i < NR_ENTS; i++)
		D(i);
	bp_mem_get_stats(T.mem, &ms);
	EXPECT_EQ(ms.live, 20);
	bufpool_destroy(T.pool);	/* WARNs if in_use is not 0 */
}

/* A lower limit drains the slots and trims their memory. */
static void test_slot_tunables(void)
{
	struct bufpool_tunables t;
	struct bp_snap s;
	const char *why;
	bool slotted;

	setup(32, 1);
	warm(20);
	fill_slot(2);
	bufpool_get_tunables(T.pool, &t);
	t.limit = 4;
	bufpool_default_headroom(&t);
	EXPECT_EQ(bufpool_set_tunables(T.pool, &t, &why), 0);
	EXPECT_EQ(slot_nr(0, &slotted), 0);
	EXPECT(!slotted);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 0);
	EXPECT_EQ(s.nr_alloc, 4);
	EXPECT_EQ(A(2, NORM, 3), 0);		/* 0 + 3 + 1 <= 4 */
	EXPECT_EQ(A_noq(3, NORM, 1), -EAGAIN);
	teardown();
}

/*
 * The shrinker with the magazines serving.  Entity 0 fills its slot (2)
 * from CPU 0's magazine, entity 1 takes one buffer on CPU 1 and entity 3
 * one on CPU 0: of 20 buffers 2 are held, 1 is the reserve, 3 are in the
 * shared cache beyond it, 14 in the magazines (5 and 7) and the slot.
 */
static void mags_and_slot(void)
{
	fill_slot(2);
	bp_cpu = 1;
	EXPECT_EQ(A(1, LOW, 1), 0);
	bp_cpu = 0;
	EXPECT_EQ(A(3, LOW, 1), 0);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), 5);
	EXPECT_EQ(bp_mag_nr(T.pool, 1), 7);
	EXPECT_EQ(slot_nr(0, NULL), 2);
	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(in_use(), 2);
	EXPECT_EQ(cached(), 18);
}

/* The magazines and the slot as mags_and_slot() left them, and serving. */
static void expect_mags_and_slot(void)
{
	unsigned long long fast0 = bp_fast_allocs(T.pool);

	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(bp_mag_nr(T.pool, 0), 5);
	EXPECT_EQ(bp_mag_nr(T.pool, 1), 7);
	EXPECT_EQ(slot_nr(0, NULL), 2);
	/* and they serve: from CPU 0's magazine, back to it */
	EXPECT_EQ(A(5, LOW, 1), 0);
	EXPECT_EQ(bp_fast_allocs(T.pool), fast0 + 1);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), 4);
	EXPECT_EQ(R(5, 0), 0);
	EXPECT_EQ(bp_mag_nr(T.pool, 0), 5);
}

/*
 * The count, which reclaim asks on every pass, stops nothing: no drain,
 * the magazines and the slot keep their buffers and serve, and it counts
 * their buffers, exactly: a shrink of all of it then frees that many.
 */
static void test_percpu_shrink_count(void)
{
	unsigned long long d0;
	struct bp_snap s0, s1;
	unsigned int i;

	setup(32, 1);
	warm(20);
	mags_and_slot();
	d0 = drains();
	bp_snapshot(T.pool, &s0);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(bufpool_shrink_count(T.pool), 17);	/* 20 - 2 - 1 */
	EXPECT_EQ(drains(), d0);
	bp_snapshot(T.pool, &s1);
	EXPECT(!memcmp(&s0, &s1, sizeof(s0)));
	CHECK();
	expect_mags_and_slot();
	EXPECT_EQ(drains(), d0);

	/* never more than a shrink can free: all of it, after a drain */
	EXPECT_EQ(S(100), 17);
	EXPECT_EQ(drains(), d0 + 1);
	bp_snapshot(T.pool, &s1);
	EXPECT_EQ(s1.in_use, 2);
	EXPECT_EQ(s1.nr_alloc, 3);
	EXPECT_EQ(s1.nr_cached, 1);
	EXPECT_EQ(shrunk(), 17);
	EXPECT_EQ(bufpool_shrink_count(T.pool), 0);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(R(3, 0), 0);
	teardown();
}

/*
 * A shrink the shared cache covers takes from it alone and leaves the
 * magazines serving; one it does not cover drains, then frees what it
 * can, never below the reserve.  Each time the budget stays exact.
 */
static void test_percpu_shrink_cache_first(void)
{
	unsigned long long d0;
	struct bp_snap s;

	setup(32, 1);
	warm(20);
	mags_and_slot();
	d0 = drains();
	EXPECT_EQ(S(2), 2);
	EXPECT_EQ(S(1), 1);		/* the cache's 3 beyond the reserve */
	EXPECT_EQ(drains(), d0);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 2);
	EXPECT_EQ(s.nr_alloc, 17);
	EXPECT_EQ(s.nr_cached, 15);	/* the reserve and the 14 kept */
	EXPECT_EQ(shrunk(), 3);
	expect_mags_and_slot();
	EXPECT_EQ(bufpool_shrink_count(T.pool), 14);
	EXPECT_EQ(drains(), d0);

	/* the cache has nothing beyond the reserve: drained, 5 freed */
	EXPECT_EQ(S(5), 5);
	EXPECT_EQ(drains(), d0 + 1);
	EXPECT(!bp_fast(T.pool));
	EXPECT_EQ(bp_mag_nr(T.pool, 0) + bp_mag_nr(T.pool, 1), 0);
	EXPECT_EQ(slot_nr(2, NULL), 0);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 2);
	EXPECT_EQ(s.nr_alloc, 12);
	EXPECT_EQ(s.nr_cached, 10);
	EXPECT_EQ(bufpool_shrink_count(T.pool), 9);
	/* all that is left but the reserve, however much is asked */
	EXPECT_EQ(S(100), 9);
	EXPECT_EQ(drains(), d0 + 1);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_alloc, s.in_use + s.reserve);
	EXPECT_EQ(s.nr_cached, 1);
	EXPECT_EQ(shrunk(), 17);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(R(3, 0), 0);
	teardown();
}

/*
 * A shrink of more than the cache alone gives, with the magazines
 * serving: drained first, then as much as asked.
 */
static void test_percpu_shrink_drains(void)
{
	unsigned long long d0;
	struct bp_snap s;

	setup(32, 1);
	warm(20);
	mags_and_slot();
	d0 = drains();
	EXPECT_EQ(S(4), 4);		/* 3 in the cache beyond the reserve */
	EXPECT_EQ(drains(), d0 + 1);
	EXPECT(!bp_fast(T.pool));
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 2);
	EXPECT_EQ(s.nr_alloc, 16);
	EXPECT_EQ(s.nr_cached, 14);
	EXPECT_EQ(bufpool_shrink_count(T.pool), 13);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(R(3, 0), 0);
	teardown();
}

/*
 * The magazines serving, a request that must wait drains them and is
 * queued: the shrinker keeps what it will take, and the reserve.
 */
static void test_percpu_shrink_keeps_queued(void)
{
	unsigned long long d0;
	struct bp_snap s;

	setup(32, 1);			/* headroom 0 / 1 / 2 */
	warm(20);
	mags_and_slot();
	d0 = drains();
	/* 16 (the 14 kept included) + 28 + 2 > 32: drained, then served */
	EXPECT_EQ(A(4, NORM, 28), 0);
	EXPECT_EQ(drains(), d0 + 1);
	EXPECT_EQ(R(4, 4), 0);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.in_use, 26);
	EXPECT_EQ(s.nr_cached, 5);
	EXPECT_EQ(A(5, NORM, 6), -EAGAIN);	/* 26 + 6 + 1 > 32 */
	EXPECT_EQ(queued(NORM), 1);
	EXPECT_EQ(bufpool_shrink_count(T.pool), 0);	/* 5 < 1 + 6 */
	EXPECT_EQ(S(100), 0);
	EXPECT_EQ(cached(), 5);
	/* no longer queued: all but the reserve may go */
	EXPECT_EQ(C(5), 0);
	EXPECT_EQ(bufpool_shrink_count(T.pool), 4);
	EXPECT_EQ(S(100), 4);
	bp_snapshot(T.pool, &s);
	EXPECT_EQ(s.nr_cached, 1);
	EXPECT_EQ(s.nr_alloc, s.in_use + s.reserve);
	EXPECT_EQ(drains(), d0 + 1);
	EXPECT_EQ(R(1, 0), 0);
	EXPECT_EQ(R(3, 0), 0);
	EXPECT_EQ(R(4, 0), 0);
	teardown();
}

/*
 * A shrink the cache does not cover, with the magazines serving but empty
 * (and the slot too): a drain would give the cache nothing, so it frees
 * what the cache has beyond the reserve and leaves the magazines on.
 */
static void test_percpu_shrink_nothing_to_drain(void)
{
	unsigned long long d0;

	setup(32, 1);
	warm(20);
	mags_and_slot();
	bp_cpu = 0;
	EXPECT_EQ(A(5, LOW, 5), 0);		/* CPU 0's magazine */
	bp_cpu = 1;
	EXPECT_EQ(A(6, LOW, 7), 0);		/* CPU 1's */
	bp_cpu = 0;
	EXPECT_EQ(A_clean(0, LOW, 2), 0);	/* the slot */
	EXPECT_EQ(bp_mag_nr(T.pool, 0) + bp_mag_nr(T.pool, 1), 0);
	EXPECT_EQ(slot_nr(0, NULL), 0);
	EXPECT(bp_fast(T.pool));
	d0 = drains();
	EXPECT_EQ(bufpool_shrink_count(T.pool), 3);
	EXPECT_EQ(S(4), 3);
	EXPECT_EQ(drains(), d0);
	EXPECT(bp_fast(T.pool));
	EXPECT_EQ(cached(), 1);
	teardown();
}

/*
 * A LOW head past its bound that fits beside a younger NORMAL head is
 * served as under hand-off, granted as soon as it fits: no window may
 * park what comes back for the NORMAL head, nor be renewed while NORMAL
 * requests barge, and keep it waiting up to the NORMAL head's bound.
 */
static void test_adaptive_overdue_other_class(void)
{
	start_adaptive(3, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(3, NORM, 1), 0);
	EXPECT_EQ(A(5, NORM, 1), 0);
	EXPECT_EQ(A(4, LOW, 1), -EAGAIN);	/* L, queued first */
	bp_clock_skew += BUFPOOL_BARGE_NS / 2;
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);	/* N, the first head */
	bp_clock_skew += BUFPOOL_BARGE_NS / 2 + BUFPOOL_PARK_NS;	/* L past its bound */
	EXPECT_EQ(R(0, 0), 0);			/* parked for N */
	EXPECT_EQ(R(3, 0), 0);			/* 2 cached: N and L both fit */
	if (bp_park_until(T.pool)) {
		EXPECT_EQ(A(2, NORM, 1), 0);	/* a NORMAL barge */
		EXPECT_EQ(R(2, 0), 0);
		if (bp_clock_skew < bp_park_expires(T.pool))
			bp_clock_skew = bp_park_expires(T.pool);
		EXPECT(P());			/* end of the first period */
	}
	EXPECT_EQ(T.t[4].wakes, 1);
	while (bp_park_until(T.pool) && bp_run_park(T.pool, true))
		CHECK();
	stop_adaptive();
}

/*
 * When the first head leaves and the next one's bound is later, the
 * window's end is no longer a bound: it may be renewed (park_last clear).
 */
static void test_adaptive_rebound_last(void)
{
	start_adaptive(1, 0);
	EXPECT_EQ(A(0, NORM, 1), 0);
	EXPECT_EQ(A(1, NORM, 1), -EAGAIN);
	bp_clock_skew += BUFPOOL_BARGE_NS - BUFPOOL_PARK_NS / 2;
	EXPECT_EQ(A(2, NORM, 1), -EAGAIN);
	EXPECT_EQ(R(0, 0), 0);			/* parked for 1, to its bound */
	EXPECT_EQ(C(1), 0);			/* 2 is first, later bound */
	EXPECT(!(bp_park_flags(T.pool) & 4));
	bp_clock_skew += BUFPOOL_PARK_NS;
	P();
	EXPECT_EQ(A(2, NORM, 1), 0);
	stop_adaptive();
}

static const struct test tests[] = {
	{ "config", test_config },
	{ "limit_and_args", test_limit_and_args },
	{ "class_thresholds", test_thresholds },
	{ "reserve_memory", test_reserve_memory },
	{ "atomic_n", test_atomic_n },
	{ "fifo_per_class", test_fifo },
	{ "no_barging", test_no_barging },
	{ "class_priority", test_class_priority },
	{ "handoff_count", test_handoff_count },
	{ "cancel_vs_grant", test_cancel },
	{ "entity_destroy", test_destroy },
	{ "release_errors", test_release_errors },
	{ "enospc_ebusy", test_enospc_ebusy },
	{ "edeadlk", test_edeadlk },
	{ "critical_rule", test_critical_rule },
	{ "failed_collect", test_failed_collect },
	{ "offer_refused_retry", test_offer_refused_retry },
	{ "mem_failure_retry", test_mem_retry },
	{ "grow_steps", test_grow_steps },
	{ "grow_reserved", test_grow_reserved },
	{ "grow_queued_meanwhile", test_grow_queued_meanwhile },
	{ "seed002_reserve", test_seed002 },
	{ "runtime_tunables", test_tunables },
	{ "dirty_tracking", test_dirty_tracking },
	{ "deadlines", test_deadline },
	{ "deadline_siblings", test_deadline_siblings },
	{ "deadline_offered_siblings", test_deadline_offered_siblings },
	{ "wait_done", test_wait_done },
	{ "offer_expiry", test_offer_expiry },
	{ "release_detach", test_release_detach },
	{ "undo_grant", test_undo_grant },
	{ "undo_critical", test_undo_critical },
	{ "quarantine", test_quarantine },
	{ "adaptive_barge", test_adaptive_barge },
	{ "adaptive_window_closed", test_adaptive_window_closed },
	{ "adaptive_bound", test_adaptive_bound },
	{ "adaptive_fifo", test_adaptive_fifo },
	{ "adaptive_stale_window", test_adaptive_stale_window },
	{ "release_unshared", test_release_unshared },
	{ "collect_on_wake", test_collect_on_wake },
	{ "collect_mode", test_collect_mode },
	{ "shrink", test_shrink },
	{ "shrink_keeps_queued", test_shrink_keeps_queued },
	{ "limit_memory", test_limit_memory },
	{ "quarantine_quota", test_quarantine_quota },
	{ "percpu_budget", test_percpu_budget },
	{ "percpu_fifo", test_percpu_fifo },
	{ "percpu_quota", test_percpu_quota },
	{ "percpu_tunables", test_percpu_tunables },
	{ "percpu_stats", test_percpu_stats },
	{ "percpu_drains", test_percpu_drains },
	{ "percpu_grants", test_percpu_grants },
	{ "percpu_critical", test_percpu_critical },
	{ "percpu_grow", test_percpu_grow },
	{ "percpu_destroy", test_percpu_destroy },
	{ "adaptive_late_timer", test_adaptive_late_timer },
	{ "adaptive_rebound", test_adaptive_rebound },
	{ "adaptive_renew", test_adaptive_renew },
	{ "adaptive_renew_class", test_adaptive_renew_class },
	{ "adaptive_overdue", test_adaptive_overdue },
	{ "adaptive_overdue_other_class", test_adaptive_overdue_other_class },
	{ "adaptive_rebound_last", test_adaptive_rebound_last },
	{ "slot_serves", test_slot_serves },
	{ "slot_fifo", test_slot_fifo },
	{ "slot_join", test_slot_join },
	{ "slot_cap", test_slot_cap },
	{ "slot_critical", test_slot_critical },
	{ "slot_account", test_slot_account },
	{ "slot_stats", test_slot_stats },
	{ "slot_shrink", test_slot_shrink },
	{ "slot_destroy", test_slot_destroy },
	{ "slot_tunables", test_slot_tunables },
	{ "percpu_shrink_count", test_percpu_shrink_count },
	{ "percpu_shrink_cache_first", test_percpu_shrink_cache_first },
	{ "percpu_shrink_drains", test_percpu_shrink_drains },
	{ "percpu_shrink_keeps_queued", test_percpu_shrink_keeps_queued },
	{ "percpu_shrink_nothing_to_drain",
	  test_percpu_shrink_nothing_to_drain },
};

int main(void)
{
	unsigned int i, pass = 0, fail = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		unsigned int warn0 = bp_warnings;

		tests[i].fn();
		if (bp_warnings != warn0) {
			fprintf(stderr, "  %u WARN_ON hit(s)\n",
				bp_warnings - warn0);
			t_failed = 1;
		}
		printf("%s %s\n", t_failed ? "FAIL" : "ok  ", tests[i].name);
		if (t_failed)
			fail++;
		else
			pass++;
		t_failed = 0;
	}
	printf("%u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}
