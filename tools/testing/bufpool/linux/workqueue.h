/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: a (delayed) work item is a pending flag and its function;
 * nothing runs it by itself.  The harness runs a pending one when it
 * chooses with bp_run_delayed_work(), as the kernel's worker would (no
 * lock held).  Jiffies are milliseconds here.
 */
#ifndef _BP_SHIM_WORKQUEUE_H
#define _BP_SHIM_WORKQUEUE_H

#include <linux/kernel.h>
#include <linux/types.h>

struct work_struct;
typedef void (*work_func_t)(struct work_struct *work);

struct work_struct {
	work_func_t func;
	bool pending;
};

struct delayed_work {
	struct work_struct work;
	bool pending;
	unsigned long delay;
};

struct workqueue_struct;
#define system_wq	((struct workqueue_struct *)NULL)
#define system_highpri_wq	((struct workqueue_struct *)NULL)

#define INIT_WORK(w, fn) do {						\
	(w)->func = (fn);						\
	__atomic_store_n(&(w)->pending, false, __ATOMIC_SEQ_CST);	\
} while (0)

static inline bool queue_work(struct workqueue_struct *wq,
			      struct work_struct *w)
{
	return !__atomic_exchange_n(&w->pending, true, __ATOMIC_SEQ_CST);
}

static inline bool cancel_work_sync(struct work_struct *w)
{
	return __atomic_exchange_n(&w->pending, false, __ATOMIC_SEQ_CST);
}

static inline bool work_pending(struct work_struct *w)
{
	return __atomic_load_n(&w->pending, __ATOMIC_SEQ_CST);
}

/* Harness: run @w now if it is queued.  Returns whether it ran. */
static inline bool bp_run_work(struct work_struct *w)
{
	if (!__atomic_exchange_n(&w->pending, false, __ATOMIC_SEQ_CST))
		return false;
	w->func(w);
	return true;
}

#define INIT_DELAYED_WORK(dw, fn) do {					\
	(dw)->work.func = (fn);						\
	__atomic_store_n(&(dw)->pending, false, __ATOMIC_SEQ_CST);	\
	(dw)->delay = 0;						\
} while (0)

#define to_delayed_work(w)	container_of(w, struct delayed_work, work)

static inline unsigned long nsecs_to_jiffies(u64 n)
{
	return (unsigned long)(n / 1000000);
}

static inline bool mod_delayed_work(struct workqueue_struct *wq,
				    struct delayed_work *dw,
				    unsigned long delay)
{
	__atomic_store_n(&dw->delay, delay, __ATOMIC_SEQ_CST);
	return __atomic_exchange_n(&dw->pending, true, __ATOMIC_SEQ_CST);
}

static inline bool schedule_delayed_work(struct delayed_work *dw,
					 unsigned long delay)
{
	bool was = __atomic_exchange_n(&dw->pending, true, __ATOMIC_SEQ_CST);

	if (!was)
		__atomic_store_n(&dw->delay, delay, __ATOMIC_SEQ_CST);
	return !was;
}

static inline bool cancel_delayed_work_sync(struct delayed_work *dw)
{
	return __atomic_exchange_n(&dw->pending, false, __ATOMIC_SEQ_CST);
}

static inline bool delayed_work_pending(struct delayed_work *dw)
{
	return __atomic_load_n(&dw->pending, __ATOMIC_SEQ_CST);
}

/* Harness: run @dw now if it is pending.  Returns whether it ran. */
static inline bool bp_run_delayed_work(struct delayed_work *dw)
{
	if (!__atomic_exchange_n(&dw->pending, false, __ATOMIC_SEQ_CST))
		return false;
	dw->work.func(&dw->work);
	return true;
}

#endif
