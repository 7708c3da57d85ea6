/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: spinlock_t is a pthread mutex that remembers its owner,
 * so lockdep_assert_held() really checks that the caller holds it and a
 * recursive spin_lock() (->wake() calling back into the pool) is caught
 * instead of hanging.  Each thread counts the spinlocks it holds, so that
 * page allocation, zeroing and cond_resched() under one are caught.
 */
#ifndef _BP_SHIM_SPINLOCK_H
#define _BP_SHIM_SPINLOCK_H

#include <pthread.h>
#include <linux/bug.h>
#include <linux/types.h>

typedef struct {
	pthread_mutex_t mutex;
	const void *owner;	/* &bp_self of the holder, or NULL */
} spinlock_t;

/* One distinct address per thread identifies the holder. */
extern __thread char bp_self;
/* spinlocks this thread holds: what may not be done then is checked */
extern __thread unsigned int bp_spinlocks_held;

static inline void spin_lock_init(spinlock_t *l)
{
	pthread_mutex_init(&l->mutex, NULL);
	l->owner = NULL;
}

static inline bool spin_is_held_by_me(const spinlock_t *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == &bp_self;
}

static inline void spin_lock(spinlock_t *l)
{
	if (spin_is_held_by_me(l))
		bp_fatal(__FILE__, __LINE__, "recursive spin_lock()");
	pthread_mutex_lock(&l->mutex);
	__atomic_store_n(&l->owner, &bp_self, __ATOMIC_RELAXED);
	bp_spinlocks_held++;
}

static inline void spin_unlock(spinlock_t *l)
{
	if (!spin_is_held_by_me(l))
		bp_fatal(__FILE__, __LINE__, "spin_unlock() of a lock not held");
	bp_spinlocks_held--;
	__atomic_store_n(&l->owner, NULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&l->mutex);
}

#define spin_lock_irqsave(l, flags)	do { (void)(flags); spin_lock(l); } while (0)
#define spin_unlock_irqrestore(l, flags) do { (void)(flags); spin_unlock(l); } while (0)
#define spin_lock_bh(l)		spin_lock(l)
#define spin_unlock_bh(l)	spin_unlock(l)

#endif
