// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded exhaustive model check of the REAL bufpool core.
 *
 * A state is the sequence of actions that leads to it, replayed from
 * scratch on a fresh pool each time (the core's state is lists and
 * pointers, so replaying is simpler and more honest than copying it).
 * States are deduplicated by a key made of everything that decides the
 * core's future behaviour (budget counters, queue order, each entity's
 * holdings and request, the page allocator's mood, the pending retry, and
 * the scenario's own state); buffer ids are left out, they decide nothing.
 * The search is breadth-first, so the first trace found to a state is a
 * shortest one.
 *
 * At every state: bp_check() (accounting, no two owners, queue
 * consistency, no lost wake-up: the first queued head must not fit both
 * the budget and the memory at hand; no ->wake() left owed nor a waiter
 * left on the pool's list of waiters to wake) and, on every transition,
 * exactly one wake-up per grant.  A transition is one call into the core,
 * and the ->wake() calls it owes are made in it, after its last unlock
 * (m_wake() checks that the lock is dropped): so the sleeper's next
 * step, which reads what ->wake() set, still comes after the whole call,
 * and the model is the one of a ->wake() under the lock.  What runs
 * between that unlock and the ->wake() on another CPU is tested by
 * interleave.c and the TSan stress.
 *
 * Scenarios:
 *  seed   HAProxy's seed 002: each session takes a NORMAL request buffer,
 *         then waits for a server of maxconn 1 while holding it; on the
 *         server it needs a CRITICAL response buffer, then releases both
 *         and the server slot.  Besides the invariants, every reachable
 *         state must be able to reach "all sessions done" (no deadlock,
 *         no livelock) when reserve >= 1; with reserve 0 the shortest
 *         deadlock trace is printed and its existence is expected.
 *  ops    generic: every entity may alloc any class and count 1-2,
 *         collect, release all, cancel, destroy, let a queued request's
 *         deadline pass, up to a depth bound.  With -x, an entity may
 *         also release in two halves, as the character device does:
 *         detach all it holds, and finish later, with any other action
 *         in between.  With -p, someone else (a pipe, a DMA) may also
 *         pin a buffer an entity holds, unpin it later, and the
 *         quarantine may be polled: a pinned buffer must never be
 *         zeroed, destroyed nor handed to anyone but its pinner's grant,
 *         and stays charged to its pinner's account (with -q).
 *
 * Options: -s seed|ops -n entities -l limit -r reserve -d depth
 *          -t (seed: waits may time out and cancel)
 *          -m (the page allocator may fail; the retry may run)
 *          -q quota (entities 0 and 1 share one account, the others a
 *             second one; the pool's quota is @quota)
 *          -x (ops: split releases)
 *          -p (ops: pins and the quarantine)
 *          -a (the adaptive policy, on a frozen clock that only two
 *             actions move: the park window's timer fires (time jumps to
 *             its expiry if it is not there yet), and time passes
 *             BUFPOOL_BARGE_NS without the timer firing (a late timer).
 *             Besides the invariants, which accept a fitting head only
 *             while it is parked with the timer armed for the window's
 *             end, by the first head's bound, no request may be served
 *             ahead of a queued head of its class or a more critical one
 *             once that head's window has closed (its timer fired), or
 *             once it has waited BUFPOOL_BARGE_NS unless a timer armed by
 *             its bound is still pending (then it is late, and the head
 *             is served when it fires): no starvation beyond the bound)
 *          -k (the shrinker may give a cached buffer back, as memory
 *             pressure does, whenever bufpool_shrink_count() allows)
 *          -c (two CPUs: every call runs on the current one, which an
 *             action switches, so each CPU's magazine, its refills and
 *             the drains of both are explored; without -c every call
 *             runs on CPU 0, whose magazine serves all the same.  With
 *             -c every entity but e1 tracks its dirty buffers and writes
 *             none, so what it gives back needs no zeroing and goes to
 *             its slot or a magazine at once)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/err.h>
#include <linux/minmax.h>
#include <linux/timekeeping.h>
#include "harness.h"

#define MAX_E		4
#define MAX_DEPTH	64
#define KEY_MAX		64

enum { S_START, S_WAIT_REQ, S_HAVE_REQ, S_WAIT_SRV, S_ON_SRV, S_WAIT_RESP,
       S_HAVE_BOTH, S_DONE };
static const char *const phase_name[] = { "start", "wait-req", "have-req",
	"wait-server", "on-server", "wait-resp", "have-both", "done" };

/* action: entity in the low 3 bits, kind above */
enum { A_REQ, A_COLLECT, A_CONNECT, A_RESP, A_FINISH, A_TIMEOUT,
       A_ALLOC, A_RELEASE = A_ALLOC + 6, A_CANCEL, A_DESTROY,
       A_MEMFAIL, A_MEMOK, A_RETRY, A_EXPIRE, A_DETACH, A_FINISH_RET,
       A_PIN, A_UNPIN, A_POLL, A_PARK, A_AGE,
       A_SHRINK, A_MIGRATE, A_NR };
#define ACT(e, k)	((u8)((k) << 3 | (e)))
#define ACT_E(a)	((a) & 7)
#define ACT_K(a)	((a) >> 3)

struct ment {
	struct bufpool_entity e;
	struct bufpool_returning ret;	/* detached, not finished (-x) */
	unsigned int wakes;
	u8 phase;
	u8 woken;
};

static struct {
	char scenario;		/* 's'eed or 'o'ps */
	unsigned int n, limit, reserve, depth, quota;
	bool timeouts, memfail, split, pins, adaptive, shrink, cpus;
} cfg = { 's', 2, 2, 1, 12, 0, false, false, false, false, false, false,
	  false };

#define MAX_PINS	8

/* the frozen clock starts here on every replay (-a) */
#define T0	1000000000ULL

/* the world being replayed */
static struct {
	struct bufpool *pool;
	struct bufpool_mem *mem;
	struct ment m[MAX_E];
	struct bufpool_account acct[2];	/* with -q */
	int srv;			/* session on the server, or -1 */
	u8 srvq[MAX_E], nsrvq;		/* FIFO of sessions waiting for it */
	bool failing;
	struct pin {
		struct bufpool_buf *buf;
		struct bufpool_entity *by;	/* who held it when pinned */
		u64 grant;			/* from which grant */
	} pins[MAX_PINS];
	unsigned int npins;
} W;

static void m_wake(struct bufpool_waiter *w)
{
	struct ment *m = w->target;

	if (bp_pool_locked(W.pool))
		bp_fatal(__FILE__, __LINE__, "->wake() with the pool lock held");
	m->wakes++;
	m->woken = 1;
}

static void die(const char *msg, const u8 *seq, unsigned int len);

/* -c: entities whose clean releases take the slot or the magazine */
static bool slot_user(unsigned int i)
{
	return cfg.cpus && i != 1;
}

static void world_init(void)
{
	struct bufpool_config c = { .limit = cfg.limit,
				    .reserve = cfg.reserve, .bufsize = 64,
				    .quota = cfg.quota };
	unsigned int i;

	memset(&W, 0, sizeof(W));
	bp_cpu = 0;
	W.pool = bufpool_create(&c);
	if (IS_ERR(W.pool)) {
		fprintf(stderr, "mc: bufpool_create failed\n");
		exit(2);
	}
	W.mem = bp_pool_mem(W.pool);
	W.srv = -1;
	if (cfg.adaptive) {
		struct bufpool_tunables t;
		const char *why;

		bp_clock_frozen = true;
		bp_clock_skew = T0;
		bufpool_get_tunables(W.pool, &t);
		t.policy = BUFPOOL_POLICY_ADAPTIVE;
		if (bufpool_set_tunables(W.pool, &t, &why)) {
			fprintf(stderr, "mc: %s\n", why);
			exit(2);
		}
	}
	for (i = 0; i < cfg.n; i++) {
		bufpool_entity_init(W.pool, &W.m[i].e, m_wake, &W.m[i]);
		/* seed: sessions follow the CRITICAL rule; ops: one is exempt */
		W.m[i].e.critical_exempt = cfg.scenario == 'o' && !i;
		W.m[i].e.tracks_dirty = slot_user(i);
		if (cfg.quota)
			bufpool_entity_set_account(&W.m[i].e,
						   &W.acct[i > 1]);
	}
}

static void world_fini(void)
{
	unsigned int i;

	/* the pins go first: bufpool_destroy() waits for the quarantine */
	for (i = 0; i < W.npins; i++)
		bp_mem_pin(W.mem, W.pins[i].buf, -1);

	for (i = 0; i < cfg.n; i++) {
		bufpool_release_finish(W.pool, &W.m[i].ret);
		bufpool_entity_destroy(&W.m[i].e);
	}
	bufpool_destroy(W.pool);
}

static int release_all(struct ment *m)
{
	struct bufpool_buf *buf;
	u32 ids[BUFPOOL_ALLOC_MAX];
	unsigned int n = 0;

	list_for_each_entry(buf, &m->e.held, node)
		ids[n++] = buf->id;
	return n ? bufpool_release(&m->e, ids, n) : 0;
}

/*
 * Adaptive: must a new request of @class wait behind the queue?  Once a
 * park window has closed (its timer fired) while a head of its class or
 * a more critical one is queued, yes; once such a head has waited
 * BUFPOOL_BARGE_NS, yes, unless the timer is pending for a time by that
 * head's bound (it is late: the head is served when it fires).
 */
static bool must_wait_behind(unsigned int class)
{
	struct bufpool_entity *q[MAX_E + 1];
	u64 now = ktime_get_ns(), until = bp_park_until(W.pool), bound;
	bool timer = bp_park_timer_pending(W.pool);
	unsigned int c;

	if (!cfg.adaptive)
		return false;
	for (c = 0; c <= class; c++) {
		if (!bp_queue_walk(W.pool, c, q, MAX_E + 1))
			continue;
		if (until && !timer)
			return true;
		bound = q[0]->waiter.queued_at + BUFPOOL_BARGE_NS;
		if (now >= bound && !(timer && bp_park_expires(W.pool) <= bound))
			return true;
	}
	return false;
}

static const char *barge_error;

static int alloc(struct ment *m, unsigned int class, unsigned int count)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	bool behind = must_wait_behind(class);
	unsigned long long b0 = bp_barges(W.pool);
	int ret;

	ret = bufpool_alloc(&m->e, class, count, 0, bufs);
	if (behind && bp_barges(W.pool) != b0)
		barge_error = "served ahead of a head past its bound (starvation)";
	return ret;
}

