// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool sysfs tunables selftests: /sys/class/misc/bufpool/{limit,
 * reserve,threshold_normal,threshold_low,user_quota} are validated (EINVAL
 * for inconsistent values, nothing changed), effective at once while
 * requests wait (a larger limit or a lower threshold grants; a limit below
 * what is in use stops grants and takes nothing from holders; a queued
 * request that can no longer fit fails with ENOSPC and EPOLLIN), the
 * thresholds follow the reserve until written by hand, bufsize and the
 * stats/ files are read-only and match BUFPOOL_IOC_STATS.
 *
 * Each test sets limit 16, reserve 2 itself and puts the module's values
 * back afterwards.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define LIMIT		16U
#define RESERVE		2U

FIXTURE(tun) {
	struct bp_tunables saved;
	struct bufpool_stats st;
	int fd;
	__u32 ids[LIMIT + 8];
};

FIXTURE_SETUP(tun)
{
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_tunables_set(LIMIT, RESERVE, 0));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	ASSERT_EQ(LIMIT, self->st.limit);
	ASSERT_EQ(RESERVE, self->st.reserve);
}

FIXTURE_TEARDOWN(tun)
{
	close(self->fd);
	bp_wait_idle(bp_open(0));
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

static const char * const tunable_files[] = {
	"limit", "reserve", "threshold_normal", "threshold_low", "user_quota",
	"policy", NULL,
};

static __u64 stat_field(const struct bufpool_stats *st, unsigned int i)
{
	const __u64 v[] = {
		st->in_use, st->free, st->allocated, st->queued[0],
		st->queued[1], st->queued[2], st->allocations,
		st->grants_waited, st->wakeups, st->spurious_wakeups,
		st->releases, st->page_alloc_failures, st->peak_in_use,
		st->peak_queued, st->quarantined, st->shrunk, st->drains,
	};

	return v[i];
}

static mode_t file_mode(const char *name)
{
	char path[320];
	struct stat s;

	snprintf(path, sizeof(path), "%s/%s", BP_SYSFS, name);
	return stat(path, &s) ? (mode_t)-1 : (s.st_mode & 07777);
}

TEST_F(tun, modes_and_read_only_files)
{
	unsigned int i;
	char path[256];

	for (i = 0; tunable_files[i]; i++)
		EXPECT_EQ(0644U, file_mode(tunable_files[i]))
			TH_LOG("%s", tunable_files[i] ? : "?");
	EXPECT_EQ(0444U, file_mode("bufsize"));
	EXPECT_EQ(self->st.bufsize, bp_sysfs_get("bufsize"));
	EXPECT_EQ(-EACCES, bp_sysfs_write("bufsize", "4096"));
	for (i = 0; bp_stat_file(i); i++) {
		snprintf(path, sizeof(path), "stats/%s", bp_stat_file(i));
		EXPECT_EQ(0444U, file_mode(path)) TH_LOG("%s", path);
		EXPECT_EQ(-EACCES, bp_sysfs_write(path, "0")) TH_LOG("%s", path);
	}
}

TEST_F(tun, validation)
{
	static const struct {
		const char *file, *val;
	} bad[] = {
		{ "limit", "0" }, { "limit", "65537" }, { "limit", "2" },
		{ "limit", "1" }, { "limit", "-1" }, { "limit", "abc" },
		{ "limit", "\n" }, { "limit", "16x" },
		{ "reserve", "16" }, { "reserve", "17" }, { "reserve", "-1" },
		{ "threshold_normal", "1" }, { "threshold_normal", "5" },
		{ "threshold_normal", "x" },
		{ "threshold_low", "1" }, { "threshold_low", "16" },
		{ "threshold_low", "99" },
		{ "user_quota", "65537" }, { "user_quota", "-2" },
		{ "user_quota", "q" },
		{ "policy", "fastest" }, { "policy", "\n" },
	};
	struct bp_tunables before, after;
	unsigned int i;

	ASSERT_EQ(0, bp_tunables_save(&before));
	EXPECT_EQ(RESERVE, before.normal);
	EXPECT_EQ(2 * RESERVE, before.low);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, bp_sysfs_write(bad[i].file, bad[i].val))
			TH_LOG("%s=\"%s\"", bad[i].file, bad[i].val);
		ASSERT_EQ(0, bp_tunables_save(&after));
		EXPECT_TRUE(bp_tunables_equal(&before, &after))
			TH_LOG("%s=\"%s\" changed something", bad[i].file,
			       bad[i].val);
	}

	/* consistent values are taken */
	EXPECT_EQ(0, bp_sysfs_write("limit", "17\n"));
	EXPECT_EQ(17ULL, bp_sysfs_get("limit"));
	EXPECT_EQ(0, bp_sysfs_write("user_quota", "65536"));
	EXPECT_EQ(0, bp_sysfs_write("user_quota", "0"));
	EXPECT_EQ(0, bp_sysfs_write("threshold_low", "16"));
	EXPECT_EQ(0, bp_sysfs_write("threshold_normal", "16"));
	EXPECT_EQ(-EINVAL, bp_sysfs_write("limit", "16"));
	EXPECT_EQ(17ULL, bp_sysfs_get("limit"));
	EXPECT_EQ(0, bp_sysfs_write("reserve", "16"));
	EXPECT_EQ(0, bp_sysfs_write("reserve", "0"));
	EXPECT_EQ(0, bp_sysfs_write("policy", "offer"));
	EXPECT_EQ(0, bp_sysfs_write("policy", "handoff"));
}

