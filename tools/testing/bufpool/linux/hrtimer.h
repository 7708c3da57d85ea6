/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: an hrtimer is a pending flag, an expiry time (ns of
 * ktime_get_ns(), so the harness's clock skew and frozen clock apply) and
 * its function; nothing fires it by itself.  The harness fires a pending
 * one with bp_fire_hrtimer() when it chooses, as the kernel's timer
 * interrupt would (no lock held).
 */
#ifndef _BP_SHIM_HRTIMER_H
#define _BP_SHIM_HRTIMER_H

#include <time.h>
#include <linux/timekeeping.h>
#include <linux/types.h>

typedef s64 ktime_t;

enum hrtimer_restart { HRTIMER_NORESTART, HRTIMER_RESTART };
enum hrtimer_mode { HRTIMER_MODE_ABS, HRTIMER_MODE_REL };

struct hrtimer {
	enum hrtimer_restart (*function)(struct hrtimer *t);
	bool pending;
	u64 expires;
};

static inline ktime_t ns_to_ktime(u64 ns)
{
	return (ktime_t)ns;
}

static inline void hrtimer_init(struct hrtimer *t, clockid_t clock,
				enum hrtimer_mode mode)
{
	t->function = NULL;
	__atomic_store_n(&t->pending, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->expires, 0, __ATOMIC_SEQ_CST);
}

/*
 * (Re)arm at @tim, ns of ktime_get_ns() (HRTIMER_MODE_ABS) or from now
 * (HRTIMER_MODE_REL, which reads the clock): a pending timer moves to the
 * new expiry.
 */
static inline void hrtimer_start(struct hrtimer *t, ktime_t tim,
				 enum hrtimer_mode mode)
{
	u64 exp = mode == HRTIMER_MODE_REL ? ktime_get_ns() + tim : tim;

	__atomic_store_n(&t->expires, exp, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->pending, true, __ATOMIC_SEQ_CST);
}

static inline int hrtimer_cancel(struct hrtimer *t)
{
	return __atomic_exchange_n(&t->pending, false, __ATOMIC_SEQ_CST);
}

static inline bool hrtimer_is_queued(struct hrtimer *t)
{
	return __atomic_load_n(&t->pending, __ATOMIC_SEQ_CST);
}

static inline u64 bp_hrtimer_expires(struct hrtimer *t)
{
	return __atomic_load_n(&t->expires, __ATOMIC_SEQ_CST);
}

/* Harness: fire @t if it is pending (and, unless @early, expired). */
static inline bool bp_fire_hrtimer(struct hrtimer *t, bool early)
{
	if (!early && ktime_get_ns() < bp_hrtimer_expires(t))
		return false;
	if (!__atomic_exchange_n(&t->pending, false, __ATOMIC_SEQ_CST))
		return false;
	t->function(t);
	return true;
}

#endif
