/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: per-CPU data for BP_NR_CPUS emulated CPUs.  A thread
 * runs on the CPU bp_cpu says (0 unless it sets it), which it may change
 * at any time: a migration, which the core must only ever pay for in
 * locality.  Not subject to kmalloc failure injection.
 */
#ifndef _BP_SHIM_PERCPU_H
#define _BP_SHIM_PERCPU_H

#include <stdlib.h>

#define BP_NR_CPUS	2

extern __thread unsigned int bp_cpu;

#define __percpu
#define alloc_percpu(type)	((type *)calloc(BP_NR_CPUS, sizeof(type)))
#define free_percpu(p)		free(p)
#define per_cpu_ptr(p, cpu)	(&(p)[(cpu)])
#define raw_cpu_ptr(p)		(&(p)[bp_cpu % BP_NR_CPUS])
#define for_each_possible_cpu(cpu) \
	for ((cpu) = 0; (cpu) < BP_NR_CPUS; (cpu)++)

#endif