TEST_F(tun, thresholds_follow_reserve_until_set)
{
	unsigned int n = 0;

	ASSERT_EQ(0, bp_sysfs_set("reserve", 3));
	EXPECT_EQ(3ULL, bp_sysfs_get("threshold_normal"));
	EXPECT_EQ(6ULL, bp_sysfs_get("threshold_low"));
	ASSERT_EQ(0, bp_sysfs_set("reserve", 1));
	EXPECT_EQ(1ULL, bp_sysfs_get("threshold_normal"));
	EXPECT_EQ(2ULL, bp_sysfs_get("threshold_low"));
	/* LOW leaves at most limit - 1 */
	ASSERT_EQ(0, bp_sysfs_set("reserve", 9));
	EXPECT_EQ(9ULL, bp_sysfs_get("threshold_normal"));
	EXPECT_EQ(15ULL, bp_sysfs_get("threshold_low"));
	ASSERT_EQ(0, bp_sysfs_set("reserve", 2));

	/* by hand: they stay put when the reserve moves */
	ASSERT_EQ(0, bp_sysfs_set("threshold_low", 7));
	ASSERT_EQ(0, bp_sysfs_set("threshold_normal", 5));
	ASSERT_EQ(0, bp_sysfs_set("reserve", 1));
	EXPECT_EQ(5ULL, bp_sysfs_get("threshold_normal"));
	EXPECT_EQ(7ULL, bp_sysfs_get("threshold_low"));
	ASSERT_EQ(0, bp_sysfs_set("reserve", 4));
	EXPECT_EQ(5ULL, bp_sysfs_get("threshold_normal"));
	EXPECT_EQ(7ULL, bp_sysfs_get("threshold_low"));
	/* the reserve may not pass a hand-set threshold */
	EXPECT_EQ(-EINVAL, bp_sysfs_set("reserve", 6));

	/* and they rule: NORMAL leaves 5 free, LOW 7 */
	while (n < LIMIT && !bp_try(self->fd, BP_LOW, 1, self->ids + n))
		n++;
	EXPECT_EQ(LIMIT - 7, n);
	while (n < LIMIT && !bp_try(self->fd, BP_NORM, 1, self->ids + n))
		n++;
	EXPECT_EQ(LIMIT - 5, n);
	EXPECT_EQ(0, bp_release_all(self->fd, self->ids, n));
}

/* A larger limit grants a waiter at once. */
TEST_F(tun, grow_limit_grants_waiter)
{
	int nb = bp_open(O_NONBLOCK);
	struct bufpool_stats st;
	__u32 id[1];
	pid_t pid;

	ASSERT_LE(0, nb);
	ASSERT_EQ(0, bp_fill(self->fd, &self->st, self->ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_NORM, 1, id));
	EXPECT_FALSE(bp_readable(nb, BP_QUIET_MS));

	/* one more is not enough for NORMAL (it leaves the reserve) */
	ASSERT_EQ(0, bp_sysfs_set("limit", LIMIT + RESERVE));
	EXPECT_FALSE(bp_readable(nb, BP_QUIET_MS));
	ASSERT_EQ(0, bp_sysfs_set("limit", LIMIT + RESERVE + 1));
	EXPECT_TRUE(bp_readable(nb, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(nb, BP_NORM, 1, id));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(LIMIT + 1, st.in_use);
	EXPECT_EQ(0ULL, bp_nr_queued(&st));
	EXPECT_EQ(LIMIT + RESERVE + 1, st.limit);

	/* a blocked ALLOC too */
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = bp_open(0);

		_exit(fd >= 0 && !bp_alloc(fd, BP_CRIT, 3, self->ids) ? 0 : 1);
	}
	EXPECT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_sysfs_set("limit", LIMIT + RESERVE + 2));
	EXPECT_EQ(0, bp_reap(pid));
	close(nb);
}

/* A lower threshold grants a waiter at once. */
TEST_F(tun, lower_threshold_grants_waiter)
{
	int nb = bp_open(O_NONBLOCK);
	unsigned int n = 0;
	__u32 id[1];

	ASSERT_LE(0, nb);
	ASSERT_EQ(0, bp_sysfs_set("threshold_low", 6));
	ASSERT_EQ(0, bp_sysfs_set("threshold_normal", 5));
	while (n < LIMIT && !bp_try(self->fd, BP_NORM, 1, self->ids + n))
		n++;
	ASSERT_EQ(LIMIT - 5, n);
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_NORM, 1, id));
	EXPECT_FALSE(bp_readable(nb, BP_QUIET_MS));
	ASSERT_EQ(0, bp_sysfs_set("threshold_normal", 4));
	EXPECT_TRUE(bp_readable(nb, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(nb, BP_NORM, 1, id));
	close(nb);
}

