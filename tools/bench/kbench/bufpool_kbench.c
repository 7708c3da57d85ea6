// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool_kbench: the seed-002 session workload from kernel threads,
 * through bufpool's in-kernel API and through two kernel peers, so that
 * their throughput and wake-ups can be compared in one boot.
 *
 * Each of S kernel threads loops: get a request buffer (NORMAL), take one
 * of M server slots (a FIFO semaphore), sleep the service time, get a
 * response buffer (CRITICAL), free the slot, give both buffers back
 * (zeroed, as bufpool zeroes them).  The peers:
 *
 *  bufpool  the system pool (its limit, reserve and policy are set for the
 *           run and restored after), one entity per thread, waiting on a
 *           wait queue its ->wake() wakes;
 *  mempool  mm/mempool: NORMAL from a pool of limit - reserve preallocated
 *           buffers whose alloc_fn refuses to go beyond them, CRITICAL
 *           first without waiting from that pool, then from a second pool
 *           of reserve buffers (the kernel's way to keep a class's
 *           reserve: a pool per class);
 *  sbitmap  lib/sbitmap's sbitmap_queue, as blk-mq uses it for tags:
 *           NORMAL from limit - reserve tags, CRITICAL from the reserved
 *           tags after a non-waiting try of the normal ones, waiting as
 *           blk_mq_get_tag() does.
 *
 * Wake-ups are counted the same way for all three: the voluntary context
 * switches of the thread inside its buffer requests.  A wake-up after
 * which the thread has to sleep again counts as spurious.
 *
 * Control through debugfs: write "peer=mempool limit=36 reserve=4 ..." to
 * bufpool_kbench/run (it returns when the run is over), read the result
 * line back from the same file.  The peers need reserve >= 1.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mempool.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sbitmap.h>
#include <linux/sched.h>
#include <linux/semaphore.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "bufpool.h"

#define KB_BUFSIZE	4096
#define KB_HIST_SUB	16	/* sub-buckets per power of two */
#define KB_HIST_SHIFT	4
#define KB_HIST_LEN	(64 * KB_HIST_SUB)
#define KB_RESULT_LEN	1024
#define KB_CRIT_BIT	1UL	/* mempool: the buffer came from the reserve */
#define KB_SBQ_CRIT	BIT(30)	/* sbitmap: a reserved tag */

enum kb_peer {
	KB_BUFPOOL,
	KB_MEMPOOL,
	KB_SBITMAP,
	KB_NR_PEERS,
};

static const char * const kb_peer_names[KB_NR_PEERS] = {
	[KB_BUFPOOL] = "bufpool",
	[KB_MEMPOOL] = "mempool",
	[KB_SBITMAP] = "sbitmap",
};

static const char * const kb_policy_names[BUFPOOL_NR_POLICIES] = {
	[BUFPOOL_POLICY_HANDOFF] = "handoff",
	[BUFPOOL_POLICY_OFFER] = "offer",
	[BUFPOOL_POLICY_ALL] = "all",
	[BUFPOOL_POLICY_ADAPTIVE] = "adaptive",
};

/**
 * struct kb_cfg - one run
 * @peer: enum kb_peer
 * @policy: enum bufpool_policy (bufpool only)
 * @sessions: kernel threads
 * @maxconn: server slots
 * @limit: most buffers in use at once
 * @reserve: buffers only CRITICAL requests may take
 * @ms: measured time
 * @warmup_ms: unmeasured start
 * @service_us: server time per request
 */
struct kb_cfg {
	unsigned int peer;
	unsigned int policy;
	unsigned int sessions;
	unsigned int maxconn;
	unsigned int limit;
	unsigned int reserve;
	unsigned int ms;
	unsigned int warmup_ms;
	unsigned int service_us;
};

/**
 * struct kb_stats - what one thread counted while measuring
 * @sessions: sessions completed
 * @allocs: buffer requests completed
 * @attempts: tries to take a buffer: first tries and retries after a
 *	wake-up (collecting a hand-off grant is not a try)
 * @waited: requests that had to wait
 * @sleeps: wake-ups received inside buffer requests
 * @spurious: wake-ups after which the thread slept again
 * @wait_max: longest buffer wait of a session, ns (from the first failed
 *	try to the buffer: a request served at once waits 0)
 */