static bool is_pinned(const struct bufpool_buf *buf)
{
	unsigned int i;

	for (i = 0; i < W.npins; i++)
		if (W.pins[i].buf == buf)
			return true;
	return false;
}

/* The first buffer @m holds that nobody pinned yet, or NULL. */
static struct bufpool_buf *unpinned_held(struct ment *m)
{
	struct bufpool_buf *buf;

	list_for_each_entry(buf, &m->e.held, node)
		if (!is_pinned(buf))
			return buf;
	return NULL;
}

/*
 * A pinned buffer is its pinner's (same grant) or quarantined, and then
 * still charged to the pinner's account (bp_check() sums the charges).
 */
static const char *check_pins(void)
{
	const struct pin *p;
	unsigned int i;

	for (i = 0; i < W.npins; i++) {
		p = &W.pins[i];
		if (p->buf->state == BUFPOOL_BUF_QUARANTINED) {
			if (p->buf->account != p->by->account)
				return "a quarantined buffer left its account";
			continue;
		}
		if (p->buf->state == BUFPOOL_BUF_RETURNING)
			continue;	/* detached, not finished (-x) */
		if (p->buf->state != BUFPOOL_BUF_HELD ||
		    p->buf->owner != p->by || p->buf->grant != p->grant)
			return "a pinned buffer was handed on";
	}
	return NULL;
}

