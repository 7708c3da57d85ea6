// SPDX-License-Identifier: GPL-2.0
/*
 * Interleaving tests of the core's lockless reads: the core is built with
 * READ_ONCE() instrumented, so that a test can run another thread's (or
 * the same thread's) operation at the exact point where the core reads a
 * field without the pool lock (the per-CPU fast path's gate, an entity's
 * shared flag, its counts), and check that the outcome is one that a
 * serial order of the two operations could give: no mapping left
 * unrevoked, no reserve rule passed, no free buffer hidden from the
 * shrinker, no stale admission check.  Each test prints "ok" or
 * "FAIL: why"; the exit status is the number of failures.  Run by
 * `make unit` (run.sh).
 */
#include <linux/compiler.h>
#include <pthread.h>
#include <stdbool.h>

/* a hook called before each marked access, per thread */
static __thread void (*rt_read_hook)(const void *p);
#undef READ_ONCE
/* and one called after it: the value read is already the caller's */
static __thread void (*rt_post_hook)(const void *p);
#define READ_ONCE(x) ({							\
	if (rt_read_hook)						\
		rt_read_hook((const void *)&(x));			\
	__auto_type __rt_v = __atomic_load_n(&(x), __ATOMIC_RELAXED);	\
	if (rt_post_hook)						\
		rt_post_hook((const void *)&(x));			\
	__rt_v;								\
})

/* a hook called before each spin_lock(), per thread */
#include <linux/spinlock.h>
static __thread void (*rt_lock_hook)(const spinlock_t *l);
static inline void rt_spin_lock(spinlock_t *l)
{
	if (rt_lock_hook)
		rt_lock_hook(l);
	spin_lock(l);
}
#define spin_lock(l) rt_spin_lock(l)
/* and one called after each spin_unlock(), the lock already dropped */
static __thread void (*rt_unlock_hook)(const spinlock_t *l);
static inline void rt_spin_unlock(spinlock_t *l)
{
	spin_unlock(l);
	if (rt_unlock_hook)
		rt_unlock_hook(l);
}
#define spin_unlock(l) rt_spin_unlock(l)

#include "core.c"


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

static int failures;
#define FAILT(fmt, ...) do {						\
	printf("  FAIL: " fmt "\n", ##__VA_ARGS__);			\
	failures++; bad = 1;						\
} while (0)

static void nowake(struct bufpool_waiter *w) { }

static struct bufpool *mkpool(unsigned int limit, unsigned int reserve)
{
	struct bufpool_config cfg = {
		.limit = limit, .reserve = reserve, .bufsize = 4096,
	};
	struct bufpool *p = bufpool_create(&cfg);

	if (IS_ERR(p)) {
		printf("bufpool_create failed\n");
		exit(2);
	}
	return p;
}

static u32 first_id(struct bufpool_entity *e);

/* Fill the cache (a refill never grows it), so that the magazines serve. */
static void warm(struct bufpool *p, unsigned int n)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity w;
	unsigned int i;
	u32 id;

	bufpool_entity_init(p, &w, nowake, NULL);
	for (i = 0; i < n; i++)
		bufpool_alloc(&w, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	while (w.nr_held) {
		id = first_id(&w);
		bufpool_release(&w, &id, 1);
	}
	bufpool_entity_destroy(&w);
}

static u32 first_id(struct bufpool_entity *e)
{
	struct bufpool_buf *b = list_first_entry(&e->held, struct bufpool_buf,
						 node);
	return b->id;
}

/* ------------------------------------------------------------------ */
/*
 * 1. mmap racing RELEASE: bufpool_release_detach() reads e->shared
 * before it takes the entity lock and detaches.  Between the two, the
 * device's mmap() sets shared and a fault maps the buffer (it is still
 * HELD: bufpool_held_buf() finds it).  The release then gives the buffer
 * straight to the magazine (r.count == 0): the device never revokes the
 * mapping, and the next holder's data is readable through it.
 */
static struct bufpool_entity *a1_e;
static u32 a1_id;
static struct bufpool_buf *a1_mapped;

static pthread_t a1_thr;
static bool a1_started;
static int a1_done;