struct kb_stats {
	u64 sessions;
	u64 allocs;
	u64 attempts;
	u64 waited;
	u64 sleeps;
	u64 spurious;
	u64 wait_max;
};

struct kb_bench;

/**
 * struct kb_sess - one session thread
 * @b: the run
 * @task: the thread
 * @entity: its bufpool entity (bufpool peer)
 * @wq: woken by the entity's ->wake()
 * @st: its counters
 */
struct kb_sess {
	struct kb_bench *b;
	struct task_struct *task;
	struct bufpool_entity entity;
	wait_queue_head_t wq;
	struct kb_stats st;
};

/**
 * struct kb_mp - one mempool and its budget
 * @pool: the mempool
 * @budget: buffers alloc_fn may ever have out
 * @made: buffers alloc_fn has out
 */
struct kb_mp {
	mempool_t *pool;
	unsigned int budget;
	atomic_t made;
};

/**
 * struct kb_bench - the state of a run
 * @cfg: what to run
 * @srv: the server's maxconn slots
 * @measuring: threads count only while set
 * @sess: the session threads
 * @mp: NORMAL and CRITICAL mempools
 * @sbq: NORMAL and reserved tags
 * @sbq_bufs: the buffer behind each tag
 * @sbq_wait_index: rotates over the sbitmap wait queues
 * @in_use: buffers held now
 * @peak: most buffers held at once
 * @hist: histogram of the sessions' buffer waits
 */
struct kb_bench {
	struct kb_cfg cfg;
	struct semaphore srv;
	bool measuring;
	struct kb_sess *sess;
	struct kb_mp mp[2];
	struct sbitmap_queue sbq[2];
	void **sbq_bufs[2];
	atomic_t sbq_wait_index;
	atomic_t in_use;
	atomic_t peak;
	atomic_t hist[KB_HIST_LEN];
};

static DEFINE_MUTEX(kb_mutex);	/* one run at a time, and kb_result */
static char kb_result[KB_RESULT_LEN];
static struct dentry *kb_dir;

static bool kb_measuring(struct kb_bench *b)
{
	return READ_ONCE(b->measuring);
}

static void kb_held(struct kb_bench *b, int n)
{
	int v = atomic_add_return(n, &b->in_use);
	int p = atomic_read(&b->peak);

	while (v > p && !atomic_try_cmpxchg(&b->peak, &p, v))
		;
}

static unsigned int kb_hist_index(u64 ns)
{
	unsigned int msb;

	if (ns < KB_HIST_SUB)
		return ns;
	msb = fls64(ns) - 1;
	return (msb - KB_HIST_SHIFT + 1) * KB_HIST_SUB +
	       ((ns >> (msb - KB_HIST_SHIFT)) & (KB_HIST_SUB - 1));
}

static u64 kb_hist_value(unsigned int i)
{
	unsigned int msb;

	if (i < KB_HIST_SUB)
		return i;
	msb = i / KB_HIST_SUB + KB_HIST_SHIFT - 1;
	return (1ULL << msb) +
	       ((u64)(i % KB_HIST_SUB + 1) << (msb - KB_HIST_SHIFT));
}

static u64 kb_hist_pct(struct kb_bench *b, unsigned int pct)
{
	u64 total = 0, acc = 0, want;
	unsigned int i;

	for (i = 0; i < KB_HIST_LEN; i++)
		total += atomic_read(&b->hist[i]);
	if (!total)
		return 0;
	want = DIV_ROUND_UP_ULL(total * pct, 100);
	for (i = 0; i < KB_HIST_LEN; i++) {
		acc += atomic_read(&b->hist[i]);
		if (acc >= want)
			return kb_hist_value(i);
	}
	return kb_hist_value(KB_HIST_LEN - 1);
}

/*
 * A request starts to wait: the clock is read only around waits (under
 * TCG it is the HPET, whose reads would cost more than a pool's fast path).
 */
static void kb_wait_start(u64 *t0)
{
	if (!*t0)
		*t0 = ktime_get_ns() ?: 1;
}

