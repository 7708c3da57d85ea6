// SPDX-License-Identifier: GPL-2.0
/*
 * The bufpool core, built unmodified for userspace, and the harness's
 * readers of its private state: a snapshot, a queue walk and bp_check(),
 * the invariant checker, which sees struct bufpool because it lives in
 * the same translation unit.
 */
#include "../../../module/bufpool_core.c"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"

struct bufpool_mem *bp_pool_mem(struct bufpool *pool)
{
	return pool->mem;
}

static void bp_snapshot_locked(struct bufpool *pool, struct bp_snap *s)
{
	u64 allocations, releases;
	unsigned int c, in_use;

	memset(s, 0, sizeof(*s));	/* padding too: tests memcmp() these */
	s->limit = pool->limit;
	s->reserve = pool->reserve;
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		s->headroom[c] = pool->headroom[c];
		s->nr_queued[c] = pool->nr_queued[c];
	}
	/* as STATS: the magazines' buffers are cached, not in use */
	in_use = bufpool_mag_sum_locked(pool, &allocations, &releases);
	s->in_use = in_use;
	s->nr_alloc = pool->nr_alloc;
	s->nr_cached = pool->nr_cached + (pool->in_use - in_use);
	s->nr_quarantined = pool->nr_quarantined;
	s->nr_growing = pool->nr_growing;
	s->nr_entities = pool->nr_entities;
	s->wakeups = pool->wakeups;
	s->grants_waited = pool->grants_waited;
	s->allocations = allocations;
	s->releases = releases;
	s->page_alloc_failures = pool->page_alloc_failures;
}

/* Takes the pool lock unless the caller (a ->wake()) already holds it. */
void bp_snapshot(struct bufpool *pool, struct bp_snap *s)
{
	bool mine = spin_is_held_by_me(&pool->lock);

	if (!mine)
		spin_lock(&pool->lock);
	bp_snapshot_locked(pool, s);
	if (!mine)
		spin_unlock(&pool->lock);
}

bool bp_pool_locked(struct bufpool *pool)
{
	return spin_is_held_by_me(&pool->lock);
}

unsigned int bp_queue_walk(struct bufpool *pool, unsigned int class,
			   struct bufpool_entity **out, unsigned int max)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	struct bufpool_waiter *w;
	unsigned int n = 0;

	if (!mine)
		spin_lock(&pool->lock);
	list_for_each_entry(w, &pool->queue[class], node) {
		if (n < max)
			out[n] = waiter_entity(w);
		n++;
	}
	if (!mine)
		spin_unlock(&pool->lock);
	return n;
}

/* Run the pool's offer expiry work if it is pending, as its worker would. */
bool bp_run_offer_expiry(struct bufpool *pool)
{
	return bp_run_delayed_work(&pool->offer_expiry);
}

/* Is the park window's timer or work pending? */
bool bp_park_pending(struct bufpool *pool)
{
	return hrtimer_is_queued(&pool->park_timer) ||
	       work_pending(&pool->park_work);
}

u64 bp_park_until(struct bufpool *pool)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	u64 v;

	if (!mine)
		spin_lock(&pool->lock);
	v = pool->park_until;
	if (!mine)
		spin_unlock(&pool->lock);
	return v;
}

u64 bp_park_expires(struct bufpool *pool)
{
	return bp_hrtimer_expires(&pool->park_timer);
}

unsigned long long bp_barges(struct bufpool *pool)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	unsigned long long v;

	if (!mine)
		spin_lock(&pool->lock);
	v = pool->barges;
	if (!mine)
		spin_unlock(&pool->lock);
	return v;
}

/*
 * Fire the park timer if it is pending (and expired, unless @early), and
 * run the work it queues, as the kernel's timer and worker would.
 */
bool bp_run_park(struct bufpool *pool, bool early)
{
	bool ran = bp_fire_hrtimer(&pool->park_timer, early);

	return bp_run_work(&pool->park_work) || ran;
}

