// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool core: the budget, the classes, the queues and the hand-off.
 *
 * Everything here runs under pool->lock and knows nothing of files or user
 * memory, so the same source builds in the kernel and in the userspace
 * harness under tools/testing/.  Memory comes from the backend behind
 * bufpool_mem.h.
 *
 * The rules, from HAProxy's dynamic buffers (see README.md):
 *  - budget: in_use + count + headroom[class] <= limit.  CRITICAL has no
 *    headroom and may take the last buffer, NORMAL leaves the reserve,
 *    LOW leaves twice the reserve;
 *  - memory: the pool keeps at least @reserve zeroed buffers cached, and
 *    only CRITICAL requests may take those, so a critical request is served
 *    even when the page allocator has nothing to give (while the magazines
 *    serve, a critical request that would take them grows the cache for
 *    them first: see below).  Pages are never
 *    allocated nor zeroed under the pool lock: a new request first reserves
 *    the buffers the cache lacks (@nr_growing, counted against the limit),
 *    creates them with the lock dropped, adds them to the cache, then is
 *    served from it; a queue head that is short of memory is grown for by
 *    the backend's work item, one buffer per step;
 *  - a request that cannot be served joins the FIFO queue of its class.
 *    Classes are served most critical first, in order inside a class, and
 *    a new request never overtakes a queued one of its own or a more
 *    critical class;
 *  - hand-off: whenever buffers come back or a queue head leaves, the
 *    queues are served in order for as long as their heads fit, each grant
 *    is charged to its waiter before the waiter is queued for its wake-up,
 *    and the first head that does not fit stops the walk.  So there is
 *    exactly one wake-up per grant: none spurious, none lost;
 *  - wake-ups after the lock: a grant, failure, offer or expiry changes
 *    the waiter's state and calls its ->notify() under the pool lock, then
 *    queues the waiter on @wake_list (bufpool_queue_wake_locked()): no
 *    ->wake() is called with the lock held, so the woken task, and the
 *    others, do not spin on the lock while the waker is in the scheduler.
 *    Every section of the pool lock ends in bufpool_unlock(), which takes
 *    the list, drops the lock, then calls each ->wake() (only a section
 *    that cannot have queued one, the grow in bufpool_grow_direct() before
 *    anything is granted, drops it plainly), so the list is empty
 *    whenever the lock is taken.  A waiter owes one ->wake() per change
 *    (@wake_owed): it is listed on its first, a change made while a
 *    caller is already calling its ->wake() adds one more call to that
 *    caller's, never a second list entry, so the calls match @wakeups
 *    (plus the expiries: withdrawals at a deadline, whoever makes them)
 *    exactly, one CPU at a time per waiter.  Once the
 *    count is back to 0 the caller no longer touches the waiter;
 *    bufpool_entity_destroy() waits for that (wait_var_event(): a waker
 *    preempted on PREEMPT_RT is waited for, not spun on), and takes its
 *    waiter off the list if it were still there.  A ->wake() may come
 *    after the state changed again (collected, cancelled, a new request):
 *    a wake-up of the entity's sleepers, who look at the state again;
 *  - for comparison, two other policies (enum bufpool_policy) wake waiters
 *    to try again instead of granting, as HAProxy does: "offer" wakes as
 *    many as there are free buffers, "all" wakes every one.  Under them a
 *    new request may overtake queued ones, and a waiter that was woken but
 *    fails its retry counts as a spurious wake-up.  A woken waiter that
 *    has not tried again within BUFPOOL_OFFER_TTL_NS loses its offer (a
 *    spurious wake-up too): one that never comes back cannot hold others;
 *  - adaptive policy, hand-off without the convoy: while the queue heads
 *    are younger than BUFPOOL_BARGE_NS a new request may be served ahead
 *    of them (a barge), and buffers that come back while the first head
 *    fits stay in the cache until a window of BUFPOOL_PARK_NS closes, for
 *    a running request to take, and are granted to that head then; a
 *    window in which a request of the head's class barged gets another
 *    BUFPOOL_PARK_NS period
 *    (so what comes back sits idle for one period at most, and a head
 *    that is barged ahead of continually waits for its bound).  The
 *    window ends by the first head's bound (queued + BUFPOOL_BARGE_NS,
 *    kept so when heads leave) and it is its timer that closes it: the
 *    timer's callback marks it closed, whatever the clock says, unless
 *    someone barged in the period and the bound is not reached (then its
 *    work renews it, or closes it if the bound has passed meanwhile), and
 *    its work grants what is parked (so none is lost).  A head that has
 *    waited BUFPOOL_BARGE_NS, or whose window has closed, is served as
 *    under hand-off: it is granted as soon as it fits and nobody barges
 *    ahead of it.  So the bound is exact up to the timer's lateness: a
 *    late timer (interrupt latency), or in a window being renewed a late
 *    work item, lets barges go on, ahead of the first head only, until it
 *    runs, or until one look in BUFPOOL_PARK_LOOKS (a look: a request
 *    asking whether it must wait behind the queue) reads the clock and
 *    finds that head's bound passed: that look closes the window and the
 *    request grants what is parked before it waits.  Otherwise, while a
 *    window is open no clock is read for the first head, so a barge and
 *    the release that parks again read none.  Waiters are only ever woken with a grant;
 *  - a queued request may have a deadline: it is withdrawn when it passes,
 *    whether or not anyone sleeps on it (bufpool_expire()), and a sleeper
 *    recognises its own request by its number (bufpool_waiting()), so it
 *    can leave on a signal and come back to the same place.  The deadline
 *    is the request's, not a sleeper's: whoever withdraws it at the
 *    deadline keeps its number and wakes the waiter (an expiry), so
 *    every sleeper on it returns -ETIMEDOUT (bufpool_wait_done()), also
 *    one that has no deadline of its own or a later one;
 *  - an entity may belong to an account (a user): the buffers an account's
 *    entities hold, were granted or requested are capped by the quota, and
 *    a request beyond it fails at once, never waiting behind others;
 *  - admission: a request that could not be served even if every other
 *    side gave everything back (what its side holds + count + headroom >
 *    limit) fails at once with -EDEADLK, as does a queue head that becomes
 *    so: a queued request never waits for its own side's buffers, so it
 *    holds the requests behind it up only until other sides give buffers
 *    back.  The side is the entity, or its whole account while the pool
 *    has a quota (accounts are then meant to be isolated from each other).
 *    One whose count alone is too large for its class fails with -ENOSPC;
 *  - the reserve is for entities that already hold buffers: a CRITICAL
 *    request of n buffers needs the entity to hold at least n more
 *    non-critical buffers than critical ones (its request buffers), unless
 *    its owner made it exempt (-EPERM otherwise);
 *  - the limit, reserve and headrooms may change at run time: a larger
 *    budget is granted at once, a smaller one stops grants until usage falls
 *    under it and takes nothing from holders, and a queued request that no
 *    longer fits under the limit at all fails with -ENOSPC;
 *  - per-CPU caches (magazines): while buffers are plentiful and nobody
 *    waits, allocations and releases of buffers are served
 *    from a per-CPU stack (an array) of free, zeroed buffers under that
 *    CPU's lock, without the pool lock.  The rules that keep this exact:
 *     - a magazine's buffers are CACHED but already counted in @in_use
 *       (budget charged in advance), so every decision taken under the
 *       pool lock errs on the safe side: the budget is never exceeded;
 *     - @fast is set only under the pool lock, by a refill that finds no
 *       request queued in any class, no offer outstanding, no park
 *       window open, no quota, and room for the batch within LOW's
 *       budget (far from the limit: a LOW request of a whole batch would
 *       be served at once), with the reserve's buffers left in the shared
 *       cache.  While it is set,
 *       @in_use (magazines included) leaves at least LOW's headroom and
 *       the cache holds the reserve: a locked allocation that would take
 *       either further drains first.  So
 *       any class may take a magazine's buffers: what is really in use
 *       is below @in_use, and LOW's budget check covers every class.  A
 *       locked allocation within LOW's budget that finds the cache short
 *       (of @count and the reserve, for CRITICAL too: it grows for the
 *       reserve rather than take it) first takes the slots' buffers back
 *       into the cache (each under its entity's lock, which stays
 *       slotted: idle entities' slots do not make the pool grow), then
 *       grows the cache, as any new request does, within the limit, and
 *       drains only if that fails or the limit leaves no room: far from
 *       the limit the pool grows while the magazines serve, rather than
 *       stopping them;
 *     - a fast operation reads @fast under its magazine's lock and does
 *       nothing fast if it is clear (an allocation with acquire, paired
 *       with the refill's release: a refill on another CPU set it, and
 *       the tunables it reads are those of that refill's time).  Before
 *       it takes any lock it reads @fast once more without one, as a
 *       hint: clear, it takes no magazine's lock and leaves the buffers
 *       to the locked path, which is exact whatever the magazines do
 *       meanwhile (a stale clear only costs the pool lock); set, it is
 *       read again under the magazine's lock as above, so a stale set
 *       changes nothing.  The drain clears @fast under the
 *       pool lock, then takes every magazine's lock in turn and gives its
 *       buffers back to the cache: once it is done no fast operation is
 *       in flight nor can start until a refill (under the pool lock);
 *     - the pool lock's holder drains before it queues a request or
 *       fails one with -EAGAIN (then looks again: a request that only
 *       fits once the magazines are back is served), before a request
 *       whose budget test would fail (LOW's: see above) or whose cache
 *       the pool's room cannot fill, before tunables change, before a
 *       shrink that the cache alone cannot give (a shrinker's count
 *       sums the magazines and slots as STATS do, and drains nothing),
 *       and at destroy.  So a request is queued only
 *       with @fast clear and the magazines empty: from then on FIFO and
 *       class order hold as above, and nobody is served ahead through a
 *       magazine;
 *     - entity-local rules are checked under the entity's lock on the
 *       fast path: no request pending, -ENOSPC and -EDEADLK (the side is
 *       the entity: there is no quota), and for CRITICAL the reserve rule
 *       (bufpool_may_use_reserve(), on the entity's own counts); anything
 *       else (a CRITICAL request that rule refuses, more
 *       than the magazine has, an id it cannot find in a short held
 *       list, a buffer whose memory is busy) takes the locked path, which
 *       gives the exact answer;
 *     - a full magazine (BUFPOOL_MAG_MAX) given one more buffer first
 *       gives what is beyond BUFPOOL_MAG_BATCH back to the cache under
 *       the pool lock (marked RETURNING meanwhile, still in @in_use) and
 *       serves the queues;
 *     - STATS count a magazine's buffers as cached, not in use; the peak
 *       of @in_use counts what the magazines held, an upper bound;
 *     - an entity's slot (BUFPOOL_SLOT_MAX buffers) is a magazine of its
 *       own, used under the entity's lock alone: a direct release puts
 *       its buffers there if they all fit, an allocation takes them from
 *       there first, each after the checks above.  Its buffers are
 *       CACHED and counted in @in_use, as a magazine's.  An entity is
 *       slotted (on @slotted, its slot may serve) only while @fast is
 *       set: it joins under the pool lock and its own, on the locked
 *       allocation path while the magazines serve (one that could keep
 *       what it gives back takes that path once to join, once between
 *       two drains: at most BUFPOOL_SLOTTED_MAX entities are slotted,
 *       so that what the drain and STATS visit under the pool lock does
 *       not grow with the files a user opens), and the
 *       drain, after it clears @fast, takes each slotted entity's lock
 *       in turn, gives its slot back to the cache and takes it off the
 *       list (so does bufpool_entity_destroy()).  So nr_slot > 0 implies
 *       slotted, slotted implies on the list, and a fast operation that
 *       reads @fast set under the entity's lock runs before the drain's
 *       section for that entity: it is done before the drain is, as with
 *       a magazine.  The tunables it reads are those of the join or
 *       newer (the join took the pool lock), and cannot change while it
 *       is slotted.
 *    Lock order: pool->lock, then an entity's lock, then a magazine's
 *    lock; ->notify() runs under the pool lock, ->wake() under none of
 *    them.  A fast operation never takes the pool lock while it holds an
 *    entity or magazine lock: it drops them first.  A detach (a buffer
 *    leaves its holder, RETURNING, still counted and charged) changes
 *    nothing of the pool's: it needs the entity's lock only, and the
 *    release that has to zero its buffers takes no other until they are
 *    zeroed.
 */

#include <linux/bug.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/hrtimer.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "bufpool.h"
#include "bufpool_mem.h"
#include "bufpool_trace.h"

/* Buffers a refill moves into a magazine, and most a magazine keeps. */
#define BUFPOOL_MAG_BATCH	8U
#define BUFPOOL_MAG_MAX		(2 * BUFPOOL_MAG_BATCH)
/* A fast release looks its ids up in held lists no longer than this. */
#define BUFPOOL_FAST_HELD_MAX	32U

/**
 * struct bufpool_pcpu - one CPU's magazine
 * @lock: protects the fields below; see the lock order in the top comment
 * @nr: buffers in @bufs, the first @nr slots
 * @allocations: requests served from it
 * @releases: buffers given back to it
 * @bufs: free, zeroed buffers, state CACHED, counted in pool->in_use, on
 *	no list (their @node is unused): a stack, the last one given back
 *	is the first taken
 */
struct bufpool_pcpu {
	spinlock_t lock;	/* see @lock above */
	unsigned int nr;
	u64 allocations;
	u64 releases;
	struct bufpool_buf *bufs[BUFPOOL_MAG_MAX];
};

/**
 * struct bufpool - a pool of buffers under one budget
 * @lock: protects everything below and the lists of its entities
 * @mem: the memory backend
 * @bufsize: bytes per buffer, whole pages
 * @limit: most buffers in use at once
 * @reserve: buffers only CRITICAL requests may take
 * @headroom: free buffers each class must leave after its allocation
 * @quota: most buffers an account may be charged, 0 for none
 * @policy: enum bufpool_policy
 * @nr_offered: waiters woken by offer/all that have not tried again yet
 * @offered: those waiters, oldest offer first
 * @offer_expiry: withdraws offers not taken up in time
 * @park_until: adaptive policy: when the window in which what came back
 *	for the fitting queue head stays in the cache ends, 0 if none is
 *	open; never past the bound of the first queue head (see
 *	bufpool_park_locked())
 * @park_closed: the open window's timer has fired: the window is closed,
 *	whatever the clock says.  Written by the timer's callback without
 *	the pool lock (WRITE_ONCE()), cleared when a window opens, read under
 *	the pool lock, and only while @park_until is set
 * @park_barged: a request of the first head's class was served ahead of
 *	the queue since the window opened or was last renewed (written under
 *	the pool lock, read by the timer's callback)
 * @park_last: @park_until is the first head's bound: the window cannot be
 *	renewed (written under the pool lock, read by the timer's callback)
 * @park_looks: looks (bufpool_behind_locked()) into an open window since
 *	one last read the clock for the first head
 * @park_timer: fires at @park_until: closes the window unless it may be
 *	renewed, queues @park_work
 * @park_work: renews the window, or grants to the queue heads once it
 *	has closed
 * @in_use: buffers held, granted, being returned or quarantined
 * @nr_alloc: buffers the pool owns (in use + cached)
 * @nr_growing: buffers being created outside the lock; with @nr_alloc
 *	never above @limit
 * @nr_growers: bufpool_grow() loops running: each looks at the queue heads
 *	again before it stops, so nobody needs to ask for another
 * @nr_cached: buffers on @cache
 * @nr_quarantined: buffers the backend keeps until their memory is no
 *	longer referenced elsewhere (part of @in_use and @nr_alloc)
 * @cache: free, zeroed buffers
 * @queue: FIFO of waiting requests, per class
 * @nr_queued: requests on each @queue
 * @nr_entities: entities attached to the pool
 * @next_entity_id: id of the next entity attached
 * @peak_in_use: highest @in_use seen
 * @peak_queued: highest total of @nr_queued seen
 * @allocations: requests served
 * @grants_waited: requests served after waiting
 * @barges: requests served at once ahead of queued ones (adaptive)
 * @wakeups: wake-ups owed to waiters for grants, failures and offers
 *	(->wake() calls, but for expiries, withdrawals at a deadline, which
 *	are not counted)
 * @wake_list: waiters owed a ->wake(), by their wake_node: called by
 *	bufpool_unlock() once the lock is dropped
 * @spurious: offered waiters whose retry failed
 * @releases: buffers given back
 * @page_alloc_failures: failed attempts to give a buffer memory
 * @shrunk: cached buffers given back to the kernel by bufpool_shrink()
 * @drains: bufpool_drain_locked() calls that stopped the magazines
 * @pcpu: the magazines
 * @slotted: entities whose slot may serve (see the top comment), by
 *	their slot_node; empty while @fast is clear
 * @nr_slotted: entities on @slotted, at most BUFPOOL_SLOTTED_MAX
 * @slot_gen: drains so far: an entity asks to be slotted once between two
 *	(written under the pool lock, read as a hint under an entity's)
 * @fast: the magazines may serve (see the top comment); written under
 *	the pool lock, read under a magazine's lock, and without a lock as
 *	a hint
 */
struct bufpool {
	spinlock_t lock;	/* see @lock above */
	struct bufpool_mem *mem;
	size_t bufsize;
	unsigned int limit;
	unsigned int reserve;
	unsigned int headroom[BUFPOOL_NR_CLASSES];
	unsigned int quota;
	unsigned int policy;
	unsigned int nr_offered;
	struct list_head offered;
	struct delayed_work offer_expiry;
	u64 park_until;
	bool park_closed;
	bool park_barged;
	bool park_last;
	unsigned int park_looks;
	struct hrtimer park_timer;
	struct work_struct park_work;
	unsigned int in_use;
	unsigned int nr_alloc;
	unsigned int nr_growing;
	unsigned int nr_growers;
	unsigned int nr_cached;
	unsigned int nr_quarantined;
	struct list_head cache;
	struct list_head queue[BUFPOOL_NR_CLASSES];
	unsigned int nr_queued[BUFPOOL_NR_CLASSES];
	unsigned int nr_entities;
	u64 next_entity_id;
	unsigned int peak_in_use;
	unsigned int peak_queued;
	u64 allocations;
	u64 grants_waited;
	u64 barges;
	u64 wakeups;
	struct list_head wake_list;
	u64 spurious;
	u64 releases;
	u64 page_alloc_failures;
	u64 shrunk;
	u64 drains;
	struct bufpool_pcpu __percpu *pcpu;
	struct list_head slotted;
	unsigned int nr_slotted;
	u32 slot_gen;
	bool fast;
};

static struct bufpool_entity *waiter_entity(struct bufpool_waiter *w)
{
	return container_of(w, struct bufpool_entity, waiter);
}

/*
 * @w's state has just changed in a way it must learn of: ->notify() now,
 * ->wake() once the lock is dropped.  A waiter whose ->wake() calls are
 * under way in another caller (the lock already dropped) is only owed
 * one more: that caller makes it, after this change.
 */
static void bufpool_queue_wake_locked(struct bufpool *pool,
				      struct bufpool_waiter *w)
{
	lockdep_assert_held(&pool->lock);
	if (w->notify)
		w->notify(w);
	/* fully ordered: after the change, which the ->wake() reports */
	if (atomic_inc_return(&w->wake_owed) == 1) {
		list_add_tail(&w->wake_node, &pool->wake_list);
		w->wake_listed = true;
	}
}

/*
 * bufpool_unlock(), with waiters to wake: take them off the pool's list
 * onto @wake, before the unlock.  Not preempted from here to the end of
 * their wake-ups, as under the lock before (and as an rt_mutex's unlock
 * wakes its next owner): a waker preempted between the unlock and the
 * wake-ups would hold back those that later callers only count, and a
 * destroy waiting for them, with nothing to lend it priority.
 * PREEMPT_RT's ->wake() takes sleeping locks: there it stays preemptible
 * (see bufpool.h).
 */
static void bufpool_take_wakes_locked(struct bufpool *pool,
				      struct list_head *wake)
{
	struct bufpool_waiter *w;

	lockdep_assert_held(&pool->lock);
	list_for_each_entry(w, &pool->wake_list, wake_node)
		w->wake_listed = false;
	list_splice_init(&pool->wake_list, wake);
	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		preempt_disable();
}

/* The lock dropped: the ->wake() calls of the waiters taken onto @wake. */
static noinline void bufpool_wake_taken(struct list_head *wake)
{
	struct bufpool_waiter *w;

	while ((w = list_first_entry_or_null(wake, struct bufpool_waiter,
					     wake_node))) {
		/* its own: listed again only once its count is back to 0 */
		list_del_init(&w->wake_node);
		do
			w->wake(w);
		while (!atomic_dec_and_test(&w->wake_owed));
		/* @w may be gone now: wake_up_var() only hashes the address */
		wake_up_var(&w->wake_owed);
	}
	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		preempt_enable();
}

/*
 * The end of every section of the pool lock: drop it, then wake the
 * waiters the section queued.  Nothing queued, the plain unlock.  A
 * macro, so that sparse sees the unlock in the caller, as it sees the
 * lock, whatever annotations the kernel's spin_unlock() has (6.1's
 * PREEMPT_RT has none, 6.12's has).
 */
#define bufpool_unlock(pool)						\
do {									\
	struct bufpool *__pool = (pool);				\
									\
	if (likely(list_empty(&__pool->wake_list))) {			\
		spin_unlock(&__pool->lock);				\
	} else {							\
		LIST_HEAD(__wake);					\
									\
		bufpool_take_wakes_locked(__pool, &__wake);		\
		spin_unlock(&__pool->lock);				\
		bufpool_wake_taken(&__wake);				\
	}								\
} while (0)

/**
 * bufpool_default_headroom() - set the class headrooms from the reserve
 * @t: tunables whose @limit and @reserve are set
 *
 * CRITICAL 0, NORMAL the reserve, LOW twice the reserve (below the limit).
 */
void bufpool_default_headroom(struct bufpool_tunables *t)
{
	t->headroom[BUFPOOL_CLASS_CRITICAL] = 0;
	t->headroom[BUFPOOL_CLASS_NORMAL] = t->reserve;
	t->headroom[BUFPOOL_CLASS_LOW] = t->limit ?
		min(2 * t->reserve, t->limit - 1) : 0;
}
EXPORT_SYMBOL_GPL(bufpool_default_headroom);

static int bufpool_check_tunables(const struct bufpool_tunables *t,
				  const char **why)
{
	const unsigned int *h = t->headroom;

	if (!t->limit || t->limit > BUFPOOL_LIMIT_MAX) {
		*why = "limit must be between 1 and 65536";
		return -EINVAL;
	}
	if (t->reserve >= t->limit) {
		*why = "reserve must be below limit";
		return -EINVAL;
	}
	if (h[BUFPOOL_CLASS_CRITICAL] || h[BUFPOOL_CLASS_NORMAL] < t->reserve ||
	    h[BUFPOOL_CLASS_LOW] < h[BUFPOOL_CLASS_NORMAL] ||
	    h[BUFPOOL_CLASS_LOW] >= t->limit) {
		*why = "thresholds must be 0 (critical) <= reserve <= normal <= low < limit";
		return -EINVAL;
	}
	if (t->quota > BUFPOOL_LIMIT_MAX) {
		*why = "quota must be between 0 (none) and 65536";
		return -EINVAL;
	}
	if (t->policy >= BUFPOOL_NR_POLICIES) {
		*why = "unknown wake policy";
		return -EINVAL;
	}
	return 0;
}

/* The tunables a new pool starts with: thresholds from the reserve. */
static void bufpool_config_tunables(const struct bufpool_config *cfg,
				    struct bufpool_tunables *t)
{
	t->limit = cfg->limit;
	t->reserve = cfg->reserve;
	t->quota = cfg->quota;
	t->policy = BUFPOOL_POLICY_HANDOFF;
	bufpool_default_headroom(t);
}

/**
 * bufpool_limit_max() - the largest limit this machine accepts
 * @bufsize: bytes per buffer (rounded up to whole pages here)
 *
 * A pool may own at most half of the machine's memory: held buffers are
 * memory that reclaim can never take back, as with tmpfs's default size.
 *
 * Return: the most buffers of @bufsize bytes a pool may own, at most
 * BUFPOOL_LIMIT_MAX; 0 if not even one fits.
 */
unsigned int bufpool_limit_max(size_t bufsize)
{
	unsigned long pages = max(PAGE_ALIGN(bufsize) >> PAGE_SHIFT, 1UL);

	return min_t(unsigned long, totalram_pages() / 2 / pages,
		     BUFPOOL_LIMIT_MAX);
}
EXPORT_SYMBOL_GPL(bufpool_limit_max);

static int bufpool_check_memory(unsigned int limit, size_t bufsize,
				const char **why)
{
	if (limit <= bufpool_limit_max(bufsize))
		return 0;
	*why = "limit x bufsize is more than half of the machine's memory";
	return -ERANGE;
}

/**
 * bufpool_check_config() - validate the parameters of a new pool
 * @cfg: the parameters
 * @why: set to a human-readable reason on failure
 *
 * Return: 0; -EINVAL with *@why set for inconsistent values; -ERANGE
 * with *@why set when the limit is above bufpool_limit_max().
 */
int bufpool_check_config(const struct bufpool_config *cfg, const char **why)
{
	struct bufpool_tunables t;
	int ret;

	if (!cfg->bufsize || cfg->bufsize > BUFPOOL_BUFSIZE_MAX) {
		*why = "bufsize must be between 1 byte and 4 MiB";
		return -EINVAL;
	}
	bufpool_config_tunables(cfg, &t);
	ret = bufpool_check_tunables(&t, why);
	return ret ? ret : bufpool_check_memory(cfg->limit, cfg->bufsize, why);
}
EXPORT_SYMBOL_GPL(bufpool_check_config);

static unsigned int bufpool_total_queued(const struct bufpool *pool)
{
	unsigned int c, n = 0;

	for (c = 0; c < BUFPOOL_NR_CLASSES; c++)
		n += pool->nr_queued[c];
	return n;
}

static bool bufpool_budget_ok(const struct bufpool *pool, unsigned int class,
			      unsigned int count)
{
	lockdep_assert_held(&pool->lock);
	return pool->in_use + count + pool->headroom[class] <= pool->limit;
}

/* Is a request of @class queued, or one of a more critical class? */
static bool bufpool_queued_ahead(const struct bufpool *pool, unsigned int class)
{
	unsigned int c;

	lockdep_assert_held(&pool->lock);
	for (c = 0; c <= class; c++)
		if (pool->nr_queued[c])
			return true;
	return false;
}

/* Do the queue heads get what comes back by a grant, in order? */
static bool bufpool_grants(const struct bufpool *pool)
{
	return pool->policy == BUFPOOL_POLICY_HANDOFF ||
	       pool->policy == BUFPOOL_POLICY_ADAPTIVE;
}

/* The most critical class with a request queued, BUFPOOL_NR_CLASSES if none. */
static unsigned int bufpool_first_class(const struct bufpool *pool)
{
	unsigned int c;

	for (c = 0; c < BUFPOOL_NR_CLASSES; c++)
		if (pool->nr_queued[c])
			break;
	return c;
}

/*
 * Must a new request of @class wait behind the queued ones?  Under
 * hand-off whenever one of its class or of a more critical one is queued;
 * under adaptive only once such a head has waited BUFPOOL_BARGE_NS, or
 * the window in which buffers were parked for a head has closed (they
 * are the head's now); never under offer and all, whose waiters retry.
 * While a window is open and its timer has not fired, the first queue
 * head is younger than its bound (the window ends by it): the clock is
 * read only for the heads of less critical classes, if any is queued.
 */
static bool bufpool_behind_locked(struct bufpool *pool,
				  unsigned int class)
{
	unsigned int first = BUFPOOL_NR_CLASSES, covered = BUFPOOL_NR_CLASSES;
	unsigned int c;
	struct bufpool_waiter *w;
	u64 now = 0;

	lockdep_assert_held(&pool->lock);
	if (!bufpool_grants(pool) || !bufpool_queued_ahead(pool, class))
		return false;
	if (pool->policy == BUFPOOL_POLICY_HANDOFF)
		return true;
	if (pool->park_until) {
		if (READ_ONCE(pool->park_closed))
			return true;
		first = bufpool_first_class(pool);
		/* its timer may be late: one look in BUFPOOL_PARK_LOOKS */
		if (++pool->park_looks < BUFPOOL_PARK_LOOKS)
			covered = first;
		else
			pool->park_looks = 0;
	}
	for (c = 0; c <= class; c++) {
		w = list_first_entry_or_null(&pool->queue[c],
					     struct bufpool_waiter, node);
		if (!w || c == covered)
			continue;
		if (!now)
			now = ktime_get_ns();
		if (now - w->queued_at < BUFPOOL_BARGE_NS)
			continue;
		/* the first head's bound passed: the window is over */
		if (c == first)
			WRITE_ONCE(pool->park_closed, true);
		return true;
	}
	return false;
}

/*
 * How long the oldest queue head of @class or a more critical one has
 * waited by @now.
 */
static u64 bufpool_head_wait_locked(struct bufpool *pool, unsigned int class,
				    u64 now)
{
	struct bufpool_waiter *w;
	unsigned int c;
	u64 wait = 0;

	lockdep_assert_held(&pool->lock);
	for (c = 0; c <= class; c++) {
		w = list_first_entry_or_null(&pool->queue[c],
					     struct bufpool_waiter, node);
		if (w)
			wait = max(wait, now - w->queued_at);
	}
	return wait;
}

/* Cached buffers @class may take: only CRITICAL may eat into the reserve. */
static unsigned int bufpool_cache_usable(const struct bufpool *pool,
					 unsigned int class)
{
	if (class == BUFPOOL_CLASS_CRITICAL)
		return pool->nr_cached;
	return pool->nr_cached > pool->reserve ?
	       pool->nr_cached - pool->reserve : 0;
}

/* A buffer new to the pool joins its cache. */
static void bufpool_cache_new(struct bufpool *pool, struct bufpool_buf *buf)
{
	lockdep_assert_held(&pool->lock);
	buf->state = BUFPOOL_BUF_CACHED;
	buf->account = NULL;
	list_add_tail(&buf->node, &pool->cache);
	pool->nr_cached++;
	pool->nr_alloc++;
}

/* A buffer given back is no longer charged to the account that had it. */
static void bufpool_buf_unaccount_locked(struct bufpool *pool,
					 struct bufpool_buf *buf)
{
	lockdep_assert_held(&pool->lock);
	if (buf->account) {
		atomic_dec(&buf->account->charged);
		buf->account = NULL;
	}
}

/*
 * Buffers the cache lacks, holding @avail, to serve @count of @class: all
 * but CRITICAL must leave the reserve's buffers cached, and so must
 * CRITICAL while the magazines serve (bufpool_take_locked() would drain
 * them otherwise): the pool grows for the reserve then, far from its
 * limit, rather than stopping the magazines.
 */
static unsigned int bufpool_cache_short(const struct bufpool *pool,
					unsigned int class, unsigned int count,
					unsigned int avail)
{
	unsigned int want = count;

	if (class != BUFPOOL_CLASS_CRITICAL || pool->fast)
		want += pool->reserve;
	return want > avail ? want - avail : 0;
}

/* Buffers the pool may still create: the limit minus owned and growing. */
static unsigned int bufpool_room_locked(const struct bufpool *pool)
{
	unsigned int owned = pool->nr_alloc + pool->nr_growing;

	lockdep_assert_held(&pool->lock);
	return pool->limit > owned ? pool->limit - owned : 0;
}

/*
 * Take @count buffers from the cache for a request of @class whose budget
 * was checked and append them to @out; they are charged to in_use.  Never
 * allocates: if the cache is short nothing is taken, the backend's work
 * item is asked to grow the cache (it serves the queues when done) and
 * the caller keeps (or starts) waiting.
 */
static void bufpool_drain_locked(struct bufpool *pool);

static bool bufpool_take_locked(struct bufpool *pool, unsigned int class,
				unsigned int count, struct list_head *out)
{
	struct bufpool_buf *buf;
	unsigned int i;

	lockdep_assert_held(&pool->lock);
	/*
	 * The magazines serve only while in_use leaves LOW's headroom and
	 * the reserve's buffers are in the cache.
	 */
	if (pool->fast && (pool->in_use + count +
			   pool->headroom[BUFPOOL_CLASS_LOW] > pool->limit ||
			   pool->nr_cached < pool->reserve + count))
		bufpool_drain_locked(pool);
	if (bufpool_cache_usable(pool, class) < count) {
		if (bufpool_room_locked(pool) && !pool->nr_growers)
			bufpool_mem_grow(pool->mem);
		return false;
	}

	for (i = 0; i < count; i++) {
		buf = list_first_entry(&pool->cache, struct bufpool_buf, node);
		list_move_tail(&buf->node, out);
	}
	pool->nr_cached -= count;
	pool->in_use += count;
	pool->peak_in_use = max(pool->peak_in_use, pool->in_use);
	return true;
}

/*
 * Put zeroed buffers back in the cache, or give their memory back while
 * the pool owns more than a lowered limit.
 */
static void bufpool_cache_back_locked(struct bufpool *pool,
				      struct list_head *bufs, unsigned int count)
{
	struct bufpool_buf *buf, *tmp;

	lockdep_assert_held(&pool->lock);
	list_for_each_entry_safe(buf, tmp, bufs, node) {
		list_del(&buf->node);
		bufpool_buf_unaccount_locked(pool, buf);
		if (pool->nr_alloc > pool->limit) {
			bufpool_mem_destroy(pool->mem, buf);
			pool->nr_alloc--;
			continue;
		}
		WRITE_ONCE(buf->state, BUFPOOL_BUF_CACHED);
		WRITE_ONCE(buf->owner, NULL);
		list_add_tail(&buf->node, &pool->cache);
		pool->nr_cached++;
	}
	pool->in_use -= count;
}

static void bufpool_uncharge_locked(struct bufpool *pool,
				    struct list_head *bufs, unsigned int count)
{
	bufpool_cache_back_locked(pool, bufs, count);
	pool->releases += count;
}

/* @e's slot goes back to the cache; @e stays slotted. */
static void bufpool_slot_back_locked(struct bufpool *pool,
				     struct bufpool_entity *e)
{
	unsigned int i;

	lockdep_assert_held(&pool->lock);
	lockdep_assert_held(&e->lock);
	for (i = 0; i < e->nr_slot; i++)
		list_add_tail(&e->slot[i]->node, &pool->cache);
	pool->nr_cached += e->nr_slot;
	pool->in_use -= e->nr_slot;
	e->nr_slot = 0;
}

/*
 * @e's slot goes back to the cache, its counters to the pool's, and @e
 * leaves the slotted list.
 */
static void bufpool_unslot_locked(struct bufpool *pool,
				  struct bufpool_entity *e)
{
	bufpool_slot_back_locked(pool, e);
	pool->allocations += e->slot_allocations;
	pool->releases += e->slot_releases;
	e->slot_allocations = 0;
	e->slot_releases = 0;
	e->slotted = false;
	list_del_init(&e->slot_node);
	pool->nr_slotted--;
}

/*
 * Stop the magazines: clear @fast, then give every magazine's buffers
 * back to the cache, taking each one's lock in turn, and every slot's,
 * taking each slotted entity's lock in turn.  Afterwards no fast
 * operation is in flight and none can start until a refill.
 */
static void bufpool_drain_locked(struct bufpool *pool)
{
	struct bufpool_entity *e, *tmp;
	struct bufpool_pcpu *m;
	unsigned int i;
	int cpu;

	lockdep_assert_held(&pool->lock);
	if (!pool->fast)
		return;
	WRITE_ONCE(pool->fast, false);
	pool->drains++;
	/* the entities refused a slot may ask again after the next refill */
	WRITE_ONCE(pool->slot_gen, pool->slot_gen + 1);
	for_each_possible_cpu(cpu) {
		m = per_cpu_ptr(pool->pcpu, cpu);
		spin_lock(&m->lock);
		for (i = 0; i < m->nr; i++)
			list_add_tail(&m->bufs[i]->node, &pool->cache);
		pool->nr_cached += m->nr;
		pool->in_use -= m->nr;
		m->nr = 0;
		spin_unlock(&m->lock);
	}
	list_for_each_entry_safe(e, tmp, &pool->slotted, slot_node) {
		spin_lock(&e->lock);
		bufpool_unslot_locked(pool, e);
		spin_unlock(&e->lock);
	}
}

/*
 * Give the slots' buffers back to the cache, each under its entity's lock,
 * leaving @fast set and the entities slotted: a cache short of buffers
 * that idle entities keep need not grow while the magazines serve.
 */
static void bufpool_unpark_slots_locked(struct bufpool *pool)
{
	struct bufpool_entity *e;

	lockdep_assert_held(&pool->lock);
	list_for_each_entry(e, &pool->slotted, slot_node) {
		spin_lock(&e->lock);
		bufpool_slot_back_locked(pool, e);
		spin_unlock(&e->lock);
	}
}

/*
 * @e's slot may serve from now on, while @fast is set: only under the
 * pool lock, so that the drain finds it, and unless BUFPOOL_SLOTTED_MAX
 * entities have one already: then @e does without until the next drain.
 */
static void bufpool_slot_join_locked(struct bufpool_entity *e)
{
	struct bufpool *pool = e->pool;

	lockdep_assert_held(&pool->lock);
	if (!pool->fast || e->slotted)
		return;
	spin_lock(&e->lock);
	e->slot_gen = pool->slot_gen;
	if (pool->nr_slotted < BUFPOOL_SLOTTED_MAX) {
		e->slotted = true;
		list_add_tail(&e->slot_node, &pool->slotted);
		pool->nr_slotted++;
	}
	spin_unlock(&e->lock);
}

/*
 * Fill this CPU's magazine for a request of @count, if the pool is far
 * from its limit and nobody waits (see the top comment), and let the
 * magazines serve.  Returns whether it did.
 */
static bool bufpool_refill_locked(struct bufpool *pool, unsigned int count)
{
	unsigned int i, n, keep;
	struct bufpool_pcpu *m;
	struct bufpool_buf *buf;

	lockdep_assert_held(&pool->lock);
	if (pool->quota || pool->nr_offered || pool->park_until ||
	    bufpool_total_queued(pool))
		return false;
	keep = pool->in_use + pool->headroom[BUFPOOL_CLASS_LOW];
	n = pool->limit > keep ? pool->limit - keep : 0;
	n = min3(n, BUFPOOL_MAG_BATCH,
		 bufpool_cache_usable(pool, BUFPOOL_CLASS_LOW));
	if (!n || n < count)
		return false;

	m = raw_cpu_ptr(pool->pcpu);
	spin_lock(&m->lock);
	/* another task on this CPU may have filled it meanwhile */
	if (m->nr + n > BUFPOOL_MAG_MAX) {
		spin_unlock(&m->lock);
		return false;
	}
	for (i = 0; i < n; i++) {
		buf = list_first_entry(&pool->cache, struct bufpool_buf, node);
		list_del(&buf->node);
		m->bufs[m->nr++] = buf;
	}
	/* pairs with the fast path's acquire: it sees these tunables */
	smp_store_release(&pool->fast, true);
	spin_unlock(&m->lock);
	pool->nr_cached -= n;
	pool->in_use += n;
	pool->peak_in_use = max(pool->peak_in_use, pool->in_use);
	return true;
}

/*
 * Put @buf, CACHED and on no list, on @m (under its lock).  A full
 * magazine first gives what is beyond BUFPOOL_MAG_BATCH to @out, to go
 * back to the cache: RETURNING until bufpool_flush().  Returns how many
 * it gave.
 */
static __always_inline unsigned int bufpool_mag_push(struct bufpool_pcpu *m,
						     struct bufpool_buf *buf,
						     struct list_head *out)
{
	unsigned int n = 0;

	lockdep_assert_held(&m->lock);
	if (unlikely(m->nr == BUFPOOL_MAG_MAX)) {
		while (m->nr > BUFPOOL_MAG_BATCH) {
			struct bufpool_buf *x = m->bufs[--m->nr];

			WRITE_ONCE(x->state, BUFPOOL_BUF_RETURNING);
			list_add_tail(&x->node, out);
			n++;
		}
	}
	m->bufs[m->nr++] = buf;
	return n;
}

static void bufpool_grant_locked(struct bufpool *pool);

/* What bufpool_mag_push() gave goes back to the cache, and on. */
static void bufpool_flush(struct bufpool *pool, struct list_head *bufs,
			  unsigned int n)
{
	spin_lock(&pool->lock);
	bufpool_cache_back_locked(pool, bufs, n);
	bufpool_grant_locked(pool);
	bufpool_unlock(pool);
}

static void bufpool_unaccount_locked(struct bufpool_entity *e,
				     unsigned int count)
{
	lockdep_assert_held(&e->pool->lock);
	if (e->account)
		atomic_sub(count, &e->account->charged);
}

/*
 * A queued request left while a park window is open (a grant ends the
 * window first).  Nobody left to park for: the window ends, a stale one
 * must not stop barges.  Otherwise the window must still end by the
 * bound of the first head, which may be older than the one that left
 * (of a less critical class): if not, it ends at that bound, and its
 * timer moves there; if that has passed, it closes now and the work
 * grants what is parked (the caller may be walking the queues).  A rare
 * path: the clock is read here.
 */
static void bufpool_park_rebound_locked(struct bufpool *pool)
{
	unsigned int c = bufpool_first_class(pool);
	struct bufpool_waiter *w;
	u64 end;

	lockdep_assert_held(&pool->lock);
	if (c == BUFPOOL_NR_CLASSES) {
		pool->park_until = 0;
		return;
	}
	w = list_first_entry(&pool->queue[c], struct bufpool_waiter, node);
	end = w->queued_at + BUFPOOL_BARGE_NS;
	if (end >= pool->park_until) {
		/* a later bound: the window may be renewed up to it */
		WRITE_ONCE(pool->park_last, end == pool->park_until);
		return;
	}
	pool->park_until = end;
	WRITE_ONCE(pool->park_last, true);
	/* (a closed window needs no timer: what comes back is granted) */
	if (READ_ONCE(pool->park_closed))
		return;
	if (ktime_get_ns() < end) {
		hrtimer_start(&pool->park_timer, ns_to_ktime(end),
			      HRTIMER_MODE_ABS);
		return;
	}
	WRITE_ONCE(pool->park_closed, true);
	queue_work(system_highpri_wq, &pool->park_work);
}

/* Take @w off its queue; its state is the caller's to set. */
static void bufpool_unqueue_locked(struct bufpool *pool,
				   struct bufpool_waiter *w)
{
	struct bufpool_account *account = waiter_entity(w)->account;

	lockdep_assert_held(&pool->lock);
	list_del_init(&w->node);
	pool->nr_queued[w->class]--;
	if (account)
		account->queued -= w->count;
	if (pool->park_until)
		bufpool_park_rebound_locked(pool);
}

static void bufpool_dequeue_locked(struct bufpool *pool,
				   struct bufpool_waiter *w)
{
	bufpool_unqueue_locked(pool, w);
	WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
}

/* @w's offer ends: it was taken up, withdrawn or has lapsed. */
static void bufpool_unoffer_locked(struct bufpool *pool,
				   struct bufpool_waiter *w)
{
	lockdep_assert_held(&pool->lock);
	list_del_init(&w->node);
	pool->nr_offered--;
	WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
}

/*
 * Offers older than BUFPOOL_OFFER_TTL_NS lapse: their waiters were woken
 * and did not try again in time, a spurious wake-up.  If they try later,
 * theirs is a new request.
 */
static void bufpool_expire_offers_locked(struct bufpool *pool, u64 now)
{
	struct bufpool_waiter *w, *tmp;

	lockdep_assert_held(&pool->lock);
	list_for_each_entry_safe(w, tmp, &pool->offered, node) {
		if (now - w->offered_at < BUFPOOL_OFFER_TTL_NS)
			break;
		bufpool_unoffer_locked(pool, w);
		pool->spurious++;
	}
}

/* Run the offer expiry when the oldest offer lapses. */
static void bufpool_arm_offer_expiry_locked(struct bufpool *pool, u64 now)
{
	struct bufpool_waiter *w;
	u64 left;

	lockdep_assert_held(&pool->lock);
	w = list_first_entry_or_null(&pool->offered, struct bufpool_waiter,
				     node);
	if (!w)
		return;
	left = w->offered_at + BUFPOOL_OFFER_TTL_NS - now;
	/* a jiffy more: never before the offer lapses */
	mod_delayed_work(system_wq, &pool->offer_expiry,
			 nsecs_to_jiffies(left) + 1);
}

/*
 * Buffers the side of @e holds or was granted: while the pool has a quota,
 * its account's, over all the account's entities; otherwise its own.
 */
static unsigned int bufpool_side_held(const struct bufpool_entity *e)
{
	lockdep_assert_held(&e->pool->lock);
	if (e->account && e->pool->quota)
		return atomic_read(&e->account->charged) - e->account->queued;
	return READ_ONCE(e->nr_held);
}

/*
 * Could a request of @e be served if every other side gave back all it
 * holds?  -ENOSPC: not even from an empty pool; -EDEADLK: only once @e's
 * own side gives buffers back, which it cannot do while it waits (and
 * everyone queued behind it would wait on it); 0: yes.
 */
static int bufpool_hopeless(const struct bufpool_entity *e,
			    unsigned int class, unsigned int count)
{
	const struct bufpool *pool = e->pool;

	if (count + pool->headroom[class] > pool->limit)
		return -ENOSPC;
	if (bufpool_side_held(e) + count + pool->headroom[class] > pool->limit)
		return -EDEADLK;
	return 0;
}

/* Fail a queued request: its waiter is woken and collects @err. */
static void bufpool_fail_locked(struct bufpool *pool, struct bufpool_waiter *w,
				int err)
{
	lockdep_assert_held(&pool->lock);
	bufpool_dequeue_locked(pool, w);
	bufpool_unaccount_locked(waiter_entity(w), w->count);
	w->error = err;
	WRITE_ONCE(w->state, BUFPOOL_WAIT_FAILED);
	pool->wakeups++;
	bufpool_queue_wake_locked(pool, w);
}

/* Fail @w, queued, if it is hopeless; true if it did. */
static bool bufpool_fail_if_hopeless_locked(struct bufpool *pool,
					    struct bufpool_waiter *w)
{
	int err = bufpool_hopeless(waiter_entity(w), w->class, w->count);

	if (err)
		bufpool_fail_locked(pool, w, err);
	return err;
}

/*
 * The offer and all policies: dequeue waiters, most critical class first,
 * and wake them to try again; offer wakes no more than there are free
 * buffers not already offered.  Lapsed offers are withdrawn first.
 */
static void bufpool_offer_locked(struct bufpool *pool)
{
	unsigned int c, free = pool->limit > pool->in_use ?
			       pool->limit - pool->in_use : 0;
	struct bufpool_waiter *w, *tmp;
	u64 now = ktime_get_ns();

	lockdep_assert_held(&pool->lock);
	bufpool_expire_offers_locked(pool, now);
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		list_for_each_entry_safe(w, tmp, &pool->queue[c], node) {
			if (pool->policy == BUFPOOL_POLICY_OFFER &&
			    pool->nr_offered >= free)
				goto arm;
			bufpool_dequeue_locked(pool, w);
			bufpool_unaccount_locked(waiter_entity(w), w->count);
			WRITE_ONCE(w->state, BUFPOOL_WAIT_OFFERED);
			w->offered_at = now;
			list_add_tail(&w->node, &pool->offered);
			pool->nr_offered++;
			pool->wakeups++;
			bufpool_queue_wake_locked(pool, w);
		}
	}
arm:
	bufpool_arm_offer_expiry_locked(pool, now);
}

/*
 * Has a queue head of any class waited BUFPOOL_BARGE_NS by @now?  It is
 * served as under hand-off: nothing may be parked ahead of it, even for
 * a more critical head that is younger.
 */
static bool bufpool_overdue_locked(struct bufpool *pool, u64 now)
{
	return bufpool_head_wait_locked(pool, BUFPOOL_NR_CLASSES - 1, now) >=
	       BUFPOOL_BARGE_NS;
}

/*
 * Adaptive policy: instead of granting them to @w, the first queue head,
 * at once, leave the buffers that @w fits in the cache for a running
 * request to take?  Only while the window is open: the first call opens
 * it if @w is younger than BUFPOOL_BARGE_NS (for BUFPOOL_PARK_NS, never
 * beyond @w's bound) and arms the timer that closes it and serves the
 * heads; a grant ends it.  A period in which someone barged is followed
 * by another (bufpool_park_renew_locked()), up to the first head's bound:
 * parked buffers sit idle for one period at most.  The window is open
 * until its timer closes it, so while it is, this reads no clock: it
 * ends by the first head's bound (bufpool_park_rebound_locked() keeps it
 * so), and a head queued later, or one behind, has a later bound.  A
 * late timer leaves the window open for as long as it is late.
 */
static bool bufpool_park_locked(struct bufpool *pool,
				struct bufpool_waiter *w)
{
	u64 now, end;

	lockdep_assert_held(&pool->lock);
	if (pool->policy != BUFPOOL_POLICY_ADAPTIVE ||
	    bufpool_cache_usable(pool, w->class) < w->count)
		return false;
	if (pool->park_until)
		return !READ_ONCE(pool->park_closed);
	now = ktime_get_ns();
	end = w->queued_at + BUFPOOL_BARGE_NS;
	if (bufpool_overdue_locked(pool, now))
		return false;
	pool->park_until = min_t(u64, now + BUFPOOL_PARK_NS, end);
	WRITE_ONCE(pool->park_last, pool->park_until == end);
	WRITE_ONCE(pool->park_barged, false);
	WRITE_ONCE(pool->park_closed, false);
	hrtimer_start(&pool->park_timer, ns_to_ktime(pool->park_until),
		      HRTIMER_MODE_ABS);
	trace_bufpool_park(waiter_entity(w)->id, w->class, w->count,
			   now - w->queued_at);
	return true;
}

/*
 * @w's request, of @class, has just been granted.  The time of the grant
 * is kept only while the bufpool_collect event is enabled (else 0), for
 * bufpool_trace_collect(): no clock read for it otherwise.
 */
static void bufpool_trace_grant_locked(struct bufpool_waiter *w,
				       unsigned int class)
{
	u64 now;

	w->granted_at = 0;
	if (!trace_bufpool_grant_enabled() && !trace_bufpool_collect_enabled())
		return;
	now = ktime_get_ns();
	if (trace_bufpool_collect_enabled())
		w->granted_at = now;
	trace_bufpool_grant(waiter_entity(w)->id, class, w->count,
			    now - w->queued_at);
}

/*
 * @w's grant is being collected: how long did its buffers wait for that?
 * Nothing for a grant made while the event was off.
 */
static void bufpool_trace_collect(struct bufpool_waiter *w)
{
	if (trace_bufpool_collect_enabled() && w->granted_at)
		trace_bufpool_collect(waiter_entity(w)->id, w->class, w->count,
				      ktime_get_ns() - w->granted_at);
}

/*
 * The hand-off: serve the queue heads, most critical class first, for as
 * long as they fit.  Stopping at the first head that does not fit is what
 * keeps FIFO order and class priority: nobody behind it may barge.
 */
static void bufpool_grant_locked(struct bufpool *pool)
{
	struct bufpool_waiter *w;
	struct bufpool_buf *buf;
	unsigned int c;

	lockdep_assert_held(&pool->lock);
	if (!bufpool_grants(pool)) {
		bufpool_offer_locked(pool);
		return;
	}
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		while ((w = list_first_entry_or_null(&pool->queue[c],
						     struct bufpool_waiter,
						     node))) {
			if (!bufpool_budget_ok(pool, c, w->count)) {
				/* a head that only its own side could unblock */
				if (bufpool_fail_if_hopeless_locked(pool, w))
					continue;
				return;
			}
			if (bufpool_park_locked(pool, w))
				return;
			if (!bufpool_take_locked(pool, c, w->count, &w->granted))
				return;
			pool->park_until = 0;
			list_for_each_entry(buf, &w->granted, node) {
				buf->owner = waiter_entity(w);
				buf->state = BUFPOOL_BUF_GRANTED;
			}
			bufpool_unqueue_locked(pool, w);
			WRITE_ONCE(w->state, BUFPOOL_WAIT_GRANTED);
			pool->grants_waited++;
			pool->wakeups++;
			bufpool_trace_grant_locked(w, c);
			bufpool_queue_wake_locked(pool, w);
		}
	}
}

/*
 * Move freshly taken or granted buffers of a @class request to @e's held
 * list, report them.
 */
static u64 bufpool_hold_locked(struct bufpool_entity *e,
			       struct list_head *bufs, unsigned int count,
			       unsigned int class, struct bufpool_buf **out)
{
	bool critical = class == BUFPOOL_CLASS_CRITICAL;
	struct bufpool_buf *buf;
	unsigned int i = 0;
	u64 grant;

	lockdep_assert_held(&e->pool->lock);
	spin_lock(&e->lock);
	grant = e->grants++;
	list_for_each_entry(buf, bufs, node) {
		WRITE_ONCE(buf->owner, e);
		WRITE_ONCE(buf->state, BUFPOOL_BUF_HELD);
		buf->critical = critical;
		buf->grant = grant;
		if (!e->tracks_dirty)
			WRITE_ONCE(buf->dirty, true);
		out[i++] = buf;
	}
	list_splice_tail_init(bufs, &e->held);
	WRITE_ONCE(e->nr_held, e->nr_held + count);
	if (critical)
		WRITE_ONCE(e->nr_critical, e->nr_critical + count);
	spin_unlock(&e->lock);
	e->pool->allocations++;
	return grant;
}

/*
 * The entity-local checks of a fast allocation (see the top comment),
 * under @e's lock: no request pending, not hopeless, and for CRITICAL
 * the reserve rule on @e's own counts.
 */
static __always_inline bool bufpool_fast_admit(struct bufpool_entity *e,
					       unsigned int class,
					       unsigned int count)
{
	struct bufpool *pool = e->pool;

	lockdep_assert_held(&e->lock);
	/* the tunables cannot change while @fast is set: see the drain */
	if (READ_ONCE(e->waiter.state) != BUFPOOL_WAIT_IDLE ||
	    e->nr_held + count + pool->headroom[class] > pool->limit)
		return false;
	return class != BUFPOOL_CLASS_CRITICAL || e->critical_exempt ||
	       (e->nr_held >= 2 * e->nr_critical &&
		e->nr_held - 2 * e->nr_critical >= count);
}

/*
 * @e takes the top @count buffers of a fast stack (a magazine or its
 * slot) of *@nr, under its lock.
 */
static __always_inline void bufpool_fast_hold(struct bufpool_entity *e,
					      unsigned int class,
					      unsigned int count,
					      struct bufpool_buf **stack,
					      unsigned int *nr,
					      struct bufpool_buf **bufs,
					      u32 *ids, u64 *grant)
{
	bool critical = class == BUFPOOL_CLASS_CRITICAL;
	struct bufpool_buf *buf;
	unsigned int i;

	lockdep_assert_held(&e->lock);
	for (i = 0; i < count; i++) {
		buf = stack[--*nr];
		WRITE_ONCE(buf->owner, e);
		WRITE_ONCE(buf->state, BUFPOOL_BUF_HELD);
		buf->critical = critical;
		buf->grant = e->grants;
		if (!e->tracks_dirty)
			WRITE_ONCE(buf->dirty, true);
		list_add_tail(&buf->node, &e->held);
		bufs[i] = buf;
		if (ids)
			ids[i] = buf->id;
	}
	if (grant)
		*grant = e->grants;
	e->grants++;
	WRITE_ONCE(e->nr_held, e->nr_held + count);
	if (critical)
		WRITE_ONCE(e->nr_critical, e->nr_critical + count);
	if (e->account)
		atomic_add(count, &e->account->charged);
	trace_bufpool_alloc(e->id, class, count, 0);
}

/*
 * An allocation served by @e's slot or this CPU's magazine, without the
 * pool lock (which the caller holds if @locked): 1 if it must take the
 * locked path (the magazines are off, neither has @count, @e has a
 * request pending or could not be served even from an empty pool, or,
 * unless @locked, @e could keep what it gives back but is not slotted
 * yet: it joins there).  Otherwise 0, @bufs (and @ids, @grant if set)
 * filled.
 */
static __always_inline int bufpool_alloc_fast(struct bufpool_entity *e,
					      unsigned int class,
					      unsigned int count,
					      struct bufpool_buf **bufs,
					      u32 *ids, u64 *grant,
					      bool locked)
{
	struct bufpool *pool = e->pool;
	struct bufpool_pcpu *m;
	int ret = 1;

	spin_lock(&e->lock);
	/* once per drain: its direct releases would go to its slot */
	if (!locked && !e->slotted && e->tracks_dirty &&
	    !READ_ONCE(e->shared) && e->slot_gen != READ_ONCE(pool->slot_gen))
		goto unlock_entity;
	/* a slot holds buffers only while @e is slotted: see the top comment */
	if (e->nr_slot >= count && READ_ONCE(pool->fast)) {
		if (!bufpool_fast_admit(e, class, count))
			goto unlock_entity;
		bufpool_fast_hold(e, class, count, e->slot, &e->nr_slot, bufs,
				  ids, grant);
		e->slot_allocations++;
		ret = 0;
		goto unlock_entity;
	}
	m = raw_cpu_ptr(pool->pcpu);
	spin_lock(&m->lock);
	/* pairs with the refill's release: the tunables are its or newer */
	if (!smp_load_acquire(&pool->fast) || m->nr < count ||
	    !bufpool_fast_admit(e, class, count))
		goto unlock_mag;
	bufpool_fast_hold(e, class, count, m->bufs, &m->nr, bufs, ids, grant);
	m->allocations++;
	ret = 0;
unlock_mag:
	spin_unlock(&m->lock);
unlock_entity:
	spin_unlock(&e->lock);
	return ret;
}

/*
 * May @e ask for @count CRITICAL buffers?  Only to go with non-critical
 * buffers it holds: afterwards it must hold no more critical buffers than
 * non-critical ones, unless it is exempt.
 */
static bool bufpool_may_use_reserve(struct bufpool_entity *e,
				    unsigned int count)
{
	unsigned int held, critical, others;

	lockdep_assert_held(&e->pool->lock);
	if (e->critical_exempt)
		return true;
	/* a fast release changes both under the entity lock only */
	spin_lock(&e->lock);
	held = e->nr_held;
	critical = e->nr_critical;
	spin_unlock(&e->lock);
	others = held > critical ? held - critical : 0;
	return others >= critical + count;
}

static int bufpool_new_request_locked(struct bufpool_entity *e,
				      unsigned int class, unsigned int count,
				      unsigned int flags,
				      struct bufpool_buf **bufs, u64 *grant)
{
	struct bufpool *pool = e->pool;
	struct bufpool_waiter *w = &e->waiter;
	bool ahead;
	LIST_HEAD(got);
	int ret;

	lockdep_assert_held(&pool->lock);
	/*
	 * Again after a drain: it waited for every magazine's lock, and a
	 * fast operation of @e may have changed what @e holds meanwhile.
	 */
again:
	if (class == BUFPOOL_CLASS_CRITICAL && !bufpool_may_use_reserve(e, count))
		return -EPERM;
	ret = bufpool_hopeless(e, class, count);
	if (ret)
		return ret;
	if (e->account && pool->quota &&
	    atomic_read(&e->account->charged) + count > pool->quota)
		return -EDQUOT;

	ahead = bufpool_queued_ahead(pool, class);
	if ((!ahead || !bufpool_behind_locked(pool, class)) &&
	    bufpool_budget_ok(pool, class, count) &&
	    bufpool_take_locked(pool, class, count, &got)) {
		if (ahead) {
			pool->barges++;
			/*
			 * The window is worth another period if the first
			 * head's class competes for what is parked: a less
			 * critical one leaves more behind (the reserve for a
			 * CRITICAL head), which would sit idle meanwhile.
			 */
			if (pool->park_until && !pool->park_barged &&
			    class == bufpool_first_class(pool))
				WRITE_ONCE(pool->park_barged, true);
			/* the argument costs a clock read: only when traced */
			if (trace_bufpool_barge_enabled())
				trace_bufpool_barge(e->id, class, count,
						    bufpool_head_wait_locked(pool,
									     class,
									     ktime_get_ns()));
		}
		*grant = bufpool_hold_locked(e, &got, count, class, bufs);
		if (e->account)
			atomic_add(count, &e->account->charged);
		trace_bufpool_alloc(e->id, class, count, 0);
		/*
		 * The side of @e now holds more: a queue head of the same
		 * side (of a less critical class) may have become hopeless.
		 */
		if (e->account && pool->quota && bufpool_grants(pool) &&
		    bufpool_total_queued(pool))
			bufpool_grant_locked(pool);
		return 0;
	}
	/* what the magazines hold may be what it lacks */
	if (pool->fast) {
		bufpool_drain_locked(pool);
		goto again;
	}
	/* a window closed by a look past its bound: what is parked goes on */
	if (pool->park_until && READ_ONCE(pool->park_closed))
		bufpool_grant_locked(pool);
	if (flags & BUFPOOL_ALLOC_NOQUEUE)
		return -EAGAIN;

	if (e->account) {
		atomic_add(count, &e->account->charged);
		e->account->queued += count;
	}
	w->class = class;
	w->count = count;
	w->collect = flags & BUFPOOL_ALLOC_COLLECT;
	w->queued_at = ktime_get_ns();
	WRITE_ONCE(w->state, BUFPOOL_WAIT_QUEUED);
	list_add_tail(&w->node, &pool->queue[class]);
	pool->nr_queued[class]++;
	pool->peak_queued = max(pool->peak_queued, bufpool_total_queued(pool));
	trace_bufpool_queue(e->id, class, count, 0);
	return -EAGAIN;
}

static bool bufpool_withdraw_locked(struct bufpool *pool,
				    struct bufpool_waiter *w);

static bool bufpool_deadline_passed(u64 deadline, u64 now)
{
	return deadline != BUFPOOL_NO_DEADLINE && now >= deadline;
}

/*
 * A request that is not pending: served at once, queued with @deadline
 * (under a new number), or, if @deadline has passed, -ETIMEDOUT and
 * nothing queued.
 */
static int bufpool_request_locked(struct bufpool_entity *e, unsigned int class,
				  unsigned int count, unsigned int flags,
				  u64 deadline, struct bufpool_buf **bufs,
				  u64 *grant)
{
	struct bufpool_waiter *w = &e->waiter;
	/* no clock read without a deadline: it may be a slow device */
	bool late = deadline != BUFPOOL_NO_DEADLINE &&
		    bufpool_deadline_passed(deadline, ktime_get_ns());
	int ret;

	lockdep_assert_held(&e->pool->lock);
	ret = bufpool_new_request_locked(e, class, count,
					 late ? flags | BUFPOOL_ALLOC_NOQUEUE :
						flags, bufs, grant);
	if (ret != -EAGAIN || (flags & BUFPOOL_ALLOC_NOQUEUE))
		return ret;
	if (late)
		return -ETIMEDOUT;
	w->seq++;
	w->deadline = deadline;
	return ret;
}

/*
 * Withdraw @w's queued request because its deadline passed, leave it in
 * @state (IDLE if the caller learns it now, EXPIRED for the next call to
 * collect), and serve whoever it held up.  The request's number is kept
 * and the waiter woken, so that every sleeper on it returns -ETIMEDOUT
 * (bufpool_wait_done()), not only the caller: one whose own ticket has
 * no deadline or a later one would otherwise sleep on, or queue anew.
 * An expiry, not counted in @wakeups.
 */
static void bufpool_time_out_locked(struct bufpool *pool,
				    struct bufpool_waiter *w,
				    unsigned int state)
{
	lockdep_assert_held(&pool->lock);
	bufpool_withdraw_locked(pool, w);
	WRITE_ONCE(w->state, state);
	w->timed_out = w->seq;
	bufpool_queue_wake_locked(pool, w);
	bufpool_grant_locked(pool);
}

/*
 * A buffer created outside the lock in a slot reserved in @nr_growing
 * joins the cache, unless a lowered limit no longer lets the pool own it:
 * then it is destroyed, under the lock as its id is visible to lookups.
 * Returns whether it was cached.
 */
static bool bufpool_adopt_locked(struct bufpool *pool, struct bufpool_buf *buf)
{
	lockdep_assert_held(&pool->lock);
	pool->nr_growing--;
	if (pool->nr_alloc < pool->limit) {
		bufpool_cache_new(pool, buf);
		return true;
	}
	bufpool_mem_destroy(pool->mem, buf);
	return false;
}

/*
 * How many buffers a new request of @e would need created to be served at
 * once: none unless it passes the admission rules of
 * bufpool_new_request_locked() and would be served now but for the cache
 * (so a refused call never costs the pool an allocation).  An estimate
 * that may miss or overshoot (the pool moves while the lock is dropped):
 * the buffers only ever go to the cache, within the limit.
 */
static unsigned int bufpool_direct_need_locked(struct bufpool_entity *e,
					       unsigned int class,
					       unsigned int count)
{
	struct bufpool *pool = e->pool;
	unsigned int short_by, state = e->waiter.state;

	lockdep_assert_held(&pool->lock);
	if (state != BUFPOOL_WAIT_IDLE && state != BUFPOOL_WAIT_OFFERED)
		return 0;
	if ((class == BUFPOOL_CLASS_CRITICAL &&
	     !bufpool_may_use_reserve(e, count)) ||
	    bufpool_hopeless(e, class, count) ||
	    (e->account && pool->quota &&
	     atomic_read(&e->account->charged) + count > pool->quota) ||
	    bufpool_behind_locked(pool, class) ||
	    !bufpool_budget_ok(pool, class, count))
		return 0;
	short_by = bufpool_cache_short(pool, class, count, pool->nr_cached);
	return min(short_by, bufpool_room_locked(pool));
}

/*
 * Before a new request is looked at: create the buffers the cache lacks
 * to serve it at once, with the pool lock dropped and without sleeping
 * (GFP_NOWAIT: on failure none is kept, the request waits and the backend
 * retries with a sleeping allocation).  With BUFPOOL_ALLOC_MAY_SLEEP the
 * CPU is yielded between two buffers, so one step is one buffer's
 * allocation and zeroing.  Called with the pool lock held, which it drops
 * and takes again if it grows; returns the number of buffers it added to
 * the cache, for bufpool_grow_direct_end().
 */
static unsigned int bufpool_grow_direct(struct bufpool_entity *e,
					unsigned int class, unsigned int count,
					unsigned int flags)
	__must_hold(&e->pool->lock)
{
	struct bufpool *pool = e->pool;
	struct bufpool_buf *buf, *tmp;
	unsigned int i, need, grown = 0;
	LIST_HEAD(fresh);

	lockdep_assert_held(&pool->lock);
	need = bufpool_direct_need_locked(e, class, count);
	if (!need)
		return 0;
	pool->nr_growing += need;
	spin_unlock(&pool->lock);

	for (i = 0; i < need; i++) {
		if (i && (flags & BUFPOOL_ALLOC_MAY_SLEEP))
			cond_resched();
		buf = bufpool_mem_create_nowait(pool->mem,
						flags & BUFPOOL_ALLOC_MAY_SLEEP);
		if (!buf)
			break;
		list_add_tail(&buf->node, &fresh);
	}

	spin_lock(&pool->lock);
	if (i < need) {
		pool->page_alloc_failures++;
		bufpool_mem_retry_later(pool->mem);
	}
	list_for_each_entry_safe(buf, tmp, &fresh, node) {
		list_del_init(&buf->node);
		if (i < need) {
			/* under the lock: its id is visible to lookups */
			bufpool_mem_destroy(pool->mem, buf);
			continue;
		}
		grown += bufpool_adopt_locked(pool, buf);
	}
	if (i < need)
		pool->nr_growing -= need;
	return grown;
}

/*
 * After the request: what is left over of the buffers grown for it goes to
 * the queues first.  While the lock was dropped another request may have
 * queued for them, finding no room to grow (the room was this call's);
 * if this call then queued behind it or failed, nobody else would serve
 * that waiter.  A failed or queued call keeps none of what it grew: the
 * buffers the queues did not take leave the cache again (any of them:
 * cached buffers are all alike).
 */
static void bufpool_grow_direct_end(struct bufpool *pool, unsigned int grown,
				    int ret)
{
	struct bufpool_buf *buf;
	unsigned int before;

	lockdep_assert_held(&pool->lock);
	if (!grown)
		return;
	before = pool->nr_cached;
	bufpool_grant_locked(pool);
	if (!ret)
		return;
	/* the grants only ever take from the cache */
	grown -= min(grown, before - min(before, pool->nr_cached));
	while (grown-- && pool->nr_cached) {
		buf = list_last_entry(&pool->cache, struct bufpool_buf, node);
		list_del(&buf->node);
		bufpool_mem_destroy(pool->mem, buf);
		pool->nr_cached--;
		pool->nr_alloc--;
	}
}

static bool bufpool_bad_alloc_args(unsigned int class, unsigned int count,
				   unsigned int flags)
{
	return class >= BUFPOOL_NR_CLASSES || !count ||
	       count > BUFPOOL_ALLOC_MAX ||
	       (flags & ~(BUFPOOL_ALLOC_FLAGS | BUFPOOL_ALLOC_MAY_SLEEP |
			  BUFPOOL_ALLOC_COLLECT));
}

/*
 * The ids of the buffers just given to their holder, and the number of
 * that grant, read before anyone else can release them.
 */
static void bufpool_report_ids_locked(struct bufpool *pool,
				      struct bufpool_buf **bufs,
				      unsigned int count, u32 *ids)
{
	unsigned int i;

	lockdep_assert_held(&pool->lock);
	for (i = 0; i < count; i++)
		ids[i] = bufs[i]->id;
}

/*
 * bufpool_alloc_until() under the pool lock (dropped meanwhile to grow
 * the cache), its arguments checked.
 */
static int bufpool_alloc_until_locked(struct bufpool_entity *e,
				      unsigned int class, unsigned int count,
				      unsigned int flags, u64 deadline,
				      struct bufpool_buf **bufs, u64 *grant,
				      struct bufpool_ticket *t)
{
	struct bufpool *pool = e->pool;
	struct bufpool_waiter *w = &e->waiter;
	unsigned int grown;
	bool same;
	int ret;

	lockdep_assert_held(&pool->lock);
	/*
	 * Exact counts before the budget and the cache are looked at, unless
	 * the magazines may go on serving: within LOW's budget, a cache that
	 * the pool's room can fill up to the reserve and @count is grown
	 * (the take then keeps the reserve cached and drains nothing), after
	 * what idle slots keep is back in the cache.
	 */
	if (pool->fast) {
		if (bufpool_cache_short(pool, class, count, pool->nr_cached))
			bufpool_unpark_slots_locked(pool);
		/* again: the unpark filled the cache */
		if (!bufpool_budget_ok(pool, BUFPOOL_CLASS_LOW, count) ||
		    bufpool_cache_short(pool, class, count, pool->nr_cached) >
		    bufpool_room_locked(pool))
			bufpool_drain_locked(pool);
	}
	grown = bufpool_grow_direct(e, class, count, flags);
	same = w->class == class && w->count == count;
	switch (w->state) {
	case BUFPOOL_WAIT_GRANTED:
		if (!same) {
			ret = -EBUSY;
			break;
		}
		bufpool_trace_collect(w);
		*grant = bufpool_hold_locked(e, &w->granted, count, class,
					     bufs);
		WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
		ret = 0;
		break;
	case BUFPOOL_WAIT_QUEUED:
		if (!same) {
			ret = -EBUSY;
			break;
		}
		if (bufpool_deadline_passed(w->deadline, ktime_get_ns())) {
			bufpool_time_out_locked(pool, w, BUFPOOL_WAIT_IDLE);
			ret = -ETIMEDOUT;
			break;
		}
		if (w->deadline == BUFPOOL_NO_DEADLINE)
			w->deadline = deadline;
		ret = -EAGAIN;
		break;
	case BUFPOOL_WAIT_FAILED:
		/* only the request that failed collects its failure */
		if (w->class != class || w->count != count) {
			ret = -EBUSY;
			break;
		}
		WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
		ret = w->error;
		break;
	case BUFPOOL_WAIT_EXPIRED:
		/* like a failure: only the same request collects it */
		if (!same) {
			ret = -EBUSY;
			break;
		}
		WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
		ret = -ETIMEDOUT;
		break;
	case BUFPOOL_WAIT_OFFERED:
		/* trying again: the same request keeps its deadline */
		if (same && w->deadline != BUFPOOL_NO_DEADLINE)
			deadline = w->deadline;
		/* and whether ->notify() collects it */
		if (same)
			flags = (flags & ~BUFPOOL_ALLOC_COLLECT) |
				(w->collect ? BUFPOOL_ALLOC_COLLECT : 0);
		bufpool_unoffer_locked(pool, w);
		ret = bufpool_request_locked(e, class, count, flags, deadline,
					     bufs, grant);
		if (ret)
			pool->spurious++;
		/*
		 * Its own deadline passed: withdrawn at the deadline, as
		 * bufpool_time_out_locked() does it, so that the other
		 * sleepers on it (woken by the offer) learn it too.
		 */
		if (ret == -ETIMEDOUT && same) {
			w->timed_out = w->seq;
			bufpool_queue_wake_locked(pool, w);
		}
		/*
		 * Refused (the reserve, its own side, the quota, the limit) or
		 * not waiting (NOQUEUE): what it was offered goes on to the
		 * next waiters.
		 */
		if (ret && w->state != BUFPOOL_WAIT_QUEUED)
			bufpool_grant_locked(pool);
		break;
	default:
		ret = bufpool_request_locked(e, class, count, flags, deadline,
					     bufs, grant);
		break;
	}
	bufpool_grow_direct_end(pool, grown, ret);
	if (t && ret == -EAGAIN && w->state == BUFPOOL_WAIT_QUEUED) {
		t->seq = w->seq;
		t->deadline = w->deadline;
	}
	return ret;
}

/* bufpool_alloc_report() once this CPU's magazine could not serve. */
static noinline int bufpool_alloc_locked(struct bufpool_entity *e,
					 unsigned int class, unsigned int count,
					 unsigned int flags, u64 deadline,
					 struct bufpool_buf **bufs, u32 *ids,
					 u64 *grant, struct bufpool_ticket *t)
{
	struct bufpool *pool = e->pool;
	u64 g;
	int ret;

	spin_lock(&pool->lock);
	/* a refill, or the magazines already serving: served by this CPU's */
	if (bufpool_refill_locked(pool, count) || pool->fast) {
		/* its next release may stay with it */
		bufpool_slot_join_locked(e);
		if (!bufpool_alloc_fast(e, class, count, bufs, ids, grant,
					true)) {
			ret = 0;
			goto unlock;
		}
	}
	ret = bufpool_alloc_until_locked(e, class, count, flags, deadline,
					 bufs, &g, t);
	if (!ret && ids) {
		bufpool_report_ids_locked(pool, bufs, count, ids);
		*grant = g;
	}
unlock:
	bufpool_unlock(pool);
	return ret;
}

/*
 * bufpool_alloc_until(), and the ids and grant number if @ids is set.
 * Inline in both: the magazine's attempt is the whole of a call while
 * buffers are plentiful.
 */
static __always_inline int bufpool_alloc_report(struct bufpool_entity *e,
						unsigned int class,
						unsigned int count,
						unsigned int flags, u64 deadline,
						struct bufpool_buf **bufs,
						u32 *ids, u64 *grant,
						struct bufpool_ticket *t)
{
	if (bufpool_bad_alloc_args(class, count, flags))
		return -EINVAL;
	/* a hint, read again under the magazine's lock: see the top comment */
	if (READ_ONCE(e->pool->fast) &&
	    !bufpool_alloc_fast(e, class, count, bufs, ids, grant, false))
		return 0;
	return bufpool_alloc_locked(e, class, count, flags, deadline, bufs,
				    ids, grant, t);
}

/**
 * bufpool_alloc_until() - get @count buffers of @class for @e, all or none
 * @e: the entity
 * @class: enum bufpool_class
 * @count: 1..BUFPOOL_ALLOC_MAX
 * @flags: BUFPOOL_ALLOC_*
 * @deadline: when a request this call queues is withdrawn (ns of
 *	CLOCK_MONOTONIC), or BUFPOOL_NO_DEADLINE
 * @bufs: filled with @count buffers on success
 * @t: if not NULL, describes the request when it is left queued
 *
 * If the buffers cannot be had now the request is queued and the entity's
 * waiter is woken once they are granted; calling again with the same
 * @class and @count then collects them, or finds the request still queued
 * (in its place: a queued request keeps the deadline it was queued with,
 * and one queued without a deadline takes @deadline).  An entity has at
 * most one request: a different one while it is queued, granted or failed
 * is refused.  A queued request that a tunable change (or, at the head of
 * its queue, its side's growing holdings) makes hopeless fails: the waiter
 * is woken and the call with the same @class and @count collects the
 * error.  One whose deadline passed is withdrawn, and the next call with
 * the same @class and @count returns -ETIMEDOUT.  With BUFPOOL_ALLOC_COLLECT
 * a request this call queues is collected by the waiter's ->notify() when
 * it is granted; a call that finds a request pending (refused, or finding
 * its own: queued, granted, failed, expired or offered) leaves that request
 * as it was queued, whatever its own flag.
 *
 * Return: 0 with @bufs filled; -EAGAIN if queued (or, with
 * BUFPOOL_ALLOC_NOQUEUE, not served and not queued); -EBUSY if a different
 * request is pending; -EPERM for CRITICAL buffers @e may not take (see
 * bufpool_may_use_reserve()); -ENOSPC if the request can never be served
 * under the current limit; -EDEADLK if only @e's own side giving buffers
 * back could make room for it; -EDQUOT if it would take @e's account above
 * the quota; -ETIMEDOUT if its deadline has passed; -EINVAL for a bad
 * class, count or flag.
 *
 * Does not sleep, unless @flags has BUFPOOL_ALLOC_MAY_SLEEP: then it may
 * yield the CPU between the buffers it has to allocate.
 */
int bufpool_alloc_until(struct bufpool_entity *e, unsigned int class,
			unsigned int count, unsigned int flags, u64 deadline,
			struct bufpool_buf **bufs, struct bufpool_ticket *t)
{
	return bufpool_alloc_report(e, class, count, flags, deadline, bufs,
				    NULL, NULL, t);
}
EXPORT_SYMBOL_GPL(bufpool_alloc_until);

/**
 * bufpool_alloc_until_ids() - bufpool_alloc_until(), reporting ids
 * @e: the entity
 * @class: enum bufpool_class
 * @count: 1..BUFPOOL_ALLOC_MAX
 * @flags: BUFPOOL_ALLOC_*
 * @deadline: as bufpool_alloc_until()
 * @ids: filled with the @count buffer ids on success
 * @grant: set on success to the number of this grant, for
 *	bufpool_undo_detach()
 * @t: as bufpool_alloc_until()
 *
 * For callers that share @e with other threads, which may release the
 * buffers as soon as the pool lock is dropped: the ids are read under it.
 *
 * Return: as bufpool_alloc_until().
 */
int bufpool_alloc_until_ids(struct bufpool_entity *e, unsigned int class,
			    unsigned int count, unsigned int flags,
			    u64 deadline, u32 *ids, u64 *grant,
			    struct bufpool_ticket *t)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX] __uninitialized;

	return bufpool_alloc_report(e, class, count, flags, deadline, bufs,
				    ids, grant, t);
}
EXPORT_SYMBOL_GPL(bufpool_alloc_until_ids);

