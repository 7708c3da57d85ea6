// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool MSG_ZEROCOPY selftests: a TCP send over loopback from a pool
 * buffer pins its pages into the skb instead of copying them, the data
 * arrives, and the completion notification comes on the sender's error
 * queue (SO_EE_ORIGIN_ZEROCOPY).  Over loopback the receive path copies
 * the data out of the sender's pages (the notification then says
 * SO_EE_CODE_ZEROCOPY_COPIED), but the sender's skb keeps them until the
 * data is acknowledged.
 *
 * A buffer that leaves its holder (RELEASE, close, SIGKILL) while such an
 * skb still holds it, because the receiver's window is closed, is
 * quarantined: the next holder gets other pages, zeroed, what it writes
 * never goes out on the old connection, and the module cannot be
 * unloaded until the pages are free.  Every test also runs on a
 * malloc()ed buffer (the control) where it can.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/errqueue.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_io_util.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif

/* A connected TCP pair over 127.0.0.1; the listener is closed. */
static int bp_tcp_pair(int *snd, int *rcv, int rcvbuf)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t alen = sizeof(a);
	int l, s, r, one = 1;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	/* before listen(): the window scale follows from it */
	if (rcvbuf)
		setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		goto close_listener;
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto close_listener;
	if (setsockopt(s, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) ||
	    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)))
		goto close_sender;
	r = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (r < 0)
		goto close_sender;
	close(l);
	*snd = s;
	*rcv = r;
	return 0;

close_sender:
	close(s);
close_listener:
	r = -errno;
	close(l);
	return r;
}

/*
 * Wait up to @ms for the next zerocopy notification on @fd: 0 with the
 * range of send calls it covers and its code, -ETIMEDOUT, or -errno.
 */
static int bp_zc_wait(int fd, int ms, __u32 *lo, __u32 *hi, __u8 *code)
{
	char ctl[CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
	struct pollfd pfd = { .fd = fd, .events = 0 };
	struct msghdr msg = { .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct sock_extended_err *ee;
	struct cmsghdr *cm;
	int ret;

	ret = poll(&pfd, 1, ms);
	if (ret < 0)
		return -errno;
	if (ret == 0 || !(pfd.revents & POLLERR))
		return -ETIMEDOUT;
	if (recvmsg(fd, &msg, MSG_ERRQUEUE) < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_IP || cm->cmsg_type != IP_RECVERR)
			continue;
		ee = (struct sock_extended_err *)CMSG_DATA(cm);
		if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee->ee_errno)
			return -EPROTO;
		*lo = ee->ee_info;
		*hi = ee->ee_data;
		*code = ee->ee_code;
		return 0;
	}
	return -EPROTO;
}