/* Fire the park timer if it is pending, but do not run its work yet. */
bool bp_fire_park_timer(struct bufpool *pool, bool early)
{
	return bp_fire_hrtimer(&pool->park_timer, early);
}

bool bp_park_timer_pending(struct bufpool *pool)
{
	return hrtimer_is_queued(&pool->park_timer);
}

/* The park window's flags: closed, barged in the period, last period. */
unsigned int bp_park_flags(struct bufpool *pool)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	unsigned int v;

	if (!mine)
		spin_lock(&pool->lock);
	v = !pool->park_until ? 0 : pool->park_closed |
	    pool->park_barged << 1 | pool->park_last << 2;
	if (!mine)
		spin_unlock(&pool->lock);
	return v;
}

bool bp_park_closed(struct bufpool *pool)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	bool v;

	if (!mine)
		spin_lock(&pool->lock);
	v = pool->park_until && pool->park_closed;
	if (!mine)
		spin_unlock(&pool->lock);
	return v;
}

bool bp_offer_expiry_pending(struct bufpool *pool)
{
	return delayed_work_pending(&pool->offer_expiry);
}

unsigned int bp_nr_offered(struct bufpool *pool)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	unsigned int n;

	if (!mine)
		spin_lock(&pool->lock);
	n = pool->nr_offered;
	if (!mine)
		spin_unlock(&pool->lock);
	return n;
}

unsigned int bp_cache_usable(struct bufpool *pool, unsigned int class)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	unsigned int n;

	if (!mine)
		spin_lock(&pool->lock);
	n = bufpool_cache_usable(pool, class);
	if (!mine)
		spin_unlock(&pool->lock);
	return n;
}

struct bp_checker {
	struct bufpool *pool;
	struct bufpool_mem *mem;
	u8 *seen;
	u32 id_end;
	char *why;
	size_t len;
	int bad;
};