/**
 * bufpool_alloc() - get @count buffers of @class for @e, all or none
 * @e: the entity
 * @class: enum bufpool_class
 * @count: 1..BUFPOOL_ALLOC_MAX
 * @flags: BUFPOOL_ALLOC_*
 * @bufs: filled with @count buffers on success
 *
 * bufpool_alloc_until() for a request without a deadline.
 *
 * Return: as bufpool_alloc_until().
 */
int bufpool_alloc(struct bufpool_entity *e, unsigned int class,
		  unsigned int count, unsigned int flags,
		  struct bufpool_buf **bufs)
{
	return bufpool_alloc_until(e, class, count, flags, BUFPOOL_NO_DEADLINE,
				   bufs, NULL);
}
EXPORT_SYMBOL_GPL(bufpool_alloc);

/**
 * bufpool_waiting() - is @t's request still queued?
 * @e: the entity
 * @t: the request, as bufpool_alloc_until() left it queued
 *
 * Lockless, for a sleeper's wake-up condition: false once the request has
 * been granted, has failed, expired or been offered, collected or
 * withdrawn by another caller, or replaced by a newer request.  Pairs with
 * the changes of state, which are all followed by ->wake() (a withdrawal
 * at the deadline too, whoever makes it) or made by a caller that wakes
 * the other sleepers itself (bufpool_cancel()'s).
 *
 * Return: true while @t's request waits in its class queue.
 */