/* ---- bufpool ---- */

static void kb_bufpool_wake(struct bufpool_waiter *w)
{
	struct kb_sess *s = w->target;

	wake_up(&s->wq);
}

/* A buffer of @class from the system pool; -EINTR when told to stop. */
static int kb_bufpool_get(struct kb_sess *s, unsigned int class,
			  unsigned long *h, u64 *wait_t0)
{
	/* both wake only with a grant: collecting it is not a try */
	bool handoff = s->b->cfg.policy == BUFPOOL_POLICY_HANDOFF ||
		       s->b->cfg.policy == BUFPOOL_POLICY_ADAPTIVE;
	struct bufpool_buf *buf;
	bool woken = false;
	int ret;

	for (;;) {
		ret = bufpool_alloc(&s->entity, class, 1, 0, &buf);
		if (!(woken && handoff) && kb_measuring(s->b))
			s->st.attempts++;
		if (!ret) {
			*h = buf->id;
			return 0;
		}
		if (ret != -EAGAIN)
			return ret;
		kb_wait_start(wait_t0);
		/* no timeout: its wake-ups would count as the pool's */
		wait_event(s->wq, !bufpool_queued(&s->entity) ||
			   kthread_should_stop());
		if (bufpool_queued(&s->entity)) {	/* told to stop */
			bufpool_cancel(&s->entity);
			return -EINTR;
		}
		woken = true;
	}
}

static void kb_bufpool_put(struct kb_sess *s, unsigned long *h,
			   unsigned int n)
{
	u32 ids[2];
	unsigned int i;

	for (i = 0; i < n; i++)
		ids[i] = h[i];
	WARN_ON_ONCE(bufpool_release(&s->entity, ids, n));
}

/* ---- mempool ---- */

static void *kb_mp_alloc(gfp_t gfp, void *data)
{
	struct kb_mp *mp = data;
	void *p;

	if (atomic_inc_return(&mp->made) > mp->budget) {
		atomic_dec(&mp->made);
		return NULL;
	}
	p = kzalloc(KB_BUFSIZE, gfp);
	if (!p)
		atomic_dec(&mp->made);
	return p;
}

static void kb_mp_free(void *p, void *data)
{
	struct kb_mp *mp = data;

	kfree(p);
	atomic_dec(&mp->made);
}

static int kb_mempool_get(struct kb_sess *s, unsigned int class,
			  unsigned long *h, u64 *wait_t0)
{
	struct kb_bench *b = s->b;
	void *p;

	if (kb_measuring(b))
		s->st.attempts++;
	if (class == BUFPOOL_CLASS_CRITICAL) {
		p = mempool_alloc(b->mp[0].pool, GFP_NOWAIT);
		if (p) {
			*h = (unsigned long)p;
			return 0;
		}
		p = mempool_alloc(b->mp[1].pool, GFP_NOWAIT);
		if (p) {
			*h = (unsigned long)p | KB_CRIT_BIT;
			return 0;
		}
		kb_wait_start(wait_t0);
		p = mempool_alloc(b->mp[1].pool, GFP_KERNEL);
		*h = (unsigned long)p | KB_CRIT_BIT;
		return 0;
	}
	p = mempool_alloc(b->mp[0].pool, GFP_NOWAIT);
	if (!p) {
		kb_wait_start(wait_t0);
		p = mempool_alloc(b->mp[0].pool, GFP_KERNEL);
	}
	*h = (unsigned long)p;
	return 0;
}

static void kb_mempool_put(struct kb_sess *s, unsigned long *h,
			   unsigned int n)
{
	unsigned int i, crit;
	void *p;

	for (i = 0; i < n; i++) {
		crit = h[i] & KB_CRIT_BIT;
		p = (void *)(h[i] & ~KB_CRIT_BIT);
		memset(p, 0, KB_BUFSIZE);
		mempool_free(p, s->b->mp[crit].pool);
	}
}

/* ---- sbitmap_queue ---- */

