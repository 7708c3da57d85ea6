// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/bufpool: the character device adapter of the bufpool core.
 *
 * One open file description is one entity.  Its waiter's wake-up is a
 * wake_up() of the file's wait queue, which ends a blocking ALLOC or
 * reports EPOLLIN to poll/epoll.  Everything here is about user memory
 * and the ioctl ABI of uapi/linux/bufpool.h; the rules live in the core.
 *
 * Data path: buffer id N is mapped at offset N * bufsize (MAP_SHARED).
 * Pages are inserted at fault time, only while the file holds the buffer.
 * Every way a buffer leaves the file while a mapping may exist (RELEASE,
 * an ALLOC whose ids cannot be copied out) takes it in three steps:
 * detach it in the core (faults now get SIGBUS), zap its mappings with
 * map_lock held for writing (which waits for a fault that found it still
 * held), and only then zero and cache it.  So a later access never sees
 * the next holder's data.  Close needs none of this: every mapping holds
 * the file.  The pages are ordinary pages, so the kernel may pin them
 * (O_DIRECT, vmsplice(), zero-copy sends, io_uring): a buffer whose pages
 * are still referenced once its mappings are gone is quarantined by the
 * core and the backend instead of being zeroed.  Mappings are not
 * inherited across fork() (VM_DONTCOPY; a copy MADV_DOFORK lets through
 * faults SIGBUS).  Only buffers that were mapped writable are zeroed on
 * the way back: the others cannot have been written.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "bufpool.h"
#include "bufpool_compat.h"
#include "bufpool_dev.h"

/**
 * struct bufpool_file - what an open file description of the device is
 * @entity: its entity in the pool
 * @wq: woken when the entity's request is granted
 * @map_lock: page faults (read) against revoking mappings (write)
 * @mapped: the file has been mmap()ed at least once (under @map_lock)
 * @status: its status page, once mapped (bufpool_status.c)
 * @status_unread: a grant was collected onto @status since the file's
 *	last ALLOC, RELEASE or CANCEL: poll() reports EPOLLIN
 * @user: the account of the user who opened it
 * @expire: withdraws, at its deadline, a request whose sleeper left on a
 *	signal
 */
struct bufpool_file {
	struct bufpool_entity entity;
	struct bufpool_user *user;
	wait_queue_head_t wq;
	struct delayed_work expire;
	struct rw_semaphore map_lock;
	bool mapped;
	bool status_unread;
	struct bufpool_status *status;
};

static struct bufpool *bufpool_dev_pool;

/*
 * At the change of state, pool lock held: the status page's only writer.
 * Only a request queued with BUFPOOL_ALLOC_STATUS (BUFPOOL_ALLOC_COLLECT
 * in the core, which keeps it with the request) is collected onto it.
 */
static void bufpool_file_notify(struct bufpool_waiter *w)
{
	struct bufpool_file *bf = w->target;
	struct bufpool_status *st = READ_ONCE(bf->status);

	if (st && bufpool_status_publish_locked(st, &bf->entity))
		WRITE_ONCE(bf->status_unread, true);
}

/* After it, once the pool lock is dropped. */
static void bufpool_file_wake(struct bufpool_waiter *w)
{
	struct bufpool_file *bf = w->target;

	/*
	 * A wake-up may come after the state changed again (a cancel, a new
	 * request): the EPOLLIN key only while poll would say so, as a
	 * keyed waiter (io_uring's poll) may trust it without polling
	 * again; without a key every poller polls again, and a sleeper
	 * whose request another thread collected looks again.
	 */
	if (bufpool_ready(&bf->entity) || READ_ONCE(bf->status_unread))
		wake_up_interruptible_poll(&bf->wq, EPOLLIN | EPOLLRDNORM);
	else
		wake_up_interruptible(&bf->wq);
}

/* The file's ALLOC, RELEASE and CANCEL calls: the status page was read. */
static void bufpool_status_seen(struct bufpool_file *bf)
{
	if (unlikely(READ_ONCE(bf->status_unread)))
		WRITE_ONCE(bf->status_unread, false);
}

/* Jiffies to wait for @ns to pass: rounded up, never early. */
static unsigned long bufpool_ns_to_delay(u64 ns)
{
	return min_t(u64, nsecs_to_jiffies64(ns) + 1, MAX_JIFFY_OFFSET);
}