bool bufpool_waiting(const struct bufpool_entity *e,
		     const struct bufpool_ticket *t)
{
	return READ_ONCE(e->waiter.state) == BUFPOOL_WAIT_QUEUED &&
	       READ_ONCE(e->waiter.seq) == t->seq;
}
EXPORT_SYMBOL_GPL(bufpool_waiting);

/*
 * How @t's request ended, for a sleeper that finds it is no longer the
 * entity's pending one: timed out or cancelled, which every sleeper on it
 * learns; else collected by another caller, and @again.  A request that
 * timed out and whose expiry a cancel then cleared ended at its deadline.
 */
static int bufpool_ended_locked(const struct bufpool_waiter *w,
				const struct bufpool_ticket *t, int again)
{
	if (w->timed_out == t->seq)
		return -ETIMEDOUT;
	if (w->cancelled == t->seq)
		return -ECANCELED;
	return again;
}

/* bufpool_wait_done() under the pool lock. */
static int bufpool_wait_done_locked(struct bufpool_entity *e,
				    const struct bufpool_ticket *t, int why,
				    struct bufpool_buf **bufs, u64 *grant)
{
	struct bufpool *pool = e->pool;
	struct bufpool_waiter *w = &e->waiter;
	int again = why && why != -ETIMEDOUT ? why : -EAGAIN;
	int ret;

