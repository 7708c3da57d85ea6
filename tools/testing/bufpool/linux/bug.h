/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: WARN_ON()/WARN_ON_ONCE() report and count in
 * bp_warnings, which every test checks (and bp_warn_fatal makes abort,
 * for the fuzzer and the model checker); BUG_ON() aborts.
 */
#ifndef _BP_SHIM_BUG_H
#define _BP_SHIM_BUG_H

#include <stdbool.h>
#include <stdlib.h>

extern unsigned int bp_warnings;
void bp_warn(const char *file, int line, const char *cond);
void bp_fatal(const char *file, int line, const char *what);

#define WARN_ON(cond) ({						\
	bool __bp_c = !!(cond);						\
	if (__bp_c)							\
		bp_warn(__FILE__, __LINE__, #cond);			\
	__bp_c; })

/* Every hit counts: a test must see the second one too. */
#define WARN_ON_ONCE(cond)	WARN_ON(cond)

#define BUG_ON(cond) do {						\
	if (cond)							\
		bp_fatal(__FILE__, __LINE__, "BUG_ON(" #cond ")");	\
} while (0)
#define BUG()	bp_fatal(__FILE__, __LINE__, "BUG()")

#endif
