// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool allocation selftests, without waiting: the limit, the headroom
 * of each class (NORMAL stops at limit - reserve, LOW at limit -
 * 2 * reserve, CRITICAL takes the last buffer), all-or-none multi-buffer
 * requests, unique ids, the counters, close() giving everything back, and
 * a smoke test of the default module parameters.  NOQUEUE probes the pool
 * so nothing ever sleeps here.
 *
 * Each test runs on the pool as found (the module's parameters), on a
 * small pool with a reserve and on one without.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

FIXTURE(alloc) {
	int fd;
	struct bufpool_stats st;
	__u32 *ids;		/* room for limit ids */
};

FIXTURE_VARIANT(alloc) {
	struct bp_pool pool;
};

FIXTURE_VARIANT_ADD(alloc, loaded) {
	.pool = { .limit = 0 },
};

FIXTURE_VARIANT_ADD(alloc, small) {
	.pool = { .limit = 16, .reserve = 2 },
};

FIXTURE_VARIANT_ADD(alloc, no_reserve) {
	.pool = { .limit = 8, .reserve = 0 },
};

FIXTURE_SETUP(alloc)
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
	self->ids = calloc(self->st.limit, sizeof(__u32));
	ASSERT_NE(NULL, self->ids);
}

FIXTURE_TEARDOWN(alloc)
{
	close(self->fd);
	free(self->ids);
	EXPECT_EQ(0, bp_pool_teardown());
}

/* Take buffers one at a time in @class until refused; how many came. */
static unsigned int take_ones(int fd, unsigned int class, __u32 *ids,
			      unsigned int room)
{
	unsigned int n = 0;

	while (n < room && !bp_try(fd, class, 1, &ids[n]))
		n++;
	return n;
}

static __u64 max_u64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

static __u64 in_use(int fd)
{
	struct bufpool_stats st;

	return bp_stats(fd, &st) ? ~0ULL : st.in_use;
}

TEST_F(alloc, class_thresholds)
{
	unsigned int limit = self->st.limit, r = self->st.reserve;
	unsigned int n, low = bp_class_max(&self->st, BP_LOW);
	int low_fd = bp_open(0), crit_fd = bp_open(0);
	struct bufpool_stats st;
	__u32 id[1];

	ASSERT_LE(0, low_fd);
	ASSERT_LE(0, crit_fd);

	/* LOW stops leaving 2 * reserve free */
	n = take_ones(low_fd, BP_LOW, self->ids, limit);
	EXPECT_EQ(low, n);
	/* (its own buffers are what is in the way: EDEADLK) */
	EXPECT_EQ(-EDEADLK, bp_try(low_fd, BP_LOW, 1, id));

	/* NORMAL goes on to limit - reserve */
	n += take_ones(self->fd, BP_NORM, self->ids + n, limit - n);
	EXPECT_EQ(limit - r, n);
	EXPECT_EQ(-EAGAIN, bp_try(self->fd, BP_NORM, 1, id));
	EXPECT_EQ(-EDEADLK, bp_try(low_fd, BP_LOW, 1, id));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(r, st.free);

	/* CRITICAL takes the reserve, down to the very last buffer */
	n += take_ones(crit_fd, BP_CRIT, self->ids + n, limit - n);
	EXPECT_EQ(limit, n);
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(st.limit, st.in_use);
	EXPECT_EQ(0ULL, st.free);
	EXPECT_EQ(0ULL, bp_nr_queued(&st));
	EXPECT_EQ(-EAGAIN, bp_try(crit_fd, BP_CRIT, 1, id));
	EXPECT_EQ(-EAGAIN, bp_try(self->fd, BP_NORM, 1, id));

	/* everything back on close */
	close(low_fd);
	close(crit_fd);
	close(self->fd);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0ULL, in_use(self->fd));
}

TEST_F(alloc, normal_then_critical)
{
	unsigned int limit = self->st.limit, r = self->st.reserve, n;
	__u32 id[1];

	n = take_ones(self->fd, BP_NORM, self->ids, limit);
	EXPECT_EQ(limit - r, n);
	/* LOW gets nothing once NORMAL has eaten everything it may */
	if (r)
		EXPECT_EQ(-EDEADLK, bp_try(self->fd, BP_LOW, 1, id));
	/* the same fd may then take the reserve as CRITICAL */
	n += take_ones(self->fd, BP_CRIT, self->ids + n, limit - n);
	EXPECT_EQ(limit, n);
	EXPECT_EQ(0, bp_release_all(self->fd, self->ids, n));
	EXPECT_EQ(0ULL, in_use(self->fd));
}