	lockdep_assert_held(&pool->lock);
	if (w->seq != t->seq) {
		ret = bufpool_ended_locked(w, t, again);
		goto unlock;
	}
	switch (w->state) {
	case BUFPOOL_WAIT_GRANTED:
		bufpool_trace_collect(w);
		*grant = bufpool_hold_locked(e, &w->granted, w->count,
					     w->class, bufs);
		WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
		ret = 0;
		break;
	case BUFPOOL_WAIT_FAILED:
		WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
		ret = w->error;
		break;
	case BUFPOOL_WAIT_EXPIRED:
		WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
		ret = -ETIMEDOUT;
		break;
	case BUFPOOL_WAIT_QUEUED:
		if (bufpool_deadline_passed(w->deadline, ktime_get_ns())) {
			bufpool_time_out_locked(pool, w, BUFPOOL_WAIT_IDLE);
			ret = -ETIMEDOUT;
		} else {
			ret = again;
		}
		break;
	case BUFPOOL_WAIT_OFFERED:
		ret = again;
		break;
	default:
		/* collected, cancelled or timed out by another caller */
		ret = bufpool_ended_locked(w, t, again);
		break;
	}
unlock:
	return ret;
}

/**
 * bufpool_wait_done() - a sleeper on @t's request woke up: what now?
 * @e: the entity
 * @t: the request it slept on
 * @why: 0 (woken), -ETIMEDOUT (the deadline came) or the errno of the
 *	signal that interrupted the sleep (-ERESTARTSYS, ...)
 * @bufs: filled with the buffers when they are collected
 *
 * A grant is collected whatever @why says: a grant that raced with a
 * signal or the deadline is the caller's, never given away.  A request
 * still queued after its deadline is withdrawn.  The request's deadline
 * is that of every sleeper on it, whatever @t->deadline says (a sleeper
 * that joined it before it had one): once it passed, each of them gets
 * -ETIMEDOUT, whichever one found it so.  On a signal a request still
 * queued stays queued, in its place and with its deadline: calling
 * bufpool_alloc_until() again with the same class and count finds it.
 *
 * Return: 0 with @bufs filled; the error of a failed request (-ENOSPC,
 * -EDEADLK), -ETIMEDOUT (deadline
 * passed, withdrawn: by this caller, another or bufpool_expire()),
 * -ECANCELED (withdrawn by bufpool_cancel()), @why if
 * it is a signal's errno and the request is not over; -EAGAIN when the
 * caller should call bufpool_alloc_until() again: the request is still
 * queued or offered, or was collected by another caller.
 */
