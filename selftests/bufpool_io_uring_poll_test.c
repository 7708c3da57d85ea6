// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool io_uring poll selftests: IORING_OP_POLL_ADD(POLLIN) on an
 * O_NONBLOCK /dev/bufpool fd (liburing, linked statically).
 *
 * io_uring's poll believes the key of a wake-up: io_poll_wake() keeps a
 * keyed wake-up's mask and io_poll_check_events() completes the request
 * with it, without calling ->poll() again; an unkeyed wake-up makes it
 * call ->poll(), and on nothing it goes on waiting.  So the fd's wait
 * queue may be woken with EPOLLIN only while poll() would report it: a
 * keyed wake-up while nothing is ready completes a POLL_ADD for nothing.
 * epoll calls ->poll() again whatever the key: it shows what is documented
 * (EPOLLIN from a grant, a failure, until collected) beside io_uring.
 *
 * What wakes an fd's wait queue while nothing is ready:
 *  - CANCEL of its queued request: the call wakes the fd's other sleepers
 *    itself (they learn of the withdrawal), without a key;
 *  - a late wake-up: the grant made the fd ready, and before the waker's
 *    ->wake() of the fd ran, a thread of the fd collected it.  The waker
 *    then finds the fd not ready and must not give the key.  A grant's
 *    waker calls the ->wake()s after the pool lock is dropped, in the
 *    order of the grants, so a ->wake() of an earlier waiter that takes a
 *    while (its fd watched by many epoll entries) is where the collect
 *    and a new POLL_ADD fit in.
 * Every other change that wakes the fd (a grant, a failure, an expiry, an
 * offer) makes it ready first.
 *
 * No check is timed.  "No completion" is a NOP submitted after the waking
 * call returned, and every CQE up to the NOP's: the task_work a wake-up
 * queued for the poll (this thread submitted it) runs before the
 * io_uring_enter() waiting for the NOP returns, so a completion it made is
 * in the ring by then.  The late wake-up is a race: each round tells, by
 * an epoll entry the earlier waiter's ->wake() reaches last, whether that
 * ->wake() was still running once the POLL_ADD was armed; only such
 * rounds are judged, and in each of them the fd's ->wake() found the
 * grant collected.
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define BP_URING_NEEDS	"needs io_uring (CONFIG_IO_URING, kernel.io_uring_disabled)"

/* user_data of the CQEs */
#define TAG_POLL	1ULL
#define TAG_NOP		2ULL
#define TAG_REMOVE	3ULL

#define LIMIT		4U
/* epoll entries on the earlier waiter's fd: how long its ->wake() takes */
#define NR_WATCHERS	16384U
/* late-wake rounds: judged ones wanted, rounds at most */
#define NR_JUDGED	8U
#define NR_ROUNDS	64U

FIXTURE(upoll) {
	struct io_uring ring;
	bool ring_up;
	bool armed;		/* a POLL_ADD of TAG_POLL is pending */
	int hold;		/* holds the whole pool at the start */
	int fd;			/* O_NONBLOCK, the fd polled */
	int ep;			/* epoll watching fd */
	struct bufpool_stats st;
	__u32 ids[LIMIT];	/* what hold holds */
};

FIXTURE_VARIANT(upoll) {
	struct bp_pool pool;
};

/* hand-off: a RELEASE grants, and wakes, before it returns */
FIXTURE_VARIANT_ADD(upoll, handoff) {
	.pool = { .limit = LIMIT, .reserve = 0, .policy = "handoff" },
};

FIXTURE_SETUP(upoll)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ret;

	self->hold = -1;
	self->fd = -1;
	self->ep = -1;
	ret = io_uring_queue_init(16, &self->ring, 0);
	if (ret)
		SKIP(return, "%s: io_uring_queue_init: %s", BP_URING_NEEDS,
		     strerror(-ret));
	self->ring_up = true;
	ret = bp_pool_setup(&variant->pool);
	if (ret == -ENODEV)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret);
	self->hold = bp_open(0);
	ASSERT_LE(0, self->hold) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->hold));
	ASSERT_EQ(0, bp_stats(self->hold, &self->st));
	ASSERT_EQ(LIMIT, self->st.limit);
	ASSERT_EQ(0, bp_fill(self->hold, &self->st, self->ids));
	self->fd = bp_open(O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	self->ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, self->ep);
	ASSERT_EQ(0, epoll_ctl(self->ep, EPOLL_CTL_ADD, self->fd, &ev));
}

