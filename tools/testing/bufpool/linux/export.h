/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: exports are plain redeclarations (they eat the ';'). */
#ifndef _BP_SHIM_EXPORT_H
#define _BP_SHIM_EXPORT_H

#define EXPORT_SYMBOL(sym)	extern __typeof__(sym) sym
#define EXPORT_SYMBOL_GPL(sym)	extern __typeof__(sym) sym

#endif
