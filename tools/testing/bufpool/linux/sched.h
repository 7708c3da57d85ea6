/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: cond_resched() counts the points where the core yields
 * the CPU, and aborts when one is reached with a spinlock held (the kernel
 * would be sleeping in atomic context).
 */
#ifndef _BP_SHIM_SCHED_H
#define _BP_SHIM_SCHED_H

#include <linux/bug.h>
#include <linux/spinlock.h>

extern unsigned long bp_resched_calls;

static inline void cond_resched(void)
{
	if (bp_spinlocks_held)
		bp_fatal(__FILE__, __LINE__, "cond_resched() under a spinlock");
	__atomic_add_fetch(&bp_resched_calls, 1, __ATOMIC_RELAXED);
}

/* no preemption to turn off: the checks are on spinlocks and yields */
static inline void preempt_disable(void)
{
}

static inline void preempt_enable(void)
{
}

#endif
