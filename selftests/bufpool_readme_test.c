// SPDX-License-Identifier: GPL-2.0
/*
 * What README.md says a careful reader could not guess, checked: a mapping
 * keeps the file, so close() gives nothing back until the last munmap;
 * poll reports EPOLLIN for a queued request that failed, whose collecting
 * ALLOC gets ENOSPC; NOQUEUE gets ENOSPC, not EAGAIN, for a count the
 * class can never hold; INFO and STATS put the kernel's size back.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

FIXTURE(readme) {
	struct bp_tunables saved;
	struct bufpool_stats st;
	int fd;
};

FIXTURE_SETUP(readme)
{
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	ASSERT_EQ(0, bp_tunables_set(4, 0, 0));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
}

FIXTURE_TEARDOWN(readme)
{
	close(self->fd);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

TEST_F(readme, close_with_live_mapping)
{
	struct bufpool_stats st;
	int fd = bp_open(0);
	__u32 id;
	char *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bp_alloc(fd, BP_NORM, 1, &id));
	p = mmap(NULL, self->st.bufsize, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, (off_t)id * self->st.bufsize);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, close(fd));
	/* the mapping holds the file: still held, still usable */
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(1ULL, st.in_use);
	EXPECT_EQ(0, bp_write_at(p, 'x'));
	EXPECT_EQ(0, bp_read_at(p + self->st.bufsize - 1));
	/* the last munmap gives it back */
	ASSERT_EQ(0, munmap(p, self->st.bufsize));
	EXPECT_EQ(0, bp_wait_in_use(self->fd, 0, BP_PATIENCE_MS));
}

TEST_F(readme, poll_reports_a_failed_request)
{
	int q = bp_open(O_NONBLOCK);
	__u32 ids[3];

	ASSERT_LE(0, q);
	ASSERT_EQ(0, bp_alloc(self->fd, BP_NORM, 2, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(q, BP_NORM, 3, ids));
	EXPECT_FALSE(bp_readable(q, 0));
	/* a limit of 2 makes 3 impossible: the request fails */
	ASSERT_EQ(0, bp_sysfs_set("limit", 2));
	EXPECT_TRUE(bp_readable(q, BP_PATIENCE_MS));
	EXPECT_EQ(-ENOSPC, bp_alloc(q, BP_NORM, 3, ids));
	EXPECT_FALSE(bp_readable(q, 0));
	EXPECT_EQ(-ENOENT, bp_cancel(q));
	close(q);
	EXPECT_EQ(0, bp_release(self->fd, ids, 2));
}

TEST_F(readme, noqueue_never_fits_is_enospc)
{
	__u32 ids[BUFPOOL_ALLOC_MAX];
	int other;

	EXPECT_EQ(-ENOSPC, bp_try(self->fd, BP_CRIT, 5, ids));
	EXPECT_EQ(-ENOSPC, bp_try(self->fd, BP_LOW,
				  bp_class_max(&self->st, BP_LOW) + 1, ids));
	/* fits the class, not now (another fd holds 3): EAGAIN */
	other = bp_open(0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, bp_alloc(other, BP_CRIT, 3, ids));
	EXPECT_EQ(-EAGAIN, bp_try(self->fd, BP_CRIT, 2, ids + 3));
	EXPECT_EQ(0, bp_release(other, ids, 3));
	close(other);
}

TEST_F(readme, kernel_size_written_back)
{
	struct {
		struct bufpool_stats st;
		__u64 more[4];
	} big;
	struct bufpool_info info;

	memset(&big, 0, sizeof(big));
	big.st.size = sizeof(big);
	ASSERT_EQ(0, bp_ioctl(self->fd, BUFPOOL_IOC_STATS, &big));
	EXPECT_EQ(sizeof(big.st), big.st.size);
	memset(&info, 0, sizeof(info));
	info.size = BUFPOOL_INFO_SIZE_VER0;
	ASSERT_EQ(0, bp_ioctl(self->fd, BUFPOOL_IOC_INFO, &info));
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(0ULL, info.entity_id);	/* past the caller's size */
}

TEST_HARNESS_MAIN
