/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: kmalloc and friends on top of malloc, with a failure
 * injection knob (bp_kmalloc_fail: fail that many next allocations).
 */
#ifndef _BP_SHIM_SLAB_H
#define _BP_SHIM_SLAB_H

#include <stdlib.h>
#include <string.h>
#include <linux/gfp.h>

extern unsigned int bp_kmalloc_fail;

static inline void *kmalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	if (__atomic_load_n(&bp_kmalloc_fail, __ATOMIC_RELAXED)) {
		__atomic_sub_fetch(&bp_kmalloc_fail, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	return malloc(size ? size : 1);
}

static inline void *kzalloc(size_t size, gfp_t gfp)
{
	void *p = kmalloc(size, gfp);

	if (p)
		memset(p, 0, size);
	return p;
}

static inline void kfree(const void *p)
{
	free((void *)p);
}

#endif