static void bufpool_file_expire(struct work_struct *work)
{
	struct bufpool_file *bf = container_of(to_delayed_work(work),
					       struct bufpool_file, expire);
	u64 left = bufpool_expire(&bf->entity);

	/* woken early (a long delay is capped): watch the rest */
	if (left)
		schedule_delayed_work(&bf->expire, bufpool_ns_to_delay(left));
}

static int bufpool_open(struct inode *inode, struct file *file)
{
	struct bufpool_file *bf;

	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	if (!bf)
		return -ENOMEM;
	bf->user = bufpool_user_get(file->f_cred);
	if (!bf->user) {
		kfree(bf);
		return -ENOMEM;
	}
	init_waitqueue_head(&bf->wq);
	INIT_DELAYED_WORK(&bf->expire, bufpool_file_expire);
	init_rwsem(&bf->map_lock);
	bufpool_entity_init(bufpool_dev_pool, &bf->entity, bufpool_file_wake,
			    bf);
	bf->entity.waiter.notify = bufpool_file_notify;
	/* userspace writes only through mappings: faults mark the buffers */
	bf->entity.tracks_dirty = true;
	/*
	 * The reserve is for holders of request buffers; an opener with
	 * CAP_SYS_RESOURCE (in the initial namespace) may use it freely.
	 */
	bf->entity.critical_exempt = file_ns_capable(file, &init_user_ns,
						     CAP_SYS_RESOURCE);
	bufpool_entity_set_account(&bf->entity, bufpool_user_account(bf->user));
	file->private_data = bf;
	return stream_open(inode, file);
}

static int bufpool_release_file(struct inode *inode, struct file *file)
{
	struct bufpool_file *bf = file->private_data;

	cancel_delayed_work_sync(&bf->expire);
	bufpool_entity_destroy(&bf->entity);
	/* no mapping is left: each holds the file */
	bufpool_status_free(bf->status);
	bufpool_user_put(bf->user);
	kfree(bf);
	return 0;
}

static __poll_t bufpool_poll(struct file *file, poll_table *pt)
{
	struct bufpool_file *bf = file->private_data;

	poll_wait(file, &bf->wq, pt);
	return bufpool_ready(&bf->entity) || READ_ONCE(bf->status_unread) ?
	       EPOLLIN | EPOLLRDNORM : 0;
}

/*
 * Copy an ioctl argument in.  bufpool_ioctl() has checked @usize, the size
 * userspace built it with (read once, here passed on), against the
 * command's table entry: a smaller structure than ours is completed with
 * zeroes, a larger one is fine as long as the tail we do not know is zero
 * (copy_struct_from_user() says -E2BIG otherwise).  A caller built with
 * our own structure, the usual case, gets a copy of a size known at build
 * time, which the hardened usercopy checks need not look at.
 */
static __always_inline int bufpool_copy_arg(void *karg, size_t ksize,
					    void __user *uarg, u32 usize)
{
	if (likely(usize == ksize))
		return copy_from_user(karg, uarg, ksize) ? -EFAULT : 0;
	return copy_struct_from_user(karg, ksize, uarg, usize);
}

/*
 * Copy a result out: never more than the caller said its structure holds,
 * nor more than ours.
 */
static __always_inline int bufpool_copy_out(void __user *uarg, u32 usize,
					    const void *karg, size_t ksize)
{
	if (likely(usize >= ksize))
		return copy_to_user(uarg, karg, ksize) ? -EFAULT : 0;
	return copy_to_user(uarg, karg, usize) ? -EFAULT : 0;
}

/*
 * Rewrite the id at @p with @v, the value just read there, unless it
 * changed meanwhile: a locked compare-and-exchange writes (so it needs
 * the page writable) but never over a store another thread made since
 * the read.  Without one, a plain store of @v.
 */
#ifdef unsafe_try_cmpxchg_user
#define bufpool_probe_put(v, p, label) ({				\
	u32 __old = (v);						\
	(void)unsafe_try_cmpxchg_user(p, &__old, __old, label);		\
})
#else
#define bufpool_probe_put(v, p, label)	unsafe_put_user(v, p, label)
#endif

