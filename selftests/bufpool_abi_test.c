// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool ABI selftests: INFO, the device node, and every malformed input
 * of uapi/linux/bufpool.h with the errno the header documents for it.
 * Each bad call is checked to leave the pool untouched (STATS before and
 * after, nothing queued on the fd, no buffer leaked).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define BP_FEAT_BASE	(BUFPOOL_FEAT_CLASSES | BUFPOOL_FEAT_ATOMIC_N | \
			 BUFPOOL_FEAT_HANDOFF | BUFPOOL_FEAT_TIMEOUT | \
			 BUFPOOL_FEAT_CANCEL)
#ifdef BUFPOOL_FEAT_MMAP
#define BP_FEAT_MMAP	BUFPOOL_FEAT_MMAP
#else
#define BP_FEAT_MMAP	0
#endif
#ifdef BUFPOOL_FEAT_USER_QUOTA
#define BP_FEAT_QUOTA	BUFPOOL_FEAT_USER_QUOTA
#else
#define BP_FEAT_QUOTA	0
#endif
#ifdef BUFPOOL_FEAT_DEADLINE
#define BP_FEAT_DEADLINE	BUFPOOL_FEAT_DEADLINE
#else
#define BP_FEAT_DEADLINE	0
#endif
#ifdef BUFPOOL_FEAT_STATUS
#define BP_FEAT_STATUS	BUFPOOL_FEAT_STATUS
#else
#define BP_FEAT_STATUS	0
#endif
#define BP_FEAT_KNOWN	(BP_FEAT_BASE | BP_FEAT_MMAP | BP_FEAT_QUOTA | \
			 BP_FEAT_DEADLINE | BP_FEAT_STATUS)

/* An argument larger than any structure, for the size rules. */
#define BIG_ARG	8192

FIXTURE(abi) {
	int fd;
	struct bufpool_stats st;
	unsigned char *big;	/* BIG_ARG bytes */
	void *none;		/* a PROT_NONE page */
	long page;
};

/* The pool as found (the module's parameters), and a small one. */
FIXTURE_VARIANT(abi) {
	struct bp_pool pool;
};

FIXTURE_VARIANT_ADD(abi, loaded) {
	.pool = { .limit = 0 },
};

FIXTURE_VARIANT_ADD(abi, small) {
	.pool = { .limit = 16, .reserve = 2 },
};

FIXTURE_SETUP(abi)
{
	int ret;

	ret = bp_pool_setup(&variant->pool);
	if (ret == -ENODEV)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	self->big = calloc(1, BIG_ARG);
	ASSERT_NE(NULL, self->big);
	self->page = sysconf(_SC_PAGESIZE);
	self->none = mmap(NULL, self->page, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->none);
}

FIXTURE_TEARDOWN(abi)
{
	munmap(self->none, self->page);
	free(self->big);
	close(self->fd);
	EXPECT_EQ(0, bp_pool_teardown());
}

/* Run @call, expect @err, and expect the pool and the fd unchanged. */
#define EXPECT_UNTOUCHED(fd, err, call) do {				\
	struct bufpool_stats __b, __a;					\
	int __fd = (fd);						\
									\
	ASSERT_EQ(0, bp_stats(__fd, &__b));				\
	EXPECT_EQ(err, (call));						\
	ASSERT_EQ(0, bp_stats(__fd, &__a));				\
	EXPECT_TRUE(bp_stats_same(&__b, &__a))				\
		TH_LOG("pool changed: in_use %llu->%llu queued %llu->%llu",\
		       (unsigned long long)__b.in_use,			\
		       (unsigned long long)__a.in_use,			\
		       (unsigned long long)bp_nr_queued(&__b),		\
		       (unsigned long long)bp_nr_queued(&__a));		\
	EXPECT_EQ(-ENOENT, bp_cancel(__fd));				\
} while (0)
#define UNTOUCHED(err, call)	EXPECT_UNTOUCHED(self->fd, err, call)
#define IOC(cmd, arg)		bp_ioctl(self->fd, cmd, arg)

static void fill_alloc(struct bufpool_alloc *a, __u32 *ids)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->flags = BUFPOOL_ALLOC_NOQUEUE;
	a->alloc_class = BP_CRIT;
	a->count = 1;
	a->ids_ptr = bp_ptr(ids);
}