/* Read exactly @len bytes from @fd into @p (NULL: discard): 0 or -errno. */
static int bp_recv_all(int fd, unsigned char *p, size_t len)
{
	unsigned char sink[65536];
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		size_t want = len - got;

		if (!p && want > sizeof(sink))
			want = sizeof(sink);
		n = recv(fd, p ? p + got : sink, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

FIXTURE(zc) {
	int fd;
	struct bufpool_stats st;
	size_t bs;
	int snd, rcv;
	struct bp_iobuf buf;
	unsigned char *got;
};

FIXTURE_VARIANT(zc) {
	enum bp_io_kind kind;
};

FIXTURE_VARIANT_ADD(zc, pool) {
	.kind = BP_IO_POOL,
};

FIXTURE_VARIANT_ADD(zc, malloc) {
	.kind = BP_IO_MALLOC,
};

FIXTURE_SETUP(zc)
{
	struct bp_pool pool = { .limit = 8, .reserve = 0 };
	const char *what;
	int ret;

	self->fd = -1;
	self->snd = -1;
	self->rcv = -1;
	ret = bp_io_pool_open(&pool, &self->fd, &self->st, &what);
	if (ret == 1)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(-ret));
	self->bs = self->st.bufsize;
	ret = bp_tcp_pair(&self->snd, &self->rcv, 0);
	if (ret == -EADDRNOTAVAIL || ret == -ENETUNREACH || ret == -EAFNOSUPPORT)
		SKIP(return, "needs TCP over 127.0.0.1 (is lo up?)");
	ASSERT_EQ(0, ret) TH_LOG("TCP over 127.0.0.1: %s", strerror(-ret));
	self->got = malloc(self->bs);
	ASSERT_NE(NULL, self->got);
	ret = bp_iobuf_get(&self->buf, variant->kind, self->fd, self->bs);
	ASSERT_EQ(0, ret) TH_LOG("buffer: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(zc)
{
	bp_iobuf_put(&self->buf, true);
	free(self->got);
	if (self->snd >= 0)
		close(self->snd);
	if (self->rcv >= 0)
		close(self->rcv);
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, bp_pool_teardown());
}

/* One buffer, sent zero-copy, arrives whole; its completion follows. */
TEST_F(zc, send_and_complete)
{
	__u32 lo = ~0U, hi = ~0U;
	__u8 code = 0;
	ssize_t n;

	bp_pattern(self->buf.p, self->bs, 4);
	n = send(self->snd, self->buf.p, self->bs, MSG_ZEROCOPY);
	ASSERT_EQ((ssize_t)self->bs, n)
		TH_LOG("send(MSG_ZEROCOPY): %s", n < 0 ? strerror(errno) : "short");
	ASSERT_EQ(0, bp_recv_all(self->rcv, self->got, self->bs));
	EXPECT_EQ(self->bs, bp_pattern_diff(self->got, self->bs, 4));
	ASSERT_EQ(0, bp_zc_wait(self->snd, BP_PATIENCE_MS, &lo, &hi, &code));
	EXPECT_EQ(0U, lo);
	EXPECT_EQ(0U, hi);
	TH_LOG("completion of send 0: code %s", code == SO_EE_CODE_ZEROCOPY_COPIED ?
	       "SO_EE_CODE_ZEROCOPY_COPIED" : "0 (zero-copy)");
}

/* Many sends of one buffer, rewritten between completions. */
TEST_F(zc, resend_after_completion)
{
	__u32 lo, hi, next = 0;
	unsigned int i;
	__u8 code;

	for (i = 0; i < 8; i++) {
		bp_pattern(self->buf.p, self->bs, 10 + i);
		ASSERT_EQ((ssize_t)self->bs, send(self->snd, self->buf.p, self->bs, MSG_ZEROCOPY))
			TH_LOG("send %u: %s", i, strerror(errno));
		ASSERT_EQ(0, bp_recv_all(self->rcv, self->got, self->bs));
		EXPECT_EQ(self->bs, bp_pattern_diff(self->got, self->bs, 10 + i));
		/* the pages may be written again once send i completed */
		while (next <= i) {
			ASSERT_EQ(0, bp_zc_wait(self->snd, BP_PATIENCE_MS, &lo, &hi, &code));
			ASSERT_EQ(next, lo);
			next = hi + 1;
		}
	}
}

/*
 * The buffer leaves its holder while an skb of a MSG_ZEROCOPY send still
 * holds its pages: the receiver's window is closed, so the data waits in
 * the sender's write queue.
 */
FIXTURE(pending) {
	int fd;
	struct bufpool_stats st;
	size_t bs;
	__u32 *ids;
	unsigned char *got;
	int rcv;
};

FIXTURE_VARIANT(pending) {
	enum bp_leave how;
};

/*
 * The control, on a malloc()ed buffer: the pending send does still hold
 * the pages, since what is written into them after send() returned goes
 * out.
 */
FIXTURE_VARIANT_ADD(pending, control) {
	.how = BP_LEAVE_NONE,
};

FIXTURE_VARIANT_ADD(pending, release) {
	.how = BP_LEAVE_RELEASE,
};

/* munmap() and close(): also, with every file closed, no unload */
FIXTURE_VARIANT_ADD(pending, close) {
	.how = BP_LEAVE_CLOSE,
};

/* SIGKILL of the holder: its socket lives on, orphaned, with the skb */
FIXTURE_VARIANT_ADD(pending, kill) {
	.how = BP_LEAVE_KILL,
};

FIXTURE_SETUP(pending)
{
	struct bp_pool pool = { .limit = 2, .reserve = 0 };
	const char *what;
	int ret;

	self->fd = -1;
	self->rcv = -1;
	ret = bp_io_pool_open(&pool, &self->fd, &self->st, &what);
	if (ret == 1)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", what, strerror(-ret));
	self->bs = self->st.bufsize;
	self->ids = calloc(self->st.limit, sizeof(__u32));
	self->got = malloc(self->bs);
	ASSERT_NE(NULL, self->ids);
	ASSERT_NE(NULL, self->got);
}

FIXTURE_TEARDOWN(pending)
{
	if (self->rcv >= 0)
		close(self->rcv);
	if (self->fd >= 0)
		close(self->fd);
	free(self->ids);
	free(self->got);
	EXPECT_EQ(0, bp_pool_teardown());
}

/*
 * Close the receiver's window: plain sends until the sender's queue is
 * full too, then room in that queue again (SO_SNDBUFFORCE) for what
 * follows, which can then only wait.  The bytes sent, or -errno.
 */
static long long bp_close_window(int snd)
{
	static unsigned char junk[65536];
	long long sent = 0;
	int big = 8 << 20;
	ssize_t n;

	for (;;) {
		n = send(snd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		sent += n;
	}
	if (setsockopt(snd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		return -errno;
	return sent;
}

static int delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags) ? -errno : 0;
}

TEST_F(pending, next_holder_is_safe)
{
	__u32 lo, hi;
	__u8 code;
	struct bp_iobuf b;
	struct bp_taken t;
	unsigned int got, i;
	long long junk, q;
	int pipefd[2], fd2, snd = -1, ret;
	pid_t pid = -1;

	ret = bp_tcp_pair(&snd, &self->rcv, 4096);
	if (ret == -EADDRNOTAVAIL || ret == -ENETUNREACH || ret == -EAFNOSUPPORT)
		SKIP(return, "needs TCP over 127.0.0.1 (is lo up?)");
	ASSERT_EQ(0, ret) TH_LOG("TCP over 127.0.0.1: %s", strerror(-ret));
	junk = bp_close_window(snd);
	ASSERT_LE(0, junk) TH_LOG("closing the window: %s", strerror((int)-junk));
	TH_LOG("window closed after %lld bytes", junk);

	ASSERT_EQ(0, pipe(pipefd));
	if (variant->how == BP_LEAVE_KILL) {
		pid = bp_fork();
		ASSERT_LE(0, pid);
	}
	if (pid <= 0) {
		/* the holder: this process, or the child to be killed */
		int hfd = pid == 0 ? bp_open(0) : self->fd;
		ssize_t n;

		ret = hfd < 0 ? -errno :
		      bp_iobuf_get(&b, variant->how == BP_LEAVE_NONE ? BP_IO_MALLOC :
				   BP_IO_POOL, hfd, self->bs);
		if (!ret) {
			bp_pattern(b.p, self->bs, 4);
			n = send(snd, b.p, self->bs, MSG_ZEROCOPY | MSG_DONTWAIT);
			ret = n == (ssize_t)self->bs ? 0 : n < 0 ? -errno : -EIO;
		}
		if (pid == 0) {
			bp_put(pipefd[1], ret ? (char)-ret : 0);
			pause();
			_exit(0);
		}
		ASSERT_EQ(0, ret) TH_LOG("send(MSG_ZEROCOPY): %s", strerror(-ret));
	} else {
		/* the child's is the only sender fd left */
		close(snd);
		snd = -1;
		ret = bp_get(pipefd[0], BP_PATIENCE_MS);
		ASSERT_EQ(0, ret) TH_LOG("the holder's send(MSG_ZEROCOPY): %s",
					 strerror(ret < 0 ? -ret : ret));
	}
	/* not before the receiver reads */
	if (snd >= 0)
		EXPECT_EQ(-ETIMEDOUT, bp_zc_wait(snd, BP_QUIET_MS, &lo, &hi, &code));

	switch (variant->how) {
	case BP_LEAVE_NONE:
		bp_pattern(b.p, self->bs, 9);
		ASSERT_EQ(0, bp_recv_all(self->rcv, NULL, (size_t)junk));
		ASSERT_EQ(0, bp_recv_all(self->rcv, self->got, self->bs));
		EXPECT_EQ(self->bs, bp_pattern_diff(self->got, self->bs, 9))
			TH_LOG("the pending send did not read the pages when it went");
		EXPECT_EQ(0, bp_zc_wait(snd, BP_PATIENCE_MS, &lo, &hi, &code));
		bp_iobuf_put(&b, false);
		close(snd);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	default:
		ret = bp_io_leave(variant->how, &self->fd, &b, pid);
		ASSERT_EQ(0, ret) TH_LOG("leaving the buffer: %s", strerror(-ret));
		if (variant->how == BP_LEAVE_KILL)
			EXPECT_EQ(128 + SIGKILL, bp_reap(pid));
		break;
	}
	EXPECT_EQ(0, bp_wait_quarantined(1))
		TH_LOG("stats/quarantined %lld with the skb pending", bp_quarantined());
	if (variant->how == BP_LEAVE_CLOSE && bp_quarantined() == 1) {
		/*
		 * No file open, but pages still out there: no unload (only
		 * tried where the pool says it keeps them: else it would
		 * unload, and the tests after this one fail)
		 */
		ret = delete_module("bufpool", O_NONBLOCK);
		ASSERT_EQ(-EWOULDBLOCK, ret) TH_LOG("delete_module: %s", strerror(-ret));
	}

	/* the next holder takes all it can: never the pinned pages */
	fd2 = bp_open(0);
	ASSERT_LE(0, fd2);
	bp_take_all(fd2, self->ids, self->st.limit, self->bs, 9, &t);
	got = t.got;
	EXPECT_EQ(0U, t.dirty)
		TH_LOG("%u buffers of the next holder are not zeroed (first %u)",
		       t.dirty, t.dirty_id);
	EXPECT_LE(1U, got);

	/* the receiver reads: out goes what was sent, not what is there now */
	ASSERT_EQ(0, bp_recv_all(self->rcv, NULL, (size_t)junk));
	ASSERT_EQ(0, bp_recv_all(self->rcv, self->got, self->bs));
	EXPECT_EQ(self->bs, bp_pattern_diff(self->got, self->bs, 4))
		TH_LOG("the pending send did not carry what was sent (next holder's pattern: %s)",
		       bp_pattern_diff(self->got, self->bs, 9) == self->bs ? "yes" : "no");
	if (snd >= 0) {
		ASSERT_EQ(0, bp_zc_wait(snd, BP_PATIENCE_MS, &lo, &hi, &code));
		EXPECT_EQ(0U, lo);
		close(snd);
	}
	ASSERT_EQ(0, bp_wait_quarantined(0))
		TH_LOG("stats/quarantined %lld after the skb went", bp_quarantined());
	q = bp_quarantined();
	EXPECT_EQ(0, q);

	ASSERT_EQ(0, bp_release_all(fd2, self->ids, got));
	/* back from quarantine, zeroed */
	bp_take_all(fd2, self->ids, self->st.limit, self->bs, -1, &t);
	EXPECT_EQ(0U, t.dirty)
		TH_LOG("%u buffers hold old data after the quarantine (first %u)",
		       t.dirty, t.dirty_id);
	EXPECT_EQ(self->st.limit, t.got);
	EXPECT_EQ(0, bp_release_all(fd2, self->ids, t.got));
	close(fd2);
	for (i = 0; i < 2; i++)
		close(pipefd[i]);
}

TEST_HARNESS_MAIN