/*
 * A limit below what is in use: holders keep their buffers, nobody is
 * granted until usage falls under the new limit, then grants resume.
 */
TEST_F(tun, shrink_below_in_use)
{
	int nb = bp_open(O_NONBLOCK);
	struct bufpool_stats st;
	__u32 id[1];

	ASSERT_LE(0, nb);
	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 8, self->ids));
	ASSERT_EQ(0, bp_sysfs_set("limit", 4));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(4ULL, st.limit);
	EXPECT_EQ(8ULL, st.in_use);
	EXPECT_EQ(0ULL, st.free);
	EXPECT_EQ(3ULL, bp_sysfs_get("threshold_low"));

	/* the holder still has all 8, mapped or not: it may release them */
	EXPECT_EQ(-EDEADLK, bp_try(self->fd, BP_CRIT, 1, id));
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_CRIT, 1, id));
	ASSERT_EQ(0, bp_release(self->fd, self->ids, 4));
	/* in use 4 = limit: still nothing for the waiter */
	EXPECT_FALSE(bp_readable(nb, BP_QUIET_MS));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(4ULL, st.in_use);
	EXPECT_EQ(1ULL, st.queued[BP_CRIT]);

	ASSERT_EQ(0, bp_release(self->fd, self->ids + 4, 1));
	EXPECT_TRUE(bp_readable(nb, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(nb, BP_CRIT, 1, id));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(4ULL, st.in_use);
	EXPECT_GE(st.limit, st.allocated) TH_LOG("memory kept above the limit");

	EXPECT_EQ(0, bp_release(self->fd, self->ids + 5, 3));
	close(nb);
	ASSERT_EQ(0, bp_wait_in_use(self->fd, 0, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_GE(st.limit, st.allocated);
}

/* A queued request that can no longer fit fails: EPOLLIN, then ENOSPC. */
TEST_F(tun, lower_limit_fails_hopeless_request)
{
	int nb = bp_open(O_NONBLOCK), small = bp_open(O_NONBLOCK);
	struct bufpool_stats st;
	__u32 ids[8];
	pid_t pid;

	ASSERT_LE(0, nb);
	ASSERT_LE(0, small);
	ASSERT_EQ(0, bp_fill(self->fd, &self->st, self->ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_NORM, 6, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(small, BP_CRIT, 1, ids));
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = bp_open(0);

		_exit(fd >= 0 && bp_alloc(fd, BP_NORM, 7, ids) == -ENOSPC ?
		      0 : 1);
	}
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_NORM, 2, BP_PATIENCE_MS));
	EXPECT_FALSE(bp_readable(nb, 0));

	/* 6 + reserve 2 > 7: can never fit any more */
	ASSERT_EQ(0, bp_sysfs_set("limit", 7));
	EXPECT_TRUE(bp_readable(nb, BP_PATIENCE_MS));
	EXPECT_EQ(-ENOSPC, bp_alloc(nb, BP_NORM, 6, ids));
	EXPECT_EQ(0, bp_reap(pid));
	/* the small one still waits, and is served once usage falls */
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.queued[BP_NORM]);
	EXPECT_EQ(1ULL, st.queued[BP_CRIT]);
	EXPECT_FALSE(bp_readable(small, 0));
	/* the failed one may ask again for what fits */
	EXPECT_EQ(-ENOSPC, bp_alloc(nb, BP_NORM, 6, ids));
	EXPECT_EQ(-EAGAIN, bp_alloc(nb, BP_NORM, 5, ids));
	EXPECT_EQ(0, bp_cancel(nb));

	ASSERT_EQ(0, bp_release_all(self->fd, self->ids, LIMIT - 6));
	EXPECT_TRUE(bp_readable(small, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(small, BP_CRIT, 1, ids));
	close(nb);
	close(small);
}

TEST_F(tun, stats_files_match_ioctl)
{
	int nb = bp_open(O_NONBLOCK);
	struct bufpool_stats st;
	unsigned int i;
	__u32 id[2];

	ASSERT_LE(0, nb);
	/* some of everything: held, queued, released, a grant */
	ASSERT_EQ(0, bp_fill(self->fd, &self->st, self->ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_CRIT, 2, id));
	ASSERT_EQ(0, bp_release(self->fd, self->ids, 2));
	ASSERT_TRUE(bp_readable(nb, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_alloc(nb, BP_CRIT, 2, id));
	ASSERT_EQ(0, bp_release(self->fd, self->ids + 2, 3));
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_LOW, 1, id));

	ASSERT_EQ(0, bp_stats(self->fd, &st));
	for (i = 0; bp_stat_file(i); i++) {
		char path[64];

		snprintf(path, sizeof(path), "stats/%s", bp_stat_file(i));
		EXPECT_EQ(stat_field(&st, i), bp_sysfs_get(path))
			TH_LOG("%s", path);
	}
	EXPECT_EQ(st.limit, bp_sysfs_get("limit"));
	EXPECT_EQ(st.reserve, bp_sysfs_get("reserve"));
	EXPECT_EQ(st.bufsize, bp_sysfs_get("bufsize"));
	close(nb);
}

TEST_HARNESS_MAIN
