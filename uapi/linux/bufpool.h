/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bufpool userspace ABI: the ioctls of /dev/bufpool and their arguments.
 *
 * One open file description of /dev/bufpool is one entity: it holds
 * buffers, and it has at most one queued allocation request at a time.
 * Closing it gives back everything it holds or was granted.
 *
 * Every argument structure starts with a __u32 size that the caller sets to
 * sizeof() of the structure it was compiled with.  The kernel accepts a
 * smaller size down to the first published version of the structure
 * (BUFPOOL_*_SIZE_VER0; the fields past the caller's size read as zero) and
 * a larger one, up to BUFPOOL_ARG_SIZE_MAX (4096) bytes on every page size,
 * if the bytes it does not know are zero (-E2BIG otherwise), so the ABI can
 * grow at the end.  Results (INFO, STATS) are written back over at most
 * min(caller's size, kernel's size) bytes: nothing past either is ever
 * written, and the size field then holds the kernel's own size, so the
 * caller can tell which of its fields the kernel filled.  Commands are told
 * apart by magic, direction and number; the size bits of the command are
 * not checked, the size field is.  Reserved fields and unknown flags must be
 * zero (-EINVAL).  Pointers are passed as __u64.
 *
 * Errors common to every ioctl:
 *  -ENOTTY      unknown ioctl number
 *  -EFAULT      a pointer (the argument or one inside it) is not accessible
 *  -EINVAL      unknown flag, non-zero reserved field, size below the
 *               structure's BUFPOOL_*_SIZE_VER0, or a value out of its
 *               documented range; BUFPOOL_ALLOC_STATUS without the status
 *               page mapped or on a call that would sleep; ALLOC's
 *               ids_ptr not aligned to 4 bytes
 *  -E2BIG       size larger than the kernel knows and the extra bytes are
 *               not zero, or larger than BUFPOOL_ARG_SIZE_MAX (4096)
 *
 * BUFPOOL_IOC_ALLOC:
 *  -EFAULT      also when the ids cannot be written back once granted: the
 *               allocation is undone (what the fd still holds of it goes
 *               back, its mappings revoked; buffers another thread of the
 *               same file released meanwhile are not touched again)
 *  -EAGAIN      O_NONBLOCK fd: the request is queued (poll for EPOLLIN and
 *               call ALLOC again with the same class and count to collect);
 *               with BUFPOOL_ALLOC_NOQUEUE: no buffer now, nothing queued
 *  -EBUSY       this fd already has a different request queued, granted,
 *               or failed: a failure is collected only by an ALLOC with
 *               the same class and count (or forgotten by CANCEL); also
 *               one left queued by -EINTR (CANCEL it first)
 *  -ENOSPC      the request can never be served: count + the class's
 *               headroom > limit (with or without NOQUEUE); also what a
 *               queued request collects when a tunable change makes it so
 *  -EDEADLK     the request could only be served once its own side gave
 *               buffers back (side: this fd; with a user quota set, all of
 *               the user's files, and the user's quarantined buffers):
 *               held + count + headroom > limit.  Never queued; also what
 *               a queued request collects once it is so
 *  -EPERM       CRITICAL, but this fd would then hold more buffers taken
 *               as CRITICAL than other buffers, and it was not opened with
 *               CAP_SYS_RESOURCE
 *  -EDQUOT      the user's buffers (held, granted and requested, over all
 *               of the user's open files, and those it released that are
 *               still quarantined) would exceed the per-user quota.
 *               The user: the euid, or for a process in a user namespace
 *               the creator of the outermost one (a namespace root created
 *               is a user of its own)
 *  -ETIMEDOUT   blocking fd: the request's deadline passed, request
 *               withdrawn (never before the deadline); every thread
 *               blocked on the request gets it, whatever its own
 *               timeout_ns (0 included); also what the next
 *               ALLOC with the same class and count collects when the
 *               deadline of a request left queued by -EINTR passed
 *  -ECANCELED   blocking fd: another thread withdrew the request with
 *               BUFPOOL_IOC_CANCEL while this call waited
 *  -EINTR       blocking fd: a signal arrived (no SA_RESTART).  The request
 *               STAYS QUEUED, like O_NONBLOCK's -EAGAIN, in its place and
 *               with its deadline (and a grant that came meanwhile is kept):
 *               call ALLOC again with the same class and count to go on
 *               waiting or collect, or CANCEL it.  With SA_RESTART, and
 *               across SIGSTOP/SIGCONT, ptrace and the freezer, the call is
 *               restarted and goes on waiting in place, until the same
 *               deadline.
 *
 * Deadlines (blocking fd): the deadline is computed once, when the call
 * queues the request, from timeout_ns (relative, or absolute with
 * BUFPOOL_ALLOC_ABSTIME), on CLOCK_MONOTONIC at hrtimer precision.  It
 * belongs to the request: a call that finds its request already queued
 * (a restart, an ALLOC after -EINTR, another thread) waits until that
 * deadline and ignores its own timeout_ns, unless the request had none
 * (queued by an O_NONBLOCK call).  A request nobody waits on any more is
 * withdrawn at its deadline.  timeout_ns 0, or a deadline beyond 2^63 - 1
 * ns of CLOCK_MONOTONIC, means none (huge values saturate, never wrap).
 *
 * BUFPOOL_IOC_RELEASE (nothing is released unless every id is valid):
 *  -ENOENT      an id is not held by anyone (never allocated, released, or
 *               granted to a request that has not collected it yet)
 *  -EPERM       an id is held by another open file description
 *  -EINVAL      count out of range, or the same id listed twice
 *
 * mmap() of buffer id N at offset N * bufsize, MAP_SHARED only:
 *  -EINVAL      MAP_PRIVATE
 *  -EACCES      the range touches a buffer this fd does not hold, or
 *               PROT_WRITE on an fd opened O_RDONLY (which may map
 *               PROT_READ, never writable, not even by mprotect())
 *  Pages are inserted at fault time while the fd holds the buffer.  A
 *  buffer that leaves the fd (RELEASE, an undone ALLOC) is revoked from
 *  every mapping before it is zeroed: a later access is SIGBUS.  A refused
 *  RELEASE touches no mapping.  The pages are ordinary pages that
 *  get_user_pages() pins (O_DIRECT, vmsplice, MSG_ZEROCOPY, io_uring):
 *  a buffer released while such a pin or reference remains is
 *  quarantined (STATS quarantined) and neither zeroed nor handed on
 *  until the last one is dropped; it stays charged to its user's quota
 *  meanwhile.  A poisoned page (memory failure) is never mapped: SIGBUS.
 *  Mappings are VM_DONTCOPY: fork() does not copy them, and a copy made
 *  after madvise(MADV_DOFORK) is SIGBUS.
 *
 * mmap() of the status page at BUFPOOL_STATUS_OFFSET (struct
 * bufpool_status), one page, MAP_SHARED and PROT_READ only:
 *  -EINVAL      MAP_PRIVATE, or a length other than one page
 *  -EACCES      PROT_WRITE or PROT_EXEC (and mprotect() to them later)
 *  VM_IO | VM_PFNMAP | VM_DONTCOPY: not inherited across fork(), no
 *  MADV_DOFORK, no get_user_pages().  It shows this file's own grants
 *  only, and lives as long as the file.
 *
 * BUFPOOL_IOC_CANCEL:
 *  -ENOENT      this fd has no request: none queued, granted or failed (a
 *               grant not yet collected is given back, a failed request is
 *               forgotten, and 0 is returned)
 */