/* Is action @a enabled in the current world? */
static bool enabled(u8 a)
{
	struct ment *m = &W.m[ACT_E(a)];
	unsigned int ws = m->e.waiter.state, i;

	switch (ACT_K(a)) {
	case A_REQ:
		return m->phase == S_START;
	case A_COLLECT:
		return (m->phase == S_WAIT_REQ || m->phase == S_WAIT_RESP ||
			cfg.scenario == 'o') && bufpool_ready(&m->e);
	case A_CONNECT:
		return m->phase == S_HAVE_REQ;
	case A_RESP:
		return m->phase == S_ON_SRV;
	case A_FINISH:
		return m->phase == S_HAVE_BOTH;
	case A_TIMEOUT:
		return cfg.timeouts && (m->phase == S_WAIT_REQ ||
					m->phase == S_WAIT_RESP);
	case A_ALLOC ... A_ALLOC + 5:
		return ws == BUFPOOL_WAIT_IDLE && m->e.nr_held < cfg.limit;
	case A_RELEASE:
		return m->e.nr_held;
	case A_CANCEL:
		return ws != BUFPOOL_WAIT_IDLE;
	case A_DESTROY:
		return ws != BUFPOOL_WAIT_IDLE || m->e.nr_held;
	case A_MEMFAIL:
		return cfg.memfail && !W.failing && ACT_E(a) == 0;
	case A_MEMOK:
		return cfg.memfail && W.failing && ACT_E(a) == 0;
	case A_RETRY:
		return cfg.memfail && ACT_E(a) == 0 &&
		       bp_mem_retry_pending(W.mem);
	case A_EXPIRE:
		return cfg.scenario == 'o' && ws == BUFPOOL_WAIT_QUEUED;
	case A_DETACH:
		return cfg.split && m->e.nr_held && !m->ret.count;
	case A_FINISH_RET:
		return m->ret.count;
	case A_PIN:
		return cfg.pins && W.npins < MAX_PINS && unpinned_held(m);
	case A_UNPIN:
		return cfg.pins && ACT_E(a) == 0 && W.npins;
	case A_POLL:
		return cfg.pins && ACT_E(a) == 0 &&
		       bp_mem_quarantined(W.mem);
	case A_PARK:
		return cfg.adaptive && ACT_E(a) == 0 &&
		       bp_park_pending(W.pool);
	case A_AGE:
		if (!cfg.adaptive || ACT_E(a))
			return false;
		for (i = 0; i < cfg.n; i++)
			if (W.m[i].e.waiter.state == BUFPOOL_WAIT_QUEUED &&
			    ktime_get_ns() - W.m[i].e.waiter.queued_at <
			    BUFPOOL_BARGE_NS)
				return true;
		return false;
	case A_SHRINK:
		return cfg.shrink && ACT_E(a) == 0 &&
		       bufpool_shrink_count(W.pool);
	case A_MIGRATE:
		return cfg.cpus && ACT_E(a) == 0;
	}
	return false;
}