TEST_F(alloc, headroom_counts_other_users)
{
	unsigned int limit = self->st.limit, r = self->st.reserve;
	unsigned int held;
	int other = bp_open(0);
	__u32 id[1];

	ASSERT_LE(0, other);
	if (limit - r < 2)
		SKIP(return, "needs limit - reserve >= 2");
	/* another entity's buffers count against the same budget */
	held = limit - r - 1;
	ASSERT_EQ(held, take_ones(other, BP_CRIT, self->ids, held));
	EXPECT_EQ(0, bp_try(self->fd, BP_NORM, 1, id));
	EXPECT_EQ(-EAGAIN, bp_try(self->fd, BP_NORM, 1, id + 0));
	EXPECT_EQ(0, bp_release(self->fd, id, 1));
	close(other);
	EXPECT_EQ(0ULL, in_use(self->fd));
}

TEST_F(alloc, atomic_n)
{
	unsigned int limit = self->st.limit, c, n, hold, free_;
	__u32 ids[BUFPOOL_ALLOC_MAX];
	struct bufpool_stats b, a;
	int holder = bp_open(0);

	ASSERT_LE(0, holder);
	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		unsigned int max = bp_class_max(&self->st, c);

		for (n = 2; n <= 4 && n <= max; n++) {
			/* leave exactly n - 1 that the class may take */
			free_ = n - 1 + bp_headroom(&self->st, c);
			hold = limit - free_;
			ASSERT_EQ(hold, take_ones(holder, BP_CRIT, self->ids,
						  hold));
			ASSERT_EQ(0, bp_stats(self->fd, &b));
			EXPECT_EQ(-EAGAIN, bp_try(self->fd, c, n, ids));
			ASSERT_EQ(0, bp_stats(self->fd, &a));
			EXPECT_TRUE(bp_stats_same(&b, &a))
				TH_LOG("class %u count %u took something",
				       c, n);
			/* it holds nothing: no id of the pool is its own */
			if (hold)
				EXPECT_EQ(-EPERM,
					  bp_release(self->fd, self->ids, 1));
			EXPECT_EQ(-ENOENT, bp_cancel(self->fd));
			/* n - 1 fits */
			EXPECT_EQ(0, bp_try(self->fd, c, n - 1, ids));
			EXPECT_EQ(0, bp_release(self->fd, ids, n - 1));
			ASSERT_EQ(0, bp_release_all(holder, self->ids, hold));
		}
	}
	close(holder);
}

TEST_F(alloc, all_in_one_call)
{
	unsigned int c, max;
	__u32 ids[BUFPOOL_ALLOC_MAX];
	struct bufpool_stats st;

	for (c = 0; c < BUFPOOL_NR_CLASSES; c++) {
		max = bp_class_max(&self->st, c);
		if (max > BUFPOOL_ALLOC_MAX)
			max = BUFPOOL_ALLOC_MAX;
		ASSERT_EQ(0, bp_try(self->fd, c, max, ids));
		ASSERT_EQ(0, bp_stats(self->fd, &st));
		EXPECT_EQ(max, st.in_use);
		EXPECT_EQ(0, bp_release(self->fd, ids, max));
	}
}

TEST_F(alloc, ids_unique)
{
	unsigned int limit = self->st.limit, i, j, n = 0, k;
	int fds[4];

	for (i = 0; i < 4; i++) {
		fds[i] = bp_open(0);
		ASSERT_LE(0, fds[i]);
	}
	/* spread over entities and call sizes */
	for (i = 0; n < limit; i++) {
		k = (i % 3) + 1;
		if (k > limit - n)
			k = limit - n;
		ASSERT_EQ(0, bp_try(fds[i % 4], BP_CRIT, k, self->ids + n));
		n += k;
	}
	for (i = 0; i < limit; i++)
		for (j = i + 1; j < limit; j++)
			ASSERT_NE(self->ids[i], self->ids[j])
				TH_LOG("id %u given twice", self->ids[i]);
	/* ids stay unique against released-and-reallocated buffers */
	for (i = 0; i < 4; i++)
		close(fds[i]);
	EXPECT_EQ(0ULL, in_use(self->fd));
}