/* Reap CQEs until one with @tag: its res in *@res; 0 or -errno. */
static int reap_until(struct io_uring *ring, __u64 tag, int *res,
		      unsigned int *polls, int *poll_res)
{
	struct __kernel_timespec ts = { .tv_sec = BP_PATIENCE_MS / 1000 };
	struct io_uring_cqe *cqe;
	bool found = false;
	__u64 t;
	int ret;

	while (!found) {
		ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
		if (ret)
			return ret;
		t = io_uring_cqe_get_data64(cqe);
		if (t == tag) {
			found = true;
			*res = cqe->res;
		}
		if (t == TAG_POLL && polls) {
			(*polls)++;
			*poll_res = cqe->res;
		}
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

/* Arm a one-shot POLL_ADD(POLLIN) of @fd (TAG_POLL): 0 or -errno. */
static int arm_poll(struct io_uring *ring, int fd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, TAG_POLL);
	ret = io_uring_submit(ring);
	return ret == 1 ? 0 : ret < 0 ? ret : -EIO;
}

/*
 * A NOP, and every CQE up to its own: the poll's completions among them,
 * counted in *@polls (the last one's res in *@res).  Whatever task_work
 * a wake-up queued for this thread has run when the io_uring_enter()
 * that waits for the NOP returns.  0 or -errno.
 */
static int sync_ring(struct io_uring *ring, unsigned int *polls, int *res)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret, nop;

	*polls = 0;
	if (!sqe)
		return -EBUSY;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, TAG_NOP);
	ret = io_uring_submit_and_wait(ring, 1);
	if (ret < 0)
		return ret;
	return reap_until(ring, TAG_NOP, &nop, polls, res);
}

/*
 * Withdraw the pending POLL_ADD and reap its CQE (-ECANCELED) and the
 * removal's: 0 or -errno.
 */
static int disarm_poll(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	unsigned int polls = 0;
	int ret, res, poll_res = 0;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_remove(sqe, TAG_POLL);
	io_uring_sqe_set_data64(sqe, TAG_REMOVE);
	ret = io_uring_submit(ring);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	ret = reap_until(ring, TAG_REMOVE, &res, &polls, &poll_res);
	if (ret)
		return ret;
	if (res)
		return res;
	if (!polls)
		ret = reap_until(ring, TAG_POLL, &poll_res, NULL, NULL);
	return ret ? ret : poll_res == -ECANCELED ? 0 : -EIO;
}

FIXTURE_TEARDOWN(upoll)
{
	if (self->armed)
		EXPECT_EQ(0, disarm_poll(&self->ring));
	if (self->ring_up)
		io_uring_queue_exit(&self->ring);
	if (self->ep >= 0)
		close(self->ep);
	if (self->fd >= 0)
		close(self->fd);
	if (self->hold >= 0)
		close(self->hold);
	EXPECT_EQ(0, bp_pool_teardown());
}

/* EPOLLIN from the epoll watching the fd now, or 0. */
static unsigned int epoll_now(int ep)
{
	struct epoll_event ev = { 0 };

	return epoll_wait(ep, &ev, 1, 0) == 1 ? ev.events : 0;
}

/* The fd's request is queued, the POLL_ADD armed: nothing completed. */
static void queue_and_arm(struct __test_metadata *_metadata,
			  struct _test_data_upoll *self, unsigned int count,
			  __u32 *ids)
{
	unsigned int polls;
	int res = 0;

	ASSERT_EQ(-EAGAIN, bp_alloc(self->fd, BP_NORM, count, ids));
	ASSERT_EQ(0, arm_poll(&self->ring, self->fd));
	self->armed = true;
	ASSERT_EQ(0, sync_ring(&self->ring, &polls, &res));
	self->armed = !polls;
	ASSERT_EQ(0U, polls) TH_LOG("POLL_ADD completed (%#x) on a queued request", res);
	EXPECT_EQ(0U, epoll_now(self->ep));
}

/* Give @n of the holder's buffers back: the POLL_ADD completes, POLLIN. */
static void grant_completes(struct __test_metadata *_metadata,
			    struct _test_data_upoll *self, unsigned int n)
{
	unsigned int polls;
	int res = 0;

	ASSERT_EQ(0, bp_release(self->hold, self->ids, n));
	ASSERT_EQ(0, sync_ring(&self->ring, &polls, &res));
	ASSERT_EQ(1U, polls) TH_LOG("the grant did not complete the POLL_ADD");
	self->armed = false;
	EXPECT_EQ(POLLIN, res);
	EXPECT_EQ((unsigned int)EPOLLIN, epoll_now(self->ep));
	EXPECT_TRUE(bp_readable(self->fd, 0));
}

/*
 * A grant completes the POLL_ADD with POLLIN; epoll says EPOLLIN until it
 * is collected, and a POLL_ADD armed after the collect waits.
 */
