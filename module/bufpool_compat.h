/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufpool_compat.h - the one place that knows kernel versions.
 *
 * bufpool builds against every kernel from 6.1 on.  Where an interface
 * it uses changed, this header gives older kernels the newer spelling,
 * keyed on LINUX_VERSION_CODE, so the rest of the module is written
 * against the newest API and holds no version test of its own.  Add to
 * it, newest change last; drop an entry when its kernel stops being
 * supported.
 */
#ifndef _BUFPOOL_COMPAT_H
#define _BUFPOOL_COMPAT_H

#include <linux/err.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/version.h>

/* 6.3 made vma->vm_flags const: flags change through vm_flags_set(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * The largest order the page allocator serves.  Before 6.4 MAX_ORDER was
 * one past it; 6.4 made MAX_ORDER that order itself, and 6.8 renamed it
 * MAX_PAGE_ORDER.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define MAX_PAGE_ORDER	(MAX_ORDER - 1)
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define MAX_PAGE_ORDER	MAX_ORDER
#endif

/*
 * A shrinker that frees pages of its own tells the reclaim it runs in
 * how many: vmscan counts its progress from the LRU and from what is
 * added to current->reclaim_state, never from a shrinker's return value.
 * 6.4 renamed the field from reclaimed_slab to reclaimed and added
 * mm_account_reclaimed_pages() for it.  Outside reclaim (drop_caches)
 * the task has no reclaim_state and nothing is counted.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
static inline void mm_account_reclaimed_pages(unsigned long pages)
{
	if (current->reclaim_state)
		current->reclaim_state->reclaimed_slab += pages;
}
#endif

/*
 * 6.7 replaced register_shrinker() of a caller's struct shrinker by
 * shrinker_alloc(), shrinker_register() and shrinker_free(), the callbacks
 * finding their object in ->private_data.  On both sides of it,
 * bufpool_shrinker_new() returns a registered shrinker (or an ERR_PTR),
 * bufpool_shrinker_private() its object, and bufpool_shrinker_free()
 * unregisters it, waiting for the callbacks that run, and frees it.
 */
typedef unsigned long (*bufpool_shrink_fn)(struct shrinker *shrinker,
					   struct shrink_control *sc);

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
static inline struct shrinker *bufpool_shrinker_new(bufpool_shrink_fn count,
						    bufpool_shrink_fn scan,
						    int seeks, void *private,
						    const char *name)
{
	struct shrinker *shrinker = shrinker_alloc(0, "%s", name);

	if (!shrinker)
		return ERR_PTR(-ENOMEM);
	shrinker->count_objects = count;
	shrinker->scan_objects = scan;
	shrinker->seeks = seeks;
	shrinker->private_data = private;
	shrinker_register(shrinker);
	return shrinker;
}

static inline void *bufpool_shrinker_private(struct shrinker *shrinker)
{
	return shrinker->private_data;
}

static inline void bufpool_shrinker_free(struct shrinker *shrinker)
{
	shrinker_free(shrinker);
}
#else
/**
 * struct bufpool_compat_shrinker - a shrinker and its object
 * @shrinker: registered with register_shrinker()
 * @private_data: what bufpool_shrinker_private() returns
 */
struct bufpool_compat_shrinker {
	struct shrinker shrinker;
	void *private_data;
};

static inline struct shrinker *bufpool_shrinker_new(bufpool_shrink_fn count,
						    bufpool_shrink_fn scan,
						    int seeks, void *private,
						    const char *name)
{
	struct bufpool_compat_shrinker *cs = kzalloc(sizeof(*cs), GFP_KERNEL);
	int ret;

	if (!cs)
		return ERR_PTR(-ENOMEM);
	cs->shrinker.count_objects = count;
	cs->shrinker.scan_objects = scan;
	cs->shrinker.seeks = seeks;
	cs->private_data = private;
	ret = register_shrinker(&cs->shrinker, "%s", name);
	if (ret) {
		kfree(cs);
		return ERR_PTR(ret);
	}
	return &cs->shrinker;
}

static inline void *bufpool_shrinker_private(struct shrinker *shrinker)
{
	return container_of(shrinker, struct bufpool_compat_shrinker,
			    shrinker)->private_data;
}

static inline void bufpool_shrinker_free(struct shrinker *shrinker)
{
	unregister_shrinker(shrinker);
	kfree(container_of(shrinker, struct bufpool_compat_shrinker,
			   shrinker));
}
#endif

#endif /* _BUFPOOL_COMPAT_H */
