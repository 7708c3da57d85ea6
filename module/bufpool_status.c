// SPDX-License-Identifier: GPL-2.0
/*
 * The status page of a /dev/bufpool file: one zeroed page, mapped
 * read-only at BUFPOOL_STATUS_OFFSET, where the kernel shows the file's
 * latest grant of a request queued with BUFPOOL_ALLOC_STATUS, so that an
 * event loop learns its ids without calling ALLOC to collect them.
 *
 * The page belongs to one file: it is allocated at the file's first
 * mmap() of it and freed when the file is released, which cannot happen
 * while a mapping exists (every mapping holds the file).  It is written
 * only by the kernel, under the pool lock, from the file's own ->notify():
 * it never shows another file's buffers.  Userspace cannot write it: a
 * writable (or executable) mapping is refused and VM_MAYWRITE (and
 * VM_MAYEXEC) cleared, so mprotect() can never make it so; VM_IO |
 * VM_PFNMAP keep get_user_pages() (and so /proc/<pid>/mem and ptrace)
 * away; VM_DONTCOPY (kept by VM_IO against MADV_DOFORK) leaves it out of
 * a child's address space; VM_DONTEXPAND keeps mremap() from growing it
 * past its one page.
 */

#include <linux/bufpool.h>
#include <linux/gfp.h>
#include <linux/mm.h>

#include "bufpool.h"
#include "bufpool_compat.h"
#include "bufpool_dev.h"

static_assert(sizeof(struct bufpool_status) <= PAGE_SIZE);

/**
 * bufpool_status_vma() - is @vma a mapping of the status page?
 * @vma: the mapping being created
 *
 * Return: true if it starts at BUFPOOL_STATUS_OFFSET.
 */
bool bufpool_status_vma(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff == BUFPOOL_STATUS_OFFSET >> PAGE_SHIFT;
}

/**
 * bufpool_status_mmap() - map the status page of a file
 * @slot: the file's page, allocated here the first time
 * @vma: the mapping: one page, shared, read-only
 *
 * Return: 0, -EINVAL (private, or not one page), -EACCES (writable or
 * executable),
 * -ENOMEM, or what remap_pfn_range() returns.
 */
int bufpool_status_mmap(struct bufpool_status **slot,
			struct vm_area_struct *vma)
{
	struct bufpool_status *st, *old;

	if (!(vma->vm_flags & VM_MAYSHARE) ||
	    vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	if (vma->vm_flags & (VM_WRITE | VM_EXEC))
		return -EACCES;

	/* pairs with the cmpxchg(): a page seen is a zeroed page */
	st = smp_load_acquire(slot);
	if (!st) {
		st = (struct bufpool_status *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!st)
			return -ENOMEM;
		old = cmpxchg(slot, NULL, st);
		if (old) {
			/* another thread mapped it first */
			free_page((unsigned long)st);
			st = old;
		}
	}
	vm_flags_clear(vma, VM_MAYWRITE | VM_MAYEXEC);
	vm_flags_set(vma, VM_IO | VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	return remap_pfn_range(vma, vma->vm_start,
			       page_to_pfn(virt_to_page(st)), PAGE_SIZE,
			       vma->vm_page_prot);
}

/**
 * bufpool_status_publish_locked() - collect a grant onto the status page
 * @st: the file's status page
 * @e: the file's entity, whose waiter is being woken
 *
 * From the entity's ->notify(), pool lock held (the only writer): if its
 * request is granted and was queued with BUFPOOL_ALLOC_COLLECT, the entity
 * collects it now and the page shows it.  Readers follow @st->seq, odd
 * while the page changes.
 *
 * Return: the number of buffers collected, 0 if the request is not granted
 * or is for an ALLOC to collect.
 */
unsigned int bufpool_status_publish_locked(struct bufpool_status *st,
					   struct bufpool_entity *e)
{
	u32 seq = st->seq;
	unsigned int n;
	u64 grant;

	if (e->waiter.state != BUFPOOL_WAIT_GRANTED || !e->waiter.collect)
		return 0;
	WRITE_ONCE(st->seq, seq + 1);
	smp_wmb();	/* the page is marked changing before it changes */
	n = bufpool_collect_granted_locked(e, st->ids, &grant);
	WRITE_ONCE(st->alloc_class, e->waiter.class);
	WRITE_ONCE(st->count, n);
	WRITE_ONCE(st->grants, st->grants + 1);
	smp_wmb();	/* and is whole again before it is marked so */
	WRITE_ONCE(st->seq, seq + 2);
	return n;
}

/**
 * bufpool_status_free() - free a file's status page
 * @st: the page, or NULL if the file never mapped it
 *
 * When the file is released: no mapping of the page is left.
 */
void bufpool_status_free(struct bufpool_status *st)
{
	if (st)
		free_page((unsigned long)st);
}
