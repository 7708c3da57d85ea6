// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool per-user quota selftests: a user's buffers, held, granted and
 * requested (queued), over all the fds that user opened, may not exceed
 * user_quota; a request beyond it fails with EDQUOT at once, never waits
 * and changes nothing for others; releasing gives quota back; each uid has
 * its own account; the quota changes at run time through sysfs; only
 * CAP_SYS_ADMIN may write the tunables.
 *
 * The test runs as root (itself a user with a quota) and forks children
 * that drop to uid 1000/1001.  With user_quota=0 it sets 6 for its run.
 * It runs on the pool as found (the module's parameters) and on a small
 * one with a quota of 6.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define HOG_UID		2000

FIXTURE(quota) {
	struct bp_tunables saved;
	struct bufpool_stats st;
	unsigned int q;
	int fd;
	int hog_pipe;	/* write end: closing it ends the hog */
	pid_t hog;
};

FIXTURE_VARIANT(quota) {
	struct bp_pool pool;
};

FIXTURE_VARIANT_ADD(quota, loaded) {
	.pool = { .limit = 0 },
};

FIXTURE_VARIANT_ADD(quota, small) {
	.pool = { .limit = 16, .reserve = 2, .quota = 6 },
};

FIXTURE_SETUP(quota)
{
	int ret;

	self->hog = 0;
	self->hog_pipe = -1;
	ret = bp_pool_setup(&variant->pool);
	if (ret == -ENODEV)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	self->q = self->saved.quota ? self->saved.quota : 6;
	ASSERT_EQ(0, bp_sysfs_set("user_quota", self->q));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	/* room for two users' quotas and a hog beside them */
	ASSERT_LE(2 * self->q + 2, self->st.limit);
	ASSERT_TRUE(bp_others_can_reach(BP_DEV)) TH_LOG("%s: %s", BP_DEV,
							BP_REACH_MSG);
	ASSERT_EQ(0, bp_dev_open_up());
}

FIXTURE_TEARDOWN(quota)
{
	if (self->hog_pipe >= 0)
		close(self->hog_pipe);
	if (self->hog > 0)
		bp_reap(self->hog);
	close(self->fd);
	bp_wait_idle(bp_open(0));
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
	EXPECT_EQ(0, bp_dev_close_down());
	EXPECT_EQ(0, bp_pool_teardown());
}

/*
 * A child as HOG_UID holding @n buffers until the fixture closes hog_pipe:
 * NORMAL ones, then CRITICAL ones (at most as many: an unprivileged fd may
 * only use the reserve for buffers it holds).  The quota is lifted while
 * it takes them: a lower quota never takes anything from a holder.
 */
static int start_hog(FIXTURE_DATA(quota) * self, unsigned int n)
{
	int ready[2], done[2], ret;
	pid_t pid;

	if (pipe(ready) || pipe(done))
		return -errno;
	if (bp_sysfs_set("user_quota", 0))
		return -EIO;
	pid = bp_fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		__u32 *ids = calloc(n, sizeof(*ids));
		unsigned int got = 0, k, norm = bp_class_max(&self->st, BP_NORM);
		int fd;

		close(ready[0]);
		close(done[1]);
		if (bp_become(HOG_UID, HOG_UID, 0, NULL))
			_exit(1);
		fd = bp_open(0);
		while (fd >= 0 && got < n) {
			k = n - got > BUFPOOL_ALLOC_MAX ? BUFPOOL_ALLOC_MAX :
							  n - got;
			if (got < norm && k > norm - got)
				k = norm - got;
			if (bp_try(fd, got < norm ? BP_NORM : BP_CRIT, k,
				   ids + got))
				_exit(2);
			got += k;
		}
		bp_put(ready[1], fd < 0 ? 'E' : 'R');
		bp_get(done[0], -1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	self->hog = pid;
	self->hog_pipe = done[1];
	ret = bp_get(ready[0], BP_PATIENCE_MS);
	close(ready[0]);
	if (bp_sysfs_set("user_quota", self->q))
		return -EIO;
	return ret == 'R' ? 0 : -EIO;
}

static void stop_hog(FIXTURE_DATA(quota) * self)
{
	close(self->hog_pipe);
	self->hog_pipe = -1;
	bp_reap(self->hog);
	self->hog = 0;
}

TEST_F(quota, two_fds_of_one_user)
{
	unsigned int q = self->q;
	int fd2 = bp_open(0), fd3 = bp_open(0);
	struct bufpool_stats before, after;
	__u32 ids[64], id2[2], one[1];

	ASSERT_LE(0, fd2);
	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, q - 2, ids));
	ASSERT_EQ(0, bp_try(fd2, BP_CRIT, 2, id2));

	/* the user has q: one more fails at once, on any of its fds */
	ASSERT_EQ(0, bp_stats(self->fd, &before));
	EXPECT_EQ(-EDQUOT, bp_try(fd2, BP_CRIT, 1, one));
	EXPECT_EQ(-EDQUOT, bp_try(fd3, BP_NORM, 1, one));
	EXPECT_EQ(-EDQUOT, bp_alloc(fd3, BP_LOW, 1, one));
	EXPECT_EQ(-EDQUOT, bp_try(self->fd, BP_CRIT, 1, one));
	ASSERT_EQ(0, bp_stats(self->fd, &after));
	EXPECT_TRUE(bp_stats_same(&before, &after));
	EXPECT_EQ(q, after.in_use);

	/* a request larger than the quota never fits */
	EXPECT_EQ(-EDQUOT, bp_try(bp_open(0), BP_CRIT, q + 1, ids));

	/* releasing one buffer on one fd frees quota for another fd */
	ASSERT_EQ(0, bp_release(self->fd, ids, 1));
	EXPECT_EQ(0, bp_try(fd3, BP_CRIT, 1, one));
	EXPECT_EQ(-EDQUOT, bp_try(fd2, BP_CRIT, 1, id2));

	/* closing an fd gives its share back */
	close(fd3);
	EXPECT_EQ(0, bp_try(fd2, BP_CRIT, 1, one));
	close(fd2);
	EXPECT_EQ(0, bp_try(self->fd, BP_CRIT, 3, ids + q - 2));
	EXPECT_EQ(-EDQUOT, bp_try(self->fd, BP_CRIT, 1, one));
}

