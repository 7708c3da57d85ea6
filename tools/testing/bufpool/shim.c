// SPDX-License-Identifier: GPL-2.0
/*
 * Runtime of the userspace shims: WARN_ON accounting, fatal errors,
 * kmalloc failure injection and the per-thread lock owner token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <linux/timekeeping.h>
#include <linux/wait_bit.h>
#include "harness.h"

unsigned int bp_warnings;
bool bp_warn_fatal;
bool bp_quiet;
unsigned int bp_kmalloc_fail;
u64 bp_clock_skew;
bool bp_clock_frozen;
/* 4 PiB: no limit of the harness ever reaches half of it */
unsigned long bp_totalram_pages = 1UL << 40;
__thread char bp_self;
__thread unsigned int bp_spinlocks_held;
__thread unsigned int bp_cpu;
unsigned long bp_resched_calls;
pthread_mutex_t bp_var_mutex = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t bp_var_cond = PTHREAD_COND_INITIALIZER;
unsigned long bp_var_sleeps;

void bp_warn(const char *file, int line, const char *cond)
{
	__atomic_add_fetch(&bp_warnings, 1, __ATOMIC_RELAXED);
	if (!bp_quiet || bp_warn_fatal)
		fprintf(stderr, "WARNING: %s:%d: WARN_ON(%s)\n", file, line, cond);
	if (bp_warn_fatal)
		abort();
}

void bp_fatal(const char *file, int line, const char *what)
{
	fprintf(stderr, "FATAL: %s:%d: %s\n", file, line, what);
	abort();
}
