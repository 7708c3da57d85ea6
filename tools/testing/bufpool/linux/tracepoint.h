/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: TRACE_EVENT() and friends turn each event of
 * module/bufpool_trace.h into an empty trace_<name>() function, never
 * enabled.
 */
#ifndef _BP_SHIM_TRACEPOINT_H
#define _BP_SHIM_TRACEPOINT_H

#define TP_PROTO(args...)	args
#define TP_ARGS(args...)	args

#define DECLARE_EVENT_CLASS(name, proto, args, tstruct, assign, print)
#define DEFINE_EVENT(template, name, proto, args)			\
	static inline void trace_##name(proto) {}			\
	static inline bool trace_##name##_enabled(void) { return false; }
#define TRACE_EVENT(name, proto, args, tstruct, assign, print)		\
	static inline void trace_##name(proto) {}			\
	static inline bool trace_##name##_enabled(void) { return false; }

#endif