static void *a1_fault(void *arg)
{
	a1_mapped = bufpool_held_buf(a1_e, a1_id);	/* bufpool_vm_fault() */
	__atomic_store_n(&a1_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* after the release read e->shared: another thread mmap()s and faults */
static void a1_hook(const void *p)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	if (p != &a1_e->shared)
		return;
	rt_post_hook = NULL;
	/* bufpool_mmap(): shared first, then faults may find buffers */
	__atomic_store_n(&a1_e->shared, true, __ATOMIC_RELAXED);
	pthread_create(&a1_thr, NULL, a1_fault, NULL);
	a1_started = true;
	/* patience: if the release holds a lock the fault needs, it waits */
	for (i = 0; i < 500 && !__atomic_load_n(&a1_done, __ATOMIC_ACQUIRE); i++)
		nanosleep(&ts, NULL);
}

static void attack_mmap_vs_release(void)
{
	struct bufpool *pool = mkpool(64, 2);
	struct bufpool_entity e, other;
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_returning r;
	int bad = 0, ret;

	printf("mmap_vs_release: ");
	warm(pool, 20);
	bufpool_entity_init(pool, &e, nowake, NULL);
	bufpool_entity_init(pool, &other, nowake, NULL);
	e.tracks_dirty = true;		/* as the character device */
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (ret)
		FAILT("alloc %d", ret);
	a1_e = &e;
	a1_id = bufs[0]->id;
	rt_post_hook = a1_hook;
	ret = bufpool_release_detach(&e, &a1_id, 1, &r);
	rt_post_hook = NULL;
	if (a1_started)
		pthread_join(a1_thr, NULL);
	if (ret)
		FAILT("release_detach %d", ret);
	printf("[mapped %p r.count %u] ", (void *)a1_mapped, r.count);
	if (a1_mapped && !r.count)
		FAILT("buffer %u mapped after shared was set went back without revoke (state %d)",
		      a1_id, a1_mapped->state);
	bufpool_release_finish(pool, &r);
	/* who gets it next, while the old mapping still points at it */
	ret = bufpool_alloc(&other, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (!ret && a1_mapped && bufs[0] == a1_mapped && !r.count)
		printf("\n  (another entity now holds buffer %u, still mapped by the first) ", a1_id);
	bufpool_entity_destroy(&other);
	bufpool_entity_destroy(&e);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 2. CRITICAL request racing a release by another thread of the same
 * entity: bufpool_may_use_reserve() reads nr_held and nr_critical with
 * the pool lock only; the fast release changes both under the entity
 * lock only.  A read of nr_held before and nr_critical after the release
 * lets through a request that neither state allows.
 */
static struct bufpool_entity *a2_e;
static unsigned int a2_reads;
static u32 a2_crit_id;
static pthread_t a2_thr;
static bool a2_started;

static void *a2_release(void *arg)
{
	int ret = bufpool_release(a2_e, &a2_crit_id, 1);

	if (ret)
		printf("[release %d] ", ret);
	return NULL;
}

static void a2_hook(const void *p)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	if (p != &a2_e->nr_critical || ++a2_reads != 2)
		return;
	/* the authoritative check: nr_held already read */
	rt_read_hook = NULL;
	pthread_create(&a2_thr, NULL, a2_release, NULL);
	a2_started = true;
	/* patience: under the old locking the release waits for our lock */
	for (i = 0; i < 500; i++) {
		if (__atomic_load_n(&a2_e->nr_held, __ATOMIC_RELAXED) == 1)
			break;
		nanosleep(&ts, NULL);
	}
}

static void attack_critical_vs_release(void)
{
	struct bufpool *pool = mkpool(64, 4);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX], *b;
	struct bufpool_entity e;
	unsigned int others;
	int bad = 0, ret;

	printf("critical_vs_release: ");
	bufpool_entity_init(pool, &e, nowake, NULL);
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (ret)
		FAILT("alloc normal %d", ret);
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_CRITICAL, 1, 0, bufs);
	if (ret)
		FAILT("alloc critical %d", ret);
	a2_crit_id = bufs[0]->id;
	/* e: 1 non-critical, 1 critical.  CRITICAL 2 needs 2 more non-crit */
	a2_e = &e;
	rt_read_hook = a2_hook;
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_CRITICAL, 2, 0, bufs);
	rt_read_hook = NULL;
	if (a2_started)
		pthread_join(a2_thr, NULL);
	others = e.nr_held - e.nr_critical;
	if (!ret && others < e.nr_critical)
		FAILT("CRITICAL 2 granted: now %u critical with %u non-critical (before: 1+1, after the release: 1+0; both refuse)",
		      e.nr_critical, others);
	else if (ret != -EPERM)
		FAILT("CRITICAL 2: %d, expected -EPERM", ret);
	(void)b;
	bufpool_entity_destroy(&e);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 3. Release errors with the magazines serving: an id in a magazine
 * (CACHED) is -ENOENT, another entity's -EPERM, twice -EINVAL; and a
 * failed call changes nothing.
 */
