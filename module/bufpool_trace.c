// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates the bufpool tracepoints declared in bufpool_trace.h.
 */
#define CREATE_TRACE_POINTS
#include "bufpool_trace.h"
