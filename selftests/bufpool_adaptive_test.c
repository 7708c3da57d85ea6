// SPDX-License-Identifier: GPL-2.0
/*
 * The adaptive policy (sysfs policy "adaptive"): while the queue heads
 * have waited less than 1 ms a running request may be served ahead of
 * them, and buffers that come back while a head fits are kept free for a
 * short window, then granted to it by a timer.  A head that has waited
 * 1 ms is served as under hand-off: nobody overtakes it, it is granted as
 * soon as it fits.  Waiters are woken only with a grant.
 *
 * Only lower bounds on time are asserted: a request that has waited at
 * least 5 ms is past the bound whatever the machine's speed; whether a
 * request made within the window overtakes a young head is not asserted
 * (the VM may be slower than the window), only that the head is served.
 *
 * The test sets its own pool through sysfs (limit 1, reserve 0, policy
 * adaptive) and puts the module's values back.  Runs as root.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

/* comfortably past the policy's 1 ms bound */
#define PAST_BOUND_MS	5

FIXTURE(adaptive) {
	struct bp_tunables saved;
	char policy[32];
	int a, b;
	struct bufpool_stats st0;
};

FIXTURE_SETUP(adaptive)
{
	struct bp_tunables t = {
		.limit = 1, .reserve = 0, .normal = 0, .low = 0, .quota = 0,
	};
	int fd;

	ASSERT_EQ(0, bp_tunables_save(&self->saved)) TH_LOG("%s", BP_POOL_NEEDS);
	ASSERT_EQ(0, bp_policy_get(self->policy, sizeof(self->policy)));
	fd = bp_open(0);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(fd));
	close(fd);
	ASSERT_EQ(0, bp_tunables_restore(&t));
	ASSERT_EQ(0, bp_sysfs_write("policy", "adaptive"))
		TH_LOG("the module has no adaptive policy");
	self->a = bp_open(0);
	self->b = bp_open(O_NONBLOCK);
	ASSERT_LE(0, self->a);
	ASSERT_LE(0, self->b);
	ASSERT_EQ(0, bp_stats(self->a, &self->st0));
}

FIXTURE_TEARDOWN(adaptive)
{
	int fd;

	close(self->a);
	close(self->b);
	fd = bp_open(0);
	bp_wait_idle(fd);
	close(fd);
	EXPECT_EQ(0, bp_sysfs_write("policy", self->policy));
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

/* @fd's queued request for @n is granted: poll, then collect it. */
static int collect(int fd, unsigned int n, __u32 *ids)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, BP_PATIENCE_MS) != 1)
		return -ETIMEDOUT;
	return bp_alloc(fd, BP_NORM, n, ids);
}

/* Wake-ups since setup: one per grant of a waited request, none spurious. */
static void expect_exact_wakeups(struct __test_metadata *_metadata,
				 int fd, const struct bufpool_stats *st0)
{
	struct bufpool_stats st;

	ASSERT_EQ(0, bp_stats(fd, &st));
	EXPECT_EQ(st.wakeups - st0->wakeups,
		  st.grants_waited - st0->grants_waited);
	EXPECT_EQ(st.spurious_wakeups, st0->spurious_wakeups);
}

/*
 * A head that has waited past the bound and does not fit yet (it wants
 * 2, 1 is free) holds the queue as under hand-off: a later request for 1
 * must not overtake it; the next release serves it.
 */
TEST_F(adaptive, head_past_the_bound_is_not_overtaken)
{
	__u32 x[1], z[1], y[2];
	int c = bp_open(0);

	ASSERT_LE(0, c);
	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	ASSERT_EQ(0, bp_alloc(self->a, BP_NORM, 1, x));
	ASSERT_EQ(0, bp_alloc(c, BP_NORM, 1, z));
	ASSERT_EQ(-EAGAIN, bp_alloc(self->b, BP_NORM, 2, y));
	bp_msleep(PAST_BOUND_MS);
	ASSERT_EQ(0, bp_release(self->a, x, 1));
	EXPECT_EQ(-EAGAIN, bp_try(self->a, BP_NORM, 1, x))
		TH_LOG("a request overtook a head that waited %d ms",
		       PAST_BOUND_MS);
	ASSERT_EQ(0, bp_release(c, z, 1));
	close(c);
	ASSERT_EQ(0, collect(self->b, 2, y));
	ASSERT_EQ(0, bp_release(self->b, y, 2));
	expect_exact_wakeups(_metadata, self->a, &self->st0);
}

/*
 * A young head: the releaser may take the buffer again at once, as often
 * as it likes within the window, and the head is still granted in the
 * end, by the window's timer or by a later release, with one wake-up.
 */
TEST_F(adaptive, young_head_is_served_after_barges)
{
	__u32 x[1], y[1];
	int i, ret;

	ASSERT_EQ(0, bp_alloc(self->a, BP_NORM, 1, x));
	ASSERT_EQ(-EAGAIN, bp_alloc(self->b, BP_NORM, 1, y));
	ASSERT_EQ(0, bp_release(self->a, x, 1));
	for (i = 0; i < 100; i++) {
		ret = bp_try(self->a, BP_NORM, 1, x);
		if (ret)
			break;
		ASSERT_EQ(0, bp_release(self->a, x, 1));
	}
	EXPECT_TRUE(!ret || ret == -EAGAIN);
	/* whatever the releaser got, the head gets the buffer without it */
	ASSERT_EQ(0, collect(self->b, 1, y));
	ASSERT_EQ(-EAGAIN, bp_try(self->a, BP_NORM, 1, x));
	ASSERT_EQ(0, bp_release(self->b, y, 1));
	expect_exact_wakeups(_metadata, self->a, &self->st0);
}

/* Nobody comes back for the buffer: the window's timer grants it. */
TEST_F(adaptive, window_timer_grants_an_idle_buffer)
{
	__u32 x[1], y[1];

	ASSERT_EQ(0, bp_alloc(self->a, BP_NORM, 1, x));
	ASSERT_EQ(-EAGAIN, bp_alloc(self->b, BP_NORM, 1, y));
	ASSERT_EQ(0, bp_release(self->a, x, 1));
	ASSERT_EQ(0, collect(self->b, 1, y));
	ASSERT_EQ(0, bp_release(self->b, y, 1));
	expect_exact_wakeups(_metadata, self->a, &self->st0);
}

TEST_HARNESS_MAIN