TEST_F(alloc, ids_unique_after_reuse)
{
	unsigned int limit = self->st.limit, i, j;
	int a = bp_open(0), b = bp_open(0);
	__u32 *bids = calloc(limit, sizeof(*bids));

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_NE(NULL, bids);
	if (limit < 2)
		SKIP(return, "needs limit >= 2");
	/* a takes half, gives back one at a time while b takes the rest */
	for (i = 0; i < limit / 2; i++)
		ASSERT_EQ(0, bp_try(a, BP_CRIT, 1, &self->ids[i]));
	for (i = 0; i < limit / 2; i++) {
		ASSERT_EQ(0, bp_release(a, &self->ids[i], 1));
		ASSERT_EQ(0, bp_try(b, BP_CRIT, 1, &bids[i]));
	}
	for (; i < limit; i++)
		ASSERT_EQ(0, bp_try(b, BP_CRIT, 1, &bids[i]));
	for (i = 0; i < limit; i++)
		for (j = i + 1; j < limit; j++)
			ASSERT_NE(bids[i], bids[j]);
	close(a);
	close(b);
	free(bids);
}

TEST_F(alloc, counters)
{
	struct bufpool_stats b, a;
	__u32 ids[3];
	unsigned int need = 3;

	if (bp_class_max(&self->st, BP_NORM) < need)
		SKIP(return, "needs limit - reserve >= 3");
	ASSERT_EQ(0, bp_stats(self->fd, &b));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 2, ids));
	ASSERT_EQ(0, bp_alloc(self->fd, BP_NORM, 1, ids + 2));
	ASSERT_EQ(0, bp_stats(self->fd, &a));
	EXPECT_EQ(b.allocations + 2, a.allocations);
	EXPECT_EQ(b.releases, a.releases);
	EXPECT_EQ(b.grants_waited, a.grants_waited);
	EXPECT_EQ(b.wakeups, a.wakeups);
	EXPECT_EQ(3ULL, a.in_use);
	EXPECT_EQ(a.limit - 3, a.free);
	EXPECT_LE(3ULL, a.peak_in_use);
	EXPECT_LE(a.in_use, a.allocated);
	EXPECT_LE(a.allocated, a.limit);
	EXPECT_LE(a.reserve, a.allocated);

	/* a refused try changes no counter */
	b = a;
	if (a.limit - a.reserve == 3) {
		EXPECT_EQ(-EAGAIN, bp_try(self->fd, BP_NORM, 1, ids));
		ASSERT_EQ(0, bp_stats(self->fd, &a));
		EXPECT_TRUE(bp_stats_same(&b, &a));
	}

	EXPECT_EQ(0, bp_release(self->fd, ids, 2));
	EXPECT_EQ(0, bp_release(self->fd, ids + 2, 1));
	ASSERT_EQ(0, bp_stats(self->fd, &a));
	EXPECT_EQ(b.releases + 3, a.releases);
	EXPECT_EQ(b.allocations, a.allocations);
	EXPECT_EQ(0ULL, a.in_use);
	EXPECT_EQ(a.limit, a.free);
	EXPECT_LE(3ULL, a.peak_in_use);
	/* memory is cached, not returned, until unload */
	EXPECT_LE(b.in_use, a.allocated);
	EXPECT_EQ(b.spurious_wakeups, a.spurious_wakeups);
}

TEST_F(alloc, peak_in_use)
{
	unsigned int limit = self->st.limit;
	struct bufpool_stats st;

	ASSERT_EQ(0, bp_fill(self->fd, &self->st, self->ids));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	/* a peak of a larger limit earlier in this module's life stays */
	EXPECT_EQ(max_u64(st.limit, self->st.peak_in_use), st.peak_in_use);
	EXPECT_EQ(st.limit, st.allocated);
	EXPECT_EQ(0ULL, st.page_alloc_failures);
	ASSERT_EQ(0, bp_release_all(self->fd, self->ids, limit));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(max_u64(st.limit, self->st.peak_in_use), st.peak_in_use);
	EXPECT_EQ(0ULL, st.in_use);
}