/* Apply @a; returns an error string if the core misbehaved. */
static const char *apply(u8 a)
{
	struct ment *m = &W.m[ACT_E(a)];
	unsigned int k = ACT_K(a), i;
	int ret;

	switch (k) {
	case A_REQ:
		ret = alloc(m, BUFPOOL_CLASS_NORMAL, 1);
		if (ret && ret != -EAGAIN)
			return "request alloc failed";
		m->phase = ret ? S_WAIT_REQ : S_HAVE_REQ;
		break;
	case A_COLLECT:
		if (cfg.scenario == 'o') {
			ret = alloc(m, m->e.waiter.class, m->e.waiter.count);
		} else {
			ret = alloc(m, m->phase == S_WAIT_REQ ?
				    BUFPOOL_CLASS_NORMAL :
				    BUFPOOL_CLASS_CRITICAL, 1);
			m->phase = m->phase == S_WAIT_REQ ? S_HAVE_REQ :
							    S_HAVE_BOTH;
		}
		if (ret && ret != -ENOSPC && ret != -EDEADLK &&
		    ret != -ETIMEDOUT)
			return "collect after the wake-up failed";
		m->woken = 0;
		break;
	case A_CONNECT:
		if (W.srv < 0) {
			W.srv = m - W.m;
			m->phase = S_ON_SRV;
		} else {
			W.srvq[W.nsrvq++] = m - W.m;
			m->phase = S_WAIT_SRV;
		}
		break;
	case A_RESP:
		ret = alloc(m, BUFPOOL_CLASS_CRITICAL, 1);
		if (ret && ret != -EAGAIN)
			return "response alloc failed";
		m->phase = ret ? S_WAIT_RESP : S_HAVE_BOTH;
		break;
	case A_FINISH:
		if (release_all(m))
			return "release failed";
		m->phase = S_DONE;
		W.srv = -1;
		if (W.nsrvq) {		/* the server takes the next one */
			W.srv = W.srvq[0];
			W.m[W.srv].phase = S_ON_SRV;
			memmove(W.srvq, W.srvq + 1, --W.nsrvq);
		}
		break;
	case A_TIMEOUT:
		if (bufpool_cancel(&m->e))
			return "cancel of a pending request failed";
		m->woken = 0;
		m->phase = m->phase == S_WAIT_REQ ? S_START : S_ON_SRV;
		break;
	case A_ALLOC ... A_ALLOC + 5:
		i = k - A_ALLOC;
		ret = alloc(m, i % 3, 1 + i / 3);
		if (ret && ret != -EAGAIN && ret != -ENOSPC &&
		    ret != -EDEADLK && ret != -EPERM && ret != -EDQUOT)
			return "alloc failed";
		break;
	case A_RELEASE:
		if (release_all(m))
			return "release failed";
		break;
	case A_CANCEL:
		if (bufpool_cancel(&m->e))
			return "cancel failed";
		m->woken = 0;
		break;
	case A_DESTROY:
		bufpool_entity_destroy(&m->e);
		bufpool_entity_init(W.pool, &m->e, m_wake, m);
		m->e.critical_exempt = cfg.scenario == 'o' && m == W.m;
		m->e.tracks_dirty = slot_user(m - W.m);
		if (cfg.quota)
			bufpool_entity_set_account(&m->e, &W.acct[m - W.m > 1]);
		m->woken = 0;
		break;
	case A_MEMFAIL:
	case A_MEMOK:
		W.failing = k == A_MEMFAIL;
		bp_mem_fail_nowait(W.mem, W.failing);
		bp_mem_fail_kernel(W.mem, W.failing);
		break;
	case A_RETRY:
		bp_mem_run_retry(W.mem);
		break;
	case A_EXPIRE:
		/* its deadline passes while nobody sleeps on it */
		m->e.waiter.deadline = 0;
		if (bufpool_expire(&m->e))
			return "a passed deadline left the request queued";
		if (m->e.waiter.state != BUFPOOL_WAIT_EXPIRED)
			return "an expired request is not EXPIRED";
		break;
	case A_DETACH: {
		struct bufpool_buf *buf;
		u32 ids[BUFPOOL_ALLOC_MAX];
		unsigned int n = 0;

		list_for_each_entry(buf, &m->e.held, node)
			ids[n++] = buf->id;
		/* clean and never shared: back at once, nothing to finish */
		if (bufpool_release_detach(&m->e, ids, n, &m->ret) ||
		    (m->ret.count != n &&
		     (m->ret.count || !m->e.tracks_dirty)))
			return "detach failed";
		list_for_each_entry(buf, &m->ret.bufs, node)
			if (bufpool_held_buf(&m->e, buf->id))
				return "a detached buffer is still held";
		break;
	}
	case A_FINISH_RET:
		bufpool_release_finish(W.pool, &m->ret);
		break;
	case A_SHRINK: {
		struct bp_snap s0, s1;

		bp_snapshot(W.pool, &s0);
		if (bufpool_shrink(W.pool, 1) != 1)
			return "the shrinker gave nothing back";
		bp_snapshot(W.pool, &s1);
		if (s1.in_use != s0.in_use || s1.nr_cached + 1 != s0.nr_cached ||
		    s1.nr_cached < s1.reserve)
			return "the shrinker took more than one cached buffer";
		break;
	}
	case A_PIN: {
		struct bufpool_buf *buf = unpinned_held(m);

		W.pins[W.npins++] = (struct pin){ .buf = buf, .by = &m->e,
						  .grant = buf->grant };
		bp_mem_pin(W.mem, buf, 1);
		break;
	}
	case A_UNPIN:
		/* the oldest pin goes: which one decides nothing more */
		bp_mem_pin(W.mem, W.pins[0].buf, -1);
		memmove(W.pins, W.pins + 1, --W.npins * sizeof(W.pins[0]));
		break;
	case A_POLL: {
		unsigned int held = 0;

		bp_mem_run_quarantine(W.mem);
		for (i = 0; i < W.npins; i++)
			held += W.pins[i].buf->state == BUFPOOL_BUF_QUARANTINED;
		if (bp_mem_quarantined(W.mem) != held)
			return "an unpinned buffer stayed in quarantine";
		break;
	}
	case A_PARK:
		if (bp_clock_skew < bp_park_expires(W.pool))
			bp_clock_skew = bp_park_expires(W.pool);
		bp_run_park(W.pool, false);
		/* a window may be renewed, but never past the first head's bound */
		if (bp_park_until(W.pool) && !bp_park_closed(W.pool) &&
		    bp_park_expires(W.pool) <= ktime_get_ns())
			return "the park timer fired at the bound and left the window open";
		break;
	case A_AGE:
		/* the timer may be late: A_PARK fires it */
		bp_clock_skew += BUFPOOL_BARGE_NS;
		break;
	case A_MIGRATE:
		bp_cpu ^= 1;
		break;
	}
	if (barge_error) {
		const char *err = barge_error;

		barge_error = NULL;
		return err;
	}
	return check_pins();
}