TEST_F(quota, queued_requests_count)
{
	unsigned int q = self->q;
	int nb1 = bp_open(O_NONBLOCK), nb2 = bp_open(O_NONBLOCK);
	int nb3 = bp_open(O_NONBLOCK);
	struct bufpool_stats before, after;
	__u32 ids[64], id2[2], one[1];
	int sync[2];
	pid_t pid;

	ASSERT_LE(0, nb1);
	ASSERT_LE(0, nb2);
	ASSERT_LE(0, nb3);
	ASSERT_EQ(0, start_hog(self, self->st.limit));

	/* queued: q - 1 charged although nothing is held */
	ASSERT_EQ(-EAGAIN, bp_alloc(nb1, BP_NORM, q - 1, ids));
	ASSERT_EQ(0, bp_stats(self->fd, &before));
	EXPECT_EQ(1ULL, before.queued[BP_NORM]);

	/* two more would exceed it: EDQUOT at once, even on a blocking fd */
	EXPECT_EQ(-EDQUOT, bp_alloc_t(self->fd, BP_NORM, 2, 0,
				      60ULL * 1000000000ULL, id2));
	EXPECT_EQ(-EDQUOT, bp_alloc(nb2, BP_CRIT, 2, id2));
	EXPECT_EQ(-EDQUOT, bp_try(nb2, BP_CRIT, 2, id2));
	ASSERT_EQ(0, bp_stats(self->fd, &after));
	EXPECT_TRUE(bp_stats_same(&before, &after));

	/* one more fits the quota: queued too, then the user is full */
	EXPECT_EQ(-EAGAIN, bp_alloc(nb2, BP_NORM, 1, one));
	EXPECT_EQ(-EDQUOT, bp_alloc(nb3, BP_CRIT, 1, one));
	EXPECT_EQ(-EDQUOT, bp_alloc_t(self->fd, BP_CRIT, 1, 0,
				      60ULL * 1000000000ULL, one));

	/* another user is not affected: it queues behind them */
	ASSERT_EQ(0, pipe(sync));
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		close(sync[0]);
		close(self->hog_pipe);	/* or the hog would wait for us */
		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(1);
		fd = bp_open(O_NONBLOCK);
		if (fd < 0 || bp_alloc(fd, BP_NORM, 1, one) != -EAGAIN)
			_exit(2);
		bp_put(sync[1], 'Q');
		/* granted once the hog is gone */
		if (!bp_readable(fd, BP_PATIENCE_MS))
			_exit(3);
		_exit(bp_alloc(fd, BP_NORM, 1, one) ? 4 : 0);
	}
	close(sync[1]);
	EXPECT_EQ('Q', bp_get(sync[0], BP_PATIENCE_MS));
	close(sync[0]);
	EXPECT_EQ(0, bp_wait_queued(self->fd, BP_NORM, 3, BP_PATIENCE_MS));

	/* cancelling gives quota back */
	EXPECT_EQ(0, bp_cancel(nb2));
	EXPECT_EQ(-EAGAIN, bp_alloc(nb3, BP_NORM, 1, one));

	/* the pool frees up: everyone queued is granted, in order */
	stop_hog(self);
	EXPECT_TRUE(bp_readable(nb1, BP_PATIENCE_MS));
	EXPECT_TRUE(bp_readable(nb3, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(nb1, BP_NORM, q - 1, ids));
	EXPECT_EQ(0, bp_alloc(nb3, BP_NORM, 1, one));
	EXPECT_EQ(0, bp_reap(pid));
	/* collected, still charged */
	EXPECT_EQ(-EDQUOT, bp_try(nb2, BP_CRIT, 1, id2));
	EXPECT_EQ(0, bp_release(nb3, one, 1));
	EXPECT_EQ(0, bp_try(nb2, BP_CRIT, 1, id2));
}