static __attribute__((format(printf, 2, 3)))
void bp_fail(struct bp_checker *ck, const char *fmt, ...)
{
	va_list ap;

	if (ck->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(ck->why, ck->len, fmt, ap);
	va_end(ap);
}

/* Each buffer must be known to the backend and be in one place only. */
static void bp_visit(struct bp_checker *ck, struct bufpool_buf *buf,
		     const char *where)
{
	if (buf->id >= ck->id_end ||
	    bufpool_mem_lookup(ck->mem, buf->id) != buf) {
		bp_fail(ck, "%s: buffer %p (id %u) unknown to the backend",
			where, buf, buf->id);
		return;
	}
	if (ck->seen[buf->id]++)
		bp_fail(ck, "%s: buffer %u found in two places (two owners)",
			where, buf->id);
	if (buf->marked)
		bp_fail(ck, "%s: buffer %u left marked", where, buf->id);
}

static void bp_check_wakeup(struct bp_checker *ck)
{
	struct bufpool *pool = ck->pool;
	struct bufpool_waiter *w;
	unsigned int c;
	bool parked;

	if (pool->park_until && !bufpool_total_queued(pool))
		bp_fail(ck, "a park window is open with nobody queued");
	/*
	 * The bound: an open window ends by the first head's, and until its
	 * timer fires (which closes it) the timer is armed for its end, so
	 * the first head is served as under hand-off once the timer fires,
	 * however late.
	 */
	c = bufpool_first_class(pool);
	if (pool->park_until && c < BUFPOOL_NR_CLASSES) {
		w = list_first_entry(&pool->queue[c], struct bufpool_waiter,
				     node);
		if (pool->park_until > w->queued_at + BUFPOOL_BARGE_NS)
			bp_fail(ck, "park window ends past the first (%s) head's bound",
				bp_class_name(c));
		/* (its work pending: the timer fired, renewal or grant to come) */
		if (!pool->park_closed && !work_pending(&pool->park_work) &&
		    (!hrtimer_is_queued(&pool->park_timer) ||
		     bp_hrtimer_expires(&pool->park_timer) > pool->park_until))
			bp_fail(ck, "an open park window's timer is not armed for its end");
		if (pool->park_last !=
		    (pool->park_until == w->queued_at + BUFPOOL_BARGE_NS) &&
		    !pool->park_closed)
			bp_fail(ck, "park window: park_last is wrong");
	}
	/* offer/all: free buffers may wait for the offered to try again */
	if (!bufpool_grants(pool))
		return;
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		w = list_first_entry_or_null(&pool->queue[c],
					     struct bufpool_waiter, node);
		if (!w)
			continue;
		if (!bufpool_budget_ok(pool, c, w->count)) {
			/* ... unless only its own side could give them back */
			if (bufpool_hopeless(waiter_entity(w), c, w->count))
				bp_fail(ck, "%s head wants %u that only its own side's buffers could serve: it holds up the queue",
					bp_class_name(c), w->count);
			return;	/* blocked by the budget: a release serves it */
		}
		parked = pool->policy == BUFPOOL_POLICY_ADAPTIVE &&
			 pool->park_until && bp_park_pending(pool);
		if (bufpool_cache_usable(pool, c) >= w->count) {
			if (!parked)
				bp_fail(ck, "lost wake-up: %s head wants %u, fits the budget (in_use %u limit %u) and the cache (%u usable)",
					bp_class_name(c), w->count, pool->in_use,
					pool->limit, bufpool_cache_usable(pool, c));
			/* parked: served when the timer (checked above) fires */
		} else if (!bp_mem_retry_pending(pool->mem) &&
			   !pool->nr_growing && !pool->nr_growers && !parked) {
			/* (parked: the window's timer asks for memory) */
			bp_fail(ck, "lost wake-up: %s head wants %u, fits the budget (in_use %u limit %u), short of memory and no retry pending",
				bp_class_name(c), w->count, pool->in_use,
				pool->limit);
		}
		return;
	}
}

/**
 * bp_check() - check every invariant of @pool against its entities
 * @pool: the pool
 * @ents: every entity attached to @pool
 * @nr_ents: their number
 * @flags: BP_CHECK_*
 * @why: the first violation, on failure
 * @len: size of @why
 *
 * Takes the pool lock unless the caller holds it.
 *
 * Return: 0, or -1 with @why filled.
 */
