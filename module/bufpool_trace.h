/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufpool tracepoints: a request served at once, queued, granted after
 * waiting, its grant collected, cancelled, and buffers released.  Enable
 * them with /sys/kernel/tracing/events/bufpool/.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM bufpool

#if !defined(_BUFPOOL_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _BUFPOOL_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(bufpool_request,
		    TP_PROTO(u64 entity, unsigned int class,
			     unsigned int count, u64 wait_ns),
		    TP_ARGS(entity, class, count, wait_ns),
		    TP_STRUCT__entry(__field(u64, entity)
				     __field(unsigned int, class)
				     __field(unsigned int, count)
				     __field(u64, wait_ns)),
		    TP_fast_assign(__entry->entity = entity;
				   __entry->class = class;
				   __entry->count = count;
				   __entry->wait_ns = wait_ns;),
		    TP_printk("entity=%llu class=%u count=%u wait_ns=%llu",
			      __entry->entity, __entry->class,
			      __entry->count, __entry->wait_ns)
);

#define BUFPOOL_REQUEST_EVENT(name)					\
	DEFINE_EVENT(bufpool_request, name,				\
		     TP_PROTO(u64 entity, unsigned int class,		\
			      unsigned int count, u64 wait_ns),		\
		     TP_ARGS(entity, class, count, wait_ns))

/* served at once, without waiting (wait_ns is 0) */
BUFPOOL_REQUEST_EVENT(bufpool_alloc);
/* could not be served, joined its class queue (wait_ns is 0) */
BUFPOOL_REQUEST_EVENT(bufpool_queue);
/* granted after waiting wait_ns in the queue */
BUFPOOL_REQUEST_EVENT(bufpool_grant);
/* withdrawn (timeout, signal, CANCEL, close) after waiting wait_ns */
BUFPOOL_REQUEST_EVENT(bufpool_cancel);
/*
 * adaptive policy: served at once ahead of queued requests (it also has
 * its bufpool_alloc); wait_ns is how long the oldest head it overtook had
 * waited
 */
BUFPOOL_REQUEST_EVENT(bufpool_barge);
/*
 * adaptive policy: what came back is parked for this head, which fits,
 * until the window closes; wait_ns is how long it has waited so far
 */
BUFPOOL_REQUEST_EVENT(bufpool_park);

/*
 * a granted request collected by its entity (the call after the wake-up,
 * or the status page as the grant is made); since_grant_ns is how long
 * the granted buffers waited for it.  Only for grants made while this
 * event was enabled.
 */
TRACE_EVENT(bufpool_collect,
	    TP_PROTO(u64 entity, unsigned int class, unsigned int count,
		     u64 since_grant_ns),
	    TP_ARGS(entity, class, count, since_grant_ns),
	    TP_STRUCT__entry(__field(u64, entity)
			     __field(unsigned int, class)
			     __field(unsigned int, count)
			     __field(u64, since_grant_ns)),
	    TP_fast_assign(__entry->entity = entity;
			   __entry->class = class;
			   __entry->count = count;
			   __entry->since_grant_ns = since_grant_ns;),
	    TP_printk("entity=%llu class=%u count=%u since_grant_ns=%llu",
		      __entry->entity, __entry->class,
		      __entry->count, __entry->since_grant_ns)
);

TRACE_EVENT(bufpool_release,
	    TP_PROTO(u64 entity, unsigned int count, unsigned int in_use),
	    TP_ARGS(entity, count, in_use),
	    TP_STRUCT__entry(__field(u64, entity)
			     __field(unsigned int, count)
			     __field(unsigned int, in_use)),
	    TP_fast_assign(__entry->entity = entity;
			   __entry->count = count;
			   __entry->in_use = in_use;),
	    TP_printk("entity=%llu count=%u in_use=%u",
		      __entry->entity, __entry->count, __entry->in_use)
);

#endif /* _BUFPOOL_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE bufpool_trace
#include <trace/define_trace.h>