static void attack_release_errors(void)
{
	struct bufpool *pool = mkpool(64, 2);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e1, e2;
	struct bp_snap s0, s1;
	u32 a, b, c, d, ids[3];
	int bad = 0, ret;

	printf("release_errors: ");
	warm(pool, 20);
	bufpool_entity_init(pool, &e1, nowake, NULL);
	bufpool_entity_init(pool, &e2, nowake, NULL);
	bufpool_alloc(&e1, BUFPOOL_CLASS_NORMAL, 2, 0, bufs);
	a = bufs[0]->id;
	b = bufs[1]->id;
	bufpool_alloc(&e2, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	c = bufs[0]->id;
	if (!pool->fast || !per_cpu_ptr(pool->pcpu, 0)->nr)
		FAILT("magazines not serving");
	d = per_cpu_ptr(pool->pcpu, 0)->bufs[0]->id;
	bp_snapshot(pool, &s0);
#define TRY(exp, ...) do {						\
	u32 __i[] = { __VA_ARGS__ };					\
	ret = bufpool_release(&e1, __i, ARRAY_SIZE(__i));		\
	if (ret != (exp))						\
		FAILT("release {%s}: %d, expected %d", #__VA_ARGS__, ret, exp); \
	bp_snapshot(pool, &s1);						\
	if (memcmp(&s0, &s1, sizeof(s0)) || e1.nr_held != 2)		\
		FAILT("release {%s} failed but changed the pool", #__VA_ARGS__); \
} while (0)
	TRY(-ENOENT, d);
	TRY(-ENOENT, a, d);
	TRY(-EPERM, c);
	TRY(-EPERM, a, c);
	TRY(-EINVAL, a, a);
	TRY(-EINVAL, b, a, b);
	TRY(-ENOENT, 100000);
	ids[0] = a;
	ret = bufpool_release_detach(&e2, ids, 1, &(struct bufpool_returning){});
	if (ret != -EPERM)
		FAILT("detach of e1's by e2: %d", ret);
	(void)ids;
	bufpool_entity_destroy(&e1);
	bufpool_entity_destroy(&e2);
	bufpool_destroy(pool);
	if (bp_warnings)
		FAILT("%u WARN_ON", bp_warnings);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 4. STATS exact on a quiescent pool with magazines non-empty on both
 * CPUs; the budget with magazines on both CPUs never lets LOW leave less
 * than its headroom; quota switched on with accounts charged through the
 * fast path.
 */
static void attack_stats_quota(void)
{
	struct bufpool *pool = mkpool(64, 4);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e[4];
	struct bufpool_account acc[2] = { { .charged = ATOMIC_INIT(0) },
					  { .charged = ATOMIC_INIT(0) } };
	struct bufpool_tunables t;
	struct bufpool_stats st;
	unsigned int i, k, held = 0, allocs = 0, rels = 0, got;
	const char *why;
	int bad = 0, ret;
	unsigned int seed = 1;

	printf("stats_quota: ");
	warm(pool, 30);
	bufpool_get_stats(pool, &st);
	allocs = st.allocations;
	rels = st.releases;
	for (i = 0; i < 4; i++) {
		bufpool_entity_init(pool, &e[i], nowake, NULL);
		bufpool_entity_set_account(&e[i], &acc[i % 2]);
	}
	for (k = 0; k < 2000; k++) {
		bp_cpu = rand_r(&seed) % 2;
		i = rand_r(&seed) % 4;
		if (rand_r(&seed) % 2 && e[i].nr_held) {
			u32 id = first_id(&e[i]);

			if (!bufpool_release(&e[i], &id, 1)) {
				rels++;
				held--;
			}
		} else {
			unsigned int n = 1 + rand_r(&seed) % 3;
			unsigned int cl = 1 + rand_r(&seed) % 2;

			ret = bufpool_alloc(&e[i], cl, n, BUFPOOL_ALLOC_NOQUEUE, bufs);
			if (!ret) {
				allocs++;
				held += n;
			}
			/* budget: real in use + LOW headroom within limit */
			bp_snapshot(pool, &(struct bp_snap){});
		}
		if (held > 30 && e[i].nr_held) {
			u32 id = first_id(&e[i]);

			if (!bufpool_release(&e[i], &id, 1)) {
				rels++;
				held--;
			}
		}
		if (held > 64) {
			FAILT("held %u > limit", held);
			break;
		}
	}
	bp_cpu = 0;
	bufpool_get_stats(pool, &st);
	got = per_cpu_ptr(pool->pcpu, 0)->nr + per_cpu_ptr(pool->pcpu, 1)->nr;
	if (st.in_use != held || st.allocations != allocs || st.releases != rels)
		FAILT("stats in_use %llu/%u allocations %llu/%u releases %llu/%u (mags %u)",
		      st.in_use, held, st.allocations, allocs, st.releases, rels, got);
	if (st.free != 64 - held)
		FAILT("free %llu", st.free);
	if (atomic_read(&acc[0].charged) + atomic_read(&acc[1].charged) != held ||
	    atomic_read(&acc[0].charged) != e[0].nr_held + e[2].nr_held)
		FAILT("charged %d+%d, held %u", atomic_read(&acc[0].charged),
		      atomic_read(&acc[1].charged), held);
	printf("[mags %u, fast %d, held %u] ", got, pool->fast, held);
	bufpool_get_tunables(pool, &t);
	t.quota = e[0].nr_held + e[2].nr_held;	/* acc0 exactly at quota */
	ret = bufpool_set_tunables(pool, &t, &why);
	if (ret)
		FAILT("set_tunables %d %s", ret, why);
	ret = bufpool_alloc(&e[0], BUFPOOL_CLASS_NORMAL, 1, BUFPOOL_ALLOC_NOQUEUE, bufs);
	if (ret != -EDQUOT)
		FAILT("alloc at quota: %d, expected -EDQUOT", ret);
	if (pool->fast)
		FAILT("fast with a quota");
	for (i = 0; i < 4; i++)
		bufpool_entity_destroy(&e[i]);
	if (atomic_read(&acc[0].charged) || atomic_read(&acc[1].charged))
		FAILT("charged left %d %d", atomic_read(&acc[0].charged),
		      atomic_read(&acc[1].charged));
	bufpool_destroy(pool);
	if (bp_warnings)
		FAILT("%u WARN_ON", bp_warnings);
	printf("%s\n", bad ? "" : "ok");
}


/* ------------------------------------------------------------------ */
/*
 * 5. The shrinker sees the magazines' idle buffers: bufpool_shrink_count()
 * is what the kernel asks before it ever calls bufpool_shrink() (which
 * drains when the cache alone cannot give what it asks); if it says 0,
 * drop_caches and memory pressure never get back the free buffers parked
 * in magazines.  And the count, asked on every reclaim pass, leaves them
 * serving: no drain.
 */
static void attack_shrink_count(void)
{
	struct bufpool *pool = mkpool(64, 2);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e;
	struct bufpool_stats st;
	unsigned long long drains;
	unsigned int idle, n;
	int bad = 0;

	printf("shrink_count: ");
	warm(pool, 16);			/* 18 cached, 2 of them the reserve */
	bufpool_entity_init(pool, &e, nowake, NULL);
	bp_cpu = 0;
	bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	bp_cpu = 1;
	bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	bp_cpu = 0;
	bufpool_get_stats(pool, &st);
	idle = st.allocated - st.in_use - st.reserve;	/* free, beyond reserve */
	n = bufpool_shrink_count(pool);
	drains = st.drains;
	bufpool_get_stats(pool, &st);
	printf("[allocated %llu in_use %llu: %u idle beyond the reserve, shrink_count %u, drains +%llu] ",
	       st.allocated, st.in_use, idle, n, st.drains - drains);
	if (n < idle)
		FAILT("shrink_count %u hides %u idle buffers in magazines", n, idle - n);
	if (st.drains != drains || !bp_fast(pool))
		FAILT("shrink_count stopped the magazines");
	bufpool_entity_destroy(&e);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 6. The drain inside bufpool_new_request_locked() waits for every
 * magazine's lock, after the admission checks: a fast allocation of the
 * same entity, in flight meanwhile, completes, and the request is then
 * queued with the checks of before it.  Reached when the magazines came
 * on while the lock was dropped to grow the cache (another entity's
 * refill).  Here the request is queued although its own side alone
 * makes it hopeless: -EDEADLK at once under every serial order.
 */
static struct bufpool *a6_pool;
static struct bufpool_entity *a6_e, *a6_f;
static int a6_in, a6_armed;
static pthread_t a6_thr;

static bool a6_fast_off(void)
{
	return !__atomic_load_n(&a6_pool->fast, __ATOMIC_RELAXED);
}

/* thread A, inside its fast section: wait until B drains */
static void a6_post(const void *p)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	if (p != &a6_e->waiter.state)
		return;
	rt_post_hook = NULL;
	__atomic_store_n(&a6_in, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 300 && !a6_fast_off(); i++)
		nanosleep(&ts, NULL);
}

static void *a6_alloc(void *arg)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	int ret;

	bp_cpu = 0;
	rt_post_hook = a6_post;
	ret = bufpool_alloc(a6_e, BUFPOOL_CLASS_NORMAL, 7, 0, bufs);
	rt_post_hook = NULL;
	__atomic_store_n(&a6_in, 1, __ATOMIC_RELEASE);
	if (ret)
		printf("[A: %d] ", ret);
	return NULL;
}

/* B's cache growth, lock dropped: F's refill, then A starts */
static void a6_create(void)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct timespec ts = { 0, 1000000 };
	int i;

	if (!a6_armed)
		return;
	a6_armed = 0;
	bufpool_alloc(a6_f, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	pthread_create(&a6_thr, NULL, a6_alloc, NULL);
	for (i = 0; i < 2000 && !__atomic_load_n(&a6_in, __ATOMIC_ACQUIRE); i++)
		nanosleep(&ts, NULL);
	/* the growth fails: no grant walk after the request */
	bp_mem_fail_next(bp_pool_mem(a6_pool), 8);
}

static void attack_stale_admission(void)
{
	struct bufpool *pool = mkpool(32, 0);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e, f;
	struct bufpool_tunables t;
	const char *why;
	int bad = 0, ret;

	printf("stale_admission: ");
	warm(pool, 24);
	bufpool_entity_init(pool, &e, nowake, NULL);
	bufpool_entity_init(pool, &f, nowake, NULL);
	bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 8, 0, bufs);
	bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 8, 0, bufs);
	bufpool_get_tunables(pool, &t);
	bufpool_set_tunables(pool, &t, &why);	/* drains: magazines off */
	a6_pool = pool;
	a6_e = &e;
	a6_f = &f;
	a6_armed = 1;
	bp_mem_create_hook = a6_create;
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 12, 0, bufs);
	bp_mem_create_hook = NULL;
	if (!a6_armed)
		pthread_join(a6_thr, NULL);
	printf("[B: %d, e holds %u, queued %d] ", ret, e.nr_held,
	       e.waiter.state == BUFPOOL_WAIT_QUEUED);
	if (ret == -EAGAIN && e.waiter.state == BUFPOOL_WAIT_QUEUED &&
	    e.nr_held + 12 > 32)
		FAILT("queued although its own side holds %u of 32: hopeless, should be -EDEADLK",
		      e.nr_held);
	bufpool_cancel(&e);
	while (bp_mem_run_retry(bp_pool_mem(pool)))
		;
	bufpool_entity_destroy(&e);
	bufpool_entity_destroy(&f);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 7. The fast release reads @fast without a lock, as a hint, before it
 * takes the entity's lock.  Between that read (set) and the magazine's
 * lock, another entity's request is queued, which drains: the release
 * must see @fast clear under the magazine's lock and give the buffer to
 * the locked path, which grants it to the queued request.  Put in a
 * magazine on the stale hint, it would be hidden there with the
 * magazines off and the waiter never granted.
 */