int bp_check(struct bufpool *pool, struct bufpool_entity *const *ents,
	     unsigned int nr_ents, unsigned int flags, char *why, size_t len)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	struct bp_checker ck = { .pool = pool, .mem = pool->mem, .why = why,
				 .len = len };
	unsigned int queued[BUFPOOL_NR_CLASSES] = { 0 };
	unsigned int held = 0, granted = 0, returning = 0, live = 0;
	unsigned int quarantined = 0, mag = 0, slot = 0, slotted = 0;
	unsigned int offered = 0;
	int cpu;
	struct bufpool_entity *e_;
	struct bufpool_waiter *w;
	struct bufpool_buf *buf;
	unsigned int i, j, c, n, crit;
	u32 id;

	if (!mine)
		spin_lock(&pool->lock);
	/* no fast operation runs while every entity and magazine is locked */
	for (i = 0; i < nr_ents; i++)
		spin_lock(&ents[i]->lock);
	for (cpu = 0; cpu < BP_NR_CPUS; cpu++)
		spin_lock(&per_cpu_ptr(pool->pcpu, cpu)->lock);
	ck.id_end = bp_mem_id_end(pool->mem);
	ck.seen = calloc(ck.id_end + 1, 1);

	for (cpu = 0; cpu < BP_NR_CPUS; cpu++) {
		struct bufpool_pcpu *m = per_cpu_ptr(pool->pcpu, cpu);

		if (m->nr > BUFPOOL_MAG_MAX)
			bp_fail(&ck, "magazine %u: nr %u beyond its %u slots",
				cpu, m->nr, BUFPOOL_MAG_MAX);
		for (n = 0; n < m->nr && n < BUFPOOL_MAG_MAX; n++) {
			buf = m->bufs[n];
			bp_visit(&ck, buf, "magazine");
			if (buf->state != BUFPOOL_BUF_CACHED || buf->owner)
				bp_fail(&ck, "magazine buffer %u in state %u owner %p",
					buf->id, buf->state, buf->owner);
			if ((flags & BP_CHECK_ZERO) &&
			    !bp_mem_zeroed(pool->mem, buf))
				bp_fail(&ck, "magazine buffer %u is not zeroed",
					buf->id);
		}
		if (n != m->nr)
			bp_fail(&ck, "magazine %u holds %u buffers, nr %u", cpu,
				n, m->nr);
		if (n && !pool->fast)
			bp_fail(&ck, "magazine %u holds %u buffers, fast path off",
				cpu, n);
		mag += n;
	}
	if (pool->fast && bufpool_total_queued(pool))
		bp_fail(&ck, "a request is queued while the magazines serve");
	if (pool->fast && pool->in_use + pool->headroom[BUFPOOL_CLASS_LOW] >
			  pool->limit)
		bp_fail(&ck, "magazines serve with in_use %u beyond LOW's budget (limit %u)",
			pool->in_use, pool->limit);
	if (pool->fast && pool->nr_cached < pool->reserve)
		bp_fail(&ck, "magazines serve with %u cached, below the reserve %u",
			pool->nr_cached, pool->reserve);

	n = 0;
	list_for_each_entry(buf, &pool->cache, node) {
		bp_visit(&ck, buf, "cache");
		if (buf->state != BUFPOOL_BUF_CACHED || buf->owner)
			bp_fail(&ck, "cached buffer %u in state %u owner %p",
				buf->id, buf->state, buf->owner);
		if ((flags & BP_CHECK_ZERO) && !bp_mem_zeroed(pool->mem, buf))
			bp_fail(&ck, "cached buffer %u is not zeroed", buf->id);
		n++;
	}
	if (n != pool->nr_cached)
		bp_fail(&ck, "cache holds %u buffers, nr_cached %u", n,
			pool->nr_cached);

	for (i = 0; i < nr_ents; i++) {
		struct bufpool_entity *e = ents[i];

		w = &e->waiter;
		if (e->pool != pool)
			bp_fail(&ck, "entity %u: wrong pool", i);
		n = 0;
		crit = 0;
		list_for_each_entry(buf, &e->held, node) {
			bp_visit(&ck, buf, "held");
			if (buf->state != BUFPOOL_BUF_HELD || buf->owner != e)
				bp_fail(&ck, "entity %u: held buffer %u in state %u owner %p",
					i, buf->id, buf->state, buf->owner);
			crit += buf->critical;
			n++;
		}
		if (n != e->nr_held)
			bp_fail(&ck, "entity %u: %u buffers held, nr_held %u",
				i, n, e->nr_held);

		/* its slot: a magazine of its own, only while slotted */
		if (e->nr_slot > BUFPOOL_SLOT_MAX)
			bp_fail(&ck, "entity %u: nr_slot %u beyond its %u",
				i, e->nr_slot, BUFPOOL_SLOT_MAX);
		if (e->nr_slot && !e->slotted)
			bp_fail(&ck, "entity %u: %u buffers in the slot, not slotted",
				i, e->nr_slot);
		if (e->slotted != !list_empty(&e->slot_node))
			bp_fail(&ck, "entity %u: slotted %d, on the list %d",
				i, e->slotted, !list_empty(&e->slot_node));
		if (e->slotted && !pool->fast)
			bp_fail(&ck, "entity %u: slotted, fast path off", i);
		slotted += e->slotted;
		for (j = 0; j < e->nr_slot && j < BUFPOOL_SLOT_MAX; j++) {
			buf = e->slot[j];
			bp_visit(&ck, buf, "slot");
			if (buf->state != BUFPOOL_BUF_CACHED || buf->owner)
				bp_fail(&ck, "entity %u: slot buffer %u in state %u owner %p",
					i, buf->id, buf->state, buf->owner);
			if ((flags & BP_CHECK_ZERO) &&
			    !bp_mem_zeroed(pool->mem, buf))
				bp_fail(&ck, "entity %u: slot buffer %u is not zeroed",
					i, buf->id);
			slot++;
		}
		if (crit != e->nr_critical)
			bp_fail(&ck, "entity %u: %u critical buffers held, nr_critical %u",
				i, crit, e->nr_critical);
		held += n;

		n = 0;
		list_for_each_entry(buf, &w->granted, node) {
			bp_visit(&ck, buf, "granted");
			if (buf->state != BUFPOOL_BUF_GRANTED ||
			    buf->owner != e)
				bp_fail(&ck, "entity %u: granted buffer %u in state %u owner %p",
					i, buf->id, buf->state, buf->owner);
			n++;
		}
		granted += n;

		/* an account's counters: the sums over its entities */
		if (e->account) {
			unsigned int ch = 0, qd = 0;

			for (j = 0; j < nr_ents; j++) {
				struct bufpool_entity *o = ents[j];

				if (o->account != e->account)
					continue;
				ch += o->nr_held;
				if (o->waiter.state == BUFPOOL_WAIT_QUEUED)
					qd += o->waiter.count;
				if (o->waiter.state == BUFPOOL_WAIT_QUEUED ||
				    o->waiter.state == BUFPOOL_WAIT_GRANTED)
					ch += o->waiter.count;
			}
			/* given back, not back yet: still the account's */
			for (id = 0; id < ck.id_end; id++) {
				buf = bufpool_mem_lookup(pool->mem, id);
				if (buf && buf->account == e->account &&
				    (buf->state == BUFPOOL_BUF_QUARANTINED ||
				     buf->state == BUFPOOL_BUF_RETURNING))
					ch++;
			}
			if (e->account->queued != qd ||
			    ((flags & BP_CHECK_QUIESCENT) &&
			     atomic_read(&e->account->charged) != ch))
				bp_fail(&ck, "entity %u: account charged %u queued %u, entities %u / %u",
					i, atomic_read(&e->account->charged),
					e->account->queued, ch, qd);
		}

		switch (w->state) {
		case BUFPOOL_WAIT_IDLE:
		case BUFPOOL_WAIT_FAILED:
		case BUFPOOL_WAIT_EXPIRED:
			if (!list_empty(&w->node) || n)
				bp_fail(&ck, "entity %u: idle/failed/expired waiter queued or granted (%u)",
					i, n);
			break;
		case BUFPOOL_WAIT_OFFERED:
			if (list_empty(&w->node) || n)
				bp_fail(&ck, "entity %u: offered waiter off the offer list, or granted (%u)",
					i, n);
			offered++;
			break;
		case BUFPOOL_WAIT_QUEUED:
			if (list_empty(&w->node) || n)
				bp_fail(&ck, "entity %u: queued waiter off queue or granted (%u)",
					i, n);
			if (w->class >= BUFPOOL_NR_CLASSES || !w->count ||
			    w->count > BUFPOOL_ALLOC_MAX ||
			    w->count + pool->headroom[w->class] > pool->limit)
				bp_fail(&ck, "entity %u: queued request %u x %u can never be served",
					i, w->class, w->count);
			else
				queued[w->class]++;
			break;
		case BUFPOOL_WAIT_GRANTED:
			if (!list_empty(&w->node) || n != w->count)
				bp_fail(&ck, "entity %u: granted waiter queued, or %u buffers for %u",
					i, n, w->count);
			break;
		default:
			bp_fail(&ck, "entity %u: waiter state %u", i, w->state);
		}
	}

	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		n = 0;
		list_for_each_entry(w, &pool->queue[c], node) {
			for (i = 0; i < nr_ents; i++)
				if (&ents[i]->waiter == w)
					break;
			if (i == nr_ents)
				bp_fail(&ck, "queue %s: waiter of an unknown entity",
					bp_class_name(c));
			if (w->state != BUFPOOL_WAIT_QUEUED || w->class != c)
				bp_fail(&ck, "queue %s: waiter in state %u class %u",
					bp_class_name(c), w->state, w->class);
			n++;
		}
		if (n != pool->nr_queued[c] || n != queued[c])
			bp_fail(&ck, "queue %s: %u waiters, nr_queued %u, %u entities queued",
				bp_class_name(c), n, pool->nr_queued[c],
				queued[c]);
	}

	n = 0;
	list_for_each_entry(w, &pool->offered, node) {
		for (i = 0; i < nr_ents; i++)
			if (&ents[i]->waiter == w)
				break;
		if (i == nr_ents)
			bp_fail(&ck, "offer list: waiter of an unknown entity");
		if (w->state != BUFPOOL_WAIT_OFFERED)
			bp_fail(&ck, "offer list: waiter in state %u", w->state);
		n++;
	}
	if (n != pool->nr_offered || n != offered)
		bp_fail(&ck, "offer list: %u waiters, nr_offered %u, %u entities offered",
			n, pool->nr_offered, offered);
	if (pool->nr_offered && !delayed_work_pending(&pool->offer_expiry))
		bp_fail(&ck, "%u offers outstanding and no expiry pending",
			pool->nr_offered);

	n = 0;
	list_for_each_entry(e_, &pool->slotted, slot_node) {
		for (i = 0; i < nr_ents; i++)
			if (ents[i] == e_)
				break;
		if (i == nr_ents)
			bp_fail(&ck, "slotted list: an unknown entity");
		else if (!e_->slotted)
			bp_fail(&ck, "slotted list: entity %u not slotted", i);
		if (++n > nr_ents)
			break;
	}
	if (n != slotted)
		bp_fail(&ck, "slotted list: %u entities, %u slotted", n,
			slotted);
	if (n != pool->nr_slotted || n > BUFPOOL_SLOTTED_MAX)
		bp_fail(&ck, "slotted list: %u entities, nr_slotted %u, at most %u",
			n, pool->nr_slotted, BUFPOOL_SLOTTED_MAX);

	/* Buffers in no list: being zeroed on their way back, or leaked. */
	for (id = 0; id < ck.id_end; id++) {
		buf = bufpool_mem_lookup(pool->mem, id);
		if (!buf)
			continue;
		live++;
		if (buf->state == BUFPOOL_BUF_RETURNING && !ck.seen[id]) {
			ck.seen[id] = 1;
			returning++;
		}
		/* the backend's until their memory is theirs alone again */
		if (buf->state == BUFPOOL_BUF_QUARANTINED && !ck.seen[id]) {
			ck.seen[id] = 1;
			quarantined++;
		}
		if ((flags & BP_CHECK_QUIESCENT) && !ck.seen[id])
			bp_fail(&ck, "buffer %u (state %u) is in no list: leaked",
				id, buf->state);
	}

	if (pool->nr_alloc != pool->in_use + pool->nr_cached)
		bp_fail(&ck, "allocated %u != in_use %u + cached %u",
			pool->nr_alloc, pool->in_use, pool->nr_cached);
	if (pool->in_use != held + granted + returning + quarantined + mag +
			    slot)
		bp_fail(&ck, "in_use %u != held %u + granted %u + returning %u + quarantined %u + magazines %u + slots %u",
			pool->in_use, held, granted, returning, quarantined,
			mag, slot);
	if (pool->nr_quarantined != quarantined)
		bp_fail(&ck, "nr_quarantined %u, %u buffers quarantined",
			pool->nr_quarantined, quarantined);
	if ((flags & BP_CHECK_QUIESCENT) &&
	    bp_mem_quarantined(pool->mem) != quarantined)
		bp_fail(&ck, "quiescent pool: backend keeps %u, %u quarantined",
			bp_mem_quarantined(pool->mem), quarantined);
	if ((flags & BP_CHECK_QUIESCENT) && (pool->nr_growing || pool->nr_growers))
		bp_fail(&ck, "quiescent pool: %u buffers still growing, %u growers",
			pool->nr_growing, pool->nr_growers);
	if ((flags & BP_CHECK_QUIESCENT) && (returning || live != pool->nr_alloc))
		bp_fail(&ck, "quiescent pool: %u returning, %u buffers live for %u allocated",
			returning, live, pool->nr_alloc);
	if (pool->nr_alloc < pool->reserve)
		bp_fail(&ck, "allocated %u below the reserve %u",
			pool->nr_alloc, pool->reserve);
	if (pool->nr_entities != nr_ents)
		bp_fail(&ck, "nr_entities %u, %u entities known",
			pool->nr_entities, nr_ents);
	/* every section of the lock ends by taking its wake-ups */
	if (!mine && !list_empty(&pool->wake_list))
		bp_fail(&ck, "waiters left to wake when the pool lock is taken");
	for (i = 0; i < nr_ents && (flags & BP_CHECK_QUIESCENT); i++) {
		w = &ents[i]->waiter;
		if (w->wake_listed || atomic_read(&w->wake_owed))
			bp_fail(&ck, "quiescent pool: entity %u owed %d wake-ups (listed %d)",
				i, atomic_read(&w->wake_owed), w->wake_listed);
	}
	if (flags & BP_CHECK_WAKEUP)
		bp_check_wakeup(&ck);

	free(ck.seen);
	for (cpu = 0; cpu < BP_NR_CPUS; cpu++)
		spin_unlock(&per_cpu_ptr(pool->pcpu, cpu)->lock);
	for (i = 0; i < nr_ents; i++)
		spin_unlock(&ents[i]->lock);
	if (!mine)
		spin_unlock(&pool->lock);
	return ck.bad ? -1 : 0;
}