/*
 * Can the caller's array of @count ids be read and written?  It holds
 * BUFPOOL_ALLOC_MAX ids at most, less than a page, so it spans two pages
 * at most, which its first and last id touch: each is read and written
 * back as it is (see bufpool_probe_put()).  Nothing else of the array is
 * touched.
 */
static int bufpool_probe_ids(u64 uptr, unsigned int count)
{
	u32 __user *p = u64_to_user_ptr(uptr);
	u32 first, last;

	BUILD_BUG_ON(BUFPOOL_ALLOC_MAX * sizeof(u32) > PAGE_SIZE);
	if (!user_access_begin(p, count * sizeof(*p)))
		return -EFAULT;
	unsafe_get_user(first, p, fault);
	unsafe_get_user(last, p + count - 1, fault);
	bufpool_probe_put(first, p, fault);
	bufpool_probe_put(last, p + count - 1, fault);
	user_access_end();
	return 0;
fault:
	user_access_end();
	return -EFAULT;
}

/* Copy @count ids in, in one user access section. */
static int bufpool_get_ids(u32 *ids, u64 uptr, unsigned int count)
{
	u32 __user *p = u64_to_user_ptr(uptr);
	unsigned int i;

	if (!user_access_begin(p, count * sizeof(*p)))
		return -EFAULT;
	for (i = 0; i < count; i++)
		unsafe_get_user(ids[i], p + i, fault);
	user_access_end();
	return 0;
fault:
	user_access_end();
	return -EFAULT;
}

/*
 * Put back the @count words at @p that bufpool_put_ids() overwrote with
 * @ids: each gets its value @old again unless it no longer holds our id,
 * that is, unless another thread stored there since (a compare-and-exchange
 * where the architecture has one; elsewhere a read, then a store; a store
 * of that same id cannot be told from ours, and is undone too).  Stops
 * at a fault: the words of a page that another thread unmapped or write-
 * protected in the meantime keep what they hold.
 */
static void bufpool_unput_ids(u32 __user *p, const u32 *ids, const u32 *old,
			      unsigned int count)
{
	unsigned int i;
	u32 cur;

	if (!count || !user_access_begin(p, count * sizeof(*p)))
		return;
	for (i = 0; i < count; i++) {
		cur = ids[i];
#ifdef unsafe_try_cmpxchg_user
		(void)unsafe_try_cmpxchg_user(p + i, &cur, old[i], fault);
#else
		unsafe_get_user(cur, p + i, fault);
		if (cur == ids[i])
			unsafe_put_user(old[i], p + i, fault);
#endif
	}
fault:
	user_access_end();
}

/*
 * Copy @count ids out, in one user access section, or fail with nothing
 * of it changed.  The array may span two pages, and a thread sharing the
 * mm may unmap or write-protect the second one after the probe: the copy
 * then faults with the first page written.  So each word is read just
 * before it is written, and on a fault the words written are put back
 * (see bufpool_unput_ids()).  Only if that thread also changes the first
 * page, between its words' write and their put-back, can the put-back
 * itself fault: those words then keep the ids.
 */
static int bufpool_put_ids(u64 uptr, const u32 *ids, unsigned int count)
{
	u32 __user *p = u64_to_user_ptr(uptr);
	u32 old[BUFPOOL_ALLOC_MAX] __uninitialized;
	unsigned int i;

	if (!user_access_begin(p, count * sizeof(*p)))
		return -EFAULT;
	for (i = 0; i < count; i++) {
		unsafe_get_user(old[i], p + i, fault);
		unsafe_put_user(ids[i], p + i, fault);
	}
	user_access_end();
	return 0;
fault:
	user_access_end();
	/* words 0 to i - 1 were written */
	bufpool_unput_ids(p, ids, old, i);
	return -EFAULT;
}

/*
 * Zap every mapping of the buffers @r holds (@ids), which the file no
 * longer holds.  Holding map_lock for writing waits for the faults that
 * found them still held and are in bufpool_vm_fault(); those that left it
 * hold the page they return locked until its page table entry is in, so
 * taking each page's lock waits for them too.  Only then is the zap sure
 * to be the last word: later faults find the buffers gone and get SIGBUS.
 */
