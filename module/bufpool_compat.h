/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufpool_compat.h - the one place that knows kernel versions.
 *
 * bufpool builds against every kernel from 6.1 on.  Where an interface
 * it uses changed, this header gives older kernels the newer spelling,
 * keyed on LINUX_VERSION_CODE, so the rest of the module is written
 * against the newest API and holds no version test of its own.  Add to
 * it, newest change last; drop an entry when its kernel stops being
 * supported.
 */
#ifndef _BUFPOOL_COMPAT_H
#define _BUFPOOL_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

/* 6.3 made vma->vm_flags const: flags change through vm_flags_set(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * The largest order the page allocator serves.  Before 6.4 MAX_ORDER was
 * one past it; 6.4 made MAX_ORDER that order itself, and 6.8 renamed it
 * MAX_PAGE_ORDER.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define MAX_PAGE_ORDER	(MAX_ORDER - 1)
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define MAX_PAGE_ORDER	MAX_ORDER
#endif

#endif /* _BUFPOOL_COMPAT_H */
