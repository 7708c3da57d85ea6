// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool io_uring selftests: pool buffers registered with
 * IORING_REGISTER_BUFFERS (liburing, linked statically) and used by
 * IORING_OP_READ_FIXED / WRITE_FIXED on a memory-backed null_blk device.
 *
 * Whether a kernel registers a shared mapping of a device file depends on
 * its io_uring, not on bufpool: up to 6.4 io_sqe_buffer_register() pins
 * the pages, then refuses any file-backed VMA that is neither shmem nor
 * hugetlbfs (EOPNOTSUPP); from 6.5 on it leaves the decision to GUP's
 * FOLL_LONGTERM checks, which refuse only mappings whose file system
 * tracks dirty pages for writeback (a pool mapping has no page_mkwrite
 * and its device file no writeback: accepted).  Nothing tells a program
 * which rule its kernel has but trying, or the release it runs (the rule
 * changed in 6.5, and 6.1's stable releases keep the old one); the tests
 * read the release and expect that errno from kernels before 6.5.
 *
 * A registered buffer that leaves its holder (RELEASE, close, SIGKILL)
 * is quarantined until the registration goes: a READ_FIXED into it then
 * lands in the quarantined pages, never in the next holder's.
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <sys/uio.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_io_util.h"

/*
 * What this kernel's io_uring says to registering a shared mapping of a
 * file that is neither shmem nor hugetlbfs: 0 (GUP decides), -EOPNOTSUPP
 * (before 6.5), or BP_NO_URING when there is no io_uring.
 */
#define BP_NO_URING	1
#define BP_URING_NEEDS	"needs io_uring (CONFIG_IO_URING, kernel.io_uring_disabled)"

static int bp_uring_file_policy(void)
{
	struct io_uring ring;
	struct utsname u;
	int ret, major = 0, minor = 0;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		return BP_NO_URING;
	io_uring_queue_exit(&ring);
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return -EINVAL;
	return major < 6 || (major == 6 && minor < 5) ? -EOPNOTSUPP : 0;
}

/* One fixed read or write of buffer 0 at @off: its result (bytes or -errno). */
static int bp_uring_rw(struct io_uring *ring, bool write, int fd, void *p,
		       size_t len, off_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write_fixed(sqe, fd, p, (unsigned int)len, off, 0);
	else
		io_uring_prep_read_fixed(sqe, fd, p, (unsigned int)len, off, 0);
	ret = io_uring_submit(ring);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

FIXTURE(uring) {
	int fd;
	struct bufpool_stats st;
	size_t bs;
	struct bp_nullb nb;
	int dfd;
	struct io_uring ring;
	bool ring_up;
	int policy;		/* bp_uring_file_policy() */
	struct bp_iobuf buf;
	unsigned char *ctl;
};

FIXTURE_VARIANT(uring) {
	enum bp_io_kind kind;
};

FIXTURE_VARIANT_ADD(uring, pool) {
	.kind = BP_IO_POOL,
};

FIXTURE_VARIANT_ADD(uring, malloc) {
	.kind = BP_IO_MALLOC,
};

FIXTURE_SETUP(uring)
{
	struct bp_pool pool = { .limit = 8, .reserve = 0 };
	struct bp_nullb_conf c = { .size_mb = 16, .blocksize = 512 };
	const char *what;
	int ret;

	self->fd = -1;
	self->dfd = -1;
	ret = bp_io_pool_open(&pool, &self->fd, &self->st, &what);
	if (ret == 1)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(-ret));
	self->bs = self->st.bufsize;
	if (self->bs % 512)
		SKIP(return, "bufsize %zu is not a multiple of 512", self->bs);
	self->policy = bp_uring_file_policy();
	if (self->policy == BP_NO_URING)
		SKIP(return, BP_URING_NEEDS);
	ret = io_uring_queue_init(8, &self->ring, 0);
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init: %s", strerror(-ret));
	self->ring_up = true;
	ret = bp_nullb_open(&self->nb, &c, &self->dfd, &what);
	if (ret == -ENOENT)
		SKIP(return, BP_NULLB_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(-ret));
	self->ctl = aligned_alloc((size_t)sysconf(_SC_PAGESIZE), self->bs);
	ASSERT_NE(NULL, self->ctl);
	ret = bp_iobuf_get(&self->buf, variant->kind, self->fd, self->bs);
	ASSERT_EQ(0, ret) TH_LOG("buffer: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(uring)
{
	if (self->ring_up)
		io_uring_queue_exit(&self->ring);
	bp_iobuf_put(&self->buf, true);
	free(self->ctl);
	if (self->dfd >= 0)
		close(self->dfd);
	bp_nullb_destroy(&self->nb);
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, bp_pool_teardown());
}

/*
 * Register the buffer, write it out with WRITE_FIXED, read it back with
 * READ_FIXED; where the kernel refuses file mappings, the errno.
 */
TEST_F(uring, register_read_write_fixed)
{
	struct iovec iov = { .iov_base = self->buf.p, .iov_len = self->bs };
	int ret;

	ret = io_uring_register_buffers(&self->ring, &iov, 1);
	if (variant->kind == BP_IO_POOL && self->policy) {
		ASSERT_EQ(self->policy, ret)
			TH_LOG("register a pool buffer: %s", strerror(-ret));
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("register: %s", strerror(-ret));

	bp_pattern(self->buf.p, self->bs, 6);
	ret = bp_uring_rw(&self->ring, true, self->dfd, self->buf.p, self->bs, 0);
	ASSERT_EQ((int)self->bs, ret) TH_LOG("WRITE_FIXED: %s", strerror(-ret));
	memset(self->ctl, 0, self->bs);
	ASSERT_EQ((ssize_t)self->bs, pread(self->dfd, self->ctl, self->bs, 0));
	EXPECT_EQ(self->bs, bp_pattern_diff(self->ctl, self->bs, 6));

	bp_pattern(self->ctl, self->bs, 7);
	ASSERT_EQ((ssize_t)self->bs, pwrite(self->dfd, self->ctl, self->bs, (off_t)self->bs));
	memset(self->buf.p, 0, self->bs);
	ret = bp_uring_rw(&self->ring, false, self->dfd, self->buf.p, self->bs,
			  (off_t)self->bs);
	ASSERT_EQ((int)self->bs, ret) TH_LOG("READ_FIXED: %s", strerror(-ret));
	EXPECT_EQ(self->bs, bp_pattern_diff(self->buf.p, self->bs, 7));
	EXPECT_EQ(0, io_uring_unregister_buffers(&self->ring));
}

/*
 * The buffer leaves its holder while registered with io_uring.
 */
FIXTURE(registered) {
	int fd;
	struct bufpool_stats st;
	size_t bs;
	struct bp_nullb nb;
	int dfd;
	__u32 *ids;
	unsigned char *ctl;
};

FIXTURE_VARIANT(registered) {
	enum bp_leave how;
};

FIXTURE_VARIANT_ADD(registered, release) {
	.how = BP_LEAVE_RELEASE,
};

FIXTURE_VARIANT_ADD(registered, close) {
	.how = BP_LEAVE_CLOSE,
};

/* the ring goes with the holder, its buffers unregistered asynchronously */
FIXTURE_VARIANT_ADD(registered, kill) {
	.how = BP_LEAVE_KILL,
};

FIXTURE_SETUP(registered)
{
	struct bp_pool pool = { .limit = 2, .reserve = 0 };
	struct bp_nullb_conf c = { .size_mb = 16, .blocksize = 512 };
	const char *what;
	int ret;

	self->fd = -1;
	self->dfd = -1;
	ret = bp_io_pool_open(&pool, &self->fd, &self->st, &what);
	if (ret == 1)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(-ret));
	self->bs = self->st.bufsize;
	if (self->bs % 512)
		SKIP(return, "bufsize %zu is not a multiple of 512", self->bs);
	ret = bp_uring_file_policy();
	if (ret == BP_NO_URING)
		SKIP(return, BP_URING_NEEDS);
	if (ret)
		SKIP(return, "%s (%s; uring.pool checks it)",
		     "this kernel's io_uring registers no file mapping but shmem's",
		     strerror(-ret));
	self->ids = calloc(self->st.limit, sizeof(__u32));
	ASSERT_NE(NULL, self->ids);
	ret = bp_nullb_open(&self->nb, &c, &self->dfd, &what);
	if (ret == -ENOENT)
		SKIP(return, BP_NULLB_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(-ret));
	self->ctl = aligned_alloc((size_t)sysconf(_SC_PAGESIZE), self->bs);
	ASSERT_NE(NULL, self->ctl);
	/* what a late READ_FIXED brings */
	bp_pattern(self->ctl, self->bs, 3);
	ASSERT_EQ((ssize_t)self->bs, pwrite(self->dfd, self->ctl, self->bs, 0));
}

FIXTURE_TEARDOWN(registered)
{
	free(self->ctl);
	if (self->dfd >= 0)
		close(self->dfd);
	bp_nullb_destroy(&self->nb);
	if (self->fd >= 0)
		close(self->fd);
	free(self->ids);
	EXPECT_EQ(0, bp_pool_teardown());
}

TEST_F(registered, next_holder_is_safe)
{
	struct io_uring ring;
	struct iovec iov;
	struct bp_iobuf b;
	struct bp_taken t;
	unsigned int got;
	int pipefd[2], fd2, ret;
	pid_t pid = -1;
	size_t at = 0;
	__u32 id = 0;

	ASSERT_EQ(0, pipe(pipefd));
	if (variant->how == BP_LEAVE_KILL) {
		pid = bp_fork();
		ASSERT_LE(0, pid);
	}
	if (pid <= 0) {
		/* the holder: this process, or the child to be killed */
		int hfd = pid == 0 ? bp_open(0) : self->fd;

		ret = hfd < 0 ? -errno : io_uring_queue_init(8, &ring, 0);
		if (!ret)
			ret = bp_iobuf_get(&b, BP_IO_POOL, hfd, self->bs);
		if (!ret) {
			iov.iov_base = b.p;
			iov.iov_len = b.len;
			ret = io_uring_register_buffers(&ring, &iov, 1);
		}
		if (pid == 0) {
			bp_put(pipefd[1], ret ? (char)-ret : 0);
			pause();
			_exit(0);
		}
		ASSERT_EQ(0, ret) TH_LOG("register a pool buffer: %s", strerror(-ret));
	} else {
		ret = bp_get(pipefd[0], BP_PATIENCE_MS);
		ASSERT_EQ(0, ret) TH_LOG("the holder's registration: %s",
					 strerror(ret < 0 ? -ret : ret));
	}

	ret = bp_io_leave(variant->how, &self->fd, &b, pid);
	ASSERT_EQ(0, ret) TH_LOG("leaving the buffer: %s", strerror(-ret));
	if (variant->how == BP_LEAVE_KILL)
		EXPECT_EQ(128 + SIGKILL, bp_reap(pid));
	if (variant->how != BP_LEAVE_KILL)
		EXPECT_EQ(0, bp_wait_quarantined(1))
			TH_LOG("stats/quarantined %lld while registered", bp_quarantined());

	/* the next holder takes all it can: never the registered pages */
	fd2 = bp_open(0);
	ASSERT_LE(0, fd2);
	bp_take_all(fd2, self->ids, self->st.limit, self->bs, 9, &t);
	got = t.got;
	EXPECT_EQ(0U, t.dirty)
		TH_LOG("%u buffers of the next holder are not zeroed (first %u)",
		       t.dirty, t.dirty_id);
	EXPECT_LE(1U, got);

	if (pid < 0) {
		/* the old registration is still usable, on its own pages */
		ret = bp_uring_rw(&ring, false, self->dfd, b.p, self->bs, 0);
		EXPECT_EQ((int)self->bs, ret) TH_LOG("READ_FIXED: %s", strerror(-ret));
		ret = bp_uring_rw(&ring, true, self->dfd, b.p, self->bs,
				  (off_t)self->bs);
		EXPECT_EQ((int)self->bs, ret) TH_LOG("WRITE_FIXED: %s", strerror(-ret));
		ASSERT_EQ((ssize_t)self->bs, pread(self->dfd, self->ctl, self->bs,
						   (off_t)self->bs));
		EXPECT_EQ(self->bs, bp_pattern_diff(self->ctl, self->bs, 3))
			TH_LOG("%s (the next holder's: %s)",
			       "WRITE_FIXED did not send what READ_FIXED brought",
			       bp_pattern_diff(self->ctl, self->bs, 9) == self->bs ?
			       "yes" : "no");
		io_uring_queue_exit(&ring);
		if (variant->how == BP_LEAVE_RELEASE)
			munmap(b.p, b.len);
	}
	ASSERT_EQ(0, bp_wait_quarantined(0))
		TH_LOG("stats/quarantined %lld after the registration went", bp_quarantined());

	/* nothing of the old registration landed in the next holder's */
	ret = bp_count_changed(fd2, self->ids, got, self->bs, 9, &id, &at);
	ASSERT_LE(0, ret) TH_LOG("mmap of the next holder's: %s", strerror(-ret));
	EXPECT_EQ(0, ret)
		TH_LOG("%d buffers changed: the old READ_FIXED landed in buffer %u at %zu",
		       ret, id, at);
	ASSERT_EQ(0, bp_release_all(fd2, self->ids, got));
	/* back from quarantine, zeroed */
	bp_take_all(fd2, self->ids, self->st.limit, self->bs, -1, &t);
	EXPECT_EQ(0U, t.dirty)
		TH_LOG("%u buffers hold old data after the quarantine (first %u)",
		       t.dirty, t.dirty_id);
	EXPECT_EQ(self->st.limit, t.got);
	EXPECT_EQ(0, bp_release_all(fd2, self->ids, t.got));
	close(fd2);
	close(pipefd[0]);
	close(pipefd[1]);
}

TEST_HARNESS_MAIN