static struct bufpool *a7_pool;
static struct bufpool_entity *a7_f;
static int a7_ret = 1;

static void a7_post(const void *p)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];

	if (p != &a7_pool->fast ||
	    !__atomic_load_n(&a7_pool->fast, __ATOMIC_RELAXED))
		return;
	rt_post_hook = NULL;
	/* no lock held yet: F's request drains and is queued */
	a7_ret = bufpool_alloc(a7_f, BUFPOOL_CLASS_NORMAL, 8, 0, bufs);
}

static void attack_stale_hint_release(void)
{
	struct bufpool *pool = mkpool(8, 0);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e, f;
	struct bufpool_entity *ents[] = { &e, &f };
	struct bufpool_returning r;
	char why[256];
	int bad = 0, ret;
	u32 id;

	printf("stale_hint_release: ");
	warm(pool, 8);
	bufpool_entity_init(pool, &e, nowake, NULL);
	bufpool_entity_init(pool, &f, nowake, NULL);
	e.tracks_dirty = true;		/* clean buffers: straight back */
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (ret || !pool->fast)
		FAILT("alloc %d, fast %d: magazines not serving", ret,
		      pool->fast);
	id = bufs[0]->id;
	a7_pool = pool;
	a7_f = &f;
	rt_post_hook = a7_post;
	ret = bufpool_release_detach(&e, &id, 1, &r);
	rt_post_hook = NULL;
	bufpool_release_finish(pool, &r);
	printf("[F queued: %d, release %d, F now %d holding %u, fast %d] ",
	       a7_ret, ret, f.waiter.state, f.nr_held, pool->fast);
	if (a7_ret != -EAGAIN)
		FAILT("F's request of the whole pool was not queued: %d", a7_ret);
	if (ret)
		FAILT("release %d", ret);
	if (f.waiter.state != BUFPOOL_WAIT_GRANTED)
		FAILT("the buffer released after F queued did not reach F (state %d)",
		      f.waiter.state);
	if (bp_check(pool, ents, 2, 0, why, sizeof(why)))
		FAILT("%s", why);
	bufpool_cancel(&f);
	bufpool_entity_destroy(&e);
	bufpool_entity_destroy(&f);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 8. The fast allocation's hint read clear while another entity's
 * refill turns the magazines on: the allocation takes the locked path,
 * which serves it exactly as if it had come after the refill.
 */
static struct bufpool *a8_pool;
static struct bufpool_entity *a8_f;
static int a8_ret = 1;

static void a8_post(const void *p)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];

	if (p != &a8_pool->fast)
		return;
	rt_post_hook = NULL;
	if (__atomic_load_n(&a8_pool->fast, __ATOMIC_RELAXED))
		return;
	a8_ret = bufpool_alloc(a8_f, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
}

