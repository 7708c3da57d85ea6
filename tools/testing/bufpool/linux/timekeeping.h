/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: ktime_get_ns() from CLOCK_MONOTONIC.
 */
#ifndef _BP_SHIM_TIMEKEEPING_H
#define _BP_SHIM_TIMEKEEPING_H

#include <time.h>
#include <linux/types.h>

static inline u64 ktime_get_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#endif
