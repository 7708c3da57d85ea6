/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: container_of(), ARRAY_SIZE() and the libc pieces the
 * core gets from the kernel's headers indirectly (memcpy, memset).
 */
#ifndef _BP_SHIM_KERNEL_H
#define _BP_SHIM_KERNEL_H

#include <stddef.h>
#include <string.h>
#include <linux/compiler.h>
#include <linux/types.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* no kernel configuration here: every option is off */
#define IS_ENABLED(option)	0

#ifndef U64_MAX
#define U64_MAX		((u64)~0ULL)
#endif

#endif