#ifndef _UAPI_LINUX_BUFPOOL_H
#define _UAPI_LINUX_BUFPOOL_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define BUFPOOL_DEVICE_NAME		"bufpool"

#define BUFPOOL_ABI_VERSION		1

/* Largest size an argument structure may claim, on every page size. */
#define BUFPOOL_ARG_SIZE_MAX		4096

/*
 * Sizes of the first published version of each argument structure: the
 * smallest size the kernel accepts.
 */
#define BUFPOOL_ALLOC_SIZE_VER0		48
#define BUFPOOL_RELEASE_SIZE_VER0	32
#define BUFPOOL_CANCEL_SIZE_VER0	16
#define BUFPOOL_INFO_SIZE_VER0		32	/* up to @bufsize */
#define BUFPOOL_STATS_SIZE_VER0		152	/* up to @peak_queued */

/* Most buffers one ALLOC or RELEASE call handles. */
#define BUFPOOL_ALLOC_MAX		64

/*
 * Criticality classes, most critical first.  A class may only be served
 * while at least its headroom of buffers stays free after the allocation:
 *  CRITICAL  headroom 0: may take the very last buffer (a response that
 *            lets a server drain its queue); only for as many buffers as
 *            the fd holds from other classes, unless it was opened with
 *            CAP_SYS_RESOURCE (-EPERM)
 *  NORMAL    headroom = reserve: never touches the reserve
 *  LOW       headroom = 2 * reserve: leaves more behind for the others
 * Queued requests are served strictly by class, then FIFO in the class; a
 * new request never overtakes a queued one of its own or a more critical
 * class.  Only CRITICAL requests may use the reserve's preallocated memory.
 */