static const char *act_name(u8 a, char *buf, size_t len)
{
	static const char *const kn[] = { "request NORMAL", "collect",
		"connect", "response CRITICAL", "finish", "timeout" };
	unsigned int k = ACT_K(a);

	if (k < A_ALLOC)
		snprintf(buf, len, "s%u %s", ACT_E(a), kn[k]);
	else if (k < A_RELEASE)
		snprintf(buf, len, "e%u alloc %s x%u", ACT_E(a),
			 bp_class_name((k - A_ALLOC) % 3),
			 1 + (k - A_ALLOC) / 3);
	else if (k <= A_DESTROY)
		snprintf(buf, len, "e%u %s", ACT_E(a),
			 k == A_RELEASE ? "release all" :
			 k == A_CANCEL ? "cancel" : "destroy");
	else if (k == A_EXPIRE)
		snprintf(buf, len, "e%u deadline passes", ACT_E(a));
	else if (k == A_PARK)
		snprintf(buf, len, "park window closes, its timer fires");
	else if (k == A_AGE)
		snprintf(buf, len, "time passes the barging bound");
	else if (k == A_SHRINK)
		snprintf(buf, len, "shrinker gives one cached buffer back");
	else if (k == A_MIGRATE)
		snprintf(buf, len, "the calls move to the other CPU");
	else if (k >= A_PIN)
		snprintf(buf, len, k == A_PIN ? "e%u: a buffer it holds is pinned" :
			 k == A_UNPIN ? "the oldest pin goes" :
			 "the quarantine is polled", ACT_E(a));
	else if (k >= A_DETACH)
		snprintf(buf, len, "e%u %s", ACT_E(a),
			 k == A_DETACH ? "detach all" : "finish the release");
	else
		snprintf(buf, len, "%s", k == A_MEMFAIL ? "page allocator fails" :
			 k == A_MEMOK ? "page allocator recovers" :
			 "memory retry runs");
	return buf;
}