TEST_F(upoll, grant_completes_poll)
{
	unsigned int polls;
	int res = 0;
	__u32 id;

	queue_and_arm(_metadata, self, 1, &id);
	grant_completes(_metadata, self, 1);
	EXPECT_EQ((unsigned int)EPOLLIN, epoll_now(self->ep));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &id));
	EXPECT_EQ(0U, epoll_now(self->ep));
	EXPECT_FALSE(bp_readable(self->fd, 0));

	ASSERT_EQ(0, arm_poll(&self->ring, self->fd));
	self->armed = true;
	ASSERT_EQ(0, sync_ring(&self->ring, &polls, &res));
	self->armed = !polls;
	EXPECT_EQ(0U, polls) TH_LOG("POLL_ADD completed (%#x) with the grant collected", res);
	EXPECT_EQ(0, bp_release(self->fd, &id, 1));
}

/*
 * CANCEL of the queued request wakes the fd's wait queue (for other
 * threads sleeping on the request) while nothing is ready: the POLL_ADD
 * goes on waiting, and the next grant completes it.
 */
TEST_F(upoll, cancel_does_not_complete_poll)
{
	unsigned int polls;
	int res = 0;
	__u32 id;

	queue_and_arm(_metadata, self, 1, &id);
	ASSERT_EQ(0, bp_cancel(self->fd));
	ASSERT_EQ(0, sync_ring(&self->ring, &polls, &res));
	self->armed = !polls;
	ASSERT_EQ(0U, polls) TH_LOG("CANCEL completed the POLL_ADD (%#x): nothing was ready", res);
	EXPECT_EQ(0U, epoll_now(self->ep));
	EXPECT_FALSE(bp_readable(self->fd, 0));

	/* the same POLL_ADD, still armed, sees the next grant */
	ASSERT_EQ(-EAGAIN, bp_alloc(self->fd, BP_NORM, 1, &id));
	grant_completes(_metadata, self, 1);
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &id));
	EXPECT_EQ(0U, epoll_now(self->ep));
	EXPECT_EQ(0, bp_release(self->fd, &id, 1));
}

/*
 * A tunable change that makes the queued request hopeless fails it: that
 * is ready (poll() reports EPOLLIN, the same ALLOC collects -ENOSPC), so
 * the POLL_ADD completes with POLLIN.
 */
TEST_F(upoll, failure_completes_poll)
{
	unsigned int polls;
	int res = 0;
	__u32 ids[2];

	queue_and_arm(_metadata, self, 2, ids);
	ASSERT_EQ(0, bp_sysfs_set("limit", 1));
	ASSERT_EQ(0, sync_ring(&self->ring, &polls, &res));
	ASSERT_EQ(1U, polls) TH_LOG("the failure did not complete the POLL_ADD");
	self->armed = false;
	EXPECT_EQ(POLLIN, res);
	EXPECT_EQ((unsigned int)EPOLLIN, epoll_now(self->ep));
	EXPECT_EQ(-ENOSPC, bp_try(self->fd, BP_NORM, 2, ids));
	EXPECT_EQ(0U, epoll_now(self->ep));
	EXPECT_FALSE(bp_readable(self->fd, 0));
}

/* The waker of the late-wake rounds: a RELEASE that grants two waiters. */
struct releaser {
	int fd;
	const __u32 *ids;
	int ret;
};

static void *release_two(void *arg)
{
	struct releaser *r = arg;

	r->ret = bp_release(r->fd, r->ids, 2);
	return NULL;
}

/*
 * The earlier waiter's fd @g, watched by @n epoll entries of one epoll
 * fd (one per dup() of @g, each its own entry on @g's wait queue), after
 * the one of @sentinel: entries are woken newest first, so the
 * sentinel's, edge-triggered, is reached last.  Returns how many entries
 * it made, the dups in @dups.
 */
static unsigned int watch(int g, int sentinel, int gep, int *dups,
			  unsigned int n)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	unsigned int i;

	if (epoll_ctl(sentinel, EPOLL_CTL_ADD, g, &ev))
		return 0;
	ev.events = EPOLLIN;
	for (i = 0; i < n; i++) {
		dups[i] = fcntl(g, F_DUPFD_CLOEXEC, 0);
		if (dups[i] < 0)
			break;
		if (epoll_ctl(gep, EPOLL_CTL_ADD, dups[i], &ev)) {
			close(dups[i]);
			break;
		}
	}
	return i;
}

/* As many fds as @n more need, if they can be had: how many are free. */
static unsigned int more_fds(unsigned int n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < n + 256) {
		rl.rlim_cur = n + 256;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > 256 ? (unsigned int)rl.rlim_cur - 256 : 0;
}