static int kb_sbq_wait(struct kb_bench *b, struct sbitmap_queue *q,
		       unsigned int *cpu)
{
	struct sbq_wait_state *ws;
	DEFINE_SBQ_WAIT(wait);
	int nr;

	/* blk_mq_get_tag()'s loop */
	ws = sbq_wait_ptr(q, &b->sbq_wait_index);
	for (;;) {
		nr = sbitmap_queue_get(q, cpu);
		if (nr >= 0)
			break;
		sbitmap_prepare_to_wait(q, ws, &wait, TASK_UNINTERRUPTIBLE);
		nr = sbitmap_queue_get(q, cpu);
		if (nr >= 0)
			break;
		io_schedule();
		sbitmap_finish_wait(q, ws, &wait);
		ws = sbq_wait_ptr(q, &b->sbq_wait_index);
	}
	sbitmap_finish_wait(q, ws, &wait);
	return nr;
}

static int kb_sbitmap_get(struct kb_sess *s, unsigned int class,
			  unsigned long *h, u64 *wait_t0)
{
	struct kb_bench *b = s->b;
	unsigned int cpu;
	int nr;

	if (kb_measuring(b))
		s->st.attempts++;
	nr = sbitmap_queue_get(&b->sbq[0], &cpu);
	if (nr >= 0) {
		*h = nr;
		return 0;
	}
	if (class == BUFPOOL_CLASS_CRITICAL) {
		nr = sbitmap_queue_get(&b->sbq[1], &cpu);
		if (nr < 0) {
			kb_wait_start(wait_t0);
			nr = kb_sbq_wait(b, &b->sbq[1], &cpu);
		}
		*h = nr | KB_SBQ_CRIT;
		return 0;
	}
	kb_wait_start(wait_t0);
	*h = kb_sbq_wait(b, &b->sbq[0], &cpu);
	return 0;
}

static void kb_sbitmap_put(struct kb_sess *s, unsigned long *h,
			   unsigned int n)
{
	unsigned int i, crit, tag;

	for (i = 0; i < n; i++) {
		crit = !!(h[i] & KB_SBQ_CRIT);
		tag = h[i] & ~KB_SBQ_CRIT;
		memset(s->b->sbq_bufs[crit][tag], 0, KB_BUFSIZE);
		sbitmap_queue_clear(&s->b->sbq[crit], tag,
				    raw_smp_processor_id());
	}
}

/* ---- the session loop ---- */

static int kb_get(struct kb_sess *s, unsigned int class, unsigned long *h,
		  u64 *wait_ns)
{
	unsigned long nvcsw = current->nvcsw;
	u64 t0 = 0;
	unsigned long sleeps;
	int ret;

	switch (s->b->cfg.peer) {
	case KB_BUFPOOL:
		ret = kb_bufpool_get(s, class, h, &t0);
		break;
	case KB_MEMPOOL:
		ret = kb_mempool_get(s, class, h, &t0);
		break;
	default:
		ret = kb_sbitmap_get(s, class, h, &t0);
		break;
	}
	if (ret)
		return ret;
	kb_held(s->b, 1);
	if (t0)
		*wait_ns += ktime_get_ns() - t0;
	if (!kb_measuring(s->b))
		return 0;
	sleeps = current->nvcsw - nvcsw;
	s->st.allocs++;
	s->st.waited += !!t0;
	s->st.sleeps += sleeps;
	if (sleeps > 1)
		s->st.spurious += sleeps - 1;
	/* each wake-up of a peer leads to one more try */
	if (s->b->cfg.peer != KB_BUFPOOL)
		s->st.attempts += sleeps;
	return 0;
}

static void kb_put(struct kb_sess *s, unsigned long *h, unsigned int n)
{
	switch (s->b->cfg.peer) {
	case KB_BUFPOOL:
		kb_bufpool_put(s, h, n);
		break;
	case KB_MEMPOOL:
		kb_mempool_put(s, h, n);
		break;
	default:
		kb_sbitmap_put(s, h, n);
		break;
	}
	kb_held(s->b, -(int)n);
}