static void attack_stale_hint_alloc(void)
{
	struct bufpool *pool = mkpool(32, 2);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e, f;
	struct bufpool_entity *ents[] = { &e, &f };
	struct bufpool_tunables t;
	const char *err;
	char why[256];
	int bad = 0, ret;

	printf("stale_hint_alloc: ");
	warm(pool, 24);
	bufpool_entity_init(pool, &e, nowake, NULL);
	bufpool_entity_init(pool, &f, nowake, NULL);
	bufpool_get_tunables(pool, &t);
	bufpool_set_tunables(pool, &t, &err);	/* drains: magazines off */
	a8_pool = pool;
	a8_f = &f;
	rt_post_hook = a8_post;
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 2,
			    BUFPOOL_ALLOC_NOQUEUE, bufs);
	rt_post_hook = NULL;
	printf("[F: %d, E: %d holding %u, fast %d] ", a8_ret, ret, e.nr_held,
	       pool->fast);
	if (a8_ret)
		FAILT("F's allocation %d", a8_ret);
	if (!pool->fast)
		FAILT("F's refill did not turn the magazines on");
	if (ret || e.nr_held != 2)
		FAILT("E's allocation after the refill: %d, holds %u", ret,
		      e.nr_held);
	if (bp_check(pool, ents, 2, 0, why, sizeof(why)))
		FAILT("%s", why);
	bufpool_entity_destroy(&e);
	bufpool_entity_destroy(&f);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 9. The same for a slotted entity: between the release's hint read
 * (set) and its entity lock, another entity's request drains, which
 * empties the slot and unslots it.  The release must see that under the
 * entity lock and give the buffer to the locked path (to the queued
 * request): kept in the slot on the stale hint, it would be hidden there
 * with the fast path off and the waiter never granted.
 */
