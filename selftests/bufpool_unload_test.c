// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool unload selftest: the module cannot be removed while a file of
 * /dev/bufpool is open (each open file holds a reference on the module).
 * On 6.1, delete_module() of a module still referenced fails with
 * -EWOULDBLOCK (try_stop_module() in kernel/module/main.c), whatever the
 * O_NONBLOCK flag says.  That the module does unload once every file is
 * closed is checked by the VM runner's rmmod after this phase.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_util.h"

static int delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags) ? -errno : 0;
}

FIXTURE(unload) {
	int fd;
	struct bufpool_stats st;
};

FIXTURE_SETUP(unload)
{
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
}

FIXTURE_TEARDOWN(unload)
{
	close(self->fd);
}

TEST_F(unload, refused_while_open)
{
	EXPECT_EQ(-EWOULDBLOCK, delete_module("bufpool", O_NONBLOCK));
	/* the same without O_NONBLOCK: 6.1 never waits */
	EXPECT_EQ(-EWOULDBLOCK, delete_module("bufpool", 0));
	/* still loaded and working */
	EXPECT_EQ(0, bp_stats(self->fd, &self->st));
}

TEST_F(unload, refused_while_holding_and_queued)
{
	int nb = bp_open(O_NONBLOCK);
	__u32 *ids = calloc(self->st.limit, sizeof(*ids)), id[1];

	ASSERT_LE(0, nb);
	ASSERT_NE(NULL, ids);
	ASSERT_EQ(0, bp_fill(self->fd, &self->st, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_CRIT, 1, id));
	EXPECT_EQ(-EWOULDBLOCK, delete_module("bufpool", O_NONBLOCK));
	/* the pool is as it was */
	EXPECT_EQ(0, bp_stats(self->fd, &self->st));
	EXPECT_EQ(self->st.limit, self->st.in_use);
	EXPECT_EQ(1ULL, self->st.queued[BP_CRIT]);
	close(nb);
	EXPECT_EQ(0, bp_release_all(self->fd, ids, self->st.limit));
	free(ids);
}

TEST_F(unload, refused_while_child_holds)
{
	int sync[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(sync));
	/* this process closes its fd; another one keeps one open */
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = bp_open(0);

		close(sync[0]);
		if (fd < 0)
			_exit(1);
		bp_put(sync[1], 'o');
		pause();
		_exit(0);
	}
	close(sync[1]);
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(1, read(sync[0], &c, 1));
	EXPECT_EQ(-EWOULDBLOCK, delete_module("bufpool", O_NONBLOCK));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, bp_reap(pid));
	self->fd = bp_open(0);
	EXPECT_LE(0, self->fd);
}

TEST_F(unload, wrong_name)
{
	EXPECT_EQ(-ENOENT, delete_module("bufpool_no_such_module", O_NONBLOCK));
}

TEST_HARNESS_MAIN