int bufpool_wait_done(struct bufpool_entity *e, const struct bufpool_ticket *t,
		      int why, struct bufpool_buf **bufs)
{
	u64 grant;
	int ret;

	spin_lock(&e->pool->lock);
	ret = bufpool_wait_done_locked(e, t, why, bufs, &grant);
	bufpool_unlock(e->pool);
	return ret;
}
EXPORT_SYMBOL_GPL(bufpool_wait_done);

/**
 * bufpool_wait_done_ids() - bufpool_wait_done(), reporting ids
 * @e: the entity
 * @t: the request it slept on
 * @why: as bufpool_wait_done()
 * @ids: filled with the buffer ids when they are collected
 * @grant: set then to the number of the grant, for bufpool_undo_detach()
 *
 * The ids are read under the pool lock, as bufpool_alloc_until_ids() does.
 *
 * Return: as bufpool_wait_done().
 */
int bufpool_wait_done_ids(struct bufpool_entity *e,
			  const struct bufpool_ticket *t, int why, u32 *ids,
			  u64 *grant)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX] __uninitialized;
	unsigned int count;
	int ret;

	spin_lock(&e->pool->lock);
	count = e->waiter.count;
	ret = bufpool_wait_done_locked(e, t, why, bufs, grant);
	if (!ret)
		bufpool_report_ids_locked(e->pool, bufs, count, ids);
	bufpool_unlock(e->pool);
	return ret;
}
EXPORT_SYMBOL_GPL(bufpool_wait_done_ids);

/**
 * bufpool_collect_granted_locked() - collect @e's grant as it is made
 * @e: the entity whose waiter is being woken
 * @ids: filled with the ids of the buffers (BUFPOOL_ALLOC_MAX at most)
 * @grant: set to the number of the grant, for bufpool_undo_detach()
 *
 * Only from @e's ->notify(), with the pool lock held: the one call back
 * into the pool that ->notify() may make.  If @e's request is granted and
 * was queued with BUFPOOL_ALLOC_COLLECT, it is collected as the call with
 * the same class and count would: @e holds the buffers and has no request
 * any more.  Any other grant is left for that call, which reports its ids.
 *
 * Return: the number of buffers collected, 0 if the request is not granted
 * or not queued for this.
 */
