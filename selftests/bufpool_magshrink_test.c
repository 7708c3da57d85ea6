// SPDX-License-Identifier: GPL-2.0
/*
 * drop_caches gives back every free buffer beyond the reserve, including
 * those a per-CPU cache keeps: a buffer allocated and released on each CPU
 * must not leave free buffers the shrinker cannot see.  The same for the
 * buffers a file keeps for itself (it gave them back with nothing written
 * in them), which STATS count as free.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "bufpool_util.h"
#include "bufpool_sys_util.h"

#define RESERVE	2
#define WARM	16

static int on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* Only the reserve cached, then WARM more free buffers: 0 or -errno. */
static int warm_up(int fd)
{
	__u32 ids[WARM];
	unsigned int i;
	int ret;

	ret = bp_write_file("/proc/sys/vm", "drop_caches", "2");
	if (ret)
		return ret;
	for (i = 0; i < WARM; i++) {
		ret = bp_try(fd, BP_NORM, 1, &ids[i]);
		if (ret)
			break;
	}
	return bp_release_all(fd, ids, i) ?: ret;
}

FIXTURE(magshrink) {
	struct bp_tunables saved;
	int fd;
};

FIXTURE_SETUP(magshrink)
{
	self->fd = -1;
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	ASSERT_EQ(0, bp_tunables_set(64, RESERVE, 0));
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
}

FIXTURE_TEARDOWN(magshrink)
{
	if (self->fd >= 0)
		close(self->fd);
	bp_tunables_restore(&self->saved);
}

TEST_F(magshrink, drop_caches_reaches_per_cpu_caches)
{
	struct bufpool_stats st0, st1;
	__u32 a, b;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	ASSERT_EQ(0, warm_up(self->fd));
	/* one buffer taken on each CPU */
	ASSERT_EQ(0, on_cpu(0));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &a));
	ASSERT_EQ(0, on_cpu(1));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &b));
	ASSERT_EQ(0, bp_stats(self->fd, &st0));
	ASSERT_EQ(0, bp_write_file("/proc/sys/vm", "drop_caches", "2"));
	ASSERT_EQ(0, bp_stats(self->fd, &st1));
	TH_LOG("before: allocated %llu in_use %llu", st0.allocated, st0.in_use);
	TH_LOG("after drop_caches: allocated %llu in_use %llu, shrunk %llu",
	       st1.allocated, st1.in_use, st1.shrunk - st0.shrunk);
	/* everything free beyond the reserve went back */
	EXPECT_EQ(st1.in_use + st1.reserve, st1.allocated);
	ASSERT_EQ(0, bp_release(self->fd, &a, 1));
	ASSERT_EQ(0, bp_release(self->fd, &b, 1));
}

/*
 * STATS drains: still while the per-CPU caches serve, one more per stop.
 * drop_caches asks the shrinker for all it counts, the per-CPU caches'
 * buffers included, which is more than the shared cache has: its scan
 * empties them, once.  (That the count alone stops nothing is the core
 * harness's to show, percpu_shrink_count and the shrink_count
 * interleavings: these kernels cannot call the count on its own.)
 */
TEST_F(magshrink, drains_count_the_stops)
{
	struct bufpool_stats st0, st1, st2;
	unsigned int i;
	__u32 a;

	ASSERT_EQ(0, warm_up(self->fd));
	ASSERT_EQ(0, on_cpu(0));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &a));
	ASSERT_EQ(0, bp_release(self->fd, &a, 1));
	ASSERT_EQ(0, bp_stats(self->fd, &st0));
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &a));
		ASSERT_EQ(0, bp_release(self->fd, &a, 1));
	}
	ASSERT_EQ(0, bp_stats(self->fd, &st1));
	ASSERT_EQ(0, bp_write_file("/proc/sys/vm", "drop_caches", "2"));
	ASSERT_EQ(0, bp_stats(self->fd, &st2));
	TH_LOG("drains: %llu before, %llu after 100 pairs, %llu after drop_caches",
	       st0.drains, st1.drains, st2.drains);
	EXPECT_EQ(st0.drains, st1.drains);
	EXPECT_EQ(st1.drains + 1, st2.drains);
	EXPECT_EQ(st2.in_use + st2.reserve, st2.allocated);
}

TEST_F(magshrink, stats_and_drop_caches_reach_slots)
{
	struct bufpool_stats st0, st1, st2;
	__u32 a[2], b[2];
	int fd2;

	ASSERT_EQ(0, warm_up(self->fd));
	fd2 = bp_open(0);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, bp_stats(self->fd, &st0));
	/* two files each take two buffers and give them back, unwritten */
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 2, a));
	ASSERT_EQ(0, bp_release(self->fd, a, 2));
	ASSERT_EQ(0, bp_try(fd2, BP_NORM, 2, b));
	ASSERT_EQ(0, bp_release(fd2, b, 2));
	ASSERT_EQ(0, bp_stats(self->fd, &st1));
	TH_LOG("before: allocated %llu in_use %llu free %llu",
	       st0.allocated, st0.in_use, st0.free);
	TH_LOG("after: allocated %llu in_use %llu free %llu, %llu allocations %llu releases",
	       st1.allocated, st1.in_use, st1.free,
	       st1.allocations - st0.allocations,
	       st1.releases - st0.releases);
	/* what they keep is free, and every call is counted once */
	EXPECT_EQ(st0.in_use, st1.in_use);
	EXPECT_EQ(st1.limit - st1.in_use, st1.free);
	EXPECT_EQ(2ULL, st1.allocations - st0.allocations);
	EXPECT_EQ(4ULL, st1.releases - st0.releases);
	ASSERT_EQ(0, bp_write_file("/proc/sys/vm", "drop_caches", "2"));
	ASSERT_EQ(0, bp_stats(self->fd, &st2));
	TH_LOG("after drop_caches: allocated %llu in_use %llu, shrunk %llu",
	       st2.allocated, st2.in_use, st2.shrunk - st1.shrunk);
	EXPECT_EQ(st2.in_use + st2.reserve, st2.allocated);
	/* and they serve again */
	ASSERT_EQ(0, bp_try(fd2, BP_NORM, 2, b));
	ASSERT_EQ(0, bp_release(fd2, b, 2));
	close(fd2);
}

TEST_HARNESS_MAIN
