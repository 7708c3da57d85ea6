// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool pin selftests: the kernel may take references on a held
 * buffer's pages (vmsplice() into a pipe here), and a buffer released
 * while it still does is quarantined:
 *
 *  - vmsplice() of a mapped buffer works, and the pipe gives its bytes;
 *  - RELEASE (or close) while the pipe still holds the pages: the buffer
 *    is counted in STATS quarantined and in_use, the next holder never
 *    gets it (another buffer, or EAGAIN), the pipe reader reads the old
 *    bytes and never the next holder's, and once the pipe is drained the
 *    buffer comes back, zeroed;
 *  - while a buffer is quarantined the module cannot be unloaded, even
 *    with every file closed.
 *
 * The pool is set to limit 2, reserve 0 through sysfs, and put back.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define OLD	'O'
#define NEXT	'N'

FIXTURE(pin) {
	int fd_a;		/* vmsplices its buffer, then releases it */
	int fd_b;		/* the next holder */
	int pipefd[2];
	size_t bs, len;		/* buffer size, bytes spliced */
	struct bp_tunables saved;
};

FIXTURE_SETUP(pin)
{
	struct bufpool_stats st;
	size_t pg = getpagesize();

	self->fd_a = -1;
	self->fd_b = -1;
	self->pipefd[0] = -1;
	self->pipefd[1] = -1;
	ASSERT_EQ(0, bp_tunables_save(&self->saved)) TH_LOG(BP_POOL_NEEDS);
	self->fd_a = bp_open(0);
	ASSERT_LE(0, self->fd_a) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd_a));
	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	self->fd_b = bp_open(0);
	ASSERT_LE(0, self->fd_b);
	ASSERT_EQ(0, bp_stats(self->fd_a, &st));
	ASSERT_EQ(0ULL, st.quarantined);
	self->bs = st.bufsize;
	ASSERT_EQ(0, pipe(self->pipefd));
	/* one pipe slot per page: as many pages as the pipe takes */
	self->len = self->bs < 16 * pg ? self->bs : 16 * pg;
}

FIXTURE_TEARDOWN(pin)
{
	close(self->pipefd[0]);
	close(self->pipefd[1]);
	close(self->fd_a);
	close(self->fd_b);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

/* A buffer of @fd, mapped, filled with @c: its id, and its map in *@p. */
static __u32 take_filled(struct __test_metadata *_metadata, int fd,
			 size_t bs, char c, char **p)
{
	__u32 id = ~0U;

	EXPECT_EQ(0, bp_try(fd, BP_NORM, 1, &id));
	*p = mmap(NULL, bs, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		  (off_t)id * bs);
	EXPECT_NE(MAP_FAILED, *p);
	if (*p != MAP_FAILED)
		memset(*p, c, bs);
	return id;
}

/* vmsplice() @len bytes at @p into the pipe: the pipe now holds the pages. */
static ssize_t splice_in(int pipe_w, char *p, size_t len)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };

	return vmsplice(pipe_w, &iov, 1, 0);
}