static void bufpool_revoke(struct file *file, const u32 *ids,
			   unsigned int count, struct bufpool_returning *r)
{
	struct bufpool_file *bf = file->private_data;
	loff_t size = bufpool_bufsize(bufpool_dev_pool);
	unsigned int i, ppb = size >> PAGE_SHIFT;
	struct bufpool_buf *buf;
	struct page *page;

	down_write(&bf->map_lock);
	if (bf->mapped) {
		list_for_each_entry(buf, &r->bufs, node) {
			for (i = 0; i < ppb; i++) {
				page = bufpool_buf_page(buf, i);
				lock_page(page);
				unlock_page(page);
			}
			cond_resched();
		}
	}
	for (i = 0; bf->mapped && i < count; i++)
		unmap_mapping_range(file->f_mapping, (loff_t)ids[i] * size,
				    size, 1);
	up_write(&bf->map_lock);
}

/*
 * Give back what a failed copy to userspace could not report: what the
 * file still holds of that grant (a sibling thread may have released some
 * of it already), revoked like RELEASE.
 */
static void bufpool_undo_alloc(struct file *file, u32 *ids,
			       unsigned int count, u64 grant)
{
	struct bufpool_file *bf = file->private_data;
	struct bufpool_returning r;
	unsigned int n;

	n = bufpool_undo_detach(&bf->entity, ids, count, grant, &r);
	if (n)
		bufpool_revoke(file, ids, n, &r);
	bufpool_release_finish(bufpool_dev_pool, &r);
}

/*
 * The deadline of a blocking ALLOC, in ns of CLOCK_MONOTONIC: timeout_ns
 * from now, or timeout_ns itself with BUFPOOL_ALLOC_ABSTIME.  0, and any
 * time beyond what ktime_t holds (some 292 years of uptime), mean none:
 * huge values saturate, they never wrap into an early deadline.
 */
static u64 bufpool_alloc_deadline(const struct bufpool_alloc *arg)
{
	u64 now;

	if (!arg->timeout_ns)
		return BUFPOOL_NO_DEADLINE;
	if (arg->flags & BUFPOOL_ALLOC_ABSTIME)
		return arg->timeout_ns < (u64)KTIME_MAX ? arg->timeout_ns :
							  BUFPOOL_NO_DEADLINE;
	now = ktime_get_ns();
	if (arg->timeout_ns >= (u64)KTIME_MAX - now)
		return BUFPOOL_NO_DEADLINE;
	return now + arg->timeout_ns;
}

/*
 * Sleep until @t's request leaves its queue (granted, failed, expired,
 * offered, or collected or cancelled by another thread sharing the file),
 * its deadline comes (an absolute hrtimer: never early, however often the
 * sleep is interrupted and resumed) or a signal comes.  Returns 0,
 * -ETIMEDOUT or -ERESTARTSYS; bufpool_wait_done() says what it means.
 */
