/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: READ_ONCE()/WRITE_ONCE() as relaxed atomics, which is
 * what the kernel memory model (and KCSAN) takes them for, so that
 * ThreadSanitizer sees them as marked accesses too.
 */
#ifndef _BP_SHIM_COMPILER_H
#define _BP_SHIM_COMPILER_H

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

#define __must_hold(x)
#define __releases(x)

#ifndef __always_inline
#define __always_inline		inline __attribute__((__always_inline__))
#endif
#ifndef noinline
#define noinline		__attribute__((__noinline__))
#endif

/* the kernel's exemption from -ftrivial-auto-var-init, unused here */
#define __uninitialized

#endif