enum bufpool_class {
	BUFPOOL_CLASS_CRITICAL = 0,
	BUFPOOL_CLASS_NORMAL = 1,
	BUFPOOL_CLASS_LOW = 2,
	BUFPOOL_NR_CLASSES = 3
};

/* ALLOC flags */
#define BUFPOOL_ALLOC_NOQUEUE		_BITUL(0) /* fail with -EAGAIN, never queue */
#define BUFPOOL_ALLOC_ABSTIME		_BITUL(1) /* timeout_ns: CLOCK_MONOTONIC time */
#define BUFPOOL_ALLOC_STATUS		_BITUL(2) /* grant to the status page */
#define BUFPOOL_ALLOC_FLAGS		(BUFPOOL_ALLOC_NOQUEUE | BUFPOOL_ALLOC_ABSTIME | \
					 BUFPOOL_ALLOC_STATUS)

/**
 * struct bufpool_alloc - argument of BUFPOOL_IOC_ALLOC
 * @size: sizeof(struct bufpool_alloc)
 * @flags: BUFPOOL_ALLOC_*
 * @alloc_class: enum bufpool_class (named so that C++ can include this)
 * @count: number of buffers, 1..BUFPOOL_ALLOC_MAX, all or none
 * @timeout_ns: blocking fd only: give up after this long (with
 *	BUFPOOL_ALLOC_ABSTIME: at this CLOCK_MONOTONIC time); 0 waits forever
 * @ids_ptr: user pointer to __u32[count], aligned to 4 bytes (-EINVAL),
 *	filled with the buffer ids
 * @__reserved: must be zero
 *
 * On a blocking fd the call sleeps (interruptibly) until the buffers are
 * granted, the deadline passes, or CANCEL withdraws the request.  On an
 * O_NONBLOCK fd it returns -EAGAIN and the request stays
 * queued: poll() reports EPOLLIN once it is granted, and the next ALLOC
 * with the same class and count collects it without waiting.  poll()
 * reports EPOLLIN as well when the queued request has failed (a tunable
 * change made it hopeless): the ALLOC with the same class and count
 * collects the error (-ENOSPC or -EDEADLK).
 *
 * BUFPOOL_ALLOC_STATUS (O_NONBLOCK fd or NOQUEUE only, and the fd's
 * status page mapped, -EINVAL otherwise): a request this call leaves
 * queued is collected by the kernel when it is granted.  The fd then
 * holds the buffers, struct bufpool_status shows their ids, and poll()
 * reports EPOLLIN until the fd's next ALLOC, RELEASE or CANCEL call (use
 * EPOLLET for one event per grant).  No ALLOC is needed to collect it, and
 * an ALLOC with the same class and count is a new request.  What the page
 * does not show (a failure, an expiry, an offer of the offer and all
 * policies, or a grant made before the page was mapped) is collected by
 * ALLOC as above.  A call served at once returns its ids in @ids_ptr.
 * The flag counts in the call that queues the request only: a call
 * refused with -EBUSY, or one with the same class and count that finds
 * the request queued, granted or offered, does not change how it is
 * delivered.
 */