static int bufpool_wait_grant(struct bufpool_file *bf,
			      const struct bufpool_ticket *t)
{
	ktime_t expires = t->deadline == BUFPOOL_NO_DEADLINE ? KTIME_MAX :
			  ns_to_ktime(t->deadline);
	DEFINE_WAIT(wait);
	int ret = 0;

	for (;;) {
		prepare_to_wait(&bf->wq, &wait, TASK_INTERRUPTIBLE);
		if (!bufpool_waiting(&bf->entity, t))
			break;
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		/* KTIME_MAX: no timer, plain schedule() */
		if (!schedule_hrtimeout_range(&expires, current->timer_slack_ns,
					      HRTIMER_MODE_ABS)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	finish_wait(&bf->wq, &wait);
	return ret;
}

/*
 * A sleeper leaves on a signal and its request stays queued: withdraw it
 * at its deadline if nobody comes back for it.
 */
static void bufpool_watch_deadline(struct bufpool_file *bf, u64 deadline)
{
	u64 now = ktime_get_ns();

	if (deadline == BUFPOOL_NO_DEADLINE)
		return;
	mod_delayed_work(system_wq, &bf->expire,
			 bufpool_ns_to_delay(deadline > now ? deadline - now : 0));
}

static long bufpool_ioctl_alloc(struct file *file, void __user *uarg,
				u32 usize)
{
	struct bufpool_file *bf = file->private_data;
	u32 ids[BUFPOOL_ALLOC_MAX] __uninitialized;
	struct bufpool_ticket t = { .deadline = BUFPOOL_NO_DEADLINE };
	struct bufpool_alloc arg __uninitialized;	/* copied in whole */
	bool block;
	u64 deadline, grant;
	int ret;

	ret = bufpool_copy_arg(&arg, sizeof(arg), uarg, usize);
	if (ret)
		return ret;
	if ((arg.flags & ~BUFPOOL_ALLOC_FLAGS) ||
	    arg.__reserved[0] || arg.__reserved[1] ||
	    arg.alloc_class >= BUFPOOL_NR_CLASSES || !arg.count ||
	    arg.count > BUFPOOL_ALLOC_MAX) {
		pr_debug("pid %d: ALLOC refused: flags %#x class %u count %u or a reserved field set\n",
			 task_pid_nr(current), arg.flags, arg.alloc_class, arg.count);
		return -EINVAL;
	}
	/*
	 * The probe and the put-back compare-and-exchange the caller's
	 * words: one split across two cache lines is a split lock, which a
	 * CPU that detects them traps on, in the kernel too.
	 */
	if (!IS_ALIGNED(arg.ids_ptr, sizeof(u32)))
		return -EINVAL;
	/*
	 * A bad ids_ptr must fail before the pool is touched, and a failed
	 * call must not change the caller's array.
	 */
	if (bufpool_probe_ids(arg.ids_ptr, arg.count))
		return -EFAULT;

	block = !(file->f_flags & O_NONBLOCK) &&
		!(arg.flags & BUFPOOL_ALLOC_NOQUEUE);
	/* a grant only an event loop would read: never for a sleeper */
	if ((arg.flags & BUFPOOL_ALLOC_STATUS) &&
	    (block || !READ_ONCE(bf->status)))
		return -EINVAL;
	bufpool_status_seen(bf);
	/*
	 * How a grant is delivered is the request's, fixed by the core under
	 * the pool lock when this call queues one: a call that fails, or
	 * finds the fd's request already pending, changes nothing of it.
	 */
	if (arg.flags & BUFPOOL_ALLOC_STATUS)
		arg.flags ^= BUFPOOL_ALLOC_STATUS | BUFPOOL_ALLOC_COLLECT;
	/* once per call: a request already queued keeps its own */
	deadline = block ? bufpool_alloc_deadline(&arg) : BUFPOOL_NO_DEADLINE;
	for (;;) {
		ret = bufpool_alloc_until_ids(&bf->entity, arg.alloc_class,
					      arg.count,
					      arg.flags | BUFPOOL_ALLOC_MAY_SLEEP,
					      deadline, ids, &grant, &t);
		if (ret != -EAGAIN || !block)
			break;
		ret = bufpool_wait_grant(bf, &t);
		ret = bufpool_wait_done_ids(&bf->entity, &t, ret, ids, &grant);
		if (ret != -EAGAIN)
			break;
	}
	if (ret && block) {
		/* still queued on a signal: restart or ALLOC again resumes it */
		if (signal_pending(current) && bufpool_waiting(&bf->entity, &t))
			bufpool_watch_deadline(bf, t.deadline);
		pr_debug("pid %d: entity %llu stopped waiting: %d\n",
			 task_pid_nr(current), bf->entity.id, ret);
	}
	if (ret)
		return ret;

	if (bufpool_put_ids(arg.ids_ptr, ids, arg.count)) {
		/*
		 * Unmapped or write-protected meanwhile by another thread:
		 * the array is as it was, give the buffers back.
		 */
		bufpool_undo_alloc(file, ids, arg.count, grant);
		return -EFAULT;
	}
	return 0;
}

static unsigned long bufpool_pages_per_buf(void)
{
	return bufpool_bufsize(bufpool_dev_pool) >> PAGE_SHIFT;
}

/*
 * The page itself, with a reference for the page table: an ordinary page
 * in an ordinary shared mapping, which get_user_pages() can pin.  The
 * core installs it after we return, so it is returned locked, locked
 * while the buffer is known held (map_lock).
 */
static vm_fault_t bufpool_vm_fault(struct vm_fault *vmf)
{
	struct bufpool_file *bf = vmf->vma->vm_private_data;
	unsigned long ppb = bufpool_pages_per_buf();
	unsigned long id = vmf->pgoff / ppb;
	struct bufpool_buf *buf;
	vm_fault_t ret;

	/* a copy fork() made of the mapping (see bufpool_vm_open()) */
	if (!bf || id > U32_MAX)
		return VM_FAULT_SIGBUS;
	down_read(&bf->map_lock);
	buf = bufpool_held_buf(&bf->entity, id);
	if (buf) {
		/* writable from now on: zero it when it comes back */
		if (vmf->vma->vm_flags & VM_MAYWRITE)
			bufpool_buf_mark_dirty(buf);
		vmf->page = bufpool_buf_page(buf, vmf->pgoff % ppb);
		get_page(vmf->page);
		/* until its entry is in: see bufpool_revoke() */
		lock_page(vmf->page);
		ret = VM_FAULT_LOCKED;
		/*
		 * Poisoned memory is never mapped.  Not left to the core's
		 * own check after we return: for a locked page it unmaps the
		 * page from its file mapping, which ours do not have.
		 */
		if (unlikely(PageHWPoison(vmf->page))) {
			unlock_page(vmf->page);
			put_page(vmf->page);
			vmf->page = NULL;
			ret = VM_FAULT_HWPOISON;
		}
	} else {
		ret = VM_FAULT_SIGBUS;
	}
	up_read(&bf->map_lock);
	return ret;
}

/*
 * A new VMA of one of our mappings: a split or a move in the same mm, or a
 * copy for a child, made by fork() in the parent (then current->mm is not
 * the new VMA's).  The mappings are VM_DONTCOPY, but madvise(MADV_DOFORK)
 * may lift that: the child's copy has no page table entries (a shared
 * mapping of ordinary pages is not copied at fork) and is cut off from
 * the file here, so every access to it is SIGBUS.
 */
static void bufpool_vm_open(struct vm_area_struct *vma)
{
	if (vma->vm_mm != current->mm)
		vma->vm_private_data = NULL;
}

static const struct vm_operations_struct bufpool_vm_ops = {
	.open = bufpool_vm_open,
	.fault = bufpool_vm_fault,
};

/*
 * Map buffers this file holds: every buffer the range touches must be held
 * now (-EACCES otherwise), and is checked again at each fault.  Shared
 * mappings only: do_mmap() clears VM_SHARED, not VM_MAYSHARE, for a file
 * opened read-only, whose mappings can then be read but never written.
 * Not VM_IO nor VM_PFNMAP, which get_user_pages() refuses; VM_DONTEXPAND
 * keeps mremap() from growing it and mlock() away from the pages.
 */
static int bufpool_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct bufpool_file *bf = file->private_data;
	unsigned long ppb = bufpool_pages_per_buf();
	unsigned long first = vma->vm_pgoff / ppb;
	unsigned long last = (vma->vm_pgoff + vma_pages(vma) - 1) / ppb;
	unsigned long id;

	if (bufpool_status_vma(vma))
		return bufpool_status_mmap(&bf->status, vma);
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (last > U32_MAX || last < first)
		return -EACCES;
	for (id = first; id <= last; id++)
		if (!bufpool_held_buf(&bf->entity, id))
			return -EACCES;

	down_write(&bf->map_lock);
	bf->mapped = true;
	up_write(&bf->map_lock);
	/* before any fault can find a buffer: releases now revoke */
	WRITE_ONCE(bf->entity.shared, true);
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &bufpool_vm_ops;
	vma->vm_private_data = bf;
	return 0;
}

/*
 * Release: detach in the core, which checks every id first (a refused
 * RELEASE touches no mapping), then revoke, then zero and cache.
 */
static int bufpool_release_revoke(struct file *file, const u32 *ids,
				  unsigned int count)
{
	struct bufpool_file *bf = file->private_data;
	struct bufpool_returning r;
	int ret;

	ret = bufpool_release_detach(&bf->entity, ids, count, &r);
	if (ret) {
		pr_debug("pid %d: entity %llu RELEASE refused: %d\n",
			 task_pid_nr(current), bf->entity.id, ret);
		return ret;
	}
	/* never mapped: the buffers are back in the pool already */
	if (!r.count)
		return 0;
	bufpool_revoke(file, ids, count, &r);
	bufpool_release_finish(bufpool_dev_pool, &r);
	return 0;
}

static long bufpool_ioctl_release(struct file *file, void __user *uarg,
				  u32 usize)
{
	struct bufpool_file *bf = file->private_data;
	u32 ids[BUFPOOL_ALLOC_MAX] __uninitialized;
	struct bufpool_release arg __uninitialized;	/* copied in whole */
	int ret;

	ret = bufpool_copy_arg(&arg, sizeof(arg), uarg, usize);
	if (ret)
		return ret;
	if (arg.flags || arg.__pad || arg.__reserved || !arg.count ||
	    arg.count > BUFPOOL_ALLOC_MAX) {
		pr_debug("pid %d: RELEASE refused: flags %#x count %u or a reserved field set\n",
			 task_pid_nr(current), arg.flags, arg.count);
		return -EINVAL;
	}
	if (bufpool_get_ids(ids, arg.ids_ptr, arg.count))
		return -EFAULT;
	bufpool_status_seen(bf);
	return bufpool_release_revoke(file, ids, arg.count);
}

static long bufpool_ioctl_cancel(struct file *file, void __user *uarg,
				 u32 usize)
{
	struct bufpool_file *bf = file->private_data;
	struct bufpool_cancel arg __uninitialized;	/* copied in whole */
	int ret;

	ret = bufpool_copy_arg(&arg, sizeof(arg), uarg, usize);
	if (ret)
		return ret;
	if (arg.flags || arg.__reserved)
		return -EINVAL;
	bufpool_status_seen(bf);
	ret = bufpool_cancel(&bf->entity);
	if (!ret)	/* other threads sleeping on this request */
		wake_up_interruptible(&bf->wq);
	return ret;
}

static long bufpool_ioctl_info(struct file *file, void __user *uarg,
			       u32 usize)
{
	struct bufpool_file *bf = file->private_data;
	struct bufpool_info arg __uninitialized;	/* copied in whole */
	int ret;

	ret = bufpool_copy_arg(&arg, sizeof(arg), uarg, usize);
	if (ret)
		return ret;
	if (arg.flags)
		return -EINVAL;
	arg.size = sizeof(arg);
	arg.abi_version = BUFPOOL_ABI_VERSION;
	arg.nr_classes = BUFPOOL_NR_CLASSES;
	arg.features = BUFPOOL_FEAT_CLASSES | BUFPOOL_FEAT_ATOMIC_N |
		       BUFPOOL_FEAT_HANDOFF | BUFPOOL_FEAT_TIMEOUT |
		       BUFPOOL_FEAT_CANCEL | BUFPOOL_FEAT_MMAP |
		       BUFPOOL_FEAT_USER_QUOTA | BUFPOOL_FEAT_DEADLINE |
		       BUFPOOL_FEAT_STATUS;
	arg.alloc_max = BUFPOOL_ALLOC_MAX;
	arg.bufsize = bufpool_bufsize(bufpool_dev_pool);
	arg.entity_id = bf->entity.id;
	return bufpool_copy_out(uarg, usize, &arg, sizeof(arg));
}

static long bufpool_ioctl_stats(struct file *file, void __user *uarg,
				u32 usize)
{
	struct bufpool_stats arg __uninitialized;	/* copied in whole */
	int ret;

	ret = bufpool_copy_arg(&arg, sizeof(arg), uarg, usize);
	if (ret)
		return ret;
	if (arg.flags)
		return -EINVAL;
	bufpool_get_stats(bufpool_dev_pool, &arg);
	arg.size = sizeof(arg);
	return bufpool_copy_out(uarg, usize, &arg, sizeof(arg));
}

/**
 * struct bufpool_ioctl_op - one command of the device
 * @size: size of the argument structure the kernel knows
 * @min_size: size of its first published version: the smallest accepted
 * @execute: the handler, given the size userspace passed
 */
struct bufpool_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	long (*execute)(struct file *file, void __user *uarg, u32 usize);
};