unsigned int bufpool_collect_granted_locked(struct bufpool_entity *e,
					    u32 *ids, u64 *grant)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX] __uninitialized;
	struct bufpool_waiter *w = &e->waiter;
	unsigned int count = w->count;

	lockdep_assert_held(&e->pool->lock);
	if (w->state != BUFPOOL_WAIT_GRANTED || !w->collect)
		return 0;
	bufpool_trace_collect(w);
	*grant = bufpool_hold_locked(e, &w->granted, count, w->class, bufs);
	WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
	bufpool_report_ids_locked(e->pool, bufs, count, ids);
	return count;
}
EXPORT_SYMBOL_GPL(bufpool_collect_granted_locked);

/**
 * bufpool_expire() - withdraw @e's request if its deadline has passed
 * @e: the entity
 *
 * For requests nobody sleeps on (the sleeper was interrupted): a queued
 * request past its deadline leaves its queue, its waiter is woken, and
 * the next bufpool_alloc_until() with the same class and count returns
 * -ETIMEDOUT, as bufpool_wait_done() does for every sleeper still on it
 * (one whose own ticket has no deadline, say).  A grant is left to be
 * collected.  Does not sleep.
 *
 * Return: 0, or the ns left before the deadline of a queued request.
 */
u64 bufpool_expire(struct bufpool_entity *e)
{
	struct bufpool *pool = e->pool;
	struct bufpool_waiter *w = &e->waiter;
	u64 now = ktime_get_ns(), left = 0;

	spin_lock(&pool->lock);
	if (w->state == BUFPOOL_WAIT_QUEUED &&
	    w->deadline != BUFPOOL_NO_DEADLINE) {
		if (now < w->deadline)
			left = w->deadline - now;
		else
			bufpool_time_out_locked(pool, w, BUFPOOL_WAIT_EXPIRED);
	}
	bufpool_unlock(pool);
	return left;
}
EXPORT_SYMBOL_GPL(bufpool_expire);

/**
 * bufpool_ready() - is @e's queued request granted, failed or offered?
 * @e: the entity
 *
 * Lockless; for wait_event() and poll().  Pairs with the grant, which
 * publishes the state before calling ->wake().
 *
 * Return: true if bufpool_alloc() with the same class and count would now
 * return without queueing.
 */
bool bufpool_ready(const struct bufpool_entity *e)
{
	unsigned int state = READ_ONCE(e->waiter.state);

	return state == BUFPOOL_WAIT_GRANTED || state == BUFPOOL_WAIT_FAILED ||
	       state == BUFPOOL_WAIT_OFFERED || state == BUFPOOL_WAIT_EXPIRED;
}
EXPORT_SYMBOL_GPL(bufpool_ready);

/**
 * bufpool_queued() - is @e's request still in a queue?
 * @e: the entity
 *
 * Lockless, like bufpool_ready().  A sleeper sharing @e with others waits
 * for this to turn false: its request may have been granted, failed,
 * collected or cancelled by another thread of the same entity.
 *
 * Return: true while the request waits in its class queue.
 */
bool bufpool_queued(const struct bufpool_entity *e)
{
	return READ_ONCE(e->waiter.state) == BUFPOOL_WAIT_QUEUED;
}
EXPORT_SYMBOL_GPL(bufpool_queued);

/* Withdraw @w's request, giving back a grant it has not collected. */
static bool bufpool_withdraw_locked(struct bufpool *pool,
				    struct bufpool_waiter *w)
{
	lockdep_assert_held(&pool->lock);
	if (w->state == BUFPOOL_WAIT_QUEUED || w->state == BUFPOOL_WAIT_GRANTED)
		trace_bufpool_cancel(waiter_entity(w)->id, w->class, w->count,
				     ktime_get_ns() - w->queued_at);
	switch (w->state) {
	case BUFPOOL_WAIT_QUEUED:
		bufpool_dequeue_locked(pool, w);
		bufpool_unaccount_locked(waiter_entity(w), w->count);
		return true;
	case BUFPOOL_WAIT_GRANTED:
		bufpool_uncharge_locked(pool, &w->granted, w->count);
		bufpool_unaccount_locked(waiter_entity(w), w->count);
		WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
		return true;
	case BUFPOOL_WAIT_FAILED:
	case BUFPOOL_WAIT_EXPIRED:
		WRITE_ONCE(w->state, BUFPOOL_WAIT_IDLE);
		return true;
	case BUFPOOL_WAIT_OFFERED:
		bufpool_unoffer_locked(pool, w);
		return true;
	default:
		return false;
	}
}

/**
 * bufpool_cancel() - withdraw @e's request
 * @e: the entity
 *
 * A queued request leaves its queue; buffers granted but not collected go
 * back to the pool.  Either way the next waiters are served at once.  A
 * sleeper on the request (see bufpool_wait_done()) then learns that it
 * was cancelled: the caller wakes it.
 *
 * Return: 0, or -ENOENT if @e had no request.
 */
int bufpool_cancel(struct bufpool_entity *e)
{
	struct bufpool *pool = e->pool;
	bool withdrawn;

	spin_lock(&pool->lock);
	withdrawn = bufpool_withdraw_locked(pool, &e->waiter);
	if (withdrawn) {
		e->waiter.cancelled = e->waiter.seq;
		bufpool_grant_locked(pool);
	}
	bufpool_unlock(pool);
	return withdrawn ? 0 : -ENOENT;
}
EXPORT_SYMBOL_GPL(bufpool_cancel);

static bool bufpool_any_dirty(struct list_head *bufs)
{
	struct bufpool_buf *buf;

	list_for_each_entry(buf, bufs, node)
		if (READ_ONCE(buf->dirty))
			return true;
	return false;
}

static bool bufpool_any_busy(struct bufpool *pool, struct list_head *bufs)
{
	struct bufpool_buf *buf;

	list_for_each_entry(buf, bufs, node)
		if (bufpool_mem_busy(pool->mem, buf))
			return true;
	return false;
}

/*
 * Buffers whose memory is still referenced elsewhere go to the backend's
 * quarantine: still in use and owned, never zeroed nor granted until the
 * backend gives them back with bufpool_quarantine_done().
 */
static void bufpool_quarantine_locked(struct bufpool *pool,
				      struct list_head *bufs)
{
	struct bufpool_buf *buf, *tmp;

	lockdep_assert_held(&pool->lock);
	list_for_each_entry_safe(buf, tmp, bufs, node) {
		list_del_init(&buf->node);
		buf->state = BUFPOOL_BUF_QUARANTINED;
		/* whoever referenced it may have written it */
		buf->dirty = true;
		/* still charged: the fd and its process may go first */
		if (buf->account && buf->account->get)
			buf->account->get(buf->account);
		pool->nr_quarantined++;
		bufpool_mem_quarantine(pool->mem, buf);
	}
}

/*
 * Second half of giving buffers back: those whose memory someone else
 * still references are quarantined; zero those of the others that may
 * hold data outside the lock (they are still charged to in_use, so the
 * budget cannot be exceeded meanwhile), yielding the CPU between two, then
 * cache them and serve the queues.
 */
static bool bufpool_return_fast(struct bufpool *pool, struct list_head *bufs,
				unsigned int count);

static void bufpool_return(struct bufpool *pool, struct list_head *bufs,
			   unsigned int count)
{
	struct bufpool_buf *buf, *tmp;
	unsigned int nr_busy = 0;
	LIST_HEAD(busy);

	list_for_each_entry_safe(buf, tmp, bufs, node) {
		if (bufpool_mem_busy(pool->mem, buf)) {
			list_move_tail(&buf->node, &busy);
			nr_busy++;
			continue;
		}
		if (!READ_ONCE(buf->dirty))
			continue;
		cond_resched();
		bufpool_mem_zero(pool->mem, buf);
		buf->dirty = false;
	}

	if (!nr_busy && bufpool_return_fast(pool, bufs, count))
		return;
	spin_lock(&pool->lock);
	bufpool_quarantine_locked(pool, &busy);
	bufpool_uncharge_locked(pool, bufs, count - nr_busy);
	bufpool_grant_locked(pool);
	bufpool_unlock(pool);
}

/**
 * bufpool_quarantine_done() - a quarantined buffer comes back
 * @pool: the pool
 * @buf: a buffer bufpool_mem_quarantine() was given, whose memory nobody
 *	but the backend references any more
 *
 * For the backend: zeroes it, caches it and serves the queues, as a
 * release does.  May sleep.
 */
void bufpool_quarantine_done(struct bufpool *pool, struct bufpool_buf *buf)
{
	struct bufpool_account *account = buf->account;
	LIST_HEAD(back);

	bufpool_mem_zero(pool->mem, buf);
	buf->dirty = false;
	list_add_tail(&buf->node, &back);

	spin_lock(&pool->lock);
	pool->nr_quarantined--;
	bufpool_uncharge_locked(pool, &back, 1);
	bufpool_grant_locked(pool);
	bufpool_unlock(pool);
	if (account && account->put)
		account->put(account);
}

/**
 * bufpool_quarantine_drop() - a quarantined buffer leaves the pool for good
 * @pool: the pool
 * @buf: a buffer bufpool_mem_quarantine() was given that must never be
 *	used again (a page of it is poisoned)
 *
 * For the backend: the pool owns one buffer less (its limit is unchanged:
 * a new buffer may be created in its place), @buf is destroyed, never
 * zeroed nor granted, and its account is uncharged.  May sleep.
 */
void bufpool_quarantine_drop(struct bufpool *pool, struct bufpool_buf *buf)
{
	struct bufpool_account *account = buf->account;

	spin_lock(&pool->lock);
	pool->nr_quarantined--;
	bufpool_buf_unaccount_locked(pool, buf);
	pool->in_use--;
	pool->nr_alloc--;
	bufpool_mem_destroy(pool->mem, buf);
	bufpool_grant_locked(pool);
	bufpool_unlock(pool);
	if (account && account->put)
		account->put(account);
}

/* @buf leaves @e, RETURNING; the caller moves it off @e's held list. */
static __always_inline void bufpool_unhold_locked(struct bufpool_entity *e,
						  struct bufpool_buf *buf)
{
	lockdep_assert_held(&e->lock);
	WRITE_ONCE(buf->state, BUFPOOL_BUF_RETURNING);
	WRITE_ONCE(buf->owner, NULL);
	buf->marked = false;
	if (buf->critical) {
		buf->critical = false;
		WRITE_ONCE(e->nr_critical, e->nr_critical - 1);
	}
	WRITE_ONCE(e->nr_held, e->nr_held - 1);
	/* charged to the account until it is back (or out of quarantine) */
	buf->account = e->account;
}

static void bufpool_detach_locked(struct bufpool_entity *e,
				  struct bufpool_buf *buf,
				  struct list_head *out)
{
	bufpool_unhold_locked(e, buf);
	list_move_tail(&buf->node, out);
}

/*
 * Check that @e holds every id once, and set @bufs to the buffers; mark
 * them.  Undo the marks on error.  Another entity's buffer may change
 * state under its own lock meanwhile: whatever is read of it, it is not
 * @e's, and a buffer that is @e's cannot change under @e's lock.
 */
static int bufpool_check_ids_locked(struct bufpool_entity *e, const u32 *ids,
				    unsigned int count,
				    struct bufpool_buf **bufs)
{
	struct bufpool_buf *buf;
	unsigned int i;
	int ret = 0;

	lockdep_assert_held(&e->pool->lock);
	lockdep_assert_held(&e->lock);
	for (i = 0; i < count; i++) {
		buf = bufpool_mem_lookup(e->pool->mem, ids[i]);
		/* granted but not collected counts as held by nobody */
		if (!buf || READ_ONCE(buf->state) != BUFPOOL_BUF_HELD) {
			ret = -ENOENT;
			break;
		}
		if (READ_ONCE(buf->owner) != e) {
			ret = -EPERM;
			break;
		}
		if (buf->marked) {
			ret = -EINVAL;
			break;
		}
		buf->marked = true;
		bufs[i] = buf;
	}
	if (!ret)
		return 0;

	/* bufs[0..i) were all found, held by @e and marked exactly once */
	while (i--)
		bufs[i]->marked = false;
	return ret;
}

/* Detach @bufs, checked by bufpool_check_ids_locked(). */
static void bufpool_detach_bufs_locked(struct bufpool_entity *e,
				       struct bufpool_buf **bufs,
				       unsigned int count,
				       struct list_head *out)
{
	struct bufpool *pool = e->pool;
	unsigned int i;

	lockdep_assert_held(&pool->lock);
	for (i = 0; i < count; i++)
		bufpool_detach_locked(e, bufs[i], out);
	trace_bufpool_release(e->id, count, pool->in_use - count);
}

/*
 * @buf, free and zeroed, goes to a fast stack (a magazine or a slot): no
 * longer charged to an account, CACHED.
 */
static __always_inline void bufpool_fast_cached(struct bufpool_buf *buf)
{
	if (buf->account) {
		atomic_dec(&buf->account->charged);
		buf->account = NULL;
	}
	WRITE_ONCE(buf->state, BUFPOOL_BUF_CACHED);
}

/*
 * @e's buffers @bufs, checked and with nothing to zero, straight back
 * into this CPU's magazine: 1 if the magazines are off (nothing changed),
 * 0 if done; what the magazine cannot keep is on @extra, for
 * bufpool_flush(), and its number in *@excess.
 */
static __always_inline int bufpool_mag_put(struct bufpool_entity *e,
					   struct bufpool_buf **bufs,
					   unsigned int count,
					   struct list_head *extra,
					   unsigned int *excess)
{
	struct bufpool *pool = e->pool;
	struct bufpool_buf *buf;
	struct bufpool_pcpu *m;
	unsigned int i;
	int ret = 1;

	lockdep_assert_held(&e->lock);
	m = raw_cpu_ptr(pool->pcpu);
	spin_lock(&m->lock);
	if (!READ_ONCE(pool->fast))
		goto unlock;
	for (i = 0; i < count; i++) {
		buf = bufs[i];
		bufpool_unhold_locked(e, buf);
		list_del(&buf->node);
		bufpool_fast_cached(buf);
		*excess += bufpool_mag_push(m, buf, extra);
	}
	m->releases += count;
	ret = 0;
unlock:
	spin_unlock(&m->lock);
	return ret;
}

/*
 * @e's buffers @bufs, checked and with nothing to zero, into @e's slot,
 * if it is slotted and they all fit: false if not (nothing changed).
 */
static __always_inline bool bufpool_slot_put(struct bufpool_entity *e,
					     struct bufpool_buf **bufs,
					     unsigned int count)
{
	struct bufpool_buf *buf;
	unsigned int i;

	lockdep_assert_held(&e->lock);
	if (!e->slotted || !READ_ONCE(e->pool->fast) ||
	    e->nr_slot + count > BUFPOOL_SLOT_MAX)
		return false;
	for (i = 0; i < count; i++) {
		buf = bufs[i];
		bufpool_unhold_locked(e, buf);
		list_del(&buf->node);
		bufpool_fast_cached(buf);
		e->slot[e->nr_slot++] = buf;
	}
	e->slot_releases += count;
	return true;
}

/*
 * A release without the pool lock: 1 if it must take the locked path
 * (nothing changed: @e's held list is too long to look the ids up in, an
 * id is not @e's or is listed twice, or the buffers would go back at once
 * but the magazines are off).  Otherwise 0: the buffers left @e.  If
 * @direct and none has anything to zero nor is busy, they are back in
 * @e's slot or this CPU's magazine and *@nr_out is 0; else they are on
 * @out, RETURNING (still in in_use and charged to the account, which is
 * all a detach changes of the pool: the entity's lock is enough for it),
 * and *@nr_out is @count.
 */
static __always_inline int bufpool_release_fast(struct bufpool_entity *e,
						const u32 *ids,
						unsigned int count,
						bool direct, bool revocable,
						struct list_head *out,
						unsigned int *nr_out)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX] __uninitialized;
	struct bufpool *pool = e->pool;
	unsigned int i, j, excess = 0;
	struct bufpool_buf *buf;
	LIST_HEAD(extra);
	bool mags;
	int ret = 1;

	*nr_out = 0;
	/* a hint, read again under the magazine's lock: see the top comment */
	mags = READ_ONCE(pool->fast);
	spin_lock(&e->lock);
	if (e->nr_held > BUFPOOL_FAST_HELD_MAX)
		goto unlock_entity;
	/*
	 * Read under the entity lock, which bufpool_held_buf() takes: a
	 * mapping made after the owner set @shared is revoked.
	 */
	if (direct && revocable && READ_ONCE(e->shared))
		direct = false;
	for (i = 0; i < count; i++) {
		bufs[i] = NULL;
		list_for_each_entry(buf, &e->held, node) {
			if (buf->id == ids[i]) {
				bufs[i] = buf;
				break;
			}
		}
		if (!bufs[i])
			goto unlock_entity;
		for (j = 0; j < i; j++)
			if (bufs[j] == bufs[i])
				goto unlock_entity;
		if (direct && (READ_ONCE(bufs[i]->dirty) ||
			       bufpool_mem_busy(pool->mem, bufs[i])))
			direct = false;
	}
	if (direct) {
		/* the locked path gives them back in one section */
		if (!mags)
			goto unlock_entity;
		if (bufpool_slot_put(e, bufs, count))
			ret = 0;
		else
			ret = bufpool_mag_put(e, bufs, count, &extra, &excess);
	} else {
		for (i = 0; i < count; i++)
			bufpool_detach_locked(e, bufs[i], out);
		*nr_out = count;
		ret = 0;
	}
	/* in_use without the pool lock: a hint, counting the magazines */
	if (!ret && trace_bufpool_release_enabled())
		trace_bufpool_release(e->id, count,
				      READ_ONCE(pool->in_use) - count);