TEST_F(abi, info)
{
	struct bufpool_info info;

	ASSERT_EQ(0, bp_info(self->fd, &info));
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ((__u32)BUFPOOL_ABI_VERSION, info.abi_version);
	EXPECT_EQ((__u32)BUFPOOL_NR_CLASSES, info.nr_classes);
	EXPECT_EQ((__u32)BUFPOOL_ALLOC_MAX, info.alloc_max);
	/* what this ABI version promises, and no bit the header lacks */
	EXPECT_EQ(BP_FEAT_BASE, info.features & BP_FEAT_BASE);
	EXPECT_EQ(0ULL, info.features & ~BP_FEAT_KNOWN)
		TH_LOG("features %#llx", (unsigned long long)info.features);
	EXPECT_EQ(self->st.bufsize, info.bufsize);
	EXPECT_NE(0U, info.bufsize);
	EXPECT_EQ(0, info.bufsize % self->page);
}

TEST_F(abi, stats_consistent)
{
	struct bufpool_stats *st = &self->st;

	EXPECT_EQ(sizeof(*st), st->size);
	EXPECT_NE(0ULL, st->limit);
	EXPECT_LT(st->reserve, st->limit);
	EXPECT_EQ(0ULL, st->in_use);
	EXPECT_EQ(st->limit, st->free);
	EXPECT_LE(st->reserve, st->allocated);
	EXPECT_LE(st->allocated, st->limit);
	EXPECT_EQ(0ULL, bp_nr_queued(st));
	EXPECT_LE(st->spurious_wakeups, st->wakeups);
	/* wake-ups also tell queued requests that a lowered limit failed */
	EXPECT_LE(st->grants_waited, st->wakeups);
	EXPECT_LE(st->in_use, st->peak_in_use);
	EXPECT_EQ(0ULL, st->bufsize % self->page);
}

TEST_F(abi, device_node)
{
	struct stat sb;

	ASSERT_EQ(0, stat(BP_DEV, &sb));
	EXPECT_TRUE(S_ISCHR(sb.st_mode));
	EXPECT_EQ(0600U, sb.st_mode & 07777);
	EXPECT_EQ(0U, sb.st_uid);
}

TEST_F(abi, unknown_ioctl)
{
	struct bufpool_stats *st = (struct bufpool_stats *)self->big;

	st->size = sizeof(*st);
	UNTOUCHED(-ENOTTY, IOC(_IOWR(BUFPOOL_IOC_MAGIC, 0x05, *st), st));
	UNTOUCHED(-ENOTTY, IOC(_IOWR(BUFPOOL_IOC_MAGIC, 0xff, *st), st));
	/* wrong magic, right number */
	UNTOUCHED(-ENOTTY, IOC(_IOWR(BUFPOOL_IOC_MAGIC + 1, 0x04, *st), st));
	UNTOUCHED(-ENOTTY, IOC(_IOWR(0, 0x04, *st), st));
	/* wrong direction */
	UNTOUCHED(-ENOTTY, IOC(_IOR(BUFPOOL_IOC_MAGIC, 0x04, *st), st));
	UNTOUCHED(-ENOTTY, IOC(_IOW(BUFPOOL_IOC_MAGIC, 0x04, *st), st));
	UNTOUCHED(-ENOTTY, IOC(_IO(BUFPOOL_IOC_MAGIC, 0x04), st));
	/* a generic ioctl the device does not implement */
	UNTOUCHED(-ENOTTY, IOC(FIONREAD, st));
}

TEST_F(abi, cmd_size_bits_ignored)
{
	struct bufpool_stats *st = (struct bufpool_stats *)self->big;

	/* the size bits of the command are not checked, the size field is */
	st->size = sizeof(*st);
	EXPECT_EQ(0, IOC(_IOC(_IOC_READ | _IOC_WRITE, BUFPOOL_IOC_MAGIC, 4, 8),
			 st));
	EXPECT_EQ(self->st.limit, st->limit);
}

/* The smallest size @cmd accepts: its structure's first version. */
static size_t first_size(unsigned long cmd, size_t ssize)
{
	if (cmd == BUFPOOL_IOC_INFO)
		return BUFPOOL_INFO_SIZE_VER0;
	return cmd == BUFPOOL_IOC_STATS ? BUFPOOL_STATS_SIZE_VER0 : ssize;
}