#define BUFPOOL_IOCTL_OP(_ioctl, _fn, _struct, _min)			\
	[_IOC_NR(_ioctl)] = {						\
		.size = sizeof(_struct),				\
		.min_size = (_min),					\
		.execute = _fn,						\
	}

static const struct bufpool_ioctl_op bufpool_ioctl_ops[] = {
	BUFPOOL_IOCTL_OP(BUFPOOL_IOC_INFO, bufpool_ioctl_info,
			 struct bufpool_info, BUFPOOL_INFO_SIZE_VER0),
	BUFPOOL_IOCTL_OP(BUFPOOL_IOC_ALLOC, bufpool_ioctl_alloc,
			 struct bufpool_alloc, BUFPOOL_ALLOC_SIZE_VER0),
	BUFPOOL_IOCTL_OP(BUFPOOL_IOC_RELEASE, bufpool_ioctl_release,
			 struct bufpool_release, BUFPOOL_RELEASE_SIZE_VER0),
	BUFPOOL_IOCTL_OP(BUFPOOL_IOC_CANCEL, bufpool_ioctl_cancel,
			 struct bufpool_cancel, BUFPOOL_CANCEL_SIZE_VER0),
	BUFPOOL_IOCTL_OP(BUFPOOL_IOC_STATS, bufpool_ioctl_stats,
			 struct bufpool_stats, BUFPOOL_STATS_SIZE_VER0),
};