static int kb_thread(void *arg)
{
	struct kb_sess *s = arg;
	struct kb_bench *b = s->b;
	unsigned int us = b->cfg.service_us;
	unsigned long h[2];
	u64 wait_ns;

	while (!kthread_should_stop()) {
		wait_ns = 0;
		if (kb_get(s, BUFPOOL_CLASS_NORMAL, &h[0], &wait_ns))
			break;
		while (down_timeout(&b->srv, HZ / 10)) {
			if (kthread_should_stop()) {
				kb_put(s, h, 1);
				goto out;
			}
		}
		if (us)
			usleep_range(us, us + us / 8 + 1);
		if (kb_get(s, BUFPOOL_CLASS_CRITICAL, &h[1], &wait_ns)) {
			up(&b->srv);
			kb_put(s, h, 1);
			break;
		}
		up(&b->srv);
		kb_put(s, h, 2);
		if (kb_measuring(b)) {
			s->st.sessions++;
			s->st.wait_max = max(s->st.wait_max, wait_ns);
			atomic_inc(&b->hist[kb_hist_index(wait_ns)]);
		}
		cond_resched();
	}
out:
	/* kthread_stop() needs us alive until it is called */
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/* ---- set-up and tear-down of a peer ---- */

static int kb_mp_create(struct kb_mp *mp, unsigned int n)
{
	mp->budget = n;
	atomic_set(&mp->made, 0);
	mp->pool = mempool_create(n, kb_mp_alloc, kb_mp_free, mp);
	return mp->pool ? 0 : -ENOMEM;
}

static void kb_sbq_destroy(struct kb_bench *b, unsigned int i)
{
	unsigned int t;

	if (!b->sbq_bufs[i])
		return;
	for (t = 0; t < b->sbq[i].sb.depth; t++)
		kfree(b->sbq_bufs[i][t]);
	kfree(b->sbq_bufs[i]);
	b->sbq_bufs[i] = NULL;
	sbitmap_queue_free(&b->sbq[i]);
}

static int kb_sbq_create(struct kb_bench *b, unsigned int i, unsigned int n)
{
	unsigned int t;
	int ret;

	ret = sbitmap_queue_init_node(&b->sbq[i], n, -1, false, GFP_KERNEL,
				      NUMA_NO_NODE);
	if (ret)
		return ret;
	b->sbq_bufs[i] = kcalloc(n, sizeof(void *), GFP_KERNEL);
	if (!b->sbq_bufs[i]) {
		sbitmap_queue_free(&b->sbq[i]);
		return -ENOMEM;
	}
	for (t = 0; t < n; t++) {
		b->sbq_bufs[i][t] = kzalloc(KB_BUFSIZE, GFP_KERNEL);
		if (!b->sbq_bufs[i][t]) {
			kb_sbq_destroy(b, i);
			return -ENOMEM;
		}
	}
	return 0;
}

static int kb_setup(struct kb_bench *b, struct bufpool_tunables *saved)
{
	struct bufpool *pool = bufpool_system_pool();
	struct kb_cfg *c = &b->cfg;
	struct bufpool_tunables t;
	const char *why = "";
	int ret;

	switch (c->peer) {
	case KB_BUFPOOL:
		bufpool_get_tunables(pool, saved);
		t = *saved;
		t.limit = c->limit;
		t.reserve = c->reserve;
		t.policy = c->policy;
		bufpool_default_headroom(&t);
		ret = bufpool_set_tunables(pool, &t, &why);
		if (ret)
			pr_err("cannot set the pool: %s\n", why);
		return ret;
	case KB_MEMPOOL:
		ret = kb_mp_create(&b->mp[0], c->limit - c->reserve);
		if (ret)
			return ret;
		ret = kb_mp_create(&b->mp[1], c->reserve);
		if (ret)
			mempool_destroy(b->mp[0].pool);
		return ret;
	default:
		ret = kb_sbq_create(b, 0, c->limit - c->reserve);
		if (ret)
			return ret;
		ret = kb_sbq_create(b, 1, c->reserve);
		if (ret)
			kb_sbq_destroy(b, 0);
		return ret;
	}
}

static void kb_teardown(struct kb_bench *b, struct bufpool_tunables *saved)
{
	const char *why;

	switch (b->cfg.peer) {
	case KB_BUFPOOL:
		if (bufpool_set_tunables(bufpool_system_pool(), saved, &why))
			pr_err("cannot restore the pool: %s\n", why);
		break;
	case KB_MEMPOOL:
		mempool_destroy(b->mp[0].pool);
		mempool_destroy(b->mp[1].pool);
		break;
	default:
		kb_sbq_destroy(b, 0);
		kb_sbq_destroy(b, 1);
		break;
	}
}

/* ---- one run ---- */

static void kb_report(struct kb_bench *b, u64 ns, struct bufpool_stats *st0,
		      struct bufpool_stats *st1)
{
	struct kb_cfg *c = &b->cfg;
	struct kb_stats t = { 0 };
	u64 sx = 0, sxx = 0, rate, jain;
	unsigned int i;

	for (i = 0; i < c->sessions; i++) {
		struct kb_stats *s = &b->sess[i].st;

		t.sessions += s->sessions;
		t.allocs += s->allocs;
		t.attempts += s->attempts;
		t.waited += s->waited;
		t.sleeps += s->sleeps;
		t.spurious += s->spurious;
		t.wait_max = max(t.wait_max, s->wait_max);
		sx += s->sessions;
		sxx += s->sessions * s->sessions;
	}
	rate = div64_u64(t.sessions * NSEC_PER_SEC, max_t(u64, ns, 1));
	/* Jain's index over completions, in 1/10000 */
	jain = sxx ? div64_u64(sx * sx * 10000, c->sessions * sxx) : 0;
	scnprintf(kb_result, sizeof(kb_result),
		  "peer=%s policy=%s sessions=%u maxconn=%u limit=%u reserve=%u service_us=%u ms=%llu completed=%llu rate=%llu allocs=%llu attempts=%llu waited=%llu wakeups=%llu spurious=%llu pool_wakeups=%llu pool_grants=%llu pool_spurious=%llu wait_p50_ns=%llu wait_p99_ns=%llu wait_max_ns=%llu jain_e4=%llu in_use_peak=%d pool_drains=%llu pool_allocated=%llu\n",
		  kb_peer_names[c->peer],
		  c->peer == KB_BUFPOOL ? kb_policy_names[c->policy] : "-",
		  c->sessions, c->maxconn, c->limit, c->reserve, c->service_us,
		  div_u64(ns, NSEC_PER_MSEC), t.sessions, rate, t.allocs,
		  t.attempts, t.waited, t.sleeps, t.spurious,
		  st1->wakeups - st0->wakeups,
		  st1->grants_waited - st0->grants_waited,
		  st1->spurious_wakeups - st0->spurious_wakeups,
		  kb_hist_pct(b, 50), kb_hist_pct(b, 99), t.wait_max, jain,
		  atomic_read(&b->peak), st1->drains - st0->drains,
		  st1->allocated);
}

static int kb_run(struct kb_bench *b)
{
	struct bufpool_stats st0 = { 0 }, st1 = { 0 };
	struct bufpool *pool = bufpool_system_pool();
	struct kb_cfg *c = &b->cfg;
	struct bufpool_tunables saved;
	unsigned int i, started = 0;
	u64 t0 = 0, t1 = 0;
	int ret;

	sema_init(&b->srv, c->maxconn);
	b->sess = kcalloc(c->sessions, sizeof(*b->sess), GFP_KERNEL);
	if (!b->sess)
		return -ENOMEM;
	ret = kb_setup(b, &saved);
	if (ret)
		goto free_sess;

	for (i = 0; i < c->sessions; i++) {
		struct kb_sess *s = &b->sess[i];

		s->b = b;
		init_waitqueue_head(&s->wq);
		if (c->peer == KB_BUFPOOL)
			bufpool_entity_init(pool, &s->entity, kb_bufpool_wake,
					    s);
		s->task = kthread_create(kb_thread, s, "kbench/%u", i);
		if (IS_ERR(s->task)) {
			ret = PTR_ERR(s->task);
			if (c->peer == KB_BUFPOOL)
				bufpool_entity_destroy(&s->entity);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		wake_up_process(b->sess[i].task);

	if (!ret) {
		msleep(c->warmup_ms);
		bufpool_get_stats(pool, &st0);
		t0 = ktime_get_ns();
		WRITE_ONCE(b->measuring, true);
		msleep(c->ms);
		WRITE_ONCE(b->measuring, false);
		t1 = ktime_get_ns();
		bufpool_get_stats(pool, &st1);
	}

	for (i = 0; i < started; i++) {
		kthread_stop(b->sess[i].task);
		if (c->peer == KB_BUFPOOL)
			bufpool_entity_destroy(&b->sess[i].entity);
	}
	if (!ret) {
		if (c->peer != KB_BUFPOOL)
			st1 = st0;	/* no pool counters for the peers */
		kb_report(b, t1 - t0, &st0, &st1);
	}
	kb_teardown(b, &saved);
free_sess:
	kfree(b->sess);
	return ret;
}

/* ---- debugfs ---- */

static int kb_parse(char *buf, struct kb_cfg *c)
{
	char *tok, *val;
	int i, ret;

	*c = (struct kb_cfg){
		.peer = KB_BUFPOOL,
		.policy = BUFPOOL_POLICY_HANDOFF,
		.sessions = 64,
		.maxconn = 8,
		.limit = 256,
		.reserve = 4,
		.ms = 3000,
		.warmup_ms = 300,
		.service_us = 200,
	};
	while ((tok = strsep(&buf, " \t\n"))) {
		if (!*tok)
			continue;
		val = strchr(tok, '=');
		if (!val)
			return -EINVAL;
		*val++ = '\0';
		if (!strcmp(tok, "peer")) {
			ret = match_string(kb_peer_names, KB_NR_PEERS, val);
			if (ret < 0)
				return ret;
			c->peer = ret;
		} else if (!strcmp(tok, "policy")) {
			ret = match_string(kb_policy_names, BUFPOOL_NR_POLICIES,
					   val);
			if (ret < 0)
				return ret;
			c->policy = ret;
		} else {
			static const char * const keys[] = {
				"sessions", "maxconn", "limit", "reserve",
				"ms", "warmup_ms", "service_us",
			};
			unsigned int *fields[] = {
				&c->sessions, &c->maxconn, &c->limit,
				&c->reserve, &c->ms, &c->warmup_ms,
				&c->service_us,
			};

			i = match_string(keys, ARRAY_SIZE(keys), tok);
			if (i < 0)
				return -EINVAL;
			ret = kstrtouint(val, 0, fields[i]);
			if (ret)
				return ret;
		}
	}
	if (!c->sessions || c->sessions > 1024 || !c->maxconn ||
	    c->reserve >= c->limit || c->ms > 60000 || c->warmup_ms > 10000 ||
	    c->service_us > 100000)
		return -EINVAL;
	/* the peers keep the reserve in a pool of its own */
	if (c->peer != KB_BUFPOOL && !c->reserve)
		return -EINVAL;
	return 0;
}

static ssize_t kb_run_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	struct kb_bench *b;
	char *buf;
	int ret;

	if (len >= 256)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	b = kvzalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		kfree(buf);
		return -ENOMEM;
	}
	ret = kb_parse(buf, &b->cfg);
	kfree(buf);
	if (!ret) {
		mutex_lock(&kb_mutex);
		kb_result[0] = '\0';
		ret = kb_run(b);
		mutex_unlock(&kb_mutex);
	}
	kvfree(b);
	return ret ? ret : len;
}

static ssize_t kb_run_read(struct file *file, char __user *ubuf, size_t len,
			   loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&kb_mutex);
	ret = simple_read_from_buffer(ubuf, len, ppos, kb_result,
				      strlen(kb_result));
	mutex_unlock(&kb_mutex);
	return ret;
}

static const struct file_operations kb_run_fops = {
	.owner = THIS_MODULE,
	.write = kb_run_write,
	.read = kb_run_read,
	.llseek = default_llseek,
};

static int __init kb_init(void)
{
	kb_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("run", 0600, kb_dir, NULL, &kb_run_fops);
	return 0;
}

static void __exit kb_exit(void)
{
	debugfs_remove_recursive(kb_dir);
}

module_init(kb_init);
module_exit(kb_exit);

MODULE_DESCRIPTION("bufpool against mempool and sbitmap_queue: the session workload from kernel threads");
MODULE_LICENSE("GPL");