/*
 * The late wake-up.  An earlier waiter g and the fd queue one buffer
 * each; another thread's RELEASE grants both, then, the pool lock
 * dropped, calls g's ->wake() (long: g has NR_WATCHERS epoll entries)
 * and the fd's.  Meanwhile this thread collects the fd's grant and arms
 * a POLL_ADD: nothing is ready.  A round in which g's sentinel entry had
 * not been reached by then is judged: the fd's ->wake() came after the
 * collect and the arming, found nothing ready and must not have
 * completed the POLL_ADD.  (Judged soundly: the sentinel's callback is
 * followed by a full barrier before the fd's ->wake() reads its state,
 * the collect by one before the sentinel is looked at.  In the other
 * rounds the fd's ->wake() may have read the grant before the collect:
 * a completion there says nothing.)
 */
TEST_F_TIMEOUT(upoll, late_wake_after_collect, 120)
{
	unsigned int i, n, polls, rounds = 0, judged = 0, spurious = 0;
	int g, gep, sentinel, ret, res = 0, bad_res = 0;
	struct epoll_event ev;
	struct releaser r;
	bool in_window;
	long long end;
	pthread_t t;
	__u32 gid, id;
	int *dups;

	g = bp_open(O_NONBLOCK);
	ASSERT_LE(0, g);
	sentinel = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, sentinel);
	gep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, gep);
	n = more_fds(NR_WATCHERS);
	if (n > NR_WATCHERS)
		n = NR_WATCHERS;
	dups = calloc(NR_WATCHERS, sizeof(*dups));
	ASSERT_NE(NULL, dups);
	n = watch(g, sentinel, gep, dups, n);
	ASSERT_LT(0U, n) TH_LOG("epoll entries on the earlier waiter: %s", strerror(errno));

	while (rounds < NR_ROUNDS && judged < NR_JUDGED) {
		rounds++;
		/* g first, then the fd: granted, and woken, in that order */
		ASSERT_EQ(-EAGAIN, bp_alloc(g, BP_NORM, 1, &gid));
		ASSERT_EQ(-EAGAIN, bp_alloc(self->fd, BP_NORM, 1, &id));
		/* g not ready: this takes the sentinel's entry off its list */
		ASSERT_EQ(0, epoll_wait(sentinel, &ev, 1, 0));
		r = (struct releaser){ .fd = self->hold, .ids = self->ids };
		ASSERT_EQ(0, pthread_create(&t, NULL, release_two, &r));
		end = bp_now_ms() + BP_PATIENCE_MS;
		do
			ret = bp_try(self->fd, BP_NORM, 1, &id);
		while (ret == -EAGAIN && bp_now_ms() < end);
		if (!ret) {
			ret = arm_poll(&self->ring, self->fd);
			self->armed = !ret;
		}
		in_window = !ret && !epoll_wait(sentinel, &ev, 1, 0);
		pthread_join(t, NULL);
		ASSERT_EQ(0, ret) TH_LOG("collecting the grant, arming: %s", strerror(-ret));
		ASSERT_EQ(0, r.ret);

		ASSERT_EQ(0, sync_ring(&self->ring, &polls, &res));
		if (polls)
			self->armed = false;
		if (in_window) {
			judged++;
			if (polls) {
				spurious++;
				bad_res = res;
			}
		}
		if (self->armed) {
			ASSERT_EQ(0, disarm_poll(&self->ring));
			self->armed = false;
		}
		/* the fd holds its buffer and asks for nothing */
		EXPECT_EQ(0U, epoll_now(self->ep));
		EXPECT_FALSE(bp_readable(self->fd, 0));

		/* as before the round: the holder has the whole pool */
		ASSERT_EQ(0, bp_try(g, BP_NORM, 1, &gid));
		ASSERT_EQ(0, bp_release(g, &gid, 1));
		ASSERT_EQ(0, bp_release(self->fd, &id, 1));
		ASSERT_EQ(0, bp_try(self->hold, BP_CRIT, 2, self->ids));
	}
	close(gep);
	for (i = 0; i < n; i++)
		close(dups[i]);
	free(dups);
	close(sentinel);
	close(g);

	TH_LOG("%u of %u rounds armed the POLL_ADD before the fd's late wake-up (%u epoll entries)",
	       judged, rounds, n);
	EXPECT_EQ(0U, spurious)
		TH_LOG("%u of them completed it (%#x) with the grant collected, nothing ready",
		       spurious, bad_res);
	if (!judged)
		SKIP(return, "no round collected and armed before the late wake-up");
}

TEST_HARNESS_MAIN
