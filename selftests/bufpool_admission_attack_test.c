// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool admission, as an attacker tries it: the refusals of the
 * admission rules (EPERM for the reserve, EDEADLK, ENOSPC) must change
 * nothing for anyone else.
 *
 * Under the offer policy a release wakes as many waiters as there are
 * free buffers; an offered waiter whose retry is refused must not keep
 * the free buffer from the waiter behind it.
 *
 * The test sets its own pool through sysfs (limit 4, reserve 1, policy
 * offer) and puts the module's values back.  It runs as root and drops
 * privileges in a child.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define LIMIT		4
#define RESERVE		1

/* child exit codes that are not a test verdict */
#define E_SETUP		200

FIXTURE(attack) {
	struct bp_tunables saved;
	char policy[32];
};

FIXTURE_SETUP(attack)
{
	struct bp_tunables t = {
		.limit = LIMIT, .reserve = RESERVE, .normal = RESERVE,
		.low = 2 * RESERVE, .quota = 0,
	};
	int fd;

	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	ASSERT_EQ(0, bp_policy_get(self->policy, sizeof(self->policy)));
	fd = bp_open(0);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(fd));
	close(fd);
	ASSERT_EQ(0, bp_tunables_restore(&t));
	ASSERT_EQ(0, bp_sysfs_write("policy", "offer"));
	ASSERT_TRUE(bp_others_can_reach(BP_DEV)) TH_LOG("%s: %s", BP_DEV,
							BP_REACH_MSG);
	ASSERT_EQ(0, bp_dev_open_up());
}

FIXTURE_TEARDOWN(attack)
{
	int fd = bp_open(0);

	bp_wait_idle(fd);
	close(fd);
	EXPECT_EQ(0, bp_sysfs_write("policy", self->policy));
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
	EXPECT_EQ(0, bp_dev_close_down());
}

/*
 * An fd holding one NORMAL buffer queues for its CRITICAL response buffer
 * on a full pool, then gives the NORMAL one back: the release offers the
 * free buffer to it, and its retry is refused (it holds nothing now).
 * The CRITICAL waiter behind it, which fits, must be offered the buffer.
 */
TEST_F(attack, refused_offered_retry_passes_the_offer_on)
{
	pid_t pid = bp_fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u32 n[1], hogs[LIMIT], one[1], y[1];
		int hog, next, x;

		/* opened as root: may use the reserve */
		hog = bp_open(0);
		next = bp_open(O_NONBLOCK);
		if (hog < 0 || next < 0)
			_exit(E_SETUP);
		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(E_SETUP + 1);
		x = bp_open(O_NONBLOCK);
		if (x < 0)
			_exit(E_SETUP + 2);
		if (bp_try(x, BP_NORM, 1, n) ||
		    bp_try(hog, BP_CRIT, LIMIT - 1, hogs))
			_exit(E_SETUP + 3);
		/* full: both queue for the last buffer */
		if (bp_alloc(x, BP_CRIT, 1, one) != -EAGAIN)
			_exit(1);
		if (bp_alloc(next, BP_CRIT, 1, y) != -EAGAIN)
			_exit(2);
		/* one buffer free: one offer, to the first waiter */
		if (bp_release(x, n, 1))
			_exit(3);
		if (!bp_readable(x, BP_PATIENCE_MS))
			_exit(4);
		/* it holds nothing now: no reserve for it */
		if (bp_alloc(x, BP_CRIT, 1, one) != -EPERM)
			_exit(5);
		/* the free buffer goes on to the next waiter */
		if (!bp_readable(next, BP_PATIENCE_MS))
			_exit(6);
		if (bp_alloc(next, BP_CRIT, 1, y))
			_exit(7);
		_exit(0);
	}
	EXPECT_EQ(0, bp_reap(pid));
}

TEST_HARNESS_MAIN