/* The per-CPU magazines: are they on, and what holds one. */
bool bp_fast(struct bufpool *pool)
{
	bool mine = spin_is_held_by_me(&pool->lock);
	bool v;

	if (!mine)
		spin_lock(&pool->lock);
	v = pool->fast;
	if (!mine)
		spin_unlock(&pool->lock);
	return v;
}

unsigned int bp_mag_nr(struct bufpool *pool, unsigned int cpu)
{
	struct bufpool_pcpu *m = per_cpu_ptr(pool->pcpu, cpu % BP_NR_CPUS);
	unsigned int n;

	spin_lock(&m->lock);
	n = m->nr;
	spin_unlock(&m->lock);
	return n;
}

/* Requests the magazines served, over every CPU. */
unsigned long long bp_fast_allocs(struct bufpool *pool)
{
	unsigned long long n = 0;
	struct bufpool_pcpu *m;
	int cpu;

	for_each_possible_cpu(cpu) {
		m = per_cpu_ptr(pool->pcpu, cpu);
		spin_lock(&m->lock);
		n += m->allocations;
		spin_unlock(&m->lock);
	}
	return n;
}

/* Buffers in @e's slot, and whether it is slotted. */
unsigned int bp_slot_nr(struct bufpool_entity *e, bool *slotted)
{
	unsigned int n;

	spin_lock(&e->lock);
	n = e->nr_slot;
	if (slotted)
		*slotted = e->slotted;
	spin_unlock(&e->lock);
	return n;
}
