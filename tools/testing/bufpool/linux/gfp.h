/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: allocation flags.  Only whether a caller may sleep
 * matters to the harness: the memory backend fails GFP_NOWAIT and
 * GFP_KERNEL allocations separately on demand.
 */
#ifndef _BP_SHIM_GFP_H
#define _BP_SHIM_GFP_H

#include <linux/types.h>

typedef unsigned int gfp_t;

#define __GFP_DIRECT_RECLAIM	0x01u
#define __GFP_NOWARN		0x02u
#define __GFP_ZERO		0x04u
#define __GFP_KSWAPD_RECLAIM	0x08u
#define GFP_NOWAIT		(__GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL		(__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)

static inline bool gfpflags_allow_blocking(gfp_t gfp)
{
	return gfp & __GFP_DIRECT_RECLAIM;
}

#endif