/*
 * The size rules for one command whose argument lives in self->big:
 * smaller than its first version -> -EINVAL, larger with a non-zero tail -> -E2BIG, larger with a
 * zero tail -> @ok, above 4096 -> -E2BIG.
 */
static void check_sizes(struct __test_metadata *_metadata, int fd,
			unsigned char *b, unsigned long cmd, size_t ssize,
			int ok)
{
	__u32 *size = (__u32 *)b;

	*size = first_size(cmd, ssize) - 1;
	EXPECT_UNTOUCHED(fd, -EINVAL, bp_ioctl(fd, cmd, b));
	*size = 0;
	EXPECT_UNTOUCHED(fd, -EINVAL, bp_ioctl(fd, cmd, b));
	*size = 4;
	EXPECT_UNTOUCHED(fd, -EINVAL, bp_ioctl(fd, cmd, b));

	/* a non-zero byte just past the structure, and at the end */
	*size = ssize + 8;
	b[ssize] = 1;
	EXPECT_UNTOUCHED(fd, -E2BIG, bp_ioctl(fd, cmd, b));
	b[ssize] = 0;
	b[ssize + 7] = 0x80;
	EXPECT_UNTOUCHED(fd, -E2BIG, bp_ioctl(fd, cmd, b));
	b[ssize + 7] = 0;
	*size = 4096;
	b[4095] = 1;
	EXPECT_UNTOUCHED(fd, -E2BIG, bp_ioctl(fd, cmd, b));
	b[4095] = 0;

	/* zero tail: accepted, up to 4096 */
	*size = ssize + 8;
	EXPECT_EQ(ok, bp_ioctl(fd, cmd, b));
	*size = 4096;
	EXPECT_EQ(ok, bp_ioctl(fd, cmd, b));

	/* above 4096, even with a zero tail */
	*size = 4097;
	EXPECT_UNTOUCHED(fd, -E2BIG, bp_ioctl(fd, cmd, b));
	*size = BIG_ARG;
	EXPECT_UNTOUCHED(fd, -E2BIG, bp_ioctl(fd, cmd, b));
	*size = 0xffffffff;
	EXPECT_UNTOUCHED(fd, -E2BIG, bp_ioctl(fd, cmd, b));
}

TEST_F(abi, size_info)
{
	struct bufpool_info *info = (struct bufpool_info *)self->big;

	check_sizes(_metadata, self->fd, self->big, BUFPOOL_IOC_INFO,
		    sizeof(*info), 0);
	/* the kernel reports its own size and fills the structure */
	memset(self->big, 0, BIG_ARG);
	info->size = sizeof(*info) + 16;
	ASSERT_EQ(0, IOC(BUFPOOL_IOC_INFO, info));
	EXPECT_EQ(sizeof(*info), info->size);
	EXPECT_EQ((__u32)BUFPOOL_ABI_VERSION, info->abi_version);
}

TEST_F(abi, size_stats)
{
	struct bufpool_stats *st = (struct bufpool_stats *)self->big;

	check_sizes(_metadata, self->fd, self->big, BUFPOOL_IOC_STATS,
		    sizeof(*st), 0);
	memset(self->big, 0, BIG_ARG);
	st->size = sizeof(*st) + 16;
	ASSERT_EQ(0, IOC(BUFPOOL_IOC_STATS, st));
	EXPECT_EQ(sizeof(*st), st->size);
	EXPECT_EQ(self->st.limit, st->limit);
}

TEST_F(abi, size_cancel)
{
	/* accepted: nothing is queued, so CANCEL says -ENOENT */
	check_sizes(_metadata, self->fd, self->big, BUFPOOL_IOC_CANCEL,
		    sizeof(struct bufpool_cancel), -ENOENT);
}

TEST_F(abi, size_alloc_larger_zero_tail)
{
	struct bufpool_alloc *a = (struct bufpool_alloc *)self->big;
	__u32 id[1];

	fill_alloc(a, id);
	a->size = sizeof(*a) + 64;
	ASSERT_EQ(0, IOC(BUFPOOL_IOC_ALLOC, a));
	EXPECT_EQ(0, bp_release(self->fd, id, 1));
	fill_alloc(a, id);
	a->size = 4096;
	ASSERT_EQ(0, IOC(BUFPOOL_IOC_ALLOC, a));
	EXPECT_EQ(0, bp_release(self->fd, id, 1));
}

