/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: lockdep_assert_held() is a real check against the owner
 * recorded by the spinlock shim; a miss ends the program.
 */
#ifndef _BP_SHIM_LOCKDEP_H
#define _BP_SHIM_LOCKDEP_H

#include <linux/spinlock.h>

#define lockdep_assert_held(l) do {					\
	if (!spin_is_held_by_me(l))					\
		bp_fatal(__FILE__, __LINE__,				\
			 "lockdep_assert_held(" #l ") without the lock"); \
} while (0)

#define lockdep_assert_not_held(l) do {					\
	if (spin_is_held_by_me(l))					\
		bp_fatal(__FILE__, __LINE__,				\
			 "lockdep_assert_not_held(" #l ")");		\
} while (0)

#endif
