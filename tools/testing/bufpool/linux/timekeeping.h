/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: ktime_get_ns() from CLOCK_MONOTONIC, plus bp_clock_skew
 * (shim.c), which tests add to move time forward; with bp_clock_frozen
 * set (the model checker), time is bp_clock_skew alone and moves only
 * when the harness moves it.
 */
#ifndef _BP_SHIM_TIMEKEEPING_H
#define _BP_SHIM_TIMEKEEPING_H

#include <time.h>
#include <linux/types.h>

extern u64 bp_clock_skew;
extern bool bp_clock_frozen;

static inline u64 ktime_get_ns(void)
{
	struct timespec ts;

	if (__atomic_load_n(&bp_clock_frozen, __ATOMIC_RELAXED))
		return __atomic_load_n(&bp_clock_skew, __ATOMIC_RELAXED);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + ts.tv_nsec +
	       __atomic_load_n(&bp_clock_skew, __ATOMIC_RELAXED);
}

#endif