struct bufpool_alloc {
	__u32 size;
	__u32 flags;
	__u32 alloc_class;
	__u32 count;
	__aligned_u64 timeout_ns;
	__aligned_u64 ids_ptr;
	__aligned_u64 __reserved[2];
};

/**
 * struct bufpool_release - argument of BUFPOOL_IOC_RELEASE
 * @size: sizeof(struct bufpool_release)
 * @flags: must be zero
 * @count: number of ids, 1..BUFPOOL_ALLOC_MAX
 * @__pad: must be zero
 * @ids_ptr: user pointer to __u32[count]
 * @__reserved: must be zero
 */
struct bufpool_release {
	__u32 size;
	__u32 flags;
	__u32 count;
	__u32 __pad;
	__aligned_u64 ids_ptr;
	__aligned_u64 __reserved;
};

/**
 * struct bufpool_cancel - argument of BUFPOOL_IOC_CANCEL
 * @size: sizeof(struct bufpool_cancel)
 * @flags: must be zero
 * @__reserved: must be zero
 *
 * Withdraws this fd's queued request.  Buffers granted to it but not yet
 * collected go back to the pool and on to the next waiters.  A thread
 * blocked in ALLOC on that request returns -ECANCELED.
 */
struct bufpool_cancel {
	__u32 size;
	__u32 flags;
	__aligned_u64 __reserved;
};

/* Feature bits reported by BUFPOOL_IOC_INFO */
#define BUFPOOL_FEAT_CLASSES		_BITULL(0)
#define BUFPOOL_FEAT_ATOMIC_N		_BITULL(1)
#define BUFPOOL_FEAT_HANDOFF		_BITULL(2)
#define BUFPOOL_FEAT_TIMEOUT		_BITULL(3)
#define BUFPOOL_FEAT_CANCEL		_BITULL(4)
#define BUFPOOL_FEAT_MMAP		_BITULL(5)
#define BUFPOOL_FEAT_USER_QUOTA		_BITULL(6)
/* absolute deadlines kept across restarts, ABSTIME, -ECANCELED, -EINTR keeps */
#define BUFPOOL_FEAT_DEADLINE		_BITULL(7)
/* the status page and BUFPOOL_ALLOC_STATUS */
#define BUFPOOL_FEAT_STATUS		_BITULL(8)

/*
 * Offset of the status page in the fd's mmap() space: above every buffer
 * (ids are below 2^32, buffers at most 4 MiB: 2^54).  64-bit processes
 * only: a 32-bit mmap() cannot reach it.
 */
#define BUFPOOL_STATUS_OFFSET		_BITULL(55)

/**
 * struct bufpool_status - the status page of an fd (read-only)
 * @seq: odd while the kernel updates the page: read @seq, then the other
 *	fields, then @seq again; if it changed or is odd, read again
 * @grants: grants this page has shown so far, the latest below
 * @alloc_class: the class of the latest grant
 * @count: its number of buffers
 * @__reserved: zero
 * @ids: its buffer ids, @count of them, held by the fd since the grant
 *
 * Filled when a request queued with BUFPOOL_ALLOC_STATUS is granted: a
 * grant is new when @grants changed.  The rest of the page reads as zero.
 */
struct bufpool_status {
	__u32 seq;
	__u32 grants;
	__u32 alloc_class;
	__u32 count;
	__aligned_u64 __reserved;
	__u32 ids[BUFPOOL_ALLOC_MAX];
};

/**
 * struct bufpool_info - argument of BUFPOOL_IOC_INFO (version and features)
 * @size: sizeof(struct bufpool_info)
 * @flags: must be zero
 * @abi_version: out: BUFPOOL_ABI_VERSION
 * @nr_classes: out: BUFPOOL_NR_CLASSES
 * @features: out: BUFPOOL_FEAT_*
 * @alloc_max: out: BUFPOOL_ALLOC_MAX
 * @bufsize: out: bytes per buffer
 * @entity_id: out: this fd's entity number, as in the bufpool trace events
 */
