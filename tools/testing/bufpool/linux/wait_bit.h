/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: wait_var_event() and wake_up_var() on one condition
 * variable for every address, as the kernel hashes addresses to a few
 * wait queues: wake_up_var() never dereferences the address, so it may be
 * given one already freed.  Waiting under a spinlock aborts (it sleeps);
 * bp_var_sleeps counts the waits that had to sleep.
 */
#ifndef _BP_SHIM_WAIT_BIT_H
#define _BP_SHIM_WAIT_BIT_H

#include <pthread.h>
#include <linux/bug.h>
#include <linux/spinlock.h>

extern pthread_mutex_t bp_var_mutex;
extern pthread_cond_t bp_var_cond;
extern unsigned long bp_var_sleeps;

static inline void wake_up_var(void *var)
{
	(void)var;
	pthread_mutex_lock(&bp_var_mutex);
	pthread_cond_broadcast(&bp_var_cond);
	pthread_mutex_unlock(&bp_var_mutex);
}

#define wait_var_event(var, condition) do {				\
	(void)(var);							\
	if (bp_spinlocks_held)						\
		bp_fatal(__FILE__, __LINE__,				\
			 "wait_var_event() under a spinlock");		\
	pthread_mutex_lock(&bp_var_mutex);				\
	if (!(condition))						\
		__atomic_add_fetch(&bp_var_sleeps, 1, __ATOMIC_RELAXED); \
	while (!(condition))						\
		pthread_cond_wait(&bp_var_cond, &bp_var_mutex);		\
	pthread_mutex_unlock(&bp_var_mutex);				\
} while (0)

#endif