static bool any_detached(void)
{
	unsigned int i;

	for (i = 0; i < cfg.n; i++)
		if (W.m[i].ret.count)
			return true;
	return false;
}

/* Replay @seq on a fresh world, checking every step. */
static void replay(const u8 *seq, unsigned int len)
{
	struct bufpool_entity *ents[MAX_E];
	unsigned int i, j, st[MAX_E], wk[MAX_E];
	const char *err;
	char why[256];

	world_init();
	for (i = 0; i < cfg.n; i++)
		ents[i] = &W.m[i].e;
	for (i = 0; i < len; i++) {
		for (j = 0; j < cfg.n; j++) {
			st[j] = W.m[j].e.waiter.state;
			wk[j] = W.m[j].wakes;
		}
		err = apply(seq[i]);
		if (err)
			die(err, seq, i + 1);
		for (j = 0; j < cfg.n; j++) {
			unsigned int now = W.m[j].e.waiter.state;
			bool served = st[j] == BUFPOOL_WAIT_QUEUED &&
				      now != BUFPOOL_WAIT_QUEUED &&
				      now != BUFPOOL_WAIT_IDLE;

			if (W.m[j].wakes - wk[j] != served)
				die("not exactly one wake-up per grant", seq,
				    i + 1);
		}
		/* detached buffers are in no list until finished */
		if (bp_check(W.pool, ents, cfg.n, BP_CHECK_WAKEUP |
			     (any_detached() ? 0 : BP_CHECK_QUIESCENT),
			     why, sizeof(why)))
			die(why, seq, i + 1);
	}
}

/* The key of the current world: what decides its future. */
static unsigned int world_key(u8 *key)
{
	struct bufpool_entity *q[MAX_E + 1];
	unsigned int i, c, n = 0, k;
	struct bp_snap s;
	bool slotted;

	memset(key, 0, KEY_MAX);
	bp_snapshot(W.pool, &s);
	key[n++] = s.in_use;
	key[n++] = s.nr_alloc;
	key[n++] = s.nr_cached;
	key[n++] = s.nr_quarantined | W.npins << 4;
	key[n++] = W.failing | bp_mem_retry_pending(W.mem) << 1 |
		   bp_fast(W.pool) << 2 | (bp_cpu & 1) << 3;
	key[n++] = min(bp_mag_nr(W.pool, 0), 15U) |
		   min(bp_mag_nr(W.pool, 1), 15U) << 4;
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		k = bp_queue_walk(W.pool, c, q, MAX_E + 1);
		key[n++] = k;
		for (i = 0; i < k && i < MAX_E; i++)
			key[n++] = container_of(q[i], struct ment, e) - W.m;
	}
	for (i = 0; i < cfg.n; i++) {
		struct bufpool_waiter *w = &W.m[i].e.waiter;

		key[n++] = W.m[i].e.nr_held | W.m[i].e.nr_critical << 4;
		key[n++] = bp_slot_nr(&W.m[i].e, &slotted) | slotted << 4;
		key[n++] = W.m[i].ret.count;
		key[n++] = w->state | w->class << 3 | w->count << 5;
		key[n++] = W.m[i].phase | W.m[i].woken << 4;
		if (cfg.pins) {
			struct bufpool_buf *buf;
			unsigned int np = 0;

			list_for_each_entry(buf, &W.m[i].e.held, node)
				np += is_pinned(buf);
			key[n++] = np;
		}
		if (cfg.adaptive)	/* its age, in park windows */
			key[n++] = w->state != BUFPOOL_WAIT_QUEUED ? 0 :
				   min_t(u64, ktime_get_ns() - w->queued_at,
					 BUFPOOL_BARGE_NS + BUFPOOL_PARK_NS) /
				   BUFPOOL_PARK_NS + 1;
	}
	if (cfg.adaptive) {
		u64 until = bp_park_until(W.pool), now = ktime_get_ns();

		key[n++] = !until ? 0 : until <= now ? 1 :
			   2 + (until - now) * 8 / BUFPOOL_PARK_NS;
		key[n++] = bp_park_pending(W.pool) |
			   bp_park_timer_pending(W.pool) << 1 |
			   bp_park_flags(W.pool) << 2;
	}
	key[n++] = W.srv + 1;
	key[n++] = W.nsrvq;
	for (i = 0; i < W.nsrvq; i++)
		key[n++] = W.srvq[i];
	return n;
}