struct bufpool_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;
	__u32 nr_classes;
	__aligned_u64 features;
	__u32 alloc_max;
	__u32 bufsize;
	__aligned_u64 entity_id;
};

/**
 * struct bufpool_stats - argument of BUFPOOL_IOC_STATS, a snapshot
 * @size: sizeof(struct bufpool_stats)
 * @flags: must be zero
 * @limit: most buffers in use at once
 * @reserve: buffers only CRITICAL requests may take; preallocated
 * @bufsize: bytes per buffer
 * @in_use: buffers held or granted now
 * @free: limit - in_use (0 while in_use is above a lowered limit)
 * @allocated: buffers the pool owns now (in use + cached), memory taken
 *	from the kernel
 * @queued: requests queued now, per class
 * @allocations: requests served (at once or after waiting)
 * @grants_waited: requests served after waiting in a queue
 * @wakeups: wake-ups sent to waiters
 * @spurious_wakeups: wake-ups after which the waiter found nothing (0
 *	under the default hand-off policy and under adaptive, which wake
 *	only with a grant)
 * @releases: buffers given back (RELEASE, CANCEL of a grant, close)
 * @page_alloc_failures: failed attempts to get a buffer's memory
 * @peak_in_use: most buffers in use at once since load; while the
 *	per-CPU caches serve (only far from the limit) it may count the
 *	free buffers they hold
 * @peak_queued: most requests queued at once since load
 * @quarantined: buffers given back whose pages something else still
 *	references (a pin of I/O in flight, a pipe, an skb, an io_uring
 *	registration): counted in @in_use and @allocated, zeroed and handed
 *	on only once the last of those references is dropped
 * @shrunk: cached free buffers given back to the kernel under memory
 *	pressure (the pool's shrinker) since load; @allocated fell by as
 *	many, and the pool grows again on demand
 * @drains: times the per-CPU caches were stopped and their buffers put
 *	back in the shared cache since load: a request that had to wait or
 *	came near the limit, a tunable change, a shrink.  While buffers are
 *	plentiful and nobody waits it stays still; a count that climbs with
 *	the load says the pool runs near its limit (each drain sends every
 *	CPU to the pool lock until a later allocation refills)
 */
struct bufpool_stats {
	__u32 size;
	__u32 flags;
	__aligned_u64 limit;
	__aligned_u64 reserve;
	__aligned_u64 bufsize;
	__aligned_u64 in_use;
	__aligned_u64 free;
	__aligned_u64 allocated;
	__aligned_u64 queued[4];
	__aligned_u64 allocations;
	__aligned_u64 grants_waited;
	__aligned_u64 wakeups;
	__aligned_u64 spurious_wakeups;
	__aligned_u64 releases;
	__aligned_u64 page_alloc_failures;
	__aligned_u64 peak_in_use;
	__aligned_u64 peak_queued;
	__aligned_u64 quarantined;
	__aligned_u64 shrunk;
	__aligned_u64 drains;
};

#define BUFPOOL_IOC_MAGIC		0xBB

#define BUFPOOL_IOC_INFO	_IOWR(BUFPOOL_IOC_MAGIC, 0x00, struct bufpool_info)
#define BUFPOOL_IOC_ALLOC	_IOWR(BUFPOOL_IOC_MAGIC, 0x01, struct bufpool_alloc)
#define BUFPOOL_IOC_RELEASE	_IOWR(BUFPOOL_IOC_MAGIC, 0x02, struct bufpool_release)
#define BUFPOOL_IOC_CANCEL	_IOWR(BUFPOOL_IOC_MAGIC, 0x03, struct bufpool_cancel)
#define BUFPOOL_IOC_STATS	_IOWR(BUFPOOL_IOC_MAGIC, 0x04, struct bufpool_stats)

#endif /* _UAPI_LINUX_BUFPOOL_H */