TEST_F(quota, each_uid_has_its_own)
{
	unsigned int q = self->q;
	__u32 ids[64], one[1];
	pid_t pid;

	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, q, ids));
	EXPECT_EQ(-EDQUOT, bp_try(self->fd, BP_CRIT, 1, one));

	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;

		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(1);
		a = bp_open(0);
		b = bp_open(0);
		if (a < 0 || b < 0)
			_exit(2);
		if (bp_try(a, BP_NORM, q - 1, ids) || bp_try(b, BP_NORM, 1, one))
			_exit(3);
		if (bp_try(b, BP_NORM, 1, one) != -EDQUOT)
			_exit(4);
		if (bp_try(bp_open(0), BP_NORM, 1, one) != -EDQUOT)
			_exit(5);
		_exit(0);
	}
	EXPECT_EQ(0, bp_reap(pid));

	/* uid 1001 too, while uid 1000's files are gone */
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a;

		if (bp_become(BP_UID2, BP_GID2, 0, NULL))
			_exit(1);
		a = bp_open(0);
		if (a < 0 || bp_try(a, BP_NORM, q, ids))
			_exit(2);
		_exit(bp_try(a, BP_NORM, 1, one) == -EDQUOT ? 0 : 3);
	}
	EXPECT_EQ(0, bp_reap(pid));

	/* root is still at its own quota */
	EXPECT_EQ(-EDQUOT, bp_try(self->fd, BP_CRIT, 1, one));
	EXPECT_EQ(0, bp_wait_in_use(self->fd, q, BP_PATIENCE_MS));
}