/* ---- the state graph ---- */
struct node {
	u32 parent;
	u8 act;
	u8 depth;
	u8 done;	/* every session done (seed) */
	u8 live;	/* can reach done */
	u32 edge0, nedges;
};

static struct node *nodes;
static u32 nr_nodes, cap_nodes;
static u32 *edges;
static size_t nr_edges, cap_edges;
static u8 *keys;		/* KEY_MAX bytes per node */
static u32 *hash;
static u32 hash_size;
static unsigned long long replays;

static u32 key_hash(const u8 *k, unsigned int len)
{
	u32 h = 2166136261u;

	while (len--)
		h = (h ^ *k++) * 16777619u;
	return h;
}

/* Find or add the state with @key; returns its index, *@fresh if new. */
static u32 intern(const u8 *key, unsigned int len, bool *fresh)
{
	u32 h = key_hash(key, len) & (hash_size - 1), idx;

	while ((idx = hash[h])) {
		if (!memcmp(keys + (size_t)(idx - 1) * KEY_MAX, key, KEY_MAX)) {
			*fresh = false;
			return idx - 1;
		}
		h = (h + 1) & (hash_size - 1);
	}
	if (nr_nodes == cap_nodes) {
		cap_nodes *= 2;
		nodes = realloc(nodes, cap_nodes * sizeof(*nodes));
		keys = realloc(keys, (size_t)cap_nodes * KEY_MAX);
		if (!nodes || !keys) {
			fprintf(stderr, "mc: out of memory\n");
			exit(2);
		}
	}
	if (nr_nodes * 2 >= hash_size) {
		fprintf(stderr, "mc: state table full (%u states)\n", nr_nodes);
		exit(2);
	}
	memset(keys + (size_t)nr_nodes * KEY_MAX, 0, KEY_MAX);
	memcpy(keys + (size_t)nr_nodes * KEY_MAX, key, len);
	hash[h] = nr_nodes + 1;
	*fresh = true;
	return nr_nodes++;
}

static unsigned int path(u32 idx, u8 *seq)
{
	unsigned int len = nodes[idx].depth, i = len;

	while (i--) {
		seq[i] = nodes[idx].act;
		idx = nodes[idx].parent;
	}
	return len;
}

static void print_trace(const u8 *seq, unsigned int len)
{
	char name[64];
	unsigned int i;

	for (i = 0; i < len; i++)
		printf("    %2u. %s\n", i + 1, act_name(seq[i], name,
						   sizeof(name)));
}

static void die(const char *msg, const u8 *seq, unsigned int len)
{
	printf("mc: VIOLATION after %u steps: %s\n", len, msg);
	print_trace(seq, len);
	exit(1);
}

static bool all_done(void)
{
	unsigned int i;

	for (i = 0; i < cfg.n; i++)
		if (W.m[i].phase != S_DONE)
			return false;
	return true;
}