static void attack_slot_hint_release(void)
{
	struct bufpool *pool = mkpool(8, 0);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e, f;
	struct bufpool_entity *ents[] = { &e, &f };
	struct bufpool_returning r;
	char why[256];
	int bad = 0, ret;
	u32 id;

	printf("slot_hint_release: ");
	warm(pool, 8);
	bufpool_entity_init(pool, &e, nowake, NULL);
	bufpool_entity_init(pool, &f, nowake, NULL);
	e.tracks_dirty = true;		/* clean buffers: to the slot */
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (ret || !e.slotted)
		FAILT("alloc %d, slotted %d: the slot not serving", ret,
		      e.slotted);
	id = bufs[0]->id;
	a7_pool = pool;
	a7_f = &f;
	a7_ret = 1;
	rt_post_hook = a7_post;
	ret = bufpool_release_detach(&e, &id, 1, &r);
	rt_post_hook = NULL;
	bufpool_release_finish(pool, &r);
	printf("[F queued: %d, release %d, F now %d, slot %u slotted %d] ",
	       a7_ret, ret, f.waiter.state, e.nr_slot, e.slotted);
	if (a7_ret != -EAGAIN)
		FAILT("F's request of the whole pool was not queued: %d", a7_ret);
	if (ret)
		FAILT("release %d", ret);
	if (f.waiter.state != BUFPOOL_WAIT_GRANTED)
		FAILT("the buffer released after F queued did not reach F (state %d, in e's slot %u)",
		      f.waiter.state, e.nr_slot);
	if (bp_check(pool, ents, 2, 0, why, sizeof(why)))
		FAILT("%s", why);
	bufpool_cancel(&f);
	bufpool_entity_destroy(&e);
	bufpool_entity_destroy(&f);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 10. An allocation of a slotted entity whose slot holds a buffer reads
 * the hint set; before its entity lock, another entity asks for the
 * whole pool, which only fits with the slot's buffer: the drain gives it
 * back and F is served.  The allocation then finds no slot under its
 * lock and the fast path off: the locked path refuses it (NOQUEUE), as
 * if it had come after F.
 */
static struct bufpool *a10_pool;
static struct bufpool_entity *a10_f;
static struct bufpool_buf *a10_bufs[BUFPOOL_ALLOC_MAX];
static int a10_ret = 1;

static void a10_post(const void *p)
{
	if (p != &a10_pool->fast ||
	    !__atomic_load_n(&a10_pool->fast, __ATOMIC_RELAXED))
		return;
	rt_post_hook = NULL;
	a10_ret = bufpool_alloc(a10_f, BUFPOOL_CLASS_NORMAL, 8, 0, a10_bufs);
}

static void attack_slot_hint_alloc(void)
{
	struct bufpool *pool = mkpool(8, 0);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e, f;
	struct bufpool_entity *ents[] = { &e, &f };
	char why[256];
	int bad = 0, ret;
	u32 id;

	printf("slot_hint_alloc: ");
	warm(pool, 8);
	bufpool_entity_init(pool, &e, nowake, NULL);
	bufpool_entity_init(pool, &f, nowake, NULL);
	e.tracks_dirty = true;
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	id = bufs[0]->id;
	if (!ret)
		ret = bufpool_release(&e, &id, 1);
	if (ret || e.nr_slot != 1)
		FAILT("alloc/release %d, slot %u: the slot not serving", ret,
		      e.nr_slot);
	a10_pool = pool;
	a10_f = &f;
	rt_post_hook = a10_post;
	ret = bufpool_alloc(&e, BUFPOOL_CLASS_NORMAL, 1,
			    BUFPOOL_ALLOC_NOQUEUE, bufs);
	rt_post_hook = NULL;
	printf("[F: %d holding %u, E: %d holding %u, slot %u] ", a10_ret,
	       f.nr_held, ret, e.nr_held, e.nr_slot);
	if (a10_ret || f.nr_held != 8)
		FAILT("F's request of the whole pool: %d, holds %u", a10_ret,
		      f.nr_held);
	if (ret != -EAGAIN || e.nr_held)
		FAILT("E served beyond the budget: %d, holds %u", ret,
		      e.nr_held);
	if (bp_check(pool, ents, 2, 0, why, sizeof(why)))
		FAILT("%s", why);
	bufpool_entity_destroy(&e);
	bufpool_entity_destroy(&f);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 11. STATS racing a slotted entity: bufpool_get_stats() sums the
 * magazines, then the slots, with the pool lock held; the fast path moves
 * buffers between them with neither.  Between the two walks the entity
 * takes two buffers from the magazine (already summed) and gives them
 * back into its slot (summed next): counted free twice, in_use wraps.
 * A serial order reports the state before or after the churn.
 */
static struct bufpool_entity *a11_e;
static pthread_t a11_thr;
static bool a11_started;
static int a11_done, a11_ret = 1;

static void *a11_churn(void *arg)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	u32 ids[2];
	int ret = bufpool_alloc(a11_e, BUFPOOL_CLASS_NORMAL, 2, 0, bufs);

	if (!ret) {
		ids[0] = bufs[0]->id;
		ids[1] = bufs[1]->id;
		ret = bufpool_release(a11_e, ids, 2);
	}
	a11_ret = ret;
	__atomic_store_n(&a11_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void a11_lock_hook(const spinlock_t *l)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	if (l != &a11_e->lock)
		return;
	rt_lock_hook = NULL;
	pthread_create(&a11_thr, NULL, a11_churn, NULL);
	a11_started = true;
	/* patience: if the stats hold a lock the churn needs, it waits */
	for (i = 0; i < 500 && !__atomic_load_n(&a11_done, __ATOMIC_ACQUIRE); i++)
		nanosleep(&ts, NULL);
}

/*
 * @e, new on a warm @pool, slotted with its slot empty and one buffer
 * held (bufs[0]): the state the churn of A11 starts from.
 */
static int slotted_holding_one(struct bufpool *pool, struct bufpool_entity *e,
			       struct bufpool_buf **bufs)
{
	int bad = 0, ret;
	u32 id;

	warm(pool, 20);
	bufpool_entity_init(pool, e, nowake, NULL);
	e->tracks_dirty = true;
	ret = bufpool_alloc(e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	id = bufs[0]->id;
	if (!ret)
		ret = bufpool_release(e, &id, 1);
	if (!ret)	/* from the slot: slotted, slot empty, one held */
		ret = bufpool_alloc(e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (ret || !e->slotted || e->nr_slot)
		FAILT("setup %d slotted %d slot %u", ret, e->slotted,
		      e->nr_slot);
	return bad;
}

static void attack_stats_vs_slot(void)
{
	struct bufpool *pool = mkpool(64, 2);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_stats s0, s1, s2;
	struct bufpool_entity e;
	int bad = 0;

	printf("stats_vs_slot: ");
	bad |= slotted_holding_one(pool, &e, bufs);
	bufpool_get_stats(pool, &s0);
	a11_e = &e;
	rt_lock_hook = a11_lock_hook;
	bufpool_get_stats(pool, &s1);
	rt_lock_hook = NULL;
	if (a11_started)
		pthread_join(a11_thr, NULL);
	bufpool_get_stats(pool, &s2);
	printf("[in_use %llu/%llu/%llu allocs +%llu releases +%llu, churn %d] ",
	       (unsigned long long)s0.in_use, (unsigned long long)s1.in_use,
	       (unsigned long long)s2.in_use,
	       (unsigned long long)(s1.allocations - s0.allocations),
	       (unsigned long long)(s1.releases - s0.releases), a11_ret);
	if (!a11_started || a11_ret)
		FAILT("churn did not run: %d", a11_ret);
	if (!((s1.in_use == s0.in_use && s1.allocations == s0.allocations &&
	       s1.releases == s0.releases) ||
	      (s1.in_use == s2.in_use && s1.allocations == s2.allocations &&
	       s1.releases == s2.releases)))
		FAILT("STATS matched no serial order: in_use %llu (1 held)",
		      (unsigned long long)s1.in_use);
	bufpool_entity_destroy(&e);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 11b. The shrinker's count racing a slotted entity, as STATS in 11: it
 * sums the magazines and the slots where they are (no drain), and the
 * churn between the two walks must not make it count two buffers twice,
 * promising the kernel more than bufpool_shrink() can free.  The churn
 * leaves as many free buffers as it found: a serial order counts as many.
 */
static void attack_shrink_count_vs_slot(void)
{
	struct bufpool *pool = mkpool(64, 2);
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity e;
	unsigned int n0, n1, n2, freed;
	int bad = 0;

	printf("shrink_count_vs_slot: ");
	a11_started = false;
	a11_done = 0;
	a11_ret = 1;
	bad |= slotted_holding_one(pool, &e, bufs);
	n0 = bufpool_shrink_count(pool);
	a11_e = &e;
	rt_lock_hook = a11_lock_hook;
	n1 = bufpool_shrink_count(pool);
	rt_lock_hook = NULL;
	if (a11_started)
		pthread_join(a11_thr, NULL);
	n2 = bufpool_shrink_count(pool);
	freed = bufpool_shrink(pool, 1000);
	printf("[shrink_count %u/%u/%u, shrink %u, churn %d] ", n0, n1, n2,
	       freed, a11_ret);
	if (!a11_started || a11_ret)
		FAILT("churn did not run: %d", a11_ret);
	if (n1 != n0 || n2 != n0)
		FAILT("shrink_count matched no serial order: %u, not %u", n1, n0);
	if (freed != n2)
		FAILT("shrink_count %u, but bufpool_shrink() freed %u", n2, freed);
	bufpool_entity_destroy(&e);
	bufpool_destroy(pool);
	printf("%s\n", bad ? "" : "ok");
}

/* ------------------------------------------------------------------ */
/*
 * 12-14. The wake-up after the pool lock: a releaser grants to a waiter,
 * drops the lock and is paused before it calls the waiter's ->wake().
 * Meanwhile the waiter's owner destroys and frees it (12: destroy must
 * wait for that ->wake(), or it is a use after free, which ASan reports),
 * collects the grant and is granted again (13: the second grant is owed
 * one more call, by the paused waker: neither lost nor made twice), or
 * cancels it (14: the late ->wake() finds nothing, harmlessly).
 */
struct wv {
	struct bufpool_entity e;
	unsigned int wakes;	/* ->wake() calls, one at a time */
	int in_wake;		/* a ->wake() is running: never two at once */
};

static void wv_wake(struct bufpool_waiter *w)
{
	struct wv *v = w->target;

	if (__atomic_fetch_add(&v->in_wake, 1, __ATOMIC_SEQ_CST))
		printf("[two ->wake() at once] ");
	__atomic_add_fetch(&v->wakes, 1, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&v->in_wake, 1, __ATOMIC_SEQ_CST);
}

static struct bufpool *w_pool;
static struct wv *w_v;
static int w_paused, w_go;

/* in the releaser, after each unlock: pause once @w_v's wake is under way */
static void w_unlock_hook(const spinlock_t *l)
{
	struct bufpool_waiter *w = &w_v->e.waiter;
	struct timespec ts = { 0, 1000000 };
	int i;

	if (l != &w_pool->lock || w->wake_listed ||
	    !atomic_read(&w->wake_owed) || w_v->wakes)
		return;
	rt_unlock_hook = NULL;
	__atomic_store_n(&w_paused, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2000 && !__atomic_load_n(&w_go, __ATOMIC_ACQUIRE); i++)
		nanosleep(&ts, NULL);
}

static struct bufpool_entity *w_holder;
static u32 w_id;
static int w_ret;

static void *w_release(void *arg)
{
	rt_unlock_hook = w_unlock_hook;
	w_ret = bufpool_release(w_holder, &w_id, 1);
	rt_unlock_hook = NULL;
	return NULL;
}

static int w_destroyed;

static void *w_destroy(void *arg)
{
	bufpool_entity_destroy(&w_v->e);
	__atomic_store_n(&w_destroyed, 1, __ATOMIC_RELEASE);
	free(w_v);
	return NULL;
}

/* Up to @ms milliseconds for @flag. */
static bool w_wait(int *flag, int ms)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < ms && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); i++)
		nanosleep(&ts, NULL);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/*
 * The pool of one buffer, held by @holder, which @w_v waits for; a thread
 * releases it and pauses in its unlock, before @w_v's ->wake().
 */
static bool w_setup(struct bufpool_entity *holder, pthread_t *thr)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];

	w_pool = mkpool(1, 0);
	w_v = calloc(1, sizeof(*w_v));
	w_paused = w_go = w_destroyed = 0;
	bufpool_entity_init(w_pool, holder, nowake, NULL);
	bufpool_entity_init(w_pool, &w_v->e, wv_wake, w_v);
	if (bufpool_alloc(holder, BUFPOOL_CLASS_NORMAL, 1, 0, bufs) ||
	    bufpool_alloc(&w_v->e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs) != -EAGAIN)
		return false;
	w_holder = holder;
	w_id = first_id(holder);
	pthread_create(thr, NULL, w_release, NULL);
	return w_wait(&w_paused, 2000);
}

static void attack_destroy_vs_wake(void)
{
	unsigned long sleeps = bp_var_sleeps;
	pthread_t rel, des;
	struct bufpool_entity a;
	int bad = 0;

	printf("destroy_vs_wake: ");
	if (!w_setup(&a, &rel))
		FAILT("the releaser did not pause before the ->wake()");
	pthread_create(&des, NULL, w_destroy, NULL);
	/* a destroy that does not wait returns, and frees, now */
	if (w_wait(&w_destroyed, 100))
		FAILT("destroy returned while a ->wake() of its entity was under way");
	__atomic_store_n(&w_go, 1, __ATOMIC_RELEASE);
	pthread_join(rel, NULL);
	pthread_join(des, NULL);
	if (w_ret)
		FAILT("release %d", w_ret);
	if (bp_var_sleeps == sleeps)
		FAILT("destroy never waited");
	bufpool_entity_destroy(&a);
	bufpool_destroy(w_pool);
	printf("%s\n", bad ? "" : "ok");
}

static void attack_regrant_vs_wake(void)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_stats st;
	struct bufpool_entity a;
	pthread_t rel;
	int bad = 0, ret;
	u32 id;

	printf("regrant_vs_wake: ");
	if (!w_setup(&a, &rel))
		FAILT("the releaser did not pause before the ->wake()");
	/* the owner does not wait for the wake-up: it collects at once */
	ret = bufpool_alloc(&w_v->e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (!ret)
		ret = bufpool_alloc(&a, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (ret != -EAGAIN)
		FAILT("collect, then the holder queues again: %d", ret);
	id = first_id(&w_v->e);
	ret = bufpool_release(&w_v->e, &id, 1);	/* granted to a */
	if (!ret)
		ret = bufpool_alloc(&a, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (!ret)
		ret = bufpool_alloc(&w_v->e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (ret != -EAGAIN)
		FAILT("second request: %d", ret);
	id = first_id(&a);
	ret = bufpool_release(&a, &id, 1);	/* the second grant to v */
	printf("[wakes %u owed %d before the waker goes on] ", w_v->wakes,
	       atomic_read(&w_v->e.waiter.wake_owed));
	if (ret || w_v->wakes || atomic_read(&w_v->e.waiter.wake_owed) != 2 ||
	    w_v->e.waiter.wake_listed)
		FAILT("release %d: the second grant is not owed to the waker", ret);
	__atomic_store_n(&w_go, 1, __ATOMIC_RELEASE);
	pthread_join(rel, NULL);
	bufpool_get_stats(w_pool, &st);
	if (w_v->wakes != 2 || st.wakeups != 3 || st.grants_waited != 3)
		FAILT("%u ->wake() for 2 grants (wakeups %llu, grants %llu of 3)",
		      w_v->wakes, (unsigned long long)st.wakeups,
		      (unsigned long long)st.grants_waited);
	if (atomic_read(&w_v->e.waiter.wake_owed))
		FAILT("still owed %d", atomic_read(&w_v->e.waiter.wake_owed));
	if (!bufpool_ready(&w_v->e) ||
	    bufpool_alloc(&w_v->e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs))
		FAILT("the second grant was not there to collect");
	bufpool_entity_destroy(&w_v->e);
	bufpool_entity_destroy(&a);
	bufpool_destroy(w_pool);
	free(w_v);
	printf("%s\n", bad ? "" : "ok");
}

static void attack_cancel_vs_wake(void)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_entity a;
	struct bp_snap s;
	char why[256];
	struct bufpool_entity *ents[2] = { &a, NULL };
	pthread_t rel;
	int bad = 0, ret;

	printf("cancel_vs_wake: ");
	if (!w_setup(&a, &rel))
		FAILT("the releaser did not pause before the ->wake()");
	ents[1] = &w_v->e;
	ret = bufpool_cancel(&w_v->e);
	if (ret || bufpool_ready(&w_v->e))
		FAILT("cancel of the grant: %d", ret);
	__atomic_store_n(&w_go, 1, __ATOMIC_RELEASE);
	pthread_join(rel, NULL);
	bp_snapshot(w_pool, &s);
	if (w_v->wakes != 1 || bufpool_ready(&w_v->e) || s.in_use)
		FAILT("late ->wake(): %u calls, ready %d, in_use %u",
		      w_v->wakes, bufpool_ready(&w_v->e), s.in_use);
	if (bp_check(w_pool, ents, 2, BP_CHECK_QUIESCENT | BP_CHECK_WAKEUP,
		     why, sizeof(why)))
		FAILT("invariant: %s", why);
	ret = bufpool_alloc(&w_v->e, BUFPOOL_CLASS_NORMAL, 1, 0, bufs);
	if (ret)
		FAILT("a new request after the cancel: %d", ret);
	bufpool_entity_destroy(&w_v->e);
	bufpool_entity_destroy(&a);
	bufpool_destroy(w_pool);
	free(w_v);
	if (bp_warnings)
		FAILT("%u WARN_ON", bp_warnings);
	printf("%s\n", bad ? "" : "ok");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	attack_mmap_vs_release();
	attack_critical_vs_release();
	attack_release_errors();
	attack_stats_quota();
	attack_shrink_count();
	attack_stale_admission();
	attack_stale_hint_release();
	attack_stale_hint_alloc();
	attack_slot_hint_release();
	attack_slot_hint_alloc();
	attack_stats_vs_slot();
	attack_shrink_count_vs_slot();
	attack_destroy_vs_wake();
	attack_regrant_vs_wake();
	attack_cancel_vs_wake();
	printf("interleave: %d failed\n", failures);
	return failures;
}
