/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: page size and alignment, the machine's memory. */
#ifndef _BP_SHIM_MM_H
#define _BP_SHIM_MM_H

#include <linux/kernel.h>

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x)	(((x) + PAGE_SIZE - 1) & PAGE_MASK)

/* shim.c: pages of "RAM", for the limit check; tests may lower it */
extern unsigned long bp_totalram_pages;

static inline unsigned long totalram_pages(void)
{
	return bp_totalram_pages;
}

#endif