/*
 * The size rules for ALLOC on a full pool, where an accepted NOQUEUE
 * request says -EAGAIN and changes nothing.
 */
FIXTURE(abi_full) {
	int fd, hold;
	struct bufpool_stats st;
	__u32 *ids;
	unsigned char *big;
};

FIXTURE_SETUP(abi_full)
{
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd);
	self->hold = bp_open(0);
	ASSERT_LE(0, self->hold);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	self->ids = calloc(self->st.limit, sizeof(__u32));
	ASSERT_NE(NULL, self->ids);
	self->big = calloc(1, BIG_ARG);
	ASSERT_NE(NULL, self->big);
	ASSERT_EQ(0, bp_fill(self->hold, &self->st, self->ids));
}

FIXTURE_TEARDOWN(abi_full)
{
	close(self->hold);
	close(self->fd);
	free(self->ids);
	free(self->big);
}

TEST_F(abi_full, size_alloc)
{
	struct bufpool_alloc *a = (struct bufpool_alloc *)self->big;
	__u32 id[1];

	fill_alloc(a, id);
	check_sizes(_metadata, self->fd, self->big, BUFPOOL_IOC_ALLOC,
		    sizeof(*a), -EAGAIN);
}

TEST_F(abi, size_release)
{
	struct bufpool_release *r = (struct bufpool_release *)self->big;
	__u32 id[1];
	int i;

	/* each accepted call releases: give it a buffer each time */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 1, id));
		memset(self->big, 0, BIG_ARG);
		r->count = 1;
		r->ids_ptr = bp_ptr(id);
		r->size = sizeof(*r) - 1;
		UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_RELEASE, r));
		r->size = sizeof(*r) + 8;
		self->big[sizeof(*r) + 3] = 1;
		UNTOUCHED(-E2BIG, IOC(BUFPOOL_IOC_RELEASE, r));
		self->big[sizeof(*r) + 3] = 0;
		r->size = 4097;
		UNTOUCHED(-E2BIG, IOC(BUFPOOL_IOC_RELEASE, r));
		r->size = i ? 4096 : sizeof(*r) + 8;
		EXPECT_EQ(0, IOC(BUFPOOL_IOC_RELEASE, r));
		EXPECT_EQ(-ENOENT, bp_release(self->fd, id, 1));
	}
	EXPECT_EQ(0, bp_wait_in_use(self->fd, 0, 0));
}

TEST_F(abi, alloc_bad_fields)
{
	struct bufpool_alloc a;
	__u32 ids[BUFPOOL_ALLOC_MAX + 1];
	int bit;

	for (bit = 1; bit < 32; bit++) {
		if ((1U << bit) & BUFPOOL_ALLOC_FLAGS)
			continue;
		fill_alloc(&a, ids);
		a.flags |= 1U << bit;
		UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
		/* without NOQUEUE too: must not queue anything */
		a.flags &= ~BUFPOOL_ALLOC_NOQUEUE;
		UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
	}

	fill_alloc(&a, ids);
	a.__reserved[0] = 1;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
	fill_alloc(&a, ids);
	a.__reserved[1] = 1ULL << 63;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));

	fill_alloc(&a, ids);
	a.alloc_class = BUFPOOL_NR_CLASSES;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
	a.alloc_class = 0xffffffff;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
	a.alloc_class = 0x80000001;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));

	fill_alloc(&a, ids);
	a.count = 0;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
	a.count = BUFPOOL_ALLOC_MAX + 1;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
	a.count = 0xffffffff;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
	/* the same without NOQUEUE: blocking fd, must return, not queue */
	a.flags = 0;
	a.count = BUFPOOL_ALLOC_MAX + 1;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
	a.count = 0;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_ALLOC, &a));
}

/*
 * ALLOC whose ids cannot be written: -EFAULT before the pool is touched,
 * so no counter moves and nothing is queued.
 */
#define EFAULT_IDS(call) do {						\
	struct bufpool_stats __b, __a;					\
									\
	ASSERT_EQ(0, bp_stats(self->fd, &__b));				\
	EXPECT_EQ(-EFAULT, (call));					\
	ASSERT_EQ(0, bp_stats(self->fd, &__a));				\
	EXPECT_EQ(__b.in_use, __a.in_use);				\
	EXPECT_EQ(__b.free, __a.free);					\
	EXPECT_EQ(bp_nr_queued(&__b), bp_nr_queued(&__a));		\
	EXPECT_EQ(__b.grants_waited, __a.grants_waited);		\
	EXPECT_EQ(__b.wakeups, __a.wakeups);				\
	EXPECT_EQ(__b.allocations, __a.allocations);			\
	EXPECT_EQ(__b.releases, __a.releases);				\
	EXPECT_EQ(-ENOENT, bp_cancel(self->fd));			\
} while (0)