TEST_F(alloc, close_gives_back)
{
	int fds[3], i;
	__u32 ids[4];
	struct bufpool_stats st;

	if (self->st.limit < 6)
		SKIP(return, "needs limit >= 6");
	for (i = 0; i < 3; i++) {
		fds[i] = bp_open(0);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, bp_try(fds[i], BP_CRIT, 2, ids));
	}
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(6ULL, st.in_use);
	close(fds[1]);
	EXPECT_EQ(4ULL, in_use(self->fd));
	/* a dup()ed fd is the same entity: it dies with its last fd */
	i = dup(fds[0]);
	ASSERT_LE(0, i);
	close(fds[0]);
	EXPECT_EQ(4ULL, in_use(self->fd));
	close(i);
	EXPECT_EQ(2ULL, in_use(self->fd));
	close(fds[2]);
	EXPECT_EQ(0ULL, in_use(self->fd));
}

TEST_F(alloc, exit_gives_back)
{
	pid_t pid;
	__u32 ids[2];

	if (self->st.limit < 2)
		SKIP(return, "needs limit >= 2");
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = bp_open(0);

		_exit(fd < 0 || bp_try(fd, BP_CRIT, 2, ids) ? 1 : 0);
	}
	ASSERT_EQ(0, bp_reap(pid));
	EXPECT_EQ(0ULL, in_use(self->fd));
}

TEST_F(alloc, dup_shares_entity)
{
	int d = dup(self->fd);
	__u32 id[1];

	ASSERT_LE(0, d);
	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 1, id));
	/* the same open file description: the same holder */
	EXPECT_EQ(0, bp_release(d, id, 1));
	close(d);
}

TEST_F(alloc, defaults)
{
	struct bufpool_stats st;
	struct bufpool_info info;
	__u32 ids[BUFPOOL_ALLOC_MAX], *all;
	int fd = self->fd, crit;
	unsigned int n = 0, k;

	st = self->st;
	if (st.limit != 256 || st.reserve != 4 || st.bufsize != 16384)
		SKIP(return, "not the default parameters (limit %llu reserve %llu bufsize %llu)",
		     (unsigned long long)st.limit,
		     (unsigned long long)st.reserve,
		     (unsigned long long)st.bufsize);
	ASSERT_EQ(0, bp_info(fd, &info));
	EXPECT_EQ(16384U, info.bufsize);
	/* the reserve is preallocated at load */
	EXPECT_LE(4ULL, st.allocated);

	all = calloc(256, sizeof(*all));
	ASSERT_NE(NULL, all);
	/* NORMAL: 252 in calls of 64 at most */
	while (n < 252) {
		k = 252 - n < BUFPOOL_ALLOC_MAX ? 252 - n : BUFPOOL_ALLOC_MAX;
		ASSERT_EQ(0, bp_try(fd, BP_NORM, k, all + n));
		n += k;
	}
	/* fd's own buffers are what is in the way */
	EXPECT_EQ(-EDEADLK, bp_try(fd, BP_NORM, 1, ids));
	EXPECT_EQ(-EDEADLK, bp_try(fd, BP_LOW, 1, ids));
	crit = bp_open(0);
	ASSERT_LE(0, crit);
	EXPECT_EQ(-EAGAIN, bp_try(crit, BP_CRIT, 5, ids));
	ASSERT_EQ(0, bp_try(crit, BP_CRIT, 4, all + n));
	EXPECT_EQ(-EAGAIN, bp_try(crit, BP_CRIT, 1, ids));
	ASSERT_EQ(0, bp_stats(fd, &st));
	EXPECT_EQ(256ULL, st.in_use);
	EXPECT_EQ(256ULL, st.allocated);
	EXPECT_EQ(0ULL, st.free);
	/* LOW may hold at most 256 - 8, in one call at most 64 */
	EXPECT_EQ(0, bp_release_all(fd, all, 252));
	close(crit);
	n = 0;
	while (n < 248) {
		k = 248 - n < BUFPOOL_ALLOC_MAX ? 248 - n : BUFPOOL_ALLOC_MAX;
		ASSERT_EQ(0, bp_try(fd, BP_LOW, k, all + n));
		n += k;
	}
	EXPECT_EQ(-EDEADLK, bp_try(fd, BP_LOW, 1, ids));
	EXPECT_EQ(0, bp_release_all(fd, all, 248));
	ASSERT_EQ(0, bp_stats(fd, &st));
	EXPECT_EQ(0ULL, st.in_use);
	EXPECT_EQ(self->st.spurious_wakeups, st.spurious_wakeups);
	free(all);
}

TEST_HARNESS_MAIN