/* The first versions end where the uapi header says, below the maximum. */
static_assert(BUFPOOL_INFO_SIZE_VER0 ==
	      offsetofend(struct bufpool_info, bufsize));
static_assert(BUFPOOL_ALLOC_SIZE_VER0 ==
	      offsetofend(struct bufpool_alloc, __reserved));
static_assert(BUFPOOL_RELEASE_SIZE_VER0 ==
	      offsetofend(struct bufpool_release, __reserved));
static_assert(BUFPOOL_CANCEL_SIZE_VER0 ==
	      offsetofend(struct bufpool_cancel, __reserved));
static_assert(BUFPOOL_STATS_SIZE_VER0 ==
	      offsetofend(struct bufpool_stats, peak_queued));
static_assert(sizeof(struct bufpool_stats) <= BUFPOOL_ARG_SIZE_MAX);

/*
 * Commands are told apart by type, direction and number only: the size
 * bits of the command follow the structure, whose own size field is what
 * the kernel checks (once, here), so a later, larger structure keeps
 * working and an older, smaller one too.
 */
static long bufpool_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct bufpool_ioctl_op *op;
	unsigned int nr = _IOC_NR(cmd);
	u32 usize;

	if (_IOC_TYPE(cmd) != BUFPOOL_IOC_MAGIC ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE) ||
	    nr >= ARRAY_SIZE(bufpool_ioctl_ops))
		return -ENOTTY;
	op = &bufpool_ioctl_ops[array_index_nospec(nr,
						   ARRAY_SIZE(bufpool_ioctl_ops))];
	if (!op->execute)
		return -ENOTTY;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < op->min_size)
		return -EINVAL;
	if (usize > BUFPOOL_ARG_SIZE_MAX)
		return -E2BIG;
	return op->execute(file, uarg, usize);
}

static const struct file_operations bufpool_fops = {
	.owner		= THIS_MODULE,
	.open		= bufpool_open,
	.release	= bufpool_release_file,
	.poll		= bufpool_poll,
	.mmap		= bufpool_mmap,
	.unlocked_ioctl	= bufpool_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice bufpool_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= BUFPOOL_DEVICE_NAME,
	.fops	= &bufpool_fops,
	.groups	= bufpool_sysfs_groups,
	.mode	= 0600,
};

/**
 * bufpool_dev_register() - create /dev/bufpool for @pool
 * @pool: the pool its entities draw from
 *
 * Return: 0 or a negative errno from misc_register().
 */
int bufpool_dev_register(struct bufpool *pool)
{
	bufpool_dev_pool = pool;
	return misc_register(&bufpool_miscdev);
}

/**
 * bufpool_dev_unregister() - remove /dev/bufpool
 *
 * No file can be open: each holds a reference on the module.
 */
void bufpool_dev_unregister(void)
{
	misc_deregister(&bufpool_miscdev);
	bufpool_dev_pool = NULL;
}