unlock_entity:
	spin_unlock(&e->lock);
	if (excess)
		bufpool_flush(pool, &extra, excess);
	return ret;
}

/*
 * Zeroed buffers coming back (RETURNING, none busy) go to this CPU's
 * magazine if the magazines serve; false if they do not.
 */
static bool bufpool_return_fast(struct bufpool *pool, struct list_head *bufs,
				unsigned int count)
{
	struct bufpool_buf *buf, *tmp;
	unsigned int excess = 0;
	struct bufpool_pcpu *m;
	LIST_HEAD(extra);

	/* a hint, read again under the magazine's lock */
	if (!READ_ONCE(pool->fast))
		return false;
	m = raw_cpu_ptr(pool->pcpu);
	spin_lock(&m->lock);
	if (!READ_ONCE(pool->fast)) {
		spin_unlock(&m->lock);
		return false;
	}
	list_for_each_entry_safe(buf, tmp, bufs, node) {
		bufpool_fast_cached(buf);
		excess += bufpool_mag_push(m, buf, &extra);
	}
	/* the magazine's buffers are on no list */
	INIT_LIST_HEAD(bufs);
	m->releases += count;
	spin_unlock(&m->lock);
	if (excess)
		bufpool_flush(pool, &extra, excess);
	return true;
}

/**
 * bufpool_release() - give back buffers @e holds
 * @e: the entity
 * @ids: ids of the buffers
 * @count: 1..BUFPOOL_ALLOC_MAX
 *
 * All or nothing: unless @e holds every buffer listed, once, nothing is
 * released.  The buffers are zeroed outside the pool lock, then granted
 * onward to waiters.  May sleep: it yields the CPU between two buffers it
 * zeroes.  For an entity that gave others access to its buffers and must
 * revoke it before they are reused, see bufpool_release_detach().
 *
 * Return: 0; -ENOENT if an id is held by nobody; -EPERM if another entity
 * holds it; -EINVAL for a bad @count or an id listed twice.
 */
int bufpool_release(struct bufpool_entity *e, const u32 *ids,
		    unsigned int count)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX] __uninitialized;
	struct bufpool *pool = e->pool;
	LIST_HEAD(returning);
	unsigned int n;
	int ret;

	if (!count || count > BUFPOOL_ALLOC_MAX)
		return -EINVAL;

	if (!bufpool_release_fast(e, ids, count, true, false, &returning, &n)) {
		if (n)
			bufpool_return(pool, &returning, n);
		return 0;
	}
	spin_lock(&pool->lock);
	spin_lock(&e->lock);
	ret = bufpool_check_ids_locked(e, ids, count, bufs);
	if (!ret)
		bufpool_detach_bufs_locked(e, bufs, count, &returning);
	spin_unlock(&e->lock);
	if (!ret) {
		/* nothing to zero: no need to drop the lock in between */
		if (!bufpool_any_dirty(&returning) &&
		    !bufpool_any_busy(pool, &returning)) {
			bufpool_uncharge_locked(pool, &returning, count);
			bufpool_grant_locked(pool);
			count = 0;
		}
	}
	bufpool_unlock(pool);

	if (!ret && count)
		bufpool_return(pool, &returning, count);
	return ret;
}
EXPORT_SYMBOL_GPL(bufpool_release);

/**
 * bufpool_release_detach() - first half of a release: take buffers from @e
 * @e: the entity
 * @ids: ids of the buffers
 * @count: 1..BUFPOOL_ALLOC_MAX
 * @r: filled with the buffers on success
 *
 * Checks @ids as bufpool_release() does, all or nothing, and moves the
 * buffers to @r: from now on @e no longer holds them, nobody else can get
 * them, and they still count against the budget.  The caller then revokes
 * every access it gave to them and must call bufpool_release_finish().
 * Unless @e is shared (see struct bufpool_entity), buffers with nothing to
 * zero are back in the pool at once, in the same lock section, and @r is
 * left empty (@r->count 0): there is nothing to revoke nor to finish.
 * Does not sleep.
 *
 * Return: as bufpool_release(); on error nothing changed and @r is empty.
 */
int bufpool_release_detach(struct bufpool_entity *e, const u32 *ids,
			   unsigned int count, struct bufpool_returning *r)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX] __uninitialized;
	struct bufpool *pool = e->pool;
	int ret;

	INIT_LIST_HEAD(&r->bufs);
	r->count = 0;
	if (!count || count > BUFPOOL_ALLOC_MAX)
		return -EINVAL;

	if (!bufpool_release_fast(e, ids, count, true, true, &r->bufs,
				  &r->count))
		return 0;
	spin_lock(&pool->lock);
	spin_lock(&e->lock);
	ret = bufpool_check_ids_locked(e, ids, count, bufs);
	if (!ret)
		bufpool_detach_bufs_locked(e, bufs, count, &r->bufs);
	spin_unlock(&e->lock);
	if (!ret) {
		r->count = count;
		/* nobody else can reach them, nothing to zero: back at once */
		if (!READ_ONCE(e->shared) && !bufpool_any_dirty(&r->bufs) &&
		    !bufpool_any_busy(pool, &r->bufs)) {
			bufpool_uncharge_locked(pool, &r->bufs, count);
			bufpool_grant_locked(pool);
			r->count = 0;
		}
	}
	bufpool_unlock(pool);
	return ret;
}
EXPORT_SYMBOL_GPL(bufpool_release_detach);

/**
 * bufpool_undo_detach() - take back what is left of a grant
 * @e: the entity
 * @ids: the ids bufpool_alloc_until_ids() or bufpool_wait_done_ids()
 *	reported; rewritten to the ids
 *	detached, in order
 * @count: number of @ids, 1..BUFPOOL_ALLOC_MAX
 * @grant: the grant number they reported
 * @r: filled with the buffers detached
 *
 * For a caller that cannot hand a grant over after all.  Another thread
 * sharing @e may have released some of its buffers meanwhile, and they
 * may even have come back to @e in a later grant: only the buffers @e
 * still holds from @grant are detached, as bufpool_release_detach() does.
 * Never fails.  Does not sleep.
 *
 * Return: the number of buffers detached (the first ones of @ids); the
 * caller must call bufpool_release_finish() in every case.
 */
unsigned int bufpool_undo_detach(struct bufpool_entity *e, u32 *ids,
				 unsigned int count, u64 grant,
				 struct bufpool_returning *r)
{
	struct bufpool *pool = e->pool;
	struct bufpool_buf *buf;
	unsigned int i, n = 0;

	INIT_LIST_HEAD(&r->bufs);
	r->count = 0;
	if (count > BUFPOOL_ALLOC_MAX)
		count = BUFPOOL_ALLOC_MAX;

	spin_lock(&pool->lock);
	spin_lock(&e->lock);
	for (i = 0; i < count; i++) {
		buf = bufpool_mem_lookup(pool->mem, ids[i]);
		if (!buf || READ_ONCE(buf->state) != BUFPOOL_BUF_HELD ||
		    READ_ONCE(buf->owner) != e || buf->grant != grant)
			continue;
		bufpool_detach_locked(e, buf, &r->bufs);
		ids[n++] = ids[i];
	}
	spin_unlock(&e->lock);
	if (n)
		trace_bufpool_release(e->id, n, pool->in_use - n);
	bufpool_unlock(pool);
	r->count = n;
	return n;
}
EXPORT_SYMBOL_GPL(bufpool_undo_detach);

/**
 * bufpool_release_finish() - second half of a release
 * @pool: the pool
 * @r: what bufpool_release_detach() or bufpool_undo_detach() filled
 *
 * Zeroes the buffers that may hold data, caches them and serves the
 * queues.  May sleep: it yields the CPU between two buffers it zeroes.
 */
void bufpool_release_finish(struct bufpool *pool, struct bufpool_returning *r)
{
	if (r->count)
		bufpool_return(pool, &r->bufs, r->count);
	r->count = 0;
}
EXPORT_SYMBOL_GPL(bufpool_release_finish);

/**
 * bufpool_held_buf() - the buffer @id, if @e holds it
 * @e: the entity
 * @id: the buffer id
 *
 * The caller must keep @e from releasing the buffer while it uses the
 * result (the character device holds its mapping lock).
 *
 * Return: the buffer, or NULL if @e does not hold @id.
 */
struct bufpool_buf *bufpool_held_buf(struct bufpool_entity *e, u32 id)
{
	struct bufpool_buf *buf;

	spin_lock(&e->pool->lock);
	spin_lock(&e->lock);
	buf = bufpool_mem_lookup(e->pool->mem, id);
	if (buf && (READ_ONCE(buf->state) != BUFPOOL_BUF_HELD ||
		    READ_ONCE(buf->owner) != e))
		buf = NULL;
	spin_unlock(&e->lock);
	bufpool_unlock(e->pool);
	return buf;
}
EXPORT_SYMBOL_GPL(bufpool_held_buf);

/**
 * bufpool_entity_init() - attach a new entity to @pool
 * @pool: the pool
 * @e: the entity, embedded in the caller's object
 * @wake: called, once the pool lock is dropped, when a queued request of
 *	@e is granted, fails, is offered or expires
 * @target: the caller's object, stored in @e->waiter.target for @wake
 */
void bufpool_entity_init(struct bufpool *pool, struct bufpool_entity *e,
			 bufpool_wake_fn wake, void *target)
{
	e->pool = pool;
	e->account = NULL;
	e->tracks_dirty = false;
	e->critical_exempt = false;
	e->shared = false;
	spin_lock_init(&e->lock);
	INIT_LIST_HEAD(&e->held);
	e->nr_held = 0;
	e->nr_critical = 0;
	e->grants = 0;
	INIT_LIST_HEAD(&e->waiter.node);
	INIT_LIST_HEAD(&e->waiter.granted);
	e->waiter.wake = wake;
	e->waiter.notify = NULL;
	e->waiter.target = target;
	e->waiter.class = 0;
	e->waiter.count = 0;
	e->waiter.state = BUFPOOL_WAIT_IDLE;
	e->waiter.error = 0;
	e->waiter.seq = 0;
	e->waiter.cancelled = 0;
	e->waiter.timed_out = 0;
	e->waiter.queued_at = 0;
	e->waiter.granted_at = 0;
	e->waiter.deadline = BUFPOOL_NO_DEADLINE;
	e->waiter.offered_at = 0;
	INIT_LIST_HEAD(&e->waiter.wake_node);
	e->waiter.wake_listed = false;
	e->waiter.collect = false;
	atomic_set(&e->waiter.wake_owed, 0);
	e->slotted = false;
	e->nr_slot = 0;
	INIT_LIST_HEAD(&e->slot_node);
	e->slot_allocations = 0;
	e->slot_releases = 0;

	spin_lock(&pool->lock);
	pool->nr_entities++;
	e->id = ++pool->next_entity_id;
	/* may ask for a slot before the next drain */
	e->slot_gen = pool->slot_gen - 1;
	bufpool_unlock(pool);
}
EXPORT_SYMBOL_GPL(bufpool_entity_init);

/**
 * bufpool_entity_set_account() - charge @e's buffers to @account
 * @e: an entity that holds nothing and has no request
 * @account: the account, which must outlive @e's membership
 */
void bufpool_entity_set_account(struct bufpool_entity *e,
				struct bufpool_account *account)
{
	spin_lock(&e->pool->lock);
	WARN_ON(e->nr_held || e->waiter.state != BUFPOOL_WAIT_IDLE);
	e->account = account;
	bufpool_unlock(e->pool);
}
EXPORT_SYMBOL_GPL(bufpool_entity_set_account);

/**
 * bufpool_entity_destroy() - detach @e, giving back all it has
 * @e: the entity
 *
 * Its request leaves the queue, its grant and its buffers go back to the
 * pool and on to the next waiters.  A ->wake() of @e that another caller
 * is making once it dropped the pool lock is waited for; none is made
 * afterwards.  After this @e may be freed.  May sleep, like
 * bufpool_release().
 */
void bufpool_entity_destroy(struct bufpool_entity *e)
{
	struct bufpool *pool = e->pool;
	struct bufpool_waiter *w = &e->waiter;
	struct bufpool_buf *buf, *tmp;
	LIST_HEAD(returning);
	unsigned int count;

	spin_lock(&pool->lock);
	bufpool_withdraw_locked(pool, w);
	/* a wake-up nobody is taking: nobody sleeps on @e any more */
	if (w->wake_listed) {
		list_del_init(&w->wake_node);
		w->wake_listed = false;
		atomic_set(&w->wake_owed, 0);
	}
	spin_lock(&e->lock);
	if (e->slotted)
		bufpool_unslot_locked(pool, e);
	count = e->nr_held;
	list_for_each_entry_safe(buf, tmp, &e->held, node)
		bufpool_detach_locked(e, buf, &returning);
	spin_unlock(&e->lock);
	if (count)
		trace_bufpool_release(e->id, count, pool->in_use - count);
	pool->nr_entities--;
	bufpool_grant_locked(pool);
	bufpool_unlock(pool);
	/*
	 * Withdrawn: no new wake-up for @w.  One under way ends with a fully
	 * ordered decrement; the acquire orders the caller's free after it.
	 */
	wait_var_event(&w->wake_owed, !atomic_read_acquire(&w->wake_owed));

	if (count)
		bufpool_return(pool, &returning, count);
}
EXPORT_SYMBOL_GPL(bufpool_entity_destroy);

/**
 * bufpool_kick() - serve the queues again
 * @pool: the pool
 *
 * For the backend, after memory may have become available.
 */
void bufpool_kick(struct bufpool *pool)
{
	spin_lock(&pool->lock);
	bufpool_grant_locked(pool);
	bufpool_unlock(pool);
}
EXPORT_SYMBOL_GPL(bufpool_kick);

/* Make @t the pool's tunables: under the pool lock, or before it is shared. */
static void bufpool_store_tunables(struct bufpool *pool,
				   const struct bufpool_tunables *t)
{
	pool->limit = t->limit;
	pool->reserve = t->reserve;
	memcpy(pool->headroom, t->headroom, sizeof(pool->headroom));
	pool->quota = t->quota;
	pool->policy = t->policy;
}

/*
 * Buffers to create for the first queue head, if it fits the budget but
 * not the cache (counting those already being created), within the limit.
 * Only hand-off and adaptive serve queued heads; the others' waiters retry.
 */
static unsigned int bufpool_grow_need_locked(struct bufpool *pool)
{
	struct bufpool_waiter *w = NULL;
	unsigned int c, short_by;

	lockdep_assert_held(&pool->lock);
	if (!bufpool_grants(pool))
		return 0;
	for (c = 0; c < BUFPOOL_NR_CLASSES && !w; c++)
		w = list_first_entry_or_null(&pool->queue[c],
					     struct bufpool_waiter, node);
	if (!w || !bufpool_budget_ok(pool, w->class, w->count))
		return 0;
	short_by = bufpool_cache_short(pool, w->class, w->count,
				       pool->nr_cached + pool->nr_growing);
	return min(short_by, bufpool_room_locked(pool));
}

/**
 * bufpool_grow() - create the buffers the queue heads wait for
 * @pool: the pool
 *
 * The backend's work item (and bufpool_set_tunables()): one buffer per
 * step, each reserved under the pool lock, created with a sleeping
 * allocation outside it, added to the cache and granted; the CPU is
 * yielded between steps.  A failure is counted and the backend asked to
 * retry later while requests are queued.  May sleep.
 */
void bufpool_grow(struct bufpool *pool)
{
	struct bufpool_buf *buf;

	spin_lock(&pool->lock);
	pool->nr_growers++;
	while (bufpool_grow_need_locked(pool)) {
		pool->nr_growing++;
		bufpool_unlock(pool);

		buf = bufpool_mem_create(pool->mem, GFP_KERNEL);

		spin_lock(&pool->lock);
		if (!buf) {
			/* no new memory: serving the queues would only fail again */
			pool->nr_growing--;
			pool->page_alloc_failures++;
			if (bufpool_total_queued(pool))
				bufpool_mem_retry_later(pool->mem);
			break;
		}
		bufpool_adopt_locked(pool, buf);
		bufpool_grant_locked(pool);
		bufpool_unlock(pool);
		cond_resched();
		spin_lock(&pool->lock);
	}
	/* the heads were looked at under this lock section: none is missed */
	pool->nr_growers--;
	bufpool_unlock(pool);
}

/*
 * Of @cached free buffers, those that may go back to the kernel: those
 * beyond the reserve and beyond what the queued and offered requests ask
 * for, which will take them once the budget lets them.  The walk stops as
 * soon as the requests account for all of them, so it is never longer
 * than the cache.  @cached is the cache's, or for a count what the cache
 * would hold after a drain.
 */
static unsigned int bufpool_shrinkable_locked(struct bufpool *pool,
					      unsigned int cached)
{
	unsigned int c, keep = pool->reserve;
	struct bufpool_waiter *w;

	lockdep_assert_held(&pool->lock);
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++)
		list_for_each_entry(w, &pool->queue[c], node) {
			if (keep >= cached)
				return 0;
			keep += w->count;
		}
	list_for_each_entry(w, &pool->offered, node) {
		if (keep >= cached)
			return 0;
		keep += w->count;
	}
	return cached > keep ? cached - keep : 0;
}

static unsigned int bufpool_mag_sum_locked(struct bufpool *pool,
					   u64 *allocations, u64 *releases);