TEST_F(abi, alloc_efault_ids)
{
	struct bufpool_alloc a;
	unsigned int n = self->st.limit < 4 ? self->st.limit : 4;
	__u32 *edge;

	fill_alloc(&a, NULL);
	EFAULT_IDS(IOC(BUFPOOL_IOC_ALLOC, &a));
	a.count = n;
	EFAULT_IDS(IOC(BUFPOOL_IOC_ALLOC, &a));
	a.ids_ptr = bp_ptr(self->none);
	EFAULT_IDS(IOC(BUFPOOL_IOC_ALLOC, &a));
	a.ids_ptr = ~0ULL - 3;
	EFAULT_IDS(IOC(BUFPOOL_IOC_ALLOC, &a));
	/* a kernel address */
	a.ids_ptr = 0xffffffff81000000ULL;
	EFAULT_IDS(IOC(BUFPOOL_IOC_ALLOC, &a));

	/* ids straddling the end of a mapping: the first fits, not the rest */
	if (n >= 2) {
		unsigned char *m = mmap(NULL, 2 * self->page,
					PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ASSERT_NE(MAP_FAILED, m);
		ASSERT_EQ(0, mprotect(m + self->page, self->page, PROT_NONE));
		edge = (__u32 *)(m + self->page) - 1;
		a.ids_ptr = bp_ptr(edge);
		EFAULT_IDS(IOC(BUFPOOL_IOC_ALLOC, &a));
		munmap(m, 2 * self->page);
	}

	/* nothing leaked: the whole pool can still be taken */
	{
		__u32 *ids = calloc(self->st.limit, sizeof(*ids));

		ASSERT_NE(NULL, ids);
		EXPECT_EQ(0, bp_fill(self->fd, &self->st, ids));
		EXPECT_EQ(0, bp_release_all(self->fd, ids, self->st.limit));
		free(ids);
	}
}

TEST_F(abi, efault_argument)
{
	unsigned long cmds[] = {
		BUFPOOL_IOC_INFO, BUFPOOL_IOC_ALLOC, BUFPOOL_IOC_RELEASE,
		BUFPOOL_IOC_CANCEL, BUFPOOL_IOC_STATS,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		UNTOUCHED(-EFAULT, IOC(cmds[i], NULL));
		UNTOUCHED(-EFAULT, IOC(cmds[i], self->none));
		UNTOUCHED(-EFAULT, IOC(cmds[i], (void *)1));
		UNTOUCHED(-EFAULT, IOC(cmds[i], (void *)0xffffffff81000000ULL));
	}
}

TEST_F(abi, efault_argument_tail)
{
	/* size says larger than the mapping: the tail cannot be read */
	unsigned char *m = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct bufpool_stats *st;

	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mprotect(m + self->page, self->page, PROT_NONE));
	st = (struct bufpool_stats *)(m + self->page - sizeof(*st));
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st) + 8;
	UNTOUCHED(-EFAULT, IOC(BUFPOOL_IOC_STATS, st));
	/* exactly fitting is fine */
	st->size = sizeof(*st);
	EXPECT_EQ(0, IOC(BUFPOOL_IOC_STATS, st));
	/* the size field itself half mapped */
	UNTOUCHED(-EFAULT, IOC(BUFPOOL_IOC_STATS, m + self->page - 2));
	munmap(m, 2 * self->page);
}

TEST_F(abi, release_bad_fields)
{
	struct bufpool_release r;
	__u32 ids[BUFPOOL_ALLOC_MAX + 1];
	__u32 id[1];

	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 1, id));
	memset(ids, 0, sizeof(ids));
	ids[0] = id[0];