TEST_F(quota, runtime_change)
{
	unsigned int q = self->q;
	struct bufpool_stats st;
	__u32 ids[64], one[1];

	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, q, ids));
	EXPECT_EQ(-EDQUOT, bp_try(self->fd, BP_CRIT, 1, one));

	/* raised: two more at once */
	ASSERT_EQ(0, bp_sysfs_set("user_quota", q + 2));
	EXPECT_EQ(q + 2, bp_sysfs_get("user_quota"));
	EXPECT_EQ(0, bp_try(self->fd, BP_CRIT, 2, ids + q));
	EXPECT_EQ(-EDQUOT, bp_try(self->fd, BP_CRIT, 1, one));

	/* lowered under what is held: nothing taken, nothing new */
	ASSERT_EQ(0, bp_sysfs_set("user_quota", q - 1));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(q + 2, st.in_use);
	EXPECT_EQ(-EDQUOT, bp_try(self->fd, BP_CRIT, 1, one));
	ASSERT_EQ(0, bp_release(self->fd, ids + q - 1, 3));
	EXPECT_EQ(-EDQUOT, bp_try(self->fd, BP_CRIT, 1, one));
	ASSERT_EQ(0, bp_release(self->fd, ids + q - 2, 1));
	EXPECT_EQ(0, bp_try(self->fd, BP_CRIT, 1, ids + q - 2));

	/* 0: no quota */
	ASSERT_EQ(0, bp_sysfs_set("user_quota", 0));
	EXPECT_EQ(0, bp_try(self->fd, BP_CRIT, q + 1, ids + q - 1));

	/* out of range */
	EXPECT_EQ(-EINVAL, bp_sysfs_set("user_quota", 65537));
	EXPECT_EQ(-EINVAL, bp_sysfs_write("user_quota", "-1"));
	EXPECT_EQ(0ULL, bp_sysfs_get("user_quota"));
}

static const char * const tunable_files[] = {
	"limit", "reserve", "threshold_normal", "threshold_low", "user_quota",
	"policy", NULL,
};

#define NR_TUNABLES	(ARRAY_SIZE(tunable_files) - 1)

/* Write every tunable from a child after @drop; the errno each gave. */
static int write_all_as(int (*drop)(void), int *errs)
{
	int pipefd[2];
	unsigned int i;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = bp_fork();
	if (pid == 0) {
		close(pipefd[0]);
		if (drop())
			_exit(1);
		/* the files can be reached and read: the refusal is the write */
		if (bp_sysfs_get("limit") == ~0ULL)
			_exit(2);
		for (i = 0; i < NR_TUNABLES; i++)
			bp_put(pipefd[1], (char)-bp_sysfs_write(tunable_files[i],
								"1"));
		_exit(0);
	}
	close(pipefd[1]);
	for (i = 0; i < NR_TUNABLES; i++)
		errs[i] = bp_get(pipefd[0], BP_PATIENCE_MS);
	close(pipefd[0]);
	return bp_reap(pid);
}

static int drop_to_user(void)
{
	return bp_become(BP_UID, BP_GID, 0, NULL);
}

/* Stay root but lose CAP_SYS_ADMIN (CAP_DAC_OVERRIDE lets it open). */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	data[CAP_SYS_ADMIN / 32].permitted &= ~(1u << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

TEST_F(quota, tunables_need_privilege)
{
	struct bp_tunables before, after;
	int errs[NR_TUNABLES];
	unsigned int i;

	ASSERT_EQ(0, bp_tunables_save(&before));
	ASSERT_EQ(0, write_all_as(drop_to_user, errs));
	for (i = 0; tunable_files[i]; i++)
		EXPECT_EQ(EACCES, errs[i]) TH_LOG("uid %d writing %s",
						  BP_UID, tunable_files[i] ? : "?");

	ASSERT_EQ(0, write_all_as(drop_sys_admin, errs));
	for (i = 0; tunable_files[i]; i++)
		EXPECT_EQ(EPERM, errs[i]) TH_LOG("without CAP_SYS_ADMIN: %s",
						 tunable_files[i] ? : "?");
	ASSERT_EQ(0, bp_tunables_save(&after));
	EXPECT_TRUE(bp_tunables_equal(&before, &after));
}

TEST_HARNESS_MAIN