/* Read @len bytes from the pipe: how many are not @c (-1 on a short read). */
static long drain_count_not(int pipe_r, size_t len, char c)
{
	char *buf = malloc(len);
	size_t got = 0, i;
	long bad = 0;
	ssize_t n;

	if (!buf)
		return -1;
	while (got < len) {
		n = read(pipe_r, buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	for (i = 0; i < got; i++)
		bad += buf[i] != c;
	free(buf);
	return got == len ? bad : -1;
}

static bool all_zero(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

TEST_F(pin, vmsplice_works)
{
	char *p;
	__u32 x = take_filled(_metadata, self->fd_a, self->bs, OLD, &p);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ((ssize_t)self->len, splice_in(self->pipefd[1], p, self->len))
		TH_LOG("vmsplice() of a pool buffer: %s", strerror(errno));
	EXPECT_EQ(0, drain_count_not(self->pipefd[0], self->len, OLD));
	munmap(p, self->bs);
	EXPECT_EQ(0, bp_release(self->fd_a, &x, 1));
	/* the pipe had let go of the pages: nothing stays behind */
	EXPECT_EQ(0, bp_wait_quarantined(0));
	EXPECT_EQ(0, bp_wait_in_use(self->fd_a, 0, BP_PATIENCE_MS));
}

/*
 * The attack: splice the buffer into a pipe, give the buffer back, and
 * read the pipe once the next holder has written its data.  Either the
 * next holder's data would come out of the pipe, or (zeroed under the
 * pipe) the old bytes would be lost.  Neither: the buffer waits.
 */
static void release_while_spliced(struct __test_metadata *_metadata,
				  struct _test_data_pin *self, bool by_close)
{
	struct bufpool_stats st;
	char *p, *q, *r;
	__u32 x, y, z;

	x = take_filled(_metadata, self->fd_a, self->bs, OLD, &p);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ((ssize_t)self->len, splice_in(self->pipefd[1], p, self->len))
		TH_LOG("vmsplice() of a pool buffer: %s", strerror(errno));
	munmap(p, self->bs);
	if (by_close) {
		close(self->fd_a);
		self->fd_a = -1;
	} else {
		ASSERT_EQ(0, bp_release(self->fd_a, &x, 1));
	}
	/* quarantined at once: the release is synchronous */
	EXPECT_EQ(1LL, bp_quarantined());
	ASSERT_EQ(0, bp_stats(self->fd_b, &st));
	EXPECT_EQ(1ULL, st.quarantined);
	EXPECT_EQ(1ULL, st.in_use) TH_LOG("a quarantined buffer is in use");

	/* the next holder gets the other buffer, then nothing */
	y = take_filled(_metadata, self->fd_b, self->bs, NEXT, &q);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_NE(x, y) TH_LOG("buffer %u handed on while a pipe holds it", x);
	EXPECT_EQ(-EAGAIN, bp_try(self->fd_b, BP_NORM, 1, &z))
		TH_LOG("buffer %u handed on while a pipe holds it", z);

	/* the pipe still holds the old bytes, and only them */
	EXPECT_EQ(0, drain_count_not(self->pipefd[0], self->len, OLD))
		TH_LOG("the pipe did not give back what was spliced");

	/* drained: the buffer comes back, zeroed */
	ASSERT_EQ(0, bp_wait_quarantined(0))
		TH_LOG("the quarantine never gave the buffer back");
	ASSERT_EQ(0, bp_try(self->fd_b, BP_NORM, 1, &z));
	EXPECT_EQ(x, z);
	r = mmap(NULL, self->bs, PROT_READ, MAP_SHARED, self->fd_b,
		 (off_t)z * self->bs);
	ASSERT_NE(MAP_FAILED, r);
	EXPECT_TRUE(all_zero(r, self->bs)) TH_LOG("old data after quarantine");
	munmap(r, self->bs);
	munmap(q, self->bs);
	EXPECT_EQ(0, bp_release(self->fd_b, &y, 1));
	EXPECT_EQ(0, bp_release(self->fd_b, &z, 1));
}

TEST_F(pin, release_while_spliced_quarantines)
{
	release_while_spliced(_metadata, self, false);
}

TEST_F(pin, close_while_spliced_quarantines)
{
	release_while_spliced(_metadata, self, true);
}

static int delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags) ? -errno : 0;
}

/*
 * Every file closed, one buffer quarantined: the module must stay (6.1
 * says EWOULDBLOCK for a module still referenced, as unload_test notes;
 * later kernels EBUSY or EWOULDBLOCK).  Then it may go again.
 */
TEST_F(pin, no_unload_while_quarantined)
{
	char *p;
	int ret;

	take_filled(_metadata, self->fd_a, self->bs, OLD, &p);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ((ssize_t)self->len, splice_in(self->pipefd[1], p, self->len));
	munmap(p, self->bs);
	close(self->fd_a);
	close(self->fd_b);
	self->fd_a = -1;
	self->fd_b = -1;
	ASSERT_EQ(1LL, bp_quarantined());
	ret = delete_module("bufpool", O_NONBLOCK);
	EXPECT_TRUE(ret == -EWOULDBLOCK || ret == -EBUSY)
		TH_LOG("delete_module() with a buffer quarantined: %d", ret);
	/* still loaded, still quarantined */
	EXPECT_EQ(1LL, bp_quarantined());
	EXPECT_EQ(0, drain_count_not(self->pipefd[0], self->len, OLD));
	EXPECT_EQ(0, bp_wait_quarantined(0));
}

TEST_HARNESS_MAIN