#define R_INIT() do {				\
	memset(&r, 0, sizeof(r));		\
	r.size = sizeof(r);			\
	r.count = 1;				\
	r.ids_ptr = bp_ptr(ids);		\
} while (0)

	R_INIT();
	r.flags = 1;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_RELEASE, &r));
	R_INIT();
	r.flags = 0x80000000;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_RELEASE, &r));
	R_INIT();
	r.__pad = 1;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_RELEASE, &r));
	R_INIT();
	r.__reserved = 1ULL << 40;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_RELEASE, &r));
	R_INIT();
	r.count = 0;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_RELEASE, &r));
	r.count = BUFPOOL_ALLOC_MAX + 1;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_RELEASE, &r));
	r.count = 0xffffffff;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_RELEASE, &r));
	R_INIT();
	r.ids_ptr = 0;
	UNTOUCHED(-EFAULT, IOC(BUFPOOL_IOC_RELEASE, &r));
	r.ids_ptr = bp_ptr(self->none);
	UNTOUCHED(-EFAULT, IOC(BUFPOOL_IOC_RELEASE, &r));
#undef R_INIT

	/* still held: the good call works once */
	EXPECT_EQ(0, bp_release(self->fd, id, 1));
	EXPECT_EQ(-ENOENT, bp_release(self->fd, id, 1));
}

TEST_F(abi, cancel_bad_fields)
{
	struct bufpool_cancel c = { .size = sizeof(c), .flags = 1 };

	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_CANCEL, &c));
	c.flags = 0x80000000;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_CANCEL, &c));
	c.flags = 0;
	c.__reserved = 1;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_CANCEL, &c));
	c.__reserved = 0;
	EXPECT_EQ(-ENOENT, IOC(BUFPOOL_IOC_CANCEL, &c));
}

TEST_F(abi, info_stats_flags)
{
	struct bufpool_info info = { .size = sizeof(info), .flags = 1 };
	struct bufpool_stats st = { .size = sizeof(st), .flags = 1 };

	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_INFO, &info));
	info.flags = 0x80000000;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_INFO, &info));
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_STATS, &st));
	st.flags = 0x80000000;
	UNTOUCHED(-EINVAL, IOC(BUFPOOL_IOC_STATS, &st));
}

TEST_F(abi, release_unknown_double_duplicate)
{
	__u32 id[2], two[2], bogus[1];
	struct bufpool_stats st;

	if (self->st.limit < 2)
		SKIP(return, "needs limit >= 2");
	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 2, id));
	EXPECT_NE(id[0], id[1]);

	/* never allocated */
	bogus[0] = 0xffffffff;
	UNTOUCHED(-ENOENT, bp_release(self->fd, bogus, 1));
	bogus[0] = (id[0] > id[1] ? id[0] : id[1]) + 100000;
	UNTOUCHED(-ENOENT, bp_release(self->fd, bogus, 1));

	/* a valid id and an unknown one: nothing released */
	two[0] = id[0];
	two[1] = 0xffffffff;
	UNTOUCHED(-ENOENT, bp_release(self->fd, two, 2));
	two[0] = 0xfffffffe;
	two[1] = id[1];
	UNTOUCHED(-ENOENT, bp_release(self->fd, two, 2));

	/* the same id twice: -EINVAL, nothing released */
	two[0] = id[0];
	two[1] = id[0];
	UNTOUCHED(-EINVAL, bp_release(self->fd, two, 2));
	{
		__u32 three[3] = { id[0], id[1], id[0] };

		UNTOUCHED(-EINVAL, bp_release(self->fd, three, 3));
	}
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(2ULL, st.in_use);

	/* release one, then double release, alone and with a held one */
	EXPECT_EQ(0, bp_release(self->fd, &id[0], 1));
	UNTOUCHED(-ENOENT, bp_release(self->fd, &id[0], 1));
	two[0] = id[1];
	two[1] = id[0];
	UNTOUCHED(-ENOENT, bp_release(self->fd, two, 2));
	EXPECT_EQ(0, bp_release(self->fd, &id[1], 1));
	UNTOUCHED(-ENOENT, bp_release(self->fd, id, 2));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.in_use);
}

