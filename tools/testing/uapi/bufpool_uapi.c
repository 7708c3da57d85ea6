/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bufpool_uapi.c - compiled, never run, by `make lint-uapi`: as C89 and
 * C11 by gcc and as C++17 by g++, each with -pedantic -Werror.  It
 * includes the uapi header alone, so the header must bring what it needs
 * and stay within every language (no C++ keyword as a name, nothing
 * C99-only outside 64-bit constants), and it pins the ABI: structure
 * sizes and offsets are the same in each language.
 */
#include <stddef.h>
#include <linux/bufpool.h>

#define BP_ASSERT(name, cond) typedef char bp_assert_##name[(cond) ? 1 : -1]

BP_ASSERT(alloc_size, sizeof(struct bufpool_alloc) == 48);
BP_ASSERT(alloc_class, offsetof(struct bufpool_alloc, alloc_class) == 8);
BP_ASSERT(alloc_timeout, offsetof(struct bufpool_alloc, timeout_ns) == 16);
BP_ASSERT(alloc_ids, offsetof(struct bufpool_alloc, ids_ptr) == 24);
BP_ASSERT(release_size, sizeof(struct bufpool_release) == 32);
BP_ASSERT(release_ids, offsetof(struct bufpool_release, ids_ptr) == 16);
BP_ASSERT(cancel_size, sizeof(struct bufpool_cancel) == 16);
BP_ASSERT(info_size, sizeof(struct bufpool_info) == 40);
BP_ASSERT(info_features, offsetof(struct bufpool_info, features) == 16);
BP_ASSERT(info_entity, offsetof(struct bufpool_info, entity_id) == 32);
BP_ASSERT(stats_size, sizeof(struct bufpool_stats) == 176);
BP_ASSERT(stats_queued, offsetof(struct bufpool_stats, queued) == 56);
BP_ASSERT(stats_peak, offsetof(struct bufpool_stats, peak_queued) == 144);
BP_ASSERT(stats_quarantined,
	  offsetof(struct bufpool_stats, quarantined) == 152);
BP_ASSERT(stats_shrunk, offsetof(struct bufpool_stats, shrunk) == 160);
BP_ASSERT(stats_drains, offsetof(struct bufpool_stats, drains) == 168);
BP_ASSERT(classes, BUFPOOL_NR_CLASSES == 3);

unsigned long bp_uapi_use(struct bufpool_alloc *a, struct bufpool_info *info);

unsigned long bp_uapi_use(struct bufpool_alloc *a, struct bufpool_info *info)
{
	static const unsigned long cmds[] = {
		BUFPOOL_IOC_INFO, BUFPOOL_IOC_ALLOC, BUFPOOL_IOC_RELEASE,
		BUFPOOL_IOC_CANCEL, BUFPOOL_IOC_STATS,
	};
	struct bufpool_release r;
	struct bufpool_cancel c;
	struct bufpool_stats st;
	unsigned long sum = 0;
	unsigned int i;

	a->size = sizeof(*a);
	a->flags = BUFPOOL_ALLOC_NOQUEUE & BUFPOOL_ALLOC_FLAGS;
	a->alloc_class = BUFPOOL_CLASS_CRITICAL + BUFPOOL_CLASS_NORMAL +
			 BUFPOOL_CLASS_LOW;
	a->count = BUFPOOL_ALLOC_MAX;
	r.size = sizeof(r);
	r.ids_ptr = a->ids_ptr;
	c.size = sizeof(c);
	st.size = sizeof(st);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		sum += cmds[i];
	sum += BUFPOOL_ABI_VERSION + sizeof(BUFPOOL_DEVICE_NAME);
	sum += r.size + c.size + st.size + info->bufsize;
#if defined(__cplusplus) || \
	(defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
	/* 64-bit constants: C99 and C++11 on */
	sum += (unsigned long)(info->features &
			       (BUFPOOL_FEAT_CLASSES | BUFPOOL_FEAT_ATOMIC_N |
				BUFPOOL_FEAT_HANDOFF | BUFPOOL_FEAT_TIMEOUT |
				BUFPOOL_FEAT_CANCEL | BUFPOOL_FEAT_MMAP |
				BUFPOOL_FEAT_USER_QUOTA));
#endif
	return sum;
}
