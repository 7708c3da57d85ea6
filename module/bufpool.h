/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufpool in-kernel API: a bounded pool of page-backed buffers shared by
 * entities under one budget, with per-class FIFO queues and hand-off.
 *
 * The core knows nothing of files.  An entity is anything that holds
 * buffers: the character device makes one per open file description, an
 * in-kernel user embeds its own.  A waiter is a target plus a wake-up
 * callback (the kernel form of HAProxy's struct buffer_wait): when buffers
 * come back the core grants them to queued requests in order, charges them
 * to the waiter, and only then calls ->wake().
 *
 * Calling context: every function may sleep only where noted; none may be
 * called with the pool lock held (that is, from ->notify()), nor from
 * ->wake(), but for bufpool_collect_granted_locked(), which is only for
 * ->notify().  Pages are never allocated nor zeroed under the pool lock:
 * bufpool_alloc() creates the buffers it lacks before taking it (yielding
 * between them only with BUFPOOL_ALLOC_MAY_SLEEP), and bufpool_release()
 * and bufpool_entity_destroy() zero what comes back after dropping it, and
 * may sleep (they yield the CPU between two buffers); so may
 * bufpool_shrink(), which frees cached buffers after dropping it.
 *
 * Wake-ups: a change of a waiter's state that it must learn of (granted,
 * failed, offered, expired) is made under the pool lock, where the
 * optional ->notify() is called at once; ->wake() is called later, once
 * the lock is dropped, by the caller of bufpool that drops it (or, if an
 * earlier caller is still calling this waiter's ->wake(), by that one,
 * possibly after the later call has returned), with preemption off but
 * on PREEMPT_RT, so that the task it wakes does not find the lock still
 * held.  On PREEMPT_RT a waker preempted between the unlock and ->wake()
 * delays that wake-up, and a bufpool_entity_destroy() waiting for it,
 * with no priority lent to it (the lock's holder had it).  ->wake() must not
 * sleep (it runs in the context of any bufpool call, which may be atomic)
 * nor call bufpool; wake_up() of a wait queue or queueing work is what it
 * is for.  It is called once per such change, never under the pool lock,
 * never for the same waiter on two CPUs at once, and possibly after the
 * state has changed again (a later request, a cancel): it must read the
 * state afresh, as bufpool_ready() and bufpool_waiting() do, and a stale
 * call must be harmless.  bufpool_entity_destroy() waits for a ->wake()
 * of its entity in flight on another CPU: it must not be called with a
 * lock held that ->wake() takes.
 */
#ifndef _BUFPOOL_H
#define _BUFPOOL_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/bufpool.h>

struct bufpool;
struct bufpool_mem;
struct bufpool_waiter;

/* Where a buffer is: its owner is meaningful in GRANTED and HELD. */
enum bufpool_buf_state {
	BUFPOOL_BUF_CACHED,	/* free, zeroed, on pool->cache */
	BUFPOOL_BUF_GRANTED,	/* on a waiter's grant list, not collected */
	BUFPOOL_BUF_HELD,	/* on an entity's held list */
	BUFPOOL_BUF_RETURNING,	/* detached, being zeroed before caching */
	/* detached, memory still referenced elsewhere: the backend's */
	BUFPOOL_BUF_QUARANTINED,
};

/**
 * struct bufpool_buf - one buffer of pool->bufsize bytes
 * @node: link in the list of whoever has the buffer (see @state)
 * @addr: kernel address of the buffer's memory, contiguous (for a buffer
 *	of several order-0 pages, a vmap() of them; see bufpool_buf_page()
 *	for its pages)
 * @owner: entity the buffer is granted to or held by
 * @account: the account a buffer given back (RETURNING, QUARANTINED)
 *	is still charged to, or NULL; a quarantined buffer holds a
 *	reference on it (see struct bufpool_account)
 * @id: pool-wide unique id, stable for the buffer's lifetime
 * @state: enum bufpool_buf_state
 * @marked: scratch flag for duplicate detection in bufpool_release()
 * @dirty: may hold data: zeroed before it is cached again
 * @critical: held by @owner from a CRITICAL request (counted in its
 *	nr_critical)
 * @grant: number of the allocation that gave it to its holder (HELD),
 *	unique per holder: tells the buffers of one grant from those of a
 *	later one
 */
struct bufpool_buf {
	struct list_head node;
	void *addr;
	struct bufpool_entity *owner;
	struct bufpool_account *account;
	u64 grant;
	u32 id;
	u8 state;
	bool marked;
	bool dirty;
	bool critical;
};

/**
 * bufpool_buf_mark_dirty() - note that @buf may now hold data
 * @buf: a buffer its caller holds
 *
 * For entities with tracks_dirty set, which call this before the first
 * write (the character device does at the first page fault of a mapping).
 */
static inline void bufpool_buf_mark_dirty(struct bufpool_buf *buf)
{
	WRITE_ONCE(buf->dirty, true);
}

struct page;
struct page *bufpool_buf_page(const struct bufpool_buf *buf, unsigned int i);

enum bufpool_wait_state {
	BUFPOOL_WAIT_IDLE,	/* no request */
	BUFPOOL_WAIT_QUEUED,	/* on pool->queue[class] */
	BUFPOOL_WAIT_GRANTED,	/* buffers on ->granted, to be collected */
	BUFPOOL_WAIT_FAILED,	/* can no longer be served: ->error to collect */
	BUFPOOL_WAIT_OFFERED,	/* offer/all policies: woken to try again */
	BUFPOOL_WAIT_EXPIRED,	/* deadline passed while queued: -ETIMEDOUT */
};

/* A request without a deadline; deadlines are ns of CLOCK_MONOTONIC. */
#define BUFPOOL_NO_DEADLINE	U64_MAX

/*
 * Under the offer and all policies, a waiter woken to try again that has
 * not tried within this long loses its offer (a spurious wake-up), so
 * that one that never comes back cannot hold the queue up.
 */
#define BUFPOOL_OFFER_TTL_NS	(100ULL * 1000 * 1000)

/*
 * Under the adaptive policy: a queue head that has waited this long is
 * served strictly in order, as under hand-off: no request is served ahead
 * of it, and it is granted as soon as it fits.  Before that, buffers that
 * come back while it fits are parked for up to BUFPOOL_PARK_NS (never
 * beyond the head's bound) for a running request to take, a period
 * renewed as long as someone takes them, and granted to the head when the
 * window's timer fires after a period without a barge or at the head's
 * bound (a late timer, or a late work item renewing the window, extends
 * the bound of the first head by its lateness, or by the barges until
 * one look in BUFPOOL_PARK_LOOKS reads the clock, whichever is less).
 * Go's sync.Mutex uses the same 1 ms.
 */
#define BUFPOOL_BARGE_NS	(1000ULL * 1000)
#define BUFPOOL_PARK_NS		(50ULL * 1000)
/*
 * While a window is open the first head's age is not read on every barge
 * (its timer closes the window at its bound); one look in this many reads
 * the clock, so a late timer cannot let barges go on past the bound.
 */
#define BUFPOOL_PARK_LOOKS	32U

/**
 * enum bufpool_policy - what the pool does when buffers come back
 * @BUFPOOL_POLICY_HANDOFF: grant them to the queue heads, in order, then
 *	wake exactly those waiters (the default)
 * @BUFPOOL_POLICY_OFFER: HAProxy's way: dequeue and wake as many waiters
 *	as there are free buffers, and let them try again (first come, first
 *	served; a waiter that fails is queued again at the tail)
 * @BUFPOOL_POLICY_ALL: the naive way: wake every waiter to try again
 * @BUFPOOL_POLICY_ADAPTIVE: hand-off without the convoy: while the queue
 *	heads are younger than BUFPOOL_BARGE_NS a running request may be
 *	served ahead of them (barging, as a mutex lets a running task take
 *	it), and buffers that come back while a head fits are parked for
 *	BUFPOOL_PARK_NS periods, renewed while running requests take them,
 *	before they are granted to it; a head that has
 *	waited BUFPOOL_BARGE_NS is served as under hand-off.  Waiters are
 *	still only woken with a grant
 * @BUFPOOL_NR_POLICIES: number of policies
 *
 * Offer and all exist to be measured against the others.
 */
enum bufpool_policy {
	BUFPOOL_POLICY_HANDOFF,
	BUFPOOL_POLICY_OFFER,
	BUFPOOL_POLICY_ALL,
	BUFPOOL_POLICY_ADAPTIVE,
	BUFPOOL_NR_POLICIES,
};

typedef void (*bufpool_wake_fn)(struct bufpool_waiter *w);

/**
 * struct bufpool_waiter - a request that could not be served at once
 * @node: link in pool->queue[@class] while queued
 * @granted: buffers granted and not yet collected
 * @wake: called without the pool lock, after it is dropped, once for each
 *	change of state the waiter is woken for (see the top comment):
 *	granted, failed, offered or expired
 * @notify: optional, NULL after bufpool_entity_init(); called with the
 *	pool lock held at each such change, before @wake: it may read the
 *	waiter's state and call bufpool_collect_granted_locked() (which
 *	collects only a request queued with BUFPOOL_ALLOC_COLLECT) and
 *	nothing else of bufpool, and must not sleep.  For what must be
 *	published with the change, under the lock (the device's status page)
 * @target: the caller's object, for @wake and @notify
 * @class: enum bufpool_class of the request
 * @count: buffers requested
 * @state: enum bufpool_wait_state; read locklessly by bufpool_ready()
 * @error: in FAILED, what collecting the request returns (-ENOSPC or
 *	-EDEADLK, see bufpool_alloc())
 * @seq: number of the entity's latest queued request; read locklessly
 *	by bufpool_waiting()
 * @cancelled: @seq of the latest request bufpool_cancel() withdrew
 * @timed_out: @seq of the latest request withdrawn because its deadline
 *	passed (by bufpool_expire() or by a caller that found it so): every
 *	sleeper on it learns so, whatever its own ticket's deadline
 * @queued_at: when the request was queued (ns, monotonic), for tracing
 * @granted_at: when the request was granted (ns, monotonic) if the
 *	bufpool_collect event was enabled then, else 0; for tracing
 * @deadline: when the queued request is withdrawn (ns, CLOCK_MONOTONIC),
 *	or BUFPOOL_NO_DEADLINE
 * @offered_at: when an OFFERED waiter was woken (it is then on the
 *	pool's list of offers, by @node)
 * @wake_node: link in the pool's list of waiters to wake while
 *	@wake_listed, then in the list of the caller that dropped the lock
 *	until its last @wake call
 * @wake_listed: on the pool's list of waiters to wake (pool lock)
 * @wake_owed: @wake calls owed: changes of state not yet reported.  From
 *	0 to 1 the waiter is listed; the caller that takes it off the list
 *	calls @wake until it brings this back to 0, after which it no longer
 *	touches the waiter (bufpool_entity_destroy() waits for that)
 * @collect: the request was queued with BUFPOOL_ALLOC_COLLECT: its grant
 *	is for @notify to collect (pool lock)
 */
struct bufpool_waiter {
	struct list_head node;
	struct list_head granted;
	bufpool_wake_fn wake;
	bufpool_wake_fn notify;
	void *target;
	unsigned int class;
	unsigned int count;
	unsigned int state;
	int error;
	u32 seq;
	u32 cancelled;
	u32 timed_out;
	u64 queued_at;
	u64 granted_at;
	u64 deadline;
	u64 offered_at;
	struct list_head wake_node;
	bool wake_listed;
	bool collect;
	atomic_t wake_owed;
};

/**
 * struct bufpool_ticket - what a sleeper knows of the request it waits for
 * @seq: the request's number (bufpool_waiter.seq when it was queued)
 * @deadline: when it is withdrawn, or BUFPOOL_NO_DEADLINE
 *
 * Filled by bufpool_alloc_until() when it leaves the request queued.
 */
struct bufpool_ticket {
	u32 seq;
	u64 deadline;
};

/**
 * struct bufpool_account - entities that share one quota (e.g. a user)
 * @charged: buffers its entities hold, were granted or have requested,
 *	and buffers they gave back that are not back yet: being returned,
 *	or quarantined because their memory is still referenced elsewhere
 * @queued: buffers its entities' queued requests ask for (part of @charged)
 * @get: optional; takes a reference for a quarantined buffer, which may
 *	outlive every entity of the account.  Called with the pool lock
 *	held: must not sleep.
 * @put: optional; drops what @get took, once the buffer is back.  Called
 *	without the pool lock; may sleep.  Without @get and @put the owner
 *	must keep the account until the pool's quarantine is empty.
 *
 * Owned by the caller.  @queued is protected by the pool lock; @charged
 * is atomic, as the per-CPU caches charge an account without the pool
 * lock (only while the pool has no quota: with one, every change of it
 * is made under the pool lock, so its quota check is exact).  The pool's quota
 * applies to every account: a request that would take @charged above it
 * fails at once with -EDQUOT and never waits.  What the account holds or
 * was granted (@charged - @queued) also decides, under a quota, whether a
 * request could ever be served without the account giving buffers back
 * first (-EDEADLK).
 */
struct bufpool_account {
	atomic_t charged;
	unsigned int queued;
	void (*get)(struct bufpool_account *account);
	void (*put)(struct bufpool_account *account);
};

/*
 * Free buffers an entity keeps for itself while the per-CPU caches serve:
 * a session's request and response buffer, given back and asked for again
 * under the entity's lock alone (see bufpool_core.c).
 */
#define BUFPOOL_SLOT_MAX	2U

/*
 * Most entities with a slot at once: the drain and STATS visit each under
 * the pool lock, which must not take longer with every file a user opens.
 */
#ifndef BUFPOOL_SLOTTED_MAX
#define BUFPOOL_SLOTTED_MAX	256U
#endif

/**
 * struct bufpool_entity - a holder of buffers
 * @pool: the pool it draws from
 * @lock: protects @held, @nr_held, @nr_critical, @grants, the slot's
 *	fields and the owner, state, critical, grant and marked fields of
 *	the buffers it holds;
 *	taken inside the pool lock and outside a per-CPU cache's lock (see
 *	bufpool_core.c), never the other way round
 * @held: buffers it holds (state HELD)
 * @nr_held: number of buffers on @held
 * @nr_critical: how many of them came from CRITICAL requests
 * @grants: number of its next grant (see bufpool_buf.grant)
 * @waiter: its request, if any: an entity has at most one
 * @account: the quota it is charged to, or NULL
 * @id: number of the entity in its pool, in trace events
 * @tracks_dirty: the owner marks the buffers it writes with
 *	bufpool_buf_mark_dirty(); otherwise every buffer it held is zeroed
 *	when it comes back.  False after bufpool_entity_init().
 * @critical_exempt: may ask for CRITICAL buffers without holding others
 *	(see bufpool_alloc()).  False after bufpool_entity_init(); set by
 *	the owner before the first request, e.g. for a privileged opener.
 * @slot: free, zeroed buffers kept for this entity's next allocation
 *	(see BUFPOOL_SLOT_MAX): CACHED, counted in the pool's in_use, on no
 *	list; the first @nr_slot entries, a stack
 * @nr_slot: buffers in @slot; not 0 only while @slotted
 * @slotted: @slot may serve, and @slot_node is on the pool's list of
 *	slotted entities; set and cleared under the pool lock and @lock
 * @slot_node: link in that list while @slotted
 * @slot_gen: the pool's @slot_gen when it last asked to be slotted
 * @slot_allocations: requests @slot served, not yet counted in the pool's
 * @slot_releases: buffers given back to @slot, not yet counted in the pool's
 * @shared: its owner may have given others access to the buffers it holds
 *	(the character device: the file was mmap()ed), to be revoked between
 *	bufpool_release_detach() and bufpool_release_finish().  Until it is
 *	set, bufpool_release_detach() gives back at once what needs no
 *	zeroing.  False after bufpool_entity_init(); set with WRITE_ONCE()
 *	before the first access is given, never cleared.
 */
struct bufpool_entity {
	struct bufpool *pool;
	u64 id;
	struct bufpool_account *account;
	bool tracks_dirty;
	bool critical_exempt;
	bool shared;
	spinlock_t lock;	/* see @lock above */
	struct list_head held;
	unsigned int nr_held;
	unsigned int nr_critical;
	u64 grants;
	struct bufpool_waiter waiter;
	bool slotted;
	u32 slot_gen;
	unsigned int nr_slot;
	struct bufpool_buf *slot[BUFPOOL_SLOT_MAX];
	struct list_head slot_node;
	u64 slot_allocations;
	u64 slot_releases;
};

/**
 * struct bufpool_returning - buffers detached from their holder, not back yet
 * @bufs: the buffers, state RETURNING: held by nobody, so
 *	bufpool_held_buf() no longer finds them, and still charged to the
 *	pool's budget
 * @count: number of buffers on @bufs
 *
 * Filled by bufpool_release_detach() or bufpool_undo_detach(), emptied by
 * bufpool_release_finish().  In between the caller revokes whatever access
 * it gave to the buffers (the character device zaps their mappings); the
 * buffers stay allocated, so reading them is safe.
 */
struct bufpool_returning {
	struct list_head bufs;
	unsigned int count;
};

/**
 * struct bufpool_config - parameters of a new pool
 * @limit: most buffers in use at once, 1..BUFPOOL_LIMIT_MAX
 * @reserve: buffers only CRITICAL requests may take; below @limit
 * @bufsize: bytes per buffer, rounded up to whole pages
 * @quota: most buffers one account may be charged, 0 for no quota
 */
struct bufpool_config {
	unsigned int limit;
	unsigned int reserve;
	size_t bufsize;
	unsigned int quota;
};

/**
 * struct bufpool_tunables - what may change while the pool runs
 * @limit: most buffers in use at once, 1..BUFPOOL_LIMIT_MAX
 * @reserve: buffers kept allocated for CRITICAL requests; below @limit
 * @headroom: free buffers each class must leave after its allocation:
 *	CRITICAL 0 <= reserve <= NORMAL <= LOW < limit
 * @quota: most buffers one account may be charged, 0 for no quota
 * @policy: enum bufpool_policy
 */
struct bufpool_tunables {
	unsigned int limit;
	unsigned int reserve;
	unsigned int headroom[BUFPOOL_NR_CLASSES];
	unsigned int quota;
	unsigned int policy;
};

/*
 * In-kernel flag of bufpool_alloc(), never accepted from userspace: the
 * caller may sleep, so the buffers the pool has to create for it are
 * allocated and zeroed one per step with cond_resched() in between.
 */
#define BUFPOOL_ALLOC_MAY_SLEEP	_BITUL(31)
/*
 * In-kernel flag of bufpool_alloc_until(), never accepted from userspace:
 * the request this call queues is collected by its waiter's ->notify()
 * when it is granted (bufpool_collect_granted_locked(), which collects no
 * other).  It is the request's, like its deadline: fixed by the call that
 * queues it (@collect), changed by no later call, whatever that call's
 * flags say, and kept when an offer is taken up by the same class and count.
 */
#define BUFPOOL_ALLOC_COLLECT	_BITUL(30)

#define BUFPOOL_LIMIT_MAX	65536U
#define BUFPOOL_BUFSIZE_MAX	(4UL << 20)

unsigned int bufpool_limit_max(size_t bufsize);
int bufpool_check_config(const struct bufpool_config *cfg, const char **why);
struct bufpool *bufpool_create(const struct bufpool_config *cfg);
void bufpool_destroy(struct bufpool *pool);
size_t bufpool_bufsize(const struct bufpool *pool);

void bufpool_entity_init(struct bufpool *pool, struct bufpool_entity *e,
			 bufpool_wake_fn wake, void *target);
void bufpool_entity_set_account(struct bufpool_entity *e,
				struct bufpool_account *account);
void bufpool_entity_destroy(struct bufpool_entity *e);

int bufpool_alloc(struct bufpool_entity *e, unsigned int class,
		  unsigned int count, unsigned int flags,
		  struct bufpool_buf **bufs);
int bufpool_alloc_until(struct bufpool_entity *e, unsigned int class,
			unsigned int count, unsigned int flags, u64 deadline,
			struct bufpool_buf **bufs, struct bufpool_ticket *t);
bool bufpool_waiting(const struct bufpool_entity *e,
		     const struct bufpool_ticket *t);
int bufpool_wait_done(struct bufpool_entity *e, const struct bufpool_ticket *t,
		      int why, struct bufpool_buf **bufs);
u64 bufpool_expire(struct bufpool_entity *e);
unsigned int bufpool_collect_granted_locked(struct bufpool_entity *e,
					    u32 *ids, u64 *grant);
int bufpool_alloc_until_ids(struct bufpool_entity *e, unsigned int class,
			    unsigned int count, unsigned int flags,
			    u64 deadline, u32 *ids, u64 *grant,
			    struct bufpool_ticket *t);
int bufpool_wait_done_ids(struct bufpool_entity *e,
			  const struct bufpool_ticket *t, int why, u32 *ids,
			  u64 *grant);
bool bufpool_ready(const struct bufpool_entity *e);
bool bufpool_queued(const struct bufpool_entity *e);
int bufpool_cancel(struct bufpool_entity *e);
struct bufpool_buf *bufpool_held_buf(struct bufpool_entity *e, u32 id);
int bufpool_release(struct bufpool_entity *e, const u32 *ids,
		    unsigned int count);
int bufpool_release_detach(struct bufpool_entity *e, const u32 *ids,
			   unsigned int count, struct bufpool_returning *r);
unsigned int bufpool_undo_detach(struct bufpool_entity *e, u32 *ids,
				 unsigned int count, u64 grant,
				 struct bufpool_returning *r);
void bufpool_release_finish(struct bufpool *pool,
			    struct bufpool_returning *r);
void bufpool_kick(struct bufpool *pool);
struct bufpool *bufpool_system_pool(void);
void bufpool_get_stats(struct bufpool *pool, struct bufpool_stats *st);
void bufpool_default_headroom(struct bufpool_tunables *t);
void bufpool_get_tunables(struct bufpool *pool, struct bufpool_tunables *t);
int bufpool_set_tunables(struct bufpool *pool,
			 const struct bufpool_tunables *t, const char **why);
unsigned int bufpool_shrink_count(struct bufpool *pool);
unsigned int bufpool_shrink(struct bufpool *pool, unsigned int nr);

#endif /* _BUFPOOL_H */
