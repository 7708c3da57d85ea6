/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: min()/max()/clamp() that evaluate their arguments once
 * and, like the kernel's, warn when the two types differ.
 */
#ifndef _BP_SHIM_MINMAX_H
#define _BP_SHIM_MINMAX_H

#define __bp_cmp(a, b, op) ({			\
	__typeof__(a) __x = (a);		\
	__typeof__(b) __y = (b);		\
	(void)(&__x == &__y);			\
	__x op __y ? __x : __y; })

#define min(a, b)	__bp_cmp(a, b, <)
#define min3(a, b, c)	min(min(a, b), c)
#define max(a, b)	__bp_cmp(a, b, >)
#define clamp(v, lo, hi)	min(max(v, lo), hi)
#define min_t(t, a, b)	min((t)(a), (t)(b))

#endif
