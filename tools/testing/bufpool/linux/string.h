/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: the libc string functions. */
#ifndef _BP_SHIM_STRING_H
#define _BP_SHIM_STRING_H

#include <string.h>

#endif
