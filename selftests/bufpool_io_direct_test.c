// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool O_DIRECT selftests: the kernel reads a block device into a pool
 * buffer and writes one out to it with no copy through the page cache
 * (get_user_pages() pins the mapped pages for the bio), and a buffer that
 * leaves its holder while such a read is in flight is quarantined: the
 * next holder gets other pages, zeroed, and the late data never lands in
 * them.
 *
 * The device: null_blk, memory-backed, made through configfs (a module of
 * Debian's kernels, built into the debug kernel): no disk image, no file
 * system, data that reads back as written.  null_blk copies the data when
 * it takes the request, and completes it later (irqmode 2, a timer), so a
 * read that must land LATE goes through a loop device over a delayed
 * null_blk: loop copies into the bio's pages only once its own buffered
 * read of null_blk completed.  Every test also runs on a malloc()ed,
 * page-aligned buffer of the same size (the control), which the kernel
 * can always pin.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_io_util.h"

FIXTURE(direct) {
	int fd;
	struct bufpool_stats st;
	size_t bs;
	struct bp_nullb nb;
	int dfd;		/* the null_blk device, O_DIRECT */
	struct bp_iobuf buf;	/* the buffer under test */
	unsigned char *ctl;	/* a control buffer, to check the device */
};

FIXTURE_VARIANT(direct) {
	enum bp_io_kind kind;
};

FIXTURE_VARIANT_ADD(direct, pool) {
	.kind = BP_IO_POOL,
};

FIXTURE_VARIANT_ADD(direct, malloc) {
	.kind = BP_IO_MALLOC,
};

FIXTURE_SETUP(direct)
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
	ret = bp_nullb_open(&self->nb, &c, &self->dfd, &what);
	if (ret == -ENOENT)
		SKIP(return, BP_NULLB_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(-ret));
	self->ctl = aligned_alloc((size_t)sysconf(_SC_PAGESIZE), self->bs);
	ASSERT_NE(NULL, self->ctl);
	ret = bp_iobuf_get(&self->buf, variant->kind, self->fd, self->bs);
	ASSERT_EQ(0, ret) TH_LOG("buffer: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(direct)
{
	bp_iobuf_put(&self->buf, true);
	free(self->ctl);
	if (self->dfd >= 0)
		close(self->dfd);
	bp_nullb_destroy(&self->nb);
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, bp_pool_teardown());
}

/* The buffer out to the device: the device then holds what it held. */
TEST_F(direct, write_from_buffer)
{
	ssize_t n;

	bp_pattern(self->buf.p, self->bs, 1);
	n = pwrite(self->dfd, self->buf.p, self->bs, 0);
	ASSERT_EQ((ssize_t)self->bs, n)
		TH_LOG("O_DIRECT write: %s", n < 0 ? strerror(errno) : "short");
	memset(self->ctl, 0, self->bs);
	ASSERT_EQ((ssize_t)self->bs, pread(self->dfd, self->ctl, self->bs, 0));
	EXPECT_EQ(self->bs, bp_pattern_diff(self->ctl, self->bs, 1));
	/* the buffer itself is untouched */
	EXPECT_EQ(self->bs, bp_pattern_diff(self->buf.p, self->bs, 1));
}

/* The device into the buffer, at an offset of its own. */
TEST_F(direct, read_into_buffer)
{
	off_t off = (off_t)self->bs * 3;
	ssize_t n;

	bp_pattern(self->ctl, self->bs, 2);
	ASSERT_EQ((ssize_t)self->bs, pwrite(self->dfd, self->ctl, self->bs, off));
	memset(self->buf.p, 0xee, self->bs);
	n = pread(self->dfd, self->buf.p, self->bs, off);
	ASSERT_EQ((ssize_t)self->bs, n)
		TH_LOG("O_DIRECT read: %s", n < 0 ? strerror(errno) : "short");
	EXPECT_EQ(self->bs, bp_pattern_diff(self->buf.p, self->bs, 2));
}

/* Both ways through one mapping, in 512-byte pieces at odd offsets. */
TEST_F(direct, sectors_round_trip)
{
	size_t i, nsec = self->bs / 512;
	ssize_t n;

	bp_pattern(self->buf.p, self->bs, 5);
	for (i = 0; i < nsec; i++) {
		n = pwrite(self->dfd, self->buf.p + i * 512, 512,
			   (off_t)(nsec - 1 - i) * 512 + 4096 * 64);
		ASSERT_EQ(512, n) TH_LOG("O_DIRECT write of sector %zu: %s", i, strerror(errno));
	}
	memset(self->buf.p, 0, self->bs);
	for (i = 0; i < nsec; i++) {
		n = pread(self->dfd, self->buf.p + (nsec - 1 - i) * 512, 512,
			  (off_t)i * 512 + 4096 * 64);
		ASSERT_EQ(512, n) TH_LOG("O_DIRECT read of sector %zu: %s", i, strerror(errno));
	}
	EXPECT_EQ(self->bs, bp_pattern_diff(self->buf.p, self->bs, 5));
}

/*
 * A buffer leaves its holder while an O_DIRECT read into it is in flight.
 */
FIXTURE(inflight) {
	int fd;
	struct bufpool_stats st;
	size_t bs;
	struct bp_nullb nb;
	char loop[32];
	int lfd;		/* the loop device, O_DIRECT */
	__u32 *ids;
};

FIXTURE_VARIANT(inflight) {
	enum bp_leave how;
};

/*
 * The control, on a malloc()ed buffer: the data of the read lands after
 * the read was seen in flight and the buffer was written over, as the
 * variants below need it to.
 */
FIXTURE_VARIANT_ADD(inflight, control) {
	.how = BP_LEAVE_NONE,
};

/* RELEASE while the mapping is still there (it is revoked) */
FIXTURE_VARIANT_ADD(inflight, release) {
	.how = BP_LEAVE_RELEASE,
};

/* munmap() and close(): the file goes away with the read in flight */
FIXTURE_VARIANT_ADD(inflight, close) {
	.how = BP_LEAVE_CLOSE,
};

/*
 * SIGKILL of the holder: it cannot exit before its read completes (so
 * nothing needs quarantine), and nothing may go wrong either.
 */
FIXTURE_VARIANT_ADD(inflight, kill) {
	.how = BP_LEAVE_KILL,
};

/* the late read completes after this long */
#define BP_LATE_NS	2000000000ULL

FIXTURE_SETUP(inflight)
{
	struct bp_pool pool = { .limit = 2, .reserve = 0 };
	struct bp_nullb_conf c = {
		.size_mb = 16, .blocksize = 512, .completion_nsec = BP_LATE_NS,
	};
	unsigned char *ref;
	const char *what;
	int ret, dfd;

	self->fd = -1;
	self->lfd = -1;
	ret = bp_io_pool_open(&pool, &self->fd, &self->st, &what);
	if (ret == 1)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(-ret));
	self->bs = self->st.bufsize;
	if (self->bs % 512)
		SKIP(return, "bufsize %zu is not a multiple of 512", self->bs);
	self->ids = calloc(self->st.limit, sizeof(__u32));
	ASSERT_NE(NULL, self->ids);
	ret = bp_nullb_create(&self->nb, &c);
	if (ret == -ENOENT)
		SKIP(return, BP_NULLB_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("null_blk: %s", strerror(-ret));
	if (access("/dev/loop-control", F_OK))
		SKIP(return, "needs the loop driver (/dev/loop-control)");
	/* what the late read brings: written past the page cache */
	ref = aligned_alloc((size_t)sysconf(_SC_PAGESIZE), self->bs);
	ASSERT_NE(NULL, ref);
	bp_pattern(ref, self->bs, 3);
	dfd = open(self->nb.dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, dfd);
	ASSERT_EQ((ssize_t)self->bs, pwrite(dfd, ref, self->bs, 0));
	ASSERT_EQ(0, ioctl(dfd, BLKFLSBUF, 0));
	close(dfd);
	free(ref);
	ret = bp_loop_attach(self->nb.dev, self->loop, sizeof(self->loop));
	ASSERT_LE(0, ret) TH_LOG("loop over %s: %s", self->nb.dev, strerror(-ret));
	self->lfd = open(self->loop, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, self->lfd) TH_LOG("%s: %s", self->loop, strerror(errno));
}

FIXTURE_TEARDOWN(inflight)
{
	if (self->lfd >= 0)
		close(self->lfd);
	if (self->loop[0])
		bp_loop_detach(self->loop);
	bp_nullb_destroy(&self->nb);
	if (self->fd >= 0)
		close(self->fd);
	free(self->ids);
	EXPECT_EQ(0, bp_pool_teardown());
}

struct bp_reader {
	int fd;
	void *p;
	size_t len;
	ssize_t ret;
	int err;
};

static void *bp_read_thread(void *arg)
{
	struct bp_reader *r = arg;

	r->ret = pread(r->fd, r->p, r->len, 0);
	r->err = errno;
	return NULL;
}

TEST_F(inflight, next_holder_is_safe)
{
	struct bp_reader r = { .fd = self->lfd, .len = self->bs };
	const char *disk = self->loop + strlen("/dev/");
	struct bp_iobuf b;
	struct bp_taken t;
	unsigned int got;
	pthread_t th = 0;
	int pipefd[2], fd2, ret;
	pid_t pid = -1;
	long long q;
	size_t at = 0;
	__u32 id = 0;

	if (variant->how == BP_LEAVE_NONE) {
		ASSERT_EQ(0, bp_iobuf_get(&b, BP_IO_MALLOC, -1, self->bs));
		r.p = b.p;
		ASSERT_EQ(0, pthread_create(&th, NULL, bp_read_thread, &r));
		ASSERT_EQ(0, bp_wait_inflight(disk));
		bp_pattern(b.p, self->bs, 9);
		pthread_join(th, NULL);
		EXPECT_EQ((ssize_t)self->bs, r.ret) TH_LOG("read: %s", strerror(r.err));
		EXPECT_EQ(self->bs, bp_pattern_diff(b.p, self->bs, 3))
			TH_LOG("the read did not land after it was seen in flight");
		bp_iobuf_put(&b, false);
		return;
	}
	if (variant->how == BP_LEAVE_KILL) {
		ASSERT_EQ(0, pipe(pipefd));
		pid = bp_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int cfd = bp_open(0);

			close(pipefd[0]);
			if (cfd < 0 || bp_iobuf_get(&b, BP_IO_POOL, cfd, self->bs))
				_exit(1);
			bp_put(pipefd[1], 'r');
			r.p = b.p;
			bp_read_thread(&r);
			_exit(r.ret == (ssize_t)self->bs ? 0 : 2);
		}
		close(pipefd[1]);
		ASSERT_EQ('r', bp_get(pipefd[0], BP_PATIENCE_MS));
		close(pipefd[0]);
	} else {
		ASSERT_EQ(0, bp_iobuf_get(&b, BP_IO_POOL, self->fd, self->bs));
		r.p = b.p;
		ASSERT_EQ(0, pthread_create(&th, NULL, bp_read_thread, &r));
	}
	ret = bp_wait_inflight(disk);
	if (ret && pid < 0) {
		pthread_join(th, NULL);
		ASSERT_EQ(0, ret) TH_LOG("the read never went in flight: it returned %zd (%s)",
					 r.ret, r.ret < 0 ? strerror(r.err) : "data");
	}
	ASSERT_EQ(0, ret) TH_LOG("the read never went in flight");

	ret = bp_io_leave(variant->how, &self->fd, &b, pid);
	ASSERT_EQ(0, ret) TH_LOG("leaving the buffer: %s", strerror(-ret));
	if (variant->how != BP_LEAVE_KILL) {
		ret = bp_wait_quarantined(1);
		q = bp_quarantined();
		EXPECT_EQ(0, ret) TH_LOG("stats/quarantined %lld with the read in flight", q);
	}
	TH_LOG("in flight after the release: %ld", bp_inflight(disk));

	/* the next holder takes all it can: never the pinned pages */
	fd2 = bp_open(0);
	ASSERT_LE(0, fd2);
	bp_take_all(fd2, self->ids, self->st.limit, self->bs, 9, &t);
	got = t.got;
	EXPECT_EQ(0U, t.dirty)
		TH_LOG("%u buffers of the next holder are not zeroed (first %u)",
		       t.dirty, t.dirty_id);
	EXPECT_LE(1U, got);

	/* the late read completes */
	if (pid > 0) {
		EXPECT_EQ(128 + SIGKILL, bp_reap(pid));
	} else {
		pthread_join(th, NULL);
		EXPECT_EQ((ssize_t)self->bs, r.ret) TH_LOG("read: %s", strerror(r.err));
		if (variant->how == BP_LEAVE_RELEASE)
			munmap(b.p, b.len);
	}
	ASSERT_EQ(0, bp_wait_quarantined(0))
		TH_LOG("stats/quarantined %lld after the pin dropped", bp_quarantined());

	/* ... and it landed in none of the next holder's buffers */
	ret = bp_count_changed(fd2, self->ids, got, self->bs, 9, &id, &at);
	ASSERT_LE(0, ret) TH_LOG("mmap of the next holder's: %s", strerror(-ret));
	EXPECT_EQ(0, ret)
		TH_LOG("%d buffers changed: the old read landed in buffer %u at %zu",
		       ret, id, at);
	ASSERT_EQ(0, bp_release_all(fd2, self->ids, got));

	/* back from quarantine, zeroed: every buffer of the pool reads 0 */
	bp_take_all(fd2, self->ids, self->st.limit, self->bs, -1, &t);
	EXPECT_EQ(0U, t.dirty)
		TH_LOG("%u buffers hold old data after the quarantine (first %u)",
		       t.dirty, t.dirty_id);
	EXPECT_EQ(self->st.limit, t.got);
	EXPECT_EQ(0, bp_release_all(fd2, self->ids, t.got));
	close(fd2);
}

TEST_HARNESS_MAIN