TEST_F(abi, release_foreign)
{
	__u32 mine[1], theirs[1], two[2];
	int other = bp_open(0);

	ASSERT_LE(0, other);
	if (self->st.limit < 2)
		SKIP(return, "needs limit >= 2");
	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 1, mine));
	ASSERT_EQ(0, bp_try(other, BP_CRIT, 1, theirs));

	UNTOUCHED(-EPERM, bp_release(self->fd, theirs, 1));
	two[0] = mine[0];
	two[1] = theirs[0];
	UNTOUCHED(-EPERM, bp_release(self->fd, two, 2));
	two[0] = theirs[0];
	two[1] = mine[0];
	UNTOUCHED(-EPERM, bp_release(self->fd, two, 2));
	/* an unknown id and a foreign one: either error, nothing released */
	two[0] = theirs[0];
	two[1] = 0xffffffff;
	{
		struct bufpool_stats b, a;
		int ret;

		ASSERT_EQ(0, bp_stats(self->fd, &b));
		ret = bp_release(self->fd, two, 2);
		EXPECT_TRUE(ret == -EPERM || ret == -ENOENT)
			TH_LOG("got %d", ret);
		ASSERT_EQ(0, bp_stats(self->fd, &a));
		EXPECT_TRUE(bp_stats_same(&b, &a));
	}

	/* each still holds its own */
	EXPECT_EQ(0, bp_release(other, theirs, 1));
	EXPECT_EQ(-ENOENT, bp_release(self->fd, theirs, 1));
	EXPECT_EQ(0, bp_release(self->fd, mine, 1));
	close(other);
}

TEST_F(abi, release_granted_uncollected)
{
	int nb = bp_open(O_NONBLOCK);
	__u32 *ids, got[1], back[1];
	unsigned int last = self->st.limit - 1;

	ASSERT_LE(0, nb);
	ids = calloc(self->st.limit, sizeof(*ids));
	ASSERT_NE(NULL, ids);
	ASSERT_EQ(0, bp_fill(self->fd, &self->st, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_CRIT, 1, got));
	ASSERT_EQ(0, bp_release(self->fd, &ids[last], 1));
	ASSERT_TRUE(bp_readable(nb, BP_PATIENCE_MS));

	/* granted to nb but not collected: nobody holds it */
	UNTOUCHED(-ENOENT, bp_release(self->fd, &ids[last], 1));
	EXPECT_EQ(-ENOENT, bp_release(nb, &ids[last], 1));

	/* collected: now nb holds it, and it is foreign to self->fd */
	ASSERT_EQ(0, bp_alloc(nb, BP_CRIT, 1, got));
	EXPECT_EQ(-EPERM, bp_release(self->fd, got, 1));
	back[0] = got[0];
	EXPECT_EQ(0, bp_release(nb, back, 1));
	EXPECT_EQ(0, bp_release_all(self->fd, ids, last));
	close(nb);
	free(ids);
}

TEST_F(abi, cancel_nothing)
{
	__u32 id[1];

	UNTOUCHED(-ENOENT, bp_cancel(self->fd));
	/* a served request is not queued */
	ASSERT_EQ(0, bp_alloc(self->fd, BP_CRIT, 1, id));
	UNTOUCHED(-ENOENT, bp_cancel(self->fd));
	EXPECT_EQ(0, bp_release(self->fd, id, 1));
	UNTOUCHED(-ENOENT, bp_cancel(self->fd));
}

TEST_F(abi, enospc)
{
	__u32 ids[BUFPOOL_ALLOC_MAX];
	unsigned int c, max;
	int nb = bp_open(O_NONBLOCK);

	ASSERT_LE(0, nb);
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		max = bp_class_max(&self->st, c);
		if (max + 1 > BUFPOOL_ALLOC_MAX)
			continue;
		/* blocking, non-blocking and NOQUEUE: at once, no queueing */
		UNTOUCHED(-ENOSPC, bp_alloc(self->fd, c, max + 1, ids));
		UNTOUCHED(-ENOSPC, bp_try(self->fd, c, max + 1, ids));
		UNTOUCHED(-ENOSPC, bp_alloc(nb, c, max + 1, ids));
		EXPECT_EQ(-ENOENT, bp_cancel(nb));
		/* the most the class may hold is served on an empty pool */
		ASSERT_EQ(0, bp_try(self->fd, c, max, ids));
		EXPECT_EQ(0, bp_release(self->fd, ids, max));
	}
	/* -ENOSPC even while the pool is busy and others wait */
	if (self->st.limit + 1 <= BUFPOOL_ALLOC_MAX) {
		UNTOUCHED(-ENOSPC, bp_alloc(self->fd, BP_CRIT,
					    self->st.limit + 1, ids));
	}
	close(nb);
}

TEST_HARNESS_MAIN