/**
 * bufpool_shrink_count() - how many buffers bufpool_shrink() could free now
 * @pool: the pool
 *
 * For the backend's shrinker's count, which reclaim asks on every pass:
 * it stops nothing.  The magazines' and slots' buffers are summed as
 * STATS sum them, and they stay where they are, serving.
 *
 * Return: the number of free buffers, cached or kept by the magazines and
 * slots (which bufpool_shrink() drains when it needs them), beyond the
 * reserve and the needs of the queued requests.
 */
unsigned int bufpool_shrink_count(struct bufpool *pool)
{
	unsigned int n, cached;
	u64 allocations, releases;

	spin_lock(&pool->lock);
	cached = pool->nr_cached;
	/* empty while @fast is clear: see bufpool_drain_locked() */
	if (pool->fast)
		cached += pool->in_use -
			  bufpool_mag_sum_locked(pool, &allocations, &releases);
	n = bufpool_shrinkable_locked(pool, cached);
	bufpool_unlock(pool);
	return n;
}
EXPORT_SYMBOL_GPL(bufpool_shrink_count);

/**
 * bufpool_shrink() - give cached free buffers back to the kernel
 * @pool: the pool
 * @nr: most buffers to give back
 *
 * For the backend's shrinker.  Only buffers on the cache are taken,
 * never one held, granted, being returned or otherwise kept from the
 * cache, and never below the reserve and what the queued requests ask
 * for (see bufpool_shrink_count()).  The magazines and slots are drained
 * into the cache first only if it cannot give @nr without them: a shrink
 * the cache covers leaves them serving.  The buffers leave the cache, the
 * pool's count and the backend's id lookups under the pool lock; their
 * memory is freed after it is dropped, with a reschedule point between
 * two.  The pool grows again on demand.  May sleep.
 *
 * Return: the number of buffers given back.
 */
unsigned int bufpool_shrink(struct bufpool *pool, unsigned int nr)
{
	struct bufpool_buf *buf, *tmp;
	LIST_HEAD(victims);
	unsigned int i, n;
	u64 allocations, releases;

	spin_lock(&pool->lock);
	n = bufpool_shrinkable_locked(pool, pool->nr_cached);
	/* a drain that gives the cache nothing would only stop them */
	if (n < nr && pool->fast &&
	    bufpool_mag_sum_locked(pool, &allocations, &releases) <
	    pool->in_use) {
		bufpool_drain_locked(pool);
		n = bufpool_shrinkable_locked(pool, pool->nr_cached);
	}
	n = min(nr, n);
	for (i = 0; i < n; i++) {
		buf = list_last_entry(&pool->cache, struct bufpool_buf, node);
		list_move_tail(&buf->node, &victims);
		bufpool_mem_hide(pool->mem, buf);
	}
	pool->nr_cached -= n;
	pool->nr_alloc -= n;
	pool->shrunk += n;
	bufpool_unlock(pool);

	list_for_each_entry_safe(buf, tmp, &victims, node) {
		list_del(&buf->node);
		bufpool_mem_destroy(pool->mem, buf);
		cond_resched();
	}
	return n;
}
EXPORT_SYMBOL_GPL(bufpool_shrink);

/**
 * bufpool_get_tunables() - the current limit, reserve and headrooms
 * @pool: the pool
 * @t: filled in
 */
void bufpool_get_tunables(struct bufpool *pool, struct bufpool_tunables *t)
{
	spin_lock(&pool->lock);
	t->limit = pool->limit;
	t->reserve = pool->reserve;
	memcpy(t->headroom, pool->headroom, sizeof(t->headroom));
	t->quota = pool->quota;
	t->policy = pool->policy;
	bufpool_unlock(pool);
}
EXPORT_SYMBOL_GPL(bufpool_get_tunables);

/*
 * After a change of tunables: fail every queued request that can no
 * longer be served (-ENOSPC), or not without its own side giving buffers
 * back first (-EDEADLK).
 */
static void bufpool_fail_hopeless_locked(struct bufpool *pool)
{
	struct bufpool_waiter *w, *tmp;
	unsigned int c;

	lockdep_assert_held(&pool->lock);
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++)
		list_for_each_entry_safe(w, tmp, &pool->queue[c], node)
			bufpool_fail_if_hopeless_locked(pool, w);
}

/* Give back cached memory while the pool owns more than its limit. */
static void bufpool_trim_locked(struct bufpool *pool)
{
	struct bufpool_buf *buf;

	lockdep_assert_held(&pool->lock);
	while (pool->nr_alloc > pool->limit && pool->nr_cached) {
		buf = list_last_entry(&pool->cache, struct bufpool_buf, node);
		list_del(&buf->node);
		bufpool_mem_destroy(pool->mem, buf);
		pool->nr_cached--;
		pool->nr_alloc--;
	}
}

/**
 * bufpool_set_tunables() - change the limit, reserve, headrooms and quota
 * @pool: the pool
 * @t: the new values
 * @why: set to a human-readable reason on failure
 *
 * Effective at once: waiters that now fit are granted, a limit below what
 * is in use stops grants until usage falls under it (holders keep their
 * buffers), and queued requests that can no longer fit fail.  Memory for
 * a larger reserve is allocated first.  May sleep.
 *
 * Return: 0; -EINVAL with *@why set for inconsistent values; -ERANGE
 * with *@why set for a larger limit above bufpool_limit_max() (a lower
 * one is always accepted); -ENOMEM if the reserve cannot be allocated
 * (nothing changed then).
 */
int bufpool_set_tunables(struct bufpool *pool,
			 const struct bufpool_tunables *t, const char **why)
{
	struct bufpool_buf *buf, *tmp;
	LIST_HEAD(extra);
	unsigned int i, want;
	int ret;

	ret = bufpool_check_tunables(t, why);
	if (ret)
		return ret;

	spin_lock(&pool->lock);
	bufpool_drain_locked(pool);
	if (t->limit > pool->limit)
		ret = bufpool_check_memory(t->limit, pool->bufsize, why);
	want = t->reserve > pool->nr_cached ? t->reserve - pool->nr_cached : 0;
	bufpool_unlock(pool);
	if (ret)
		return ret;
	for (i = 0; i < want; i++) {
		if (i)
			cond_resched();
		buf = bufpool_mem_create(pool->mem, GFP_KERNEL);
		if (!buf) {
			*why = "cannot allocate the reserve";
			ret = -ENOMEM;
			spin_lock(&pool->lock);
			goto destroy_extra;
		}
		list_add_tail(&buf->node, &extra);
	}

	spin_lock(&pool->lock);
	/* the fast path reads the tunables under the magazines' locks */
	bufpool_drain_locked(pool);
	bufpool_store_tunables(pool, t);
	list_for_each_entry_safe(buf, tmp, &extra, node) {
		if (pool->nr_cached >= pool->reserve ||
		    pool->nr_alloc >= pool->limit)
			break;
		list_del(&buf->node);
		bufpool_cache_new(pool, buf);
	}
	bufpool_trim_locked(pool);
	bufpool_fail_hopeless_locked(pool);
	bufpool_grant_locked(pool);

destroy_extra:
	/* under the lock: their ids are visible to lookups */
	list_for_each_entry_safe(buf, tmp, &extra, node) {
		list_del(&buf->node);
		bufpool_mem_destroy(pool->mem, buf);
	}
	bufpool_unlock(pool);
	/* a larger budget grants at once, memory included */
	if (!ret)
		bufpool_grow(pool);
	return ret;
}
EXPORT_SYMBOL_GPL(bufpool_set_tunables);

/*
 * in_use without the magazines' and slots' buffers (which are cached),
 * and the allocations and releases counted in the magazines, the slots
 * and the pool.
 */
static unsigned int bufpool_mag_sum_locked(struct bufpool *pool,
					   u64 *allocations, u64 *releases)
{
	unsigned int in_use = pool->in_use;
	bool fast = pool->fast;
	struct bufpool_entity *e;
	struct bufpool_pcpu *m;
	int cpu;

	lockdep_assert_held(&pool->lock);
	/*
	 * A buffer moves from a magazine to a slot (or between magazines)
	 * without the pool lock: with @fast clear meanwhile, each magazine
	 * and slot is frozen once its lock was taken, so none is counted
	 * twice.  Nothing the refill checked changes under the pool lock.
	 */
	if (fast)
		WRITE_ONCE(pool->fast, false);
	*allocations = pool->allocations;
	*releases = pool->releases;
	for_each_possible_cpu(cpu) {
		m = per_cpu_ptr(pool->pcpu, cpu);
		spin_lock(&m->lock);
		in_use -= m->nr;
		*allocations += m->allocations;
		*releases += m->releases;
		spin_unlock(&m->lock);
	}
	list_for_each_entry(e, &pool->slotted, slot_node) {
		spin_lock(&e->lock);
		in_use -= e->nr_slot;
		*allocations += e->slot_allocations;
		*releases += e->slot_releases;
		spin_unlock(&e->lock);
	}
	/* as the refill's: pairs with the acquire under a magazine's lock */
	smp_store_release(&pool->fast, fast);
	return in_use;
}

/**
 * bufpool_get_stats() - a consistent snapshot of @pool's counters
 * @pool: the pool
 * @st: filled in, except @st->size and @st->flags
 */
void bufpool_get_stats(struct bufpool *pool, struct bufpool_stats *st)
{
	u64 allocations, releases;
	unsigned int c, in_use;

	spin_lock(&pool->lock);
	in_use = bufpool_mag_sum_locked(pool, &allocations, &releases);
	st->limit = pool->limit;
	st->reserve = pool->reserve;
	st->bufsize = pool->bufsize;
	st->in_use = in_use;
	st->free = pool->limit > in_use ? pool->limit - in_use : 0;
	st->allocated = pool->nr_alloc;
	st->quarantined = pool->nr_quarantined;
	for (c = 0; c < ARRAY_SIZE(st->queued); c++)
		st->queued[c] = c < BUFPOOL_NR_CLASSES ? pool->nr_queued[c] : 0;
	st->allocations = allocations;
	st->grants_waited = pool->grants_waited;
	st->wakeups = pool->wakeups;
	st->spurious_wakeups = pool->spurious;
	st->releases = releases;
	st->page_alloc_failures = pool->page_alloc_failures;
	st->peak_in_use = pool->peak_in_use;
	st->peak_queued = pool->peak_queued;
	st->shrunk = pool->shrunk;
	st->drains = pool->drains;
	bufpool_unlock(pool);
}
EXPORT_SYMBOL_GPL(bufpool_get_stats);

/**
 * bufpool_bufsize() - bytes per buffer of @pool
 * @pool: the pool
 *
 * Return: the buffer size, a whole number of pages.
 */
size_t bufpool_bufsize(const struct bufpool *pool)
{
	return pool->bufsize;
}
EXPORT_SYMBOL_GPL(bufpool_bufsize);

static void bufpool_offer_expiry_fn(struct work_struct *work)
{
	struct bufpool *pool = container_of(to_delayed_work(work),
					    struct bufpool, offer_expiry);
	u64 now = ktime_get_ns();

	spin_lock(&pool->lock);
	bufpool_expire_offers_locked(pool, now);
	/* serves or offers to whoever the lapsed offers held up */
	bufpool_grant_locked(pool);
	bufpool_arm_offer_expiry_locked(pool, now);
	bufpool_unlock(pool);
}

/*
 * The end of a window's period.  Unless someone barged in it and the
 * window may go on (its end is not the first head's bound yet), this is
 * the window's end: from now on nobody barges ahead of the first head
 * and what comes back is granted (a window opened since, whose timer this
 * was not, may be closed early by it: that only grants sooner).  The pool
 * lock is not taken from timer context: the work renews the window or
 * grants what is parked.
 */
static enum hrtimer_restart bufpool_park_timer_fn(struct hrtimer *t)
{
	struct bufpool *pool = container_of(t, struct bufpool, park_timer);

	if (READ_ONCE(pool->park_last) || !READ_ONCE(pool->park_barged))
		WRITE_ONCE(pool->park_closed, true);
	queue_work(system_highpri_wq, &pool->park_work);
	return HRTIMER_NORESTART;
}

/*
 * Someone barged in the window's last period: another one from now,
 * ending by the first head's bound, for the running requests that use
 * what comes back; if that bound has passed (the timer or its work came
 * late), the window closes instead.  Once a period: the clock is read.
 */
static void bufpool_park_renew_locked(struct bufpool *pool)
{
	unsigned int c = bufpool_first_class(pool);
	struct bufpool_waiter *w;
	u64 now, end;

	lockdep_assert_held(&pool->lock);
	w = list_first_entry(&pool->queue[c], struct bufpool_waiter, node);
	end = w->queued_at + BUFPOOL_BARGE_NS;
	now = ktime_get_ns();
	if (bufpool_overdue_locked(pool, now)) {
		WRITE_ONCE(pool->park_closed, true);
		return;
	}
	pool->park_until = min_t(u64, now + BUFPOOL_PARK_NS, end);
	WRITE_ONCE(pool->park_last, pool->park_until == end);
	WRITE_ONCE(pool->park_barged, false);
	hrtimer_start(&pool->park_timer, ns_to_ktime(pool->park_until),
		      HRTIMER_MODE_ABS);
}

static void bufpool_park_work_fn(struct work_struct *work)
{
	struct bufpool *pool = container_of(work, struct bufpool, park_work);

	spin_lock(&pool->lock);
	/*
	 * Open, not closed and its timer not armed: the timer found barges
	 * in the period and left it open.  (A window whose timer is armed
	 * was opened or renewed since.)
	 */
	if (pool->park_until && !READ_ONCE(pool->park_closed) &&
	    !hrtimer_is_queued(&pool->park_timer))
		bufpool_park_renew_locked(pool);
	/* closed: what is parked goes to the heads */
	bufpool_grant_locked(pool);
	bufpool_unlock(pool);
}

static void bufpool_free_cache(struct bufpool *pool)
{
	struct bufpool_buf *buf, *tmp;

	list_for_each_entry_safe(buf, tmp, &pool->cache, node) {
		list_del(&buf->node);
		bufpool_mem_destroy(pool->mem, buf);
	}
	pool->nr_alloc -= pool->nr_cached;
	pool->nr_cached = 0;
}

/**
 * bufpool_create() - a new pool, with its reserve allocated
 * @cfg: its parameters, see bufpool_check_config()
 *
 * May sleep.
 *
 * Return: the pool, or ERR_PTR(-EINVAL) for a bad @cfg, ERR_PTR(-ENOMEM).
 */
struct bufpool *bufpool_create(const struct bufpool_config *cfg)
{
	struct bufpool_tunables tun;
	struct bufpool_buf *buf;
	struct bufpool_pcpu *m;
	struct bufpool *pool;
	const char *why;
	unsigned int c, i;
	int cpu, ret;

	ret = bufpool_check_config(cfg, &why);
	if (ret)
		return ERR_PTR(ret);

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	pool->pcpu = alloc_percpu(struct bufpool_pcpu);
	if (!pool->pcpu) {
		ret = -ENOMEM;
		goto free_pool;
	}
	for_each_possible_cpu(cpu) {
		m = per_cpu_ptr(pool->pcpu, cpu);
		spin_lock_init(&m->lock);
	}
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->cache);
	INIT_LIST_HEAD(&pool->offered);
	INIT_LIST_HEAD(&pool->wake_list);
	INIT_LIST_HEAD(&pool->slotted);
	INIT_DELAYED_WORK(&pool->offer_expiry, bufpool_offer_expiry_fn);
	hrtimer_init(&pool->park_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	pool->park_timer.function = bufpool_park_timer_fn;
	INIT_WORK(&pool->park_work, bufpool_park_work_fn);
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++)
		INIT_LIST_HEAD(&pool->queue[c]);
	pool->bufsize = PAGE_ALIGN(cfg->bufsize);
	bufpool_config_tunables(cfg, &tun);
	bufpool_store_tunables(pool, &tun);

	pool->mem = bufpool_mem_init(pool, pool->bufsize);
	if (IS_ERR(pool->mem)) {
		ret = PTR_ERR(pool->mem);
		goto free_pcpu;
	}

	for (i = 0; i < cfg->reserve; i++) {
		if (i)
			cond_resched();
		buf = bufpool_mem_create(pool->mem, GFP_KERNEL);
		if (!buf) {
			ret = -ENOMEM;
			goto free_reserve;
		}
		/* the backend's shrinker may already look at the cache */
		spin_lock(&pool->lock);
		bufpool_cache_new(pool, buf);
		bufpool_unlock(pool);
	}
	return pool;

free_reserve:
	bufpool_mem_quiesce(pool->mem);
	bufpool_free_cache(pool);
	bufpool_mem_fini(pool->mem);
free_pcpu:
	free_percpu(pool->pcpu);
free_pool:
	kfree(pool);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(bufpool_create);

/**
 * bufpool_destroy() - free @pool and all its buffers
 * @pool: the pool, with no entity left
 *
 * May sleep.
 */
void bufpool_destroy(struct bufpool *pool)
{
	/* waits for the quarantine to give its buffers back */
	bufpool_mem_quiesce(pool->mem);
	spin_lock(&pool->lock);
	bufpool_drain_locked(pool);
	bufpool_unlock(pool);
	WARN_ON(pool->nr_entities || pool->in_use);
	cancel_delayed_work_sync(&pool->offer_expiry);
	hrtimer_cancel(&pool->park_timer);
	cancel_work_sync(&pool->park_work);
	bufpool_free_cache(pool);
	WARN_ON(pool->nr_alloc);
	bufpool_mem_fini(pool->mem);
	free_percpu(pool->pcpu);
	kfree(pool);
}
EXPORT_SYMBOL_GPL(bufpool_destroy);