int main(int argc, char **argv)
{
	u8 seq[MAX_DEPTH + 1] = { 0 }, key[KEY_MAX];
	unsigned int len, klen, a, i, maxd = 0;
	u32 cur, dead = 0, first_dead = ~0u, stuck = 0, first_stuck = ~0u;
	bool fresh, truncated = false;
	struct timespec t0, t1;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:l:r:d:q:tmxpakc")) != -1) {
		switch (opt) {
		case 's': cfg.scenario = optarg[0]; break;
		case 'n': cfg.n = atoi(optarg); break;
		case 'l': cfg.limit = atoi(optarg); break;
		case 'r': cfg.reserve = atoi(optarg); break;
		case 'd': cfg.depth = atoi(optarg); break;
		case 'q': cfg.quota = atoi(optarg); break;
		case 't': cfg.timeouts = true; break;
		case 'm': cfg.memfail = true; break;
		case 'x': cfg.split = true; break;
		case 'p': cfg.pins = true; break;
		case 'a': cfg.adaptive = true; break;
		case 'k': cfg.shrink = true; break;
		case 'c': cfg.cpus = true; break;
		default:
			fprintf(stderr, "usage: mc -s seed|ops -n N -l L -r R [-d D] [-q Q] [-t] [-m] [-x] [-p] [-a] [-k]\n");
			return 2;
		}
	}
	if (cfg.n < 1 || cfg.n > MAX_E || cfg.depth > MAX_DEPTH) {
		fprintf(stderr, "mc: 1..%d entities, depth <= %d\n", MAX_E,
			MAX_DEPTH);
		return 2;
	}
	if (cfg.scenario == 's')
		cfg.depth = MAX_DEPTH;	/* the seed scenario is finite */
	bp_warn_fatal = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	cap_nodes = 1024;
	nodes = malloc(cap_nodes * sizeof(*nodes));
	keys = malloc((size_t)cap_nodes * KEY_MAX);
	hash_size = 1u << 23;
	hash = calloc(hash_size, sizeof(*hash));
	cap_edges = 4096;
	edges = malloc(cap_edges * sizeof(*edges));

	replay(seq, 0);
	klen = world_key(key);
	world_fini();
	intern(key, klen, &fresh);
	nodes[0] = (struct node){ .done = cfg.n && cfg.scenario == 'o' };

	for (cur = 0; cur < nr_nodes; cur++) {
		u8 acts[A_NR * MAX_E];
		unsigned int nacts = 0;

		len = path(cur, seq);
		replay(seq, len);
		replays++;
		for (i = 0; i < cfg.n; i++)
			for (a = 0; a < A_NR; a++) {
				bool seed_act = a < A_ALLOC;

				if (a < A_MEMFAIL &&
				    seed_act != (cfg.scenario == 's'))
					continue;
				if (enabled(ACT(i, a)))
					acts[nacts++] = ACT(i, a);
			}
		nodes[cur].done = cfg.scenario == 's' && all_done();
		world_fini();
		nodes[cur].edge0 = nr_edges;
		nodes[cur].nedges = 0;
		if (len >= cfg.depth) {
			truncated = truncated || nacts;
			continue;
		}
		if (!nacts && !nodes[cur].done && !stuck++)
			first_stuck = cur;
		for (a = 0; a < nacts; a++) {
			u32 child;

			seq[len] = acts[a];
			replay(seq, len + 1);
			replays++;
			klen = world_key(key);
			world_fini();
			child = intern(key, klen, &fresh);
			if (fresh) {
				nodes[child] = (struct node){ .parent = cur,
					.act = acts[a], .depth = len + 1 };
				if (len + 1 > maxd)
					maxd = len + 1;
			}
			if (nr_edges == cap_edges) {
				cap_edges *= 2;
				edges = realloc(edges,
						cap_edges * sizeof(*edges));
			}
			edges[nr_edges++] = child;
			nodes[cur].nedges++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("mc: %s n=%u limit=%u reserve=%u quota=%u%s%s%s%s%s%s: %u states, %zu transitions, depth %u%s, %llu replays, %.2f s\n",
	       cfg.scenario == 's' ? "seed002" : "ops", cfg.n, cfg.limit,
	       cfg.reserve, cfg.quota, cfg.timeouts ? " +timeouts" : "",
	       cfg.memfail ? " +page-failures" : "",
	       cfg.split ? (cfg.pins ? " +split-release +pins" : " +split-release") :
	       cfg.pins ? " +pins" : "",
	       cfg.adaptive ? " +adaptive" : "",
	       cfg.shrink ? " +shrinker" : "", cfg.cpus ? " +2-cpus" : "",
	       nr_nodes, nr_edges, maxd,
	       truncated ? " (bounded)" : "", replays,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("mc: invariants and exact hand-off hold in every state; no lost wake-up\n");
	if (cfg.scenario != 's')
		return 0;

	/* which states can still reach "all done"? (fixpoint) */
	for (cur = 0; cur < nr_nodes; cur++)
		nodes[cur].live = nodes[cur].done;
	for (fresh = true; fresh;) {
		fresh = false;
		for (cur = nr_nodes; cur--;) {
			if (nodes[cur].live)
				continue;
			for (i = 0; i < nodes[cur].nedges; i++)
				if (nodes[edges[nodes[cur].edge0 + i]].live) {
					nodes[cur].live = 1;
					fresh = true;
					break;
				}
		}
	}
	for (cur = 0; cur < nr_nodes; cur++)
		if (!nodes[cur].live) {
			dead++;
			if (first_dead == ~0u)
				first_dead = cur;
		}
	if (!dead) {
		printf("mc: no deadlock: all sessions can finish from every reachable state\n");
		return cfg.reserve ? 0 : 1;
	}
	printf("mc: %u states cannot finish (%u with nothing left to do); shortest trace to %s:\n",
	       dead, stuck, stuck ? "a dead end" : "one");
	len = path(stuck ? first_stuck : first_dead, seq);
	print_trace(seq, len);
	replay(seq, len);
	for (i = 0; i < cfg.n; i++)
		printf("    s%u: %s, holds %u, request %s\n", i,
		       phase_name[W.m[i].phase], W.m[i].e.nr_held,
		       W.m[i].e.waiter.state == BUFPOOL_WAIT_QUEUED ? "queued" :
		       W.m[i].e.waiter.state == BUFPOOL_WAIT_IDLE ? "none" :
		       "granted");
	world_fini();
	if (cfg.reserve) {
		printf("mc: DEADLOCK with reserve %u\n", cfg.reserve);
		return 1;
	}
	printf("mc: deadlock with reserve 0, as expected (seed 002)\n");
	return 0;
}
